"""Damage to any file of the index folder is found and repaired, never served.

Seeded and bounded: every file of a real index (the pointer, the manifest, each segment's
record, chunks, documents, vectors, sentences, sentence vectors, BM25 terms) gets a flipped
byte, a cut, two equal-size runs swapped, or is deleted. Each time the index either opens
and answers exactly as before, or refuses with an error that names the rebuild command;
and that command (an ingest of the same pages) brings back the very same answers.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from search import build_index, open_index
from search.errors import IndexFolderError
from search.retrieval import Searcher

from .conftest import DATA

pytestmark = pytest.mark.model

QUERIES = ("how long does the walking group last", "light therapy side effects",
           "referral phone number for nature therapy")
KINDS = ("flip", "cut", "swap", "delete")
SEEDS = (1, 2)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("damage") / "index"
    assert build_index([DATA / "good"], folder, embedder=embedder).published
    return folder


def answers(index: Path, embedder) -> list[list[tuple[str, float, str]]]:  # type: ignore[no-untyped-def]
    searcher = Searcher(open_index(index), embedder)
    return [[(h.chunk.chunk_id, round(h.score, 5), h.chunk.text) for h in searcher.search(q, 5)]
            for q in QUERIES]


def index_files(index: Path) -> list[str]:
    return sorted(p.relative_to(index).as_posix() for p in index.rglob("*")
                  if p.is_file() and p.name != ".lock")


def damage(path: Path, kind: str, rng: random.Random) -> None:
    data = bytearray(path.read_bytes())
    if kind == "delete" or not data:
        path.unlink()
        return
    if kind == "flip":
        at = rng.randrange(len(data))
        data[at] ^= 1 << rng.randrange(8)
    elif kind == "cut":
        data = data[:rng.randrange(len(data))]
    elif kind == "swap":  # same size, different order: two rows of vectors, two lines
        width = max(1, min(16, len(data) // 2))
        first = rng.randrange(0, len(data) - 2 * width + 1)
        second = rng.randrange(first + width, len(data) - width + 1)
        data[first:first + width], data[second:second + width] = \
            data[second:second + width], data[first:first + width]
    path.write_bytes(bytes(data))


def test_the_index_has_every_kind_of_file(pristine: Path) -> None:
    names = {Path(f).name for f in index_files(pristine)}
    assert {"CURRENT", "manifest.json", "segment.json", "chunks.jsonl", "documents.jsonl",
            "vectors.npy", "sentences.npy", "sentence_vectors.npy", "vocabulary.json",
            "counts.npy", "offsets.npy", "term_ids.npy"} <= names


@pytest.mark.parametrize("kind", KINDS)
def test_damage_is_refused_or_harmless_and_the_advised_ingest_repairs_it(  # type: ignore[no-untyped-def]
        pristine: Path, tmp_path: Path, embedder, kind: str) -> None:
    expected = answers(pristine, embedder)
    tried = 0
    for seed in SEEDS:
        for name in index_files(pristine):
            rng = random.Random(f"{seed}:{kind}:{name}")
            index = tmp_path / f"{seed}-{name.replace('/', '_')}"
            shutil.copytree(pristine, index)
            before = (index / name).read_bytes()
            damage(index / name, kind, rng)
            if (index / name).exists() and (index / name).read_bytes() == before:
                continue  # a swap of two equal runs changes nothing
            tried += 1
            try:
                served = answers(index, embedder)
            except IndexFolderError as error:
                assert "python ingest.py" in str(error), (name, kind, str(error))
            else:
                assert served == expected, f"{name} ({kind}, seed {seed}) served wrong results"
            if seed == SEEDS[0]:  # the advised command brings the same answers back
                report = build_index([DATA / "good"], index, embedder=embedder)
                assert not report.error, (name, kind, report.error)
                assert answers(index, embedder) == expected, (name, kind)
            shutil.rmtree(index)
    assert tried >= len(index_files(pristine))

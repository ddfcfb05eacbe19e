"""Readers during a publish see the old index or the new one, never an error or a mix;
a second ingest is refused while the first holds the lock."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from search import IndexLockedError, build_index, open_index
from search.retrieval import Searcher

from .conftest import DATA, ROOT

pytestmark = pytest.mark.model


def test_readers_see_whole_generations_while_ingests_publish(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    small = tmp_path / "small"
    small.mkdir()
    shutil.copy(DATA / "good" / "walking-group.txt", small)
    index = tmp_path / "index"
    build_index([small], index, embedder=embedder)
    versions = [{"walking-group.txt"}, {p.name for p in (DATA / "good").iterdir()}]
    errors: list[BaseException] = []
    seen: set[frozenset[str]] = set()
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                snapshot = open_index(index)
                docs = frozenset(snapshot.documents)
                assert {c.doc_id for c in snapshot.chunks} == docs  # never a mix
                assert docs in [frozenset(v) for v in versions]
                hits = Searcher(snapshot, embedder).search("walking group", 3)
                assert hits and hits[0].chunk.doc_id in docs
                seen.add(docs)
            except BaseException as error:
                errors.append(error)
                return

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for round_ in range(4):
            source = DATA / "good" if round_ % 2 == 0 else small
            assert build_index([source], index, embedder=embedder).published
            # Let the reader catch up with this generation before the next publish, so
            # that it really reads across every switch (on a busy machine it may lag).
            expected = frozenset(versions[0] if source == small else versions[1])
            deadline = time.monotonic() + 60
            while expected not in seen and not errors and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        stop.set()
        reader.join(timeout=60)
    assert not errors, errors[0]
    assert len(seen) == 2, "the reader saw both the old and the new generations"


def test_a_second_ingest_is_refused_while_one_runs(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    index = tmp_path / "index"
    marker = tmp_path / "paused"
    env = {**os.environ, "SEARCH_PAUSE_AT": "load", "SEARCH_PAUSE_FILE": str(marker),
           "PYTHONPATH": str(ROOT)}
    first = subprocess.Popen([sys.executable, "ingest.py", str(DATA / "good"), "--index",
                              str(index)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        with pytest.raises(IndexLockedError, match="Another ingest is writing"):
            build_index([DATA / "good"], index, embedder=embedder)
        second = subprocess.run([sys.executable, "ingest.py", str(DATA / "good"), "--index",
                                 str(index)], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                                capture_output=True, text=True, timeout=120, check=False)
        assert second.returncode == 1 and "Another ingest" in second.stderr
    finally:
        first.kill()
        first.wait(timeout=30)
    assert build_index([DATA / "good"], index, embedder=embedder).published  # lock released

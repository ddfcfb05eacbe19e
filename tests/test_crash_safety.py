"""A SIGKILLed ingest leaves the served index whole; the next ingest cleans up and works."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from search import build_index, open_index
from search.failpoints import STAGES
from search.retrieval import Searcher

from .conftest import DATA, ROOT

pytestmark = pytest.mark.model

QUERIES = ["how do I join a walking group", "side effects of light therapy",
           "nature therapy referral"]


def answers(index: Path, embedder) -> list[list[tuple[str, float]]]:  # type: ignore[no-untyped-def]
    searcher = Searcher(open_index(index), embedder)
    return [[(h.chunk.chunk_id, round(h.score, 5)) for h in searcher.search(q, k=5)]
            for q in QUERIES]


@pytest.mark.parametrize("stage", STAGES)
def test_kill_during_ingest_leaves_the_served_index_unchanged(
    stage: str, tmp_path: Path, embedder  # type: ignore[no-untyped-def]
) -> None:
    index = tmp_path / "index"
    build_index([DATA / "good"], index, embedder=embedder)
    generation = (index / "CURRENT").read_text()
    before = answers(index, embedder)

    changed = tmp_path / "changed"
    shutil.copytree(DATA / "good", changed)
    (changed / "walking-group.txt").unlink()
    page = changed / "sleep-therapy.md"
    page.write_text(page.read_text().replace("0808 157 0999", "0808 157 0111"))

    marker = tmp_path / "paused"
    env = {**os.environ, "SEARCH_PAUSE_AT": stage, "SEARCH_PAUSE_FILE": str(marker),
           "PYTHONPATH": str(ROOT)}
    log = tmp_path / "ingest.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "ingest.py", str(changed), "--index", str(index)],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 180
        while not marker.exists():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"ingest never reached {stage}"
            time.sleep(0.1)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)

    assert (index / "CURRENT").read_text() == generation
    assert answers(index, embedder) == before

    report = build_index([changed], index, embedder=embedder)
    assert report.published and report.removed == ["walking-group.txt"]
    leftovers = [p.name for p in index.iterdir() if p.name.startswith((".tmp-", "CURRENT.tmp"))]
    assert leftovers == []
    # A segment the killed ingest wrote but never published is removed like any debris.
    listed = {name for generation in index.glob("gen-*")
              for name in json.loads((generation / "manifest.json").read_text())["segments"]}
    assert {p.name for p in (index / "segments").iterdir()} == listed
    referral = [c for c in open_index(index).chunks if c.doc_id == "sleep-therapy.md"][-1]
    assert "0808 157 0111" in referral.text

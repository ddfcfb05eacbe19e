"""Read a served index's chunks and vectors straight from its files, for bare baselines.

No import of the search package: a baseline must not pay for what it measures against.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


def _served_segments(index: Path) -> Iterator[tuple[Path, list[int]]]:
    """Each served segment's folder and the chunk rows the generation serves from it."""
    generation = index / (index / "CURRENT").read_text(encoding="utf-8").strip()
    manifest = json.loads((generation / "manifest.json").read_text(encoding="utf-8"))
    for name in manifest["segments"]:
        folder = index / "segments" / name
        entries = json.loads((folder / "segment.json").read_text(encoding="utf-8"))
        rows = [row for doc_id, first, end, _, _ in entries["documents"]
                if manifest["placement"].get(doc_id) == name for row in range(first, end)]
        yield folder, rows


def chunk_texts(index: Path) -> list[str]:
    """What the model embedded for each served chunk: breadcrumb, newline, text."""
    texts = []
    for folder, rows in _served_segments(index):
        with (folder / "chunks.jsonl").open(encoding="utf-8") as handle:
            lines = handle.readlines()
        for row in rows:
            chunk = json.loads(lines[row])
            texts.append(" › ".join(chunk["section"]) + "\n" + chunk["text"])
    return texts


def vectors(index: Path) -> np.ndarray:
    """Every served vector, in row order."""
    import numpy as np

    parts = [np.load(folder / "vectors.npy", allow_pickle=False)[rows]
             for folder, rows in _served_segments(index)]
    return np.concatenate(parts).astype(np.float32)

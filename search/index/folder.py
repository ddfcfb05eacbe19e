"""Housekeeping of the index folder: the one-ingest-at-a-time lock, and removing old
generations, unused segments and crash debris."""

from __future__ import annotations

import contextlib
import fcntl
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from search.errors import (
    IndexCorruptError,
    IndexLockedError,
)
from search.index.manifest import (
    current_generation,
    refuse_a_file,
)
from search.index.records import (
    GENERATION_PREFIX,
    LOCK_FILE,
    POINTER,
    SEGMENTS,
    TEMP_PREFIX,
)

if TYPE_CHECKING:
    pass


def remove_old_generations(index_dir: Path, keep: int = 2, grace_seconds: float = 600) -> None:
    """Delete crash debris and generations older than the newest ``keep``.

    The previous generation stays for readers that opened it just before the switch;
    older ones go once they are past a grace period. Call with the ingest lock held.
    """
    try:
        current = current_generation(index_dir)
    except IndexCorruptError:  # which one is served is unknown: delete no generation
        current, keep = None, len(list(index_dir.iterdir()))
    now = time.time()
    remove_unpublished(index_dir)
    generations = sorted(
        (p for p in index_dir.iterdir() if p.name.startswith(GENERATION_PREFIX) and p.is_dir()),
        key=lambda p: p.stat().st_mtime, reverse=True,
    )
    for path in generations[keep:]:
        if path != current and now - path.stat().st_mtime > grace_seconds:
            shutil.rmtree(path, ignore_errors=True)
    _remove_unused_segments(index_dir)


def remove_unpublished(index_dir: Path) -> None:
    """Delete what a crashed or failed publish left half-written (``.tmp-`` folders, the
    pointer's temporary file): after a full disk at once, after a crash by the next
    ingest."""
    for folder in (index_dir, index_dir / SEGMENTS):
        if folder.is_dir():
            for path in folder.iterdir():
                if path.name.startswith(TEMP_PREFIX):
                    shutil.rmtree(path, ignore_errors=True)
    with contextlib.suppress(FileNotFoundError):
        (index_dir / f"{POINTER}.tmp").unlink()


def _remove_unused_segments(index_dir: Path) -> None:
    """Delete segments no remaining generation lists (replaced, or left by a crash)."""
    folder = index_dir / SEGMENTS
    if not folder.is_dir():
        return
    used: set[str] = set()
    for generation in index_dir.iterdir():
        if generation.name.startswith(GENERATION_PREFIX) and generation.is_dir():
            try:
                raw = json.loads((generation / "manifest.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return  # cannot tell what it uses: delete nothing
            used.update(raw.get("segments", ()))
    for path in folder.iterdir():
        if path.is_dir() and path.name not in used:
            shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def ingest_lock(index_dir: Path) -> Iterator[None]:
    """Hold the folder's write lock; a second ingest is refused, never interleaved."""
    refuse_a_file(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    handle = open(index_dir / LOCK_FILE, "a+")  # noqa: SIM115 - held for the whole block
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexLockedError(
                f"Another ingest is writing to '{index_dir}'. Wait for it to finish and run "
                "this one again."
            ) from None
        yield
    finally:
        handle.close()

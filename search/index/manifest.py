"""The served generation's pointer and manifest: cheap to read (no vectors, no torch),
checked against its own checksum, and what a damaged or mismatched one says to do."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from search.errors import (
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
)
from search.index.records import (
    POINTER,
    SCHEMA_VERSION,
    Manifest,
    record_sha256,
)

if TYPE_CHECKING:
    pass


def damaged(index_dir: Path, error: BaseException) -> IndexCorruptError:
    return IndexCorruptError(
        f"The index in '{index_dir}' is damaged ({type(error).__name__}: {error}). "
        f"Rebuild it: python ingest.py SOURCES --index {index_dir}"
    )


def current_generation(index_dir: Path) -> Path | None:
    pointer = index_dir / POINTER
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:  # a flipped byte, a folder named CURRENT
        raise IndexCorruptError(
            f"The index in '{index_dir}' is damaged: its {POINTER} pointer cannot be read "
            f"({type(error).__name__}). Rebuild it: python ingest.py corpus --index "
            f"{index_dir}") from error
    return index_dir / name


def refuse_a_file(index_dir: Path) -> None:
    """``--index README.md`` names a file: say so, instead of a NotADirectoryError."""
    if index_dir.exists() and not index_dir.is_dir():
        raise IndexNotFoundError(
            f"'{index_dir}' is a file, not an index folder. Pass the folder the index lives "
            "in (the one holding CURRENT), e.g. --index index")


def read_manifest(index_dir: Path) -> Manifest:
    """The served generation's manifest, without loading vectors (cheap, torch-free)."""
    refuse_a_file(Path(index_dir))
    generation = current_generation(index_dir)
    if generation is None:
        raise IndexNotFoundError(
            f"No index in '{index_dir}'. Build one: python ingest.py corpus --index {index_dir}"
        )
    return manifest_at(generation, index_dir)


def manifest_at(generation: Path, index_dir: Path) -> Manifest:
    try:
        raw = json.loads((generation / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise IndexCorruptError(
            f"The index in '{index_dir}' has no readable manifest ({error}). Rebuild it: "
            f"python ingest.py SOURCES --index {index_dir}"
        ) from error
    written = raw.pop("checksum", None) if isinstance(raw, dict) else None
    if written is not None and written != record_sha256(raw):
        raise IndexCorruptError(
            f"The index in '{index_dir}' is damaged: its manifest is not the one written (its "
            f"checksum differs). Rebuild it: python ingest.py SOURCES --index {index_dir}")
    version = raw.get("schema_version")
    if version != SCHEMA_VERSION:
        raise IndexMismatchError(
            f"The index in '{index_dir}' uses schema version {version}; this version reads "
            f"{SCHEMA_VERSION}. Rebuild it: delete the folder and run "
            f"python ingest.py SOURCES --index {index_dir}"
        )
    known = {name for name in Manifest.__dataclass_fields__}
    return Manifest(**{key: value for key, value in raw.items() if key in known})


def check_model(manifest: Manifest, index_dir: Path, model: str, dimension: int | None) -> None:
    """Refuse to query vectors made by another model: the scores would be garbage."""
    if manifest.model != model or (dimension is not None and dimension != manifest.dimension):
        raise IndexMismatchError(
            f"The index in '{index_dir}' was built with model '{manifest.model}' "
            f"(dimension {manifest.dimension}), not '{model}'"
            f"{f' (dimension {dimension})' if dimension is not None else ''}. Search it with "
            f"--model {manifest.model}, or rebuild it: "
            f"python ingest.py SOURCES --index {index_dir} --model {model}"
        )

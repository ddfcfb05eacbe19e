"""Which files an ingest reads: the supported files under the paths given, in a stable
order, and a ``Failure`` for each one that cannot be (a name that is not text, a link out
of the folder, an office format, two files with one name, a path that is not there)."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from search.config import Settings
from search.documents import file_fingerprint
from search.errors import LoadError
from search.loaders import SUFFIX_FORMATS, UNSUPPORTED_REASONS, read_file, unsupported_reason


@dataclass(frozen=True)
class Failure:
    source: str
    reason: str
    message: str
    #: True when an older version of the file is still served from the index.
    kept_previous: bool = False


@dataclass(frozen=True)
class SourceFile:
    path: Path
    source: str  # relative to the folder it was found in, or the bare file name
    root: Path


def discover(
    paths: Sequence[Path | str], settings: Settings
) -> tuple[list[SourceFile], list[Failure]]:
    """Supported files under ``paths``, in a stable order; missing paths are failures."""
    found: dict[str, SourceFile] = {}
    failures: list[Failure] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            root = path.resolve()
            for file in _walk(root):
                source = file.relative_to(root).as_posix()
                if _excluded(file.name, settings.exclude):
                    continue
                if not _utf8(source):
                    failures.append(_bad_name(source))
                elif file.suffix.lower() not in SUFFIX_FORMATS:
                    failures.append(Failure(source, "unsupported-type",
                                            unsupported_reason(file.suffix)))
                elif not _inside(file, root):
                    # A link to /proc/self/status or ~/.ssh would be served to every user.
                    failures.append(Failure(source, "link-outside-folder", (
                        "is a link to a file outside the content folder, so it is not read; "
                        "copy the file into the folder instead")))
                else:
                    _add(found, failures, SourceFile(file, source, root))
        elif (path.is_file() or path.is_symlink()) and not _utf8(path.name):
            failures.append(_bad_name(path.name))
        elif path.is_file() or path.is_symlink():
            _add(found, failures, SourceFile(path.absolute(), path.name, path.parent.resolve()))
        else:
            failures.append(Failure(str(raw), "not-found", "no such file or folder"))
    return sorted(found.values(), key=lambda f: f.source), failures


#: Documents a content team may keep beside its pages that cannot be read yet: reported
#: as unsupported, not skipped without a word (other files, such as images, are skipped).
OFFICE_SUFFIXES = frozenset(UNSUPPORTED_REASONS)


def _walk(root: Path) -> Iterator[Path]:
    # followlinks=False: a symlink loop cannot trap the walk; linked files still count.
    for folder, subfolders, files in os.walk(root, followlinks=False):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        for name in sorted(files):
            suffix = Path(name).suffix.lower()
            if not name.startswith(".") and (suffix in SUFFIX_FORMATS
                                             or suffix in OFFICE_SUFFIXES):
                yield Path(folder) / name


def _utf8(name: str) -> bool:
    """Whether a file name is text: a name in another encoding (``caf\\xe9.md`` from an
    old Windows share) reaches Python as lone surrogates, which no index file can hold."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _bad_name(name: str) -> Failure:
    shown = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return Failure(shown, "bad-file-name", "the file name is not valid UTF-8 text, so it "
                   f"cannot be stored or cited; rename the file (for example '{shown}' "
                   "without the unreadable character)")


def _inside(file: Path, root: Path) -> bool:
    """Whether ``file``, links followed, is within ``root`` (a link out is not read)."""
    try:
        return file.resolve().is_relative_to(root)
    except (OSError, RuntimeError):  # a broken or looping link: let the loader report it
        return True


def _excluded(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in patterns)


def _add(found: dict[str, SourceFile], failures: list[Failure], file: SourceFile) -> None:
    if file.source in found:
        failures.append(Failure(file.source, "duplicate-name",
                                f"another file is already ingested as '{file.source}' "
                                f"(from {found[file.source].root}); rename one of them"))
    else:
        found[file.source] = file


def fingerprint_files(files: list[SourceFile], settings: Settings) -> dict[str, str | LoadError]:
    """Each file's fingerprint, or why it cannot be read."""
    found: dict[str, str | LoadError] = {}
    for file in files:
        try:
            found[file.source] = file_fingerprint(read_file(file.path, settings.max_file_bytes))
        except LoadError as error:
            found[file.source] = error
    return found

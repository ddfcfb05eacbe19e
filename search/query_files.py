"""A ``--queries`` file: one JSON object a line, each bad line an error of its own."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from search.errors import QueryError


def read_queries(path: Path) -> Iterator[tuple[int, Any, str, str]]:
    """(line number, qid, text, problem) for each non-blank line of a JSON-lines file; a
    line that cannot be asked has its problem said, and the lines after it still run."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise QueryError(f"cannot read {path}: {error.strerror or error}") from error
    seen: dict[Any, int] = {}
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte-order mark
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            yield number, number, "", ("is not UTF-8 text; save the file as UTF-8 (it may be "
                                       "Latin-1 or Windows-1252)")
            continue
        if not line.strip():
            continue
        try:
            item = json.loads(line, parse_constant=_no_constant)
        except RecursionError:
            yield number, number, "", "is nested too deeply to read"
            continue
        except ValueError as error:
            yield number, number, "", f"is not valid JSON ({error})"
            continue
        if not isinstance(item, dict):
            yield number, number, "", 'is not a JSON object like {"qid": "q1", "text": "..."}'
            continue
        qid = item.get("qid", number)
        if isinstance(qid, bool) or not isinstance(qid, (str, int, float)) or (
                isinstance(qid, float) and not math.isfinite(qid)):
            yield number, number, "", "has a qid that is not a string or a finite number"
            continue
        if qid in seen:
            yield number, qid, "", f"repeats the qid {qid!r} of line {seen[qid]}"
            continue
        seen[qid] = number
        text = item.get("text")
        if not isinstance(text, str):
            problem = ('has no "text"' if "text" not in item else
                       f'has a "text" that is {json.dumps(text)[:20]}, not a string')
            yield number, qid, "", problem
            continue
        yield number, qid, text, ""


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")

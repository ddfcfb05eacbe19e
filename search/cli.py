"""The command lines: ``ingest.py`` and ``python -m search``. Errors become messages here.

Exit codes: 0 success; 1 nothing could be done (the message says why and what to do);
2 partial success (ingest: some files failed, the rest is published).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from search.config import DEFAULT_MODEL, Settings
from search.errors import QueryError, SearchError


def ingest_main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ingest.py",
        description="Load, chunk and embed documents (.md .txt .html .pdf) into a search "
        "index. Re-running is incremental: only changed files are embedded again.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files or folders to index")
    parser.add_argument("--index", required=True, metavar="DIR", help="index folder to publish")
    parser.add_argument("--model", default=DEFAULT_MODEL, metavar="NAME_OR_PATH",
                        help=f"sentence-transformers model (default: bundled {DEFAULT_MODEL})")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)

    from search.ingestion import build_index

    try:
        settings = Settings(model=args.model)
        with _progress_bars(sys.stderr) as progress:
            report = build_index(args.paths, args.index, settings, progress=progress)
    except SearchError as error:
        return _fail(error, args.json)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        _print_report(report)
    return report.exit_code


def _print_report(report: Any) -> None:
    if report.error:
        print(f"Nothing was published to {report.index}: {report.error}.")
    elif report.published:
        print(f"Published {report.index} (generation {report.generation}).")
    else:
        print(f"{report.index} is up to date; nothing to publish.")
    for label in ("added", "updated", "unchanged", "removed"):
        print(f"  {label:<10}{len(getattr(report, label)):>6}")
    print(f"  {'failed':<10}{len(report.failed):>6}")
    for failure in report.failed:
        kept = " (the previous version is still served)" if failure.kept_previous else ""
        print(f"    {failure.source}: {failure.reason}: {failure.message}{kept}")
    print(f"  chunks {report.chunks} ({report.chunks_embedded} embedded this run)")


class _progress_bars:
    """tqdm bars on a terminal, nothing when output is piped."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.bars: dict[str, Any] = {}

    def __enter__(self) -> Any:
        if not self.stream.isatty():
            return None
        from tqdm import tqdm

        def progress(stage: str, done: int, total: int) -> None:
            bar = self.bars.get(stage)
            if bar is None:
                unit = "file" if stage == "load" else "chunk"
                bar = self.bars[stage] = tqdm(total=total, desc=stage, unit=unit,
                                              file=self.stream, leave=False)
            bar.update(done - bar.n)

        return progress

    def __exit__(self, *exc: object) -> None:
        for bar in self.bars.values():
            bar.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m search",
                                     description="Search an index built by ingest.py.")
    commands = parser.add_subparsers(dest="command", required=True)
    search = commands.add_parser("search", help="ranked passages for a query")
    search.add_argument("query", nargs="?", help="the query text")
    search.add_argument("--queries", type=Path, metavar="FILE.jsonl",
                        help='batch: one {"qid": ..., "text": ...} per line')
    search.add_argument("--index", required=True, type=Path, metavar="DIR")
    search.add_argument("--k", type=int, default=Settings.k, metavar="N")
    search.add_argument("--model", default=None, metavar="NAME_OR_PATH",
                        help="model to query with (default: the one the index was built with)")
    search.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    if (args.query is None) == (args.queries is None):
        parser.error("give either a QUERY or --queries FILE.jsonl")
    if args.queries is not None and not args.json:
        parser.error("--queries writes JSON lines: add --json")

    from search.retrieval import open_searcher

    try:
        searcher = open_searcher(args.index, model=args.model)
        if args.queries is not None:
            return _search_batch(searcher, args.queries, args.k)
        hits = searcher.search(args.query, args.k)
    except SearchError as error:
        return _fail(error, args.json)
    if args.json:
        print(json.dumps({"query": args.query, "results": [h.as_dict() for h in hits]},
                         ensure_ascii=False))
    else:
        _print_hits(hits)
    return 0


def _search_batch(searcher: Any, queries: Path, k: int) -> int:
    """One output line per input line; a bad line gets an error record, not a crash."""
    status = 0
    for number, qid, text in _read_queries(queries):
        record: dict[str, Any] = {"qid": qid}
        try:
            record["results"] = [h.as_dict() for h in searcher.search(text, k)]
        except QueryError as error:
            record.update(results=[], error=f"line {number}: {error}")
            status = 2
        print(json.dumps(record, ensure_ascii=False), flush=True)
    return status


def _read_queries(path: Path) -> Iterator[tuple[int, Any, str]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise QueryError(f"cannot read {path}: {error.strerror or error}") from error
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            yield number, item.get("qid", number), str(item["text"])
        except (ValueError, KeyError, AttributeError):
            yield number, number, ""


def _print_hits(hits: Sequence[Any]) -> None:
    if not hits:
        print("No passages found.")
    for hit in hits:
        c = hit.chunk
        page = f", page {c.page}" if c.page else ""
        print(f"{hit.rank}. [{hit.score:.3f}] {c.breadcrumb}  ({c.source}{page}, "
              f"chars {c.start}-{c.end})")
        print(f"   {c.text[:300]}{'…' if len(c.text) > 300 else ''}\n")


def _fail(error: SearchError, as_json: bool) -> int:
    if as_json:
        print(json.dumps({"error": type(error).__name__, "message": str(error)}))
    print(f"error: {error}", file=sys.stderr)
    return 1

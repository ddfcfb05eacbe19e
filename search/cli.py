"""The command lines: ``ingest.py`` and ``python -m search``. Errors become messages here.

Exit codes: 0 success; 1 nothing could be done (the message says why and what to do);
2 partial success (ingest: some files failed, the rest is published).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from search.config import BACKENDS, DEFAULT_MODEL, MODES, Settings
from search.errors import QueryError, SearchError
from search.evaluation_cli import calibrate_command, coverage_command, evaluate_command
from search.printing import print_answer, print_hits
from search.query_files import read_queries


def ingest_main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ingest.py",
        description="Load, chunk and embed documents (.md .txt .html .pdf .docx) into a search "
        "index. Re-running is incremental: only changed files are embedded again.",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files or folders to index")
    parser.add_argument("--index", required=True, metavar="DIR", help="index folder to publish")
    parser.add_argument("--model", default=DEFAULT_MODEL, metavar="NAME_OR_PATH",
                        help=f"sentence-transformers model (default: bundled {DEFAULT_MODEL})")
    _backend_argument(parser)
    parser.add_argument("--embed-sentences", action=argparse.BooleanOptionalAction,
                        default=Settings().embed_sentences_at_ingest,
                        help="keep a vector for every quotable sentence, so that no answer "
                        "embeds at ask time (with ONNX, pooled from each chunk's own pass at "
                        "little extra cost); --no-embed-sentences embeds them when first "
                        "needed instead; switching rebuilds the index (default: on)")
    parser.add_argument("--verify", action="store_true",
                        help="check every file of the served index against the checksum "
                        "written with it, and change nothing (no PATH needed)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    if args.verify:
        return _verify(Path(args.index), args.json)
    if not args.paths:
        parser.error("give the files or folders to index (or --verify)")

    from search.ingestion import build_index

    try:
        settings = Settings(model=args.model, backend=args.backend,
                            embed_sentences_at_ingest=args.embed_sentences)
        with _progress_bars(sys.stderr) as progress:
            report = build_index(args.paths, args.index, settings, progress=progress)
    except SearchError as error:
        return _fail(error, args.json)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        _print_report(report)
    return report.exit_code


def _verify(index: Path, as_json: bool) -> int:
    """``ingest.py --verify``: every file of the served generation, size and checksum."""
    import time

    from search.index import open_generation

    started = time.perf_counter()
    try:
        generation = open_generation(index)
        generation.verify()
    except SearchError as error:
        return _fail(error, as_json)
    files = sum(len(generation.segment(n).sizes) for n in generation.manifest.segments)
    record = {"index": str(index), "generation": generation.manifest.generation,
              "segments": len(generation.manifest.segments), "files": files, "intact": True,
              "seconds": round(time.perf_counter() - started, 3)}
    if as_json:
        print(json.dumps(record))
    else:
        print(f"{index}: generation {record['generation']} is intact ({files} files in "
              f"{record['segments']} segments checked, {record['seconds']} s)")
    return 0


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
    done = [f"{n} {how}" for n, how in ((report.sentences_pooled, "pooled from their chunks"),
                                        (report.sentences_embedded, "embedded on their own"))
            if n]
    embedded = f" ({', '.join(done)} this run)" if done else ""
    print(f"  chunks {report.chunks} ({report.chunks_embedded} embedded this run), "
          f"quotable sentences {report.sentences}{embedded}")


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
                                     description="Search, ask and evaluate an index built by "
                                     "ingest.py.")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (("search", "ranked passages for a query"),
                            ("ask", "a short cited answer, or 'not covered'")):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("query", nargs="?", help="the question or query text")
        command.add_argument("--queries", type=Path, metavar="FILE.jsonl",
                             help='batch: one {"qid": ..., "text": ...} per line')
        _common(command)
        command.add_argument("--doc", action="append", default=[], metavar="DOC_ID",
                             help="only these documents (repeatable)")
        command.add_argument("--section", action="append", default=[], metavar="TEXT",
                             help="only sections whose heading contains TEXT (repeatable)")
        if name == "search":
            command.add_argument("--k", type=int, default=Settings.k, metavar="N")
            command.add_argument("--all-sections", action="store_true",
                                 help="allow several passages of one section")
    evaluation = commands.add_parser("eval", help="hit@k, MRR, facts, refusal, latency")
    evaluation.add_argument("questions", type=Path, metavar="QA.jsonl")
    _common(evaluation, modes=(*MODES, "all"))
    evaluation.add_argument("--split", default=None, help="only questions of this split")
    evaluation.add_argument("--no-answers", action="store_true",
                            help="measure retrieval only (faster)")
    calibration = commands.add_parser("calibrate", help="fit the answerability model")
    calibration.add_argument("questions", type=Path, nargs="+", metavar="QA.jsonl")
    _common(calibration)
    calibration.add_argument("--split", default="dev",
                             help="questions to fit on (default dev; all: every split)")
    calibration.add_argument("--write", type=Path, nargs="?", metavar="MODEL.json",
                             const=Settings().answer.answerability_model,
                             help="write the fitted model (default: the one served, "
                             "%(const)s)")
    coverage = commands.add_parser("coverage", help="which page answers which standard "
                                   "question, and why")
    coverage.add_argument("--index", required=True, type=Path, metavar="DIR")
    coverage.add_argument("--model", default=None, metavar="NAME_OR_PATH")
    _backend_argument(coverage)
    shape = coverage.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="print JSON")
    shape.add_argument("--csv", action="store_true", help="print CSV")
    from search import api_cli

    api_cli.add_commands(commands)
    args = parser.parse_args(argv)
    if args.command in ("serve", "keys"):
        try:
            return api_cli.run(args)
        except SearchError as error:
            return _fail(error, getattr(args, "json", False))
    if args.command in ("search", "ask"):
        if (args.query is None) == (args.queries is None):
            parser.error("give either a QUERY or --queries FILE.jsonl")
        if args.queries is not None and not args.json:
            parser.error("--queries writes JSON lines: add --json")
    try:
        return _run(args)
    except SearchError as error:
        return _fail(error, args.json)


def _common(command: argparse.ArgumentParser,
            modes: tuple[str, ...] = MODES) -> None:
    command.add_argument("--index", required=True, type=Path, metavar="DIR")
    command.add_argument("--mode", choices=modes, default=None,
                         help=f"ranker (default: {Settings().retrieval.mode})")
    command.add_argument("--model", default=None, metavar="NAME_OR_PATH",
                         help="model to query with (default: the one the index was built with)")
    _backend_argument(command)
    command.add_argument("--json", action="store_true", help="print JSON")


def _backend_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", choices=BACKENDS, default=Settings.backend,
                        help="how to run the model: the ONNX export (made once, with torch) "
                        "or torch; both give the same vectors (default: %(default)s)")


def _run(args: argparse.Namespace) -> int:
    from search.answer import Answerer
    from search.retrieval import Filters, open_searcher

    settings = Settings(backend=args.backend)
    searcher = open_searcher(args.index, settings, model=args.model)
    if args.command == "eval":
        return evaluate_command(searcher, Answerer(searcher, settings.answer), args)
    if args.command == "calibrate":
        return calibrate_command(Answerer(searcher, settings.answer), args)
    if args.command == "coverage":
        return coverage_command(Answerer(searcher, settings.answer), settings, args)
    filters = Filters(frozenset(args.doc), tuple(args.section))
    run_one: Callable[[str], dict[str, Any]]
    if args.command == "search":
        def run_one(text: str) -> dict[str, Any]:
            hits = searcher.search(text, args.k, mode=args.mode, filters=filters,
                                   one_per_section=not args.all_sections)
            return {"results": [h.as_dict() for h in hits]}
    else:
        answerer = Answerer(searcher, settings.answer)

        def run_one(text: str) -> dict[str, Any]:
            return answerer.ask(text, mode=args.mode, filters=filters).as_dict()

    if args.queries is not None:
        return _batch(run_one, args.queries, args.command)
    record = run_one(args.query)
    if args.json:
        key = "query" if args.command == "search" else "question"
        print(json.dumps({key: args.query, **record}, ensure_ascii=False))
    elif args.command == "search":
        print_hits(record["results"])
    else:
        print_answer(record)
    return 0


def _batch(run_one: Callable[[str], dict[str, Any]], queries: Path, command: str) -> int:
    """One output line per input line; a bad line gets an error record, not a crash."""
    status = 0
    empty: dict[str, Any] = {"results": []} if command == "search" else {
        "answered": False, "answer": "", "passages": []}
    for number, qid, text, problem in read_queries(queries):
        record: dict[str, Any] = {"qid": qid}
        try:
            if problem:
                raise QueryError(problem)
            record.update(run_one(text))
        except QueryError as error:
            record.update(empty, error=f"line {number}: {error}")
            status = 2
        print(json.dumps(record, ensure_ascii=False, allow_nan=False), flush=True)
    return status


def _fail(error: SearchError, as_json: bool) -> int:
    if as_json:
        print(json.dumps({"error": type(error).__name__, "message": str(error)}))
    print(f"error: {error}", file=sys.stderr)
    return 1

"""Where a first-time ask spends its time, and what quoting with other settings would do.

    .venv/bin/python bench/ask_profile.py --index bench/results/medquad/index \
        --questions bench/results/medquad/medquad/questions.jsonl \
        --paraphrases eval/medquad_reworded.jsonl [--batch-sizes 1 2 4 8 32] [--int8-quotes]

Asks the same 1,000 queries as bench/queries.py, each for the first time, and times each
stage: the query's vector, the crisis check, the search, and embedding the quotable
sentences of the top passages. ``--batch-sizes`` re-embeds each ask's sentences at other
batch sizes. ``--int8-quotes`` embeds them with a dynamically quantized int8 copy of the
model instead (queries and chunks stay fp32) and reports how many answers stay the same.
Writes bench/results/ask_profile.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import machine  # bench/machine.py: scripts run from bench/ find it first
from queries import add_query_arguments, percentile, query_set


def p(values: list[float], q: float) -> float:
    return round(percentile(values, q), 1)


def stages(answerer: Any, queries: list[str]) -> tuple[dict, list[list[str]], list[Any]]:
    """Per-stage p50/p95 over first-time asks; each ask's sentence texts; the answers."""
    searcher = answerer.searcher
    spent: dict[str, list[float]] = defaultdict(list)
    patched: list[tuple[Any, str]] = []

    def timing(owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)
        patched.append((owner, name))

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[label][-1] += time.perf_counter() - started
        setattr(owner, name, timed)

    labels = ["query vector", "crisis check", "search", "sentence vectors"]
    timing(searcher, "query_vector", labels[0])
    timing(answerer.crisis, "check", labels[1])
    timing(searcher, "search", labels[2])
    timing(answerer, "_vectors_of", labels[3])
    sentences: list[list[str]] = []
    embed = searcher.embedder.embed_documents

    def recording(texts: list[str], *args: Any) -> Any:
        sentences[-1].extend(texts)
        return embed(texts, *args)
    searcher.embedder.embed_documents = recording
    answers, totals = [], []
    for query in queries:
        for label in labels:
            spent[label].append(0.0)
        sentences.append([])
        started = time.perf_counter()
        answers.append(answerer.ask(query))
        totals.append(time.perf_counter() - started)
    searcher.embedder.embed_documents = embed
    for owner, name in patched:  # back to the class's own methods
        delattr(owner, name)
    table = {label: {"p50": p(spent[label], 0.5), "p95": p(spent[label], 0.95)}
             for label in labels}
    table["whole ask"] = {"p50": p(totals, 0.5), "p95": p(totals, 0.95)}
    return table, sentences, answers


def batch_sizes(embedder: Any, sets: list[list[str]], sizes: list[int]) -> dict:
    rows = {}
    for size in sizes:
        embedder.batch_size = size
        times = []
        for texts in sets:
            started = time.perf_counter()
            embedder.embed_documents(texts)
            times.append(time.perf_counter() - started)
        rows[f"batch {size}"] = {"p50": p(times, 0.5), "p95": p(times, 0.95)}
    return rows


def int8_quotes(answerer: Any, queries: list[str], answers: list[Any], work: Path) -> dict:
    """The same asks, with the sentences embedded by an int8 copy of the model."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from search.embedding import default_model_cache, resolve_model
    from search.onnx_embedding import OnnxEmbedder, find_export

    source = resolve_model(answerer.searcher.embedder.name)
    export = find_export(source, default_model_cache())
    if export is None:
        raise SystemExit("No ONNX export yet: run any ingest once first")
    shutil.copy(export / "export.json", work / "export.json")
    quantize_dynamic(str(export / "model.onnx"), str(work / "model.onnx"),
                     weight_type=QuantType.QInt8, per_channel=True)
    quantized = OnnxEmbedder(source, work, threads=2)
    fp32 = answerer.searcher.embedder
    fp32.embed_documents, original = quantized.embed_documents, fp32.embed_documents
    answerer.quoting.sentence_vectors.clear()
    table, _, again = stages(answerer, queries)
    fp32.embed_documents = original
    same = sum(a.answer == b.answer for a, b in zip(answers, again, strict=True))
    return {**table, "identical answers": round(same / len(answers), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_query_arguments(parser)
    parser.add_argument("--batch-sizes", type=int, nargs="*", default=[])
    parser.add_argument("--int8-quotes", action="store_true")
    args = parser.parse_args()

    from search.answer import Answerer
    from search.retrieval import open_searcher

    queries, _ = query_set(args)
    answerer = Answerer(open_searcher(args.index))
    for warm in ["warm up", "how is it treated"]:
        answerer.ask(warm)
    answerer.quoting.sentence_vectors.clear()
    table, sets, answers = stages(answerer, queries)
    counts = sorted(len(s) for s in sets)
    result: dict = {"stages": table, "sentences per ask": {
        "p50": counts[len(counts) // 2], "p95": counts[int(0.95 * len(counts))]}}
    if args.batch_sizes:
        result["batch sizes"] = batch_sizes(answerer.searcher.embedder, [s for s in sets if s],
                                            args.batch_sizes)
    if args.int8_quotes:
        with tempfile.TemporaryDirectory(prefix="int8-") as work:
            result["int8 quotes"] = int8_quotes(answerer, queries, answers, Path(work))
    print(json.dumps(result, indent=2))
    print(f"wrote {machine.write('ask_profile', result)}")


if __name__ == "__main__":
    main()

"""Retrieval on real people's questions: the counsel-chat development half (issue 14).

    .venv/bin/python eval/counsel_chat.py render --out DIR
    .venv/bin/python ingest.py DIR/pages --index DIR/index
    .venv/bin/python eval/counsel_chat.py measure --index DIR/index [--limit N]

counsel-chat (nbertagnolli/counsel-chat, MIT licence) holds questions that people posted to
a counselling forum and the answers therapists wrote to them. It is read at run time from
``../shared/data/counsel-chat/`` and never copied into this repository. ``render`` writes
each answer as ``DIR/pages/<id>.md`` (``# <topics>``, then the text, as the data's README
asks). ``measure`` ranks the 2,008 answers for each of the 428 development questions and
prints MRR@10 and Recall@10 of the shipped default beside the plain recipes measured in the
same run: the project's dense and lexical modes, naive reciprocal-rank fusion (equal
weights, k 60) of those two, and the bare model's whole-document dense search (each answer
embedded whole, as any FAISS + sentence-transformers script would, and cut at the model's
window). A document is ranked by its best passage.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from collections import defaultdict
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "counsel-chat"
DEPTH = 10


def render(data: Path, out: Path) -> int:
    pages = out / "pages"
    pages.mkdir(parents=True, exist_ok=True)
    count = 0
    with gzip.open(data / "answers.jsonl.gz", "rt", encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            topics = row.get("topics") or ["answer"]
            title = ", ".join(topics) if isinstance(topics, list) else str(topics)
            (pages / f"{row['id']}.md").write_text(f"# {title}\n\n{row['text'].strip()}\n",
                                                   encoding="utf-8")
            count += 1
    return count


def judgements(data: Path) -> tuple[dict[str, str], dict[str, set[str]]]:
    questions = {}
    for line in (data / "dev_questions.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            questions[str(row["qid"])] = row["text"]
    relevant: dict[str, set[str]] = defaultdict(set)
    for line in (data / "dev_qrels.tsv").read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0] in questions:
            relevant[parts[0]].add(parts[1])
    return questions, relevant


def scores(ranking: list[str], relevant: set[str]) -> tuple[float, float]:
    """(reciprocal rank within DEPTH, share of the relevant found within DEPTH)."""
    top = ranking[:DEPTH]
    rank = next((i for i, d in enumerate(top, start=1) if d in relevant), None)
    return (1 / rank if rank else 0.0), len(relevant & set(top)) / len(relevant)


def measure(index: Path, data: Path, limit: int | None) -> dict[str, dict[str, float]]:
    import numpy as np

    from search.config import Settings
    from search.retrieval import open_searcher

    settings = Settings()
    searcher = open_searcher(index, settings)
    questions, relevant = judgements(data)
    qids = [q for q in questions if relevant.get(q)][:limit]
    documents = searcher.snapshot.documents
    answer_id = {doc_id: Path(stored.document.source).stem
                 for doc_id, stored in documents.items()}

    def ids(hits: list) -> list[str]:  # type: ignore[type-arg]
        return list(dict.fromkeys(answer_id[h.chunk.doc_id] for h in hits))

    # The bare model: every answer embedded whole (cut at the model's window).
    order = sorted(documents)
    started = time.perf_counter()
    whole = searcher.embedder.embed_documents([documents[d].document.text for d in order])
    bare_seconds = time.perf_counter() - started
    results: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for qid in qids:
        text = questions[qid]
        query = searcher.analyse(text)
        wanted = relevant[qid]
        for mode in ("hybrid", "dense", "lexical"):
            hits = searcher.search(query, 50, mode=mode, one_per_section=False)
            results[f"shipped {mode}" if mode == "hybrid" else f"project {mode}"].append(
                scores(ids(hits), wanted))
        dense = ids(searcher.search(query, 100, mode="dense", one_per_section=False))
        lexical = ids(searcher.search(query, 100, mode="lexical", one_per_section=False))
        fused: dict[str, float] = defaultdict(float)
        for ranking in (dense, lexical):
            for rank, doc in enumerate(ranking, start=1):
                fused[doc] += 1 / (60 + rank)
        results["naive fusion"].append(scores(sorted(fused, key=lambda d: -fused[d]), wanted))
        vector = searcher.embedder.embed_query(text)
        best = np.argsort(-(whole @ vector))[:DEPTH]
        results["bare dense, whole answers"].append(
            scores([answer_id[order[i]] for i in best], wanted))
    report = {name: {"mrr@10": round(float(np.mean([r for r, _ in rows])), 4),
                     "recall@10": round(float(np.mean([c for _, c in rows])), 4),
                     "questions": len(rows)} for name, rows in results.items()}
    report["bare dense, whole answers"]["embed_seconds"] = round(bare_seconds, 1)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    commands = parser.add_subparsers(dest="command", required=True)
    rendering = commands.add_parser("render")
    rendering.add_argument("--out", type=Path, required=True)
    measuring = commands.add_parser("measure")
    measuring.add_argument("--index", type=Path, required=True)
    measuring.add_argument("--limit", type=int, default=None)
    measuring.add_argument("--json", type=Path, default=None, help="also write the figures")
    args = parser.parse_args()
    if args.command == "render":
        print(f"{render(args.data, args.out)} answers written to {args.out / 'pages'}")
        return
    report = measure(args.index, args.data, args.limit)
    best_plain = max(v["mrr@10"] for k, v in report.items() if not k.startswith("shipped"))
    for name, figures in report.items():
        print(f"{name:<28} MRR@10 {figures['mrr@10']:.3f}  Recall@10 {figures['recall@10']:.3f}"
              f"  ({figures['questions']} questions)")
    shipped = report["shipped hybrid"]["mrr@10"]
    print(f"shipped / best plain recipe: {shipped / best_plain:.3f}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

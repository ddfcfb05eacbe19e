"""How passages and answers read on a terminal (``python -m search search|ask``
without ``--json``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def print_hits(results: Sequence[dict[str, Any]]) -> None:
    if not results:
        print("No passages found.")
    for r in results:
        page = f", page {r['page']}" if r["page"] else ""
        # The similarity reads the same across questions; a fused score is only a rank.
        close = r.get("similarity")
        shown = f"similarity {close:.2f}" if close is not None else f"score {r['score']:.3f}"
        print(f"{r['rank']}. [{shown}] {r['section']}  ({r['source']}{page}, "
              f"chars {r['start']}-{r['end']})")
        print(f"   {r['text'][:300]}{'…' if len(r['text']) > 300 else ''}\n")


def print_answer(record: dict[str, Any]) -> None:
    safety = record["safety"]
    if safety["crisis"]:
        print(f"!! CRISIS LANGUAGE ({', '.join(safety['categories'])}): {safety['guidance']}\n")
    label = " (approved answer)" if record["approved"] else ""
    for side in record.get("comparison", []):  # two or three treatments compared
        print(f"== {side['title']} › {side['heading']}\n{side['text'].strip()}\n"
              if not side["missing"] else f"== {side['title']}: {side['missing']}\n")
    print(f"{record['answer']}{label}\n")
    for warning in record.get("warnings", []):
        print(f"!! Check before reading out: {warning}\n")
    for c in record["citations"]:
        page = f", page {c['page']}" if c["page"] else ""
        print(f"[{c['n']}] {c['section']} ({c['source']}{page}, chars {c['start']}-{c['end']})")
    if not record["answered"]:
        print("Nearest passages (they do not answer the question):")
        print_hits(record["passages"])
    print(f"\nconfidence {record['confidence']:.3f}")

"""Recall and false alarms of the crisis check on a labelled phrase list.

    .venv/bin/python eval/crisis_recall.py eval/crisis_phrases.jsonl [--split test] [--misses]

The list was written independently of the patterns; tune on ``dev``, report ``test``.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from search.config import AnswerSettings
from search.embedding import load_embedder
from search.safety import load_crisis_check


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("phrases", type=Path)
    parser.add_argument("--split", default=None)
    parser.add_argument("--misses", action="store_true", help="print every wrong call")
    parser.add_argument("--patterns-only", action="store_true",
                        help="leave out the example sentences (no model)")
    parser.add_argument("--threshold", type=float, default=None,
                        help="try another similarity threshold for the examples")
    args = parser.parse_args()
    settings = AnswerSettings()
    check = load_crisis_check(settings.crisis_guidance, settings.safety_file)
    if args.threshold is not None:
        check.threshold = args.threshold
    embedder = None if args.patterns_only else load_embedder(settings_model())
    rows = [json.loads(line) for line in args.phrases.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if args.split is None or r.get("split") == args.split]
    caught: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    for row in rows:
        flagged = check.check(row["text"], embedder).crisis
        row["flagged"] = flagged
        key = f"{row['kind']} ({'crisis' if row['crisis'] else 'not crisis'})"
        totals[key] += 1
        caught[key] += flagged
        if args.misses and flagged != row["crisis"]:
            print(f"{'MISSED' if row['crisis'] else 'FALSE ALARM'}: {row['text']}")
    crisis = [r for r in rows if r["crisis"]]
    calm = [r for r in rows if not r["crisis"]]
    hits = sum(r["flagged"] for r in crisis)
    alarms = sum(r["flagged"] for r in calm)
    print(f"split {args.split or 'all'}: recall {hits}/{len(crisis)} = {hits / len(crisis):.1%}, "
          f"false alarms {alarms}/{len(calm)} = {alarms / len(calm):.1%}")
    for key in sorted(totals):
        print(f"  {key:<32} flagged {caught[key]:>3} of {totals[key]:>3}")


def settings_model() -> str:
    from search.config import Settings

    return Settings().model


if __name__ == "__main__":
    main()

"""Issue 13's measures on one split: answers, refusals and the crisis check.

    .venv/bin/python eval/answers.py --index index --split test \
        [--questions eval/styles.jsonl eval/questions.jsonl] \
        [--crisis eval/emotional.jsonl] [--fresh eval/crisis_fresh.jsonl]

Answers: answerable questions answered, first citation from the section that answers,
required facts in the answer, close-but-unanswerable questions refused; by writing style
too. Crisis: recall on the crisis messages of ``--crisis`` (that split) and ``--fresh``
(all of it), false alarms on every other message of those files and on every question of
``--questions`` except those labelled ``"crisis"`` (by a reader who had not seen the
check's verdicts: "my flatmate says she'll kill herself tonight"), whose recall is shown.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from search.answer import Answerer
from search.config import Settings
from search.evaluation import cites_the_section, has_facts, load_questions
from search.retrieval import open_searcher


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--questions", nargs="*", type=Path,
                        default=[Path("eval/styles.jsonl"), Path("eval/questions.jsonl")])
    parser.add_argument("--crisis", nargs="*", type=Path, default=[Path("eval/emotional.jsonl")])
    parser.add_argument("--fresh", nargs="*", type=Path, default=[])
    args = parser.parse_args()
    settings = Settings()
    searcher = open_searcher(args.index, settings)
    answerer = Answerer(searcher, settings.answer)
    documents = searcher.snapshot.documents
    tally: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    alarms: list[bool] = []
    recall: dict[str, list[bool]] = defaultdict(list)
    for path in args.questions:
        for question in load_questions(path, args.split):
            answer = answerer.ask(question.text)
            if question.crisis:  # labelled a crisis by a reader blind to the check
                recall[f"{path.stem}, labelled crisis"].append(answer.safety.crisis)
            else:
                alarms.append(answer.safety.crisis)
            for group in ("all", question.style or path.stem):
                row = tally[group]
                if not question.answerable:
                    row["refused"].append(not answer.answered)
                    continue
                row["answered"].append(answer.answered)
                if question.section or question.service:
                    row["cited"].append(cites_the_section(answer, question, documents))
                if question.must_contain:
                    row["facts"].append(has_facts(answer, question))
    print(f"{args.split} split of {', '.join(map(str, args.questions))}")
    print(f"{'':<12}{'answered':>16}{'first citation':>18}{'facts':>16}{'refused':>16}")
    for group, row in sorted(tally.items(), key=lambda item: item[0] != "all"):
        print(f"{group:<12}" + "".join(f"{_share(row[k]):>16}" if k != "cited" else
                                       f"{_share(row[k]):>18}"
                                       for k in ("answered", "cited", "facts", "refused")))
    for path, whole in [(p, False) for p in args.crisis] + [(p, True) for p in args.fresh]:
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line) if line.strip() else None
            if row is None or (not whole and row.get("split") != args.split):
                continue
            flagged = answerer.crisis.check(row["text"], searcher.embedder, english=searcher
                                            .analyse(row["text"]).english).crisis
            if row["crisis"]:
                language = row.get("lang") or row.get("language", "en")
                recall[f"{path.stem} {language}"].append(flagged)
                recall[path.stem].append(flagged)
            else:
                alarms.append(flagged)
    print(f"crisis false alarms on everyday messages: {_share(alarms)}")
    for label, values in sorted(recall.items()):
        print(f"crisis recall, {label}: {_share(values)}")


def _share(values: list[bool]) -> str:
    return f"{sum(values) / len(values):.1%} of {len(values)}" if values else "-"


if __name__ == "__main__":
    main()

"""Render MedQuAD as Markdown pages plus a question file, for scale and retrieval tests.

MedQuAD (Ben Abacha & Demner-Fushman, BMC Bioinformatics 20:511, 2019; CC BY 4.0) is read at
run time from the shared data folder and never copied into this repository. For each record
this writes ``OUT/pages/<record id>.md``: ``# <focus>``, then one ``## <heading>`` section per
question-answer pair, where the heading is a generic name for the question type ("Treatment"),
never the question itself. ``OUT/questions.jsonl`` holds the templated questions with the page
and section that answer them; ``OUT/headings.tsv`` the qtype → heading table;
``OUT/ATTRIBUTION.txt`` the attribution the licence asks for.

Usage: python eval/medquad.py --out DIR [--limit N] [--data PATH]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DEFAULT_DATA = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "medquad" / "medquad.jsonl.gz"
)

# Every qtype in the nine answered subsets. Unknown qtypes fall back to Title case.
HEADINGS: dict[str, str] = {
    "information": "Overview",
    "symptoms": "Symptoms",
    "causes": "Causes",
    "treatment": "Treatment",
    "prevention": "Prevention",
    "exams and tests": "Diagnosis",
    "outlook": "Outlook",
    "susceptibility": "Who is at risk",
    "frequency": "How common it is",
    "genetic changes": "Genetic changes",
    "inheritance": "Inheritance",
    "research": "Research",
    "considerations": "Considerations",
    "complications": "Complications",
    "stages": "Stages",
    "support groups": "Support",
}

ATTRIBUTION = """\
Pages and questions in this folder are derived from MedQuAD, the Medical Question Answering
Dataset: A. Ben Abacha and D. Demner-Fushman, "A question-entailment approach to question
answering", BMC Bioinformatics 20:511 (2019). https://github.com/abachaa/MedQuAD
Licence: Creative Commons Attribution 4.0 International (CC BY 4.0),
https://creativecommons.org/licenses/by/4.0/
Changes: each record is rendered as one Markdown page (title = focus, one section per answer,
headed by a generic name for the question type); answer text is otherwise unchanged apart from
whitespace and the removal of decorative rule lines.
"""

_RULE = re.compile(r"[-=_*\s]+")  # a line of only these would be a setext underline or a rule


def heading(qtype: str) -> str:
    """The generic section heading for a MedQuAD question type."""
    return HEADINGS.get(qtype, qtype.strip().title())


def clean_answer(answer: str) -> str:
    """Answer text as Markdown paragraphs: one block per source line, no stray headings."""
    blocks: list[str] = []
    for raw in answer.splitlines():
        line = raw.strip()
        if not line or _RULE.fullmatch(line):
            continue
        if line.startswith("#"):
            line = line.lstrip("#").strip()
        blocks.append(line)
    return "\n\n".join(blocks)


def title(record: dict[str, Any]) -> str:
    """The page title: the focus, or (for the few records without one) the URL's last part."""
    focus = " ".join(str(record.get("focus") or "").split())
    if focus:
        return focus.lstrip("#").strip()
    last = [part for part in str(record["url"]).split("/") if part][-1]
    return re.sub(r"[_-]+", " ", last.rsplit(".", 1)[0]).strip().capitalize()


def render_page(record: dict[str, Any]) -> str:
    """The whole Markdown page for one record."""
    parts = [f"# {title(record)}"]
    for qa in record["qa"]:
        parts.append(f"## {heading(qa['qtype'])}")
        parts.append(clean_answer(qa["answer"]))
    return "\n\n".join(parts) + "\n"


def split_of(qid: str) -> str:
    """``dev`` or ``test``, from the parity of the first byte of the qid's SHA-256."""
    return "dev" if hashlib.sha256(qid.encode("utf-8")).digest()[0] % 2 == 0 else "test"


def questions(record: dict[str, Any]) -> Iterator[dict[str, str]]:
    """One question row per QA pair of a record.

    MedQuAD's qids are unique only within one source (and not even there for a few CancerGov
    pages), so ``qid`` is ``<record id>-<n>``, with the original kept as ``medquad_qid``.
    """
    for qa in record["qa"]:
        qid = f"{record['id']}-{qa['qid'].rsplit('-', 1)[-1]}"
        yield {
            "qid": qid,
            "medquad_qid": qa["qid"],
            "text": " ".join(qa["question"].split()),
            "doc": f"{record['id']}.md",
            "section": heading(qa["qtype"]),
            "qtype": qa["qtype"],
            "split": split_of(qid),
        }


def read_records(path: Path, limit: int | None) -> Iterator[dict[str, Any]]:
    """Records in file order, at most ``limit`` of them."""
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for count, line in enumerate(lines):
            if limit is not None and count >= limit:
                return
            yield json.loads(line)


def write_headings(path: Path, qtypes: Counter[str]) -> None:
    """The qtype → heading table, with how many sections each produced."""
    rows = ["qtype\theading\tsections"]
    rows += [f"{qtype}\t{heading(qtype)}\t{n}" for qtype, n in sorted(qtypes.items())]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def render(data: Path, out: Path, limit: int | None) -> tuple[int, int, Path]:
    """Write pages, questions, heading table and attribution; return the counts and table."""
    pages = out / "pages"
    pages.mkdir(parents=True, exist_ok=True)
    qtypes: Counter[str] = Counter()
    n_pages = n_questions = 0
    seen: set[str] = set()
    written: set[str] = set()
    with (out / "questions.jsonl").open("w", encoding="utf-8") as qfile:
        for record in read_records(data, limit):
            (pages / f"{record['id']}.md").write_text(render_page(record), encoding="utf-8")
            written.add(record["id"])
            n_pages += 1
            for row in questions(record):
                if row["qid"] in seen:
                    raise ValueError(f"duplicate qid {row['qid']}")
                seen.add(row["qid"])
                qtypes[row["qtype"]] += 1
                qfile.write(json.dumps(row, ensure_ascii=False) + "\n")
                n_questions += 1
    stale = [p for p in pages.glob("*.md") if p.stem not in written]
    if stale:
        print(f"note: {len(stale)} pages in {pages} are from an earlier run, not this one")
    table = out / "headings.tsv"
    write_headings(table, qtypes)
    (out / "ATTRIBUTION.txt").write_text(ATTRIBUTION, encoding="utf-8")
    return n_pages, n_questions, table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the generated files")
    parser.add_argument("--limit", type=int, default=None, help="first N records only")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="medquad.jsonl.gz")
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    if not args.data.is_file():
        parser.error(f"no MedQuAD file at {args.data}")
    n_pages, n_questions, table = render(args.data, args.out, args.limit)
    print(
        f"wrote {n_pages} pages and {n_questions} questions to {args.out}; "
        f"qtype→heading table: {table}"
    )


if __name__ == "__main__":
    main()

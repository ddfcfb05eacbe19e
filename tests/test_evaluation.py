"""The eval and calibrate commands measure what they claim, on a tiny question set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from search.answerability import FEATURES, load_answerability_model
from search.cli import main

pytestmark = pytest.mark.model

QUESTIONS = [
    {"qid": "1", "text": "how many weeks do the walking groups run for",
     "doc": "walking-group.txt", "section": "How long does it last?",
     "must_contain": ["eight weeks"], "split": "dev"},
    {"qid": "2", "text": "light box side effects like headaches", "doc": "light-therapy.html",
     "section": "Are there any side effects?", "split": "dev"},
    {"qid": "3", "text": "nature therapy phone number for referral", "doc": "nature-therapy.pdf",
     "section": "How do I get referred?", "must_contain": ["0808 157 0997"], "split": "dev"},
    {"qid": "4", "text": "what are the parking charges at the hospital car park",
     "answerable": False, "split": "dev"},
    # decided by the model, not by a rule: the page named exists, nothing asked is missing
    {"qid": "5", "text": "does the walking group have a minibus from the station",
     "answerable": False, "split": "test"},
]


@pytest.fixture(scope="module")
def index(good_index: Path) -> Path:
    folder = good_index
    return folder


@pytest.fixture
def questions(tmp_path: Path) -> Path:
    path = tmp_path / "qa.jsonl"
    path.write_text("\n".join(json.dumps(q) for q in QUESTIONS) + "\n")
    return path


def test_eval_reports_every_measure_for_each_mode(index: Path, questions: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["eval", str(questions), "--index", str(index), "--mode", "all", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [m["mode"] for m in report["modes"]] == ["dense", "lexical", "hybrid"]
    hybrid = report["modes"][2]
    assert hybrid["questions"] == 3
    assert hybrid["doc_hits"]["1"] == 1.0 and hybrid["doc_mrr"] == 1.0
    assert hybrid["section_hits"]["3"] == 1.0
    assert hybrid["facts"] == 1.0 and hybrid["facts_questions"] == 2
    assert hybrid["refusal_recall"] == 1.0
    assert set(hybrid["search_ms"]) == {"p50", "p95", "mean"}


def test_eval_split_and_text_table(index: Path, questions: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["eval", str(questions), "--index", str(index), "--split", "test"]) == 0
    out = capsys.readouterr().out
    assert "0 answerable questions" in out and "refusal recall" in out


def test_calibrate_fits_and_writes_the_answerability_model(index: Path, questions: Path,
                                                           tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "answerability.json"
    assert main(["calibrate", str(questions), "--index", str(index), "--split", "all",
                 "--write", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["questions"] == 5 and result["answerable"] == 3
    written = json.loads(out.read_text())
    assert written == result["model"] and set(written["weights"]) == set(FEATURES)
    # The file it wrote is one the answerer serves.
    model = load_answerability_model(out)
    # the served model's operating point is kept; only the weights are refitted
    assert model.threshold == load_answerability_model().threshold
    assert model.weights == written["weights"]


def test_calibrate_needs_both_kinds_of_question(index: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    only = tmp_path / "only.jsonl"
    only.write_text(json.dumps(QUESTIONS[0]) + "\n")
    assert main(["calibrate", str(only), "--index", str(index), "--json"]) == 1
    assert "answerable and unanswerable" in json.loads(capsys.readouterr().out)["message"]


def test_ask_json_contract(index: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["ask", "how long does the walking group last", "--index", str(index),
                 "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert set(record) >= {"answered", "answer", "sentences", "citations", "passages",
                           "confidence", "approved", "safety"}
    assert set(record["citations"][0]) == {"n", "chunk_id", "doc_id", "source", "title",
                                           "section", "page", "start", "end", "quote"}


def test_batch_ask_writes_one_line_per_question(index: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    batch = tmp_path / "q.jsonl"
    batch.write_text('{"qid": "a", "text": "walking group length"}\n{"qid": "b", "text": ""}\n')
    assert main(["ask", "--queries", str(batch), "--index", str(index), "--json"]) == 2
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["qid"] for line in lines] == ["a", "b"]
    assert lines[0]["answered"] and "error" in lines[1]

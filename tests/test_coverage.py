"""Coverage without the model: facts that disagree across documents, cell bands, settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from search import Settings, load_document
from search.config import CoverageSettings
from search.coverage import Cell, band, question_for
from search.errors import ConfigError
from search.facts import disagreements, find_facts

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


def test_both_planted_inconsistencies_in_the_shipped_corpus_are_found() -> None:
    settings = Settings()
    texts = {}
    for path in sorted(CORPUS.iterdir()):
        if path.suffix in (".md", ".html", ".pdf", ".docx") and path.name != "README.md":
            texts[path.name] = load_document(path, path.name, settings).text
    assert len(texts) == 48
    found = {(d.kind, d.topic): d for d in disagreements(texts)}
    assert set(found) == {("phone number", "central referrals line"),
                          ("waiting time", "first appointments offered")}

    phone = found[("phone number", "central referrals line")]
    assert phone.majority == "08081570420"
    assert [(f.doc_id, f.written) for f in phone.flagged] == [("schema-therapy.md",
                                                               "0808 157 0240")]
    wait = found[("waiting time", "first appointments offered")]
    assert wait.majority == "10 working days"
    assert [(f.doc_id, f.written) for f in wait.flagged] == [("cognitive-analytic-therapy.md",
                                                              "6 weeks")]
    flagged = wait.flagged[0]
    assert texts[flagged.doc_id][flagged.start:flagged.end] == "6 weeks"


def test_phone_numbers_are_grouped_by_the_words_naming_them() -> None:
    facts = find_facts("a.md", (
        "Call our central referrals line on 0808 157 0420 (Monday to Friday). "
        "For young people, call 0808 157 0515. "
        "Ask your GP, or call the Sleep Service on 0808 157 0999, Monday to Friday. "
        "If someone is in crisis, call 999 or our crisis and home treatment team on "
        "0808 157 0360.\nTo join, telephone:\n\n0808 157 0998"))
    assert [(f.topic, f.value) for f in facts] == [
        ("central referrals line", "08081570420"),
        ("sleep service", "08081570999"),
        ("crisis and home treatment team", "08081570360"),
    ]


def test_waiting_times_are_normalised_before_comparing() -> None:
    texts = {
        "a.md": "First appointments are usually offered within ten working days.",
        "b.md": "First appointments are normally offered within 10 working days.",
        "c.md": "First appointments are usually offered within about 6 weeks.",
        "d.md": "A nurse will contact you within 4 hours.",
    }
    (only,) = disagreements(texts)
    assert (only.kind, only.topic, only.majority) == ("waiting time",
                                                      "first appointments offered",
                                                      "10 working days")
    assert [v for v, _ in only.values] == ["10 working days", "6 weeks"]
    assert [f.doc_id for f in only.flagged] == ["c.md"]


def test_a_tie_flags_every_value_and_one_page_alone_is_not_a_disagreement() -> None:
    tie = disagreements({
        "a.md": "Call our addiction line on 0808 157 0744.",
        "b.md": "Call our addiction line on 0808 157 0745.",
    })
    assert len(tie) == 1 and tie[0].majority == ""
    assert {f.doc_id for f in tie[0].flagged} == {"a.md", "b.md"}
    # Two numbers for one name on a single page: nothing to compare across pages.
    assert disagreements({"a.md": "Our addiction line on 0808 157 0744 or our addiction "
                                  "line on 0808 157 0745."}) == []


def test_bands_follow_the_settings() -> None:
    settings = CoverageSettings(good=0.8, fair=0.7)

    def cell(answered: bool, confidence: float) -> Cell:
        return Cell("a.md", "Cost", "How much?", answered, confidence, None)

    assert band(cell(True, 0.85), settings) == "good"
    assert band(cell(True, 0.75), settings) == "fair"
    assert band(cell(True, 0.65), settings) == "weak"
    assert band(cell(False, 0.95), settings) == "missing"


def test_standard_questions_name_the_page_and_are_validated() -> None:
    assert question_for("How much does {topic} cost?", "Counselling") == \
        "How much does Counselling cost?"
    labels = [label for label, _ in Settings().coverage.questions]
    assert len(labels) == 8 and "Cost" in labels
    with pytest.raises(ConfigError, match="unique"):
        CoverageSettings(questions=(("A", "x?"), ("A", "y?")))
    with pytest.raises(ConfigError, match="at least one"):
        CoverageSettings(questions=())
    with pytest.raises(ConfigError, match="fair <= good"):
        CoverageSettings(good=0.5, fair=0.7)


def test_disagreements_download_names_each_fact_and_its_span() -> None:
    from search import StoredDocument, disagreement_rows

    settings = Settings()
    documents = {}
    for name in ("schema-therapy.md", "cognitive-behavioural-therapy.md",
                 "cognitive-analytic-therapy.md", "counselling.md"):
        document = load_document(CORPUS / name, name, settings)
        documents[name] = StoredDocument(document, str(CORPUS / name), str(CORPUS), "now")
    found = disagreements({d: s.document.text for d, s in documents.items()})
    rows = disagreement_rows(found, documents)
    flagged = [r for r in rows if r["check"]]
    assert {(r["source"], r["written"]) for r in flagged} == {
        ("schema-therapy.md", "0808 157 0240"), ("cognitive-analytic-therapy.md", "6 weeks")}
    for row in rows:
        text = documents[str(row["source"])].document.text
        assert text[int(row["start"]):int(row["end"])] == row["written"]  # the exact span
        assert row["section"]


def test_a_fact_is_seen_in_a_quote_before_anything_is_compared() -> None:
    from search.facts import states_a_fact

    assert states_a_fact("Call our central referrals line on 0808 157 0420.")
    assert states_a_fact("First appointments are usually offered within 10 working days.")
    assert not states_a_fact("Sessions last about an hour, once a week, for 12 weeks.")

"""Feedback storage: callers' identifiers are masked before anything reaches SQLite."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from search.config import FeedbackSettings
from search.contacts import mask, phone_numbers
from search.feedback import FeedbackStore, group_key


@pytest.mark.parametrize(("text", "expected"), [
    ("call me on 07700 900123 please", "call me on [phone number] please"),
    ("my number is 07700900123", "my number is [phone number]"),
    ("ring +44 7700 900123 or +44 (0)20 7946 0000", "ring [phone number] or [phone number]"),
    ("landline (0161) 496 0000, work 0161-496-0000",
     "landline [phone number], work [phone number]"),
    ("the line is 0808 157 0420.", "the line is [phone number]."),
    ("NHS number 943 476 5919", "NHS number [NHS number]"),
    ("nhs no 943-476-5919 or 9434765919", "nhs no [NHS number] or [NHS number]"),
    ("e-mail jo.bloggs+gp@nhs.example.net", "e-mail [e-mail]"),
    ("mobile without the 0: 7700 900123", "mobile without the 0: [phone number]"),
    ("NHS 943 476 5910 (a digit wrong)", "NHS [phone number] (a digit wrong)"),  # masked still
    ("hospital no. 1234 5678 9012", "hospital no. [number]"),
    # Public numbers, times and years are not personal: left alone.
    ("call 999, 111 or Samaritans on 116 123", "call 999, 111 or Samaritans on 116 123"),
    ("in 2024 it took 10 working days", "in 2024 it took 10 working days"),
])
def test_mask_hides_phone_numbers_emails_and_nhs_numbers(text: str, expected: str) -> None:
    assert mask(text) == expected


#: Real ways a UK number is written, each with its national digits.
FORMATS = [
    ("0808 157 0420", "08081570420"), ("0808 1570420", "08081570420"),
    ("08081570420", "08081570420"), ("(0808) 157 0420", "08081570420"),
    ("0808-157-0420", "08081570420"), ("0808.157.0420", "08081570420"),
    ("+44 808 157 0420", "08081570420"), ("+44 (0)808 157 0420", "08081570420"),
    ("+44(0)8081570420", "08081570420"), ("0044 808 157 0420", "08081570420"),
    ("0800 123 456", "0800123456"), ("020 7946 0000", "02079460000"),
    ("(020) 7946 0000", "02079460000"), ("0161 496 0000", "01614960000"),
    ("01632 960 001", "01632960001"), ("07700 900123", "07700900123"),
    ("07700-900-123", "07700900123"), ("+447700900123", "07700900123"),
    ("+44 7700 900 123", "07700900123"), ("(07700) 900123", "07700900123"),
]


@pytest.mark.parametrize(("written", "digits"), FORMATS)
def test_every_real_format_is_found_whole_and_normalised(written: str, digits: str) -> None:
    text = f"Ring {written} today."
    (found,) = phone_numbers(text)
    assert found.digits == digits
    assert text[found.start:found.end] == written


def test_nhs_numbers_are_told_by_their_check_digit() -> None:
    from search.contacts import is_nhs_number

    assert is_nhs_number("9434765919") and is_nhs_number("4010232137")
    assert not is_nhs_number("9434765910") and not is_nhs_number("943476591")
    assert not is_nhs_number("1234567890")  # check digit would be 10: never issued


def test_numbers_of_our_own_pages_are_kept_and_callers_masked() -> None:
    ours = frozenset({"08081570420"})
    text = "staff say 0808 157 0420 is wrong; caller on 07700 900123 (or +44 808 157 0420)"
    assert mask(text, keep=ours) == ("staff say 0808 157 0420 is wrong; caller on "
                                     "[phone number] (or +44 808 157 0420)")


def test_phone_numbers_are_found_in_national_form() -> None:
    text = "Call 0808 157 0420 or +44 (0)20 7946 0000; not 0808 157 0000–0999 as a range."
    assert [f.digits for f in phone_numbers(text)] == ["08081570420", "02079460000",
                                                        "08081570000"]
    first = next(phone_numbers(text))
    assert text[first.start:first.end] == "0808 157 0420"


def test_record_masks_question_and_comment_before_storing(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "feedback.db")
    record = store.record(
        "I'm Jo, 07700 900123, jo@example.org, NHS 943 476 5919: how long is CBT?",
        "Most people have 6 to 20 sessions. [1]", "wrong_passage",
        comment="call me back on 020 7946 0000", index_generation="gen-1",
        passage="cbt.md#how-long-1")
    assert record.id == 1
    raw = sqlite3.connect(tmp_path / "feedback.db").execute(
        "SELECT question, answer, comment, verdict, passage, index_generation FROM feedback"
    ).fetchall()
    assert raw == [(
        "I'm Jo, [phone number], [e-mail], NHS [NHS number]: how long is CBT?",
        "Most people have 6 to 20 sessions. [1]", "call me back on [phone number]",
        "wrong_passage", "cbt.md#how-long-1", "gen-1",
    )]
    dump = "\n".join(sqlite3.connect(tmp_path / "feedback.db").iterdump())
    for secret in ("07700", "900123", "jo@example.org", "943 476", "7946"):
        assert secret not in dump


def test_unknown_verdict_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="verdict must be one of"):
        FeedbackStore(tmp_path / "f.db").record("q", "a", "great")  # type: ignore[arg-type]


def test_gaps_group_and_count_poor_and_uncovered_questions(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "nested" / "feedback.db")
    store.log_not_covered("How much does CBT cost?", "Not covered by our content.", "g1")
    store.log_not_covered("how much does cbt cost", "Not covered by our content.", "g1")
    store.record("CBT cost how much?", "…", "not_helpful", "no price given", "g1")
    store.record("Is there parking?", "…", "wrong_passage", "", "g2")
    store.record("How long is CBT?", "…", "helpful", "", "g1")  # not a gap
    gaps = store.gaps()
    assert [(g.count, g.not_covered, g.not_helpful, g.wrong_passage) for g in gaps] == [
        (3, 2, 1, 0), (1, 0, 0, 1)]
    assert gaps[0].question in ("How much does CBT cost?", "how much does cbt cost",
                                "CBT cost how much?")
    assert gaps[0].comments == ("no price given",)
    assert gaps[1].question == "Is there parking?"
    assert len(store.records()) == 5


def test_group_key_ignores_case_order_and_filler() -> None:
    assert group_key("How much does CBT cost?") == group_key("cbt cost, how much")
    assert group_key("How long is CBT?") != group_key("How long is DBT?")


def test_database_sits_beside_the_index_unless_configured(tmp_path: Path) -> None:
    assert FeedbackSettings().database_for(tmp_path / "index") == tmp_path / "feedback.db"
    chosen = tmp_path / "elsewhere.db"
    assert FeedbackSettings(database=chosen).database_for(tmp_path / "index") == chosen


@pytest.mark.model
def test_gaps_that_mean_the_same_are_merged_and_ties_put_the_latest_first(
        tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    from search.feedback import merge_similar

    store = FeedbackStore(tmp_path / "feedback.db")
    for question in ("do you do hypnotherapy", "is hypnotherapy available",
                     "email for crisis team", "phone number for crisis team",
                     "crisis team email address"):
        store.log_not_covered(question, "Not covered by our content.", "g")
    gaps = store.gaps()
    assert len(gaps) == 5 and all(g.count == 1 for g in gaps)
    merged = merge_similar(gaps, embedder.embed_documents([g.question for g in gaps]), 0.8)
    grouped = {frozenset(g.wordings) for g in merged}
    assert frozenset({"do you do hypnotherapy", "is hypnotherapy available"}) in grouped
    assert frozenset({"email for crisis team", "crisis team email address"}) in grouped
    assert frozenset({"phone number for crisis team"}) in grouped  # another ask: apart
    assert [g.count for g in merged] == [2, 2, 1]
    assert sum(g.not_covered for g in merged) == 5


def test_a_gap_marked_resolved_stays_so_until_it_is_asked_again(tmp_path: Path) -> None:
    import time

    store = FeedbackStore(tmp_path / "feedback.db")
    store.log_not_covered("is there parking", "Not covered by our content.", "g")
    (gap,) = store.gaps()
    assert store.status_of(gap) == "open"
    time.sleep(1.1)  # timestamps are to the second
    store.mark_gap(gap, "won't fix")
    assert store.status_of(store.gaps()[0]) == "won't fix"
    assert FeedbackStore(tmp_path / "feedback.db").status_of(gap) == "won't fix"  # kept
    time.sleep(1.1)
    store.log_not_covered("is there parking", "Not covered by our content.", "g")
    assert store.status_of(store.gaps()[0]) == "open"  # asked again since: open again
    store.mark_gap(store.gaps()[0], "resolved")
    assert store.status_of(store.gaps()[0]) == "resolved"
    store.mark_gap(store.gaps()[0], "open")
    assert store.status_of(store.gaps()[0]) == "open"
    with pytest.raises(ValueError, match="status must be one of"):
        store.mark_gap(gap, "done")  # type: ignore[arg-type]

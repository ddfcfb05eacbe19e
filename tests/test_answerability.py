"""Answers on the shipped corpus, rule by rule, with the questions the call centre asks
(issue 13's findings): the real bundled model and a real index of all 48 pages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from search.answer import NOT_ENGLISH, Answer, Answerer
from search.cli import main
from search.retrieval import Filters, Searcher

pytestmark = pytest.mark.model

PLANTED_GAPS = {  # corpus/README.md: pages that leave out a section on purpose
    "psychiatric-assessment.md": {"How long", "Side effects"},
    "memory-assessment.md": {"How long", "Side effects"},
    "medication-review.pdf": {"How long"},
    "occupational-therapy.md": {"How long"},
    "guided-self-help.md": {"Side effects"},
    "peer-support.md": {"Side effects"},
    "autism-assessment.md": {"Side effects"},
    "social-skills-groups.md": {"Side effects"},
    "camhs-assessment.md": {"Side effects"},
    "crisis-and-home-treatment.html": {"Side effects"},
    "bereavement-counselling.md": {"How it works"},
    "solution-focused-brief-therapy.md": {"Who it's for"},
}


@pytest.fixture(scope="module")
def answerer(shipped_index: Path, embedder) -> Answerer:  # type: ignore[no-untyped-def]
    from search import open_index

    return Answerer(Searcher(open_index(shipped_index), embedder))


def first_section(answer: Answer) -> str:
    return answer.citations[0].breadcrumb_text.split(" › ")[-1]


@pytest.mark.parametrize(("question", "section", "fact"), [
    ("cbt waitng time?", "How do I get referred for CBT?", "10 working days"),
    ("CAT wait for 1st appt?", "How do I get referred for CAT?", "6 weeks"),
    ("how long does CBT take", "How long does CBT take?", "6 and 20"),
    # "two or three appointments" states how many, in words
    ("autism ax how many appts", "What happens during the assessment?", "two or three"),
    ("group thrpy how many ppl", "What happens in a group therapy session?", "6 to 10 members"),
    ("hearing voices grp which day?", "How long does the hearing voices group run for?",
     "every other Thursday"),
    # shorthand spellings ("sessn", "lenth")
    ("emdr sessn length", "What happens during an EMDR session?", "60 to 90 minutes"),
    ("mbt total programme lenth", "How long does MBT take?", "12 to 18 months"),
    # no "How long" section on the page: the sentence stating the length, elsewhere
    ("psych ax how long allow", "What happens at a psychiatric assessment?", "90 minutes"),
])
def test_shorthand_questions_quote_the_section_and_the_fact(answerer: Answerer, question: str,
                                                             section: str, fact: str) -> None:
    answer = answerer.ask(question)
    assert answer.answered, answer.reason
    assert first_section(answer) == section and fact in answer.answer
    assert answer.query is not None and answer.query.answer_type is not None


@pytest.mark.parametrize(("question", "reason"), [
    ("how much does CBT cost",
     "Cognitive behavioural therapy (CBT) page does not say what it costs"),
    ("how long does a memory assessment take", "Memory assessment page does not say how long"),
    ("whats the email address for the crisis team", "does not give an e-mail address"),
    ("Will EMDR cure my PTSD completely?", "does not say what results to expect"),
    # a count is given by a number of what is counted, not by any number on the page
    ("crisis house how many beds?", "does not give the number of beds"),
    ("cbt evening appts avail? pt works 9-5", "does not give when sessions are held"),
])
def test_a_missing_fact_is_not_covered_and_named(answerer: Answerer, question: str,
                                                 reason: str) -> None:
    answer = answerer.ask(question)
    assert not answer.answered and reason in answer.reason
    assert answer.passages, "the nearest passages are still listed"


def test_a_service_question_gets_the_number_most_pages_give(answerer: Answerer) -> None:
    for question in ("number to book?", "are you open on Saturdays?"):
        answer = answerer.ask(question)
        assert answer.answered and "0808 157 0420" in answer.answer, question
        assert "0808 157 0240" not in answer.answer  # schema therapy's outdated number
        assert "Saturday 9am–1pm" in answer.answer


def test_a_service_question_about_what_no_page_names_is_refused(answerer: Answerer) -> None:
    # "open on sundays" asks for opening hours, but of a chapel none of our pages mentions
    answer = answerer.ask("is there a hospital chapel open on sundays")
    assert not answer.answered and "Saturday 9am" not in answer.answer


def test_a_worried_description_is_answered_from_a_page_not_the_service_line(
        answerer: Answerer) -> None:
    answer = answerer.ask(
        "My 19 year old self-harms and her emotions go from 0 to 100. She's been offered a "
        "programme with a weekly one to one plus a skills class. How much time a week is that?")
    assert "referral line" not in answer.notice and "of our pages give this" not in answer.notice


@pytest.mark.parametrize("message", [
    "who do we ring right now? I think my son is going to kill himself",
    # asking nothing our pages answer: the crisis team's number all the same
    "my son just told me he is going to end it tonight, what do I do",
    "I don't want to be alive anymore and I've been saving up pills",
    # "what do I do?" asks what to do now, not what happens in a session
    "My brother sent me a message saying goodbye and that he's sorry for everything. Now "
    "his phone's off. What do I do?",
])
def test_a_caller_in_crisis_is_given_the_crisis_teams_number(answerer: Answerer,
                                                             message: str) -> None:
    answer = answerer.ask(message)
    assert answer.safety.crisis
    assert answer.answered and "0808 157 0360" in answer.answer
    assert answer.citations[0].doc_id == "crisis-and-home-treatment.html"


def test_another_treatment_than_the_one_chosen_is_answered_and_said(answerer: Answerer) -> None:
    chosen = Filters(doc_ids=frozenset({"schema-therapy.md"}))
    answer = answerer.ask("how long does EMDR take", filters=chosen)
    assert answer.answered and answer.citations[0].doc_id == "emdr.md"
    assert "Schema therapy" in answer.notice and "EMDR" in answer.notice


def test_a_quoted_number_other_pages_give_differently_carries_a_warning(
        answerer: Answerer) -> None:
    answer = answerer.ask("schema therapy referal number")
    assert "0808 157 0240" in answer.answer
    assert answer.warnings == ("this answer gives 0808 157 0240 for the central referrals "
                               "line. Most pages give 0808 157 0420.",)
    assert answer.as_dict()["warnings"] == list(answer.warnings)
    assert answerer.ask("cbt referral number").warnings == ()  # the usual number


@pytest.mark.parametrize(("question", "section"), [
    # "what is/are" of something the page names is not "what is DBT?"
    ("what are the four skills modules in DBT", "How does DBT work?"),
    ("what is a mental state examination", "What happens at a psychiatric assessment?"),
    # the words of what is asked choose the section
    ("is there a blood test or brain scan for ADHD", "How does an ADHD assessment work?"),
    ("group confidentiality guaranteed?", "Are there any side effects or risks?"),
])
def test_what_is_asked_of_a_page_chooses_its_section(answerer: Answerer, question: str,
                                                     section: str) -> None:
    answer = answerer.ask(question)
    assert answer.answered, answer.reason
    assert first_section(answer) == section


@pytest.mark.parametrize(("question", "section"), [
    # "gsh" and "marriage counselling" are found where what the vocabulary reads them as is
    ("gsh suitable for panic?", "Who can guided self-help help?"),
    ("do you do marriage counselling when one of us is depressed?",
     "Who can couples therapy help?"),
])
def test_words_count_as_found_where_the_vocabulary_reading_is(answerer: Answerer,
                                                              question: str, section: str) -> None:
    answer = answerer.ask(question)
    assert answer.answered, answer.reason
    assert first_section(answer) == section and answer.evidence is not None
    assert answer.evidence.words >= 0.5 and answer.evidence.asked >= 0.5


@pytest.mark.parametrize(("question", "section", "fact"), [
    # the one sentence that mentions driving, in a passage the search ranked low
    ("ect drive after tx?", "What happens during an ECT treatment?", "24 hours"),
    # a count of appointments, not how long one lasts
    ("camhs ax how many appts usually", "How long does the assessment take?",
     "one or two appointments"),
    # asked for a length, the sentence stating it is quoted beside the closest one
    ("How long are couple therapy sessions, and are individual sessions offered to each "
     "partner?", "What happens in a couples therapy session?", "60 to 75 minutes"),
])
def test_the_sentence_stating_what_is_asked_is_quoted(answerer: Answerer, question: str,
                                                      section: str, fact: str) -> None:
    answer = answerer.ask(question)
    assert answer.answered, answer.reason
    assert first_section(answer) == section and fact in answer.answer


def test_the_second_page_answers_when_its_best_sentence_is_clearly_better(
        answerer: Answerer) -> None:
    # the medication review page ranks first; the perinatal page speaks of breastfeeding
    answer = answerer.ask("can I get advice about antidepressants while breastfeeding")
    assert answer.answered, answer.reason
    assert answer.passages[0].chunk.doc_id != "perinatal-mental-health.pdf"
    assert answer.citations[0].doc_id == "perinatal-mental-health.pdf"
    assert "breastfeeding" in answer.answer


def test_a_described_condition_finds_its_page(answerer: Answerer) -> None:
    # no treatment named: "cannot sit still", "can't concentrate" read as ADHD's words
    answer = answerer.ask("My son is 5 and he literally cannot sit still, nursery say he's "
                          "always running off and lashing out without thinking and can't "
                          "concentrate on anything. Can he be checked for it now or is he too "
                          "young?")
    assert answer.answered, answer.reason
    assert answer.citations[0].doc_id == "adhd-assessment.html" and "age 6" in answer.answer


@pytest.mark.parametrize(("question", "doc_id", "heading"), [
    ("since I got depressed I've stopped going to football, don't see my mates, the washing up "
     "piles up. I just lie on the sofa waiting to feel like doing something and it never comes. "
     "how is that ever meant to get better if I've got zero motivation?",
     "behavioural-activation.md", "How does behavioural activation work?"),
    ("We've been offered sessions as a whole family because of our son's self-harm, but I've "
     "heard there might be other staff watching us from another room on a camera?? That really "
     "freaks me out. Is that true?", "family-therapy.md",
     "What happens in a family therapy session?"),
])
def test_a_caller_describing_a_situation_is_answered_from_the_page_found(
        answerer: Answerer, question: str, doc_id: str, heading: str) -> None:
    # A story's words are the caller's, not the page's: its similarities run lower for the
    # same answer, which the decision weighs (Evidence.story) instead of refusing.
    answer = answerer.ask(question)
    assert answer.answered and answer.evidence is not None and answer.evidence.story == 1.0
    assert answer.citations[0].doc_id == doc_id
    assert answer.citations[0].breadcrumb_text.endswith(heading)


def test_the_decision_weighs_the_intent_as_read_on_the_page(answerer: Answerer) -> None:
    answer = answerer.ask("what is a mental state examination")
    assert answer.query is not None and answer.query.intent == "what_is"  # as analysed
    assert answer.evidence is not None and answer.evidence.intent == 0.5  # none on the page


def test_a_lead_in_brings_its_whole_list(answerer: Answerer) -> None:
    answer = answerer.ask("who can CBT help")
    assert answer.answered and "with:" in answer.sentences[0].text
    quoted = [s.text for s in answer.sentences]
    assert "depression" in quoted and "social anxiety and phobias" in quoted


def test_page_boilerplate_is_never_quoted(answerer: Answerer) -> None:
    for question in ("is this information clinical advice", "is the cbt page sample content",
                     "about this page emdr"):
        answer = answerer.ask(question)
        assert answer.approved or all("About this page" not in c.breadcrumb_text
                                      for c in answer.citations), question


def test_a_question_in_another_language_gets_the_crisis_check_and_english(
        answerer: Answerer) -> None:
    answer = answerer.ask("¿cuánto tiempo dura la terapia cognitivo conductual?")
    assert not answer.safety.crisis and not answer.answered
    assert answer.answer == NOT_ENGLISH and "English" in answer.reason and answer.passages
    # in crisis: the crisis team's number, and still the plain word that we answer in English
    answer = answerer.ask("quiero suicidarme esta noche")
    assert answer.safety.crisis and answer.answered and "0808 157 0360" in answer.answer
    assert NOT_ENGLISH in answer.notice and answer.passages


def test_a_long_pasted_message_is_read_whole(answerer: Answerer) -> None:
    filler = "I moved flat in June and the letters keep going to the old address. " * 60
    question = "How long is the wait for a first CBT appointment?"
    answer = answerer.ask(filler + question + " " + filler)
    assert answer.query is not None and answer.query.excerpted
    assert "10 working days" in answer.answer and question in answer.notice
    buried = filler + "I have written letters to my children and tonight I will end it all. "
    assert answerer.ask(buried + filler).safety.crisis


def test_coverage_json_finds_every_planted_gap(shipped_index: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["coverage", "--index", str(shipped_index), "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert "Cost" in record["columns"] and len(record["rows"]) == 48
    for row in record["rows"]:
        assert set(row) == {"doc_id", "source", "title", "cells"}
        assert not row["cells"]["Cost"]["covered"], row["doc_id"]  # no page states a price
        for label in PLANTED_GAPS.get(row["doc_id"], ()):
            cell = row["cells"][label]
            assert not cell["covered"] and cell["reason"].startswith("Our "), (row, label)
            # the place where the missing section would go: after one the page has
            assert cell["place"]["after"], (row, label)
        for cell in row["cells"].values():
            assert 0 <= cell["confidence"] <= 1 and cell["reason"]
            if cell["covered"]:
                assert cell["place"] is None
    cbt = next(r for r in record["rows"] if r["doc_id"] == "cognitive-behavioural-therapy.md")
    # no price on the page, and no section for it: it would go after the column before
    assert cbt["cells"]["Cost"]["place"] == {
        "section": "How long does CBT take?", "slug": "how-long-does-cbt-take", "after": True}


@pytest.mark.parametrize(("question", "source", "fact"), [
    ("how often does the hearing voices group meet", "hearing-voices-group.docx",
     "every other Thursday"),
    ("how many sessions is cognitive stimulation therapy", "cognitive-stimulation-therapy.docx",
     "14 sessions"),
    ("carers course - how many weeks?", "carers-support-programme.docx", "8 weekly sessions"),
])
def test_word_pages_answer_with_exact_spans(answerer: Answerer, question: str, source: str,
                                            fact: str) -> None:
    answer = answerer.ask(question)
    assert answer.answered, answer.reason
    assert fact in answer.answer
    citation = answer.citations[0]
    assert citation.source == source and citation.page is None
    text = answerer.searcher.snapshot.documents[citation.doc_id].document.text
    assert text[citation.start:citation.end] == citation.quote


@pytest.mark.parametrize(("question", "headings"), [
    ("difference between CBT and CAT", ["What is cognitive analytic therapy?",
                                        "What is cognitive behavioural therapy?"]),
    ("cbt vs dbt how long", ["How long does CBT take?", "How long does DBT take?"]),
])
def test_two_treatments_compared_side_by_side_from_their_own_sections(
        answerer: Answerer, question: str, headings: list[str]) -> None:
    from search.comparison import comparison

    query = answerer.searcher.analyse(question)
    sides = comparison(query, answerer.documents, answerer.rules)
    assert [s.heading for s in sides] == headings
    for side in sides:
        text = answerer.documents[side.doc_id].document.text[side.start:side.end]
        assert text.strip() and side.heading not in text  # the section's own body
    one = answerer.searcher.analyse("how long does cbt take")
    assert comparison(one, answerer.documents, answerer.rules) == ()  # one named: no
    record = answerer.ask(question).as_dict()  # the CLI's and the API's JSON carry it
    assert [s["heading"] for s in record["comparison"]] == headings
    assert all(s["text"].strip() for s in record["comparison"])

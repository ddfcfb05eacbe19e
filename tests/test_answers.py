"""Cited answers with the real model: verbatim quotes, exact spans, refusal, approved
answers, filters and the crisis check."""

from __future__ import annotations

from pathlib import Path

import pytest

from search import Settings, build_index, open_index
from search.answer import NOT_COVERED, Answerer
from search.config import AnswerSettings, RetrievalSettings
from search.retrieval import Filters, Searcher

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def searcher(good_index: Path, embedder) -> Searcher:  # type: ignore[no-untyped-def]
    folder = good_index
    return Searcher(open_index(folder), embedder)


@pytest.fixture(scope="module")
def answerer(searcher: Searcher, tmp_path_factory: pytest.TempPathFactory) -> Answerer:
    approved = tmp_path_factory.mktemp("approved") / "approved.toml"
    approved.write_text(
        '[[answer]]\nquestions = ["Can I bring my dog to a walking group?"]\n'
        'answer = "Dogs on leads are welcome on every walk."\n'
        'source = "walking-group.txt#what-to-do-next"\n'
    )
    return Answerer(searcher, AnswerSettings(approved_answers=approved))


def assert_citations_quote_the_source(answer, searcher: Searcher) -> None:  # type: ignore[no-untyped-def]
    assert answer.citations
    for citation in answer.citations:
        text = searcher.snapshot.documents[citation.doc_id].document.text
        assert text[citation.start:citation.end] == citation.quote
        chunk = next(c for c in searcher.snapshot.chunks if c.chunk_id == citation.chunk_id)
        assert chunk.start <= citation.start and citation.end <= chunk.end
        assert citation.breadcrumb_text == chunk.breadcrumb_text and citation.title == chunk.title


def test_an_answer_quotes_sentences_verbatim_each_cited(answerer: Answerer,
                                                        searcher: Searcher) -> None:
    answer = answerer.ask("how long does the walking group last and how often does it meet")
    assert answer.answered and not answer.approved
    assert 1 <= len(answer.sentences) <= 4
    assert_citations_quote_the_source(answer, searcher)
    for sentence in answer.sentences:
        (n,) = sentence.citations
        assert sentence.text == answer.citations[n - 1].quote
        assert f"{sentence.text} [{n}]" in answer.answer
    assert "eight weeks" in answer.answer


def test_a_phone_number_comes_through_exactly_after_its_lead_in(answerer: Answerer,
                                                               searcher: Searcher) -> None:
    answer = answerer.ask("what number do I ring to join a walking group")
    assert answer.answered
    assert "0808 157 0998" in answer.answer
    assert_citations_quote_the_source(answer, searcher)


def test_pdf_citations_carry_the_page(answerer: Answerer) -> None:
    answer = answerer.ask("how do I get referred to nature therapy, who do I call")
    assert answer.answered and "0808 157 0997" in answer.answer
    assert {c.page for c in answer.citations} == {2}


def test_unanswerable_questions_are_refused_with_the_nearest_passages(
    answerer: Answerer,
) -> None:
    answer = answerer.ask("where can I park my car at the hospital on a weekend")
    assert not answer.answered
    assert answer.answer == NOT_COVERED and answer.citations == () and answer.sentences == ()
    assert answer.passages, "the nearest passages are still listed"
    assert answer.confidence < answerer.model.threshold
    assert answer.reason, "every refusal says why"
    record = answer.as_dict()
    assert record["answered"] is False and record["passages"]


def test_an_approved_answer_is_returned_word_for_word(answerer: Answerer,
                                                      searcher: Searcher) -> None:
    answer = answerer.ask("can I bring my dog on the walking group?")
    assert answer.approved and answer.answered
    assert answer.sentences[0].text == "Dogs on leads are welcome on every walk."
    assert answer.answer == "Dogs on leads are welcome on every walk. [1]"
    assert_citations_quote_the_source(answer, searcher)
    assert answer.citations[0].breadcrumb_text.endswith("What to do next")
    assert not answerer.ask("what are the side effects of light therapy").approved


def test_crisis_language_is_flagged_before_the_answer(answerer: Answerer) -> None:
    answer = answerer.ask("I don't want to be here any more, is there a walking group")
    assert answer.safety.crisis and "suicide" in answer.safety.categories
    assert "999" in answer.safety.guidance and "116 123" in answer.safety.guidance
    assert answer.as_dict()["safety"]["crisis"] is True
    calm = answerer.ask("how long does the walking group last")
    assert not calm.safety.crisis and calm.safety.guidance == ""


def test_filters_keep_answers_inside_one_document(answerer: Answerer) -> None:
    answer = answerer.ask("what are the side effects", filters=Filters(
        doc_ids=frozenset({"light-therapy.html"})))
    assert {p.chunk.doc_id for p in answer.passages} == {"light-therapy.html"}


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_every_mode_finds_the_section(searcher: Searcher, mode: str) -> None:
    hits = searcher.search("light box headaches eye strain", 3, mode=mode)
    assert hits[0].chunk.breadcrumb[-1] == "Are there any side effects?"


def test_one_hit_per_section_unless_asked(searcher: Searcher) -> None:
    hits = searcher.search("sleep therapy", 10)
    keys = [(h.chunk.doc_id, h.chunk.breadcrumb) for h in hits]
    assert len(keys) == len(set(keys))


def test_several_passages_of_one_section_only_when_asked(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    facts = " ".join(f"Group walk number {n} visits the harbour path and the sleep garden."
                     for n in range(60))
    (corpus / "walks.md").write_text(f"# Walks\n\n## Where do the walks go?\n\n{facts}\n")
    build_index([corpus], tmp_path / "index", embedder=embedder)
    long_section = Searcher(open_index(tmp_path / "index"), embedder)
    assert len(long_section.snapshot.chunks) >= 3  # the section spans several passages
    one = long_section.search("harbour path walks", 10)
    assert len(one) == 1
    every = long_section.search("harbour path walks", 10, one_per_section=False)
    assert len(every) == len(long_section.snapshot.chunks)
    assert {h.chunk.breadcrumb for h in every} == {("Walks", "Where do the walks go?")}


def test_section_filter(searcher: Searcher) -> None:
    hits = searcher.search("phone", 10, filters=Filters(sections=("referred", "next")))
    assert hits and all(h.chunk.breadcrumb[-1] in ("How do I get referred?", "What to do next")
                        for h in hits)


def test_the_vocabulary_reaches_the_content(searcher: Searcher, tmp_path: Path) -> None:
    # "talk therapy" appears nowhere; the vocabulary adds "counselling", which does.
    hits = searcher.search("any talk therapy for me", 1, mode="lexical")
    assert hits[0].chunk.doc_id == "carers-latin1.txt"
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    plain = Searcher(searcher.snapshot, searcher.embedder,
                     RetrievalSettings(vocabulary=empty))
    assert plain.search("any talk therapy for me", 1, mode="lexical")[0].chunk.doc_id != \
        "carers-latin1.txt"


def test_settings_reject_nonsense() -> None:
    from search.errors import ConfigError

    with pytest.raises(ConfigError, match="max_sentences"):
        AnswerSettings(max_sentences=9)
    with pytest.raises(ConfigError, match="mode"):
        Settings().with_changes(retrieval=RetrievalSettings(mode="magic"))  # type: ignore[arg-type]


def test_a_chosen_treatment_gives_a_generic_question_its_subject(answerer: Answerer) -> None:
    only_walking = Filters(doc_ids=frozenset({"walking-group.txt"}))
    answer = answerer.ask("how long does it last?", filters=only_walking)
    assert answer.answered and "eight weeks" in answer.answer
    assert {c.doc_id for c in answer.citations} == {"walking-group.txt"}


def test_approved_answers_respect_the_filters(answerer: Answerer) -> None:
    only_light = Filters(doc_ids=frozenset({"light-therapy.html"}))
    answer = answerer.ask("can I bring my dog on the walks?", filters=only_light)
    assert not answer.approved
    # Naming another treatment than the one chosen answers for the one named, and says so.
    named = answerer.ask("can I bring my dog on the walking group?", filters=only_light)
    assert named.approved and named.citations[0].doc_id == "walking-group.txt"
    assert "Walking group therapy" in named.notice and "Light therapy" in named.notice


def test_a_question_naming_a_treatment_finds_that_page(searcher: Searcher) -> None:
    assert searcher.analyse("is nature therapy outdoors").treatments == {"nature-therapy.pdf"}
    assert searcher.analyse("does the walking group meet in winter").treatments == {
        "walking-group.txt"}
    hits = searcher.search("what are the side effects of light therapy", 1)
    assert hits[0].chunk.doc_id == "light-therapy.html"


def test_hits_carry_their_similarity_in_every_mode(searcher: Searcher) -> None:
    import numpy as np

    question = "light box headaches eye strain"
    vector = searcher.query_vector(searcher.analyse(question))
    dense = {h.row: h.score for h in searcher.search(question, 5, mode="dense")}
    hybrid = searcher.search(question, 5, mode="hybrid")
    # A fused score is a rank, not a similarity; the similarity is the dense score.
    assert all(h.similarity is not None and h.similarity != h.score for h in hybrid)
    for hit in hybrid:
        expected = dense.get(hit.row, float(searcher.snapshot.vectors.reconstruct(hit.row)
                                            @ np.asarray(vector).reshape(-1)))
        assert hit.similarity == pytest.approx(expected, abs=1e-5)
    assert all(h.similarity is None for h in searcher.search(question, 3, mode="lexical"))
    given = searcher.search(question, 3, mode="lexical", vector=vector)
    assert all(h.similarity is not None and -1.0 <= h.similarity <= 1.0 for h in given)


def test_a_named_page_ranked_below_others_is_still_the_one_answered(
        searcher: Searcher) -> None:
    answerer = Answerer(searcher, AnswerSettings(passages=3))
    question = "walking group: light box headaches eye strain side effects"
    query = searcher.analyse(question)
    assert query.treatments == {"walking-group.txt"}
    ranked = searcher.search(query, 3, mode="dense")
    assert "walking-group.txt" not in {h.chunk.doc_id for h in ranked}  # others rank first
    answer = answerer.ask(question, mode="dense")
    assert answer.passages[0].chunk.doc_id == "walking-group.txt"
    assert [h.rank for h in answer.passages] == [1, 2, 3]
    assert {c.doc_id for c in answer.citations} <= {"walking-group.txt"}


def test_a_treatment_we_have_no_page_on_is_refused_by_name(answerer: Answerer) -> None:
    answer = answerer.ask("do you offer hypnotherapy")
    assert not answer.answered and not answer.citations
    assert answer.reason.startswith("We have no page on hypnotherapy")
    assert answer.passages  # the nearest passages are still listed
    assert answerer.ask("what are the side effects of light therapy").answered


def test_approved_wording_about_a_treatment_we_lack_wins_over_the_refusal(
        searcher: Searcher, tmp_path: Path) -> None:
    approved = tmp_path / "approved.toml"
    approved.write_text(
        '[[answer]]\nquestions = ["Do you offer hypnotherapy?"]\n'
        'answer = "We do not offer hypnotherapy; ask your GP about other options."\n'
        'source = "walking-group.txt#what-to-do-next"\n')
    answer = Answerer(searcher, AnswerSettings(approved_answers=approved)).ask(
        "do you offer hypnotherapy")
    assert answer.approved and answer.answer.startswith("We do not offer hypnotherapy")

"""The Streamlit app's pages, driven by AppTest over a real index of the test pages
(``app_index`` in conftest: tests/data/good, a hostile HTML page and three shipped pages
carrying the planted inconsistencies), built once per session."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from app_pages import state
from app_pages.display import escape
from search import Settings, build_index, read_manifest
from search.feedback import FeedbackStore
from search.serving import forget_served_indexes
from tests.conftest import DATA, ROOT

pytestmark = pytest.mark.model

APP = ROOT / "app.py"
TIMEOUT = 120
@pytest.fixture(autouse=True)
def app_environment(app_index: Path, tmp_path: Path,
                    monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point the app at the test index and a fresh feedback database; start from cold
    caches (the served index and Streamlit's caches outlive an AppTest in one process)."""
    monkeypatch.setenv("SEARCH_INDEX", str(app_index))
    monkeypatch.setenv("SEARCH_FEEDBACK_DB", str(tmp_path / "feedback.db"))
    monkeypatch.delenv("SEARCH_CORPUS", raising=False)
    monkeypatch.delenv("SEARCH_FEEDBACK", raising=False)
    forget_served_indexes()
    st.cache_resource.clear()
    st.cache_data.clear()
    yield tmp_path / "feedback.db"
    forget_served_indexes()


def open_app(page: str | None = None, **query: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    for name, value in query.items():
        at.query_params[name] = value
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def leaves(node: Any) -> Iterator[Any]:
    """The page's elements in display order (blocks opened)."""
    children = getattr(node, "children", None)
    if isinstance(children, dict) and children:
        for key in sorted(children):
            yield from leaves(children[key])
    elif children is None or isinstance(children, dict):
        yield node


def markdown_bodies(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown] + [c.value for c in at.caption]


def test_question_in_link_is_answered_with_cited_passages() -> None:
    at = open_app(q="how long does the walking group last")
    read_out, copy = at.code  # the "Read out" tab, then "With citations"
    assert read_out.value.startswith("Groups meet once a week for eight weeks.")
    assert "[1]" not in read_out.value and "walking-group.txt" not in read_out.value
    assert read_out.value.endswith("From our pages: Walking group therapy › How long does it last?")
    assert "eight weeks" in copy.value and "[1]" in copy.value
    assert "Sources:\n[1] Walking group therapy › How long does it last? — walking-group.txt" \
        in copy.value
    bodies = markdown_bodies(at)
    assert any("eight weeks" in b and "[&#91;1&#93;](#source-1)" in b for b in bodies)  # [1]
    assert any('<span id="source-1"></span>' in b for b in bodies)  # the card it opens
    assert any("<mark>Groups meet once a week for eight weeks&#46;</mark>" in b for b in bodies)
    links = [p for p in at.get("page_link") if "doc=walking-group.txt" in p.proto.query_string]
    assert links and "section=how-long-does-it-last" in links[0].proto.query_string
    assert at.text_input(key="question").value == "how long does the walking group last"
    assert "q" not in at.query_params  # callers' words do not stay in the address bar
    assert not at.error and not at.warning
    assert next(leaves(at.main)).type != "error"


def test_not_covered_is_said_plainly_with_nearest_passages(app_environment: Path) -> None:
    at = open_app(q="where can I park my bicycle overnight")
    assert at.warning[0].value.startswith("**Not covered by our content.**")
    assert [s.value for s in at.main.subheader] == ["Nearest passages (not an answer)"]
    assert not at.code  # nothing to copy out as if it were an answer
    (logged,) = FeedbackStore(app_environment).records()
    assert (logged.verdict, logged.question) == ("not_covered",
                                                 "where can I park my bicycle overnight")


def test_crisis_banner_comes_before_everything_else() -> None:
    at = open_app(q="I want to kill myself tonight")
    first = next(leaves(at.main))
    assert first.type == "error", first
    assert at.error[0].value.startswith("#### Crisis: act on this first")
    assert "999" in at.error[0].value and "116 123" in at.error[0].value


def test_feedback_is_stored_masked_with_the_answer_and_generation(
        app_index: Path, app_environment: Path) -> None:
    question = "how long does the walking group last? I'm on 07700 900123, NHS 943 476 5919"
    at = open_app(q=question)
    shown = at.code[1].value.split("\n\nSources:")[0]
    at.radio[0].set_value("wrong_passage")
    at.selectbox[-1].select_index(0)
    at.text_input[-1].input("ring me back: 020 7946 0000 or jo@example.org")
    at.get("button")[-1].click()  # the form's submit button
    at.run()
    assert not at.exception
    assert any("feedback was saved" in s.value for s in at.success)
    rows = sqlite3.connect(app_environment).execute(
        "SELECT verdict, question, answer, comment, passage, index_generation FROM feedback"
    ).fetchall()
    assert rows == [(
        "wrong_passage",
        "how long does the walking group last? I'm on [phone number], NHS [NHS number]",
        shown, "ring me back: [phone number] or [e-mail]",
        "walking-group.txt#how-long-does-it-last-1", read_manifest(app_index).generation,
    )]


def test_sidebar_filters_restrict_the_answer_and_survive_a_page_visit() -> None:
    def sources(at: AppTest) -> set[str]:
        return {line.rpartition("— ")[2] for line in at.code[1].value.splitlines()
                if line.startswith("[")}

    question = "what happens in a therapy session"
    at = open_app(q=question)
    assert sources(at)
    at.sidebar.multiselect(key="filter_docs").set_value(["schema-therapy.md"]).run()
    assert sources(at) == {"schema-therapy.md"}
    at.sidebar.multiselect(key="filter_docs").set_value(["walking-group.txt"]).run()
    at.sidebar.multiselect(key="filter_sections").set_value(["Side effects and risks"]).run()
    assert any(w.value.startswith("**Not covered by our content.**")  # no such section
               for w in at.warning)
    assert any("Only Walking group therapy" in w.value for w in at.warning)  # said loudly
    at.switch_page("app_pages/treatments.py").run()
    at.switch_page("app_pages/ask.py").run()
    assert at.text_input(key="question").value == question
    assert at.sidebar.multiselect(key="filter_docs").value == ["walking-group.txt"]
    assert at.sidebar.multiselect(key="filter_sections").value == ["Side effects and risks"]


def test_document_text_is_escaped_never_rendered_raw() -> None:
    for at in (open_app(q="what is hostile therapy"),
               open_app("app_pages/treatments.py", doc="hostile-page.html")):
        bodies = markdown_bodies(at) + [e.label for e in at.expander]
        assert any("&lt;script&gt;" in b for b in bodies)
        assert any("&lt;img src" in b for b in bodies)
        for body in bodies:
            assert "<script" not in body and "<img" not in body and "<b>" not in body
            assert "![leak]" not in body and "**stars**" not in body


def test_treatments_lists_documents_and_opens_one_at_a_section(app_index: Path) -> None:
    at = open_app("app_pages/treatments.py")
    labels = [p.proto.label for p in at.get("page_link")]
    assert "Walking group therapy" in labels and "Schema therapy" in labels
    assert any("10 of 10 pages" in c.value for c in at.caption), [c.value for c in at.caption]
    found = open_app("app_pages/treatments.py")
    found.text_input(key="treatment_filter").input("dementia").run()
    labels = [p.proto.label for p in found.get("page_link")]
    assert labels[0] == "Memory assessment", labels  # first of the pages about it
    assert any("Pages about" in h.value for h in found.subheader)

    at = open_app("app_pages/treatments.py", doc="walking-group.txt",
                  section="how-long-does-it-last")
    assert at.title[0].value == "Walking group therapy"
    assert any(escape("walking-group.txt") in c.value and "last ingested" in c.value
               for c in at.caption)
    expanded = {e.label: e.proto.expanded for e in at.expander}
    assert expanded["How long does it last?"] is True
    assert expanded["Who can it help?"] is False
    opened = next(e for e in at.expander if e.label == "How long does it last?")
    assert any("eight weeks" in m.value for m in opened.markdown)


def test_coverage_shows_the_matrix_gaps_and_disagreements(app_environment: Path) -> None:
    store = FeedbackStore(app_environment)
    store.log_not_covered("How much does parking cost?", "Not covered by our content.", "g")
    store.log_not_covered("how much does parking cost", "Not covered by our content.", "g")
    at = open_app("app_pages/coverage.py")
    matrix = at.dataframe[0].value
    assert matrix.shape == (10, 8)
    assert list(matrix.columns)[:2] == ["What is it", "How it works"]
    assert "Walking group therapy" in matrix.index
    gaps = at.dataframe[1].value
    assert gaps.iloc[0]["times"] == 2 and gaps.iloc[0]["not covered"] == 2
    bodies = markdown_bodies(at)
    assert any("Phone number: central referrals line" in b for b in bodies)
    assert any("Waiting time: first appointments offered" in b for b in bodies)
    checks = [p.proto.label for p in at.get("page_link")]
    assert any("Schema therapy" in c and "0808 157 0240" in c for c in checks)
    assert any("Cognitive analytic therapy" in c and "6 weeks" in c for c in checks)
    downloads = [b.proto.label for b in at.get("download_button")]
    assert downloads == ["Download the matrix (CSV)", "Download the gap list (CSV)",
                         "Download the disagreements (CSV)"]


def select_cell(page: str, column: str) -> AppTest:
    """The coverage page with one cell of a page's row selected, as a click selects it."""
    at = open_app("app_pages/coverage.py")
    row = list(at.dataframe[0].value.index).index(page)
    at.session_state["matrix"] = {"selection": {"cells": [[row, column]]}}
    at.run()
    assert not at.exception
    return at


def test_coverage_cell_opens_its_passage() -> None:
    at = select_cell("Walking group therapy", "How long")
    bodies = markdown_bodies(at)
    assert any("Asked: How long does Walking group therapy take?" in b for b in bodies)
    assert any("<mark>" in b and "eight weeks" in b for b in bodies)


def test_a_cell_not_covered_opens_the_page_where_its_section_would_go() -> None:
    at = select_cell("Walking group therapy", "Cost")
    bodies = markdown_bodies(at)
    assert any("not covered" in b for b in bodies)
    links = [p for p in at.get("page_link") if "doc=walking-group.txt" in p.proto.query_string]
    # no price and no section for one: it would go after the column before, "How long"
    assert [p.proto.label for p in links] == [
        "Open the page where it would go: after “How long does it last?”"]
    assert "section=how-long-does-it-last" in links[0].proto.query_string


def test_index_page_shows_status(app_index: Path) -> None:
    at = open_app("app_pages/index_status.py")
    metrics = {m.label: m.value for m in at.metric}
    manifest = read_manifest(app_index)
    assert metrics["Documents"] == "10"
    assert metrics["Chunks"] == str(manifest.chunk_count)
    assert metrics["Schema version"] == str(manifest.schema_version)
    status = "\n".join(markdown_bodies(at))
    assert "all&#45;MiniLM&#45;L6&#45;v2" in status and manifest.generation.replace(
        "-", "&#45;") in status
    assert at.button[0].label == "Re-ingest the corpus"


def test_reingest_publishes_a_new_generation_and_the_app_switches(
        tmp_path: Path, embedder: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = tmp_path / "pages"
    corpus.mkdir()
    shutil.copy(DATA / "good" / "walking-group.txt", corpus)
    index = tmp_path / "index"
    build_index([corpus], index, Settings(), embedder=embedder)
    before = read_manifest(index).generation
    monkeypatch.setenv("SEARCH_INDEX", str(index))
    at = open_app("app_pages/index_status.py")
    assert escape(str(corpus.resolve())) in "\n".join(markdown_bodies(at))  # from the index
    shutil.copy(DATA / "good" / "sleep-therapy.md", corpus)
    at.button[0].click()
    at.run()
    assert not at.exception
    after = read_manifest(index).generation
    assert after != before
    assert any(after in s.value for s in at.success)
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Added"], metrics["Documents"]) == ("1", "2")  # status of the new one
    at.switch_page("app_pages/treatments.py").run()
    assert "Sleep therapy" in [p.proto.label for p in at.get("page_link")]


def test_sign_in_can_be_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEARCH_REQUIRE_LOGIN", "1")
    unconfigured = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    unconfigured.run()
    assert "no identity provider is configured" in unconfigured.error[0].value
    assert not unconfigured.text_input  # nothing of the app behind it

    def signed(user: dict[str, Any]) -> AppTest:
        return signed_in(user, q="how long does the walking group last")

    outside = signed({"is_logged_in": False})
    assert [b.label for b in outside.button] == ["Sign in"]
    assert not outside.code and not outside.text_input
    inside = signed({"is_logged_in": True, "email": "staff@harbourside.example"})
    assert "eight weeks" in inside.code[0].value
    assert "Sign out" in [b.label for b in inside.sidebar.button]


def signed_in(user: dict[str, Any], page: str | None = None, **query: str) -> AppTest:
    """The app with sign-in on and ``user`` as the (simulated) provider reports them
    (signed in unless ``user`` says ``is_logged_in: False``)."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback",
                          "cookie_secret": "test", "client_id": "x", "client_secret": "y",
                          "server_metadata_url": "https://id.example/.well-known"}
    at.user = {"is_logged_in": True, **user}
    for name, value in query.items():
        at.query_params[name] = value
    at.run()
    if page:
        at.switch_page(page).run()
    return at


def test_with_sign_in_only_the_content_team_reaches_coverage_and_index(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SEARCH_REQUIRE_LOGIN", "1")
    roles = tmp_path / "roles.toml"
    roles.write_text('content_team = ["lead@harbourside.example"]\n'
                     'content_team_groups = ["search-content"]\n', encoding="utf-8")
    monkeypatch.setenv("SEARCH_ROLES", str(roles))
    titles = {"app_pages/coverage.py": "Coverage", "app_pages/index_status.py": "Index"}
    staff = signed_in({"email": "desk@harbourside.example"})
    assert not staff.exception
    assert "(staff)" in " ".join(c.value for c in staff.sidebar.caption)
    for page in titles:
        # For staff the pages are not hidden links: they are not registered at all.
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            staff.switch_page(page)
    for page, title in titles.items():
        for lead in ({"email": "lead@harbourside.example"},
                     {"email": "other@harbourside.example", "groups": ["search-content"]}):
            content = signed_in(lead, page)
            assert not content.exception, [e.value for e in content.exception]
            assert title in [t.value for t in content.title]
            assert "(content team)" in " ".join(c.value for c in content.sidebar.caption)


def test_a_broken_roles_file_keeps_the_content_pages_closed_and_says_why(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SEARCH_REQUIRE_LOGIN", "1")
    roles = tmp_path / "roles.toml"
    roles.write_text("content_team = [", encoding="utf-8")
    monkeypatch.setenv("SEARCH_ROLES", str(roles))
    at = signed_in({"email": "lead@harbourside.example"})
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("app_pages/coverage.py")
    assert any("cannot be read" in w.value for w in at.sidebar.warning)


def test_a_client_clearing_the_cache_does_not_unload_the_index() -> None:
    """Streamlit's "clear cache" message (any client can send it) clears st.cache_data
    and st.cache_resource for every session: the model and index are not in them."""
    at = open_app(q="how long does the walking group last")
    served = state.served()  # the app's own, for its index and settings
    assert served.opened == 1
    st.cache_data.clear()
    st.cache_resource.clear()  # what AppSession._handle_clear_cache_request does
    again = open_app(q="how long does the walking group last")
    assert served.opened == 1
    assert again.code[0].value == at.code[0].value


def test_crafted_links_never_reach_files_outside_the_index() -> None:
    for crafted in ("../../../../etc/passwd", "/etc/passwd", "..%2f..%2fetc%2fpasswd"):
        at = open_app("app_pages/treatments.py", doc=crafted)
        shown = " ".join(markdown_bodies(at) + [w.value for w in at.warning])
        assert "root:" not in shown
        assert any("not in the index" in w.value for w in at.warning)


def test_a_word_page_answers_with_a_highlighted_citation_and_opens_at_it(
        shipped_index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEARCH_INDEX", str(shipped_index))
    forget_served_indexes()
    at = open_app(q="how often does the hearing voices group meet")
    assert "every other Thursday" in at.code[0].value
    links = [p for p in at.get("page_link")
             if p.proto.page.endswith("treatments") or "treatments" in p.proto.page]
    params = [dict(part.split("=", 1) for part in p.proto.query_string.split("&"))
              for p in links if "hearing-voices-group.docx" in p.proto.query_string]
    assert params, [p.proto.query_string for p in links]
    opened = open_app("app_pages/treatments.py", **params[0])
    assert opened.title[0].value == "Hearing voices group"
    marked = [m.value for m in opened.markdown if "<mark>" in m.value]
    assert marked and "every other Thursday" in marked[0].split("<mark>")[1].split("</mark>")[0]


def test_the_read_out_copy_holds_the_number_the_warning_and_no_file_name() -> None:
    at = open_app(q="number to get referred for schema therapy")
    read_out, cited = at.code
    assert "0808 157 0240" in read_out.value  # the page's (outdated) number, quoted
    assert ("Check before reading out: this answer gives 0808 157 0240 for the central "
            "referrals line. Most pages give 0808 157 0420.") in read_out.value
    assert ".md" not in read_out.value and "[1]" not in read_out.value
    assert "schema-therapy.md" in cited.value and "[1]" in cited.value


def test_one_card_per_passage_with_each_quoted_sentence_marked() -> None:
    at = open_app(q="how long does the walking group last")
    bodies = [b for b in markdown_bodies(at) if "<mark>" in b]
    answer_sentences = [s for s in at.code[0].value.split("\n\n")[0].split(". ") if s]
    assert len(bodies) == 1  # two sentences quoted from one passage: one card
    assert bodies[0].count("<mark>") == len(answer_sentences) >= 2


def test_a_question_in_another_language_is_told_we_answer_in_english() -> None:
    at = open_app(q="¿cuánto dura la terapia cognitivo conductual?")
    assert any("We answer in English" in w.value and "es" in w.value for w in at.warning)
    crisis = open_app(q="quiero suicidarme esta noche")
    assert "Crisis: act on this first" in crisis.error[0].value  # the banner comes first
    assert any("We answer in English" in w.value for w in crisis.warning)


def test_coverage_is_worked_out_in_the_background_once_a_generation_is_served() -> None:
    import time as clock

    open_app(q="how long does the walking group last")  # no one opens Coverage
    served, answerer = state.served(), state.served().answerer()
    key = ("coverage", state.settings().coverage.questions)
    deadline = clock.monotonic() + 60
    while not served.ready(answerer, key):
        assert clock.monotonic() < deadline, "coverage was never prepared"
        clock.sleep(0.2)
    at = open_app("app_pages/coverage.py")
    assert at.dataframe[0].value.shape == (10, 8)
    assert not at.get("progress")  # nothing left to work out when the page opens


def test_the_session_keeps_its_questions_and_one_click_asks_again() -> None:
    at = open_app(q="how long does the walking group last")
    at.text_input(key="question").input("what is sleep therapy").run()
    buttons = [b for b in at.sidebar.button if b.key and b.key.startswith("history_")]
    assert [b.label for b in buttons] == ["how long does the walking group last"]
    buttons[0].click().run()
    assert at.text_input(key="question").value == "how long does the walking group last"
    assert "eight weeks" in at.code[0].value


def test_a_chosen_treatment_is_said_loudly_and_one_click_searches_all() -> None:
    at = open_app()
    at.sidebar.multiselect(key="filter_docs").set_value(["schema-therapy.md"]).run()
    at.text_input(key="question").input("what happens in a session").run()
    assert any("Only Schema therapy" in w.value for w in at.warning)
    assert "schema-therapy.md" in at.code[1].value
    next(b for b in at.button if b.label == "Search all treatments").click().run()
    assert not at.sidebar.multiselect(key="filter_docs").value
    assert not any("Only" in w.value for w in at.warning)


def test_a_pdf_citation_opens_at_its_page_with_the_quote_marked(app_index: Path) -> None:
    from search import open_index

    document = open_index(app_index).documents["nature-therapy.pdf"].document
    section = next(s for s in document.sections if s.heading == "How do I get referred?")
    start = section.start
    end = document.text.index(".", start) + 1
    at = open_app("app_pages/treatments.py", doc="nature-therapy.pdf",
                  section=section.slug, hl=f"{start}-{end}")
    assert any(f"page {document.page_at(start)} of the PDF" in c.value for c in at.caption)
    assert document.page_at(start) == 2
    assert any("<mark>" in b for b in markdown_bodies(at))


def test_difference_between_two_treatments_is_shown_side_by_side() -> None:
    at = open_app(q="difference between CBT and CAT")
    assert any("Side by side" in c.value for c in at.caption)
    titles = [m.value for m in at.markdown if m.value.startswith("**Cognitive")]
    assert titles == ["**Cognitive analytic therapy &#40;CAT&#41;**",
                      "**Cognitive behavioural therapy &#40;CBT&#41;**"]
    assert not any("Not covered" in w.value for w in at.warning)


def test_the_content_team_marks_a_gap_and_it_leaves_the_list(app_environment: Path) -> None:
    store = FeedbackStore(app_environment)
    store.log_not_covered("do you do hypnotherapy", "Not covered by our content.", "g")
    store.log_not_covered("is hypnotherapy available", "Not covered by our content.", "g")
    store.log_not_covered("is there parking", "Not covered by our content.", "g")
    at = open_app("app_pages/coverage.py")
    gaps = at.dataframe[1].value
    assert len(gaps) == 2  # the two hypnotherapy wordings mean the same: one gap
    assert gaps.iloc[0]["times"] == 2 and "hypnotherapy" in gaps.iloc[0]["question"]
    at.selectbox(key="gap_to_mark").set_value("is there parking")
    at.radio(key="gap_status").set_value("won't fix")
    next(b for b in at.button if b.label == "Save").click().run()
    assert not at.exception
    assert list(at.dataframe[1].value["question"]) == [gaps.iloc[0]["question"]]
    at.toggle(key="gaps_closed").set_value(True).run()
    shown = at.dataframe[1].value
    assert dict(zip(shown["question"], shown["status"], strict=True))["is there parking"] \
        == "won't fix"

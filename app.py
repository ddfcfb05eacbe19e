"""Streamlit front end: ``streamlit run app.py -- --index DIR [--corpus DIR]``.

Thin on purpose: page setup and navigation. The pages live in ``app_pages/``; what they
share (settings, the cached model and index) in ``app_pages/state.py``.
"""

from __future__ import annotations

import streamlit as st

from app_pages import state
from app_pages.display import ASK, COVERAGE, INDEX, TREATMENTS, escape
from app_pages.roles import CONTENT_TEAM, STAFF
from search import SearchError

st.set_page_config(page_title="Treatment search", page_icon=":material/health_and_safety:",
                   layout="wide")
pages = [
    st.Page(ASK, title="Ask", icon=":material/search:", default=True),
    st.Page(TREATMENTS, title="Treatments A–Z", icon=":material/menu_book:",
            url_path="treatments"),
]
content_pages = [
    st.Page(COVERAGE, title="Coverage", icon=":material/fact_check:", url_path="coverage"),
    st.Page(INDEX, title="Index", icon=":material/database:", url_path="index"),
]
if state.sign_in_required():
    if not state.sign_in_configured():
        st.error("This app is set to require sign-in (SEARCH_REQUIRE_LOGIN), but no identity "
                 "provider is configured: add an [auth] section to .streamlit/secrets.toml "
                 "(see the README, \"Sign-in\").", icon=":material/lock:")
        st.stop()
    if not st.user.is_logged_in:
        st.title("Treatment search")
        st.write("Sign in with your organisation account to continue.")
        st.button("Sign in", on_click=st.login, type="primary", icon=":material/login:")
        st.stop()
    try:
        role = state.role_rules().role_of(st.user.to_dict())
    except SearchError as error:  # a broken roles file: staff pages only, and say why
        st.sidebar.warning(str(error), icon=":material/warning:")
        role = STAFF
    # Coverage (callers' unanswered questions) and Index (re-ingest) are the content
    # team's: for staff they are not hidden links but pages that do not exist.
    if role == CONTENT_TEAM:
        pages += content_pages
    who = str(st.user.get("email") or st.user.get("name") or "you")
    st.sidebar.caption(f"Signed in as {escape(who)} ({role})")
    st.sidebar.button("Sign out", on_click=st.logout, icon=":material/logout:")
else:
    pages += content_pages  # sign-in off: served on localhost only (README, "Sign-in")
page = st.navigation(pages)
page.run()
st.sidebar.caption("Sample content for demonstration — not clinical advice.")

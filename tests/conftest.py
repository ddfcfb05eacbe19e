"""Shared fixtures: offline guard, test data, the tokenizer and the real bundled model."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"
ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    """The model's ONNX export (search.embedding.default_model_cache) goes to a folder of
    this test session's, made once per session, never to ~/.cache: no test depends on what
    an earlier run left there. Set before any test, so subprocesses inherit it too."""
    if not os.environ.get("SEARCH_TEST_CACHE"):  # unless a parent test run set one
        folder = tempfile.mkdtemp(prefix="search-tests-cache-")
        os.environ["XDG_CACHE_HOME"] = os.environ["SEARCH_TEST_CACHE"] = folder
        _OWN_CACHE.append(folder)


def pytest_unconfigure(config: pytest.Config) -> None:
    for folder in _OWN_CACHE:
        shutil.rmtree(folder, ignore_errors=True)


_OWN_CACHE: list[str] = []


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never reach the network: only loopback connections are allowed."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else str(address)
        if self.family in (socket.AF_INET, socket.AF_INET6) and host not in (
            "127.0.0.1", "::1", "localhost"
        ):
            raise OSError(f"tests are offline: refused a connection to {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def good_corpus(tmp_path: Path) -> Path:
    """A private copy of the good test pages, free to edit."""
    target = tmp_path / "corpus"
    shutil.copytree(DATA / "good", target)
    return target


@pytest.fixture(scope="session")
def token_counter():  # type: ignore[no-untyped-def]
    from search.embedding import load_token_counter

    return load_token_counter("all-MiniLM-L6-v2")


@pytest.fixture(scope="session")
def embedder():  # type: ignore[no-untyped-def]
    """The real bundled model, loaded once per test session."""
    from search.embedding import load_embedder, set_threads

    model = load_embedder("all-MiniLM-L6-v2")
    set_threads(1)
    return model


@pytest.fixture(scope="session")
def good_index(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:  # type: ignore[no-untyped-def]
    """A real-model index of tests/data/good, built once per session. Read-only for tests:
    a test that changes an index builds its own."""
    from search import build_index

    folder = tmp_path_factory.mktemp("good") / "index"
    assert build_index([DATA / "good"], folder, embedder=embedder).published
    return folder


#: Shipped pages carrying the planted wrong phone number and waiting time, and one right
#: one; and the memory assessment page, which the A–Z finds for "dementia".
APP_CORPUS_PAGES = ("schema-therapy.md", "cognitive-analytic-therapy.md",
                    "cognitive-behavioural-therapy.md", "memory-assessment.md")
#: A page whose text carries markup: the app must show it as text, never run it.
HOSTILE_PAGE = """<!doctype html><html><head><title>Hostile page</title>
<script>alert('head')</script></head><body><main><article><h1>Hostile page</h1>
<h2>What is hostile therapy?</h2>
<p>Hostile therapy is a test page. It mentions &lt;script&gt;alert(1)&lt;/script&gt; and
&lt;img src=x onerror=alert(2)&gt; as plain words, and a Markdown image
![leak](http://example.invalid/leak.png) with **stars** and $x$.</p>
<script>alert('real')</script>
<h2>How long does hostile therapy take?</h2>
<p>Hostile therapy takes three sessions of &lt;b&gt;bold&lt;/b&gt; talk.</p>
</article></main></body></html>
"""


@pytest.fixture(scope="session")
def app_index(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:  # type: ignore[no-untyped-def]
    """The index the app tests serve: the good test pages, the hostile page and
    APP_CORPUS_PAGES (10 documents), built once per session. Read-only for tests."""
    from search import Settings, build_index

    root = tmp_path_factory.mktemp("app")
    corpus = root / "corpus"
    shutil.copytree(DATA / "good", corpus)
    (corpus / "hostile-page.html").write_text(HOSTILE_PAGE, encoding="utf-8")
    for name in APP_CORPUS_PAGES:
        shutil.copy(ROOT / "corpus" / name, corpus / name)
    report = build_index([corpus], root / "index", Settings(), embedder=embedder)
    assert report.published and not report.failed, report
    return root / "index"


@pytest.fixture(scope="session")
def shipped_index(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:  # type: ignore[no-untyped-def]
    """The whole shipped corpus (48 pages), built once per session. Read-only for tests."""
    from search import Settings, build_index

    root = tmp_path_factory.mktemp("shipped")
    report = build_index([ROOT / "corpus"], root / "index", Settings(), embedder=embedder)
    assert report.published and not report.failed, report
    return root / "index"

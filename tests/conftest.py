"""Shared fixtures: offline guard, test data, the tokenizer and the real bundled model."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"
ROOT = Path(__file__).resolve().parent.parent


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

"""The HTTP API (``search.api``): driven in-process with httpx (FastAPI's TestClient) over
a real index of the good test pages, and once as a real uvicorn process on loopback."""

from __future__ import annotations

import json
import logging
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from search import Settings, build_index, read_manifest
from search.api import create_app
from search.api_keys import KeyFile
from search.cli import main
from search.config import ApiSettings, FeedbackSettings
from tests.conftest import DATA, ROOT

pytestmark = pytest.mark.model

QUESTION = "how long does the walking group last"


@pytest.fixture(scope="module")
def api_index(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("api")
    shutil.copytree(DATA / "good", folder / "corpus")
    build_index([folder / "corpus"], folder / "index", embedder=embedder)
    return folder / "index"


@pytest.fixture
def keys(tmp_path: Path) -> KeyFile:
    return KeyFile(tmp_path / "keys.json")


def client_for(index: Path, keys: KeyFile, tmp_path: Path, **api: Any) -> TestClient:
    settings = Settings().with_changes(
        api=ApiSettings(keys_file=keys.path, **api),
        feedback=FeedbackSettings(database=tmp_path / "feedback.db"))
    return TestClient(create_app(index, settings))


@pytest.fixture
def client(api_index: Path, keys: KeyFile, tmp_path: Path) -> Iterator[TestClient]:
    with client_for(api_index, keys, tmp_path) as client:
        yield client


@pytest.fixture
def key(keys: KeyFile) -> dict[str, str]:
    return {"Authorization": f"Bearer {keys.issue('tests')[1]}"}


def feedback_rows(tmp_path: Path) -> list[tuple[str, ...]]:
    database = tmp_path / "feedback.db"
    if not database.exists():
        return []
    return sqlite3.connect(database).execute(
        "SELECT verdict, question, comment FROM feedback").fetchall()


# --- access ---------------------------------------------------------------------------

def test_health_and_ready_need_no_key(client: TestClient, api_index: Path) -> None:
    assert client.get("/v1/health").json() == {"status": "ok"}
    ready = client.get("/v1/ready").json()
    assert ready == {"ready": True, "generation": read_manifest(api_index).generation,
                     "documents": 5}


def test_ready_says_not_ready_without_an_index_and_leaks_no_path(keys: KeyFile,
                                                                 tmp_path: Path) -> None:
    with client_for(tmp_path / "no-index", keys, tmp_path) as client:
        response = client.get("/v1/ready")
    assert response.status_code == 503
    assert response.json() == {"ready": False, "error": "IndexNotFoundError: the index "
                               "cannot be served; see the server's log"}
    assert str(tmp_path) not in response.text  # no server path to a caller without a key


def test_every_other_endpoint_needs_a_valid_key(client: TestClient, keys: KeyFile) -> None:
    _, good = keys.issue("desk")
    revoked, old = keys.issue("old")
    keys.revoke(revoked.id)
    key_id = good.split("_")[1]
    wrong_secret = f"tsk_{key_id}_{'A' * 43}"
    unknown_id = f"tsk_zzzzzzzz_{good.split('_', 2)[2]}"
    calls = [("post", "/v1/ask", {"question": QUESTION}),
             ("post", "/v1/search", {"query": QUESTION}),
             ("get", "/v1/documents", None), ("get", "/v1/documents/sleep-therapy.md", None),
             ("post", "/v1/feedback", {"question": QUESTION, "verdict": "helpful"})]
    for method, path, body in calls:
        refusals = []
        for headers in ({}, {"Authorization": f"Bearer {wrong_secret}"},
                        {"Authorization": f"Bearer {unknown_id}"},
                        {"X-API-Key": old}, {"Authorization": "Basic dXNlcjpwYXNz"},
                        {"Authorization": "Bearer "}):
            response = client.request(method, path, json=body, headers=headers)
            assert response.status_code == 401, (path, headers)
            assert response.headers["www-authenticate"] == "Bearer"
            refusals.append(response.json())
        # Nothing says which part was wrong, or whether an id exists.
        assert all(r == refusals[0] for r in refusals)
        assert client.request(method, path, json=body,
                              headers={"X-API-Key": good}).status_code in (200, 201)


def test_a_revoked_key_is_refused_by_a_running_server(client: TestClient,
                                                      keys: KeyFile) -> None:
    record, key = keys.issue("rota")
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/v1/documents", headers=headers).status_code == 200
    assert main(["keys", "revoke", record.id, "--file", str(keys.path)]) == 0
    assert client.get("/v1/documents", headers=headers).status_code == 401


def test_the_key_file_holds_no_key(keys: KeyFile) -> None:
    _, key = keys.issue("telephony")
    text = keys.path.read_text()
    assert key.split("_", 2)[2] not in text and "telephony" in text
    assert keys.path.stat().st_mode & 0o777 == 0o600


def test_each_key_is_rate_limited(api_index: Path, keys: KeyFile, tmp_path: Path) -> None:
    _, slow = keys.issue("slow", rate_per_minute=12)  # a burst of 2, then one per 5 s
    _, other = keys.issue("other")
    with client_for(api_index, keys, tmp_path) as client:
        codes = [client.get("/v1/documents", headers={"X-API-Key": slow}).status_code
                 for _ in range(3)]
        assert codes == [200, 200, 429]
        limited = client.get("/v1/documents", headers={"X-API-Key": slow})
        assert 1 <= int(limited.headers["retry-after"]) <= 5
        assert client.get("/v1/documents", headers={"X-API-Key": other}).status_code == 200


# --- the contract -----------------------------------------------------------------------

def test_ask_returns_the_cli_json_contract(client: TestClient, key: dict[str, str],
                                           api_index: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/v1/ask", json={"question": QUESTION}, headers=key)
    assert response.status_code == 200
    record = response.json()
    assert main(["ask", QUESTION, "--index", str(api_index), "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert record.pop("generation") == read_manifest(api_index).generation
    assert record == cli
    assert record["answered"] and "eight weeks" in record["answer"]
    citation = record["citations"][0]
    assert {"start", "end", "quote", "source", "section"} <= set(citation)
    assert set(record["safety"]) >= {"crisis", "categories", "guidance"}


def test_ask_filters_and_search(client: TestClient, key: dict[str, str]) -> None:
    scoped = client.post("/v1/ask", json={"question": "how does it work",
                                          "filters": {"doc_ids": ["sleep-therapy.md"]}},
                         headers=key).json()
    assert scoped["answered"], scoped["reason"]
    assert {c["doc_id"] for c in scoped["citations"]} == {"sleep-therapy.md"}
    found = client.post("/v1/search", json={"query": QUESTION, "k": 3, "mode": "lexical"},
                        headers=key).json()
    assert found["query"] == QUESTION and 1 <= len(found["results"]) <= 3
    assert found["results"][0]["doc_id"] == "walking-group.txt"


def test_documents_and_their_section_spans(client: TestClient, key: dict[str, str]) -> None:
    listed = client.get("/v1/documents", headers=key).json()["documents"]
    assert {d["doc_id"] for d in listed} == {p.name for p in (DATA / "good").iterdir()}
    document = client.get("/v1/documents/nature-therapy.pdf", headers=key).json()
    assert document["format"] == "pdf"
    for section in document["sections"]:
        assert document["text"][section["heading_start"]:].startswith(section["heading"])
    assert [s["page"] for s in document["sections"]] == [1, 1, 2]
    for crafted in ("../../etc/passwd", "%2e%2e%2fetc%2fpasswd", "nope.md"):
        response = client.get(f"/v1/documents/{crafted}", headers=key)
        assert response.status_code == 404 and "root:" not in response.text


@pytest.mark.parametrize(("body", "status"), [
    ("{not json", 422), ("[]", 422), ('{"question": null}', 422), ('{"question": 12345}', 422),
    ('{"question": ""}', 422), ('{"question": "x", "extra": 1}', 422),
    ('{"question": "x", "mode": "magic"}', 422), ('{"q": "x"}', 422),
    ('{"question": "\\u200b\\u0007"}', 422),  # only characters that carry no text
])
def test_bad_requests_are_refused_with_a_reason(client: TestClient, key: dict[str, str],
                                                body: str, status: int) -> None:
    response = client.post("/v1/ask", content=body,
                           headers={**key, "Content-Type": "application/json"})
    assert response.status_code == status
    assert response.json()["detail"]


def test_long_questions_and_bodies(api_index: Path, keys: KeyFile, tmp_path: Path,
                                   key: dict[str, str]) -> None:
    with client_for(api_index, keys, tmp_path) as client:
        story = ("My dad has had a hard year and we have all been worried. " * 300)[:19_000]
        long = client.post("/v1/ask", json={"question": story + " " + QUESTION + "?"},
                           headers=key)
        assert long.status_code == 200 and "Your message is long" in long.json()["notice"]
        over = client.post("/v1/ask", json={"question": "a" * 20_001}, headers=key)
        assert over.status_code == 413 and "20,000" in over.json()["detail"]
        huge = client.post("/v1/ask", content=b'{"question": "' + b"a" * 200_000 + b'"}',
                           headers={**key, "Content-Type": "application/json"})
        assert huge.status_code == 413 and "max_body_bytes" in huge.json()["detail"]

        def chunked() -> Iterator[bytes]:
            yield b'{"question": "'
            for _ in range(40):
                yield b"a" * 10_000
            yield b'"}'

        streamed = client.post("/v1/ask", content=chunked(),
                               headers={**key, "Content-Type": "application/json"})
        assert streamed.status_code == 413


def test_cors_is_off_unless_configured(api_index: Path, keys: KeyFile, tmp_path: Path) -> None:
    preflight = {"Origin": "https://intranet.example", "Access-Control-Request-Method": "POST"}
    with client_for(api_index, keys, tmp_path) as client:
        response = client.options("/v1/ask", headers=preflight)
        assert "access-control-allow-origin" not in response.headers
    with client_for(api_index, keys, tmp_path,
                    cors_origins=("https://intranet.example",)) as client:
        response = client.options("/v1/ask", headers=preflight)
        assert response.headers["access-control-allow-origin"] == "https://intranet.example"
        other = client.options("/v1/ask", headers={**preflight, "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_openapi_documentation_is_served(client: TestClient) -> None:
    spec = client.get("/v1/openapi.json").json()
    assert {"/v1/ask", "/v1/search", "/v1/documents", "/v1/documents/{doc_id}",
            "/v1/feedback", "/v1/health", "/v1/ready"} <= set(spec["paths"])
    assert client.get("/v1/docs").status_code == 200


# --- what is stored and logged ----------------------------------------------------------

def test_feedback_is_stored_masked_and_crisis_messages_never(
        client: TestClient, key: dict[str, str], tmp_path: Path) -> None:
    stored = client.post("/v1/feedback", headers=key, json={
        "question": "walking group length? I'm on 07700 900123", "answer": "eight weeks",
        "verdict": "wrong_passage",
        "comment": "ring me: jo@example.org; is 0808 157 0998 still right?"})
    assert stored.status_code == 201 and stored.json()["stored"]
    crisis = client.post("/v1/feedback", headers=key, json={
        "question": "I want to end my life tonight", "verdict": "not_helpful"})
    assert crisis.status_code == 200 and crisis.json() == {
        "stored": False, "reason": "crisis messages are never stored"}
    assert feedback_rows(tmp_path) == [
        ("wrong_passage", "walking group length? I'm on [phone number]",
         "ring me: [e-mail]; is 0808 157 0998 still right?")]  # our own number stays


def test_unanswered_questions_reach_the_gap_list_but_crisis_ones_do_not(
        client: TestClient, key: dict[str, str], tmp_path: Path) -> None:
    gap = client.post("/v1/ask", json={"question": "is there parking for bikes at the "
                                                   "clinic? call 07700 900123"},
                      headers=key).json()
    assert not gap["answered"]
    crisis = client.post("/v1/ask", json={"question": "I have pills saved up and I'm going "
                                                      "to take them all tonight"},
                         headers=key).json()
    assert crisis["safety"]["crisis"]
    rows = feedback_rows(tmp_path)
    assert rows == [("not_covered", "is there parking for bikes at the clinic? call "
                                    "[phone number]", "")]


def test_questions_never_reach_the_log(client: TestClient, key: dict[str, str],
                                       caplog: pytest.LogCaptureFixture) -> None:
    secret = "my neighbour Mrs Jones keeps checking the locks"
    with caplog.at_level(logging.INFO, logger="search.api"):
        client.post("/v1/ask", json={"question": secret}, headers=key)
        client.post("/v1/search", json={"query": secret}, headers=key)
    lines = [r.getMessage() for r in caplog.records if r.name == "search.api"]
    assert len(lines) == 2
    assert all("200 " in line and f"chars={len(secret)}" in line and "key=-" not in line
               for line in lines), lines
    assert not any("Jones" in line or "locks" in line for line in caplog.text.splitlines())


# --- publishing while serving -----------------------------------------------------------

def test_a_publish_during_requests_is_picked_up_and_never_half_seen(
        tmp_path: Path, keys: KeyFile, embedder) -> None:  # type: ignore[no-untyped-def]
    corpus = tmp_path / "corpus"
    shutil.copytree(DATA / "good", corpus)
    index = tmp_path / "index"
    build_index([corpus], index, embedder=embedder)
    first = read_manifest(index).generation
    _, key = keys.issue("publish", rate_per_minute=1_000_000)
    seen: list[tuple[str, str]] = []
    errors: list[str] = []
    stop = threading.Event()
    with client_for(index, keys, tmp_path) as client:
        def ask_in_a_loop() -> None:
            while not stop.is_set():
                response = client.post("/v1/ask", json={"question": QUESTION},
                                       headers={"X-API-Key": key})
                if response.status_code != 200:
                    errors.append(response.text)
                    continue
                record = response.json()
                seen.append((record["generation"], record["answer"]))

        workers = [threading.Thread(target=ask_in_a_loop) for _ in range(3)]
        for worker in workers:
            worker.start()
        time.sleep(0.5)
        (corpus / "walking-group.txt").write_text(
            (corpus / "walking-group.txt").read_text().replace("eight weeks", "twelve weeks"))
        build_index([corpus], index, embedder=embedder)
        second = read_manifest(index).generation
        time.sleep(1.0)
        stop.set()
        for worker in workers:
            worker.join()
    assert not errors
    assert {g for g, _ in seen} == {first, second}
    for generation, answer in seen:  # each answer is wholly from the generation it names
        assert ("eight weeks" in answer) == (generation == first)
        assert ("twelve weeks" in answer) == (generation == second)
    assert seen[-1][0] == second


# --- a real server ----------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_real_uvicorn_server_on_loopback(api_index: Path, keys: KeyFile,
                                           tmp_path: Path) -> None:
    _, key = keys.issue("loopback")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "search", "serve", "--index", str(api_index), "--port",
         str(port), "--keys", str(keys.path), "--feedback-db", str(tmp_path / "fb.db")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/v1/ready", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "no server"
            time.sleep(0.3)
        answer = httpx.post(f"{base}/v1/ask", json={"question": QUESTION},
                            headers={"Authorization": f"Bearer {key}"}, timeout=30)
        assert answer.status_code == 200 and "eight weeks" in answer.json()["answer"]
        assert httpx.post(f"{base}/v1/ask", json={"question": QUESTION},
                          timeout=30).status_code == 401
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert "POST /v1/ask 200" in output and "POST /v1/ask 401" in output
    assert QUESTION not in output  # the question is never logged

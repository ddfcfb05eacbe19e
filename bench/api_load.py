"""Load on the HTTP API: bounded concurrent clients on loopback, 1 and 2 workers.

    .venv/bin/python bench/api_load.py [--index index] [--requests 240]

The questions are the shipped eval questions (``eval/questions.jsonl`` and
``eval/styles.jsonl``, both splits), each asked once per run, so no run is helped by a
repeat. Measured in the same run:
- the baseline: the in-process ``Answerer.ask`` of the same questions, one at a time;
- the model time per question (``embed_query`` alone), from which the machine's limit
  follows: cores / model time is the most any server could answer per second here;
- ``python -m search serve`` with 1 and with 2 workers, at 1, 8 and 32 clients at once:
  p50 and p95 latency, throughput and errors, and the CPU time a request costs the server
  (its processes, from /proc) and the load generator (this process): both share the 2
  cores, so the client's share is capacity the server does not get.
Prints a table and writes bench/results/api_load.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import machine  # bench/machine.py

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)


def questions(limit: int) -> list[str]:
    texts = []
    for name in ("questions.jsonl", "styles.jsonl"):
        for line in (ROOT / "eval" / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(json.loads(line)["text"])
    return texts[:limit]


def in_process(index: str, texts: list[str]) -> dict[str, Any]:
    from search.answer import Answerer
    from search.config import Settings
    from search.embedding import set_threads
    from search.retrieval import open_searcher

    set_threads(1)
    settings = Settings()
    answerer = Answerer(open_searcher(index, settings), settings.answer)
    for text in texts[:10]:
        answerer.ask(text)  # warm
    embedder = answerer.searcher.embedder
    model = []
    for text in texts:
        started = time.perf_counter()
        embedder.embed_query(text)
        model.append(time.perf_counter() - started)
    asks = []
    for text in texts:
        started = time.perf_counter()
        answerer.ask(text)
        asks.append(time.perf_counter() - started)
    return {"ask_p50_ms": percentile(asks, 0.5), "ask_p95_ms": percentile(asks, 0.95),
            "ask_per_second": round(len(asks) / sum(asks), 1),
            "model_ms_mean": round(sum(model) / len(model) * 1000, 1)}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` and its children (the workers), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for one in pids:
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def load(base: str, key: str, texts: list[str], clients: int) -> dict[str, Any]:
    import httpx

    latencies: list[float] = []
    errors = 0
    queue = list(texts)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits,
                                 headers={"Authorization": f"Bearer {key}"}) as client:
        async def one_client() -> None:
            nonlocal errors
            while queue:
                text = queue.pop()
                started = time.perf_counter()
                try:
                    response = await client.post("/v1/ask", json={"question": text})
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - started)
                errors += not ok

        started = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        wall = time.perf_counter() - started
    return {"clients": clients, "requests": len(latencies), "errors": errors,
            "p50_ms": percentile(latencies, 0.5), "p95_ms": percentile(latencies, 0.95),
            "per_second": round(len(latencies) / wall, 1)}


def serve(index: str, workers: int, texts: list[str], levels: list[int]) -> list[dict[str, Any]]:
    import httpx

    from search.api_keys import KeyFile

    with tempfile.TemporaryDirectory() as tmp:
        keys = KeyFile(Path(tmp) / "keys.json")
        _, key = keys.issue("bench", rate_per_minute=10_000_000)
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "search", "serve", "--index", index, "--port", str(port),
             "--workers", str(workers), "--keys", str(keys.path), "--feedback-db",
             str(Path(tmp) / "fb.db")], cwd=ROOT, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, env={**os.environ})
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(f"{base}/v1/ready", timeout=5).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the server did not start")
                time.sleep(0.3)
            # Every worker loads its index on its first request: warm them all.
            asyncio.run(load(base, key, texts[:4 * workers], 2 * workers))
            rows = []
            for clients in levels:
                server_cpu, client_cpu = cpu_seconds(server.pid), time.process_time()
                row = asyncio.run(load(base, key, texts, clients))
                row["server_cpu_ms"] = round((cpu_seconds(server.pid) - server_cpu)
                                             / row["requests"] * 1000, 1)
                row["client_cpu_ms"] = round((time.process_time() - client_cpu)
                                             / row["requests"] * 1000, 1)
                rows.append({"workers": workers, **row})
                print(f"{workers:>8}{clients:>9}{row['p50_ms']:>10}{row['p95_ms']:>10}"
                      f"{row['per_second']:>10}{row['errors']:>8}{row['server_cpu_ms']:>12}"
                      f"{row['client_cpu_ms']:>12}", flush=True)
            return rows
        finally:
            server.terminate()
            server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", default=str(ROOT / "index"))
    parser.add_argument("--requests", type=int, default=240)
    args = parser.parse_args()
    texts = questions(args.requests)
    baseline = in_process(args.index, texts)
    cores = os.cpu_count() or 1
    limit = round(cores * 1000 / baseline["model_ms_mean"], 1)
    print(f"in-process ask, one at a time: p50 {baseline['ask_p50_ms']} ms, p95 "
          f"{baseline['ask_p95_ms']} ms, {baseline['ask_per_second']}/s; model "
          f"{baseline['model_ms_mean']} ms a question, so at most {limit}/s on {cores} cores")
    print(f"{'workers':>8}{'clients':>9}{'p50 ms':>10}{'p95 ms':>10}{'req/s':>10}{'errors':>8}"
          f"{'server CPU':>12}{'client CPU':>12}  (CPU: ms a request)")
    rows = [row for workers in (1, 2) for row in serve(args.index, workers, texts, [1, 8, 32])]
    best = max(r["per_second"] for r in rows)
    print(f"best throughput {best}/s: {best / baseline['ask_per_second']:.2f}× the in-process "
          f"ask one at a time, {best / limit:.0%} of the model-time limit")
    path = machine.write("api_load", {"questions": len(texts), "baseline": baseline,
                                      "model_limit_per_second": limit, "runs": rows})
    print(f"written to {path}")


if __name__ == "__main__":
    main()

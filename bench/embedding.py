"""Ways to run the model on 2 CPU cores: speed on real chunks, and the retrieval quality kept.

    .venv/bin/python bench/embedding.py --chunks INDEX_DIR [--sample 600]

Speed: texts per second embedding ``--sample`` chunk texts (breadcrumb + text, as ingest
embeds them) taken evenly from INDEX_DIR (e.g. the MedQuAD index ``bench/ingest.py
--keep`` leaves). The baseline is sentence-transformers' ``encode`` with 2 threads and
batch 32, measured in the same run. Quality: section MRR@10 (dense, and the hybrid
default) on the development half of eval/questions.jsonl over the shipped corpus, each
path embedding both the chunks and the questions. A path may be adopted only if it keeps
MRR@10 within 1 point of the baseline. Writes bench/results/embedding.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import layout  # bench/layout.py
import machine  # bench/machine.py: scripts run from bench/ find it first

ROOT = Path(__file__).resolve().parent.parent


@dataclasses.dataclass(frozen=True)
class Candidate:
    name: str
    make: Callable[[], Any]  # → an Embedder
    threads: int


def sample_texts(index: Path, count: int) -> list[str]:
    texts = layout.chunk_texts(index)
    step = max(1, len(texts) // count)
    return texts[::step][:count]


def paths(work: Path) -> list[Candidate]:
    from search.embedding import SentenceTransformerEmbedder, default_model_cache, resolve_model
    from search.onnx_embedding import OnnxEmbedder, find_export

    source = resolve_model("all-MiniLM-L6-v2")
    export = find_export(source, default_model_cache())
    if export is None:
        raise SystemExit("No ONNX export yet: run `make ingest` (or any ingest) once first")
    int8 = quantized(export, work / "int8")
    short = work / "max128"
    shutil.copytree(export, short)
    meta = json.loads((short / "export.json").read_text())
    (short / "export.json").write_text(json.dumps({**meta, "max_seq_tokens": 128}))

    def torch(batch: int) -> Callable[[], Any]:
        return lambda: SentenceTransformerEmbedder(source, batch)

    def onnx(folder: Path, threads: int, batch: int = 32) -> Callable[[], Any]:
        return lambda: OnnxEmbedder(source, folder, threads=threads, batch_size=batch)

    return [
        Candidate("torch, batch 32 (baseline)", torch(32), 2),
        Candidate("torch, batch 16", torch(16), 2),
        Candidate("torch, batch 8", torch(8), 2),
        Candidate("torch, batch 16, 1 thread", torch(16), 1),
        Candidate("onnx fp32, batch 32", onnx(export, 2, 32), 2),
        Candidate("onnx fp32, batch 16", onnx(export, 2, 16), 2),
        Candidate("onnx fp32, batch 8", onnx(export, 2, 8), 2),
        Candidate("onnx fp32, batch 16, unsorted", lambda: Unsorted(onnx(export, 2, 16)()), 2),
        Candidate("onnx fp32, batch 16, 1 thread", onnx(export, 1, 16), 1),
        Candidate("onnx int8 (dynamic, per-channel), batch 16", onnx(int8, 2, 16), 2),
        Candidate("onnx fp32, batch 16, truncated at 128 tokens", onnx(short, 2, 16), 2),
    ]


class Unsorted:
    """The ONNX path fed in corpus order: batches pad to their longest text."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name, self.dimension = inner.name, inner.dimension
        self.max_seq_tokens = inner.max_seq_tokens

    def embed_documents(self, texts: list[str], progress: Any = None) -> Any:
        import numpy as np

        size = self.inner.batch_size
        return np.vstack([self.inner._encode(list(texts[i:i + size]))
                          for i in range(0, len(texts), size)])

    def embed_query(self, text: str) -> Any:
        return self.inner.embed_query(text)


def quantized(export: Path, target: Path) -> Path:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target.mkdir(parents=True)
    shutil.copy(export / "export.json", target / "export.json")
    quantize_dynamic(str(export / "model.onnx"), str(target / "model.onnx"),
                     weight_type=QuantType.QInt8, per_channel=True)
    return target


def speed(embedder: Any, texts: list[str], threads: int) -> float:
    import torch

    torch.set_num_threads(threads)
    embedder.embed_documents(texts[:16])  # first call pays for lazy set-up
    started = time.perf_counter()
    embedder.embed_documents(texts)
    return len(texts) / (time.perf_counter() - started)


def quality(embedder: Any) -> dict[str, float]:
    import faiss

    from search.evaluation import evaluate, load_questions
    from search.index import open_index
    from search.retrieval import Searcher

    snapshot = open_index(ROOT / "index")
    vectors = embedder.embed_documents([c.embedding_text for c in snapshot.chunks])
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    searcher = Searcher(dataclasses.replace(snapshot, vectors=flat), embedder)
    questions = load_questions(ROOT / "eval" / "questions.jsonl", "dev")
    return {mode: evaluate(searcher, questions, mode).section_mrr for mode in ("dense", "hybrid")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=Path, required=True, metavar="INDEX_DIR")
    parser.add_argument("--sample", type=int, default=600)
    args = parser.parse_args()
    import faiss

    faiss.omp_set_num_threads(1)
    texts = sample_texts(args.chunks, args.sample)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in paths(Path(tmp)):
            embedder = path.make()
            rows.append({"path": path.name, "texts_per_second": round(speed(
                embedder, texts, path.threads), 1), **quality(embedder)})
            print(rows[-1], flush=True)
    base = rows[0]
    print(f"\n{len(texts)} MedQuAD chunk texts; MRR@10 on the shipped corpus's dev questions")
    print(f"{'path':<46}{'texts/s':>9}{'speed':>8}{'MRR dense':>11}{'MRR hybrid':>12}")
    for row in rows:
        row["speed_vs_baseline"] = round(row["texts_per_second"] / base["texts_per_second"], 2)
        row["within_1_point"] = abs(row["hybrid"] - base["hybrid"]) <= 0.01 and \
            abs(row["dense"] - base["dense"]) <= 0.01
        print(f"{row['path']:<46}{row['texts_per_second']:>9}{row['speed_vs_baseline']:>7}x"
              f"{row['dense']:>11.3f}{row['hybrid']:>12.3f}")
    print(f"wrote {machine.write('embedding', {'sample': len(texts), 'rows': rows})}")


if __name__ == "__main__":
    main()

"""The same model run by ONNX Runtime: exported once from torch, served without torch.

Importing torch and sentence-transformers costs about 10 s on this machine; ONNX Runtime
and tokenizers cost about 0.4 s. The export is made once per model with torch's exporter,
checked against sentence-transformers on probe texts (it must give the same vectors,
within ``TOLERANCE``), and kept in a cache folder; until it exists, or when a model
cannot be exported (pooling other than mean or CLS, extra dense layers), the torch path
serves. Vectors from both paths are interchangeable, so an index built by one is
searched by the other.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from search.config import DEFAULT_BATCH_SIZE
from search.errors import OnnxExportError

if TYPE_CHECKING:
    import numpy as np

    from search.models import ModelSource
    from search.torch_embedding import SentenceTransformerEmbedder

#: The largest difference allowed between an ONNX vector and the torch one (unit vectors).
TOLERANCE = 1e-4
EXPORT_FORMAT = 1
_SUPPORTED_MODULES = {"Transformer", "Pooling", "Normalize"}
_PROBES = (
    "What happens in a first session?",
    "Cognitive behavioural therapy › Side effects\nSome people feel worse before they "
    "feel better, because talking about painful memories can bring up strong feelings.",
    "x",
    " ".join(["Waiting times vary by area and by the type of therapy offered."] * 40),
)


def export_folder(source: ModelSource, cache: Path) -> Path:
    """Where the export of ``source`` lives: keyed by name and by its weights' identity."""
    folder = source.folder
    stamp = source.name
    if folder is not None:
        stamp += "".join(f"|{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}"
                         for p in sorted(folder.glob("*.safetensors")) + sorted(
                             folder.glob("*.bin")))
    key = hashlib.sha256(f"{EXPORT_FORMAT}|{stamp}".encode()).hexdigest()[:12]
    slug = "".join(c if c.isalnum() else "-" for c in Path(source.name).name)[:40]
    return cache / "onnx" / f"{slug}-{key}"


def find_export(source: ModelSource, cache: Path) -> Path | None:
    folder = export_folder(source, cache)
    ready = (folder / "export.json").is_file() and (folder / "model.onnx").is_file()
    return folder if ready else None


def export_model(source: ModelSource, cache: Path,
                 reference: SentenceTransformerEmbedder) -> Path:
    """Export ``reference``'s transformer, check it against ``reference``, publish it."""
    model = reference.model
    kinds = _module_kinds(model)
    if kinds[:2] != ["Transformer", "Pooling"]:
        raise OnnxExportError(f"'{source.name}' is not a transformer followed by pooling")
    if not set(kinds) <= _SUPPORTED_MODULES:
        raise OnnxExportError(f"'{source.name}' has modules ONNX export does not cover: "
                              f"{sorted(set(kinds) - _SUPPORTED_MODULES)}")
    pooling = _pooling_mode(model)
    target = export_folder(source, cache)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=target.parent))
    try:
        _export_transformer(model[0].auto_model, work / "model.onnx")
        meta = {"format": EXPORT_FORMAT, "model": source.name, "pooling": pooling,
                "normalize": "Normalize" in kinds,
                "dimension": reference.dimension, "max_seq_tokens": reference.max_seq_tokens}
        (work / "export.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        candidate = OnnxEmbedder(source, work, threads=1)
        _check_same_vectors(candidate, reference)
        if target.exists():  # a concurrent export won: keep theirs
            shutil.rmtree(work)
        else:
            os.replace(work, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _module_kinds(model: Any) -> list[str]:
    """``["Transformer", "Pooling", "Normalize"]`` for a plain sentence-transformers model."""
    return [type(module).__name__ for module in model]


def _pooling_mode(model: Any) -> str:
    pooling = model[1]
    mode = getattr(pooling, "pooling_mode", None)
    if mode not in ("mean", "cls"):
        raise OnnxExportError(f"pooling '{mode}' is not supported by the ONNX path")
    return str(mode)


def _export_transformer(transformer: Any, path: Path) -> None:
    import torch

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = transformer

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    example = torch.ones(2, 8, dtype=torch.long)
    axes = {name: {0: "batch", 1: "tokens"} for name in [*names, "last_hidden_state"]}
    with warnings.catch_warnings(), torch.no_grad():
        # The TorchScript exporter: one self-contained file, 2.5 s, no onnxscript needed.
        warnings.simplefilter("ignore")
        torch.onnx.export(LastHiddenState().eval(), (example, example, example * 0), str(path),
                          input_names=names, output_names=["last_hidden_state"],
                          dynamic_axes=axes, opset_version=17, dynamo=False)


def _check_same_vectors(candidate: OnnxEmbedder, reference: SentenceTransformerEmbedder) -> None:
    import numpy as np

    ours = candidate.embed_documents(list(_PROBES))
    theirs = reference.embed_documents(list(_PROBES))
    gap = float(np.abs(ours - theirs).max())
    if gap > TOLERANCE:
        raise OnnxExportError(f"the ONNX export differs from torch by {gap:.2e} "
                              f"(allowed {TOLERANCE:.0e})")


class OnnxEmbedder:
    """An exported model on ONNX Runtime: tokenizer.json → transformer → pooling."""

    def __init__(self, source: ModelSource, export: Path, threads: int = 1,
                 batch_size: int = DEFAULT_BATCH_SIZE, spinning: bool = False) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        meta = json.loads((export / "export.json").read_text(encoding="utf-8"))
        folder = source.folder
        if folder is None or not (folder / "tokenizer.json").is_file():
            raise OnnxExportError(f"'{source.name}' has no tokenizer.json for the ONNX path")
        self.name = source.name
        self.dimension = int(meta["dimension"])
        self.max_seq_tokens = int(meta["max_seq_tokens"])
        self.batch_size = batch_size
        self._pooling = meta["pooling"]
        self._normalize = bool(meta["normalize"])
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.no_padding()  # saved padded to 128: pad per batch instead
        self._tokenizer.enable_truncation(self.max_seq_tokens)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Serving: the pool's threads sleep between operators instead of spinning, which
        # kept a second core busy for a question's whole ask (CPU 16.5 ms for 8.3 ms of
        # wall time; without it 12 ms for 8.5 ms) that concurrent requests need
        # (bench/api_load.py, README). An ingest keeps both cores busy anyway, and there
        # spinning made batches of chunks 12% faster (12.8 s against 14.5 s, README).
        options.add_session_config_entry("session.intra_op.allow_spinning",
                                         "1" if spinning else "0")
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(
            str(export / "model.onnx"), options, providers=["CPUExecutionProvider"])

    def embed_documents(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        return self.embed_with_spans(texts, [()] * len(texts), progress)[0]

    def embed_with_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]],
        progress: Callable[[int], None] | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Each text's vector, and for each of its character ``spans`` the mean of the
        token states it covers (``search.models.pool_spans``), from the same pass."""
        import numpy as np

        from search.models import pool_spans

        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        pooled: list[np.ndarray] = [np.zeros((0, self.dimension), np.float32)] * len(texts)
        # Longest first, so each batch pads to texts of about its own length.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            rows = order[start:start + self.batch_size]
            hidden, encodings, vectors[rows] = self._forward([texts[i] for i in rows])
            for at, row in enumerate(rows):
                if spans[row]:
                    pooled[row] = pool_spans(hidden[at], encodings[at].offsets, spans[row])
            if progress is not None:
                progress(len(rows))
        return vectors, pooled

    @property
    def pools_spans(self) -> bool:
        """Span vectors compare with query vectors only for a mean-pooled, normalised model."""
        return self._pooling == "mean" and self._normalize

    def embed_query(self, text: str) -> np.ndarray:
        return self._forward([text])[2][0]

    def _forward(self, texts: list[str]) -> tuple[np.ndarray, list[Any], np.ndarray]:
        """(token states, encodings, pooled text vectors) of one batch."""
        import numpy as np

        encodings = self._tokenizer.encode_batch(texts)
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, encoding in enumerate(encodings):
            ids[row, :len(encoding.ids)] = encoding.ids
            mask[row, :len(encoding.ids)] = 1
        (hidden,) = self._session.run(None, {"input_ids": ids, "attention_mask": mask,
                                             "token_type_ids": np.zeros_like(ids)})
        if self._pooling == "cls":
            pooled = hidden[:, 0]
        else:
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        if self._normalize:
            pooled = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return hidden, encodings, np.ascontiguousarray(pooled, dtype=np.float32)

"""The model seam: the ONNX path gives torch's vectors, serves without torch, and says
what went wrong when it cannot be used."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from search.config import Settings
from search.errors import ConfigError, OnnxExportError

TEXTS = ["How do I get referred for CBT?",
         "Schema therapy › How do I get referred?\nAsk your GP to refer you.",
         "word " * 400]  # past the 256-piece limit: both paths must truncate alike


def test_unknown_backend_is_refused_with_the_choices() -> None:
    with pytest.raises(ConfigError, match="backend must be one of auto, onnx, torch"):
        Settings(backend="tensorrt")


def test_onnx_backend_without_an_export_says_how_to_make_one(tmp_path: Path) -> None:
    from search.embedding import load_embedder

    with pytest.raises(OnnxExportError, match="run an ingest with the default backend"):
        load_embedder("all-MiniLM-L6-v2", backend="onnx", cache=tmp_path)


@pytest.mark.model
def test_onnx_and_torch_give_the_same_vectors(embedder) -> None:  # type: ignore[no-untyped-def]
    from search.embedding import load_embedder
    from search.onnx_embedding import OnnxEmbedder

    torch_path = load_embedder("all-MiniLM-L6-v2", backend="torch")
    assert isinstance(embedder, OnnxEmbedder)  # the default once exported
    ours, theirs = embedder.embed_documents(TEXTS), torch_path.embed_documents(TEXTS)
    assert ours.shape == theirs.shape == (3, 384)
    assert np.abs(ours - theirs).max() < 1e-4
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    # Batches are sorted by length: the order of the answer must still be the input's.
    assert np.abs(embedder.embed_documents(TEXTS[::-1]) - ours[::-1]).max() < 1e-5
    assert np.abs(embedder.embed_query(TEXTS[0]) - theirs[0]).max() < 1e-4


@pytest.mark.model
def test_onnx_and_torch_pool_the_same_sentence_vectors(embedder) -> None:  # type: ignore[no-untyped-def]
    from search.embedding import SpanEmbedder, load_embedder

    torch_path = load_embedder("all-MiniLM-L6-v2", backend="torch")
    text = ("CBT › How long?\nCBT usually takes 6 to 12 weekly sessions. Your GP can refer "
            "you, or you can ring the central referral line yourself.")
    first, second = text.index("CBT usually"), text.index("Your GP")
    spans = [[(first, second - 1), (second, len(text))], []]
    results = [model.embed_with_spans([text, "no spans here"], spans)
               for model in (embedder, torch_path)]
    assert all(isinstance(m, SpanEmbedder) and m.pools_spans for m in (embedder, torch_path))
    (ours, our_spans), (theirs, their_spans) = results
    assert np.abs(ours - theirs).max() < 1e-4 and our_spans[1].shape == (0, 384)
    assert np.abs(our_spans[0] - their_spans[0]).max() < 1e-4
    assert np.allclose(np.linalg.norm(our_spans[0], axis=1), 1.0, atol=1e-5)
    # a sentence's pooled vector is its own, not its neighbour's
    alone = embedder.embed_documents([text[first:second - 1], text[second:]])
    assert ((our_spans[0] @ alone.T).argmax(axis=1) == [0, 1]).all()


@pytest.mark.model
def test_serving_with_the_export_never_imports_torch(app_index: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    script = f"""
import sys, json
from search import open_searcher
from search.answer import Answerer
answer = Answerer(open_searcher({str(app_index)!r})).ask("how do I get referred?")
heavy = sorted(m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules)
print(json.dumps({{"answered": answer.answered, "heavy": heavy}}))
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, check=True)
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result == {"answered": True, "heavy": []}

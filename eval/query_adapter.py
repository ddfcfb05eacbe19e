"""Tried and not kept (issue 14): a linear adapter on the question's vector, trained on the
counsel-chat development half and scored by 5-fold cross-validation over its questions.

    .venv/bin/python eval/query_adapter.py --index DIR/index [--diagonal] [--l2 0.1]

``DIR/index`` is the index that ``eval/counsel_chat.py`` describes. The adapter maps a
question's vector q to q + qA (A 384 × 384, or one weight per dimension with
``--diagonal``), trained so that the answers written for the question outscore the other
2,008 answers (softmax over each answer's best passage). Prints dense document MRR@10 of
the held-out folds with and without it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from counsel_chat import DATA, judgements


def main() -> None:
    import numpy as np
    import torch

    from search.config import Settings
    from search.retrieval import open_searcher

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--diagonal", action="store_true")
    parser.add_argument("--l2", type=float, default=0.1)
    parser.add_argument("--epochs", type=int, default=100)
    args = parser.parse_args()
    searcher = open_searcher(args.index, Settings())
    snapshot = searcher.snapshot
    answer = {d: Path(s.document.source).stem for d, s in snapshot.documents.items()}
    docs = sorted(set(answer.values()))
    position = {d: i for i, d in enumerate(docs)}
    chunks = torch.tensor(snapshot.vectors.reconstruct_n(0, snapshot.vectors.ntotal))
    owner = torch.tensor([position[answer[c.doc_id]] for c in snapshot.chunks])
    questions, relevant = judgements(DATA)
    qids = [q for q in questions if relevant.get(q)]
    vectors = torch.tensor(np.stack([searcher.query_vector(searcher.analyse(questions[q]))
                                     for q in qids]))
    wanted = torch.zeros(len(qids), len(docs), dtype=torch.bool)
    for i, q in enumerate(qids):
        wanted[i, [position[a] for a in relevant[q]]] = True

    def by_document(q: torch.Tensor) -> torch.Tensor:
        scores = torch.full((len(q), len(docs)), -1e9)
        return scores.scatter_reduce(1, owner.expand(len(q), -1), q @ chunks.T, reduce="amax")

    def adapted(q: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        out = q * (1 + a) if args.diagonal else q + q @ a
        return out / out.norm(dim=1, keepdim=True)

    def mrr(q: torch.Tensor, w: torch.Tensor) -> float:
        hits = w.gather(1, by_document(q).topk(10, dim=1).indices)
        ranks = [int(r.nonzero()[0, 0]) + 1 if r.any() else 0 for r in hits]
        return float(np.mean([1 / r if r else 0.0 for r in ranks]))

    order = np.random.default_rng(0).permutation(len(qids))
    plain, fitted = [], []
    for fold in np.array_split(order, 5):
        train = torch.tensor(np.setdiff1d(order, fold))
        a = torch.zeros(chunks.shape[1] if args.diagonal else (chunks.shape[1],) * 2,
                        requires_grad=True)
        step = torch.optim.Adam([a], lr=1e-2 if args.diagonal else 1e-3)
        for _ in range(args.epochs):
            scores = by_document(adapted(vectors[train], a)) / 0.05
            loss = (torch.logsumexp(scores, 1) - torch.logsumexp(
                scores.masked_fill(~wanted[train], -1e9), 1)).mean() + args.l2 * (a ** 2).sum()
            step.zero_grad()
            loss.backward()
            step.step()
        held = torch.tensor(fold)
        plain.append(mrr(vectors[held], wanted[held]) * len(fold))
        fitted.append(mrr(adapted(vectors[held], a.detach()), wanted[held]) * len(fold))
    print(f"dense document MRR@10, held-out folds: without {sum(plain) / len(qids):.4f}, "
          f"with the adapter {sum(fitted) / len(qids):.4f}")


if __name__ == "__main__":
    main()

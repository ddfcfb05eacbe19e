"""Train the crisis probe: a logistic regression over the model's sentence vectors.

    .venv/bin/python eval/train_crisis_probe.py --crisis eval/crisis_phrases.jsonl \
        eval/crisis_phrases_holdout.jsonl eval/emotional.jsonl \
        --ordinary eval/styles.jsonl eval/questions.jsonl [--split dev] [--write]

``--crisis`` files hold labelled lines (``"crisis": true/false``); ``--ordinary`` files hold
questions, a crisis only where labelled (``"crisis": "self_harm"``). Only lines of
``--split`` (or with no split) are used.
The probe's threshold is the lowest at which, in 5-fold cross-validation, patterns or probe
raise the banner on at most ``--max-alarms`` of the messages that are not a crisis; the
report gives recall and false alarms there. ``--write`` fits on everything and saves
``search/data/crisis_probe.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from search.config import AnswerSettings, Settings
from search.embedding import load_embedder
from search.logistic import fit_logistic
from search.safety import PROBE_FILE, load_crisis_check

THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.5, 0.99, 0.01))
L2 = 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--crisis", nargs="+", type=Path, default=[])
    parser.add_argument("--ordinary", nargs="+", type=Path, default=[])
    parser.add_argument("--everyday", nargs="+", type=Path, default=[],
                        help="labelled files whose lines that are not a crisis are everyday "
                        "messages: the false-alarm rate is measured on these and --ordinary")
    parser.add_argument("--split", default="dev")
    parser.add_argument("--max-alarms", type=float, default=0.015)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    texts, labels, everyday = [], [], []
    sources = ([(p, False) for p in (*args.crisis, *args.everyday)]
               + [(p, True) for p in args.ordinary])
    for path, ordinary in sources:
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line) if line.strip() else None
            if row is None or row.get("split", args.split) != args.split:
                continue
            if (row.get("lang") or row.get("language") or "en") != "en":
                continue  # the probe reads English only (search.safety); patterns the rest
            texts.append(row["text"])
            # an ordinary question may be labelled a crisis ("crisis": "self_harm")
            crisis = bool(row.get("crisis"))
            labels.append(crisis)
            everyday.append(not crisis and (ordinary or path in args.everyday))
    y = np.array(labels)
    calm = np.array(everyday)
    embedder = load_embedder(Settings().model)
    vectors = embedder.embed_documents(texts)
    settings = AnswerSettings()
    check = load_crisis_check(settings.crisis_guidance, settings.safety_file)
    patterns = np.array([check.check(t).crisis for t in texts])  # patterns alone
    scores = np.zeros(len(texts))
    order = np.random.default_rng(7).permutation(len(texts))
    for fold in range(5):
        test = order[fold::5]
        train = np.setdiff1d(order, test)
        weights, bias = fit_logistic(vectors[train], y[train], L2)
        scores[test] = 1 / (1 + np.exp(-(vectors[test] @ weights + bias)))
    print(f"{len(texts)} messages ({y.sum()} crisis), split {args.split}, cross-validated:")
    chosen = THRESHOLDS[-1]
    for threshold in THRESHOLDS:
        if _share((patterns | (scores >= threshold)) & calm, calm) <= args.max_alarms:
            chosen = threshold
            break
    for label, flagged in (("patterns only", patterns),
                           (f"patterns or probe >= {chosen}", patterns | (scores >= chosen))):
        print(f"  {label}: recall {_share(flagged & y, y):.1%}, false alarms on everyday "
              f"messages {_share(flagged & calm, calm):.1%} of {calm.sum()}, on all others "
              f"not in crisis {_share(flagged & ~y & ~calm, ~y & ~calm):.1%}")
    if args.write:
        weights, bias = fit_logistic(vectors, y, L2)
        PROBE_FILE.write_text(json.dumps({
            "model": embedder.name, "threshold": chosen, "bias": round(bias, 6),
            "weights": [round(float(w), 6) for w in weights],
            "trained_on": [str(p) for p in (*args.crisis, *args.ordinary)],
            "split": args.split,
        }))
        print(f"wrote {PROBE_FILE} (threshold {chosen})")


def _share(hits: np.ndarray, of: np.ndarray) -> float:
    return float(hits.sum() / of.sum()) if of.sum() else 0.0


if __name__ == "__main__":
    main()

"""Train the crisis check's indirect-language probe and estimate it honestly.

    .venv/bin/python eval/train_crisis_probe.py eval/crisis_phrases.jsonl \
        eval/crisis_phrases_holdout.jsonl [--write]

A logistic regression on the search model's sentence vectors, trained on the labelled
phrases, catches indirect crisis language that no pattern foresaw. Figures are from
stratified 5-fold cross-validation of the whole check (patterns OR probe): every phrase is
scored by a probe that never saw it. ``--write`` then trains on everything and saves the
weights to search/data/crisis_probe.json (plain numbers, tied to the model's name).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from search.config import AnswerSettings, Settings
from search.embedding import load_embedder
from search.safety import PROBE_FILE, load_crisis_check

THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("phrases", nargs="+", type=Path)
    parser.add_argument("--write", action="store_true", help="save the probe trained on all")
    parser.add_argument("--threshold", type=float, default=0.4)
    args = parser.parse_args()
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    rows = [{**json.loads(line), "file": path.name} for path in args.phrases
            for line in path.read_text().splitlines() if line.strip()]
    texts = [r["text"] for r in rows]
    labels = np.array([bool(r["crisis"]) for r in rows])
    embedder = load_embedder(Settings().model)
    vectors = embedder.embed_documents(texts)
    settings = AnswerSettings()
    check = load_crisis_check(settings.crisis_guidance, settings.safety_file)
    patterns = np.array([check.check(t).crisis for t in texts])  # patterns alone, no model
    scores = np.zeros(len(rows))
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=7)
    for train, test in folds.split(vectors, labels):
        probe = LogisticRegression(C=4.0, class_weight="balanced", max_iter=2000)
        probe.fit(vectors[train], labels[train])
        scores[test] = probe.predict_proba(vectors[test])[:, 1]
    files = np.array([r["file"] for r in rows])
    for name in ("all", *dict.fromkeys(files)):
        part = np.ones(len(rows), bool) if name == "all" else files == name
        print(f"{name}: {part.sum()} phrases ({labels[part].sum()} crisis), cross-validated:")
        _report("patterns only", patterns[part], labels[part])
        for threshold in THRESHOLDS:
            flagged = patterns[part] | (scores[part] >= threshold)
            _report(f"patterns or probe >= {threshold}", flagged, labels[part])
    if args.write:
        probe = LogisticRegression(C=4.0, class_weight="balanced", max_iter=2000)
        probe.fit(vectors, labels)
        PROBE_FILE.write_text(json.dumps({
            "model": embedder.name, "threshold": args.threshold,
            "bias": float(probe.intercept_[0]),
            "weights": [round(float(w), 6) for w in probe.coef_[0]],
            "trained_on": [str(p) for p in args.phrases],
        }))
        print(f"wrote {PROBE_FILE} (threshold {args.threshold})")


def _report(label: str, flagged: np.ndarray, labels: np.ndarray) -> None:
    recall = (flagged & labels).sum() / labels.sum()
    alarms = (flagged & ~labels).sum() / (~labels).sum()
    print(f"  {label:<28} recall {recall:.1%}  false alarms {alarms:.1%}")


if __name__ == "__main__":
    main()

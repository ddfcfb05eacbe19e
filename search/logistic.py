"""Logistic regression, fitted by Newton's method with an L2 penalty: small, exact and
free of any machine-learning dependency. Used to fit the answerability model and the
crisis probe; both keep their weights in readable data files."""

from __future__ import annotations

from typing import TYPE_CHECKING

from search.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0,
                 balanced: bool = True) -> tuple[np.ndarray, float]:
    """Weights and bias for rows ``x`` (n × d) and labels ``y`` (0/1); the bias is not
    penalised. ``balanced``: both classes weigh the same in all, so 0.5 means "as likely
    one as the other" whatever the classes' shares in the training rows."""
    import numpy as np

    y = np.asarray(y, dtype=float)
    positives = y.sum()
    if positives == 0 or positives == len(y):
        raise ConfigError("fitting needs examples of both classes")
    design = np.hstack([np.ones((len(x), 1)), np.asarray(x, dtype=float)])
    weight = (np.where(y == 1, len(y) / (2 * positives), len(y) / (2 * (len(y) - positives)))
              if balanced else np.ones(len(y)))
    w = np.zeros(design.shape[1])
    penalty = np.eye(design.shape[1]) * l2
    penalty[0, 0] = 0.0
    for _ in range(100):
        p = 1 / (1 + np.exp(-np.clip(design @ w, -60, 60)))
        gradient = design.T @ (weight * (p - y)) + penalty @ w
        hessian = (design.T * (weight * p * (1 - p))) @ design + penalty
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[1:], float(w[0])

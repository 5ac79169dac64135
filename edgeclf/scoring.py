"""The one place raw model outputs become probabilities, probabilities become labels, and labels are compared.

Used by the runtime (``Classifier``), the converter's parity and second-interpreter checks, and the bench, so
"agreement" means the same everywhere: the share of texts whose whole label set is identical.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

DEFAULT_THRESHOLD = 0.5  # multilabel: a label is predicted when its probability reaches this


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # 1 / (1 + e^-z) as e^-log(1 + e^-z): no overflow for any z, two ufunc calls (this runs once per prediction)
    with np.errstate(invalid="ignore"):  # NaN in (a global average over no step), NaN out, silently as before
        return np.exp(-np.logaddexp(0.0, -np.asarray(z, dtype=np.float64)))


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(np.asarray(z, dtype=np.float64) - np.max(z, axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def probabilities(raw: np.ndarray, task: str, outputs_logits: bool) -> np.ndarray:
    """Raw model outputs (n × units) → one probability per label (n × labels)."""
    if task == "binary":
        probs = np.empty((len(raw), 2), dtype=np.float64)  # cheaper than np.stack on the per-prediction path
        probs[:, 1] = _sigmoid(raw[:, 0]) if outputs_logits else raw[:, 0]
        probs[:, 0] = 1 - probs[:, 1]
        return probs
    if task == "multilabel":
        return _sigmoid(raw) if outputs_logits else raw.astype(np.float64)
    return _softmax(raw) if outputs_logits else raw.astype(np.float64)


def manifest_threshold(manifest: dict[str, Any]) -> float:
    """The multilabel threshold the bundle was converted with."""
    return manifest["output"].get("threshold", DEFAULT_THRESHOLD)


def predicted(probs: np.ndarray, task: str, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """Per text: the label index (binary, multiclass) or a boolean per label (multilabel)."""
    return probs >= threshold if task == "multilabel" else np.argmax(probs, axis=1)


def label_names(
    probs: np.ndarray, labels: Sequence[str], task: str, threshold: float = DEFAULT_THRESHOLD
) -> list[list[str]]:
    """The predicted label names of every text: one for binary/multiclass, any number for multilabel, none for a
    row with a NaN (Keras's own answer in a few token-less cases) rather than argmax's silent first label."""
    chosen = predicted(probs, task, threshold)
    finite = np.isfinite(probs).all(axis=1)  # the method: np.all costs a Python-level dispatch
    if task == "multilabel":
        rows = zip(chosen, finite, strict=True)
        return [[label for label, on in zip(labels, row, strict=True) if on and ok] for row, ok in rows]
    return [[labels[int(i)]] if ok else [] for i, ok in zip(chosen, finite, strict=True)]


def agreement(labels: np.ndarray, reference: np.ndarray) -> float:
    """Share of texts whose predicted labels (all of them, for multilabel) equal the reference's."""
    return float(np.mean(np.all((labels == reference).reshape(len(labels), -1), axis=1)))


def accuracy(labels: np.ndarray, gold: np.ndarray) -> float:
    """Share of texts whose predicted label is the gold one (binary and multiclass)."""
    return float(np.mean(labels == gold))

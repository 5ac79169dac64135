"""The one place raw model outputs become probabilities, probabilities become labels, and labels are compared.

Used by the runtime (``Classifier``), the converter's parity and second-interpreter checks, and the bench, so
"agreement" means the same everywhere: the share of texts whose whole label set is identical.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

DEFAULT_THRESHOLD = 0.5  # multilabel: a label is predicted when its probability reaches this


def _sigmoid(z: float) -> float:
    # e^z never overflows where it is computed; NaN in (a global average over no step), NaN out
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _softmax(row: Sequence[float]) -> list[float]:
    top = max(row)
    e = [math.exp(z - top) for z in row]
    total = sum(e)
    return [x / total for x in e]


# Scores are computed per row in plain Python floats: one text's scores cost about 1 µs this way, against ~30 µs
# for a dozen small numpy calls run just after an interpreter has evicted numpy from the core's caches, and the
# one-text and batched paths share this one function, so their scores are the same bits.
def row_probabilities(row: Sequence[float], task: str, outputs_logits: bool) -> list[float]:
    """One text's raw outputs → one probability per label."""
    if task == "binary":
        p = _sigmoid(row[0]) if outputs_logits else row[0]
        return [1.0 - p, p]
    if not outputs_logits:
        return list(row)
    return [_sigmoid(z) for z in row] if task == "multilabel" else _softmax(row)


def row_label_names(probs: Sequence[float], labels: Sequence[str], task: str, threshold: float) -> list[str]:
    """One text's predicted label names: one for binary/multiclass (argmax, the first on ties), any number for
    multilabel, none when a score is NaN (Keras's own answer in a few token-less cases) rather than a silent label."""
    if not all(map(math.isfinite, probs)):
        return []
    if task == "multilabel":
        return [label for label, p in zip(labels, probs, strict=True) if p >= threshold]
    return [labels[max(range(len(probs)), key=probs.__getitem__)]]


def probabilities(raw: np.ndarray, task: str, outputs_logits: bool) -> np.ndarray:
    """Raw model outputs (n × units) → one probability per label (n × labels), float64."""
    raw = np.asarray(raw, dtype=np.float64)
    probs = [row_probabilities(row, task, outputs_logits) for row in raw.tolist()]
    width = 2 if task == "binary" else raw.shape[1]
    return np.asarray(probs, dtype=np.float64).reshape(len(probs), width)


def manifest_threshold(manifest: dict[str, Any]) -> float:
    """The multilabel threshold the bundle was converted with."""
    return manifest["output"].get("threshold", DEFAULT_THRESHOLD)


def predicted(probs: np.ndarray, task: str, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """Per text: the label index (binary, multiclass) or a boolean per label (multilabel)."""
    return probs >= threshold if task == "multilabel" else np.argmax(probs, axis=1)


def agreement(labels: np.ndarray, reference: np.ndarray) -> float:
    """Share of texts whose predicted labels (all of them, for multilabel) equal the reference's."""
    return float(np.mean(np.all((labels == reference).reshape(len(labels), -1), axis=1)))


def accuracy(labels: np.ndarray, gold: np.ndarray) -> float:
    """Share of texts whose predicted label is the gold one (binary and multiclass)."""
    return float(np.mean(labels == gold))

"""Parity: the converted artifact against the Keras model it came from, on real texts, end to end.

Keras runs the whole model (its own TextVectorization included) on padded batches of 32 texts in
their given order, so short and long texts share batches and the padding mask is exercised; the
artifact runs through edgeclf's tokenizer and runtime. Compared: raw outputs, probabilities (the
scores users see), predicted labels, and accuracy where the texts carry labels.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from edgeclf.convert.datasets import LabelledTexts

from edgeclf.runtime import Classifier, probabilities

KERAS_BATCH = 32


@dataclass
class ParityReport:
    texts: int
    max_abs_diff: float  # of the probabilities
    max_abs_diff_raw: float  # of the raw outputs (logits or probabilities)
    label_agreement: float
    keras_accuracy: float | None
    artifact_accuracy: float | None
    accuracy_delta: float | None
    empty_text_abs_diff: float  # an empty text inside a padded Keras batch vs the runtime's empty-text rule
    tolerance: float
    ok: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def keras_raw_outputs(model: Any, texts: list[str]) -> np.ndarray:
    """Keras outputs for texts, in padded batches of ``KERAS_BATCH`` in the given order."""
    return np.asarray(
        model.predict(np.asarray(texts, dtype=object), batch_size=KERAS_BATCH, verbose=0), dtype=np.float64
    ).reshape(len(texts), -1)


def predicted(probs: np.ndarray, task: str, threshold: float = 0.5) -> np.ndarray:
    return probs >= threshold if task == "multilabel" else np.argmax(probs, axis=1)


def check_parity(model: Any, classifier: Classifier, data: LabelledTexts, task: str, tolerance: float) -> ParityReport:
    tokens = [len(classifier.tokenizer.token_ids(t)) for t in data.texts]
    keep = [i for i, n in enumerate(tokens) if n > 0]  # Keras cannot run a batch whose texts all have no token
    texts = [data.texts[i] for i in keep]
    keras_raw = keras_raw_outputs(model, texts)
    ours_raw = classifier.raw_outputs(texts).astype(np.float64)
    keras_p = probabilities(keras_raw, task, classifier.outputs_logits)
    ours_p = probabilities(ours_raw, task, classifier.outputs_logits)
    keras_labels, our_labels = predicted(keras_p, task), predicted(ours_p, task)
    agreement = float(np.mean(np.all((keras_labels == our_labels).reshape(len(texts), -1), axis=1)))

    keras_acc = ours_acc = delta = None
    gold = data.labels[keep]
    if task != "multilabel" and len(gold) and np.all(gold >= 0):
        keras_acc = float(np.mean(keras_labels == gold))
        ours_acc = float(np.mean(our_labels == gold))
        delta = ours_acc - keras_acc

    # An empty text padded beside the longest text: Keras' answer for "no tokens at all".
    longest = texts[int(np.argmax([tokens[i] for i in keep]))]
    keras_empty = probabilities(keras_raw_outputs(model, ["", longest])[:1], task, classifier.outputs_logits)
    empty_diff = float(np.max(np.abs(keras_empty - classifier.scores([""]))))

    max_diff = float(np.max(np.abs(keras_p - ours_p)))
    return ParityReport(
        texts=len(texts),
        max_abs_diff=max_diff,
        max_abs_diff_raw=float(np.max(np.abs(keras_raw - ours_raw))),
        label_agreement=agreement,
        keras_accuracy=keras_acc,
        artifact_accuracy=ours_acc,
        accuracy_delta=delta,
        empty_text_abs_diff=empty_diff,
        tolerance=tolerance,
        ok=max_diff <= tolerance and empty_diff <= tolerance,
    )

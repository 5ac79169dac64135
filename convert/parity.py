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
from edgeclf.tokenizer import Tokenizer

KERAS_BATCH = 32
# A quantized artifact is marked as out of tolerance below this label agreement with Keras, or when it
# loses more than this much accuracy on labelled parity texts.
QUANTIZED_MIN_AGREEMENT = 0.98
QUANTIZED_MAX_ACCURACY_DROP = 0.01


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


def keras_raw_outputs(model: Any, texts: list[str], tokenizer: Tokenizer | None = None) -> np.ndarray:
    """Keras outputs for texts, in padded batches of ``KERAS_BATCH`` in the given order.

    A model with its own TextVectorization takes the strings; otherwise ``tokenizer`` encodes them as
    the model was trained (padded to its length). A model saved with a fixed batch size gets batches of
    exactly that size (the last one filled up with copies, whose outputs are dropped).
    """
    x = np.asarray(texts, dtype=object) if tokenizer is None else tokenizer.encode_batch(texts)
    fixed_batch = model.inputs[0].shape[0]
    batch = fixed_batch or KERAS_BATCH
    if fixed_batch and len(x) % fixed_batch:
        x = np.concatenate([x, np.repeat(x[-1:], fixed_batch - len(x) % fixed_batch, axis=0)])
    out = np.asarray(model.predict(x, batch_size=batch, verbose=0), dtype=np.float64)
    return out[: len(texts)].reshape(len(texts), -1)


def predicted(probs: np.ndarray, task: str, threshold: float = 0.5) -> np.ndarray:
    return probs >= threshold if task == "multilabel" else np.argmax(probs, axis=1)


@dataclass
class KerasReference:
    """Keras's outputs on the parity texts, computed once and compared with every artifact."""

    texts: list[str]  # the texts with at least one token (Keras cannot run a batch of token-less texts)
    gold: np.ndarray
    raw: np.ndarray
    empty_text_raw: np.ndarray  # "" padded beside the longest text: Keras's answer for a text with no tokens


def keras_reference(
    model: Any, data: LabelledTexts, tokenizer: Tokenizer, model_takes_text: bool = True
) -> KerasReference:
    """Keras on the parity texts: the strings when the model tokenizes them itself, else ``tokenizer``'s ids."""
    encoder = None if model_takes_text else tokenizer
    tokens = [len(tokenizer.token_ids(t)) for t in data.texts]
    keep = [i for i, n in enumerate(tokens) if n > 0 or encoder is not None]
    texts = [data.texts[i] for i in keep]
    longest = data.texts[int(np.argmax(tokens))]
    return KerasReference(
        texts=texts,
        gold=data.labels[keep],
        raw=keras_raw_outputs(model, texts, encoder),
        empty_text_raw=keras_raw_outputs(model, ["", longest], encoder)[:1],
    )


def check_parity(
    reference: KerasReference, classifier: Classifier, task: str, tolerance: float, exact: bool = True
) -> ParityReport:
    """Compare one artifact with Keras. ``exact`` artifacts (float32) must stay within ``tolerance`` on every
    score; quantized ones are judged on what users see: label agreement and accuracy."""
    texts = reference.texts
    logits = classifier.outputs_logits
    ours_raw = classifier.raw_outputs(texts).astype(np.float64)
    keras_p = probabilities(reference.raw, task, logits)
    ours_p = probabilities(ours_raw, task, logits)
    keras_labels, our_labels = predicted(keras_p, task), predicted(ours_p, task)
    agreement = float(np.mean(np.all((keras_labels == our_labels).reshape(len(texts), -1), axis=1)))

    keras_acc = ours_acc = delta = None
    gold = reference.gold
    if task != "multilabel" and len(gold) and np.all(gold >= 0):
        keras_acc = float(np.mean(keras_labels == gold))
        ours_acc = float(np.mean(our_labels == gold))
        delta = ours_acc - keras_acc

    keras_empty = probabilities(reference.empty_text_raw, task, logits)
    empty_diff = float(np.max(np.abs(keras_empty - classifier.scores([""]))))
    max_diff = float(np.max(np.abs(keras_p - ours_p)))
    return ParityReport(
        texts=len(texts),
        max_abs_diff=max_diff,
        max_abs_diff_raw=float(np.max(np.abs(reference.raw - ours_raw))),
        label_agreement=agreement,
        keras_accuracy=keras_acc,
        artifact_accuracy=ours_acc,
        accuracy_delta=delta,
        empty_text_abs_diff=empty_diff,
        tolerance=tolerance,
        ok=(
            max_diff <= tolerance and empty_diff <= tolerance
            if exact
            else agreement >= QUANTIZED_MIN_AGREEMENT
            and (delta is None or delta >= -QUANTIZED_MAX_ACCURACY_DROP - 1e-9)  # 1e-9: float rounding of counts
        ),
    )

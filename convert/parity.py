"""Parity: the converted artifact against the Keras model it came from, on real texts, end to end.

Keras runs the whole model (its own TextVectorization included) on padded batches of 32 texts in
their given order, so short and long texts share batches and the padding mask is exercised (except
where padding would change a text's result, a model of any length whose mask reaches a Conv1D or max
pooling: there Keras's reference is the text alone, so only texts of one token count share a batch); the
artifact runs through edgeclf's tokenizer and runtime. Compared: raw outputs, probabilities (the
scores users see), predicted labels, and accuracy where the texts carry labels.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from edgeclf.convert.datasets import LabelledTexts
from edgeclf.errors import UnsupportedModelError
from edgeclf.runtime import Classifier
from edgeclf.scoring import accuracy, agreement, predicted, probabilities
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
    tolerance: float  # on every score (probability)
    tolerance_raw: float  # on every raw output: logits within tolerance × max(1, largest |logit|)
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


@dataclass
class KerasReference:
    """Keras's outputs on the parity texts, computed once and compared with every artifact."""

    texts: list[str]  # the texts with at least one token (Keras cannot run a batch of token-less texts)
    gold: np.ndarray
    raw: np.ndarray
    empty_text_raw: np.ndarray  # "" padded beside the longest text: Keras's answer for a text with no tokens


def keras_reference(
    model: Any,
    data: LabelledTexts,
    tokenizer: Tokenizer,
    model_takes_text: bool = True,
    padding_changes_results: bool = False,
) -> KerasReference:
    """Keras on the parity texts: the strings when the model tokenizes them itself, else ``tokenizer``'s ids.

    ``padding_changes_results``: the model takes any length and its mask reaches a padding-sensitive layer
    (``Network.padding_is_noop`` is False), so a text's reference is the text alone, not a padded batch.
    """
    encoder = None if model_takes_text else tokenizer
    tokens = [len(tokenizer.token_ids(t)) for t in data.texts]
    keep = [i for i, n in enumerate(tokens) if n > 0 or encoder is not None]
    texts = [data.texts[i] for i in keep]
    longest = data.texts[int(np.argmax(tokens))]
    if encoder is None and padding_changes_results:
        # Keras's reference for a text is then the text alone: batch only texts of one token count
        counts = [tokens[i] for i in keep]
        rows: dict[int, np.ndarray] = {}
        for count in sorted(set(counts)):
            group = [i for i, n in enumerate(counts) if n == count]
            for start in range(0, len(group), KERAS_BATCH):  # predict_on_batch: predict's set-up costs per call
                chunk = group[start : start + KERAS_BATCH]
                try:
                    out = model.predict_on_batch(np.asarray([texts[i] for i in chunk], dtype=object))
                except Exception as e:  # e.g. a valid-padded Conv1D window longer than the text: TF refuses
                    raise UnsupportedModelError(
                        f"Keras cannot run a text of {count} token(s) on its own through this model "
                        f"({str(e).strip().splitlines()[0][:200]}); a model of any length must accept every "
                        "length: give it a fixed length (TextVectorization output_sequence_length) or pad its "
                        "convolutions and pooling with padding='same'"
                    ) from e
                rows.update(zip(chunk, np.asarray(out, dtype=np.float64).reshape(len(chunk), -1), strict=True))
        raw = np.stack([rows[i] for i in range(len(texts))])
    else:
        raw = keras_raw_outputs(model, texts, encoder)
    return KerasReference(
        texts=texts,
        gold=data.labels[keep],
        raw=raw,
        empty_text_raw=keras_raw_outputs(model, ["", longest], encoder)[:1],
    )


def _max_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b|, where NaN in both counts as equal (Keras's global average of a row with no real step)."""
    diff = np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))
    diff[np.isnan(a) & np.isnan(b)] = 0
    return float(np.max(diff))


def check_parity(
    reference: KerasReference, classifier: Classifier, task: str, tolerance: float, exact: bool = True
) -> ParityReport:
    """Compare one artifact with Keras. ``exact`` artifacts (float32) must stay within ``tolerance`` on every
    score and every raw output (see ``tolerance_raw``); quantized ones are judged on what users see: label
    agreement and accuracy. Labels are predicted as the runtime predicts them: with the bundle's multilabel
    threshold (``classifier.threshold``, from the manifest)."""
    texts = reference.texts
    logits, threshold = classifier.outputs_logits, classifier.threshold
    ours_raw = classifier.raw_outputs(texts).astype(np.float64)
    keras_p = probabilities(reference.raw, task, logits)
    ours_p = probabilities(ours_raw, task, logits)
    keras_labels, our_labels = predicted(keras_p, task, threshold), predicted(ours_p, task, threshold)
    agreed = agreement(our_labels, keras_labels)

    keras_acc = ours_acc = delta = None
    gold = reference.gold
    if task != "multilabel" and len(gold) and np.all(gold >= 0):
        keras_acc = accuracy(keras_labels, gold)
        ours_acc = accuracy(our_labels, gold)
        delta = ours_acc - keras_acc

    keras_empty = probabilities(reference.empty_text_raw, task, logits)
    empty_diff = _max_abs_diff(keras_empty, classifier.scores([""]))
    max_diff = float(np.max(np.abs(keras_p - ours_p)))
    max_diff_raw = float(np.max(np.abs(reference.raw - ours_raw)))
    # Logits are checked too: a sigmoid flattens large ones (slope 4.5e-5 at ±10), so a score bound alone would let
    # a wrong logit through. float32 error grows with magnitude, hence the bound scales with the largest logit.
    raw_tolerance = tolerance * max(1.0, float(np.max(np.abs(reference.raw)))) if logits else tolerance
    return ParityReport(
        texts=len(texts),
        max_abs_diff=max_diff,
        max_abs_diff_raw=max_diff_raw,
        label_agreement=agreed,
        keras_accuracy=keras_acc,
        artifact_accuracy=ours_acc,
        accuracy_delta=delta,
        empty_text_abs_diff=empty_diff,
        tolerance=tolerance,
        tolerance_raw=raw_tolerance,
        ok=(
            max_diff <= tolerance and empty_diff <= tolerance and max_diff_raw <= raw_tolerance
            if exact
            else agreed >= QUANTIZED_MIN_AGREEMENT
            and (delta is None or delta >= -QUANTIZED_MAX_ACCURACY_DROP - 1e-9)  # 1e-9: float rounding of counts
        ),
    )

"""``Classifier``: text in, labels and probabilities out, from a bundle, without TensorFlow.

Input rules (the manifest's ``input`` section):
- a masked model (Embedding mask_zero=True) runs each text at its true token count, so padding never
  reaches the recurrent layers: identical to Keras on any padded batch;
- a text with no tokens (empty, whitespace or punctuation only) runs as one padding token, which a
  masked model skips entirely: the result Keras gives for that text inside a padded batch;
- a model with a fixed length and no mask gets exactly that length, post-padded/truncated as Keras does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeclf.backends import Backend, open_backend
from edgeclf.bundle import Bundle
from edgeclf.errors import EdgeclfError
from edgeclf.tokenizer import PAD_ID, TextVectorizer


@dataclass(frozen=True)
class Prediction:
    text: str
    labels: list[str]  # the predicted label(s): one for binary/multiclass, any number for multilabel
    scores: dict[str, float]  # probability of every label, in the model's output order

    def to_dict(self) -> dict:
        return {"text": self.text, "labels": self.labels, "scores": self.scores}


def _sigmoid(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    return np.where(z >= 0, 1 / (1 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1 + np.exp(-np.abs(z))))


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(np.asarray(z, dtype=np.float64) - np.max(z, axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def probabilities(raw: np.ndarray, task: str, outputs_logits: bool) -> np.ndarray:
    """Raw model outputs (n × units) → one probability per label (n × labels)."""
    if task == "binary":
        positive = _sigmoid(raw[:, 0]) if outputs_logits else raw[:, 0].astype(np.float64)
        return np.stack([1 - positive, positive], axis=1)
    if task == "multilabel":
        return _sigmoid(raw) if outputs_logits else raw.astype(np.float64)
    return _softmax(raw) if outputs_logits else raw.astype(np.float64)


class Classifier:
    """A loaded bundle: ``Classifier.load("bundle/").predict(["great film"])``."""

    def __init__(self, bundle: Bundle, tokenizer: TextVectorizer, backend: Backend, artifact: str) -> None:
        self.bundle = bundle
        self.tokenizer = tokenizer
        self.backend = backend
        self.artifact = artifact
        manifest = bundle.manifest
        self.labels = bundle.labels
        self.task: str = manifest["task"]
        self.outputs_logits: bool = manifest["output"]["logits"]
        self.threshold: float = manifest["output"].get("threshold", 0.5)
        self.masked: bool = manifest["input"]["masked"]
        self.sequence_length: int | None = manifest["input"]["sequence_length"]

    @classmethod
    def load(
        cls, bundle: str | Path, artifact: str | None = None, backend: str | None = None, num_threads: int = 1
    ) -> Classifier:
        """Open a bundle; ``artifact`` defaults to the bundle's default, ``backend`` to the first installed one."""
        opened = Bundle.open(bundle)
        chosen = opened.artifact(artifact)
        model_path = opened.verified_path(chosen["file"])
        runner = open_backend(backend, chosen["format"], model_path, num_threads)
        return cls(opened, opened.tokenizer(), runner, chosen["name"])

    def model_input(self, text: str) -> np.ndarray:
        """The ids the artifact is fed for one text (see the module docstring for the rules)."""
        if not isinstance(text, str):
            raise EdgeclfError(f"expected a text (str), got {type(text).__name__}")
        ids = self.tokenizer.token_ids(text)
        if self.backend.dynamic_length and self.masked:
            return ids if len(ids) else np.array([PAD_ID], dtype=np.int32)
        if self.sequence_length is not None:
            return np.pad(ids, (0, self.sequence_length - len(ids)), constant_values=PAD_ID)
        return ids if len(ids) else np.array([PAD_ID], dtype=np.int32)

    def raw_outputs(self, texts: Sequence[str]) -> np.ndarray:
        """The model's own outputs (logits or probabilities, as it was trained), one row per text."""
        rows = [self.backend.run(self.model_input(t)) for t in texts]
        return np.asarray(rows, dtype=np.float32).reshape(len(rows), -1)

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities, one row per text, one column per label."""
        return probabilities(self.raw_outputs(texts), self.task, self.outputs_logits)

    def predict(self, texts: str | Sequence[str]) -> list[Prediction]:
        if isinstance(texts, str):
            texts = [texts]
        probs = self.scores(texts)
        predictions = []
        for text, row in zip(texts, probs, strict=True):
            if self.task == "multilabel":
                chosen = [label for label, p in zip(self.labels, row, strict=True) if p >= self.threshold]
            else:
                chosen = [self.labels[int(np.argmax(row))]]
            scores = {label: float(p) for label, p in zip(self.labels, row, strict=True)}
            predictions.append(Prediction(text, chosen, scores))
        return predictions

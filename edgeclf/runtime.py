"""``Classifier``: text in, labels and probabilities out, from a bundle, without TensorFlow.

Input rules (the manifest's ``input`` section):
- a text is fed at its true token count (``feed: true_length``) when Keras's reference for it, the text
  alone, has no padding (no fixed length) or when the mask makes padding a no-op (``padding_is_noop``:
  Embedding mask_zero=True and no padding-sensitive layer such as Conv1D or max pooling sees the mask);
  texts are batched with padding only where it is a no-op, so every row is the text's own result;
- a text with no tokens (empty, whitespace or punctuation only) gets, from a masked model, the output Keras
  gives it inside a padded batch (every step masked), recorded in the manifest at conversion; a model
  without a mask gets it as trained (all padding);
- otherwise a text is fed exactly as the model was trained: padded and truncated to its length on the
  sides its tokenizer used (TextVectorization: post; legacy Tokenizer + pad_sequences: as configured).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeclf.backends import Backend, backends_for, open_backend
from edgeclf.bundle import Bundle
from edgeclf.errors import EdgeclfError
from edgeclf.scoring import label_names, manifest_threshold, probabilities
from edgeclf.tokenizer import PAD_ID, Tokenizer


@dataclass(frozen=True)
class Prediction:
    text: str
    labels: list[str]  # the predicted label(s): one for binary/multiclass, any number for multilabel
    scores: dict[str, float]  # probability of every label, in the model's output order

    def to_dict(self) -> dict:
        return {"text": self.text, "labels": self.labels, "scores": self.scores}


class Classifier:
    """A loaded bundle: ``Classifier.load("bundle/").predict(["great film"])``."""

    def __init__(self, bundle: Bundle, tokenizer: Tokenizer, backend: Backend, artifact: str) -> None:
        self.bundle = bundle
        self.tokenizer = tokenizer
        self.backend = backend
        self.artifact = artifact
        manifest = bundle.manifest
        self.labels = bundle.labels
        self.task: str = manifest["task"]
        self.outputs_logits: bool = manifest["output"]["logits"]
        self.threshold: float = manifest_threshold(manifest)
        self.masked: bool = manifest["input"]["masked"]
        self.sequence_length: int | None = manifest["input"]["sequence_length"]
        self.feeds_true_length: bool = manifest["input"]["feed"] == "true_length"
        self.padding_is_noop: bool = manifest["input"].get("padding_is_noop", self.masked)  # format-1 bundles
        no_token = manifest["output"].get("no_token_raw") if self.masked else None
        # null in the manifest is NaN: what Keras itself answers when a text has no token to average over
        self.no_token_raw = None if no_token is None else np.asarray(no_token, dtype=np.float32)

    @classmethod
    def load(
        cls, bundle: str | Path, artifact: str | None = None, backend: str | None = None, num_threads: int = 1
    ) -> Classifier:
        """Open a bundle; ``artifact`` defaults to the bundle's default, ``backend`` to the first installed one."""
        opened = Bundle.open(bundle)
        if artifact is None and backend is not None:  # a named backend picks the first artifact it can run
            runnable = [a["name"] for a in opened.manifest["artifacts"] if backend in backends_for(a["format"])]
            artifact = runnable[0] if runnable else None
        chosen = opened.artifact(artifact)
        model_path = opened.verified_path(chosen["file"])
        for extra in chosen.get("extra_files", []):  # files the artifact reads beside its own (numpy: weights.npz)
            opened.verified_path(extra)
        runner = open_backend(backend, chosen["format"], model_path, num_threads)
        return cls(opened, opened.tokenizer(), runner, chosen["name"])

    def model_input(self, text: str) -> np.ndarray:
        """The ids the artifact is fed for one text (see the module docstring for the rules)."""
        if not isinstance(text, str):
            raise EdgeclfError(f"expected a text (str), got {type(text).__name__}")
        if self.feeds_true_length and self.backend.dynamic_length:  # Keras's reference: the text alone
            ids = self.tokenizer.token_ids(text)
        else:  # exactly as the model was trained: padded/truncated on the tokenizer's sides
            ids = self.tokenizer.encode(text)
        return ids if len(ids) else np.array([PAD_ID], dtype=np.int32)

    def raw_outputs(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """The model's own outputs (logits or probabilities, as it was trained), one row per text.

        A backend that ``batches`` gets batches of up to ``batch_size`` texts of similar length: texts
        are sorted by token count and each batch is post-padded only to its own longest text, so a batch
        of tweets is not padded to the longest review. Padding is only added where the model masks it
        (``padding_is_noop``); otherwise a batch holds texts of one length. Other backends
        (static batch of 1) run one text at a time. Either way every row equals the text run alone.
        """
        inputs = [self.model_input(t) for t in texts]
        # a backend batches only if its rows do not depend on their batch-mates (not so: ORT dynamic quantization)
        batched = self.backend.batches and self.backend.batch_invariant
        if not batched or batch_size <= 1 or len(inputs) <= 1:
            rows = [self.backend.run(ids) for ids in inputs]
            return self._no_token_rule(inputs, rows)
        rows = [None] * len(inputs)
        for batch in self._batches([len(ids) for ids in inputs], batch_size):
            matrix = np.full((len(batch), max(len(inputs[i]) for i in batch)), PAD_ID, dtype=np.int32)
            for row, i in enumerate(batch):
                matrix[row, : len(inputs[i])] = inputs[i]
            for i, out in zip(batch, self.backend.run_batch(matrix), strict=True):
                rows[i] = out
        return self._no_token_rule(inputs, rows)

    def _no_token_rule(self, inputs: list[np.ndarray], rows: list) -> np.ndarray:
        """Rows as one array, where a masked model's texts without tokens get Keras's all-masked output (stored
        at conversion): fused kernels cannot mask, and a zero-length input is not a tensor every backend takes."""
        out = np.asarray(rows, dtype=np.float32).reshape(len(rows), -1)
        if self.no_token_raw is not None:
            for i, ids in enumerate(inputs):
                if not ids.any():  # only padding: in a masked model id 0 is never a token
                    out[i] = self.no_token_raw
        return out

    def _batches(self, lengths: list[int], batch_size: int) -> list[list[int]]:
        """Indices of texts grouped into batches by length (see ``raw_outputs``)."""
        order = sorted(range(len(lengths)), key=lambda i: lengths[i])
        padded = self.padding_is_noop and self.backend.dynamic_length  # only then does padding change nothing
        groups: list[list[int]] = []
        for i in order:
            if groups and len(groups[-1]) < batch_size and (padded or lengths[groups[-1][0]] == lengths[i]):
                groups[-1].append(i)
            else:
                groups.append([i])
        return groups

    def scores(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Probabilities, one row per text, one column per label."""
        return probabilities(self.raw_outputs(texts, batch_size), self.task, self.outputs_logits)

    def predict(self, texts: str | Sequence[str], batch_size: int = 32) -> list[Prediction]:
        """Labels and scores for one text or many; ``batch_size`` applies to backends that batch (numpy)."""
        if isinstance(texts, str):
            texts = [texts]
        probs = self.scores(texts, batch_size)
        chosen = label_names(probs, self.labels, self.task, self.threshold)
        return [
            Prediction(text, names, {label: float(p) for label, p in zip(self.labels, row, strict=True)})
            for text, names, row in zip(texts, chosen, probs, strict=True)
        ]

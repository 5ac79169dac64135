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

import queue
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeclf.backends import Backend, installed_backends, open_backend
from edgeclf.bundle import Bundle
from edgeclf.errors import EdgeclfError
from edgeclf.scoring import manifest_threshold, probabilities, row_label_names, row_probabilities
from edgeclf.selection import Choice, choose, read_device_record
from edgeclf.tokenizer import PAD_ID, Tokenizer

# texts tokenized per step when workers run batches meanwhile: small enough to start them early, large enough to
# sort into batches of similar length
PIPELINE_CHUNK = 64


@dataclass(frozen=True)
class Prediction:
    text: str
    labels: list[str]  # the predicted label(s): one for binary/multiclass, any number for multilabel, none if NaN
    scores: dict[str, float]  # probability of every label, in the model's output order

    def to_dict(self) -> dict:
        """JSON-ready: a NaN score (Keras's own answer in a few token-less cases) becomes null, as JSON has no NaN."""
        scores = {label: (None if p != p else p) for label, p in self.scores.items()}
        return {"text": self.text, "labels": self.labels, "scores": scores}


def _text_list(texts: object) -> list[str]:
    """One text or any iterable of texts (list, tuple, generator, pandas Series) as a list; anything else is an
    EdgeclfError, so a generator is read once and ``predict`` pairs each text with its own row."""
    if isinstance(texts, str):
        return [texts]
    if isinstance(texts, (bytes, bytearray)) or not hasattr(texts, "__iter__"):
        raise EdgeclfError(f"expected a text or an iterable of texts, got {type(texts).__name__}")
    out = list(texts)  # type: ignore[call-overload]
    for i, text in enumerate(out):
        if not isinstance(text, str):
            raise EdgeclfError(f"expected a text or an iterable of texts, got {type(text).__name__} at position {i}")
    return out


class Classifier:
    """A loaded bundle: ``Classifier.load("bundle/").predict(["great film"])``.

    Attributes:
        labels: the label names, in the order of the model's outputs and of the columns of ``scores``.
        task: ``"binary"``, ``"multiclass"`` or ``"multilabel"`` (multilabel predicts every label over threshold).
        artifact: the name of the manifest artifact being run (e.g. ``"tflite-fp32"``).
        threshold: the multilabel decision threshold (0.5 unless the manifest says otherwise).

    ``predict``, ``scores`` and ``raw_outputs`` take one ``str`` or any iterable of ``str`` (list, tuple,
    generator); anything else raises ``EdgeclfError``.
    """

    def __init__(
        self,
        bundle: Bundle,
        tokenizer: Tokenizer,
        backend: Backend | Sequence[Backend],
        artifact: str,
        choice: Choice | None = None,
    ) -> None:
        backends = [backend] if not isinstance(backend, Sequence) else list(backend)
        self.bundle = bundle
        self.tokenizer = tokenizer
        self.backend = backends[0]
        self.artifact = artifact
        self.choice = choice  # why this artifact, when the caller named none
        # one interpreter per worker thread (interpreters are not thread-safe); batches go to whichever is free
        self._idle: queue.SimpleQueue[Backend] = queue.SimpleQueue()
        for b in backends:
            self._idle.put(b)
        self._executor = ThreadPoolExecutor(len(backends), "edgeclf") if len(backends) > 1 else None
        manifest = bundle.manifest
        self.labels = bundle.labels
        self.task: str = manifest["task"]
        self.outputs_logits: bool = manifest["output"]["logits"]
        self.threshold: float = manifest_threshold(manifest)
        self.masked: bool = manifest["input"]["masked"]
        self.sequence_length: int | None = manifest["input"]["sequence_length"]
        self.feeds_true_length: bool = manifest["input"]["feed"] == "true_length"
        self.padding_is_noop: bool = manifest["input"].get("padding_is_noop", self.masked)  # format-1 bundles
        self._fed_alone = self.feeds_true_length and self.backend.dynamic_length  # Keras's reference: the text alone
        no_token = manifest["output"].get("no_token_raw") if self.masked else None
        # null in the manifest is NaN: what Keras itself answers when a text has no token to average over
        self.no_token_raw = None if no_token is None else np.asarray(no_token, dtype=np.float32)

    @classmethod
    def load(
        cls,
        bundle: str | Path | Bundle,
        artifact: str | None = None,
        backend: str | None = None,
        num_threads: int = 1,
        workers: int = 1,
    ) -> Classifier:
        """Open a bundle.

        ``artifact`` defaults to the fastest exact artifact whose backend is installed here (see
        ``edgeclf.selection``; ``.choice`` says which and why), ``backend`` to the first installed one for it.
        ``num_threads`` are the interpreter's own threads; ``workers`` run that many interpreters side by side,
        so ``predict`` on many texts uses that many cores, whatever the backend.
        """
        if workers < 1 or num_threads < 1:
            raise EdgeclfError(f"workers and num_threads must be at least 1 (got {workers} and {num_threads})")
        # a Bundle in memory: the converter's staged bundle, whose manifest is written once, at the end
        opened = bundle if isinstance(bundle, Bundle) else Bundle.open(bundle)
        choice = None
        if artifact is None:
            record = read_device_record(opened.root if isinstance(bundle, Bundle) else bundle, opened.manifest)
            choice = choose(opened.manifest, installed_backends(), backend, record)
            artifact, backend = choice.artifact, backend or choice.backend
        chosen = opened.artifact(artifact)
        model_path = opened.verified_path(chosen["file"])
        for extra in chosen.get("extra_files", []):  # files the artifact reads beside its own (numpy: weights.npz)
            opened.verified_path(extra)
        runners = [open_backend(backend, chosen["format"], model_path, num_threads) for _ in range(workers)]
        return cls(opened, opened.tokenizer(), runners, chosen["name"], choice)

    def model_input(self, text: str) -> np.ndarray:
        """The ids the artifact is fed for one text (see the module docstring for the rules)."""
        if not isinstance(text, str):
            raise EdgeclfError(f"expected a text (str), got {type(text).__name__}")
        # fed alone at true length, or exactly as the model was trained: padded/truncated on the tokenizer's sides
        ids = self.tokenizer.token_ids(text) if self._fed_alone else self.tokenizer.encode(text)
        return ids if len(ids) else np.array([PAD_ID], dtype=np.int32)

    def raw_outputs(self, texts: str | Iterable[str], batch_size: int = 32) -> np.ndarray:
        """The model's own outputs (logits or probabilities, as it was trained), one row per text.

        A backend that ``batches`` gets batches of up to ``batch_size`` texts of similar length: texts
        are sorted by token count and each batch is post-padded only to its own longest text, so a batch
        of tweets is not padded to the longest review; a batch also stays within the backend's
        ``batch_token_budget`` padded tokens (where its kernels stay in cache). Padding is only added where the
        model masks it (``padding_is_noop``); otherwise a batch holds texts of one length. Other backends
        (static batch of 1) run one text at a time. Either way every row equals the text run alone. With
        several workers, batches run on that many interpreters at once, the largest first.
        """
        texts = _text_list(texts)
        if len(texts) == 1:  # the common one-text call skips the batching machinery (it costs ~10 µs)
            return np.array(self._row_one(texts[0]), dtype=np.float32).reshape(1, -1)  # a copy
        # a backend batches only if its rows do not depend on their batch-mates (not so: ORT dynamic quantization)
        size = batch_size if self.backend.batches and self.backend.batch_invariant else 1
        inputs: list[np.ndarray] = []
        pending: list[tuple[list[int], Any]] = []  # (batch, its rows or the future of its rows)
        # with workers, texts are tokenized a chunk at a time while the interpreters run the previous chunk's
        # batches (the tokenizer holds the GIL, the interpreters release it); alone, in one chunk
        chunk = PIPELINE_CHUNK if self._executor is not None else len(texts)
        for start in range(0, len(texts), chunk):
            inputs += [self.model_input(t) for t in texts[start : start + chunk]]
            batches = [[start + i for i in b] for b in self._batches([len(x) for x in inputs[start:]], size)]
            if self._executor is None:
                pending += [(batch, self._run(inputs, batch)) for batch in batches]
                continue
            # largest first, so the last batch to start is a small one and no worker idles at the end
            batches.sort(key=lambda batch: -len(batch) * max(len(inputs[i]) for i in batch))
            pending += [(batch, self._executor.submit(self._run, inputs, batch)) for batch in batches]
        rows: list = [None] * len(inputs)
        for batch, outs in pending:
            for i, out in zip(batch, outs if isinstance(outs, list) else outs.result(), strict=True):
                rows[i] = out
        return self._no_token_rule(inputs, rows)

    def _row_one(self, text: str) -> np.ndarray:
        """One text's raw output row without the batching machinery: the serving call, paid per request. It may
        be the recorded ``no_token_raw`` itself: callers copy it. No numpy call follows the interpreter here: right
        after it, numpy's caches are evicted and each call costs several µs."""
        ids = self.model_input(text)
        return self.no_token_raw if self._no_token(ids) else self._run([ids], [0])[0]

    def _run(self, inputs: list[np.ndarray], batch: list[int]) -> list[np.ndarray]:
        """Raw output rows of the texts ``batch`` (indices into ``inputs``), on whichever interpreter is idle."""
        backend = self._idle.get()
        try:
            if len(batch) == 1:
                return [backend.run(inputs[batch[0]])]
            matrix = np.full((len(batch), max(len(inputs[i]) for i in batch)), PAD_ID, dtype=np.int32)
            for row, i in enumerate(batch):
                matrix[row, : len(inputs[i])] = inputs[i]
            return list(backend.run_batch(matrix))
        finally:
            self._idle.put(backend)

    def _no_token_rule(self, inputs: list[np.ndarray], rows: list) -> np.ndarray:
        """Rows as one array, where a masked model's texts without tokens get Keras's all-masked output (stored
        at conversion): fused kernels cannot mask, and a zero-length input is not a tensor every backend takes."""
        out = np.asarray(rows, dtype=np.float32).reshape(len(rows), -1)
        for i, ids in enumerate(inputs):
            if self._no_token(ids):
                out[i] = self.no_token_raw
        return out

    def _no_token(self, ids: np.ndarray) -> bool:
        """Whether a masked model's text has no token (only padding: in a masked model id 0 is never a token)."""
        return self.no_token_raw is not None and not ids.any()

    def _batches(self, lengths: list[int], batch_size: int) -> list[list[int]]:
        """Indices of texts grouped into batches by length (see ``raw_outputs``)."""
        if batch_size <= 1:
            return [[i] for i in range(len(lengths))]
        order = sorted(range(len(lengths)), key=lambda i: lengths[i])
        padded = self.padding_is_noop and self.backend.dynamic_length  # only then does padding change nothing
        budget = self.backend.batch_token_budget
        groups: list[list[int]] = []
        for i in order:  # ascending: text i is the longest of the batch it joins
            group = groups[-1] if groups else None
            fits = group is not None and len(group) < batch_size and (len(group) + 1) * lengths[i] <= budget
            if fits and (padded or lengths[group[0]] == lengths[i]):
                group.append(i)
            else:
                groups.append([i])
        return groups

    def scores(self, texts: str | Iterable[str], batch_size: int = 32) -> np.ndarray:
        """Probabilities, one row per text, one column per label."""
        return probabilities(self.raw_outputs(texts, batch_size), self.task, self.outputs_logits)

    def predict(self, texts: str | Iterable[str], batch_size: int = 32) -> list[Prediction]:
        """Labels and scores for one text or many; ``batch_size`` applies to backends that batch (ONNX Runtime,
        numpy)."""
        texts = [texts] if isinstance(texts, str) else _text_list(texts)
        # every backend gives float32 rows, as raw_outputs does (tested bit for bit against the batched path)
        rows = [self._row_one(texts[0]).tolist()] if len(texts) == 1 else self.raw_outputs(texts, batch_size).tolist()
        task, labels = self.task, self.labels
        # plain Python floats from here (see edgeclf.scoring): the same bits for one text as in a batch
        probs = [row_probabilities(row, task, self.outputs_logits) for row in rows]
        return [
            Prediction(text, row_label_names(p, labels, task, self.threshold), dict(zip(labels, p, strict=True)))
            for text, p in zip(texts, probs, strict=True)
        ]

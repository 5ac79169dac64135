"""Pure-Python re-implementation of Keras ``TextVectorization`` (output_mode="int"), token for token.

What the Keras layer really does (keras/src/layers/preprocessing/text_vectorization.py, TF backend):
``tf.strings.lower`` without an encoding lowercases ASCII A–Z only; punctuation stripping deletes
ASCII punctuation only; ``tf.strings.split`` splits on ASCII whitespace only. So "CAFÉ" becomes
"cafÉ", a non-breaking space does not separate tokens, and an em dash survives.
Ids: 0 = padding / mask, 1 = ``[UNK]``, then the vocabulary in the layer's order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from edgeclf.errors import BundleError

# The exact character class Keras passes to tf.strings.regex_replace for strip_punctuation.
_PUNCTUATION = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')
# TF's split with no separator: runs of ASCII whitespace (space, \t, \n, \v, \f, \r).
_ASCII_WHITESPACE = re.compile(r"[ \t\n\v\f\r]+")
_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}

STANDARDIZE_MODES = ("lower_and_strip_punctuation", "lower", "strip_punctuation", None)
SPLIT_MODES = ("whitespace", "character", None)

PAD_ID = 0
OOV_ID = 1


@dataclass
class TextVectorizer:
    """Text → int32 token ids, as the Keras layer would compute them."""

    vocabulary: list[str]  # index i holds token i; vocabulary[0] == "" and vocabulary[1] == "[UNK]"
    standardize: str | None = "lower_and_strip_punctuation"
    split: str | None = "whitespace"
    ngrams: int | None = None
    output_sequence_length: int | None = None
    _index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.standardize not in STANDARDIZE_MODES:
            raise BundleError(f"unsupported TextVectorization standardize={self.standardize!r}")
        if self.split not in SPLIT_MODES:
            raise BundleError(f"unsupported TextVectorization split={self.split!r}")
        if self.ngrams not in (None, 1):
            raise BundleError(f"unsupported TextVectorization ngrams={self.ngrams!r} (only unigrams)")
        if len(self.vocabulary) < 2 or self.vocabulary[0] != "" or self.vocabulary[1] != "[UNK]":
            raise BundleError("vocabulary must start with the padding token '' and '[UNK]'")
        # The first occurrence wins, as in Keras' StringLookup (duplicates cannot come from adapt()).
        self._index = {}
        for i, token in enumerate(self.vocabulary):
            self._index.setdefault(token, i)
        self._index.pop("", None)  # an empty token never occurs after splitting

    def standardized(self, text: str) -> str:
        if self.standardize in ("lower", "lower_and_strip_punctuation"):
            text = text.translate(_ASCII_LOWER)
        if self.standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
            text = _PUNCTUATION.sub("", text)
        return text

    def tokens(self, text: str) -> list[str]:
        text = self.standardized(text)
        if self.split == "whitespace":
            return [t for t in _ASCII_WHITESPACE.split(text) if t]
        if self.split == "character":
            return list(text)  # tf.strings.unicode_split on UTF-8: one token per code point
        return [text]

    def token_ids(self, text: str) -> np.ndarray:
        """Ids of the text's tokens, truncated to ``output_sequence_length`` (keeping the first), never padded."""
        ids = [self._index.get(t, OOV_ID) for t in self.tokens(text)]
        return np.asarray(ids[: self.output_sequence_length], dtype=np.int32)

    def encode(self, text: str) -> np.ndarray:
        """What the Keras layer outputs for one text: ``token_ids`` post-padded to ``output_sequence_length``."""
        ids = self.token_ids(text)
        length = self.output_sequence_length
        if length is not None and len(ids) < length:
            ids = np.concatenate([ids, np.full(length - len(ids), PAD_ID, dtype=np.int32)])
        return ids

    def encode_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Ids of several texts, post-padded with 0 to the longest (or to ``output_sequence_length``)."""
        rows = [self.encode(t) for t in texts]
        width = max((len(r) for r in rows), default=0)
        out = np.zeros((len(rows), width), dtype=np.int32)
        for i, r in enumerate(rows):
            out[i, : len(r)] = r
        return out

    def to_spec(self) -> dict:
        return {
            "kind": "text_vectorization",
            "standardize": self.standardize,
            "split": self.split,
            "ngrams": self.ngrams,
            "output_sequence_length": self.output_sequence_length,
            "lowercase": "ascii",
            "pad_id": PAD_ID,
            "oov_id": OOV_ID,
            "vocab_size": len(self.vocabulary),
        }

    @classmethod
    def from_spec(cls, spec: dict, vocabulary: list[str]) -> TextVectorizer:
        if spec.get("kind") != "text_vectorization":
            raise BundleError(f"unsupported tokenizer kind {spec.get('kind')!r}")
        if spec.get("vocab_size") != len(vocabulary):
            raise BundleError(f"vocabulary has {len(vocabulary)} entries, the manifest says {spec.get('vocab_size')}")
        return cls(
            vocabulary=vocabulary,
            standardize=spec["standardize"],
            split=spec["split"],
            ngrams=spec.get("ngrams"),
            output_sequence_length=spec.get("output_sequence_length"),
        )

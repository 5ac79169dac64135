"""Odd texts end to end: controls, mixed scripts and invisible characters equal Keras, a 1 MiB text agrees
across three runtimes and through the CLI's stdin (issue #9)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from cli_runs import run_cli

from edgeclf.runtime import Classifier, probabilities

FP32_TOLERANCE = 1e-5  # max |Δ| of probabilities between two float32 implementations (the converter's bound)


ODD_TEXTS = [
    "\x00\x01\x1b[31m red \x7f film\x0b\x0c",  # C0 controls, an ANSI escape, DEL
    "mixed 電影很好 film great Фильм отличный فيلم رائع सुंदर 🎬👍🏽",
    "zero\u200bwidth\u00a0nbsp\u2028line\u0085next\ufeffbom",
    "RTL \u202eevil\u202c override and combining e\u0301 ＦＵＬＬ",
    "tab\tand\nnewline\r\nfilm\r",
    "\ufffd\ufffd replaced bytes \ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
]


def test_odd_texts_match_keras(example_bundle, keras_model):
    """Controls, mixed scripts, invisible characters: the runtime's probabilities equal Keras's own."""
    from edgeclf.convert.parity import keras_raw_outputs

    classifier = Classifier.load(example_bundle)
    ours = classifier.scores(ODD_TEXTS)
    for text, row in zip(ODD_TEXTS, ours, strict=True):
        keras_probs = probabilities(keras_raw_outputs(keras_model, [text]), "binary", True)[0]
        assert np.abs(row - keras_probs).max() <= FP32_TOLERANCE, repr(text)


@pytest.fixture(scope="module")
def megabyte_text() -> str:
    """Real Rotten Tomatoes sentences joined into one text of exactly 1 MiB of UTF-8."""
    from edgeclf.convert.datasets import rotten_tomatoes

    text = " ".join(rotten_tomatoes().texts)
    text = (text + " ") * (1 + (1 << 20) // len(text.encode()))
    return text.encode()[: 1 << 20].decode("utf-8", "ignore")


def test_megabyte_text_agrees_across_three_runtimes(example_bundle, megabyte_text):
    """~170,000 tokens through LiteRT, ONNX Runtime and pure numpy: finite, and the same within fp32 tolerance."""
    scores = {name: Classifier.load(example_bundle, artifact=name).scores([megabyte_text])[0]
              for name in ("tflite-fp32", "onnx-fused-fp32", "numpy-fp32")}  # fmt: skip
    reference = scores["tflite-fp32"]
    assert np.isfinite(reference).all()
    for name, row in scores.items():
        assert np.abs(row - reference).max() <= FP32_TOLERANCE, name


def test_cli_megabyte_line_whitespace_and_invalid_utf8_on_stdin(example_bundle, megabyte_text):
    """stdin: whitespace-only lines are skipped (documented), a 1 MiB line with invalid bytes is one prediction."""
    line = megabyte_text.replace("\n", " ").encode() + b" \xff\xfe bad bytes"
    done = subprocess.run(
        [sys.executable, "-m", "edgeclf.cli", "predict", str(example_bundle), "--json"],
        input=b"   \t \n\n" + line + b"\n \x0b \n", capture_output=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    # split on "\n" only: JSON keeps U+2028, U+0085 and friends, which splitlines() would break on
    (row,) = [json.loads(r) for r in done.stdout.decode().split("\n") if r]
    assert len(row["text"].encode()) >= 1 << 20 and row["text"].endswith("\ufffd\ufffd bad bytes")
    expected = Classifier.load(example_bundle).predict([row["text"]])[0].to_dict()
    assert row == expected

    # a whitespace-only TEXT argument is a text: it gets the empty text's result
    whitespace = run_cli("predict", str(example_bundle), "--json", " \t ")
    assert whitespace.returncode == 0, whitespace.stderr
    (got,) = [json.loads(r) for r in whitespace.stdout.split("\n") if r]
    assert got["scores"] == Classifier.load(example_bundle).predict([""])[0].to_dict()["scores"]

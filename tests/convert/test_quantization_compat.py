"""Quantized artifacts: the embedding is quantized in each, the byte split says so, and
``--tflite-runtime-compatible`` keeps every TFLite artifact loadable by tflite-runtime 2.14 (verified by running
it there with ``--verify-python``), where a default dynamic-range artifact is not."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
OLD_PYTHON = REPO / ".venv-tflite-runtime" / "bin" / "python"
VOCAB, WIDTH = 1000, 64  # the example's Embedding(1000, 64)


def _convert(out: Path, *extra: str) -> dict:
    cli = [sys.executable, "-c", "from edgeclf.cli import main; main()"]
    # the loop form only: the quantization is the subject here (test_backends runs the scan form on tflite-runtime)
    args = ["convert", "example", "-o", str(out), "--formats", "tflite", "--rnn", "loop", "--verify-python",
            str(OLD_PYTHON), *extra]  # fmt: skip
    done = subprocess.run([*cli, *args, "--json"], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def compatible(tmp_path_factory) -> dict:
    assert OLD_PYTHON.exists(), "run `bash tests/install_test_env.sh` first: it makes .venv-tflite-runtime"
    out = tmp_path_factory.mktemp("compat") / "bundle"
    return _convert(out, "--quantize", "fp32,dynamic,float16", "--tflite-runtime-compatible")


def _old_runtime_verdict(artifact: dict) -> str:
    entries = [v for k, v in artifact["verified_runtimes"].items() if k.startswith(("tflite-runtime", "/"))]
    assert len(entries) == 1, artifact["verified_runtimes"]
    return entries[0]


def test_every_artifact_runs_on_tflite_runtime_2_14_when_asked(compatible):
    assert compatible["conversion"]["tflite_runtime_compatible"] is True
    assert [a["name"] for a in compatible["artifacts"]] == ["tflite-fp32", "tflite-dynamic", "tflite-float16"]
    for artifact in compatible["artifacts"]:
        assert "tflite-runtime 2.14.0" in artifact["verified_runtimes"], artifact["verified_runtimes"]
        assert _old_runtime_verdict(artifact).startswith("matches the result here"), artifact["name"]
        assert artifact["parity"]["ok"], artifact["name"]


def test_embedding_is_quantized_in_every_quantized_artifact(compatible):
    by_name = {a["name"]: a for a in compatible["artifacts"]}
    expected = {"tflite-fp32": ("FLOAT32", 4), "tflite-dynamic": ("INT8", 1), "tflite-float16": ("FLOAT16", 2)}
    for name, (dtype, width_bytes) in expected.items():
        artifact = by_name[name]
        assert artifact["embedding_dtype"] == dtype, name
        assert artifact["weight_bytes"]["embedding"] == VOCAB * WIDTH * width_bytes, name
        # the two LSTM directions (4 gates × 64 units, input 64 + recurrent 64) dominate what is left
        assert artifact["weight_bytes"]["recurrent"] >= 2 * 4 * 64 * 128 * width_bytes, name
        assert artifact["weight_bytes"]["dense"] >= (128 * 64 + 64) * width_bytes, name
        assert sum(artifact["weight_bytes"].values()) <= artifact["size"], name


def test_default_dynamic_artifact_is_refused_by_tflite_runtime_2_14(tmp_path):
    """The control: per-channel dense quantization needs FULLY_CONNECTED version 12, which 2.14 lacks."""
    manifest = _convert(tmp_path / "bundle", "--quantize", "dynamic")
    (dynamic,) = manifest["artifacts"]
    verdict = _old_runtime_verdict(dynamic)
    assert verdict.startswith("FAILED") and "FULLY_CONNECTED" in verdict, verdict

"""`edgeclf bench` counts each file once, measures only installed backends unless told, says how many texts Keras
ran, and says why a litert-benchmark figure is missing instead of dropping the line."""

from __future__ import annotations

import copy
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from edgeclf import bench


@pytest.fixture(scope="module")
def three_text_run(example_bundle, example_model_path, tmp_path_factory) -> tuple[dict, str]:
    texts = tmp_path_factory.mktemp("bench") / "three.txt"
    texts.write_text("a wonderful, moving film\ndull and far too long\nthe acting was fine\n")
    args = ["bench", str(example_bundle), "--texts", str(texts), "--artifacts", "numpy-fp32,tflite-fp32"]
    args += ["--runs", "10", "--warmup", "1", "--keras", str(example_model_path), "--json"]
    done = subprocess.run([sys.executable, "-m", "edgeclf.cli", *args], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), done.stderr


def test_numpy_artifact_size_counts_weights_once(three_text_run, example_bundle) -> None:
    document, _ = three_text_run
    manifest = json.loads((example_bundle / "manifest.json").read_text())
    numpy = next(a for a in manifest["artifacts"] if a["name"] == "numpy-fp32")
    on_disk = sum((example_bundle / f).stat().st_size for f in [numpy["file"], *numpy.get("extra_files", [])])
    (row,) = [r for r in document["configs"] if r["artifact"] == "numpy-fp32"]
    assert row["size_bytes"] == numpy["size"] == on_disk


def test_only_installed_backends_by_default(three_text_run) -> None:
    document, stderr = three_text_run
    if importlib.util.find_spec("tflite_runtime") is not None:
        pytest.skip("tflite-runtime is installed here: it is measured, not skipped")
    assert [s for s in document["skipped"] if s["backend"] == "tflite-runtime"] == []
    assert "tflite_runtime" not in bench.to_markdown(document) + stderr
    assert {r["backend"] for r in document["configs"]} == {"numpy", "litert"}


def test_keras_note_says_how_many_texts(three_text_run) -> None:
    document, _ = three_text_run
    assert "error" not in document["keras"], document["keras"]
    markdown = bench.to_markdown(document)
    assert "ran 10 calls cycling through the same 3 texts" in markdown
    assert "first 10 of the same texts" not in markdown


def test_missing_litert_benchmark_figure_is_explained(three_text_run, tmp_path: Path) -> None:
    from edgeclf.bench.run import _litert_benchmark

    if importlib.util.find_spec("ai_edge_litert") is None:
        pytest.skip("no ai-edge-litert, no litert-benchmark")
    broken = tmp_path / "broken.tflite"
    broken.write_bytes(b"not a flatbuffer")
    result = _litert_benchmark(broken, threads=1, runs=2, warmup=1)
    assert result is not None and result["error"].startswith("litert-benchmark wrote no result (exit status 1: ")
    assert "Failed to load model" in result["error"]
    document = copy.deepcopy(three_text_run[0])
    (row,) = [r for r in document["configs"] if r["artifact"] == "tflite-fp32"]
    row["litert_benchmark"] = result
    assert f"- litert-benchmark on {row['file']} (1 thread(s)): no figure, litert-benchmark wrote no result" in (
        bench.to_markdown(document)
    )

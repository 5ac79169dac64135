"""benchmarks/alternatives.py: every row comes from a real conversion, load and run (no figure is written by hand).

The script runs once in quick mode (4 held-out reviews, 2 rounds); its JSON is then checked against the files
on disk, an independent op census, ONNX Runtime and Keras run here again, and its Markdown against its JSON.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "alternatives.py"
ALTERNATIVES = ["keras-litert", "keras-onnx", "keras-litert-ids", "keras-litert-ids-b1", "keras-onnx-ids",
                "tf2onnx-ids", "tf2onnx-ids-function"]  # fmt: skip
TF2ONNX_ROWS = {"keras-onnx", "keras-onnx-ids", "tf2onnx-ids", "tf2onnx-ids-function"}
TF2ONNX = importlib.util.find_spec("tf2onnx") is not None
TEXTS, ROUNDS = 4, 2
TIMEOUT = float(os.environ.get("EDGECLF_ALTERNATIVES_TIMEOUT", 1800))  # ~2-3 min of CPU when idle


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[dict, str, Path]:
    out, work = tmp_path_factory.mktemp("alt-out"), tmp_path_factory.mktemp("alt-work")
    command = [sys.executable, str(SCRIPT), "--quick", "--texts", str(TEXTS), "--rounds", str(ROUNDS),
               "--out", str(out), "--work", str(work), "--timeout", "600"]  # fmt: skip
    # its own process group, so a timeout also ends the conversion children it started
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                          start_new_session=True) as process:  # fmt: skip
        try:
            stdout, stderr = process.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise
    assert process.returncode == 0, stdout[-2000:] + stderr[-3000:]
    return json.loads((out / "alternatives.json").read_text()), (out / "alternatives.md").read_text(), work


def rows(report: dict) -> dict[str, dict]:
    return {row["id"]: row for row in report["rows"]}


def test_every_alternative_and_edgeclf_artifact_is_a_row(run):
    report, _, _ = run
    found = rows(report)
    assert [r for r in found if not r.startswith("edgeclf")] == ALTERNATIVES
    assert {"edgeclf tflite-fp32", "edgeclf onnx-fused-fp32"} <= set(found)
    assert report["texts"] == TEXTS == len(report["keras_raw"]) == len(report["ids"])
    for row in found.values():  # a row either converted or says why, in one line
        assert row["converts"] or (row["convert_error"] and "\n" not in row["convert_error"])
        if row["converts"]:
            assert row["loads"] or (row["load_error"] and "\n" not in row["load_error"])


def test_tf2onnx_rows_convert_or_report_the_import_error(run):
    for name, row in rows(run[0]).items():
        if TF2ONNX or name not in TF2ONNX_ROWS:
            if name != "tf2onnx-ids":
                assert row["converts"], (name, row.get("convert_error"))
            elif not row["converts"]:  # from_keras on a Keras 3 model: a failure of tf2onnx 1.17 itself
                assert "No module named" not in row["convert_error"]
        else:
            assert not row["converts"] and "tf2onnx" in row["convert_error"], row["convert_error"]


def test_sizes_and_hashes_are_the_files_on_disk(run):
    report, _, work = run
    for row in report["rows"]:
        if row["converts"]:
            data = (work / row["file"]).read_bytes()
            assert row["size"] == len(data) and row["sha256"] == hashlib.sha256(data).hexdigest(), row["id"]


def census_here(path: Path) -> Counter:
    """Op census written again here: TFLite through the schema ai-edge-litert ships, ONNX through onnx."""
    if path.suffix == ".onnx":
        import onnx

        counts: Counter = Counter()
        graphs = [onnx.load(str(path)).graph]
        while graphs:
            graph = graphs.pop()
            for node in graph.node:
                counts[node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}::{node.op_type}"] += 1
                for attribute in node.attribute:  # Loop / Scan / If bodies
                    graphs += ([attribute.g] if attribute.HasField("g") else []) + list(attribute.graphs)
        return counts
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(path.read_bytes(), 0)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    codes = []
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        number = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        custom = number == schema.BuiltinOperator.CUSTOM
        codes.append("CUSTOM:" + code.CustomCode().decode() if custom else names[number])
    return Counter(
        codes[model.Subgraphs(s).Operators(o).OpcodeIndex()]
        for s in range(model.SubgraphsLength())
        for o in range(model.Subgraphs(s).OperatorsLength())
    )


def test_census_is_read_from_the_files(run):
    report, _, work = run
    found = rows(report)
    for row in found.values():
        if row["converts"]:
            path = work / row["file"]
            assert dict(census_here(path)) == row["census"], row["id"]
            for op in row["summary"]["flex_ops"]:  # the TF op names are in the file itself
                assert (op if path.suffix == ".onnx" else f"Flex{op}").encode() in path.read_bytes()
    # what the issue reports, seen in this run's files: Flex ops where Keras exports with its defaults, a Loop
    # where tf2onnx lowers the masked LSTM, native LSTM nodes only in edgeclf's fused artifacts
    assert {"StringSplitV2", "TensorListReserve"} <= set(found["keras-litert"]["summary"]["flex_ops"])
    assert found["keras-litert-ids"]["summary"]["flex_nodes"] > 0
    assert found["keras-litert-ids-b1"]["summary"]["flex_nodes"] == 0
    if found["keras-onnx"]["converts"]:  # tf2onnx copies the TextVectorization string ops as they are
        assert "StaticRegexReplace" in found["keras-onnx"]["summary"]["flex_ops"]
    assert found["edgeclf tflite-fp32"]["summary"]["flex_nodes"] == 0
    assert found["edgeclf onnx-fused-fp32"]["summary"]["lstm"] >= 1
    assert found["edgeclf onnx-fused-fp32"]["summary"]["loop_scan"] == 0
    for name in TF2ONNX_ROWS - {"tf2onnx-ids"}:
        if found[name]["converts"]:
            assert found[name]["summary"]["loop_scan"] >= 1 and found[name]["summary"]["lstm"] == 0, name


def test_runs_were_without_tensorflow_and_flex_models_do_not_load(run):
    found = rows(run[0])
    for row in found.values():
        if row.get("loads"):
            assert row["importable_in_load_child"] == [], row["id"]
    for name in ("keras-litert", "keras-litert-ids"):
        assert not found[name]["loads"] and "Select TensorFlow op(s)" in found[name]["load_error"]


def test_delta_is_recomputed_from_saved_outputs_and_outputs_are_real(run):
    report, _, work = run
    keras_raw = np.asarray(report["keras_raw"])
    loaded = [row for row in report["rows"] if row.get("loads")]
    assert {"edgeclf tflite-fp32", "edgeclf onnx-fused-fp32", "keras-litert-ids-b1"} <= {r["id"] for r in loaded}
    for row in loaded:
        delta = float(np.max(np.abs(np.asarray(row["outputs"]) - keras_raw)))
        assert row["max_abs_diff"] == pytest.approx(delta, rel=1e-12, abs=0), row["id"]
        if row["id"].endswith("fp32") or row["id"] in ("keras-litert-ids-b1", "tf2onnx-ids-function"):
            scores = 1 / (1 + np.exp(-np.asarray(row["outputs"])))  # float32 artifacts: scores within 1e-5
            assert np.max(np.abs(scores - 1 / (1 + np.exp(-keras_raw)))) <= 1e-5, row["id"]
    import onnxruntime as ort

    for row in loaded:  # ONNX outputs again, here, from the saved file and the saved ids
        if row["file"].endswith(".onnx"):
            session = ort.InferenceSession(str(work / row["file"]), providers=["CPUExecutionProvider"])
            name = session.get_inputs()[0].name
            again = [float(session.run(None, {name: np.array([ids], np.int32)})[0].reshape(-1)[0])
                     for ids in report["ids"]]  # fmt: skip
            np.testing.assert_allclose(again, row["outputs"], rtol=0, atol=1e-6, err_msg=row["id"])


def test_keras_reference_is_keras(run, keras_model):
    import tensorflow as tf

    report, _, work = run
    with (work / "texts.csv").open(newline="", encoding="utf-8") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)]
    assert len(texts) == report["texts"]
    ids = [np.asarray(keras_model.layers[0](tf.constant([t])))[0].tolist() for t in texts]
    assert ids == report["ids"]
    raw = [float(np.asarray(keras_model(tf.constant([t]), training=False)).reshape(-1)[0]) for t in texts]
    np.testing.assert_allclose(raw, report["keras_raw"], rtol=0, atol=1e-5)  # eager here, tf.function there


def test_latency_medians_are_the_samples_and_the_markdown_is_the_json(run):
    report, md, _ = run
    for row in report["rows"]:
        if row.get("loads"):
            assert len(row["raw_samples_us"]) == TEXTS * ROUNDS and min(row["raw_samples_us"]) > 0
            assert row["raw_median_us"] == pytest.approx(float(np.median(row["raw_samples_us"])))
            if row["id"].startswith("edgeclf"):
                assert row["e2e_median_us"] == pytest.approx(float(np.median(row["e2e_samples_us"])))
        line = next(x for x in md.splitlines() if x.startswith(f"| `{row['id']}` |"))
        if row["converts"]:
            assert f"| {row['size']:,} |" in line
        if row.get("loads"):
            assert f"| {row['raw_median_us']:,.0f} |" in line and f"| {row['max_abs_diff']:.2e} |" in line
        for error in (row.get("convert_error"), row.get("load_error")):
            if error:
                assert error in md
    assert report["command"] in md

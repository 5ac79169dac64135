"""The default artifact follows the measured latencies and the backends installed where the bundle runs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from edgeclf import Classifier
from edgeclf.selection import (
    FASTEST_EXACT,
    choose,
    device_record_path,
    is_exact,
    read_device_record,
    write_device_record,
)

EVERY_BACKEND = {"litert", "onnxruntime", "numpy"}


@pytest.fixture(scope="module")
def manifest(small_bundle):
    return json.loads((small_bundle / "manifest.json").read_text())


def test_conversion_times_every_exact_artifact_and_defaults_to_the_fastest(manifest):
    choice = manifest["default_choice"]
    assert choice["rule"] == FASTEST_EXACT
    exact = [a for a in manifest["artifacts"] if is_exact(a)]
    assert {a["name"] for a in exact} == set(choice["ranking"])  # every exact artifact was timed here
    latencies = [next(a for a in exact if a["name"] == n)["latency"]["p50_us"] for n in choice["ranking"]]
    assert latencies == sorted(latencies) and all(v > 0 for v in latencies)
    assert manifest["default_artifact"] == choice["ranking"][0]
    for artifact in manifest["artifacts"]:  # quantized artifacts are never the default unless pinned
        if not is_exact(artifact):
            assert artifact["name"] not in choice["ranking"]


def test_the_choice_skips_artifacts_whose_backend_is_missing(manifest):
    ranking = manifest["default_choice"]["ranking"]
    formats = {a["name"]: a["format"] for a in manifest["artifacts"]}
    assert choose(manifest, EVERY_BACKEND).artifact == ranking[0]
    for missing in ({"onnxruntime"}, {"litert"}, {"litert", "onnxruntime"}):
        here = EVERY_BACKEND - missing
        picked = choose(manifest, here)
        runs_here = {"tflite": "litert" in here, "onnx": "onnxruntime" in here, "numpy": True}
        expected = next(n for n in ranking if runs_here[formats[n]])
        assert picked.artifact == expected, missing
        assert picked.backend in here
    # a named backend picks the fastest artifact it can run
    assert formats[choose(manifest, EVERY_BACKEND, backend="numpy").artifact] == "numpy"


def test_a_pinned_default_wins_over_measurements(manifest):
    quantized = next(a["name"] for a in manifest["artifacts"] if not is_exact(a))
    pinned = {**manifest, "default_artifact": quantized, "default_choice": {"rule": "pinned"}}
    assert choose(pinned, EVERY_BACKEND).artifact == quantized


def test_a_device_record_reorders_the_choice_only_for_its_own_manifest(small_bundle, tmp_path, manifest):
    bundle = tmp_path / "b"
    shutil.copytree(small_bundle, bundle)
    ranking = manifest["default_choice"]["ranking"]
    slowest = ranking[-1]
    backend = {a["name"]: a["latency"]["backend"] for a in manifest["artifacts"] if a["name"] in ranking}
    measured = {
        n: {"backend": backend[n], "p50_us": 10.0 if n == slowest else 1000.0 + i} for i, n in enumerate(ranking)
    }
    write_device_record(bundle, manifest, measured)
    assert read_device_record(bundle, manifest)["ranking"][0] == slowest
    clf = Classifier.load(bundle)
    assert clf.artifact == slowest and "this device" in clf.choice.reason
    # a record made for another conversion is ignored, and so is a damaged one
    other = {**manifest, "created": "another conversion"}
    assert read_device_record(bundle, other) is None
    device_record_path(bundle).write_text("{not json")
    assert Classifier.load(bundle).artifact == ranking[0]


def test_bench_record_writes_what_load_then_follows(small_bundle, tmp_path):
    bundle = tmp_path / "b"
    shutil.copytree(small_bundle, bundle)
    done = subprocess.run(
        [sys.executable, "-m", "edgeclf.cli", "bench", str(bundle), "--runs", "10", "--warmup", "2", "--record",
         "--no-litert-benchmark", "--json"],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    record = json.loads(device_record_path(bundle).read_text())
    document = json.loads(done.stdout)
    medians = {r["artifact"]: r["end_to_end"]["p50"] for r in document["configs"] if r["threads"] == 1}
    assert record["ranking"][0] == min((n for n in record["ranking"]), key=lambda n: medians[n])
    assert Classifier.load(bundle).artifact == record["ranking"][0]


@pytest.mark.parametrize("artifact", ["onnx-fused-fp32", "numpy-fp32", "tflite-fp32"])
def test_batches_and_workers_are_bit_equal_to_one_text_at_a_time(small_bundle, imdb_split, artifact):
    texts = list(imdb_split[1].texts[:200])
    single = Classifier.load(small_bundle, artifact=artifact)
    alone = single.raw_outputs(texts, batch_size=1)
    for batch_size in (16, 64):
        assert np.array_equal(single.raw_outputs(texts, batch_size=batch_size), alone), batch_size
    pair = Classifier.load(small_bundle, artifact=artifact, workers=2)
    assert np.array_equal(pair.raw_outputs(texts, batch_size=16), alone)
    assert np.array_equal(pair.raw_outputs(texts, batch_size=1), alone)


@pytest.mark.parametrize("artifact", ["onnx-fused-fp32", "numpy-fp32", "tflite-fp32"])
def test_one_text_calls_are_bit_equal_to_the_batched_path(small_bundle, imdb_split, artifact):
    """``predict(text)`` takes its own short path (no batching, no numpy after the interpreter): the same raw row,
    scores and labels as the text inside a batch, token-less texts (the no-token rule) included."""
    texts = [*imdb_split[1].texts[:40], "", "  ", "?!", "great"]
    clf = Classifier.load(small_bundle, artifact=artifact)
    batched = clf.predict(texts, batch_size=16)
    raw = clf.raw_outputs(texts, batch_size=16)
    for i, text in enumerate(texts):
        (one,) = clf.predict(text)
        assert one == batched[i], text[:40]
        assert np.array_equal(clf.raw_outputs(text), raw[i : i + 1])
        assert np.array_equal(clf.scores(text)[0], np.array(list(one.scores.values())))
    clf.raw_outputs("")[:] = 42.0  # the caller's array: the recorded no-token answer stays untouched
    assert np.array_equal(clf.raw_outputs(""), raw[len(texts) - 4 : len(texts) - 3])

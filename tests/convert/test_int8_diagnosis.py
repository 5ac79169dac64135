"""Full-integer artifacts far outside the target: refused with the tensors whose quantization broke, named as the
TFLite file names them; and int8-float-rnn (recurrent layers float, embedding and dense int8) measured beside them.

The tutorial BiLSTM calibrated on 1,000 IMDB training reviews (longer reviews widen the ranges one int8 scale must
cover) loses a sixth of its labels in full int8 on 200 held-out reviews: refused under the 0.9 line.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

from edgeclf.convert.artifacts import ArtifactPlan, ConversionError, build
from edgeclf.convert.parity import QUANTIZED_MIN_AGREEMENT
from edgeclf.convert.pipeline import REFUSE_BELOW_AGREEMENT, convert
from edgeclf.convert.quant_diagnosis import SHOWN
from edgeclf.convert.tflite import CALIBRATION_FILE, convert_to_tflite
from edgeclf.network import Network
from edgeclf.runtime import Classifier

CALIBRATION = 1000
pytestmark = pytest.mark.slow  # one conversion calibrated on 1,000 reviews, and the int8 rebuilt: minutes


@pytest.fixture(scope="module")
def calibrated_on_long_reviews(tmp_path_factory, example_model_path, imdb_split):
    out = tmp_path_factory.mktemp("int8") / "imdb"
    manifest = convert(
        example_model_path, out, parity_texts=imdb_split[1].head(200), parity_source="IMDB test, first 200",
        calibration_texts=imdb_split[0].head(CALIBRATION), calibration_samples=CALIBRATION,
        formats=["tflite"], rnn_forms=["fused"], precisions=["fp32", "int8", "int8-float-rnn"],
        tflite_runtime_compatible=True, progress=lambda message: None,
    )  # fmt: skip
    return out, manifest


def test_refused_int8_names_tensors_that_exist_in_it(calibrated_on_long_reviews, imdb_split, tmp_path):
    bundle, manifest = calibrated_on_long_reviews
    (failed,) = [f for f in manifest["failed_artifacts"] if f["name"] == "tflite-fused-int8"]
    assert failed["error"].startswith("refused: label agreement with Keras")
    agreement = float(failed["error"].split("Keras ")[1].split()[0])
    assert agreement < REFUSE_BELOW_AGREEMENT
    assert "worst ranges: " in failed["error"] and "--quantize int8-float-rnn" in failed["error"]
    worst = failed["worst_ranges"]
    assert len(worst) == SHOWN and all(w["tensor"] in failed["error"] for w in worst)
    shown = subprocess.run([sys.executable, "-m", "edgeclf.cli", "inspect", str(bundle)], capture_output=True,
                           text=True, timeout=120)  # fmt: skip
    assert f"tflite-fused-int8: not written ({failed['error']})" in shown.stdout, shown.stderr
    assert failed["error"] in (bundle / "report.md").read_text()
    # the refused file is gone: rebuild it from the bundle's network with the same calibration ids (deterministic)
    again = tmp_path / "again"
    shutil.copytree(bundle, again)
    tokenizer = Classifier.load(bundle, artifact="tflite-fused-fp32").tokenizer
    ids = {str(i): tokenizer.encode(t) for i, t in enumerate(imdb_split[0].head(CALIBRATION).texts)}
    np.savez(again / CALIBRATION_FILE, **ids)
    convert_to_tflite(again, again / "int8.tflite", "int8", "fused")
    tensors = {d["name"]: d for d in Interpreter(model_path=str(again / "int8.tflite")).get_tensor_details()}
    for w in worst:
        assert w["tensor"] in tensors, (w["tensor"], sorted(tensors))
        assert tensors[w["tensor"]]["dtype"].__name__ == w["dtype"] in ("int8", "int16")
        assert 0 <= w["outside_range"] <= 1 and w["rmse_of_range"] > 0
    # what broke is in the recurrent layers, not in the embedding lookup
    assert worst[0]["op"] == "UNIDIRECTIONAL_SEQUENCE_LSTM" and "bidirectional" in worst[0]["layer"]
    assert not any(w["op"] == "GATHER" for w in worst)


def test_float_recurrent_variant_keeps_the_labels(calibrated_on_long_reviews):
    bundle, manifest = calibrated_on_long_reviews
    artifacts = {a["name"]: a for a in manifest["artifacts"]}
    mixed = artifacts["tflite-fused-int8-float-rnn"]
    parity = mixed["parity"]
    assert parity["texts"] == 200 and parity["max_abs_diff"] < 0.1, parity  # full int8: 0.54
    assert parity["label_agreement"] >= QUANTIZED_MIN_AGREEMENT
    assert mixed["embedding_dtype"] == "INT8" and mixed["ops"]["UNIDIRECTIONAL_SEQUENCE_LSTM"] == 2
    fp32 = artifacts["tflite-fused-fp32"]
    assert mixed["weight_bytes"]["recurrent"] == fp32["weight_bytes"]["recurrent"]  # recurrent kernels stay float32
    assert mixed["weight_bytes"]["embedding"] * 4 == fp32["weight_bytes"]["embedding"]
    assert mixed["size"] < 0.65 * fp32["size"]
    scores = Classifier.load(bundle, artifact="tflite-fused-int8-float-rnn").scores(["a wonderful, moving film"])
    assert scores.shape == (1, 2) and np.all(np.isfinite(scores))


def test_float_recurrent_variant_needs_the_fused_form(calibrated_on_long_reviews, tmp_path):
    bundle, _ = calibrated_on_long_reviews
    with pytest.raises(ConversionError, match="only --rnn fused"):  # a loop or unrolled graph has no fused op to keep
        build(ArtifactPlan("tflite", "int8-float-rnn", "loop"), Network.load(bundle), tmp_path)

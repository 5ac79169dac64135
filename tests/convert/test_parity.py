"""The float32 TFLite artifact gives Keras's scores on real reviews, through edgeclf's own tokenizer."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgeclf.convert.datasets import LabelledTexts
from edgeclf.convert.parity import check_parity, keras_raw_outputs, keras_reference
from edgeclf.runtime import Classifier, probabilities

TOLERANCE = 1e-5  # the fp32 bound the issue sets; not to be loosened


@pytest.fixture(scope="module")
def classifier(example_bundle) -> Classifier:
    return Classifier.load(example_bundle)


def test_parity_on_500_real_test_reviews(keras_model, classifier, imdb_split):
    _, test = imdb_split
    data = LabelledTexts(test.texts[200:700], test.labels[200:700])  # not the reviews the bundle was checked on
    reference = keras_reference(keras_model, data, classifier.tokenizer)
    report = check_parity(reference, classifier, "binary", TOLERANCE)
    assert report.texts == 500
    assert report.max_abs_diff <= TOLERANCE
    assert report.label_agreement == 1.0
    assert report.accuracy_delta == 0.0
    assert report.keras_accuracy > 0.8  # the tutorial model reaches ~0.86; a broken model would sit near 0.5
    assert report.empty_text_abs_diff <= TOLERANCE
    assert report.ok


def test_short_and_long_reviews_padded_together(keras_model, classifier, imdb_split):
    """The tutorial's masking check: one padded Keras batch mixing a few words with the longest reviews."""
    _, test = imdb_split
    by_length = sorted(test.texts[:1000], key=len)
    batch = ["great", "what a wonderful film", *by_length[:3], *by_length[-3:]]
    keras_out = keras_raw_outputs(keras_model, batch)  # one batch, padded to the longest review
    keras_scores = probabilities(keras_out, "binary", outputs_logits=True)
    assert np.max(np.abs(keras_scores - classifier.scores(batch))) <= TOLERANCE
    # and each text alone gives the same as inside the padded batch
    alone = np.concatenate([keras_raw_outputs(keras_model, [t]) for t in batch[:2]])
    assert np.max(np.abs(alone - keras_out[:2])) <= TOLERANCE


def test_manifest_records_parity_and_artifact(example_bundle):
    """The default conversion: float32 TFLite, ONNX and numpy (the fastest of them the default), and dynamic-range
    variants."""
    manifest = json.loads((example_bundle / "manifest.json").read_text())
    artifacts = {a["name"]: a for a in manifest["artifacts"]}
    assert set(artifacts) == {
        "tflite-fp32", "tflite-dynamic", "tflite-scan-fp32", "tflite-scan-dynamic", "onnx-fused-fp32",
        "onnx-fused-dynamic", "numpy-fp32",
    }  # fmt: skip
    assert {a["file"] for a in artifacts.values()} >= {"model.tflite", "model.onnx", "network.json"}
    for artifact in artifacts.values():
        assert artifact["parity"]["ok"], artifact["name"]
        if artifact["precision"] == "fp32":
            assert artifact["parity"]["max_abs_diff"] <= TOLERANCE, artifact["name"]
            assert artifact["parity"]["label_agreement"] == 1.0
    assert manifest["default_artifact"] == manifest["default_choice"]["ranking"][0]
    assert artifacts[manifest["default_artifact"]]["precision"] == "fp32"
    artifact = artifacts["tflite-fp32"]
    assert artifact["parity"]["max_abs_diff"] <= TOLERANCE
    assert artifact["parity"]["texts"] == 200
    assert artifact["ops"]["WHILE"] == 2  # Bidirectional: one loop per direction
    assert not any(op.startswith(("CUSTOM", "Flex")) for op in artifact["ops"])
    assert manifest["task"] == "binary" and manifest["labels"] == ["negative", "positive"]
    assert manifest["output"]["logits"] is True
    assert manifest["input"]["masked"] is True and manifest["input"]["feed"] == "true_length"
    assert (example_bundle / "report.md").read_text().count("tflite-fp32") >= 2


def test_scores_are_probabilities(classifier):
    (p,) = classifier.predict("This was an absolutely wonderful, moving film. I loved every minute.")
    assert p.labels == ["positive"]
    assert set(p.scores) == {"negative", "positive"}
    assert abs(sum(p.scores.values()) - 1) < 1e-9
    (n,) = classifier.predict("Terrible, boring, a total waste of time. The worst movie I have ever seen.")
    assert n.labels == ["negative"]


@pytest.mark.parametrize("fmt", ["tflite", "onnx"])
def test_one_perturbed_weight_fails_the_conversion(fmt, example_model_path, tmp_path, monkeypatch):
    """Negative control: the parity check can fail. The head's bias is moved by 1e-3 in the network description
    the artifact is lowered from (the staged description is restored right after, so every file hash is right):
    the artifact is then off by far more than 1e-5, mostly with the same labels, and the conversion must stop
    with a ParityError naming it and leave no bundle and no staging folder."""
    from edgeclf import ParityError
    from edgeclf.convert import pipeline

    real_build = pipeline.build

    def build_from_a_perturbed_description(plan, network, staging):
        weights = staging / "weights.npz"
        genuine = weights.read_bytes()
        with np.load(weights) as loaded:
            arrays = dict(loaded)
        head = [layer.name for layer in network.layers if layer.kind == "dense"][-1]  # the output layer
        arrays[f"{head}/bias"] = arrays[f"{head}/bias"] + np.float32(1e-3)  # one weight, one step
        np.savez(weights, **arrays)
        try:
            return real_build(plan, network, staging)
        finally:
            weights.write_bytes(genuine)

    monkeypatch.setattr(pipeline, "build", build_from_a_perturbed_description)
    texts = pipeline.parity_texts_for_example()
    out = tmp_path / "bundle"
    with pytest.raises(ParityError) as raised:
        pipeline.convert(
            example_model_path, out, formats=[fmt], precisions=["fp32"], progress=lambda _m: None,
            parity_texts=LabelledTexts(texts.texts[:60], texts.labels[:60]), parity_source="held-out reviews",
        )  # fmt: skip
    message = str(raised.value)
    print(f"\n{message}")
    name = {"tflite": "tflite-fp32", "onnx": "onnx-fused-fp32"}[fmt]
    assert message.startswith(f"{name} disagrees with Keras"), message
    assert float(message.split("max |Δ| score ")[1].split()[0]) > TOLERANCE
    assert list(tmp_path.iterdir()) == []  # no bundle, no staging folder

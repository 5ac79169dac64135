"""The ``scan`` TFLite form (convert/lowering/scan): edgeclf's own recurrence loop, input projection hoisted.

Real conversions, judged by the pipeline's parity run (a float32 artifact beyond 1e-5 of Keras fails the
conversion): the zoo's trained models and small models trained here on real IMDB reviews for the configurations
the zoo lacks (GRU reset_after=False, merge modes sum/ave/mul, go_backwards, halves of different kinds, other
activations). Parity texts: real held-out reviews plus one-token texts and the longest test reviews.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgeclf.convert.datasets import LabelledTexts, imdb_split
from edgeclf.convert.examples.zoo import catalog
from edgeclf.convert.pipeline import FP32_TOLERANCE, convert, parity_texts_for_example
from edgeclf.network import Network
from edgeclf.opcensus import tflite_op_names
from edgeclf.runtime import Classifier

REVIEWS = 120
ZOO = catalog()


def _parity_texts(held_out: LabelledTexts) -> LabelledTexts:
    """``REVIEWS`` held-out texts, five one-token texts and the three longest IMDB test reviews."""
    test = imdb_split()[1]
    longest = sorted(test.texts, key=len)[-3:]
    one_token = ["great", "awful", "the", "boring", "zzzzunknownword"]
    texts = list(held_out.texts[:REVIEWS]) + one_token + longest
    return LabelledTexts(texts, np.full(len(texts), -1, dtype=np.int64))


def _loop_bodies(path: Path) -> list[list[str]]:
    """The op types of each WHILE body subgraph (every subgraph but the main one and the 1-op conditions)."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(path.read_bytes(), 0)
    names = tflite_op_names(model)
    bodies = []
    for s in range(1, model.SubgraphsLength()):
        graph = model.Subgraphs(s)
        ops = [names[graph.Operators(o).OpcodeIndex()] for o in range(graph.OperatorsLength())]
        if ops != ["LESS"]:
            bodies.append(ops)
    return bodies


def _recurrent_layers(network: Network) -> list[str]:
    return [layer.kind for layer in network.layers if layer.kind in ("lstm", "gru", "simple_rnn", "bidirectional")]


def _assert_exact_scan(manifest: dict, bundle: Path) -> dict:
    artifacts = {a["name"]: a for a in manifest["artifacts"]}
    assert "tflite-scan-fp32" in artifacts, manifest["failed_artifacts"]
    scan = artifacts["tflite-scan-fp32"]
    parity = scan["parity"]
    assert parity["texts"] >= REVIEWS
    assert parity["max_abs_diff"] <= FP32_TOLERANCE, parity
    assert parity["max_abs_diff_raw"] <= parity["tolerance_raw"], parity
    assert parity["empty_text_abs_diff"] <= FP32_TOLERANCE, parity
    assert parity["label_agreement"] == 1.0
    # the form: one loop per recurrent layer (a Bidirectional's halves share it when they share a cell), no mask
    network = Network.load(bundle)
    bodies = _loop_bodies(bundle / scan["file"])
    assert scan["ops"]["WHILE"] == len(bodies) >= len(_recurrent_layers(network))
    for body in bodies:
        assert "SELECT_V2" not in body and "SELECT" not in body  # no per-step mask
        assert "FULLY_CONNECTED" not in body or "BATCH_MATMUL" not in body
    return scan


@pytest.fixture(scope="module")
def example_scan(tmp_path_factory, example_model_path):
    out = tmp_path_factory.mktemp("scan") / "imdb"
    held_out = parity_texts_for_example()
    manifest = convert(
        example_model_path, out, parity_texts=_parity_texts(held_out), parity_source="heldout.csv + extremes",
        formats=["tflite"], rnn_forms=["loop", "scan"], precisions=["fp32", "dynamic"], progress=lambda _m: None,
    )  # fmt: skip
    return out, manifest


def test_example_bilstm_scan_is_one_stacked_loop_and_exact(example_scan):
    bundle, manifest = example_scan
    scan = _assert_exact_scan(manifest, bundle)
    (body,) = _loop_bodies(bundle / scan["file"])
    # both directions in one loop: per step one recurrent BATCH_MATMUL and one LOGISTIC (all four gates), no input
    # projection inside, 14 ops
    assert body.count("BATCH_MATMUL") == 1 and body.count("LOGISTIC") == 1 and len(body) <= 14
    assert "FULLY_CONNECTED" not in body and "SPLIT_V" not in body  # SPLIT_V: XNNPACK has none
    assert scan["input_shape"] == [1, -1]


def test_scan_gives_loop_results_on_real_reviews(example_scan, imdb_split):
    bundle, manifest = example_scan
    texts = imdb_split[1].texts[700:900]
    loop = Classifier.load(bundle, artifact="tflite-fp32").raw_outputs(texts)
    scan = Classifier.load(bundle, artifact="tflite-scan-fp32").raw_outputs(texts)
    assert np.max(np.abs(loop - scan)) <= FP32_TOLERANCE * max(1.0, float(np.max(np.abs(loop))))
    dynamic = {a["name"]: a for a in manifest["artifacts"]}["tflite-scan-dynamic"]
    assert dynamic["parity"]["label_agreement"] >= 0.9  # int8 weights: not exact, written beside it


@pytest.mark.parametrize("name", sorted(ZOO))
def test_zoo_models_as_scan(name, tmp_path):
    model = ZOO[name]
    texts = _parity_texts(model.eval_texts(300))
    manifest = convert(
        model.model(tmp_path), tmp_path / "bundle", labels=model.labels, parity_texts=texts,
        parity_source="held-out + extremes", formats=["tflite"], rnn_forms=["scan"], precisions=["fp32"],
        progress=lambda _m: None, **model.convert_options,
    )  # fmt: skip
    _assert_exact_scan(manifest, tmp_path / "bundle")


# Configurations the zoo lacks, each trained briefly on real IMDB reviews (weights away from their initial values)
TRAINED = {
    "bigru_no_reset_after_sum__bilstm_relu_hard_sigmoid_ave": lambda k: [
        k.layers.Bidirectional(k.layers.GRU(12, reset_after=False, return_sequences=True), merge_mode="sum"),
        k.layers.Bidirectional(
            k.layers.LSTM(8, activation="relu", recurrent_activation="hard_sigmoid"), merge_mode="ave"
        ),
    ],
    # unmasked, fixed length: with a mask Keras itself gives a padded text another answer than the text alone
    # (go_backwards returns its sequence reversed while the mask it passes on is not), so no masked form is exact
    "unmasked_length_60__lstm_go_backwards_sequences__birnn_mul": lambda k: [
        k.layers.LSTM(12, go_backwards=True, return_sequences=True),
        k.layers.Bidirectional(k.layers.SimpleRNN(8, activation="elu"), merge_mode="mul"),
    ],
    "bidirectional_halves_of_two_kinds__gru_go_backwards": lambda k: [
        k.layers.Bidirectional(
            k.layers.LSTM(8, return_sequences=True),
            backward_layer=k.layers.GRU(8, go_backwards=True, return_sequences=True),
        ),
        k.layers.GRU(8, go_backwards=True, reset_after=True, activation="softsign", recurrent_activation="linear"),
    ],
}


def _train(recurrent: list, path: Path, length: int | None = None) -> Path:
    """TextVectorization → Embedding → ``recurrent`` → Dense(1) logit, one epoch on 1,500 real reviews. Any length
    and a mask, or ``length`` tokens (post-padded) and no mask."""
    import keras

    keras.utils.set_random_seed(7)
    train = imdb_split()[0].head(1500)
    texts = np.asarray([" ".join(t.split()[:80]) for t in train.texts], dtype=object)
    vectorize = keras.layers.TextVectorization(max_tokens=3000, output_sequence_length=length)
    vectorize.adapt(texts)
    model = keras.Sequential([
        keras.Input(shape=(), dtype="string", name="text"), vectorize,
        keras.layers.Embedding(3000, 16, mask_zero=length is None), *recurrent, keras.layers.Dense(1),
    ])  # fmt: skip
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=keras.losses.BinaryCrossentropy(from_logits=True))
    model.fit(texts, train.labels.astype("float32"), batch_size=64, epochs=1, verbose=0)
    model.save(path)
    return path


@pytest.mark.parametrize("config", sorted(TRAINED))
def test_trained_configurations_as_scan(config, tmp_path):
    import keras

    length = 60 if config.startswith("unmasked_length_60") else None
    model = _train(TRAINED[config](keras), tmp_path / "model.keras", length)
    manifest = convert(
        model, tmp_path / "bundle", labels=["negative", "positive"], parity_texts=_parity_texts(imdb_split()[1]),
        parity_source="held-out + extremes", formats=["tflite"], rnn_forms=["scan"], precisions=["fp32"],
        progress=lambda _m: None,
    )  # fmt: skip
    _assert_exact_scan(manifest, tmp_path / "bundle")


def test_unsupported_activation_is_refused_not_approximated(tmp_path):
    import keras

    model = _train([keras.layers.LSTM(8, activation="gelu")], tmp_path / "model.keras")
    manifest = convert(
        model, tmp_path / "bundle", labels=["negative", "positive"], parity_texts=imdb_split()[1].head(40),
        formats=["tflite"], rnn_forms=["loop", "scan"], precisions=["fp32"], progress=lambda _m: None,
    )  # fmt: skip
    assert [a["name"] for a in manifest["artifacts"]] == ["tflite-fp32"]
    (failed,) = manifest["failed_artifacts"]
    assert failed["name"] == "tflite-scan-fp32"
    assert "activation 'gelu' is not supported by the scan form" in failed["error"], failed


def test_scan_is_planned_by_default_where_texts_are_fed_at_true_length(example_scan):
    from edgeclf.convert.artifacts import plan_artifacts

    bundle, _ = example_scan
    names = [p.name for p in plan_artifacts(network=Network.load(bundle))]
    assert "tflite-scan-fp32" in names and "tflite-fp32" in names

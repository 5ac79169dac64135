"""ONNX artifacts: native LSTM/GRU/RNN ops emitted from the network description, run by real ONNX Runtime.

Checked against real Keras: the example BiLSTM in mixed-length padded batches (its parity on 500 real reviews,
like every backend's, is in test_backends.py), its dynamically quantized artifact (recorded figures), and small
models built here for every lowering in the fused and the unrolled form (GRU both reset modes, SimpleRNN, stacked
LSTM, Bidirectional LSTM/GRU, mixed halves, go_backwards, a softmax head, an unmasked fixed-length model), one of
them through the whole pipeline with a fixed-length TextVectorization.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgeclf.convert.datasets import LabelledTexts
from edgeclf.convert.parity import QUANTIZED_MIN_AGREEMENT, keras_raw_outputs
from edgeclf.runtime import Classifier, probabilities

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

TOLERANCE = 1e-5  # the fp32 bound the issue sets; not to be loosened
FP32 = "onnx-fused-fp32"
DYNAMIC = "onnx-fused-dynamic"


def _convert(model_path, out, **kwargs):
    from edgeclf.convert.pipeline import convert, parity_texts_for_example

    return convert(model_path, out, parity_texts=parity_texts_for_example(), parity_source="heldout.csv",
                   progress=lambda message: None, **kwargs)  # fmt: skip


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, example_model_path):
    """The example with its TFLite and fused float ONNX artifacts side by side."""
    out = tmp_path_factory.mktemp("onnx") / "imdb"
    _convert(example_model_path, out, formats=["tflite", "onnx"])
    return out


@pytest.fixture(scope="module")
def dynamic_bundle(tmp_path_factory, example_model_path):
    """The example's ONNX artifacts only (precisions apply to every format: no TFLite quantization to wait for)."""
    out = tmp_path_factory.mktemp("onnx") / "imdb-dynamic"
    _convert(example_model_path, out, formats=["onnx"], precisions=["fp32", "dynamic"])
    return out


@pytest.fixture(scope="module")
def onnx_classifier(bundle) -> Classifier:
    return Classifier.load(bundle, artifact=FP32, backend="onnxruntime")


def _artifact(bundle_dir, name):
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    (artifact,) = [a for a in manifest["artifacts"] if a["name"] == name]
    return manifest, artifact


def _post_padded(rows: list[np.ndarray]) -> np.ndarray:
    matrix = np.zeros((len(rows), max(1, *map(len, rows))), np.int32)
    for i, ids in enumerate(rows):
        matrix[i, : len(ids)] = ids
    return matrix


def test_mixed_length_padded_batch_equals_keras_and_one_by_one(keras_model, onnx_classifier, imdb_split):
    """One post-padded batch of short, long and empty texts: each row gets its own text's result."""
    _, test = imdb_split
    by_length = sorted(test.texts[:300], key=len)
    texts = ["great", "what a wonderful film", *by_length[:20], *by_length[-20:], *test.texts[700:760]]
    rows = [onnx_classifier.tokenizer.token_ids(t) for t in [*texts, ""]]
    batch = onnx_classifier.backend.run_batch(_post_padded(rows))
    one_by_one = np.stack([onnx_classifier.backend.run(onnx_classifier.model_input(t)) for t in [*texts, ""]])
    assert batch.shape == (len(texts) + 1, 1)
    assert np.max(np.abs(batch - one_by_one)) <= TOLERANCE
    keras_scores = probabilities(keras_raw_outputs(keras_model, texts), "binary", outputs_logits=True)
    assert np.max(np.abs(probabilities(batch[:-1], "binary", True) - keras_scores)) <= TOLERANCE
    # the all-padding row (sequence_lens 0 in the fused LSTM) is ORT's own result, not the runtime's override:
    # it must be Keras's all-masked result, "" padded beside a real text in one Keras batch
    keras_empty = keras_raw_outputs(keras_model, ["", texts[-1]])[:1]
    assert np.all(np.isfinite(batch[-1]))
    empty_diff = np.max(np.abs(probabilities(batch[-1:], "binary", True) - probabilities(keras_empty, "binary", True)))
    assert empty_diff <= TOLERANCE, (batch[-1], keras_empty)


def test_fused_artifact_census_manifest_and_checker(bundle):
    manifest, artifact = _artifact(bundle, FP32)
    assert artifact["ops"]["LSTM"] == 1  # the Bidirectional LSTM is one op, direction="bidirectional"
    assert not {"Loop", "Scan", "If"} & set(artifact["ops"])
    assert artifact["input_shape"] == [-1, -1] and artifact["rnn"] == "fused"
    assert artifact["parity"]["max_abs_diff"] <= TOLERANCE and artifact["parity"]["label_agreement"] == 1.0
    model = onnx.load(str(bundle / artifact["file"]))
    onnx.checker.check_model(model, full_check=True)
    (lstm,) = [n for n in model.graph.node if n.op_type == "LSTM"]
    assert {a.name: a for a in lstm.attribute}["direction"].s == b"bidirectional"
    assert lstm.input[4], "a masked model feeds sequence_lens"
    print(f"\n{FP32}: {artifact['size']:,} B, ops {artifact['ops']}")
    # ONNX comes beside TFLite, not instead of it: both float32 artifacts are timed for the default
    assert {"tflite-fp32", FP32} <= set(manifest["default_choice"]["ranking"])


def test_metadata_props_make_the_onnx_file_deployable_alone(bundle, onnx_classifier):
    from edgeclf.tokenizer import TextVectorizer

    manifest, artifact = _artifact(bundle, FP32)
    props = {p.key: json.loads(p.value) for p in onnx.load(str(bundle / artifact["file"])).metadata_props}
    assert props["edgeclf.vocabulary"] == json.loads((bundle / "vocab.json").read_text())
    assert props["edgeclf.labels"] == manifest["labels"] == ["negative", "positive"]
    assert props["edgeclf.task"] == "binary"
    assert props["edgeclf.output"] == manifest["output"] and props["edgeclf.input"] == manifest["input"]
    spec = props["edgeclf.tokenizer"]
    assert spec == {k: v for k, v in manifest["tokenizer"].items() if k != "vocabulary_file"}
    # classify with nothing but the .onnx file: tokenizer from metadata, ORT for the numbers
    tokenizer = TextVectorizer.from_spec(spec, props["edgeclf.vocabulary"])
    session = ort.InferenceSession(str(bundle / artifact["file"]), providers=["CPUExecutionProvider"])
    text = "One of the best films I have seen in years, moving and beautifully acted."
    (logit,) = session.run(["scores"], {"tokens": tokenizer.token_ids(text).reshape(1, -1).astype(np.int32)})[0]
    assert abs(float(logit[0]) - float(onnx_classifier.raw_outputs([text])[0, 0])) <= TOLERANCE


def test_onnxruntime_backend_gives_the_tflite_backend_predictions(bundle, onnx_classifier, imdb_split):
    _, test = imdb_split
    texts = ["", "what a wonderful film", *test.texts[800:900]]
    tflite = Classifier.load(bundle, artifact="tflite-fp32", backend="litert")
    assert onnx_classifier.backend.name == "onnxruntime" and onnx_classifier.backend.dynamic_length
    ours, theirs = onnx_classifier.predict(texts), tflite.predict(texts)
    assert [p.labels for p in ours] == [p.labels for p in theirs]
    assert np.max(np.abs(onnx_classifier.scores(texts) - tflite.scores(texts))) <= TOLERANCE
    # the default backend for an onnx artifact is ONNX Runtime
    assert Classifier.load(bundle, artifact=FP32).backend.name == "onnxruntime"


def test_onnx_artifact_runs_without_tensorflow_or_the_onnx_package(bundle, onnx_classifier):
    """On a device: numpy + onnxruntime only (the onnx Python package is a converter dependency)."""
    import subprocess
    import sys

    texts = ["what a wonderful film", "a dull, lifeless and far too long movie", ""]
    code = (
        "import sys, json\n"
        "for m in ('tensorflow', 'keras', 'tf_keras', 'tf2onnx', 'onnx'):\n    sys.modules[m] = None\n"
        "from edgeclf.runtime import Classifier\n"
        f"c = Classifier.load({str(bundle)!r}, artifact={FP32!r})\n"
        f"print(json.dumps([p.to_dict() for p in c.predict({texts!r})]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [p.to_dict() for p in onnx_classifier.predict(texts)]


def test_dynamic_quantization_census_size_and_agreement(dynamic_bundle):
    _, fp32 = _artifact(dynamic_bundle, FP32)
    _, dynamic = _artifact(dynamic_bundle, DYNAMIC)
    ops, parity = dynamic["ops"], dynamic["parity"]
    print(
        f"\n{DYNAMIC}: {dynamic['size']:,} B (fp32 {fp32['size']:,} B), ops {ops}, quantization "
        f"{dynamic['quantization']['chosen']}, max |Δ| {parity['max_abs_diff']:.3g}, agreement "
        f"{parity['label_agreement']:.4f}, accuracy {parity['artifact_accuracy']} vs Keras {parity['keras_accuracy']}"
    )
    assert ops["com.microsoft:DynamicQuantizeLSTM"] == 1 and "LSTM" not in ops
    assert ops.get("DequantizeLinear", 0) >= 1  # the embedding table is stored as 8-bit and dequantized on gather
    assert ops.get("MatMulInteger", 0) >= 1
    assert dynamic["size"] < 0.4 * fp32["size"]
    assert dynamic["quantization"]["chosen"]["probe_max_abs_diff"] == min(
        c["probe_max_abs_diff"] for c in dynamic["quantization"]["candidates"]
    )
    assert parity["texts"] == 200 and parity["label_agreement"] >= 0.97  # measured, recorded, not exact
    assert abs(parity["accuracy_delta"]) <= 0.02


# --- small real Keras models, one per lowering ---------------------------------------------------------

VOCAB, EMBED = 50, 8


def _keras_model(body, mask_zero=True, length=30, vocab=VOCAB, seed=0):
    """Embedding → ``body`` layers, with every weight (biases too) drawn at random so mapping errors show."""
    import keras

    model = keras.Sequential([keras.Input((length,), dtype="int32"), keras.layers.Embedding(vocab, EMBED,
                              mask_zero=mask_zero), *body])  # fmt: skip
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.4, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def _small_models():
    import keras
    from keras import layers

    return {
        "gru_softmax3": lambda: _keras_model([layers.GRU(12), layers.Dense(3, activation="softmax")]),
        "gru_reset_before": lambda: _keras_model([layers.GRU(10, reset_after=False), layers.Dense(1, "sigmoid")]),
        "simple_rnn": lambda: _keras_model([layers.SimpleRNN(9), layers.Dense(1)]),
        "simple_rnn_relu": lambda: _keras_model([layers.SimpleRNN(7, activation="relu"), layers.Dense(2)]),
        "stacked_lstm": lambda: _keras_model(
            [layers.LSTM(12, return_sequences=True), layers.LSTM(6), layers.Dense(4, activation="softmax")]
        ),
        "bidirectional_gru": lambda: _keras_model([layers.Bidirectional(layers.GRU(8)), layers.Dense(1, "sigmoid")]),
        "stacked_bidirectional_lstm_sum": lambda: _keras_model(
            [
                layers.Bidirectional(layers.LSTM(8, return_sequences=True)),
                layers.Bidirectional(layers.LSTM(5), merge_mode="sum"),
                layers.Dense(3),
            ]
        ),
        "bidirectional_gru_ave": lambda: _keras_model(
            [layers.Bidirectional(layers.GRU(6), merge_mode="ave"), layers.Dense(2)]
        ),
        "bidirectional_lstm_mul_sequences": lambda: _keras_model(
            [
                layers.Bidirectional(layers.LSTM(6, return_sequences=True), merge_mode="mul"),
                layers.LSTM(4),
                layers.Dense(1),
            ]
        ),
        "bidirectional_mixed_halves": lambda: _keras_model(
            [
                layers.Bidirectional(layers.LSTM(6), backward_layer=layers.GRU(6, go_backwards=True)),
                layers.Dense(1),
            ]
        ),
        "lstm_go_backwards": lambda: _keras_model([layers.LSTM(8, go_backwards=True), layers.Dense(1)]),
        "lstm_hard_sigmoid_dense_relu": lambda: _keras_model(
            [layers.LSTM(8, recurrent_activation="hard_sigmoid"), layers.Dense(6, "relu"), layers.Dense(1)]
        ),
        "unmasked_fixed_length": lambda: _keras_model(
            [layers.LSTM(8), layers.Dense(1), keras.layers.Activation("sigmoid")], mask_zero=False, length=30
        ),
    }


def _ids_batch(length: int | None, masked: bool, seed: int = 1) -> tuple[np.ndarray, list[int]]:
    """Post-padded random ids: mixed lengths (empty, 1, ..., full) for a masked model, full rows otherwise."""
    rng = np.random.default_rng(seed)
    lengths = [0, 1, 2, 3, 7, 15, 30, 30, 11, 5] if masked else [length] * 6
    rows = [rng.integers(1, VOCAB, size=n) for n in lengths]
    return _post_padded(rows), lengths


@pytest.mark.parametrize("form", ["fused", "unrolled"])
@pytest.mark.parametrize("name", sorted(_small_models()))
def test_each_lowering_matches_keras(name, form, tmp_path):
    from edgeclf.backends.onnxruntime import OnnxRuntimeBackend
    from edgeclf.convert.keras_reader import read_network
    from edgeclf.convert.onnx import build_onnx_model, onnx_op_census

    model = _small_models()[name]()
    network, _ = read_network(model)
    path = tmp_path / f"{name}-{form}.onnx"
    onnx.save(build_onnx_model(network, form), str(path))  # build_onnx_model runs the ONNX checker
    backend = OnnxRuntimeBackend(path)
    batch, lengths = _ids_batch(network.sequence_length, network.masked)
    keras_out = np.asarray(model(batch, training=False))
    ours = backend.run_batch(batch)
    assert ours.shape == keras_out.shape
    assert np.std(keras_out, axis=0).max() > 1e-3, "the random model must not give every row the same output"
    print(f"\n{name} {form}: max |Δ| vs Keras {np.max(np.abs(ours - keras_out)):.3g}, {path.stat().st_size:,} B")
    assert np.max(np.abs(ours - keras_out)) <= TOLERANCE, name
    if network.masked:  # Keras skips masked steps wherever they sit: so must both forms
        rng = np.random.default_rng(2)
        pre_padded = np.stack([np.roll(row, len(row) - n) for row, n in zip(batch, lengths, strict=True)])
        holes = np.where(
            rng.random(batch.shape) < 0.3, 0, np.where(batch == 0, rng.integers(1, VOCAB, batch.shape), batch)
        )
        for other in (pre_padded, holes.astype(np.int32)):
            assert np.max(np.abs(backend.run_batch(other) - np.asarray(model(other, training=False)))) <= TOLERANCE
    if network.masked and form == "fused":  # each text alone, at its true length (empty: one padding token)
        assert backend.dynamic_length
        alone = np.stack([backend.run(row[: max(n, 1)]) for row, n in zip(batch, lengths, strict=True)])
        assert np.max(np.abs(alone - keras_out)) <= TOLERANCE, name
    census = onnx_op_census(path)
    assert not {"Loop", "Scan", "If"} & set(census)
    fused_ops = sum(census.get(op, 0) for op in ("LSTM", "GRU", "RNN"))
    if form == "fused":
        assert fused_ops >= 1
    else:  # plain ops over the static length: the runtime pads every text to it
        assert fused_ops == 0 and census["MatMul"] >= network.sequence_length
        assert not backend.dynamic_length


def test_unsupported_recurrent_activation_is_refused_by_name():
    from keras import layers

    from edgeclf.convert.keras_reader import read_network
    from edgeclf.convert.onnx import build_onnx_model
    from edgeclf.errors import UnsupportedModelError

    network, _ = read_network(_keras_model([layers.SimpleRNN(4, activation="gelu"), layers.Dense(1)]))
    with pytest.raises(UnsupportedModelError, match=r"simple_rnn.*'gelu'"):
        build_onnx_model(network)


def test_unrolled_form_needs_a_fixed_length(keras_model):
    from edgeclf.convert.keras_reader import read_network
    from edgeclf.convert.onnx import build_onnx_model
    from edgeclf.errors import UnsupportedModelError

    network, _ = read_network(keras_model)  # the example accepts any length
    with pytest.raises(UnsupportedModelError, match="fixed input length"):
        build_onnx_model(network, "unrolled")


@pytest.fixture(scope="module")
def fixed_length_bundle(tmp_path_factory, imdb_split):
    """A masked model with a fixed length (TextVectorization output_sequence_length): both forms, whole pipeline."""
    import keras

    from edgeclf.convert.pipeline import convert

    train, test = imdb_split
    vectorize = keras.layers.TextVectorization(max_tokens=300, output_sequence_length=60)
    vectorize.adapt(train.texts[:500])
    numeric = _keras_model(
        [keras.layers.Bidirectional(keras.layers.GRU(6)), keras.layers.Dense(1)], length=60, vocab=300
    )
    model = keras.Sequential([keras.Input(shape=(), dtype="string"), vectorize, *numeric.layers])
    folder = tmp_path_factory.mktemp("onnx-fixed")
    model.save(folder / "fixed.keras")
    texts = ["", "great", *test.texts[:150]]  # long reviews are truncated to 60 tokens by Keras and edgeclf alike
    convert(
        folder / "fixed.keras",
        folder / "bundle",
        formats=["onnx"],
        rnn_forms=["fused", "unrolled"],
        precisions=["fp32", "dynamic"],
        parity_texts=LabelledTexts(texts, np.full(len(texts), -1)),
        parity_source="test reviews",
        progress=lambda message: None,
    )
    return folder / "bundle"


def test_fixed_length_model_in_both_forms_through_the_pipeline(fixed_length_bundle, imdb_split):
    manifest = json.loads((fixed_length_bundle / "manifest.json").read_text())
    artifacts = {a["name"]: a for a in manifest["artifacts"]}
    assert set(artifacts) == {f"onnx-{form}-{p}" for form in ("fused", "unrolled") for p in ("fp32", "dynamic")}
    fused, unrolled = artifacts["onnx-fused-fp32"], artifacts["onnx-unrolled-fp32"]
    assert fused["input_shape"] == [-1, -1] and unrolled["input_shape"] == [-1, 60]
    assert fused["ops"]["GRU"] == 1 and "GRU" not in unrolled["ops"] and unrolled["ops"]["Where"] == 2 * 60
    for artifact in (fused, unrolled):
        print(f"\n{artifact['name']}: {artifact['size']:,} B, max |Δ| {artifact['parity']['max_abs_diff']:.3g}")
        assert (
            artifact["parity"]["max_abs_diff"] <= TOLERANCE and artifact["parity"]["empty_text_abs_diff"] <= TOLERANCE
        )
    _, test = imdb_split
    texts = test.texts[150:250]
    a, b = (Classifier.load(fixed_length_bundle, artifact=name) for name in ("onnx-fused-fp32", "onnx-unrolled-fp32"))
    assert a.backend.dynamic_length and not b.backend.dynamic_length  # unrolled: every text padded to 60
    assert np.max(np.abs(a.scores(texts) - b.scores(texts))) <= TOLERANCE
    # ORT's dynamic quantization has no GRU kernel: the fused GRU stays float, the unrolled matmuls go 8-bit
    fused_q, unrolled_q = artifacts["onnx-fused-dynamic"], artifacts["onnx-unrolled-dynamic"]
    assert fused_q["ops"]["GRU"] == 1 and unrolled_q["ops"]["MatMulInteger"] >= 60
    float_labels = a.predict(texts)
    for artifact in (fused_q, unrolled_q):
        print(f"{artifact['name']}: {artifact['size']:,} B, max |Δ| {artifact['parity']['max_abs_diff']:.3g}")
        assert artifact["parity"]["label_agreement"] >= QUANTIZED_MIN_AGREEMENT, artifact["parity"]
        # measured here, not read from the converter: the quantized artifact's labels on other texts
        quantized = Classifier.load(fixed_length_bundle, artifact=artifact["name"]).predict(texts)
        agreed = np.mean([q.labels == f.labels for q, f in zip(quantized, float_labels, strict=True)])
        print(f"  label agreement with float32 on {len(texts)} other reviews: {agreed:.3f}")
        assert agreed >= QUANTIZED_MIN_AGREEMENT, (artifact["name"], agreed)

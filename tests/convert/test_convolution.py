"""Convolution and pooling layers (Conv1D, Max/AveragePooling1D, GlobalMax/AveragePooling1D, Flatten) in every artifact.

Three small models trained here on real IMDB reviews, each converted by the real pipeline and checked text by
text against Keras running that text alone (a batch of one), which is Keras's own reference for it:
(a) no mask, fixed length: Conv1D → MaxPooling1D → LSTM (the imdb_cnn_lstm shape);
(b) masked, any length: Bidirectional(LSTM(return_sequences)) → GlobalMaxPooling1D (the mask reaches a max
    pooling, which reads padded steps as data in Keras 3: each text is fed at its true length, and texts are
    batched only with texts of the same length);
(c) masked, fixed length: LSTM(return_sequences) → GlobalAveragePooling1D (the pooling honours the mask, so
    padding is a no-op and padded batches are allowed).
Smaller models with random weights cover every padding / stride / dilation variant and the refusals.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from edgeclf.convert.datasets import LabelledTexts
from edgeclf.runtime import Classifier

TOLERANCE = 1e-5  # the fp32 bound: not to be loosened
# Keras 3 warns when a mask reaches Conv1D / max pooling (it drops it): that is the behaviour under test
pytestmark = pytest.mark.filterwarnings("ignore:.*does not support masking:UserWarning")
VOCAB = 2000


@pytest.fixture(scope="module")
def texts(imdb_split) -> list[str]:
    """312 real test reviews: two very short texts, the 30 shortest and 10 longest of 3,000, and 270 more."""
    _, test = imdb_split
    by_length = sorted(test.texts[:3000], key=len)
    return ["great", "what a wonderful film", *by_length[:30], *by_length[-10:], *test.texts[3000:3270]]


def _train_and_save(folder, imdb_split, name: str, length: int | None, numeric: list, train_length: int = 150):
    """TextVectorization adapted on real training reviews + ``numeric`` trained two epochs on 3,000 reviews; saved."""
    import keras

    keras.utils.set_random_seed(0)
    train, _ = imdb_split
    vectorize = keras.layers.TextVectorization(max_tokens=VOCAB, output_sequence_length=length)
    vectorize.adapt(train.texts[:3000])
    ids = keras.ops.convert_to_numpy(vectorize(train.texts[:3000]))
    ids = ids[:, : length or train_length]  # a model of any length is trained on the first 150 tokens
    model = keras.Sequential([keras.Input((length,), dtype="int32"), *numeric])
    model.compile(keras.optimizers.Adam(0.005), "binary_crossentropy")
    model.fit(ids, train.labels[:3000], epochs=2, batch_size=64, verbose=0)
    full = keras.Sequential([keras.Input(shape=(), dtype="string"), vectorize, *model.layers])
    path = folder / f"{name}.keras"
    full.save(path)
    return path


def _convert(path, out, texts, rnn_forms):
    from edgeclf.convert.pipeline import convert

    started = time.perf_counter()
    manifest = convert(
        path, out, parity_texts=LabelledTexts(texts, np.full(len(texts), -1)), parity_source="IMDB test reviews",
        precisions=["fp32"], rnn_forms=rnn_forms, progress=lambda message: None,
    )  # fmt: skip
    print(f"\n{path.name}: converted in {time.perf_counter() - started:.1f} s")
    return manifest


def _keras_alone(path, texts: list[str]) -> np.ndarray:
    """Keras on each text alone (a batch of one), in one traced graph."""
    import keras
    import tensorflow as tf

    model = keras.saving.load_model(path, compile=False)
    run = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    return np.concatenate([run(tf.constant([t])).numpy() for t in texts]).astype(np.float64)


@pytest.fixture(scope="module")
def cnn_lstm(tmp_path_factory, imdb_split, texts):
    """(a) Embedding → Dropout → Conv1D → MaxPooling1D → LSTM → Dense, no mask, 100 tokens."""
    from keras import layers

    folder = tmp_path_factory.mktemp("conv-a")
    numeric = [layers.Embedding(VOCAB, 16), layers.Dropout(0.2), layers.Conv1D(16, 5, activation="relu"),
               layers.MaxPooling1D(4), layers.LSTM(8), layers.Dense(1, activation="sigmoid")]  # fmt: skip
    path = _train_and_save(folder, imdb_split, "cnn_lstm", 100, numeric)
    manifest = _convert(path, folder / "bundle", texts, ["loop", "fused", "unrolled"])
    return folder / "bundle", manifest, _keras_alone(path, texts)


@pytest.fixture(scope="module")
def bilstm_max(tmp_path_factory, imdb_split, texts):
    """(b) masked Embedding → Bidirectional(LSTM(return_sequences)) → GlobalMaxPooling1D → Dense, any length."""
    from keras import layers

    folder = tmp_path_factory.mktemp("conv-b")
    numeric = [layers.Embedding(VOCAB, 16, mask_zero=True), layers.Bidirectional(layers.LSTM(8, return_sequences=True)),
               layers.GlobalMaxPooling1D(), layers.Dense(1, activation="sigmoid")]  # fmt: skip
    path = _train_and_save(folder, imdb_split, "bilstm_max", None, numeric)
    manifest = _convert(path, folder / "bundle", texts, ["loop", "fused"])  # no fixed length: nothing to unroll
    return folder / "bundle", manifest, _keras_alone(path, texts)


@pytest.fixture(scope="module")
def lstm_average(tmp_path_factory, imdb_split, texts):
    """(c) masked Embedding → LSTM(return_sequences) → GlobalAveragePooling1D → Dense, 80 tokens."""
    from keras import layers

    folder = tmp_path_factory.mktemp("conv-c")
    numeric = [layers.Embedding(VOCAB, 16, mask_zero=True), layers.LSTM(8, return_sequences=True),
               layers.GlobalAveragePooling1D(), layers.Dense(1, activation="sigmoid")]  # fmt: skip
    path = _train_and_save(folder, imdb_split, "lstm_average", 80, numeric)
    manifest = _convert(path, folder / "bundle", texts, ["loop", "fused", "unrolled"])
    return folder / "bundle", manifest, _keras_alone(path, texts)


def _check_every_artifact(bundle, manifest: dict, keras_raw: np.ndarray, texts: list[str], names: set[str]) -> dict:
    """Every fp32 artifact ≤ 1e-5 from Keras on every text, 100 % label agreement; returns the artifacts by name."""
    artifacts = {a["name"]: a for a in manifest["artifacts"]}
    assert set(artifacts) == names and manifest["failed_artifacts"] == []
    assert np.std(keras_raw) > 1e-2, "the trained model must not give every text the same score"
    for name, artifact in artifacts.items():
        ours = Classifier.load(bundle, artifact=name).raw_outputs(texts).astype(np.float64)
        diff = float(np.max(np.abs(ours - keras_raw)))
        print(f"{name}: max |Δ| vs Keras alone {diff:.3g} (pipeline parity {artifact['parity']['max_abs_diff']:.3g}), "
              f"ops {artifact.get('ops')}")  # fmt: skip
        assert diff <= TOLERANCE, name
        assert np.array_equal(ours[:, 0] >= 0.5, keras_raw[:, 0] >= 0.5), name
        assert artifact["parity"]["ok"] and artifact["parity"]["label_agreement"] == 1.0, name
    return artifacts


def _no_custom_ops(ops: dict) -> bool:
    return not any(op.startswith(("CUSTOM", "Flex", "FlexDelegate")) for op in ops)


def test_cnn_lstm_every_form(cnn_lstm, texts):
    bundle, manifest, keras_raw = cnn_lstm
    names = {"tflite-fp32", "tflite-fused-fp32", "tflite-unrolled-fp32", "onnx-fused-fp32", "onnx-unrolled-fp32",
             "numpy-fp32"}  # fmt: skip
    artifacts = _check_every_artifact(bundle, manifest, keras_raw, texts, names)
    assert manifest["input"]["feed"] == "fixed_length" and manifest["input"]["sequence_length"] == 100
    for name in ("tflite-fp32", "tflite-fused-fp32", "tflite-unrolled-fp32"):
        ops = artifacts[name]["ops"]
        assert ops["CONV_2D"] == 1 and ops["MAX_POOL_2D"] == 1 and _no_custom_ops(ops), name
    assert artifacts["tflite-fp32"]["ops"]["WHILE"] == 1
    assert artifacts["tflite-fused-fp32"]["ops"]["UNIDIRECTIONAL_SEQUENCE_LSTM"] == 1
    assert (
        "WHILE" not in artifacts["tflite-fused-fp32"]["ops"] and "WHILE" not in artifacts["tflite-unrolled-fp32"]["ops"]
    )
    fused, unrolled = artifacts["onnx-fused-fp32"]["ops"], artifacts["onnx-unrolled-fp32"]["ops"]
    for ops in (fused, unrolled):
        assert ops["Conv"] == 1 and ops["MaxPool"] == 1 and not {"Loop", "Scan", "If"} & set(ops)
    assert fused["LSTM"] == 1 and "LSTM" not in unrolled
    assert unrolled["MatMul"] >= (100 - 5 + 1) // 4  # one step per pooled position: 24


def test_bilstm_global_max_every_form(bilstm_max, texts):
    bundle, manifest, keras_raw = bilstm_max
    names = {"tflite-fp32", "tflite-fused-fp32", "onnx-fused-fp32", "numpy-fp32"}
    artifacts = _check_every_artifact(bundle, manifest, keras_raw, texts, names)
    # padding-sensitive: each text at its true length, never padded beside a longer one
    assert manifest["input"]["feed"] == "true_length" and manifest["input"]["padding_is_noop"] is False
    loop, fused = artifacts["tflite-fp32"]["ops"], artifacts["tflite-fused-fp32"]["ops"]
    assert loop["REDUCE_MAX"] == 1 and loop["WHILE"] == 2 and _no_custom_ops(loop)
    assert fused["REDUCE_MAX"] == 1 and fused["UNIDIRECTIONAL_SEQUENCE_LSTM"] == 2 and "WHILE" not in fused
    onnx_ops = artifacts["onnx-fused-fp32"]["ops"]
    assert onnx_ops["ReduceMax"] == 1 and onnx_ops["LSTM"] == 1 and not {"Loop", "Scan", "If"} & set(onnx_ops)
    # what makes it padding-sensitive: Keras on a padded batch differs from each text alone
    import keras

    model = keras.saving.load_model(bundle.parent / "bilstm_max.keras", compile=False)
    padded = np.asarray(model.predict(np.asarray(texts[:64], dtype=object), batch_size=64, verbose=0))
    print(f"Keras padded batch vs texts alone: max |Δ| {np.max(np.abs(padded - keras_raw[:64])):.3g}")
    assert np.max(np.abs(padded - keras_raw[:64])) > TOLERANCE


def test_lstm_global_average_every_form(lstm_average, texts):
    bundle, manifest, keras_raw = lstm_average
    names = {"tflite-fp32", "tflite-fused-fp32", "tflite-unrolled-fp32", "onnx-fused-fp32", "onnx-unrolled-fp32",
             "numpy-fp32"}  # fmt: skip
    artifacts = _check_every_artifact(bundle, manifest, keras_raw, texts, names)
    assert manifest["input"]["feed"] == "true_length" and manifest["input"]["padding_is_noop"] is True
    for name, artifact in artifacts.items():
        if artifact["format"] == "tflite":
            assert _no_custom_ops(artifact["ops"]), name
    assert "WHILE" not in artifacts["tflite-unrolled-fp32"]["ops"]
    fused, unrolled = artifacts["onnx-fused-fp32"]["ops"], artifacts["onnx-unrolled-fp32"]["ops"]
    assert fused["LSTM"] == 1 and fused["Less"] == 1  # real steps: t < true length (tokens packed to the front)
    assert "LSTM" not in unrolled and unrolled["Where"] == 2 * 80 + 1  # the LSTM's state, per step; the average's
    for ops in (fused, unrolled):  # the average keeps the real steps with a Where, as Keras does
        assert ops["ReduceSum"] >= 2 and ops["Div"] == 1 and not {"Loop", "Scan", "If"} & set(ops)
    assert fused["Where"] == 2  # the Embedding packing the tokens to the front, and the average
    # Keras averages no step for a text without tokens: 0 / 0, recorded as null (JSON has no NaN), reproduced as NaN
    assert manifest["output"]["no_token_raw"] == [None]


@pytest.mark.parametrize("fixture", ["cnn_lstm", "bilstm_max", "lstm_average"])
def test_predict_on_a_mixed_batch_equals_one_by_one(fixture, texts, request):
    """Every backend: a mixed-length batch gives each text the result it gets alone."""
    bundle, _, _ = request.getfixturevalue(fixture)
    sample = [*texts[:12], *texts[32:42], *texts[42:80]]  # very short, the longest, ordinary reviews
    for name, backend in (("tflite-fp32", "litert"), ("onnx-fused-fp32", "onnxruntime"), ("numpy-fp32", "numpy")):
        classifier = Classifier.load(bundle, artifact=name, backend=backend)
        batch = classifier.predict(sample, batch_size=16)
        alone = [classifier.predict(t)[0] for t in sample]
        assert [p.labels for p in batch] == [p.labels for p in alone], name
        batch_scores = np.array([[p.scores[k] for k in sorted(p.scores)] for p in batch])
        alone_scores = np.array([[p.scores[k] for k in sorted(p.scores)] for p in alone])
        diff = float(np.max(np.abs(batch_scores - alone_scores)))
        if backend == "onnxruntime":
            # ORT picks its MLAS matmul kernels by the batch's shape, which can sum a row in another order: the
            # last float bits may differ (1e-6 is far inside the 1e-5 fp32 bound, and is not to be loosened)
            assert diff <= 1e-6, (name, diff)
        else:  # row by row, whatever the batch: bit for bit
            assert np.array_equal(batch_scores, alone_scores, equal_nan=True), (name, diff)


# --- small models with random weights: every variant of the lowerings ------------------------------------


def _random_model(body, mask_zero=False, length=30):
    import keras

    model = keras.Sequential([keras.Input((length,), dtype="int32"), keras.layers.Embedding(50, 6, mask_zero=mask_zero),
                              *body])  # fmt: skip
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0, 0.4, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def _variants():
    from keras import layers

    return {
        "conv_same_dilated_maxpool_same_lstm": (
            [
                layers.Conv1D(5, 3, padding="same", dilation_rate=2, activation="relu"),
                layers.MaxPooling1D(3, 2, padding="same"),
                layers.LSTM(4),
                layers.Dense(1),
            ],
            False,
        ),
        "conv_causal_strided_avgpool_same_gmp": (
            [
                layers.Conv1D(5, 4, strides=2, padding="causal", activation="tanh"),
                layers.AveragePooling1D(3, padding="same"),
                layers.GlobalMaxPooling1D(),
                layers.Dense(2),
            ],
            False,
        ),
        "conv_same_strided_no_bias_flatten": (
            [
                layers.Conv1D(4, 4, strides=3, padding="same", use_bias=False),
                layers.Flatten(),
                layers.Dense(3, activation="softmax"),
            ],
            False,
        ),
        "conv_valid_avgpool_valid_gap": (
            [layers.Conv1D(4, 5), layers.AveragePooling1D(2), layers.GlobalAveragePooling1D(), layers.Dense(1)],
            False,
        ),
        "masked_gru_sequences_gap": (
            [layers.GRU(5, return_sequences=True), layers.GlobalAveragePooling1D(), layers.Dense(1)],
            True,
        ),
        "masked_embedding_gap": ([layers.GlobalAveragePooling1D(), layers.Dense(2)], True),
    }


def _post_padded_ids(masked: bool) -> np.ndarray:
    rng = np.random.default_rng(1)
    ids = rng.integers(1, 50, size=(8, 30)).astype(np.int32)
    if masked:
        for row, n in enumerate([1, 2, 3, 7, 15, 29, 30, 11]):
            ids[row, n:] = 0
    return ids


@pytest.mark.parametrize("name", sorted(_variants()))
def test_each_variant_matches_keras_in_numpy_and_both_onnx_forms(name, tmp_path):
    import onnx

    from edgeclf.backends.onnxruntime import OnnxRuntimeBackend
    from edgeclf.convert.keras_reader import read_network
    from edgeclf.convert.onnx import build_onnx_model
    from edgeclf.numpy_layers import CompiledNetwork

    body, masked = _variants()[name]
    model = _random_model(body, mask_zero=masked)
    network, _ = read_network(model)
    ids = _post_padded_ids(masked)
    keras_out = np.asarray(model(ids, training=False))
    assert np.std(keras_out, axis=0).max() > 1e-3
    results = {"numpy": CompiledNetwork(network)(ids)}
    for form in ("fused", "unrolled"):
        path = tmp_path / f"{form}.onnx"
        onnx.save(build_onnx_model(network, form), str(path))  # runs the ONNX checker
        results[form] = OnnxRuntimeBackend(path).run_batch(ids)
    for what, ours in results.items():
        print(f"{name} {what}: max |Δ| vs Keras {np.max(np.abs(ours - keras_out)):.3g}")
        assert ours.shape == keras_out.shape and np.max(np.abs(ours - keras_out)) <= TOLERANCE, what
    if masked:  # the average honours the mask wherever the padding sits
        pre_padded = np.stack([np.roll(row, int((row == 0).sum())) for row in ids])
        for what, ours in (("numpy", CompiledNetwork(network)(pre_padded)),
                           ("fused", OnnxRuntimeBackend(tmp_path / "fused.onnx").run_batch(pre_padded))):  # fmt: skip
            assert np.max(np.abs(ours - np.asarray(model(pre_padded, training=False)))) <= TOLERANCE, what


def test_global_average_ignores_what_padded_steps_hold(tmp_path):
    """Keras 3.15 averages ``where(mask, x, 0)``: an inf at a padded step (embedding row 0 here) is never read,
    where ``x · mask`` would give inf · 0 = NaN."""
    import onnx
    from keras import layers

    from edgeclf.backends.onnxruntime import OnnxRuntimeBackend
    from edgeclf.convert.keras_reader import read_network
    from edgeclf.convert.onnx import build_onnx_model
    from edgeclf.numpy_layers import CompiledNetwork

    model = _random_model([layers.GlobalAveragePooling1D(), layers.Dense(1)], mask_zero=True)
    weights = model.get_weights()
    weights[0][0] = np.inf  # the padding id's embedding row
    model.set_weights(weights)
    network, _ = read_network(model)
    ids = _post_padded_ids(masked=True)  # every row has a real token and padding but one (30 tokens)
    keras_out = np.asarray(model(ids, training=False))
    assert np.isfinite(keras_out).all()
    results = {"numpy": CompiledNetwork(network)(ids)}
    for form in ("fused", "unrolled"):
        onnx.save(build_onnx_model(network, form), str(tmp_path / f"{form}.onnx"))
        results[form] = OnnxRuntimeBackend(tmp_path / f"{form}.onnx").run_batch(ids)
    for what, ours in results.items():
        assert np.isfinite(ours).all() and np.max(np.abs(ours - keras_out)) <= TOLERANCE, (what, ours)


def test_numpy_reads_padded_steps_as_keras_does():
    """A mask reaching a max pooling or Conv1D at a fixed length: Keras reads the padded steps (zeros after a
    Bidirectional, the last output repeated after a lone LSTM, embedding row 0 after the Embedding) as data."""
    from keras import layers

    from edgeclf.convert.keras_reader import read_network
    from edgeclf.numpy_layers import CompiledNetwork

    ids = _post_padded_ids(masked=True)
    for body in (
        [layers.Bidirectional(layers.LSTM(4, return_sequences=True)), layers.GlobalMaxPooling1D(), layers.Dense(1)],
        [layers.LSTM(4, return_sequences=True), layers.Conv1D(3, 2), layers.GlobalMaxPooling1D(), layers.Dense(1)],
        [layers.Conv1D(3, 3, padding="same"), layers.MaxPooling1D(2), layers.Flatten(), layers.Dense(1)],
    ):
        model = _random_model(body, mask_zero=True)
        network, _ = read_network(model)
        assert not network.padding_is_noop
        ours = CompiledNetwork(network)(ids)
        assert np.max(np.abs(ours - np.asarray(model(ids, training=False)))) <= TOLERANCE


def test_onnx_refuses_padded_steps_it_cannot_reproduce():
    from keras import layers

    from edgeclf.convert.keras_reader import read_network
    from edgeclf.convert.onnx import build_onnx_model
    from edgeclf.errors import UnsupportedModelError

    model = _random_model([layers.LSTM(4, return_sequences=True), layers.GlobalMaxPooling1D(), layers.Dense(1)], True)
    network, _ = read_network(model)  # fixed length 30 and a mask reaching the max pooling: padded steps are data
    for form in ("fused", "unrolled"):
        with pytest.raises(UnsupportedModelError, match=r"global_max_pooling1d.*padded steps"):
            build_onnx_model(network, form)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda layers: layers.Conv1D(4, 3, groups=2), r"conv1d.*groups=2"),
        (lambda layers: layers.Conv1D(4, 3, data_format="channels_first"), r"conv1d.*channels_first"),
        (lambda layers: layers.GlobalMaxPooling1D(keepdims=True), r"global_max_pooling1d.*keepdims"),
        (lambda layers: layers.MaxPooling1D(2, data_format="channels_first"), r"max_pooling1d.*channels_first"),
    ],
)
def test_unsupported_configurations_are_refused_by_name(make, message):
    from keras import layers

    from edgeclf.convert.keras_reader import read_network
    from edgeclf.errors import UnsupportedModelError

    model = _random_model([make(layers), layers.Flatten(), layers.Dense(1)])
    with pytest.raises(UnsupportedModelError, match=message):
        read_network(model)


def test_bundle_records_the_padding_rules(cnn_lstm, bilstm_max, lstm_average):
    """(a) no mask: fed padded to its 100 tokens, as Keras sees it; (b) the mask reaches a max pooling: padding
    changes the answer, each text is fed at its true length; (c) the mask is honoured: padding is a no-op, so a
    text may be trimmed to its tokens."""
    expected = {"cnn_lstm": (cnn_lstm, False, "fixed_length"), "bilstm_max": (bilstm_max, False, "true_length"),
                "lstm_average": (lstm_average, True, "true_length")}  # fmt: skip
    for name, ((bundle, manifest, _), noop, feed) in expected.items():
        assert manifest["input"]["padding_is_noop"] is noop, name
        assert manifest["input"]["feed"] == feed, name
        assert json.loads((bundle / "manifest.json").read_text())["input"] == manifest["input"], name  # as written
    for (bundle, _, _), noop in ((bilstm_max, False), (lstm_average, True)):
        network = json.loads((bundle / "network.json").read_text())
        kinds = [layer["kind"] for layer in network["layers"]]
        assert ("global_max_pooling1d" in kinds) != noop and ("global_average_pooling1d" in kinds) == noop


def test_a_window_longer_than_a_text_fails_cleanly(tmp_path):
    """Any length, no mask, a valid-padded Conv1D of 3: Keras itself cannot run a 1-token text alone, which is the
    reference for such a model; the conversion stops with a clear message and writes nothing."""
    import keras

    from edgeclf.convert.pipeline import convert
    from edgeclf.errors import EdgeclfError

    vectorize = keras.layers.TextVectorization(max_tokens=50)
    vectorize.adapt(np.array(["a good film", "a bad film", "great acting and a dull plot"]))
    body = [keras.layers.Embedding(50, 8), keras.layers.Conv1D(4, 3), keras.layers.GlobalMaxPooling1D()]
    model = keras.Sequential([keras.Input(shape=(), dtype="string"), vectorize, *body, keras.layers.Dense(1)])
    model.save(tmp_path / "short.keras")
    texts = ["great", "a good film with a dull plot"]
    with pytest.raises(EdgeclfError, match=r"text of 1 token\(s\) on its own.*padding='same'"):
        convert(tmp_path / "short.keras", tmp_path / "bundle", parity_texts=LabelledTexts(texts, np.full(2, -1)),
                progress=lambda message: None)  # fmt: skip
    assert not (tmp_path / "bundle").exists()

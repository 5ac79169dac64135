"""Functional (branching) Keras models with Attention and merge layers, through every target.

Two small functional models are really trained here on real text and converted by the real pipeline:
(a) IMDB, fixed length 64: masked Embedding → Dropout → Bidirectional(LSTM, sequences) → Attention([h, h])
→ Add([attention, h]) → LSTM → Dense(1, sigmoid), as TFLite loop + fused, ONNX fused + unrolled and numpy;
(b) TREC (6 classes), any length: masked Embedding → [LSTM, GRU] → Concatenate with their Average →
Dense(6, softmax), as TFLite loop, ONNX fused and numpy. Every float32 artifact must give Keras's scores
within 1e-5 on each real text run alone, the same labels, and the same scores in a mixed-length batch as one
by one. Small random-weight models cover every Attention option (dot/concat, scale, causal mask, a separate
key) and every merge (Multiply's mask arithmetic included) in numpy and ONNX in-process, and one of them (no
Bidirectional, GlobalAveragePooling1D) as an unrolled TFLite artifact run by LiteRT. Two tests pin fixes made
around these layers: Keras 3.15's unrolled RNN zeroes a backward half's masked steps with the unreversed mask
(the keras lowering turns that zeroing off for the unrolled form), and a pooled model's NaN output for a
token-less text (stored as null in the manifest).
"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from edgeclf.convert.datasets import LabelledTexts
from edgeclf.convert.parity import keras_raw_outputs
from edgeclf.errors import UnsupportedModelError
from edgeclf.runtime import Classifier

TOLERANCE = 1e-5  # the fp32 bound; not to be loosened
BACKENDS = {"tflite": "litert", "onnx": "onnxruntime", "numpy": "numpy"}


def _train(model, texts: list[str], labels: np.ndarray, epochs: int) -> None:
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy" if model.output_shape[-1] > 1 else
                  "binary_crossentropy", metrics=["accuracy"])  # fmt: skip
    model.fit(np.asarray(texts, dtype=object), labels, batch_size=64, epochs=epochs, verbose=0)


def _convert(model_path, out, texts: LabelledTexts, labels: list[str], **kwargs) -> dict:
    from edgeclf.convert.pipeline import convert

    return convert(model_path, out, labels=labels, parity_texts=texts, parity_source="test texts",
                   precisions=["fp32"], progress=lambda message: None, **kwargs)  # fmt: skip


def _artifacts(*bundles) -> dict[str, tuple]:
    """artifact name → (bundle folder, manifest entry), over several bundles of one model."""
    found = {}
    for bundle in bundles:
        manifest = json.loads((bundle / "manifest.json").read_text())
        found |= {a["name"]: (bundle, a) for a in manifest["artifacts"]}
    return found


@pytest.fixture(scope="module")
def imdb_texts(imdb_split) -> tuple[LabelledTexts, LabelledTexts]:
    """Training reviews, and 320 test texts: short phrases and reviews of every length, mixed together."""
    train, test = imdb_split
    short = ["great", "what a wonderful film", "dull", "the acting was wooden and the plot made no sense"]
    texts = short + test.texts[:316]
    labels = np.concatenate([[1, 1, 0, 0], test.labels[:316]])
    return train, LabelledTexts(texts, labels)


@pytest.fixture(scope="module")
def attention_model(tmp_path_factory, imdb_texts):
    """(a): BiLSTM self-attention with a residual Add, trained briefly on 4,000 real reviews."""
    import keras

    keras.utils.set_random_seed(1)
    train, _ = imdb_texts
    vectorizer = keras.layers.TextVectorization(max_tokens=3000, output_sequence_length=64)
    vectorizer.adapt(np.asarray(train.texts[:4000], dtype=object))
    text = keras.Input((), dtype="string", name="text")
    x = keras.layers.Embedding(3000, 16, mask_zero=True, name="embedding")(vectorizer(text))
    x = keras.layers.Dropout(0.2, name="dropout")(x)
    h = keras.layers.Bidirectional(keras.layers.LSTM(8, return_sequences=True), name="bilstm")(x)
    a = keras.layers.Attention(use_scale=True, name="attention")([h, h])
    s = keras.layers.Add(name="residual")([a, h])
    summary = keras.layers.LSTM(8, name="summary")(s)  # GlobalAveragePooling1D: see test_pooled_attention_model
    model = keras.Model(text, keras.layers.Dense(1, activation="sigmoid", name="head")(summary))
    _train(model, train.texts[:4000], train.labels[:4000], epochs=2)
    path = tmp_path_factory.mktemp("dag") / "attention.keras"
    model.save(path)
    return model, path


@pytest.fixture(scope="module")
def branching_model(tmp_path_factory):
    """(b): LSTM and GRU side by side over one masked Embedding, merged, on the 6 TREC question classes."""
    import keras

    from edgeclf.convert.datasets import trec_split

    keras.utils.set_random_seed(2)
    train, test, labels = trec_split()
    vectorizer = keras.layers.TextVectorization(max_tokens=4000)
    vectorizer.adapt(np.asarray(train.texts, dtype=object))
    text = keras.Input((), dtype="string", name="text")
    x = keras.layers.Embedding(4000, 16, mask_zero=True, name="embedding")(vectorizer(text))
    lstm = keras.layers.LSTM(16, name="lstm")(x)
    gru = keras.layers.GRU(16, name="gru")(x)
    average = keras.layers.Average(name="average")([lstm, gru])
    # named as Keras names its first Concatenate, which is also the name of the mask op it records
    merged = keras.layers.Concatenate(name="concatenate")([lstm, gru, average])
    model = keras.Model(text, keras.layers.Dense(len(labels), activation="softmax", name="head")(merged))
    _train(model, train.texts, train.labels, epochs=3)
    path = tmp_path_factory.mktemp("dag") / "branching.keras"
    model.save(path)
    return model, path, test, labels


@pytest.fixture(scope="module")
def attention_bundles(tmp_path_factory, attention_model, imdb_texts):
    _, path = attention_model
    out = tmp_path_factory.mktemp("dag-bundles")
    started = time.perf_counter()
    # the formats' default forms (TFLite loop and scan, ONNX fused, numpy), ONNX unrolled (fixed length 64) and
    # TFLite fused; TFLite unrolled: see test_keras_unrolled_bidirectional_sequences_under_a_mask and the small
    # model below
    _convert(path, out / "default", imdb_texts[1], ["negative", "positive"])
    _convert(path, out / "unrolled", imdb_texts[1], ["negative", "positive"], formats=["onnx"], rnn_forms=["unrolled"])
    _convert(path, out / "fused", imdb_texts[1], ["negative", "positive"], formats=["tflite"], rnn_forms=["fused"])
    print(f"\n(a) converted in {time.perf_counter() - started:.1f} s")
    return _artifacts(out / "default", out / "unrolled", out / "fused")


@pytest.fixture(scope="module")
def branching_bundles(tmp_path_factory, branching_model):
    _, path, test, labels = branching_model
    out = tmp_path_factory.mktemp("dag-bundles") / "branching"
    started = time.perf_counter()
    _convert(path, out, test.head(300), labels)
    print(f"\n(b) converted in {time.perf_counter() - started:.1f} s")
    return _artifacts(out)


def test_reader_follows_the_graph(attention_model, branching_model):
    from edgeclf.convert.keras_reader import read_network

    network, tokenizer = read_network(attention_model[0])
    assert [(layer.name, layer.kind, layer.inputs) for layer in network.layers] == [
        ("embedding", "embedding", ["tokens"]),
        ("bilstm", "bidirectional", ["embedding"]),  # the Dropout is skipped: its reader reads what it read
        ("attention", "attention", ["bilstm", "bilstm"]),
        ("residual", "add", ["attention", "bilstm"]),
        ("summary", "lstm", ["residual"]),
        ("head", "dense", ["summary"]),
    ]
    assert network.layers[2].config == {"use_scale": True, "score_mode": "dot", "use_causal_mask": False}
    assert network.padding_is_noop and network.sequence_length == tokenizer.output_sequence_length == 64
    network, _ = read_network(branching_model[0])
    assert [(layer.name, layer.inputs) for layer in network.layers] == [
        ("embedding", ["tokens"]),
        ("lstm", ["embedding"]),
        ("gru", ["embedding"]),
        ("average", ["lstm", "gru"]),
        ("concatenate", ["lstm", "gru", "average"]),
        ("head", ["concatenate"]),
    ]
    assert network.head.units == 6 and network.sequence_length is None


def _one_by_one(classifier: Classifier, texts: list[str]) -> np.ndarray:
    """Each text alone (a batch of one) through the artifact, with the runtime's own input rules."""
    return np.stack([classifier.raw_outputs([t], batch_size=1)[0] for t in texts])


def _check_text_by_text(model, artifacts: dict, texts: list[str], expected: set[str]) -> None:
    assert set(artifacts) == expected
    keras_raw = keras_raw_outputs(model, texts)  # Keras in padded batches of 32: its mask makes padding a no-op
    alone = np.concatenate([keras_raw_outputs(model, [t]) for t in texts[:: len(texts) // 12]])
    assert np.max(np.abs(alone - keras_raw[:: len(texts) // 12])) <= TOLERANCE  # Keras alone = Keras batched
    for name, (bundle, artifact) in sorted(artifacts.items()):
        classifier = Classifier.load(bundle, artifact=name, backend=BACKENDS[artifact["format"]])
        ours = _one_by_one(classifier, texts)
        max_diff = float(np.max(np.abs(ours - keras_raw)))
        agreement = float(np.mean(np.argmax(ours, 1) == np.argmax(keras_raw, 1))) if ours.shape[1] > 1 else float(
            np.mean((ours[:, 0] >= 0.5) == (keras_raw[:, 0] >= 0.5)))  # fmt: skip
        parity = artifact["parity"]
        print(f"\n{name}: {len(texts)} texts one by one, max |Δ| {max_diff:.3g}, agreement {agreement:.3f}; pipeline "
              f"parity max |Δ| {parity['max_abs_diff']:.3g}, accuracy {parity['artifact_accuracy']}; ops "
              f"{artifact.get('ops')}")  # fmt: skip
        assert max_diff <= TOLERANCE, name
        assert agreement == 1.0, name
        assert parity["ok"] and parity["max_abs_diff"] <= TOLERANCE and parity["label_agreement"] == 1.0


def test_attention_model_every_artifact_matches_keras_text_by_text(attention_model, attention_bundles, imdb_texts):
    expected = {"tflite-fp32", "tflite-scan-fp32", "tflite-fused-fp32", "onnx-fused-fp32", "onnx-unrolled-fp32",
                "numpy-fp32"}  # fmt: skip
    _check_text_by_text(attention_model[0], attention_bundles, imdb_texts[1].texts, expected)


def test_branching_model_every_artifact_matches_keras_text_by_text(branching_model, branching_bundles, imdb_texts):
    model, _, test, _ = branching_model
    texts = test.texts[:300] + imdb_texts[1].texts[4:64]  # questions and long reviews together
    expected = {"tflite-fp32", "tflite-scan-fp32", "onnx-fused-fp32", "numpy-fp32"}
    _check_text_by_text(model, branching_bundles, texts, expected)
    assert branching_bundles["numpy-fp32"][1]["parity"]["artifact_accuracy"] > 0.5  # 6 classes: really trained


def test_op_census(attention_bundles, branching_bundles):
    ops = {name: artifact["ops"] for name, (_, artifact) in {**attention_bundles, **branching_bundles}.items()
           if "ops" in artifact and artifact["format"] != "numpy"}  # fmt: skip
    fused, unrolled = attention_bundles["onnx-fused-fp32"][1]["ops"], attention_bundles["onnx-unrolled-fp32"][1]["ops"]
    assert fused["LSTM"] == 2 and fused["Softmax"] == 1 and fused["MatMul"] >= 2  # scores and the weighted sum
    assert unrolled["Softmax"] == 1 and "LSTM" not in unrolled
    for name, census in ops.items():
        if name.startswith("onnx"):
            assert not {"Loop", "Scan", "If"} & set(census), name
        else:
            assert not any(op.startswith(("CUSTOM", "Flex")) for op in census), name
    assert "WHILE" in ops["tflite-fp32"] and ops["tflite-fp32"]["SOFTMAX"] >= 1
    # fused: the BiLSTM as two fused ops and the LSTM as one, fed at true length, attention as BATCH_MATMUL /
    # SOFTMAX, no loop
    assert ops["tflite-fused-fp32"]["UNIDIRECTIONAL_SEQUENCE_LSTM"] == 3 and "WHILE" not in ops["tflite-fused-fp32"]
    assert ops["tflite-fused-fp32"]["BATCH_MATMUL"] == 2
    assert branching_bundles["onnx-fused-fp32"][1]["ops"]["Concat"] >= 1
    # the numpy artifact's census is its layer kinds (the Dropout is skipped at reading)
    numpy_ops = attention_bundles["numpy-fp32"][1]["ops"]
    assert numpy_ops == {"add": 1, "attention": 1, "bidirectional": 1, "dense": 1, "embedding": 1, "lstm": 1}
    assert branching_bundles["numpy-fp32"][1]["ops"] == {"average": 1, "concatenate": 1, "dense": 1, "embedding": 1,
                                                         "gru": 1, "lstm": 1}  # fmt: skip


@pytest.mark.parametrize("which", ["attention", "branching"])
def test_mixed_length_batch_equals_one_by_one(which, attention_bundles, branching_bundles, imdb_texts,
                                              branching_model):  # fmt: skip
    artifacts = attention_bundles if which == "attention" else branching_bundles
    texts = imdb_texts[1].texts[:80] + ([] if which == "attention" else branching_model[2].texts[:40]) + [""]
    for name, (bundle, artifact) in sorted(artifacts.items()):
        classifier = Classifier.load(bundle, artifact=name, backend=BACKENDS[artifact["format"]])
        batched = classifier.predict(texts)
        alone = [classifier.predict([t])[0] for t in texts]
        assert [p.labels for p in batched] == [p.labels for p in alone], name
        scores = np.array([list(p.scores.values()) for p in batched])
        scores_alone = np.array([list(p.scores.values()) for p in alone])
        if artifact["format"] == "onnx":  # one GEMM over the batch: float rounding differs from a batch of one
            assert np.max(np.abs(scores - scores_alone)) <= TOLERANCE, name
        else:  # numpy's row-vector products and LiteRT's batch of one: the same bits
            assert np.array_equal(scores, scores_alone), name


# --- small random-weight models: every Attention option and every merge, numpy and ONNX, in-process ----------


def _small_model(variant: str, length: int = 12):
    import keras

    layers = keras.layers
    ids = keras.Input((length,), dtype="int32")
    x = layers.Embedding(30, 6, mask_zero=True)(ids)
    h = layers.Bidirectional(layers.LSTM(4, return_sequences=True))(x)
    g = layers.GRU(8, return_sequences=True)(x)
    if variant == "dot":
        a = layers.Attention()([h, h])
    elif variant == "scale_causal":
        a = layers.Attention(use_scale=True)([h, g], use_causal_mask=True)
    elif variant == "concat_query_value_key":
        a = layers.Attention(use_scale=True, score_mode="concat")([h, g, h])
    else:
        a = layers.Attention(score_mode="concat", dropout=0.3)([g, h])  # dropout: training only
    product = layers.Multiply()([a, g])
    mean = layers.Average()([product, layers.Add()([a, h])])
    y = layers.LSTM(5)(layers.Concatenate()([mean, a]))
    out = layers.Dense(3, activation="softmax")(layers.Concatenate()([y, layers.GRU(3)(product)]))
    model = keras.Model(ids, out)
    rng = np.random.default_rng(len(variant))
    model.set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


@pytest.mark.parametrize("variant", ["dot", "scale_causal", "concat_query_value_key", "concat_dropout"])
def test_small_attention_and_merge_models(variant):
    import onnxruntime as ort

    from edgeclf.convert.keras_reader import read_network
    from edgeclf.convert.onnx import build_onnx_model
    from edgeclf.convert.tflite import build_keras_graph
    from edgeclf.numpy_layers import CompiledNetwork

    length = 12
    model = _small_model(variant, length)
    rng = np.random.default_rng(7)
    ids = np.zeros((8, length), np.int32)
    for row, n in enumerate([1, 3, 7, 12, 5, 9, 2, 11]):
        ids[row, :n] = rng.integers(1, 30, n)
    ids[4, 2] = ids[7, 0] = 0  # interior and leading padding: the mask hides them wherever they sit
    keras_out = np.asarray(model.predict(ids, verbose=0))
    network, _ = read_network(model)
    network.sequence_length = length
    compiled = CompiledNetwork(network)
    ours = compiled(ids)
    assert np.max(np.abs(ours - keras_out)) <= TOLERANCE
    for row in range(len(ids)):  # each text alone, trailing padding cut: the same bits as in the batch
        end = int(np.flatnonzero(ids[row]).max()) + 1
        assert np.array_equal(compiled(ids[row : row + 1, :end])[0], ours[row])
    fused_keras = build_keras_graph(network, "fused")  # the tf-keras rebuild TFLite's fused form converts
    # no mask in it: each text is fed as the runtime feeds it, its tokens only (at their true length)
    rebuilt = np.concatenate([fused_keras.predict(row[row != 0][None], verbose=0) for row in ids])
    assert np.max(np.abs(rebuilt - keras_out)) <= TOLERANCE
    for form in ("fused", "unrolled"):
        onnx_model = build_onnx_model(network, form)
        session = ort.InferenceSession(onnx_model.SerializeToString(), providers=["CPUExecutionProvider"])
        out = session.run(None, {"tokens": ids})[0]
        assert np.max(np.abs(out - keras_out)) <= TOLERANCE, form
        assert not {"Loop", "Scan"} & {n.op_type for n in onnx_model.graph.node}


def test_all_masked_rows_follow_keras():
    """A row of padding only: Keras's attention gives zeros at masked queries; numpy matches its whole model."""
    from edgeclf.convert.keras_reader import read_network
    from edgeclf.numpy_layers import CompiledNetwork

    model = _small_model("dot")
    ids = np.zeros((2, 12), np.int32)
    ids[1, :4] = [3, 4, 5, 6]
    network, _ = read_network(model)
    ours = CompiledNetwork(network)(ids)
    assert np.max(np.abs(ours - np.asarray(model.predict(ids, verbose=0)))) <= TOLERANCE


# --- refusals -------------------------------------------------------------------------------------------


def _refused(model, *needles: str) -> None:
    from edgeclf.convert.keras_reader import read_network

    with pytest.raises(UnsupportedModelError) as error:
        read_network(model)
    for needle in needles:
        assert needle in str(error.value), str(error.value)


def test_unsupported_graphs_are_refused_by_name(tmp_path):
    import keras

    layers = keras.layers
    ids = keras.Input((10,), dtype="int32")
    x = layers.Embedding(20, 4, mask_zero=True)(ids)
    shared = layers.Dense(4, name="shared_dense")
    _refused(keras.Model(ids, layers.Dense(1)(layers.LSTM(3)(shared(shared(x))))), "shared_dense", "shared layers")

    other = keras.Input((10,), dtype="int32")
    y = layers.Embedding(20, 4)(other)
    two = keras.Model([ids, other], layers.Dense(1)(layers.Concatenate()([layers.LSTM(3)(x), layers.LSTM(3)(y)])))
    _refused(two, "2 inputs", "one text")

    mha = layers.MultiHeadAttention(num_heads=2, key_dim=4, name="my_mha")(x, x)
    _refused(keras.Model(ids, layers.Dense(1)(layers.LSTM(3)(mha))), "my_mha", "MultiHeadAttention")

    att, _ = layers.Attention(name="scores_too")([x, x], return_attention_scores=True)
    _refused(keras.Model(ids, layers.Dense(1)(layers.LSTM(3)(att))), "scores_too")

    unmasked = layers.Dense(4)(layers.Embedding(20, 4, name="plain")(ids))  # a second Embedding, no mask
    mixed = keras.Model(ids, layers.Dense(1)(layers.LSTM(3)(layers.Add()([x, unmasked]))))
    _refused(mixed, "mask_zero")

    # Conv1D does not support masking: Keras drops the mask there, and Add would then drop the LSTM's as well
    conv = layers.Conv1D(4, 3, padding="same", name="conv")(x)
    sequences = layers.LSTM(4, return_sequences=True, name="lstm_seq")(x)
    dropped = layers.Add(name="drops_mask")([sequences, conv])
    _refused(keras.Model(ids, layers.Dense(1)(layers.LSTM(3)(dropped))), "drops_mask", "masked and unmasked")

    _refused(keras.Model(ids, keras.ops.sigmoid(layers.Dense(1)(layers.LSTM(3)(x)))), "Sigmoid", "output")

    # the whole pipeline: one line naming the layer, nothing written
    from edgeclf.convert.pipeline import convert

    text = keras.Input((), dtype="string")
    vectorizer = layers.TextVectorization(max_tokens=20)
    vectorizer.adapt(np.array(["a good film", "a bad film"]))
    e = layers.Embedding(20, 4, mask_zero=True)(vectorizer(text))
    twice = layers.LSTM(4, return_sequences=True, name="twice")
    path = tmp_path / "shared.keras"
    keras.Model(text, layers.Dense(1)(layers.LSTM(2)(twice(twice(e))))).save(path)
    with pytest.raises(UnsupportedModelError, match="'twice' is used 2 times"):
        convert(path, tmp_path / "bundle", progress=lambda message: None)
    assert not (tmp_path / "bundle").exists()


def _attention_without_bidirectional(length: int):
    import keras

    layers = keras.layers
    ids = keras.Input((length,), dtype="int32")
    x = layers.Embedding(30, 6, mask_zero=True)(ids)
    g = layers.GRU(6, return_sequences=True)(x)
    h = layers.LSTM(6, return_sequences=True)(x)
    a = layers.Attention(use_scale=True)([g, h], use_causal_mask=True)
    s = layers.Multiply()([layers.Add()([a, g]), h])
    out = layers.Dense(2, activation="softmax")(layers.GlobalAveragePooling1D()(s))
    model = keras.Model(ids, out)
    rng = np.random.default_rng(3)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def test_tflite_unrolled_attention_and_merges(tmp_path):
    """Causal attention, Add and Multiply as an unrolled TFLite graph (no WHILE), run by LiteRT, against Keras."""
    from ai_edge_litert.interpreter import Interpreter

    from edgeclf.convert.keras_reader import read_network
    from edgeclf.convert.tflite import convert_to_tflite
    from edgeclf.opcensus import tflite_op_census

    length = 12
    model = _attention_without_bidirectional(length)
    network, _ = read_network(model)
    network.save(tmp_path)
    # no staged manifest.json: the converter then uses its default conversion options
    convert_to_tflite(tmp_path, tmp_path / "unrolled.tflite", "fp32", "unrolled")
    census = tflite_op_census(tmp_path / "unrolled.tflite")
    print(f"\ntflite unrolled (causal attention, Add, Multiply): {census}")
    assert "WHILE" not in census and census["SOFTMAX"] == 2 and census["BATCH_MATMUL"] == 2  # attention + head
    assert not any(op.startswith(("CUSTOM", "Flex")) for op in census)
    rng = np.random.default_rng(11)
    ids = np.zeros((6, length), np.int32)
    for row, n in enumerate([1, 4, 12, 7, 9, 3]):
        ids[row, :n] = rng.integers(1, 30, n)
    ids[3, 1] = 0
    keras_out = np.asarray(model.predict(ids, verbose=0))
    interpreter = Interpreter(model_path=str(tmp_path / "unrolled.tflite"))
    interpreter.allocate_tensors()
    (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
    for row in range(len(ids)):  # the fixed-length graph: each text alone, padded to 12
        interpreter.set_tensor(inp["index"], ids[row : row + 1])
        interpreter.invoke()
        assert np.max(np.abs(interpreter.get_tensor(out["index"])[0] - keras_out[row])) <= TOLERANCE, row


def test_keras_unrolled_bidirectional_sequences_under_a_mask():
    from edgeclf.convert.keras_reader import read_network
    from edgeclf.convert.tflite import build_keras_graph

    model = _small_model("dot")
    network, _ = read_network(model)
    network.sequence_length = 12
    ids = np.zeros((3, 12), np.int32)
    ids[0, :5], ids[1, :9], ids[2, :2] = range(1, 6), range(1, 10), (7, 8)
    graph = build_keras_graph(network, "unrolled")
    rebuilt = np.concatenate([graph.predict(ids[i : i + 1], verbose=0) for i in range(len(ids))])
    assert np.max(np.abs(rebuilt - model.predict(ids, verbose=0))) <= TOLERANCE


def test_pooled_attention_model_converts(tmp_path, imdb_texts):
    """The brief's (a) with GlobalAveragePooling1D after the attention (its numbers: the LiteRT test above)."""
    import keras

    from edgeclf.convert.pipeline import convert

    layers = keras.layers
    vectorizer = layers.TextVectorization(max_tokens=500, output_sequence_length=32)
    vectorizer.adapt(np.asarray(imdb_texts[0].texts[:300], dtype=object))
    text = keras.Input((), dtype="string")
    h = layers.Bidirectional(layers.LSTM(4, return_sequences=True))(layers.Embedding(500, 8, mask_zero=True)(
        vectorizer(text)))  # fmt: skip
    pooled = layers.GlobalAveragePooling1D()(layers.Attention()([h, h]))
    keras.Model(text, layers.Dense(1, activation="sigmoid")(pooled)).save(tmp_path / "pooled.keras")
    manifest = convert(tmp_path / "pooled.keras", tmp_path / "bundle", parity_texts=imdb_texts[1].head(40),
                       formats=["numpy"], progress=lambda message: None)  # fmt: skip
    assert manifest["output"]["no_token_raw"] == [None]  # Keras's NaN (0/0), written as JSON null
    assert manifest["artifacts"][0]["parity"]["ok"]
    classifier = Classifier.load(tmp_path / "bundle")
    (empty,) = classifier.scores([""])
    assert np.isnan(empty[0])  # what Keras answers too
    (prediction,) = classifier.predict([""])
    assert prediction.labels == [] and json.loads(json.dumps(prediction.to_dict()))["scores"] == {
        "negative": None,
        "positive": None,
    }


def test_functional_text_model_unrolls_under_a_length_cap(tmp_path, branching_model):
    """--maxlen on a functional model with its own TextVectorization: the reference is Keras's numeric part (cut at
    the vectorizer) on the capped ids, and the loop-free forms match it."""
    _, path, test, labels = branching_model
    manifest = _convert(path, tmp_path / "bundle", test.head(300), labels, formats=["onnx", "tflite"],
                        rnn_forms=["unrolled"], maxlen=24)  # fmt: skip
    assert manifest["input"]["sequence_length"] == 24 and manifest["failed_artifacts"] == []
    assert [a["name"] for a in manifest["artifacts"]] == ["onnx-unrolled-fp32", "tflite-unrolled-fp32"]
    for artifact in manifest["artifacts"]:
        assert artifact["parity"]["max_abs_diff"] <= TOLERANCE and artifact["parity"]["label_agreement"] == 1.0
        assert not {"WHILE", "Loop", "LSTM", "GRU"} & set(artifact["ops"]), artifact["ops"]

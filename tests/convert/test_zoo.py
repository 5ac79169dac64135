"""Every zoo model in every recurrent form of every format: float32 parity with Keras on 300 real held-out texts,
and an op census that proves the form (fused really fused, unrolled really loop-free).

The pipeline's parity check is the judge: Keras runs padded batches of 32 texts in their given order (short and
long together, so the mask is exercised), each artifact runs through edgeclf's runtime (batched by length where
the backend batches), and a float32 artifact beyond 1e-5 on any score fails the conversion.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ai_edge_litert import schema_py_generated as schema

from edgeclf.convert.examples.zoo import ZOO_DIR, catalog
from edgeclf.convert.pipeline import FP32_TOLERANCE, convert
from edgeclf.network import Network
from edgeclf.opcensus import tflite_op_names

TEXTS = 300
ZOO = catalog()
RECURRENT = {"lstm", "gru", "simple_rnn"}


def _directions(network: Network) -> dict[str, int]:
    """Recurrent kind → number of directions (a Bidirectional counts two)."""
    counts: dict[str, int] = {}
    for layer in network.layers:
        halves = [layer.config["forward"]["kind"]] * 2 if layer.kind == "bidirectional" else [layer.kind]
        for kind in halves:
            if kind in RECURRENT:
                counts[kind] = counts.get(kind, 0) + 1
    return counts


@pytest.fixture(scope="module", params=sorted(ZOO))
def converted(request, tmp_path_factory) -> tuple[str, dict, Path]:
    model = ZOO[request.param]
    scratch = tmp_path_factory.mktemp(model.name)
    forms = ["loop", "fused", "unrolled"] if model.fixed_length else ["loop", "fused"]
    manifest = convert(
        model.model(scratch), scratch / "bundle", labels=model.labels, parity_texts=model.eval_texts(TEXTS),
        parity_source=f"{TEXTS} held-out texts", formats=["tflite", "onnx", "numpy"], rnn_forms=forms,
        precisions=["fp32"], progress=lambda _message: None, **model.convert_options,
    )  # fmt: skip
    return model.name, manifest, scratch / "bundle"


def test_every_form_matches_keras(converted):
    name, manifest, _ = converted
    expected = {"tflite-fp32", "tflite-fused-fp32", "onnx-fused-fp32", "numpy-fp32"}
    if ZOO[name].fixed_length:
        expected |= {"tflite-unrolled-fp32", "onnx-unrolled-fp32"}
    assert {a["name"] for a in manifest["artifacts"]} == expected, manifest["failed_artifacts"]
    assert manifest["failed_artifacts"] == []
    for artifact in manifest["artifacts"]:
        parity = artifact["parity"]
        assert parity["texts"] == TEXTS, name
        assert parity["max_abs_diff"] <= FP32_TOLERANCE, (name, artifact["name"], parity)
        assert parity["label_agreement"] == 1.0, (name, artifact["name"])
        if parity["keras_accuracy"] is not None:
            assert parity["accuracy_delta"] == 0.0, (name, artifact["name"])


def test_op_census_proves_the_form(converted):
    name, manifest, bundle = converted
    directions = _directions(Network.load(bundle))
    ops = {a["name"]: a["ops"] for a in manifest["artifacts"]}
    total = sum(directions.values())

    assert ops["tflite-fp32"].get("WHILE", 0) == total, (name, ops["tflite-fp32"])  # one loop per direction
    fused = ops["tflite-fused-fp32"]
    assert fused.get("UNIDIRECTIONAL_SEQUENCE_LSTM", 0) == directions.get("lstm", 0), (name, fused)
    # TFLite has no fused GRU / SimpleRNN op: those stay loops in the fused form
    assert fused.get("WHILE", 0) == directions.get("gru", 0) + directions.get("simple_rnn", 0), (name, fused)

    onnx_fused = ops["onnx-fused-fp32"]
    onnx_ops = {"lstm": "LSTM", "gru": "GRU", "simple_rnn": "RNN"}
    for kind, count in directions.items():  # ONNX fuses a Bidirectional into one node (direction="bidirectional")
        assert onnx_fused.get(onnx_ops[kind], 0) >= 1, (name, onnx_fused)
        assert onnx_fused.get(onnx_ops[kind], 0) <= count, (name, onnx_fused)
    assert not {"Loop", "Scan"} & set(onnx_fused), (name, onnx_fused)

    if ZOO[name].fixed_length:
        unrolled = ops["tflite-unrolled-fp32"]
        assert "WHILE" not in unrolled and not any(op.startswith("CUSTOM") for op in unrolled), (name, unrolled)
        onnx_unrolled = ops["onnx-unrolled-fp32"]
        assert not {"Loop", "Scan", "LSTM", "GRU", "RNN"} & set(onnx_unrolled), (name, onnx_unrolled)


def test_zoo_models_stay_small():
    """The committed models are real but small: each well under 2 MB."""
    committed = sorted(ZOO_DIR.glob("*/model.keras"))
    assert len(committed) == 5
    for path in committed:
        assert path.stat().st_size < 2_000_000, path


def test_the_real_multilabel_model_is_part_of_the_zoo():
    """toxic-comment-classifier is installed by tests/install_test_env.sh: the zoo must not quietly shrink."""
    assert "toxic" in ZOO, "pip install --no-deps toxic-comment-classifier==0.3.0 (tests/install_test_env.sh does)"
    assert ZOO["toxic"].task == "multilabel" and len(ZOO["toxic"].labels) == 6


@pytest.mark.parametrize("name", sorted(n for n, m in ZOO.items() if m.fixed_length is None))
def test_any_length_models_unroll_under_a_length_cap(name, tmp_path):
    """--maxlen caps a model that takes any length (texts cut to their first N tokens; the reference is Keras on
    the cut text), which is what the unrolled forms need: loop-free ONNX and TFLite graphs, exact."""
    model, cap = ZOO[name], 64
    manifest = convert(
        model.model(tmp_path), tmp_path / "bundle", labels=model.labels, parity_texts=model.eval_texts(TEXTS),
        formats=["onnx", "tflite"], rnn_forms=["unrolled"], precisions=["fp32"], maxlen=cap,
        progress=lambda _message: None, **model.convert_options,
    )  # fmt: skip
    assert manifest["input"]["sequence_length"] == cap and manifest["tokenizer"]["output_sequence_length"] == cap
    written = [a["name"] for a in manifest["artifacts"]]
    assert written == ["onnx-unrolled-fp32", "tflite-unrolled-fp32"], manifest["failed_artifacts"]
    for artifact in manifest["artifacts"]:
        assert artifact["parity"]["max_abs_diff"] <= FP32_TOLERANCE and artifact["parity"]["label_agreement"] == 1.0
        assert artifact["input_shape"][1] == cap
        assert not {"WHILE", "Loop", "Scan", "LSTM", "GRU", "RNN"} & set(artifact["ops"]), artifact["ops"]


def test_fused_lstms_do_not_clip_the_cell(converted):
    """The converter writes cell_clip=10 into fused LSTMs; Keras never clips (the toxic model's cells pass 10)."""
    name, manifest, bundle = converted
    (fused,) = [a for a in manifest["artifacts"] if a["name"] == "tflite-fused-fp32"]
    model = schema.Model.GetRootAs((bundle / fused["file"]).read_bytes(), 0)
    names = tflite_op_names(model)
    option_tables = {
        "UNIDIRECTIONAL_SEQUENCE_LSTM": schema.UnidirectionalSequenceLSTMOptions,
        "BIDIRECTIONAL_SEQUENCE_LSTM": schema.BidirectionalSequenceLSTMOptions,
    }
    clips, kinds = [], []
    for o in range(model.Subgraphs(0).OperatorsLength()):
        op = model.Subgraphs(0).Operators(o)
        if names[op.OpcodeIndex()] in option_tables:
            options = option_tables[names[op.OpcodeIndex()]]()
            options.Init(op.BuiltinOptions().Bytes, op.BuiltinOptions().Pos)
            clips.append(options.CellClip())
            kinds.append(names[op.OpcodeIndex()])
    assert clips == [0.0] * sum(fused["ops"].get(op, 0) for op in option_tables), (name, clips)
    # every LSTM direction sits in a fused op read from the file (a bidirectional op holds two); a GRU / SimpleRNN
    # model has none, and the count says so instead of comparing [] with []
    per_op = {"UNIDIRECTIONAL_SEQUENCE_LSTM": 1, "BIDIRECTIONAL_SEQUENCE_LSTM": 2}
    fused_directions = sum(per_op[kind] for kind in kinds)
    assert fused_directions == _directions(Network.load(bundle)).get("lstm", 0), (name, kinds)

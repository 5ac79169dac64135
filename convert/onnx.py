"""Lower a ``Network`` to a ``.onnx`` file, emitted node by node (see ``convert/lowering/onnx``), in a child process.

Input ``tokens``: int32 ``[batch, sequence]``, both dynamic in the fused form (a model with a fixed length
and no mask, and every unrolled graph: ``[batch, L]``). Padding is id 0. A masked model skips it wherever
it sits (fused: tokens packed to the front of the row + ``sequence_lens``; unrolled: masked steps keep the
state), so a padded batch gives each text's own result; an unmasked model reads its rows as trained.
Output ``scores``: ``[batch, units]``, the model's raw outputs (logits or probabilities, as trained).

The file is deployable on its own: ``metadata_props`` hold the vocabulary, labels, task, tokenizer
spec, output and input rules (keys ``edgeclf.*``, values JSON; the contract is ``edgeclf.bundle.onnx_metadata``).

``dynamic`` precision: ``onnxruntime.quantization.quantize_dynamic`` (LSTM → ``com.microsoft::
DynamicQuantizeLSTM``, the embedding ``Gather`` and ``MatMul`` → int8 weights; ORT leaves GRU and RNN
in float). The settings are chosen by measured agreement with the float graph: on AVX2 CPUs plain
QInt8 saturates (u8s8), so the candidates are QInt8 per-channel with reduce_range, and QUInt8.
Quantization runs in the child process too: a crash there must not take the converter down.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

import edgeclf
from edgeclf.convert.artifacts import (
    ArtifactJob,
    ArtifactPlan,
    BuildContext,
    ConversionError,
    builds,
    child_main,
    input_length,
    run_job,
)
from edgeclf.convert.lowering.onnx import OPSET, RNN_FORMS, OnnxGraph, OnnxTensor
from edgeclf.errors import UnsupportedModelError
from edgeclf.network import INPUT, Network
from edgeclf.opcensus import Reader, weight_part

PRECISIONS = ("fp32", "dynamic")
OUTPUT = "scores"
IR_VERSION = 8  # opset 17 needs IR ≥ 8; kept low so older ONNX Runtime builds (e.g. aarch64 wheels) load it

# dynamic quantization candidates, tried in this order; the one closest to the float graph is kept
QUANTIZATION_CANDIDATES: list[dict[str, Any]] = [
    {"weight_type": "QInt8", "per_channel": True, "reduce_range": True},
    {"weight_type": "QUInt8", "per_channel": False, "reduce_range": False},
]


def build_onnx_model(network: Network, rnn_form: str = "fused", metadata: dict[str, str] | None = None) -> Any:
    """The network as an ``onnx.ModelProto`` (checked with the ONNX checker, full shape inference)."""
    import onnx
    from onnx import TensorProto, helper

    from edgeclf.convert.lowering import lowering

    length = input_length(network, rnn_form)
    g = OnnxGraph(rnn_form, length)
    for reserved in (INPUT, OUTPUT):  # no layer may name a tensor like the graph's input or output
        g.fresh(reserved)
    tensors = {INPUT: OnnxTensor(g, INPUT, sequence=False, features=length or 0)}
    for layer in network.layers:  # topological order: every input is emitted before its readers
        tensors[layer.name] = lowering("onnx", layer.kind)(layer, *[tensors[s] for s in layer.inputs])
    last = tensors[network.output]
    if last.sequence and network.masked and rnn_form == "fused":
        # the fused form moves each row's tokens to the front: per-step outputs would come back misplaced
        raise UnsupportedModelError(
            "a masked model with per-step outputs (return_sequences to the head) needs --rnn unrolled"
        )
    name = last.name
    if last.sequence:  # a per-step head: back to batch-major [batch, time, units]
        name = g.add("Transpose", [name], "batch_major", perm=[1, 0, 2])
    g.nodes.append(helper.make_node("Identity", [name], [OUTPUT], name="scores/Identity"))
    out_shape = ["batch", "sequence", last.features] if last.sequence else ["batch", last.features]
    graph = helper.make_graph(
        g.nodes,
        "edgeclf",
        [helper.make_tensor_value_info(INPUT, TensorProto.INT32, ["batch", length or "sequence"])],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, out_shape)],
        g.initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="edgeclf",
        producer_version=edgeclf.__version__,
        doc_string="Token ids (int32, 0 = padding) in, raw scores out; vocabulary, labels, tokenizer: metadata_props",
    )
    model.ir_version = IR_VERSION
    if metadata:
        helper.set_model_props(model, metadata)
    onnx.checker.check_model(model, full_check=True)
    return model


def onnx_op_census(path: Path) -> dict[str, int]:
    """Op type → count over the graph and every subgraph; ops outside ai.onnx are named ``domain:Op``."""
    import onnx

    census: Counter[str] = Counter()

    def count(graph: Any) -> None:
        for node in graph.node:
            census[f"{node.domain}:{node.op_type}" if node.domain not in ("", "ai.onnx") else node.op_type] += 1
            for attribute in node.attribute:  # Loop / If / Scan bodies
                for subgraph in [*([attribute.g] if attribute.HasField("g") else []), *attribute.graphs]:
                    count(subgraph)

    count(onnx.load(str(path), load_external_data=False).graph)
    return dict(sorted(census.items()))


ONNX_WEIGHT_PARTS = {
    "Gather": "embedding",
    "LSTM": "recurrent",
    "GRU": "recurrent",
    "RNN": "recurrent",
    "com.microsoft:DynamicQuantizeLSTM": "recurrent",
    "MatMul": "dense",
    "Gemm": "dense",
    "MatMulInteger": "dense",
    "com.microsoft:DynamicQuantizeMatMul": "dense",
    "Conv": "convolution",
}


def onnx_weight_bytes(path: Path) -> dict[str, Any]:
    """Bytes of the initializers by network part (as ``tflite_weight_bytes``), and the embedding's element type."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    readers: dict[str, list[Reader]] = {}
    dequantized: dict[str, str] = {}  # int8 tables are read through DequantizeLinear
    for node in graph.node:
        op = f"{node.domain}:{node.op_type}" if node.domain not in ("", "ai.onnx") else node.op_type
        for position, name in enumerate(node.input):
            readers.setdefault(name, []).append((0, op, position))
            if op == "DequantizeLinear" and position == 0:
                dequantized[name] = node.output[0]

    def readers_of(name: str) -> list[Reader]:
        return readers_of(dequantized[name]) if name in dequantized else readers.get(name, [])

    parts: Counter[str] = Counter()
    embedding_types = set()
    for initializer in graph.initializer:
        part = weight_part(readers_of(initializer.name), ONNX_WEIGHT_PARTS)
        parts[part] += len(initializer.raw_data) or onnx.numpy_helper.to_array(initializer).nbytes
        if part == "embedding":
            embedding_types.add(onnx.TensorProto.DataType.Name(initializer.data_type))
    return {"bytes": dict(sorted(parts.items())), "embedding_dtype": ",".join(sorted(embedding_types)) or None}


def probe_batch(network: Network, rnn_form: str = "fused", rows: int = 48, seed: int = 0) -> np.ndarray:
    """Post-padded random ids of mixed lengths, to compare quantization settings against the float graph."""
    rng = np.random.default_rng(seed)
    length = input_length(network, rnn_form) or 200
    batch = np.zeros((rows, length), np.int32)
    for i, n in enumerate(np.linspace(1, length, rows).astype(int) if network.masked else [length] * rows):
        batch[i, :n] = rng.integers(2, max(network.vocab_size, 3), size=n)
    return batch


def _run(model_path: Path, batch: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
    return session.run([OUTPUT], {INPUT: batch})[0]


def _quantize(float_path: Path, out: Path, network: Network, rnn_form: str, metadata: dict[str, str]) -> dict[str, Any]:
    import onnx
    from onnx import helper
    from onnxruntime.quantization import QuantType, quantize_dynamic

    batch = probe_batch(network, rnn_form)
    reference = _run(float_path, batch)
    tried = []
    with tempfile.TemporaryDirectory(prefix="edgeclf-onnx-q-") as scratch:
        for i, settings in enumerate(QUANTIZATION_CANDIDATES):
            candidate = Path(scratch) / f"candidate{i}.onnx"
            quantize_dynamic(
                float_path,
                candidate,
                weight_type=getattr(QuantType, settings["weight_type"]),
                per_channel=settings["per_channel"],
                reduce_range=settings["reduce_range"],
            )
            max_diff = float(np.max(np.abs(_run(candidate, batch) - reference)))
            tried.append({**settings, "probe_max_abs_diff": max_diff, "path": candidate})
        best = min(tried, key=lambda t: t["probe_max_abs_diff"])
        model = onnx.load(str(best["path"]))
    helper.set_model_props(model, metadata)  # quantize_dynamic does not promise to carry them over
    onnx.save(model, str(out))
    return {
        "method": "onnxruntime.quantization.quantize_dynamic",
        "chosen": {k: v for k, v in best.items() if k != "path"},
        "candidates": [{k: v for k, v in t.items() if k != "path"} for t in tried],
        "probe": f"{len(batch)} post-padded rows of random ids, max |Δ| of raw outputs against the float graph",
    }


def _convert_in_this_process(job: ArtifactJob) -> None:
    import onnx

    out, precision, rnn_form = Path(job.out), job.precision, job.rnn
    network = Network.load(Path(job.network_dir))
    metadata = job.metadata
    model = build_onnx_model(network, rnn_form, metadata)
    record: dict[str, Any] = {}
    if precision == "fp32":
        onnx.save(model, str(out))
    else:
        with tempfile.TemporaryDirectory(prefix="edgeclf-onnx-") as scratch:
            float_path = Path(scratch) / "float.onnx"
            onnx.save(model, str(float_path))
            record["quantization"] = _quantize(float_path, out, network, rnn_form, metadata)
    if job.details_file is not None:
        Path(job.details_file).write_text(json.dumps(record))


@builds("onnx", precisions=PRECISIONS, rnn_forms=RNN_FORMS)
def build_onnx(plan: ArtifactPlan, network: Network, staging: Path) -> dict:
    out = staging / plan.file
    with tempfile.TemporaryDirectory(prefix="edgeclf-onnx-details-") as scratch:
        details = Path(scratch) / "details.json"
        convert_to_onnx(staging, out, plan.precision, plan.rnn, details, context=plan.context)
        record = json.loads(details.read_text())
    return {
        "input_shape": [-1, input_length(network, plan.rnn) or -1],
        "opset": OPSET,
        "ops": onnx_op_census(out),
        **record,
        "weight_bytes": (weights := onnx_weight_bytes(out))["bytes"],
        "embedding_dtype": weights["embedding_dtype"],
    }


def convert_to_onnx(
    network_dir: Path,
    out: Path,
    precision: str,
    rnn_form: str,
    details: Path,
    timeout: float = 1800,
    context: BuildContext | None = None,
) -> None:
    """Run the lowering in a child Python (``context.onnx_metadata`` becomes the file's ``metadata_props``);
    raise ConversionError with the child's last words if it fails."""
    job = ArtifactJob.for_artifact(
        network_dir, out, precision, rnn_form, context or BuildContext(), details_file=str(details)
    )
    run_job("edgeclf.convert.onnx", job, f"ONNX lowering ({rnn_form}, {precision})", timeout)
    if not details.is_file():
        raise ConversionError(f"ONNX lowering ({rnn_form}, {precision}) wrote no details")


if __name__ == "__main__":
    child_main("Lower a network description to ONNX (child process).", _convert_in_this_process)

"""Lower a ``Network`` to a ``.tflite`` file, each conversion in a child process.

The TF converter can die with SIGSEGV (calibrating WHILE graphs, tensorflow#75140) and prints to
stdout; a child process turns both into a clean, named error and keeps the CLI's output clean.

Input signature: a static batch of 1 (a dynamic batch cannot lower Keras 3 RNNs to builtin ops).
A masked model, or one with no fixed length, takes ``[1, None]`` and the runtime feeds each text at
its true length; a model with a fixed length and no mask takes ``[1, L]``.
"""

from __future__ import annotations

import copy
import dataclasses
import struct
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

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
from edgeclf.convert.quant_diagnosis import FULL_INTEGER, quantize_keeping_recurrent_float
from edgeclf.network import INPUT, RECURRENT_KINDS, Network
from edgeclf.opcensus import tflite_op_census, tflite_op_names, tflite_weight_bytes

# fp32: float; dynamic: int8 weights, float activations; float16: fp16 weights; int8: full integer
# (calibrated on real texts); int16x8: 16-bit activations, 8-bit weights; int8-float-rnn: int8 with the fused
# recurrent ops kept float (convert/quant_diagnosis.py).
PRECISIONS = ("fp32", "dynamic", "float16", "int8", "int16x8", "int8-float-rnn")
# loop: Keras 3 → WHILE loops that honour the mask. fused: rebuilt in tf-keras without the mask, so LSTMs become
# UNIDIRECTIONAL_SEQUENCE_LSTM (GRU/SimpleRNN have no fused op and stay loops); masked models are then fed at
# their true length. unrolled: a straight-line graph of builtin ops at the model's fixed length. scan: edgeclf's own
# loop (convert/lowering/scan), input projection hoisted, a Bidirectional's halves in one loop; true-length feeds only.
RNN_FORMS = ("loop", "fused", "unrolled", "scan")
CALIBRATION_FILE = ".calibration.npz"  # token ids of the calibration texts, removed before the bundle is published
CALIBRATION_SAMPLES = 200


def _rewritten(network: Network, form: str) -> tuple[Network, str]:
    """The description as the form's target needs it, and that target."""
    if form in ("loop", "scan"):
        return network, "keras" if form == "loop" else "scan"
    layers = copy.deepcopy(network.layers)
    for layer in layers:
        if form == "fused" and layer.kind == "embedding":
            layer.config["mask_zero"] = False  # the fused kernel has no mask: the runtime feeds true lengths
        if form == "unrolled" and layer.kind in ("lstm", "gru", "simple_rnn"):
            layer.config["unroll"] = True
        if form == "unrolled" and layer.kind == "bidirectional":
            for half in ("forward", "backward"):
                layer.config[half]["config"]["unroll"] = True
    return dataclasses.replace(network, layers=layers), "tf_keras" if form == "fused" else "keras"


def build_keras_graph(network: Network, form: str = "loop") -> Any:
    """The numeric part of the model as a Keras functional model with a batch of 1, in the given form."""
    from edgeclf.convert.lowering import lowering

    length = input_length(network, form)
    network, target = _rewritten(network, form)
    if target == "tf_keras":
        import tf_keras as keras_module
    else:
        import keras as keras_module
    x = keras_module.Input(batch_shape=(1, length), dtype="int32", name=INPUT)
    tensors = {INPUT: x}
    for layer in network.layers:  # topological order: every input is built before its readers
        tensors[layer.name] = lowering(target, layer.kind)(layer, *[tensors[s] for s in layer.inputs])
    return keras_module.Model(x, tensors[network.output])


def _quantize(
    converter: Any, precision: str, calibration: list[np.ndarray], length: int | None, per_channel_dense: bool
) -> None:
    """Set the converter up for one precision (fp32 needs nothing)."""
    import tensorflow as tf

    if precision == "fp32":
        return
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    # per-channel dense weights need FULLY_CONNECTED version 12, which tflite-runtime 2.14 cannot load
    converter._experimental_disable_per_channel_quantization_for_dense_layers = not per_channel_dense
    if precision == "float16":
        converter.target_spec.supported_types = [tf.float16]
    elif precision in FULL_INTEGER:
        if not calibration:
            raise ConversionError(f"{precision} needs calibration texts (--calibration-texts FILE)")

        def representative() -> Any:
            for ids in calibration:
                row = ids if length is None else np.pad(ids[:length], (0, max(0, length - len(ids))))
                yield [row.reshape(1, -1).astype(np.int32)]

        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.TFLITE_BUILTINS_INT8
            if precision != "int16x8"
            else tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
        ]
        if precision == "int8-float-rnn":  # calibrated only here; quantized with the recurrent ops denied after
            converter.target_spec.supported_ops.append(tf.lite.OpsSet.TFLITE_BUILTINS)
            converter._experimental_calibrate_only = True


def _convert_in_this_process(job: ArtifactJob) -> None:
    import tensorflow as tf

    out, precision, form = Path(job.out), job.precision, job.rnn
    network = Network.load(Path(job.network_dir))
    model = build_keras_graph(network, form)
    spec = [tf.TensorSpec(model.inputs[0].shape, tf.int32, name=INPUT)]
    calibration = []
    if job.calibration_file is not None:
        with np.load(job.calibration_file, allow_pickle=False) as saved:
            calibration = [saved[key] for key in sorted(saved.files, key=int)]
    with tempfile.TemporaryDirectory(prefix="edgeclf-savedmodel-") as saved_model:
        if form == "fused":  # tf-keras models convert directly; that path is what fuses the LSTM
            converter = tf.lite.TFLiteConverter.from_keras_model(model)
        else:
            model.export(saved_model, format="tf_saved_model", input_signature=spec, verbose=False)
            converter = tf.lite.TFLiteConverter.from_saved_model(saved_model)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]  # never Flex: no pip runtime has it
        _quantize(converter, precision, calibration, input_length(network, form), job.per_channel_dense)
        flatbuffer = converter.convert()
        if precision == "int8-float-rnn":
            flatbuffer = quantize_keeping_recurrent_float(flatbuffer, job.per_channel_dense)
        out.write_bytes(without_cell_clip(flatbuffer) if form == "fused" else flatbuffer)


def without_cell_clip(flatbuffer: bytes) -> bytes:
    """The model with every fused LSTM's ``cell_clip`` set to 0 (no clipping).

    The converter writes ``cell_clip=10`` into each UNIDIRECTIONAL_SEQUENCE_LSTM (or BIDIRECTIONAL_SEQUENCE_LSTM) it
    fuses, while Keras never clips the cell state: a long text that drives a cell past 10 would get another answer.
    The float is overwritten where it sits in the flatbuffer, so nothing else in the file moves.
    """
    from ai_edge_litert import schema_py_generated as schema

    # cell_clip is field 1 of both option tables: vtable slot 6
    option_tables = {
        "UNIDIRECTIONAL_SEQUENCE_LSTM": schema.UnidirectionalSequenceLSTMOptions,
        "BIDIRECTIONAL_SEQUENCE_LSTM": schema.BidirectionalSequenceLSTMOptions,
    }

    def fused_lstm_options(data: bytes | bytearray) -> list[Any]:
        model = schema.Model.GetRootAs(data, 0)
        names = tflite_op_names(model)
        found = []
        for s in range(model.SubgraphsLength()):
            subgraph = model.Subgraphs(s)
            for o in range(subgraph.OperatorsLength()):
                op = subgraph.Operators(o)
                table = op.BuiltinOptions()
                options_class = option_tables.get(names[op.OpcodeIndex()])
                if options_class is None or table is None:  # no options table: every field is 0, cell_clip too
                    continue
                options = options_class()
                options.Init(table.Bytes, table.Pos)
                found.append(options)
        return found

    data = bytearray(flatbuffer)
    for options in fused_lstm_options(data):
        field = options._tab.Offset(6)  # 0 when absent, i.e. already 0
        if field:
            struct.pack_into("<f", data, options._tab.Pos + field, 0.0)
    clips = [options.CellClip() for options in fused_lstm_options(bytes(data))]
    if any(clips):
        raise ConversionError(f"fused LSTMs still clip the cell after patching: cell_clip {clips}")
    return bytes(data)


def _masked_sequences(network: Network) -> bool:
    """Whether a recurrent layer returns sequences (while the mask is still on: it comes first, from the Embedding)."""
    for layer in network.layers:
        inner = layer.config["forward"]["config"] if layer.kind == "bidirectional" else layer.config
        if layer.kind in RECURRENT_KINDS and inner["return_sequences"]:
            return True
    return False


def default_forms(network: Network) -> list[str]:
    """The TFLite forms planned by default; conversion times each and the fastest exact one becomes the default.

    ``fused`` where the input has a static length and the network has an LSTM, else ``loop``; plus ``scan`` where
    it applies (recurrent layers, and texts fed at their true length or never masked). Measured with ``edgeclf
    bench`` (raw interpreter medians, one thread): the toxic model (length 100, no mask) runs fused in 346 µs
    against 1,015 µs as loops; the tutorial BiLSTM at each text's true length 922 µs fused, 812 µs as loops and
    about 1.1× ONNX Runtime as a scan (docs/performance.md)."""
    has_lstm = any(
        layer.kind == "lstm" or (layer.kind == "bidirectional" and "lstm" in (layer.config["forward"]["kind"],
                                                                           layer.config["backward"]["kind"]))
        for layer in network.layers
    )  # fmt: skip
    static = not network.feeds_true_length and not network.masked  # masked + fixed length: no fused form at all
    forms = ["fused" if has_lstm and static else "loop"]
    if _scan_applies(network):
        forms.append("scan")
    return forms


def _scan_applies(network: Network) -> bool:
    recurrent = any(layer.kind in RECURRENT_KINDS for layer in network.layers)
    return recurrent and not (network.masked and not network.feeds_true_length)


@builds("tflite", precisions=PRECISIONS, rnn_forms=RNN_FORMS, default_forms=default_forms)
def build_tflite(plan: ArtifactPlan, network: Network, staging: Path) -> dict:
    out = staging / plan.file
    if plan.rnn == "unrolled" and network.masked and not network.padding_is_noop and _masked_sequences(network):
        raise ConversionError(
            "Keras's unroll=True fills the masked steps of returned sequences differently from its own loop, and a "
            "padding-sensitive layer (Conv1D, max pooling) reads those steps here, so the TFLite unrolled form would "
            "not be exact; use --formats onnx --rnn unrolled (lowered by edgeclf itself) or TFLite loop/fused"
        )
    if plan.rnn == "fused" and network.masked and not network.feeds_true_length:
        raise ConversionError(
            "the fused form drops the mask, and this masked model is fed padded to its fixed length because a "
            "padding-sensitive layer (Conv1D, max pooling) sees the mask: padding would reach the recurrent layers; "
            "use --rnn loop or unrolled"
        )
    if plan.rnn == "scan" and not _scan_applies(network):
        raise ConversionError(
            "the scan form has no per-step mask and lowers only recurrent layers: this model has none, or it is "
            "masked and fed padded to its fixed length (a padding-sensitive layer such as Conv1D or max pooling "
            "sees the mask); use --rnn loop"
        )
    if plan.precision == "int8-float-rnn" and plan.rnn != "fused":
        raise ConversionError("int8-float-rnn keeps the fused recurrent ops float: only --rnn fused has them")
    length = input_length(network, plan.rnn)
    convert_to_tflite(staging, out, plan.precision, plan.rnn, context=plan.context)
    ops = tflite_op_census(out)
    weights = tflite_weight_bytes(out)
    details: dict[str, Any] = {
        "input_shape": [1, length or -1],
        "ops": ops,
        "weight_bytes": weights["bytes"],
        "embedding_dtype": weights["embedding_dtype"],
    }
    if plan.rnn == "fused":
        kinds = {k for layer in network.layers for k in (layer.kind, layer.config.get("forward", {}).get("kind"))}
        if kinds & {"gru", "simple_rnn"}:
            details["note"] = "TFLite has no fused GRU/SimpleRNN op: those layers stay WHILE loops (without the mask)"
        elif "UNIDIRECTIONAL_SEQUENCE_LSTM" in ops:
            details["note"] = "fused LSTM ops have no mask: masked models are fed at their true length"
    return details


def convert_to_tflite(
    network_dir: Path,
    out: Path,
    precision: str = "fp32",
    form: str = "loop",
    timeout: float = 1800,
    context: BuildContext | None = None,
) -> None:
    """Run the conversion in a child Python; raise ConversionError with the child's last words if it fails."""
    hint = ""
    if precision in FULL_INTEGER and form in ("loop", "scan"):
        hint = "; calibrating WHILE loops crashes TF 2.21 (tensorflow#75140): use --rnn fused or unrolled"
    if context is None:  # a description converted on its own: calibration ids staged beside it, if any
        staged = Path(network_dir) / CALIBRATION_FILE
        context = BuildContext(calibration_file=staged if staged.is_file() else None)
    job = ArtifactJob.for_artifact(network_dir, out, precision, form, context)
    run_job("edgeclf.convert.tflite", job, f"TFLite conversion ({form}, {precision})", timeout, hint)


if __name__ == "__main__":
    child_main("Convert a network description to TFLite (child process).", _convert_in_this_process)

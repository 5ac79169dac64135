"""Lower a ``Network`` to a ``.tflite`` file, each conversion in a child process.

The TF converter can die with SIGSEGV (calibrating WHILE graphs, tensorflow#75140) and prints to
stdout; a child process turns both into a clean, named error and keeps the CLI's output clean.

Input signature: a static batch of 1 (a dynamic batch cannot lower Keras 3 RNNs to builtin ops).
A masked model, or one with no fixed length, takes ``[1, None]`` and the runtime feeds each text at
its true length; a model with a fixed length and no mask takes ``[1, L]``.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from edgeclf.convert.artifacts import ArtifactPlan, ConversionError, builds, input_length, run_in_child
from edgeclf.network import INPUT, Network
from edgeclf.opcensus import tflite_op_census

# fp32: float; dynamic: int8 weights, float activations; float16: fp16 weights; int8: full integer
# (calibrated on real texts); int16x8: 16-bit activations, 8-bit weights.
PRECISIONS = ("fp32", "dynamic", "float16", "int8", "int16x8")
# loop: Keras 3 → WHILE loops that honour the mask. fused: rebuilt in tf-keras without the mask, so LSTMs become
# UNIDIRECTIONAL_SEQUENCE_LSTM (GRU/SimpleRNN have no fused op and stay loops); masked models are then fed at
# their true length. unrolled: a straight-line graph of builtin ops at the model's fixed length.
RNN_FORMS = ("loop", "fused", "unrolled")
CALIBRATION_FILE = ".calibration.npz"  # token ids of the calibration texts, removed before the bundle is published
CALIBRATION_SAMPLES = 200


def _rewritten(network: Network, form: str) -> tuple[Network, str]:
    """The description as the form's target needs it, and that target."""
    if form == "loop":
        return network, "keras"
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
    for layer in network.layers:
        (source,) = layer.inputs
        tensors[layer.name] = lowering(target, layer.kind)(layer, tensors[source])
    return keras_module.Model(x, tensors[network.output])


def _quantize(converter: Any, precision: str, calibration: list[np.ndarray], length: int | None) -> None:
    """Set the converter up for one precision (fp32 needs nothing)."""
    import tensorflow as tf

    if precision == "fp32":
        return
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if precision == "float16":
        converter.target_spec.supported_types = [tf.float16]
    elif precision in ("int8", "int16x8"):
        if not calibration:
            raise ConversionError(f"{precision} needs calibration texts (--calibration-texts FILE)")

        def representative() -> Any:
            for ids in calibration:
                row = ids if length is None else np.pad(ids[:length], (0, max(0, length - len(ids))))
                yield [row.reshape(1, -1).astype(np.int32)]

        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.TFLITE_BUILTINS_INT8
            if precision == "int8"
            else tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
        ]


def _convert_in_this_process(network_dir: Path, out: Path, precision: str, form: str) -> None:
    import tensorflow as tf

    network = Network.load(network_dir)
    model = build_keras_graph(network, form)
    spec = [tf.TensorSpec(model.inputs[0].shape, tf.int32, name=INPUT)]
    calibration_file = network_dir / CALIBRATION_FILE
    calibration = []
    if calibration_file.is_file():
        with np.load(calibration_file, allow_pickle=False) as saved:
            calibration = [saved[key] for key in sorted(saved.files, key=int)]
    with tempfile.TemporaryDirectory(prefix="edgeclf-savedmodel-") as saved_model:
        if form == "fused":  # tf-keras models convert directly; that path is what fuses the LSTM
            converter = tf.lite.TFLiteConverter.from_keras_model(model)
        else:
            model.export(saved_model, format="tf_saved_model", input_signature=spec, verbose=False)
            converter = tf.lite.TFLiteConverter.from_saved_model(saved_model)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]  # never Flex: no pip runtime has it
        _quantize(converter, precision, calibration, input_length(network, form))
        out.write_bytes(converter.convert())


@builds("tflite", precisions=PRECISIONS, rnn_forms=RNN_FORMS)
def build_tflite(plan: ArtifactPlan, network: Network, staging: Path) -> dict:
    out = staging / plan.file
    length = input_length(network, plan.rnn)
    convert_to_tflite(staging, out, plan.precision, plan.rnn)
    ops = tflite_op_census(out)
    details: dict[str, Any] = {"input_shape": [1, length or -1], "ops": ops}
    if plan.rnn == "fused":
        kinds = {k for layer in network.layers for k in (layer.kind, layer.config.get("forward", {}).get("kind"))}
        if kinds & {"gru", "simple_rnn"}:
            details["note"] = "TFLite has no fused GRU/SimpleRNN op: those layers stay WHILE loops (without the mask)"
        elif "UNIDIRECTIONAL_SEQUENCE_LSTM" in ops:
            details["note"] = "fused LSTM ops have no mask: masked models are fed at their true length"
    return details


def convert_to_tflite(
    network_dir: Path, out: Path, precision: str = "fp32", form: str = "loop", timeout: float = 1800
) -> None:
    """Run the conversion in a child Python; raise ConversionError with the child's last words if it fails."""
    hint = ""
    if precision in ("int8", "int16x8") and form == "loop":
        hint = "; calibrating WHILE loops crashes TF 2.21 (tensorflow#75140): use --rnn fused or unrolled"
    args = [str(network_dir), str(out), "--precision", precision, "--rnn", form]
    run_in_child("edgeclf.convert.tflite", args, f"TFLite conversion ({form}, {precision})", out, timeout, hint)


def main() -> None:
    parser = argparse.ArgumentParser(description="Convert a network description to TFLite (child process).")
    parser.add_argument("network_dir", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--precision", default="fp32", choices=PRECISIONS)
    parser.add_argument("--rnn", default="loop", choices=RNN_FORMS)
    args = parser.parse_args()
    _convert_in_this_process(args.network_dir, args.out, args.precision, args.rnn)


if __name__ == "__main__":
    main()

"""Lower a ``Network`` to a ``.tflite`` file, each conversion in a child process.

The TF converter can die with SIGSEGV (calibrating WHILE graphs, tensorflow#75140) and prints to
stdout; a child process turns both into a clean, named error and keeps the CLI's output clean.

Input signature: a static batch of 1 (a dynamic batch cannot lower Keras 3 RNNs to builtin ops).
A masked model, or one with no fixed length, takes ``[1, None]`` and the runtime feeds each text at
its true length; a model with a fixed length and no mask takes ``[1, L]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from edgeclf.convert.artifacts import ArtifactPlan, ConversionError, builds

from edgeclf.network import INPUT, Network
from edgeclf.opcensus import tflite_op_census

PRECISIONS = ("fp32",)
RNN_FORMS = ("loop",)  # TFLite WHILE loops from Keras 3: exact under masking


def input_length(network: Network) -> int | None:
    """The static sequence dimension of the artifact's input, or None for ``[1, None]``."""
    return None if network.masked else network.sequence_length


def build_keras_graph(network: Network) -> Any:
    """The numeric part of the model as a Keras 3 functional model with a batch of 1."""
    import keras
    from edgeclf.convert.lowering import lowering

    x = keras.Input(batch_shape=(1, input_length(network)), dtype="int32", name=INPUT)
    tensors = {INPUT: x}
    for layer in network.layers:
        (source,) = layer.inputs
        tensors[layer.name] = lowering("keras", layer.kind)(layer, tensors[source])
    return keras.Model(x, tensors[network.output])


def _convert_in_this_process(network_dir: Path, out: Path, precision: str) -> None:
    import tensorflow as tf

    model = build_keras_graph(Network.load(network_dir))
    spec = [tf.TensorSpec(model.inputs[0].shape, tf.int32, name=INPUT)]
    with tempfile.TemporaryDirectory(prefix="edgeclf-savedmodel-") as saved_model:
        model.export(saved_model, format="tf_saved_model", input_signature=spec, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved_model)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]  # never Flex: no pip runtime has it
        out.write_bytes(converter.convert())


@builds("tflite", precisions=PRECISIONS, rnn_forms=RNN_FORMS)
def build_tflite(plan: ArtifactPlan, network: Network, staging: Path) -> dict:
    out = staging / plan.file
    convert_to_tflite(staging, out, plan.precision)
    return {"input_shape": [1, input_length(network) or -1], "ops": tflite_op_census(out)}


def convert_to_tflite(network_dir: Path, out: Path, precision: str = "fp32", timeout: float = 1800) -> None:
    """Run the conversion in a child Python; raise ConversionError with the child's last words if it fails."""
    cmd = [sys.executable, "-m", "edgeclf.convert.tflite", str(network_dir), str(out), "--precision", precision]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as e:
        raise ConversionError(f"TFLite conversion ({precision}) did not finish in {timeout:.0f} s") from e
    if done.returncode != 0:
        if done.returncode < 0:
            reason = f"the TensorFlow converter crashed (signal {-done.returncode})"
        else:
            errors = [line for line in done.stderr.strip().splitlines() if "Error" in line or "error" in line]
            reason = (errors or done.stderr.strip().splitlines() or ["no output"])[-1][:400]
        raise ConversionError(f"TFLite conversion ({precision}) failed: {reason}")
    if not out.is_file() or out.stat().st_size == 0:
        raise ConversionError(f"TFLite conversion ({precision}) wrote no model")


def main() -> None:
    parser = argparse.ArgumentParser(description="Convert a network description to TFLite (child process).")
    parser.add_argument("network_dir", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--precision", default="fp32", choices=PRECISIONS)
    args = parser.parse_args()
    _convert_in_this_process(args.network_dir, args.out, args.precision)


if __name__ == "__main__":
    main()

"""Conv1D → ONNX ``Conv`` (padding valid, same, causal; strides; dilation), between two transposes.

Sequences are time-major ``[time, batch, features]`` here and ``Conv`` reads ``[batch, channels, time]``, so
the input is transposed in and the output back (ONNX Runtime's optimizer cancels a transpose pair between
two such layers). Keras's kernel ``[size, channels, filters]`` is ONNX's ``W [filters, channels, size]``.

Masks: Keras 3 drops a padding mask that reaches a Conv1D and convolves the padded steps as data, so the
output carries no mask. Those padded steps hold values that depend on where the padding sat and on the layer
before (an Embedding's row 0; a lone RNN repeats its last output, a Bidirectional one gives zeros), which
the fused form (tokens packed to the front, zeros past ``sequence_lens``) and the unrolled form do not
reproduce; so a masked sequence is accepted only where no padded step can reach the layer: the fused form
of a model with no fixed length, which the runtime feeds one text at its true length (or texts of equal
length together).
"""

from __future__ import annotations

import numpy as np

from edgeclf.errors import UnsupportedModelError
from edgeclf.network import Layer

from .. import lowers
from . import OnnxGraph, OnnxTensor
from .dense import apply_activation


def refuse_padded_steps(layer: Layer, x: OnnxTensor) -> None:
    """Raise if a padding mask reaches ``layer`` (which reads padded steps as data) and padded steps can occur."""
    g = x.graph
    masked = x.lengths is not None or x.step_mask is not None
    if masked and (g.rnn_form == "unrolled" or g.length is not None):
        raise UnsupportedModelError(
            f"layer {layer.name!r} ({layer.kind}) reads the padded steps of a masked sequence as data, and this "
            "model pads every text to a fixed length: Keras's values at those steps cannot be reproduced in ONNX; "
            "use the TFLite or numpy artifacts"
        )


def channels_first(g: OnnxGraph, x: OnnxTensor, hint: str) -> str:
    """Time-major [T, B, C] → [B, C, T], the layout of ONNX Conv and pooling."""
    if not x.sequence:
        raise UnsupportedModelError(f"layer {hint!r} needs a sequence input")
    return g.add("Transpose", [x.name], f"{hint}/channels_first", perm=[1, 2, 0])


def time_major(g: OnnxGraph, name: str, hint: str) -> str:
    """[B, C, T] → [T, B, C]."""
    return g.add("Transpose", [name], f"{hint}/time_major", perm=[2, 0, 1])


def padding_attributes(padding: str, span: int, stride: int, layer_name: str) -> dict:
    """Keras padding → ONNX: "same" is TensorFlow's (the odd step at the end), "causal" pads ``span - 1`` steps
    before. At stride 1 "same" pads a fixed amount, written out (ONNX Runtime refuses auto_pad with dilation,
    which Keras allows only at stride 1); otherwise it depends on the length, so it is ``SAME_UPPER``."""
    if padding == "valid":
        return {"pads": [0, 0]}
    if padding == "same":
        return {"pads": [(span - 1) // 2, span - 1 - (span - 1) // 2]} if stride == 1 else {"auto_pad": "SAME_UPPER"}
    if padding == "causal":
        return {"pads": [span - 1, 0]}
    raise UnsupportedModelError(f"layer {layer_name!r}: padding {padding!r} is not supported")


def track_length(g: OnnxGraph, span: int, stride: int, padding: str) -> None:
    """Update the graph's static time length past a layer that changes it: the unrolled recurrent layers
    after it unroll over ``g.length`` steps."""
    if g.length is not None:
        g.length = (g.length - span) // stride + 1 if padding == "valid" else -(-g.length // stride)


@lowers("onnx", "conv1d")
def conv1d_to_onnx(layer: Layer, x: OnnxTensor) -> OnnxTensor:
    g, c = x.graph, layer.config
    refuse_padded_steps(layer, x)
    span = (c["kernel_size"] - 1) * c["dilation_rate"] + 1
    inputs = [
        channels_first(g, x, layer.name),
        g.constant(f"{layer.name}/W", np.ascontiguousarray(layer.weights["kernel"].transpose(2, 1, 0), np.float32)),
    ]
    if "bias" in layer.weights:
        inputs.append(g.constant(f"{layer.name}/B", layer.weights["bias"].astype(np.float32)))
    y = g.add(
        "Conv",
        inputs,
        f"{layer.name}/conv",
        kernel_shape=[c["kernel_size"]],
        strides=[c["strides"]],
        dilations=[c["dilation_rate"]],
        **padding_attributes(c["padding"], span, c["strides"], layer.name),
    )
    track_length(g, span, c["strides"], c["padding"])
    y = apply_activation(g, time_major(g, y, layer.name), c["activation"], layer.name)
    return OnnxTensor(g, y, sequence=True, features=int(c["filters"]))  # Keras drops the mask here

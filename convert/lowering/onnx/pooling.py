"""Pooling and Flatten → ONNX ``MaxPool`` / ``AveragePool`` / ``ReduceMax`` / ``ReduceSum`` / ``Reshape``.

``GlobalAveragePooling1D`` honours Keras's padding mask: it averages the real steps only. In the fused form
the real steps of a row are its first ``lengths`` (the Embedding packed them to the front), in the unrolled
form those where ``step_mask`` is set; either way ``sum(x · mask) / sum(mask)``, Keras's own formula (a row
with no real step is 0 / 0 = NaN in both). The other kinds drop the mask and read padded steps as data, with
the same limits as Conv1D (see ``convolution.py``). "same" windowed pooling is TensorFlow's: padding never
wins a max and is not counted in an average (``AveragePool`` ``count_include_pad=0``).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from edgeclf.network import Layer

from .. import lowers
from . import OnnxGraph, OnnxTensor
from .convolution import channels_first, padding_attributes, refuse_padded_steps, time_major, track_length

_WINDOWED_OPS = {"max_pooling1d": "MaxPool", "average_pooling1d": "AveragePool"}


@lowers("onnx", *_WINDOWED_OPS)
def pooling1d_to_onnx(layer: Layer, x: OnnxTensor) -> OnnxTensor:
    g, c = x.graph, layer.config
    refuse_padded_steps(layer, x)
    y = g.add(
        _WINDOWED_OPS[layer.kind],
        [channels_first(g, x, layer.name)],
        f"{layer.name}/pool",
        kernel_shape=[c["pool_size"]],
        strides=[c["strides"]],
        **padding_attributes(c["padding"], c["pool_size"], c["strides"], layer.name),
    )
    track_length(g, c["pool_size"], c["strides"], c["padding"])
    return OnnxTensor(g, time_major(g, y, layer.name), sequence=True, features=x.features)


@lowers("onnx", "global_max_pooling1d")
def global_max_pooling1d_to_onnx(layer: Layer, x: OnnxTensor) -> OnnxTensor:
    refuse_padded_steps(layer, x)
    y = x.graph.add("ReduceMax", [x.name], layer.name, axes=[0], keepdims=0)  # opset 17: axes is an attribute
    return OnnxTensor(x.graph, y, sequence=False, features=x.features)


def _real_steps(g: OnnxGraph, x: OnnxTensor, hint: str) -> str | None:
    """float [T, B, 1]: 1 on the real steps of each row, 0 on padding; None without a mask."""
    if x.step_mask is not None:  # unrolled
        return g.add("Cast", [x.step_mask], f"{hint}/real_steps", to=1)  # 1 = FLOAT
    if x.lengths is None:
        return None
    # fused: step t of a row is real when t < its length (the tokens were packed to the front)
    steps = g.add("Shape", [x.name], f"{hint}/steps", start=0, end=1)
    scalar = g.add("Squeeze", [steps, g.int64s("axis_0", [0])], f"{hint}/steps_scalar")
    zero, one = g.constant("zero_i64", np.array(0, np.int64)), g.constant("one_i64", np.array(1, np.int64))
    time = g.add("Unsqueeze", [g.add("Range", [zero, scalar, one], f"{hint}/time"), g.int64s("axis_1", [1])],
                 f"{hint}/time_column")  # fmt: skip
    lengths = g.add("Cast", [x.lengths], f"{hint}/lengths_i64", to=7)  # 7 = INT64
    row = g.add("Unsqueeze", [lengths, g.int64s("axis_0", [0])], f"{hint}/lengths_row")
    real = g.add("Less", [time, row], f"{hint}/is_real")  # [T, B]
    real = g.add("Cast", [real], f"{hint}/real_01", to=1)
    return g.add("Unsqueeze", [real, g.int64s("axis_2", [2])], f"{hint}/real_steps")


@lowers("onnx", "global_average_pooling1d")
def global_average_pooling1d_to_onnx(layer: Layer, x: OnnxTensor) -> OnnxTensor:
    g = x.graph
    real = _real_steps(g, x, layer.name)
    if real is None:
        y = g.add("ReduceMean", [x.name], layer.name, axes=[0], keepdims=0)  # opset 17: axes is an attribute
        return OnnxTensor(g, y, sequence=False, features=x.features)
    axis_time = g.int64s("axis_0", [0])
    total = g.add("ReduceSum", [g.add("Mul", [x.name, real], f"{layer.name}/masked"), axis_time],
                  f"{layer.name}/sum", keepdims=0)  # fmt: skip
    count = g.add("ReduceSum", [real, axis_time], f"{layer.name}/count", keepdims=0)  # [B, 1]
    return OnnxTensor(g, g.add("Div", [total, count], layer.name), sequence=False, features=x.features)


@lowers("onnx", "flatten")
def flatten_to_onnx(layer: Layer, x: OnnxTensor) -> OnnxTensor:
    g = x.graph
    if not x.sequence:  # already [batch, features]
        return replace(x, lengths=None, step_mask=None)
    refuse_padded_steps(layer, x)
    batch_major = g.add("Transpose", [x.name], f"{layer.name}/batch_major", perm=[1, 0, 2])
    y = g.add("Reshape", [batch_major, g.int64s("shape_keep0_flatten", [0, -1])], layer.name)
    return OnnxTensor(g, y, sequence=False, features=x.features * (g.length or 0))  # 0: a dynamic length

"""Pooling and Flatten → ONNX ``MaxPool`` / ``AveragePool`` / ``ReduceMax`` / ``ReduceSum`` / ``Reshape``.

``GlobalAveragePooling1D`` honours Keras's padding mask: it averages the real steps only. In the fused form
the real steps of a row are its first ``lengths`` (the Embedding packed them to the front), in the unrolled
form those where ``step_mask`` is set; either way ``sum(where(mask, x, 0)) / sum(mask)``, Keras's own formula
(a row with no real step is 0 / 0 = NaN in both). The other kinds drop the mask and read padded steps as data, with
the same limits as Conv1D (see ``convolution.py``). "same" windowed pooling is TensorFlow's: padding never
wins a max and is not counted in an average (``AveragePool`` ``count_include_pad=0``).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from edgeclf.network import Layer

from .. import lowers
from . import OnnxTensor
from .attention import time_mask
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


@lowers("onnx", "global_average_pooling1d")
def global_average_pooling1d_to_onnx(layer: Layer, x: OnnxTensor) -> OnnxTensor:
    g = x.graph
    real = time_mask(x, f"{layer.name}/mask")  # bool [T, B, 1]
    if real is None:
        y = g.add("ReduceMean", [x.name], layer.name, axes=[0], keepdims=0)  # opset 17: axes is an attribute
        return OnnxTensor(g, y, sequence=False, features=x.features)
    axis_time = g.int64s("axis_0", [0])
    zero = g.constant("zero_f", np.array(0, np.float32))
    # Where, not x · mask, as Keras does: an inf or NaN at a padded step must become 0, not NaN
    masked = g.add("Where", [real, x.name, zero], f"{layer.name}/masked")
    total = g.add("ReduceSum", [masked, axis_time], f"{layer.name}/sum", keepdims=0)
    real = g.add("Cast", [real], f"{layer.name}/real_01", to=1)  # 1 = FLOAT
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

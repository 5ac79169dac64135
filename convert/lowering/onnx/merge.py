"""Concatenate (feature axis), Add, Average, Multiply → Concat / Add / Div / Mul, with Keras 3's mask rules.

Every input of a merge carries the same padding mask or none (the reader refuses a mix), so the merged
mask is that one: the output keeps it (``lengths`` or ``step_mask``). Multiply follows Keras's own
arithmetic: 1 at masked steps before the product, 0 there after it.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from edgeclf.errors import UnsupportedModelError
from edgeclf.network import Layer

from .. import lowers
from . import OnnxTensor
from .attention import time_mask


def _check(layer: Layer, inputs: tuple[OnnxTensor, ...]) -> None:
    if len({(x.sequence, x.lengths is None and x.step_mask is None) for x in inputs}) > 1:
        raise UnsupportedModelError(
            f"layer {layer.name!r} merges sequences with vectors, or masked with unmasked inputs: not supported"
        )


@lowers("onnx", "concatenate")
def concatenate_to_onnx(layer: Layer, *inputs: OnnxTensor) -> OnnxTensor:
    _check(layer, inputs)
    g = inputs[0].graph
    y = g.add("Concat", [x.name for x in inputs], f"{layer.name}/concat", axis=-1)
    return replace(inputs[0], name=y, features=sum(x.features for x in inputs))


@lowers("onnx", "add", "average")
def add_to_onnx(layer: Layer, *inputs: OnnxTensor) -> OnnxTensor:
    _check(layer, inputs)
    g = inputs[0].graph
    y = inputs[0].name
    for i, x in enumerate(inputs[1:], 1):  # left to right, as Keras adds
        y = g.add("Add", [y, x.name], f"{layer.name}/add_{i}")
    if layer.kind == "average":
        count = g.constant(f"{layer.name}/count", np.array(len(inputs), np.float32))
        y = g.add("Div", [y, count], f"{layer.name}/average")
    return replace(inputs[0], name=y)


@lowers("onnx", "multiply")
def multiply_to_onnx(layer: Layer, *inputs: OnnxTensor) -> OnnxTensor:
    _check(layer, inputs)
    g = inputs[0].graph
    mask = time_mask(inputs[0], f"{layer.name}/mask")
    one = g.constant("one_f", np.array(1, np.float32))
    factors = [x.name if mask is None else g.add("Where", [mask, x.name, one], f"{layer.name}/factor") for x in inputs]
    y = factors[0]
    for i, factor in enumerate(factors[1:], 1):
        y = g.add("Mul", [y, factor], f"{layer.name}/mul_{i}")
    if mask is not None:
        y = g.add("Where", [mask, y, g.constant("zero_f", np.array(0, np.float32))], f"{layer.name}/masked")
    return replace(inputs[0], name=y)

"""Dense (``MatMul`` + ``Add``, any rank) and Activation lowerings."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from edgeclf.errors import UnsupportedModelError
from edgeclf.network import Layer

from .. import lowers
from . import OnnxGraph, OnnxTensor

# Keras activation → (ONNX op, attributes); Keras 3 defaults spelt out where ONNX's differ
_ACTIVATIONS: dict[str, tuple[str, dict]] = {
    "relu": ("Relu", {}),
    "sigmoid": ("Sigmoid", {}),
    "tanh": ("Tanh", {}),
    "softmax": ("Softmax", {"axis": -1}),
    "softplus": ("Softplus", {}),
    "softsign": ("Softsign", {}),
    "elu": ("Elu", {"alpha": 1.0}),
    "selu": ("Selu", {}),  # ONNX's default alpha/gamma are Keras's constants rounded to float32
    "leaky_relu": ("LeakyRelu", {"alpha": 0.2}),  # Keras 3 default negative_slope
    "hard_sigmoid": ("HardSigmoid", {"alpha": 1 / 6, "beta": 0.5}),  # Keras 3: relu6(x + 3) / 6
}


def apply_activation(g: OnnxGraph, x: str, activation: str, layer_name: str) -> str:
    if activation == "linear":
        return x
    if activation in ("silu", "swish"):  # x · sigmoid(x): no single ONNX op before opset 22
        return g.add("Mul", [x, g.add("Sigmoid", [x], f"{layer_name}/sigmoid")], f"{layer_name}/silu")
    if activation not in _ACTIVATIONS:
        supported = ", ".join(sorted([*_ACTIVATIONS, "linear", "silu", "swish"]))
        raise UnsupportedModelError(
            f"layer {layer_name!r}: activation {activation!r} has no ONNX lowering (supported: {supported})"
        )
    op, attributes = _ACTIVATIONS[activation]
    return g.add(op, [x], f"{layer_name}/{activation}", **attributes)


@lowers("onnx", "dense")
def dense_to_onnx(layer: Layer, x: OnnxTensor) -> OnnxTensor:
    g = x.graph
    c = layer.config
    y = g.add("MatMul", [x.name, g.constant(f"{layer.name}/kernel", layer.weights["kernel"])], f"{layer.name}/matmul")
    if "bias" in layer.weights:
        y = g.add("Add", [y, g.constant(f"{layer.name}/bias", layer.weights["bias"].astype(np.float32))], layer.name)
    y = apply_activation(g, y, c["activation"], layer.name)
    return replace(x, name=y, features=int(c["units"]))  # a sequence stays one, with its mask


@lowers("onnx", "activation")
def activation_to_onnx(layer: Layer, x: OnnxTensor) -> OnnxTensor:
    return replace(x, name=apply_activation(x.graph, x.name, layer.config["activation"], layer.name))

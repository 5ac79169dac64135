"""Dense and Activation: applied to the last axis; a mask passes through unchanged, as in Keras."""

from __future__ import annotations

import numpy as np

from edgeclf.network import Layer
from edgeclf.numpy_layers import Mask, Op, evaluates, float32, rowwise
from edgeclf.numpy_layers.activations import activation


@evaluates("dense")
def dense(layer: Layer) -> Op:
    kernel = float32(layer.weights["kernel"])
    bias = float32(layer.weights["bias"]) if "bias" in layer.weights else None
    act = activation(layer.config.get("activation"))

    def op(x: np.ndarray, mask: Mask) -> tuple[np.ndarray, Mask]:
        y = rowwise(x, kernel)
        if bias is not None:
            y += bias
        return act(y), mask

    return op


@evaluates("activation")
def activation_layer(layer: Layer) -> Op:
    act = activation(layer.config.get("activation"))
    return lambda x, mask: (act(x), mask)

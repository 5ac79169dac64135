"""Conv1D lowerings: the same layer with the same weights (TFLite: EXPAND_DIMS + CONV_2D + SQUEEZE)."""

from __future__ import annotations

from typing import Any

from edgeclf.network import Layer

from .. import lowers
from . import keras_layers


@lowers("keras", "conv1d")
@lowers("tf_keras", "conv1d")
def conv1d_to_keras(layer: Layer, x: Any) -> Any:
    c = layer.config
    keras_layer = keras_layers(x).Conv1D(
        c["filters"],
        c["kernel_size"],
        strides=c["strides"],
        padding=c["padding"],
        dilation_rate=c["dilation_rate"],
        activation=c["activation"],
        use_bias=c["use_bias"],
        name=layer.name,
    )
    y = keras_layer(x)
    keras_layer.set_weights([layer.weights[k] for k in ("kernel", "bias") if k in layer.weights])
    return y

"""Dense and Activation lowerings."""

from __future__ import annotations

from typing import Any

from edgeclf.network import Layer

from .. import lowers
from . import keras_layers


@lowers("keras", "dense")
@lowers("tf_keras", "dense")
def dense_to_keras(layer: Layer, x: Any) -> Any:
    c = layer.config
    keras_layer = keras_layers(x).Dense(c["units"], activation=c["activation"], use_bias=c["use_bias"], name=layer.name)
    y = keras_layer(x)
    keras_layer.set_weights([layer.weights[k] for k in ("kernel", "bias") if k in layer.weights])
    return y


@lowers("keras", "activation")
@lowers("tf_keras", "activation")
def activation_to_keras(layer: Layer, x: Any) -> Any:
    return keras_layers(x).Activation(layer.config["activation"], name=layer.name)(x)

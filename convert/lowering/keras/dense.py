"""Dense and Activation lowerings."""

from __future__ import annotations

from typing import Any

from edgeclf.network import Layer

from .. import lowers


@lowers("keras", "dense")
def dense_to_keras(layer: Layer, x: Any) -> Any:
    import keras

    c = layer.config
    keras_layer = keras.layers.Dense(c["units"], activation=c["activation"], use_bias=c["use_bias"], name=layer.name)
    y = keras_layer(x)
    keras_layer.set_weights([layer.weights[k] for k in ("kernel", "bias") if k in layer.weights])
    return y


@lowers("keras", "activation")
def activation_to_keras(layer: Layer, x: Any) -> Any:
    import keras

    return keras.layers.Activation(layer.config["activation"], name=layer.name)(x)

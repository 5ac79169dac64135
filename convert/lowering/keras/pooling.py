"""Pooling and Flatten lowerings: the Keras layers themselves, so a mask reaching them behaves as in the source model
(GlobalAveragePooling1D honours it; the others drop it and read padded steps as data)."""

from __future__ import annotations

from typing import Any

from edgeclf.network import Layer

from .. import lowers
from . import keras_layers

_WINDOWED = {"max_pooling1d": "MaxPooling1D", "average_pooling1d": "AveragePooling1D"}
_GLOBAL = {"global_max_pooling1d": "GlobalMaxPooling1D", "global_average_pooling1d": "GlobalAveragePooling1D"}


@lowers("keras", *_WINDOWED)
@lowers("tf_keras", *_WINDOWED)
def pooling1d_to_keras(layer: Layer, x: Any) -> Any:
    c = layer.config
    cls = getattr(keras_layers(x), _WINDOWED[layer.kind])
    return cls(c["pool_size"], strides=c["strides"], padding=c["padding"], name=layer.name)(x)


@lowers("keras", *_GLOBAL)
@lowers("tf_keras", *_GLOBAL)
def global_pooling1d_to_keras(layer: Layer, x: Any) -> Any:
    return getattr(keras_layers(x), _GLOBAL[layer.kind])(name=layer.name)(x)


@lowers("keras", "flatten")
@lowers("tf_keras", "flatten")
def flatten_to_keras(layer: Layer, x: Any) -> Any:
    return keras_layers(x).Flatten(name=layer.name)(x)

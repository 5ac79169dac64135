"""Merge lowerings: Concatenate (feature axis), Add, Average, Multiply; Keras merges their masks itself."""

from __future__ import annotations

from typing import Any

from edgeclf.network import Layer

from .. import lowers
from . import keras_layers

_KERAS_CLASSES = {"concatenate": "Concatenate", "add": "Add", "average": "Average", "multiply": "Multiply"}


@lowers("keras", *_KERAS_CLASSES)
@lowers("tf_keras", *_KERAS_CLASSES)
def merge_to_keras(layer: Layer, *inputs: Any) -> Any:
    cls = getattr(keras_layers(inputs[0]), _KERAS_CLASSES[layer.kind])
    options = {"axis": -1} if layer.kind == "concatenate" else {}
    # Keras 3 records the masks' merging as keras.ops nodes named after the op ("concatenate", "logical_or"), and
    # a layer Keras auto-named "concatenate" would clash with the first of them: the prefix keeps names unique
    return cls(name=f"edgeclf_{layer.name}", **options)(list(inputs))

"""Embedding lowerings."""

from __future__ import annotations

from typing import Any

from edgeclf.network import Layer

from .. import lowers
from . import keras_layers


@lowers("keras", "embedding")
@lowers("tf_keras", "embedding")
def embedding_to_keras(layer: Layer, x: Any) -> Any:
    c = layer.config
    keras_layer = keras_layers(x).Embedding(c["input_dim"], c["output_dim"], mask_zero=c["mask_zero"], name=layer.name)
    y = keras_layer(x)
    keras_layer.set_weights([layer.weights["embeddings"]])
    return y

"""Embedding lowerings."""

from __future__ import annotations

from typing import Any

from edgeclf.network import Layer

from .. import lowers


@lowers("keras", "embedding")
def embedding_to_keras(layer: Layer, x: Any) -> Any:
    import keras

    c = layer.config
    keras_layer = keras.layers.Embedding(c["input_dim"], c["output_dim"], mask_zero=c["mask_zero"], name=layer.name)
    y = keras_layer(x)
    keras_layer.set_weights([layer.weights["embeddings"]])
    return y

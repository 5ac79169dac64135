"""Attention lowering: Keras's own ``Attention`` layer, rebuilt with the description's weights.

In the loop and unrolled forms the padding mask travels with the Keras tensors, so the rebuilt layer hides
padded keys and zeroes padded queries exactly as the original did; the fused form feeds true lengths.
"""

from __future__ import annotations

from typing import Any

from edgeclf.network import Layer

from .. import lowers
from . import keras_layers


@lowers("keras", "attention")
@lowers("tf_keras", "attention")
def attention_to_keras(layer: Layer, query: Any, value: Any, key: Any = None) -> Any:
    c = layer.config
    keras_layer = keras_layers(query).Attention(use_scale=c["use_scale"], score_mode=c["score_mode"], name=layer.name)
    inputs = [query, value] if key is None else [query, value, key]
    y = keras_layer(inputs, use_causal_mask=c["use_causal_mask"])
    keras_layer.set_weights([layer.weights[k] for k in ("scale", "concat_score_weight") if k in layer.weights])
    return y

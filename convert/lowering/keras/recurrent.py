"""LSTM / GRU / SimpleRNN and Bidirectional lowerings.

Keras 3 keeps the recurrent layers as they are: TFLite gets a WHILE loop that honours the padding
mask exactly (the mask travels with the Keras tensors from the Embedding). Under tf-keras with no mask
an LSTM becomes the fused UNIDIRECTIONAL_SEQUENCE_LSTM op.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edgeclf.network import Layer

from .. import lowers
from . import keras_layers

_KERAS_CLASSES = {"lstm": "LSTM", "gru": "GRU", "simple_rnn": "SimpleRNN"}


def _keras_recurrent(kind: str, config: dict, name: str, x: Any) -> Any:
    cls = getattr(keras_layers(x), _KERAS_CLASSES[kind])
    return cls(name=name, **config)


def _weights(weights: dict[str, np.ndarray], prefix: str = "") -> list[np.ndarray]:
    return [weights[prefix + k] for k in ("kernel", "recurrent_kernel", "bias") if prefix + k in weights]


@lowers("keras", "lstm", "gru", "simple_rnn")
@lowers("tf_keras", "lstm", "gru", "simple_rnn")
def recurrent_to_keras(layer: Layer, x: Any) -> Any:
    keras_layer = _keras_recurrent(layer.kind, layer.config, layer.name, x)
    y = keras_layer(x)
    keras_layer.set_weights(_weights(layer.weights))
    return y


@lowers("keras", "bidirectional")
@lowers("tf_keras", "bidirectional")
def bidirectional_to_keras(layer: Layer, x: Any) -> Any:
    c = layer.config
    forward = _keras_recurrent(c["forward"]["kind"], c["forward"]["config"], f"{layer.name}_forward", x)
    backward = _keras_recurrent(c["backward"]["kind"], c["backward"]["config"], f"{layer.name}_backward", x)
    keras_layer = keras_layers(x).Bidirectional(
        forward, backward_layer=backward, merge_mode=c["merge_mode"], name=layer.name
    )
    if c["backward"]["config"].get("unroll") and hasattr(keras_layer.backward_layer, "zero_output_for_mask"):
        # Keras's unrolled loop zeroes the backward half's masked steps with the mask not yet reversed, which
        # wipes real steps; left unzeroed, real steps are right and the masked ones are hidden by the mask
        keras_layer.backward_layer.zero_output_for_mask = False
    y = keras_layer(x)
    keras_layer.set_weights(_weights(layer.weights, "forward/") + _weights(layer.weights, "backward/"))
    return y

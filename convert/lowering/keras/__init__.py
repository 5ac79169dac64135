"""Targets ``keras`` (Keras 3) and ``tf_keras`` (Keras 2): the numeric part rebuilt as a Keras graph with a
batch of 1, for the TFLite converter. The same lowering serves both; the layer classes come from
whichever Keras built the input tensor (tf-keras is what makes the converter emit fused LSTM ops)."""

from typing import Any

from edgeclf.registry import import_family_modules


def keras_layers(x: Any) -> Any:
    """``keras.layers`` or ``tf_keras.layers``, matching the Keras that made tensor ``x``."""
    if type(x).__module__.startswith("keras"):
        import keras

        return keras.layers
    import tf_keras

    return tf_keras.layers


import_family_modules(__name__, __path__)  # registers every layer family's lowerings (one module each)

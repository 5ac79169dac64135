"""Target ``tf_keras``: registered by the ``keras`` target's modules, which serve both Keras versions."""

from . import keras  # noqa: F401

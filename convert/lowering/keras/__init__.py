"""Target ``keras``: the numeric part rebuilt as a Keras 3 graph (batch 1), for the TFLite converter."""

from . import dense, embedding, recurrent  # noqa: F401  (registers the lowerings)

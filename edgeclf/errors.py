"""One exception type for every failure a user can cause; the CLI prints its message, not a traceback."""


class EdgeclfError(Exception):
    """A problem with the user's model, bundle or input, explained in one line."""


class BundleError(EdgeclfError):
    """A bundle that is missing files, was tampered with, or was written by a newer edgeclf."""


class UnsupportedModelError(EdgeclfError):
    """A Keras model edgeclf cannot convert (no text input, a layer it cannot lower, ...)."""


class OptionsError(EdgeclfError):
    """Conversion options that contradict each other or the model (``--tokenizer`` and ``--vocab-file``, ...)."""


class ConversionError(EdgeclfError):
    """A toolchain (TFLite converter, ONNX export) failed or crashed on one artifact, or no artifact was left."""


class ParityError(ConversionError):
    """A converted float32 artifact that disagrees with Keras beyond the tolerance: no bundle is written."""

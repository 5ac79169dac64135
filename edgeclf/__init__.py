"""edgeclf: Keras RNN text classifiers on small devices. The runtime needs numpy and one interpreter."""

from edgeclf.errors import BundleError, EdgeclfError, ParityError, UnsupportedModelError
from edgeclf.runtime import Classifier, Prediction

__version__ = "0.1.0"
__all__ = [
    "BundleError",
    "Classifier",
    "EdgeclfError",
    "ParityError",
    "Prediction",
    "UnsupportedModelError",
    "__version__",
]

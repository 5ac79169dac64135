"""edgeclf: Keras RNN text classifiers on small devices."""

__version__ = "0.1.0"

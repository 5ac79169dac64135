"""Max / average pooling (windowed and global) and Flatten, with Keras 3's mask rules.

``GlobalAveragePooling1D`` is the one that honours a padding mask: it averages the real steps only
(``sum(where(mask, x, 0)) / sum(mask)``, so a row with no real step gives NaN, as in Keras). The others drop the
mask, as Keras 3 does (with a warning), and read padded steps as data; none passes a mask on.
"""

from __future__ import annotations

import numpy as np

from edgeclf.errors import UnsupportedModelError
from edgeclf.network import Layer
from edgeclf.numpy_layers import Mask, Op, evaluates
from edgeclf.numpy_layers.convolution import same_padding, window_indices


@evaluates("max_pooling1d", "average_pooling1d")
def pooling1d(layer: Layer) -> Op:
    c = layer.config
    size, stride, padding = c["pool_size"], c["strides"], c["padding"]
    if padding not in ("valid", "same"):
        raise UnsupportedModelError(f"layer {layer.name!r}: pooling padding {padding!r} is not supported")
    is_max = layer.kind == "max_pooling1d"

    def op(x: np.ndarray, _: Mask) -> tuple[np.ndarray, Mask]:
        steps = x.shape[1]
        before, after = same_padding(steps, size, stride) if padding == "same" else (0, 0)
        # "same" padding never wins a max and is left out of an average's count, as in TensorFlow
        real = np.pad(np.ones(steps, np.float32), (before, after))
        x = np.pad(x, ((0, 0), (before, after), (0, 0)), constant_values=-np.inf if is_max else 0)
        index = window_indices(x.shape[1], size, stride, 1, layer.name)
        windows = x[:, index]  # [B, T', size, channels]
        if is_max:
            return windows.max(axis=2), None
        return windows.sum(axis=2) / real[index].sum(axis=1)[:, None], None

    return op


@evaluates("global_max_pooling1d")
def global_max_pooling1d(layer: Layer) -> Op:
    return lambda x, mask: (x.max(axis=1), None)


@evaluates("global_average_pooling1d")
def global_average_pooling1d(layer: Layer) -> Op:
    def op(x: np.ndarray, mask: Mask) -> tuple[np.ndarray, Mask]:
        if mask is None:
            return x.mean(axis=1, dtype=np.float32), None
        real = mask.astype(bool)[:, :, None]
        # where(), not x · mask, as Keras does: an inf or NaN at a padded step must become 0, not NaN
        total = np.where(real, x, np.float32(0)).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):  # a row with no real step: 0 / 0 = NaN, as in Keras
            return total / real.sum(axis=1, dtype=np.float32), None

    return op


@evaluates("flatten")
def flatten(layer: Layer) -> Op:
    return lambda x, mask: (x.reshape(len(x), -1), None)

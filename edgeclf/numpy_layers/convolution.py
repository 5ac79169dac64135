"""Conv1D (padding valid, same, causal; strides; dilation), as one row-vector product per output step.

Keras 3 drops a padding mask that reaches a Conv1D (it warns) and convolves the padded steps as data, so
the op ignores the mask and passes none on. The windows are gathered into ``[B, T', kernel·channels]``
and multiplied by the kernel flattened the same way (``rowwise``: the same bits alone or in a batch).
"""

from __future__ import annotations

import numpy as np

from edgeclf.errors import EdgeclfError, UnsupportedModelError
from edgeclf.network import Layer
from edgeclf.numpy_layers import Mask, Op, evaluates, float32, rowwise
from edgeclf.numpy_layers.activations import activation


def same_padding(length: int, window: int, stride: int) -> tuple[int, int]:
    """TensorFlow's "same": ceil(length / stride) outputs, the odd padding step at the end."""
    total = max((-(-length // stride) - 1) * stride + window - length, 0)
    return total // 2, total - total // 2


def window_indices(length: int, window: int, stride: int, dilation: int, layer_name: str) -> np.ndarray:
    """Step indices [outputs, window] of every window over a (padded) sequence of ``length`` steps."""
    span = (window - 1) * dilation + 1
    outputs = (length - span) // stride + 1
    if outputs < 1:
        raise EdgeclfError(f"layer {layer_name!r}: a sequence of {length} steps is shorter than its window ({span})")
    return np.arange(outputs)[:, None] * stride + np.arange(window)[None, :] * dilation


@evaluates("conv1d")
def conv1d(layer: Layer) -> Op:
    c = layer.config
    kernel = float32(layer.weights["kernel"])  # [kernel_size, channels, filters]
    size, stride, dilation, padding = c["kernel_size"], c["strides"], c["dilation_rate"], c["padding"]
    if padding not in ("valid", "same", "causal"):
        raise UnsupportedModelError(f"layer {layer.name!r}: Conv1D padding {padding!r} is not supported")
    flat_kernel = float32(kernel.reshape(-1, kernel.shape[-1]))  # rows ordered (tap, channel), as the windows
    bias = float32(layer.weights["bias"]) if "bias" in layer.weights else None
    act = activation(c.get("activation"))
    span = (size - 1) * dilation + 1

    def op(x: np.ndarray, _: Mask) -> tuple[np.ndarray, Mask]:
        steps = x.shape[1]
        before, after = {"valid": (0, 0), "causal": (span - 1, 0)}.get(padding) or same_padding(steps, span, stride)
        if before or after:
            x = np.pad(x, ((0, 0), (before, after), (0, 0)))  # zeros, as TensorFlow pads a convolution
        windows = x[:, window_indices(x.shape[1], size, stride, dilation, layer.name)]  # [B, T', size, channels]
        y = rowwise(np.ascontiguousarray(windows.reshape(*windows.shape[:2], -1)), flat_kernel)
        if bias is not None:
            y += bias
        return act(y), None

    return op

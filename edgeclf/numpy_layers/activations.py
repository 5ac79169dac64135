"""Keras 3 activations by their serialized name, in float32 (shared by the recurrent and dense layers)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from edgeclf.errors import UnsupportedModelError

Activation = Callable[[np.ndarray], np.ndarray]
_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def sigmoid(x: np.ndarray) -> np.ndarray:
    # the same function as 1 / (1 + exp(-x)), without exp's overflow for x < -88 (and without the cost of
    # np.errstate on every recurrent step); within float32 rounding of TensorFlow's sigmoid
    y = np.tanh(x * np.float32(0.5))
    y *= np.float32(0.5)
    y += np.float32(0.5)
    return y


def softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(x, np.float32(0)).astype(x.dtype)


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def log_softmax(x: np.ndarray) -> np.ndarray:
    shifted = x - np.max(x, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def hard_sigmoid(x: np.ndarray) -> np.ndarray:
    return np.clip(x / np.float32(6) + np.float32(0.5), 0, 1)  # Keras 3: relu6(x + 3) / 6


def elu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


def gelu(x: np.ndarray) -> np.ndarray:
    # Keras 3's default is the exact form, with erf; numpy has no vectorised erf, so use math.erf in float64
    erf = np.vectorize(math.erf, otypes=[np.float64])(x.astype(np.float64) / math.sqrt(2))
    return (0.5 * x * (1 + erf)).astype(x.dtype)


ACTIVATIONS: dict[str, Activation] = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, np.float32(0)),
    "relu6": lambda x: np.clip(x, 0, 6),
    "leaky_relu": lambda x: np.where(x >= 0, x, np.float32(0.2) * x),  # Keras 3 default negative_slope=0.2
    "elu": elu,
    "selu": lambda x: (
        np.float32(_SELU_SCALE) * np.where(x > 0, x, np.float32(_SELU_ALPHA) * np.expm1(np.minimum(x, 0)))
    ),
    "sigmoid": sigmoid,
    "hard_sigmoid": hard_sigmoid,
    "tanh": np.tanh,
    "hard_tanh": lambda x: np.clip(x, -1, 1),
    "softplus": softplus,
    "softsign": lambda x: x / (1 + np.abs(x)),
    "silu": lambda x: x * sigmoid(x),
    "swish": lambda x: x * sigmoid(x),
    "hard_silu": lambda x: x * hard_sigmoid(x),
    "hard_swish": lambda x: x * hard_sigmoid(x),
    "mish": lambda x: x * np.tanh(softplus(x)),
    "gelu": gelu,
    "exponential": np.exp,
    "log_sigmoid": lambda x: -softplus(-x),
    "softmax": softmax,
    "log_softmax": log_softmax,
}


def activation(name: str | None) -> Activation:
    """The activation Keras serialized as ``name`` (None is Keras's "no activation")."""
    try:
        return ACTIVATIONS[name or "linear"]
    except KeyError:
        raise UnsupportedModelError(f"the numpy backend has no activation {name!r}") from None

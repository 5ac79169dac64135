"""Lowerings from the network description to a target, registered per (target, layer kind).

Each layer family has its own module; importing this package registers all of them. A target is a
way of realising the network: ``"keras"`` rebuilds the numeric part as a Keras 3 graph with a static
batch of 1, which the TFLite converter turns into builtin ops. Further targets (unrolled, fused,
ONNX) register their own functions for the same kinds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from edgeclf.errors import UnsupportedModelError
from edgeclf.network import Layer

Lowering = Callable[[Layer, Any], Any]
_LOWERINGS: dict[tuple[str, str], Lowering] = {}


def lowers(target: str, *kinds: str) -> Callable[[Lowering], Lowering]:
    def register(fn: Lowering) -> Lowering:
        for kind in kinds:
            _LOWERINGS[(target, kind)] = fn
        return fn

    return register


def lowering(target: str, kind: str) -> Lowering:
    try:
        return _LOWERINGS[(target, kind)]
    except KeyError:
        raise UnsupportedModelError(f"no {target} lowering for layer kind {kind!r}") from None


from . import dense, embedding, recurrent  # noqa: E402,F401  (registers the lowerings)

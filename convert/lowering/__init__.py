"""Lowerings from the network description to a target, registered per (target, layer kind).

A target is a way of realising the network, and has its own subpackage with one module per layer
family (embedding, recurrent, dense, ...), like tf2onnx's op handlers. ``keras`` rebuilds the numeric
part as a Keras 3 graph with a static batch of 1, which the TFLite converter turns into builtin ops.
Importing a target's subpackage registers its lowerings; ``lowering()`` imports it on first use.
"""

from __future__ import annotations

import importlib
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


def inherit(target: str, base: str) -> None:
    """Register ``base``'s lowerings under ``target`` for every layer kind ``target`` does not lower itself."""
    importlib.import_module(f"{__name__}.{base}")
    for (registered_target, kind), fn in list(_LOWERINGS.items()):
        if registered_target == base:
            _LOWERINGS.setdefault((target, kind), fn)


def lowering(target: str, kind: str) -> Lowering:
    importlib.import_module(f"{__name__}.{target}")  # registers the target's lowerings (once)
    try:
        return _LOWERINGS[(target, kind)]
    except KeyError:
        raise UnsupportedModelError(f"no {target} lowering for layer kind {kind!r}") from None

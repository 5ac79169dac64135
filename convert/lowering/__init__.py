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
from edgeclf.registry import Registry

Lowering = Callable[[Layer, Any], Any]
# (target, layer kind) → its lowering; a lookup imports the target's subpackage first (once)
LOWERINGS: Registry[tuple[str, str], Lowering] = Registry(
    "lowering",
    UnsupportedModelError,
    unknown=lambda key: f"no {key[0]} lowering for layer kind {key[1]!r}",
    load=lambda key: importlib.import_module(f"{__name__}.{key[0]}"),
)


def lowers(target: str, *kinds: str) -> Callable[[Lowering], Lowering]:
    return LOWERINGS.register(*((target, kind) for kind in kinds))


def inherit(target: str, base: str) -> None:
    """Register ``base``'s lowerings under ``target`` for every layer kind ``target`` does not lower itself."""
    importlib.import_module(f"{__name__}.{base}")
    for (registered_target, kind), fn in list(LOWERINGS.items()):
        if registered_target == base and (target, kind) not in LOWERINGS:
            LOWERINGS.register((target, kind))(fn)


def lowering(target: str, kind: str) -> Lowering:
    return LOWERINGS[(target, kind)]

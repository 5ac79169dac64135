"""Per-layer-kind registries are filled by importing every module of a family package (one module per family)."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable


def import_family_modules(package: str, path: Iterable[str]) -> None:
    """Import each module of ``package`` (its ``__path__`` is ``path``), so their registrations run; adding a
    layer family is adding a file."""
    for module in pkgutil.iter_modules(path):
        importlib.import_module(f"{package}.{module.name}")

"""One registry helper for every table of named handlers: layer kinds the numpy backend evaluates, lowerings,
Keras layer readers, artifact builders and backends.

Handlers register themselves with a decorator where they are defined (``@REGISTRY.register("lstm", "gru")``), as
tf2onnx's op handlers do; a lookup of an unknown name raises a typed ``EdgeclfError`` that names the known ones.
A family package fills its registry by being imported (``import_family_modules``): adding a layer family is
adding a file.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Generic, TypeVar

from edgeclf.errors import EdgeclfError

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


def import_family_modules(package: str, path: Iterable[str]) -> None:
    """Import each module of ``package`` (its ``__path__`` is ``path``), so their registrations run; adding a
    layer family is adding a file."""
    for module in pkgutil.iter_modules(path):
        importlib.import_module(f"{package}.{module.name}")


class Registry(Generic[K, T]):
    """Entries of one kind by name, in registration order.

    ``what`` names an entry in the error of an unknown name (``unknown backend 'x'; available: a, b``), raised
    as ``error``; ``unknown`` replaces that message where a registry has its own wording. ``load(name)`` runs
    before a lookup by ``[]``: it imports the modules whose decorators fill the registry (once; modules are
    cached), so a device imports only what it uses."""

    def __init__(
        self,
        what: str,
        error: type[EdgeclfError] = EdgeclfError,
        unknown: Callable[[K], str] | None = None,
        load: Callable[[K], None] | None = None,
    ) -> None:
        self._entries: dict[K, T] = {}
        self._what, self._error, self._unknown, self._load = what, error, unknown, load

    def register(self, *names: K) -> Callable[[T], T]:
        """Decorator: register the decorated object under each of ``names``."""

        def decorate(entry: T) -> T:
            for name in names:
                self._entries[name] = entry
            return entry

        return decorate

    def __getitem__(self, name: K) -> T:
        if self._load is not None:
            self._load(name)
        try:
            return self._entries[name]
        except KeyError:
            raise self._error(self._unknown_message(name)) from None

    def _unknown_message(self, name: K) -> str:
        if self._unknown is not None:
            return self._unknown(name)
        return f"unknown {self._what} {name!r}; available: {', '.join(map(str, self._entries))}"

    def get(self, name: K) -> T | None:
        """The entry registered so far under ``name``, or None (no loading, no error)."""
        return self._entries.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[K]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def items(self) -> Iterator[tuple[K, T]]:
        return iter(self._entries.items())

"""The models a server holds: fixed bundles, and TF Serving model folders (``NAME/1/``, ``NAME/2/``) watched for
new versions.

A TF Serving folder serves its highest version (TF Serving's default "latest" policy). A poller thread
lists the folder every ``poll_seconds``; when the highest version changes it loads it beside the one being
served and then swaps one reference: a request holds the version it resolved until it is answered, so no
request fails during a switch. A version that does not load (half-copied, corrupt) is reported in the
model's status and retried when its folder changes; the served version stays. Write a new version into a
temporary folder and rename it into place, as TF Serving's docs advise.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from edgeclf.errors import EdgeclfError

log = logging.getLogger("edgeclf.serve")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
BUNDLE_FILE = "manifest.json"
SINGLE_FILE_SUFFIXES = (".tflite", ".onnx")

Loader = Callable[[Path], object]  # bundle path → loaded Classifier


@dataclass
class Version:
    number: int
    path: Path
    classifier: object


@dataclass
class ServedModel:
    name: str
    source: Path
    versioned: bool  # a TF Serving folder of numbered versions, not one bundle
    current: Version | None = None
    retired: list[int] = field(default_factory=list)  # versions served before, now unloaded ("END")
    failed: dict[int, tuple[str, str]] = field(default_factory=dict)  # version → (folder signature, error)

    def version(self, number: int | None) -> Version | None:
        """The version a request names (None: the served one); only the served version is loaded."""
        current = self.current
        if current is None or (number is not None and number != current.number):
            return None
        return current

    def status(self) -> list[tuple[int, str, str]]:
        """(version, TF Serving state, error message), newest first."""
        # copies first: the version poller thread may change these while a request reads them
        retired, failed = list(self.retired), dict(self.failed)
        rows: dict[int, tuple[int, str, str]] = {n: (n, "END", "") for n in retired}
        rows.update({n: (n, "END", message) for n, (_, message) in failed.items()})
        if self.current is not None:
            rows[self.current.number] = (self.current.number, "AVAILABLE", "")
        return [rows[n] for n in sorted(rows, reverse=True)]


def _versions(folder: Path) -> dict[int, Path]:
    try:
        entries = list(folder.iterdir())
    except OSError:
        return {}
    return {int(p.name): p for p in entries if p.name.isdigit() and p.is_dir()}


def _signature(folder: Path) -> str:
    """Names, sizes and times of a version's files: a failed version is retried when this changes."""
    try:
        return ";".join(f"{p.name}:{s.st_size}:{s.st_mtime_ns}" for p in sorted(folder.iterdir()) for s in [p.stat()])
    except OSError:
        return ""


def describe_source(path: Path, name: str | None) -> ServedModel:
    """What a BUNDLE argument is: a bundle folder, a single-file bundle, or a TF Serving model folder."""
    if not path.exists():
        raise EdgeclfError(f"{path}: no such bundle or model folder")
    if path.is_file():
        if path.suffix not in SINGLE_FILE_SUFFIXES:
            raise EdgeclfError(f"{path}: not a bundle (a folder, a single-file .tflite or an edgeclf .onnx)")
        default = path.name.split(".")[0]
        versioned = False
    elif (path / BUNDLE_FILE).is_file():
        default, versioned = path.resolve().name, False
    elif _versions(path):
        default, versioned = path.resolve().name, True
    else:
        raise EdgeclfError(
            f"{path}: neither a bundle (no {BUNDLE_FILE}) nor a TF Serving model folder (numbered versions 1/, 2/, ...)"
        )
    name = name or default
    if not NAME.match(name):
        raise EdgeclfError(
            f"{path}: {name!r} cannot be a model name in a URL (letters, digits, . _ -); use --model-name"
        )
    return ServedModel(name, path, versioned)


class Repository:
    def __init__(self, models: list[ServedModel], loader: Loader, on_switch: Callable[[str, int], None]) -> None:
        seen: dict[str, Path] = {}
        for m in models:
            if m.name in seen:
                raise EdgeclfError(f"two models named {m.name!r} ({seen[m.name]} and {m.source}); use one of them")
            seen[m.name] = m.source
        self.models = {m.name: m for m in models}
        self._loader = loader
        self._on_switch = on_switch
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def load_all(self) -> None:
        """Load what every model serves now; at start-up a model with nothing loadable is an error."""
        for model in self.models.values():
            if not model.versioned:
                try:
                    self._install(model, Version(1, model.source, self._loader(model.source)))
                except Exception as e:
                    raise EdgeclfError(f"model {model.name!r}: {e}") from None
                continue
            self.refresh(model)
            if model.current is None:
                errors = "; ".join(f"version {n}: {msg}" for n, (_, msg) in sorted(model.failed.items()))
                raise EdgeclfError(f"model {model.name!r}: no version loads ({errors})")

    def refresh(self, model: ServedModel) -> None:
        """Serve the highest loadable version of a TF Serving folder (falls back to lower ones at start-up)."""
        present = _versions(model.source)
        for number in sorted(present, reverse=True):
            current = model.current
            if current is not None and current.number in present and number <= current.number:
                return  # the served version is still the highest loadable one (a removed one is replaced)
            signature = _signature(present[number])
            if number in model.failed and model.failed[number][0] == signature:
                continue  # it failed as it is now; wait for its folder to change
            try:
                classifier = self._loader(present[number])
            except Exception as e:  # anything a half-written folder causes: report, keep serving, retry
                if model.failed.get(number, ("", ""))[0] != signature:
                    log.warning("model %s version %d does not load: %s", model.name, number, e)
                model.failed[number] = (signature, str(e))
                continue
            model.failed.pop(number, None)
            self._install(model, Version(number, present[number], classifier))
            return

    def _install(self, model: ServedModel, version: Version) -> None:
        old = model.current
        model.current = version  # one reference: in-flight requests keep the version they resolved
        if old is not None and old.number != version.number:
            model.retired = [n for n in model.retired if n != version.number] + [old.number]
            log.warning("model %s: now serving version %d (was %d)", model.name, version.number, old.number)
        self._on_switch(model.name, version.number)

    def watch(self, poll_seconds: float) -> None:
        if poll_seconds <= 0 or not any(m.versioned for m in self.models.values()):
            return
        self._thread = threading.Thread(target=self._poll, args=(poll_seconds,), name="edgeclf-versions", daemon=True)
        self._thread.start()

    def _poll(self, poll_seconds: float) -> None:
        while not self._stop.wait(poll_seconds):
            for model in self.models.values():
                if model.versioned:
                    try:
                        self.refresh(model)
                    except Exception as e:  # the poller must outlive anything a folder can do to it
                        log.error("model %s: checking for new versions failed: %s", model.name, e)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

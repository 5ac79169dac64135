"""A bundle: the folder ``edgeclf convert`` writes and the runtime loads.

    manifest.json   format version, task, labels, tokenizer spec, input rules, artifacts + parity
    vocab.json      the tokenizer's vocabulary: a JSON list (TextVectorization, index = id) or a JSON
                    object word → id (legacy Keras Tokenizer, only ids the model can see)
    network.json    the network description, weights.npz its weights (for the pure-numpy backend)
    model.tflite    the float32 TFLite artifact (more artifacts as the manifest lists them)
    report.md       the parity report, for people

Every file is listed in the manifest with its size and sha256, checked when it is loaded. The manifest
itself must satisfy the published JSON Schema, ``edgeclf/manifest.schema.json``, checked on open.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from edgeclf.bundle.manifest import MANIFEST, check_manifest, sha256_of
from edgeclf.errors import BundleError
from edgeclf.tokenizer import Tokenizer, tokenizer_from_spec

KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")


def _not_a_bundle(root: Path) -> str:
    """What is wrong with a path that is no bundle: missing, a Keras model (not converted yet), or another file."""
    if not root.exists():
        return f"{root}: no such file or directory"
    if root.suffix.lower() in KERAS_SUFFIXES:
        return f"{root} is a Keras model, not a bundle: convert it first (edgeclf convert {root} -o BUNDLE_FOLDER)"
    return (
        f"{root}: not a bundle (a bundle is a folder written by `edgeclf convert`, a single-file .tflite from "
        "--single-file, or an edgeclf .onnx)"
    )


@dataclass
class Bundle:
    root: Path
    manifest: dict[str, Any]
    # suffix → reader of a single-file deploy (.tflite: model + appended ZIP; .onnx: metadata_props); the
    # readers build on this class, so edgeclf.bundle registers them here instead of this module importing them
    READERS: ClassVar[dict[str, Callable[[Path], Bundle]]] = {}

    @classmethod
    def open(cls, path: str | Path) -> Bundle:
        """The one open: a bundle folder, or a single-file deploy (``.tflite``, ``.onnx``) as a one-artifact bundle."""
        root = Path(path)
        reader = Bundle.READERS.get(root.suffix) if root.is_file() else None
        if reader is not None:
            return reader(root)
        if not root.is_dir():
            raise BundleError(_not_a_bundle(root))
        try:
            manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BundleError(f"{root}: no {MANIFEST}; not an edgeclf bundle, or an unfinished one") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise BundleError(f"{root / MANIFEST}: unreadable manifest ({e})") from e
        check_manifest(manifest, str(root / MANIFEST))
        return cls(root, manifest)

    def verified_path(self, name: str) -> Path:
        """Path of a bundle file after checking it against the manifest's size and sha256."""
        record = self.manifest.get("files", {}).get(name)
        if record is None:
            raise BundleError(f"{self.root}: {name} is not listed in the manifest")
        path = self.root / name
        if not path.is_file():
            raise BundleError(f"{self.root}: {name} is missing")
        if path.stat().st_size != record["size"] or sha256_of(path) != record["sha256"]:
            raise BundleError(f"{self.root}: {name} does not match its sha256 in the manifest (corrupted or modified)")
        return path

    @property
    def labels(self) -> list[str]:
        return list(self.manifest["labels"])

    def tokenizer(self) -> Tokenizer:
        spec = self.manifest["tokenizer"]
        try:
            vocabulary = json.loads(self.verified_path(spec["vocabulary_file"]).read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise BundleError(f"{self.root}: unreadable vocabulary ({e})") from e
        return tokenizer_from_spec(spec, vocabulary)

    def artifact(self, name: str | None = None) -> dict[str, Any]:
        artifacts = self.manifest["artifacts"]
        name = name or self.manifest["default_artifact"]
        for artifact in artifacts:
            if artifact["name"] == name:
                return artifact
        raise BundleError(f"{self.root}: no artifact {name!r}; it has {', '.join(a['name'] for a in artifacts)}")


@dataclass
class SingleFileBundle(Bundle):
    """A bundle rebuilt from a single file, in a private temporary folder removed with this object."""

    source: Path | None = None
    _tmp: Any = field(default=None, repr=False)


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise BundleError(f"{path}: cannot read ({e.strerror or e})") from e


def unpacked(files: dict[str, bytes]) -> tempfile.TemporaryDirectory:
    """``files`` (names already checked) written into a private temporary folder; nothing is left on failure."""
    tmp = tempfile.TemporaryDirectory(prefix="edgeclf-single-")
    try:
        for name, blob in files.items():
            (Path(tmp.name) / name).write_bytes(blob)
    except BaseException:
        tmp.cleanup()
        raise
    return tmp

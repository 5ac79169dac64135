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

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeclf.errors import BundleError
from edgeclf.schema import manifest_errors
from edgeclf.tokenizer import Tokenizer, tokenizer_from_spec

MANIFEST = "manifest.json"
VOCABULARY = "vocab.json"
FORMAT = "edgeclf-bundle"
FORMAT_VERSION = 1


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_record(path: Path) -> dict[str, Any]:
    return {"size": path.stat().st_size, "sha256": sha256_of(path)}


def check_manifest(manifest: Any, where: str) -> None:
    """Refuse anything but an edgeclf manifest of a format version this edgeclf reads that satisfies the
    published schema (edgeclf/manifest.schema.json); the error names the first failing value. The version
    comes first: a bundle from a newer edgeclf is told to upgrade, not that its manifest is invalid."""
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleError(f"{where}: not an edgeclf manifest")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise BundleError(f"{where}: bundle format version {version!r}; edgeclf reads up to {FORMAT_VERSION} (upgrade)")
    problems = manifest_errors(manifest)
    if problems:
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise BundleError(f"{where}: {problems[0]}{more}")


@dataclass
class Bundle:
    root: Path
    manifest: dict[str, Any]

    @classmethod
    def open(cls, path: str | Path) -> Bundle:
        root = Path(path)
        if root.is_file() and root.suffix == ".tflite":
            from edgeclf.single_file import open_single_file  # a single-file deploy: model + appended ZIP

            return open_single_file(root)
        if root.is_file() and root.suffix == ".onnx":
            from edgeclf.single_file import open_onnx_file  # an .onnx carries its bundle in metadata_props

            return open_onnx_file(root)
        if not root.is_dir():
            raise BundleError(f"{root}: not a bundle folder (run `edgeclf convert MODEL -o {root}` first)")
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

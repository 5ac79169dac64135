"""The manifest contract: file names, format and version, file records, and the check every reader runs.

The manifest must satisfy the published JSON Schema, ``edgeclf/manifest.schema.json`` (``schema.py``), checked
on open; the version comes first so a bundle from a newer edgeclf is told to upgrade.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from edgeclf.bundle.schema import manifest_errors
from edgeclf.errors import BundleError

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


def bytes_record(data: bytes) -> dict[str, Any]:
    """``file_record`` of bytes in memory (the members of a single-file bundle)."""
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


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

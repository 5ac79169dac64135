"""Which artifact a bundle runs when none is named: the fastest exact one whose backend is installed here.

The converter times every exact artifact (float32, within the parity tolerance) on the parity texts, interleaved,
and writes the fastest-first ranking into the manifest (``default_choice``) with each artifact's ``latency``.
A device differs from the converting machine (another CPU, another set of interpreters), so ``edgeclf bench
--record`` re-measures there and writes a device record beside the bundle; ``Classifier.load`` prefers it when it
was made for this very manifest. The record only orders artifact names: whichever is chosen is still opened
through the bundle's sha256 checks. A quantized artifact is the default only when the user pinned it
(``convert --default-artifact``): it trades exactness for size, which is the user's call.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeclf.backends import backends_for

PINNED, FASTEST_EXACT = "pinned", "fastest_exact"


@dataclass(frozen=True)
class Choice:
    artifact: str
    backend: str | None  # None: the artifact's first installed backend
    reason: str


def machine_description() -> str:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return f"{platform.machine()} {platform.system()}, {cores} cores"


def manifest_digest(manifest: Mapping[str, Any]) -> str:
    """A fingerprint of the manifest's content: a device record applies to one conversion only."""
    return hashlib.sha256(json.dumps(manifest, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def ranking(latencies: Mapping[str, float]) -> list[str]:
    """Artifact names, fastest first (ties keep the given order)."""
    return sorted(latencies, key=lambda name: latencies[name])


def is_exact(artifact: Mapping[str, Any]) -> bool:
    return artifact.get("precision") == "fp32" and bool(artifact.get("parity", {}).get("ok", True))


def device_record_path(bundle: str | Path) -> Path:
    """Beside the bundle: ``BUNDLE/device.json`` for a folder, ``FILE.device.json`` for a single file."""
    path = Path(bundle)
    return path / "device.json" if path.is_dir() else path.with_name(path.name + ".device.json")


def write_device_record(bundle: str | Path, manifest: Mapping[str, Any], measured: Mapping[str, dict]) -> Path:
    """Record what ``edgeclf bench`` measured on this device; ``measured`` maps artifact → {backend, p50_us}."""
    record = {
        "manifest_sha256": manifest_digest(manifest),
        "machine": machine_description(),
        "ranking": ranking({name: m["p50_us"] for name, m in measured.items()}),
        "measured": dict(measured),
    }
    path = device_record_path(bundle)
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    partial.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, path)  # a reader sees the old record or the new one, never half of one
    return path


def read_device_record(bundle: str | Path, manifest: Mapping[str, Any]) -> dict[str, Any] | None:
    """The device record, if there is a readable one made for this manifest (anything else is ignored)."""
    try:
        record = json.loads(device_record_path(bundle).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("manifest_sha256") != manifest_digest(manifest):
        return None
    names = record.get("ranking")
    return record if isinstance(names, list) and all(isinstance(n, str) for n in names) else None


def choose(
    manifest: Mapping[str, Any],
    installed: Iterable[str],
    backend: str | None = None,
    device_record: Mapping[str, Any] | None = None,
) -> Choice:
    """The artifact (and backend) to run when the caller named none.

    Order of preference: an artifact the user pinned at conversion; the device record's ranking (with the backend
    measured fastest there); the manifest's ranking (measured where it was converted); any other exact artifact;
    any artifact at all. At each step only artifacts with a backend installed here (or the one named) count.
    """
    installed = set(installed)
    artifacts = {a["name"]: a for a in manifest["artifacts"]}

    def runnable(name: str, preferred: str | None = None) -> str | None:
        if name not in artifacts:
            return None
        options = [backend] if backend else [preferred, *backends_for(artifacts[name]["format"])]
        usable = [b for b in options if b in backends_for(artifacts[name]["format"]) and (backend or b in installed)]
        return usable[0] if usable else None

    choice = manifest.get("default_choice") or {}
    default = manifest["default_artifact"]
    if choice.get("rule") == PINNED and (backend is None or runnable(default)):
        return Choice(default, None, "pinned at conversion (--default-artifact)")
    if device_record:
        measured = device_record.get("measured", {})
        for name in device_record["ranking"]:
            found = runnable(name, measured.get(name, {}).get("backend"))
            if found:
                return Choice(name, found, f"fastest exact on this device ({device_record.get('machine')})")
    sources = [
        (choice.get("ranking", []), f"fastest exact where converted ({choice.get('measured_on')})"),
        ([n for n, a in artifacts.items() if is_exact(a)], "an exact artifact with an installed backend"),
        ([default, *artifacts], "the first artifact with an installed backend"),
    ]
    for names, reason in sources:
        for name in names:
            found = runnable(name)
            if found:
                return Choice(name, found, reason)
    return Choice(default, backend, "the bundle's default")  # opening it names what is missing


def describe_choice(manifest: Mapping[str, Any]) -> str:
    """One line for the console and ``inspect``: which artifact is the default, and why."""
    default, choice = manifest["default_artifact"], manifest.get("default_choice") or {}
    latency = {a["name"]: a["latency"] for a in manifest["artifacts"] if "latency" in a}
    if choice.get("rule") == PINNED:
        return f"default artifact: {default} (pinned with --default-artifact)"
    timed = ", ".join(f"{n} {latency[n]['p50_us']:,.0f} µs" for n in choice.get("ranking", []) if n in latency)
    if choice.get("rule") != FASTEST_EXACT or not timed:  # bundles of older edgeclf versions
        return f"default artifact: {default}"
    if not timed:
        return f"default artifact: {default} (no exact artifact could be timed here)"
    backend = latency[default]["backend"]
    return (
        f"default artifact: {default} ({backend}), the fastest exact one here; median per text: {timed}. "
        f"A device without {backend} runs the next of these it can"
    )

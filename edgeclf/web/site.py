"""Builds the static web page for a bundle: ``edgeclf web BUNDLE -o site/``.

The page runs the bundle's ONNX artifact in onnxruntime-web (WASM) and edgeclf's tokenizer, input rules and
score heads in JavaScript (assets/edgeclf-core.js). The runtime's files come from an npm install of
onnxruntime-web (edgeclf/web/package.json + package-lock.json pin the version); nothing is downloaded here.
The folder is assembled beside its destination and renamed into place, so a failure leaves no half-written site.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from edgeclf.bundle.manifest import sha256_of
from edgeclf.errors import EdgeclfError

HERE = Path(__file__).resolve().parent
ASSETS = HERE / "assets"
PAGE_FILES = ("index.html", "edgeclf-app.js", "edgeclf-core.js", "style.css")
# onnxruntime-web's WASM-only build: the module, its Emscripten glue, and the SIMD WASM binary
# (1.30 ships only the threaded build; it runs single-threaded on a page that is not cross-origin isolated).
RUNTIME_FILES = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
RUNTIME_PACKAGE = "onnxruntime-web"


def pinned_runtime_version() -> str:
    """The onnxruntime-web version edgeclf/web/package.json pins (the one the page is tested with)."""
    package = json.loads((HERE / "package.json").read_text(encoding="utf-8"))
    return package["dependencies"][RUNTIME_PACKAGE]


def install_hint() -> str:
    return f"npm ci --omit=dev --prefix {HERE}"


def find_runtime(runtime_dir: Path | None) -> tuple[Path, str]:
    """The folder holding onnxruntime-web's dist files, and its version; a one-line error saying how to get it."""
    if runtime_dir is None:
        candidates = [HERE / "node_modules" / RUNTIME_PACKAGE / "dist"]
    else:
        r = Path(runtime_dir)
        candidates = [r, r / "dist", r / RUNTIME_PACKAGE / "dist", r / "node_modules" / RUNTIME_PACKAGE / "dist"]
    for dist in candidates:
        if all((dist / f).is_file() for f in RUNTIME_FILES):
            try:
                version = json.loads((dist.parent / "package.json").read_text(encoding="utf-8"))["version"]
            except (OSError, ValueError, KeyError):
                version = "unknown"
            return dist, str(version)
    where = runtime_dir if runtime_dir is not None else candidates[0]
    raise EdgeclfError(
        f"onnxruntime-web's files ({', '.join(RUNTIME_FILES)}) are not in {where}: install them with "
        f"`{install_hint()}` (npm registry, onnxruntime-web {pinned_runtime_version()}) or pass --runtime-dir"
    )


def read_bundle(bundle: Path) -> dict[str, Any]:
    """The bundle's manifest, checked just enough for the page (a bundle folder from `edgeclf convert`)."""
    if not bundle.is_dir():
        raise EdgeclfError(f"{bundle}: not a bundle folder (the page needs the folder `edgeclf convert` writes)")
    try:
        manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EdgeclfError(f"{bundle}: no manifest.json; not an edgeclf bundle") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise EdgeclfError(f"{bundle}/manifest.json: unreadable ({e})") from e
    if not isinstance(manifest, dict) or manifest.get("format") != "edgeclf-bundle":
        raise EdgeclfError(f"{bundle}/manifest.json: not an edgeclf manifest")
    if not isinstance(manifest.get("format_version"), int) or manifest["format_version"] > 1:
        raise EdgeclfError(f"{bundle}: bundle format version {manifest.get('format_version')!r}; this edgeclf reads 1")
    for key in ("task", "labels", "output", "input", "tokenizer", "artifacts", "files"):
        if key not in manifest:
            raise EdgeclfError(f"{bundle}/manifest.json: no {key!r}")
    return manifest


def choose_artifact(manifest: dict[str, Any], name: str | None) -> dict[str, Any]:
    """The named ONNX artifact, else the float32 ONNX one (the one whose parity is checked), else the first."""
    onnx = [a for a in manifest["artifacts"] if a.get("format") == "onnx"]
    if name is not None:
        for artifact in manifest["artifacts"]:
            if artifact["name"] == name:
                if artifact.get("format") != "onnx":
                    raise EdgeclfError(f"artifact {name!r} is {artifact.get('format')}; the page runs ONNX artifacts")
                return artifact
        raise EdgeclfError(f"no artifact {name!r}; ONNX ones: {', '.join(a['name'] for a in onnx) or 'none'}")
    if not onnx:
        raise EdgeclfError("the bundle has no ONNX artifact: convert it with --formats including onnx")
    return next((a for a in onnx if a.get("precision") == "fp32"), onnx[0])


def _verified(bundle: Path, manifest: dict[str, Any], name: str) -> Path:
    record = manifest["files"].get(name)
    path = bundle / name
    if record is None or not path.is_file():
        raise EdgeclfError(f"{bundle}: {name} is missing or not listed in the manifest")
    if path.stat().st_size != record.get("size") or sha256_of(path) != record.get("sha256"):
        raise EdgeclfError(f"{bundle}: {name} does not match its sha256 in the manifest (corrupted or modified)")
    return path


def python_lower_table() -> dict[str, str]:
    """Python's str.lower() per code point where it changes one (capital sigma excepted: the JS applies the
    final-sigma rule). The legacy Keras Tokenizer lowercases with it; a browser's own table is another Unicode."""
    table = {}
    for cp in range(0x110000):
        if 0xD800 <= cp < 0xE000 or cp == 0x3A3:
            continue
        low = chr(cp).lower()
        if low != chr(cp):
            table[str(cp)] = low
    return table


def site_config(manifest: dict[str, Any], artifact: dict[str, Any], version: str) -> dict[str, Any]:
    """What the page reads besides manifest.json: the model file, its input's shape, the runtime."""
    shape = artifact.get("input_shape") or [1, -1]
    spec = manifest["tokenizer"]
    needs_lower = spec.get("kind") == "keras_tokenizer" and spec.get("lower", True)
    return {
        "artifact": artifact["name"],
        "model_file": "model.onnx",
        "model_sha256": artifact.get("sha256"),
        "dynamic_length": len(shape) < 2 or shape[1] in (-1, None),
        "vocabulary_file": spec["vocabulary_file"],
        "runtime": {"name": RUNTIME_PACKAGE, "version": version, "dir": "ort/"},
        "python_lower": python_lower_table() if needs_lower else None,
    }


def build_site(
    bundle: Path, output: Path, artifact_name: str | None = None, runtime_dir: Path | None = None, force: bool = False
) -> dict[str, Any]:
    """Writes the page folder; returns {file: bytes} and the config. Atomic: built beside ``output``, renamed."""
    output = Path(output)
    if output.exists() and not (output.is_dir() and not any(output.iterdir())) and not force:
        raise EdgeclfError(f"{output} exists; pass --force to replace it")
    manifest = read_bundle(Path(bundle))
    artifact = choose_artifact(manifest, artifact_name)
    model = _verified(Path(bundle), manifest, artifact["file"])
    vocabulary = _verified(Path(bundle), manifest, manifest["tokenizer"]["vocabulary_file"])
    dist, version = find_runtime(runtime_dir)
    config = site_config(manifest, artifact, version)
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.partial-", dir=output.parent))
    try:
        for name in PAGE_FILES:
            shutil.copyfile(ASSETS / name, staging / name)
        (staging / "ort").mkdir()
        for name in RUNTIME_FILES:
            shutil.copyfile(dist / name, staging / "ort" / name)
        (staging / "ort" / "NOTICE.txt").write_text(
            f"{RUNTIME_PACKAGE} {version} (MIT License, (c) Microsoft Corporation), copied from {RUNTIME_PACKAGE}/dist "
            "as installed by npm.\n",
            encoding="utf-8",
        )
        shutil.copyfile(model, staging / config["model_file"])
        shutil.copyfile(vocabulary, staging / config["vocabulary_file"])
        shutil.copyfile(Path(bundle) / "manifest.json", staging / "manifest.json")
        (staging / "site.json").write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
        os.chmod(staging, 0o755)  # mkdtemp makes it 0700: a static server must be able to read it
        _swap_into_place(staging, output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    sizes = {str(p.relative_to(output)): p.stat().st_size for p in sorted(output.rglob("*")) if p.is_file()}
    return {"files": sizes, "config": config}


def _swap_into_place(staging: Path, output: Path) -> None:
    """Rename the finished folder over ``output``; an old site is moved aside first and removed after."""
    old = None
    if output.exists():
        old = output.with_name(f".{output.name}.old-{os.getpid()}")
        output.rename(old)
    try:
        staging.rename(output)
    except BaseException:
        if old is not None:
            old.rename(output)
        raise
    if old is not None:
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink()

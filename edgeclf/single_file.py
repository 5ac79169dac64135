"""Single-file deploys: one ``.tflite`` that carries its own manifest, vocabulary and labels.

The layout follows TFLite model metadata's associated files: the unchanged flatbuffer, then a ZIP
archive appended after it. Interpreters read the flatbuffer and ignore the trailing bytes, so the
file still loads as a plain model; edgeclf reads the ZIP (whose offsets are relative to its own
start) to rebuild a one-artifact bundle.

    model.edgeclf.tflite = model.tflite bytes | ZIP(manifest.json, vocab.json, labels.txt)

An ``.onnx`` artifact is a single file by itself: the converter writes the vocabulary, labels, task,
tokenizer spec and input/output rules into its ``metadata_props`` (keys ``edgeclf.*``, JSON values).
``open_onnx_file`` reads them straight from the protobuf (``edgeclf.onnx_proto``): no ``onnx`` package.
An ONNX file cannot hold its own sha256: its integrity is the file's.

The embedded manifest is the bundle's manifest reduced to one artifact; its ``files`` section holds
the size and sha256 of the flatbuffer prefix and of every member, all checked on open. The archive is
untrusted input: only flat, known member names are accepted (no paths, no ``..``, no absolute names,
no symlinks, no duplicates), members are read with a size cap, and files are written under our own
names into a private (0700) temporary folder, never where the archive says.
"""

from __future__ import annotations

import hashlib
import io
import json
import stat
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeclf.bundle import FORMAT, FORMAT_VERSION, MANIFEST, VOCABULARY, Bundle, check_manifest
from edgeclf.errors import BundleError
from edgeclf.onnx_proto import metadata_props, op_types

SUFFIX = ".edgeclf.tflite"
LABELS = "labels.txt"
MAX_MEMBER_BYTES = 64 << 20  # a vocabulary of a million tokens is ~20 MB; anything far beyond is hostile
MAX_MEMBERS = 16
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: the same bundle gives the same bytes
ONNX_METADATA_PREFIX = "edgeclf."  # the keys convert/onnx.py writes into metadata_props
ONNX_FORMAT, ONNX_FORMAT_VERSION = "edgeclf-onnx", 1


def single_file_name(artifact_file: str) -> str:
    """``model.tflite`` → ``model.edgeclf.tflite``."""
    return Path(artifact_file).stem + SUFFIX


def write_single_file(bundle_dir: str | Path, artifact_name: str | None = None) -> Path:
    """Write ``<bundle>/<stem>.edgeclf.tflite`` for a TFLite artifact of the bundle; returns its path.

    The bundle's manifest is not changed here: the caller lists the new file (the converter does).
    """
    bundle = Bundle.open(bundle_dir)
    artifact = bundle.artifact(artifact_name)
    if artifact["format"] != "tflite":
        raise BundleError(f"{artifact['name']}: single-file deploys are .tflite only (it is {artifact['format']})")
    vocabulary_file = bundle.manifest["tokenizer"]["vocabulary_file"]
    flatbuffer = bundle.verified_path(artifact["file"]).read_bytes()
    vocabulary = bundle.verified_path(vocabulary_file).read_bytes()
    labels = ("\n".join(bundle.labels) + "\n").encode("utf-8")

    manifest = json.loads(json.dumps(bundle.manifest))  # a deep copy, reduced to this artifact below
    manifest["artifacts"] = [artifact]
    manifest["default_artifact"] = artifact["name"]
    manifest["failed_artifacts"] = []
    manifest.pop("single_files", None)
    manifest["files"] = {
        artifact["file"]: _record(flatbuffer),
        vocabulary_file: _record(vocabulary),
        LABELS: _record(labels),
    }
    manifest["single_file"] = {"layout": "flatbuffer followed by a ZIP archive", "model": artifact["file"]}

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in [
            (MANIFEST, (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")),
            (vocabulary_file, vocabulary),
            (LABELS, labels),
        ]:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            zf.writestr(info, data)

    out = bundle.root / single_file_name(artifact["file"])
    tmp = out.with_name(f".{out.name}.partial")
    tmp.write_bytes(flatbuffer + archive.getvalue())
    tmp.replace(out)  # a reader never sees half a file
    open_single_file(out)  # what we wrote must open (and be verified)
    return out


@dataclass
class SingleFileBundle(Bundle):
    """A bundle rebuilt from a single file, in a private temporary folder removed with this object."""

    source: Path | None = None
    _tmp: Any = field(default=None, repr=False)


def open_single_file(path: str | Path) -> SingleFileBundle:
    """Verify a single-file model and rebuild its one-artifact bundle; every failure is a ``BundleError``."""
    path = Path(path)
    data = _read_bytes(path)
    members = _read_archive(path, data)

    try:
        manifest = json.loads(members[MANIFEST].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BundleError(f"{path}: unreadable embedded manifest ({e})") from e
    check_manifest(manifest, f"{path}: embedded {MANIFEST}")  # before any of its values is used
    try:
        (artifact,) = manifest["artifacts"]
        model_name = _plain_name(path, artifact["file"])
        vocabulary_name = _plain_name(path, manifest["tokenizer"]["vocabulary_file"])
    except (KeyError, TypeError, ValueError):
        raise BundleError(f"{path}: the embedded manifest does not describe exactly one artifact") from None

    # The model is the file's prefix: its size comes from the manifest, its bytes must match the sha256.
    files = manifest["files"]
    model_record = files.get(model_name) or {}
    size = model_record.get("size")
    if not isinstance(size, int) or not 0 < size <= len(data):
        raise BundleError(f"{path}: the embedded manifest gives no valid size for {model_name}")
    if model_name in members:  # the model is the prefix; a second copy in the archive would be ambiguous
        raise BundleError(f"{path}: refusing archive member {model_name!r} (the model is the file's prefix)")
    contents = {model_name: data[:size]}
    for name in members:
        if name != MANIFEST:
            contents[name] = members[name]
    for name in (model_name, vocabulary_name):
        if name not in contents:
            raise BundleError(f"{path}: {name} is missing from the embedded archive")
    for name, blob in contents.items():
        record = files.get(name)
        if record is None:
            raise BundleError(f"{path}: {name} is in the archive but not listed in the embedded manifest")
        if record.get("size") != len(blob) or record.get("sha256") != hashlib.sha256(blob).hexdigest():
            raise BundleError(
                f"{path}: {name} does not match its sha256 in the embedded manifest (corrupted or modified)"
            )

    # Written under names checked above, into a folder only this user can read; removed with the bundle.
    tmp = _unpacked({**contents, MANIFEST: members[MANIFEST]})
    try:
        opened = Bundle.open(Path(tmp.name))  # the usual format and version checks
    except BaseException:
        tmp.cleanup()
        raise
    return SingleFileBundle(Path(tmp.name), opened.manifest, source=path, _tmp=tmp)


def open_onnx_file(path: str | Path) -> SingleFileBundle:
    """A lone edgeclf ``.onnx`` as a one-artifact bundle, from its ``metadata_props``; failures are ``BundleError``."""
    path = Path(path)
    data = _read_bytes(path)
    props = metadata_props(path, data)
    try:
        meta = {
            k[len(ONNX_METADATA_PREFIX) :]: json.loads(v)
            for k, v in props.items()
            if k.startswith(ONNX_METADATA_PREFIX)
        }
    except json.JSONDecodeError as e:
        raise BundleError(f"{path}: unreadable edgeclf metadata ({e})") from e
    if meta.get("format") != ONNX_FORMAT:
        raise BundleError(f"{path}: no edgeclf metadata in this .onnx (a plain ONNX model? load its bundle folder)")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > ONNX_FORMAT_VERSION:
        raise BundleError(f"{path}: edgeclf ONNX metadata version {version!r}; edgeclf reads up to 1 (upgrade)")
    missing = [k for k in ("task", "labels", "output", "input", "tokenizer", "vocabulary") if k not in meta]
    if missing or not isinstance(meta["tokenizer"], dict):
        raise BundleError(f"{path}: the edgeclf metadata lacks {', '.join(missing) or 'a tokenizer spec'}")

    model_name = "model.onnx"
    vocabulary = json.dumps(meta["vocabulary"], ensure_ascii=False).encode("utf-8")
    # precision as the converter names it: "dynamic" graphs quantize activations at run time
    dynamic = any(op.startswith("DynamicQuantize") for op in op_types(path, data))
    artifact = {
        "name": path.stem,
        "file": model_name,
        "format": "onnx",
        "precision": "dynamic" if dynamic else "fp32",
        "size": len(data),
    }
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "task": meta["task"],
        "labels": meta["labels"],
        "output": meta["output"],
        "input": meta["input"],
        "tokenizer": {**meta["tokenizer"], "vocabulary_file": VOCABULARY},
        "files": {model_name: _record(data), VOCABULARY: _record(vocabulary)},
        "artifacts": [artifact],
        "failed_artifacts": [],
        "default_artifact": artifact["name"],
        "single_file": {"layout": "ONNX model with edgeclf metadata_props", "model": model_name},
    }
    # the bytes read above, not the path again: what was parsed is what runs
    manifest_bytes = json.dumps(manifest, ensure_ascii=False).encode("utf-8")
    tmp = _unpacked({model_name: data, VOCABULARY: vocabulary, MANIFEST: manifest_bytes})
    return SingleFileBundle(Path(tmp.name), manifest, source=path, _tmp=tmp)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise BundleError(f"{path}: cannot read ({e.strerror or e})") from e


def _unpacked(files: dict[str, bytes]) -> tempfile.TemporaryDirectory:
    """``files`` (names already checked) written into a private temporary folder; nothing is left on failure."""
    tmp = tempfile.TemporaryDirectory(prefix="edgeclf-single-")
    try:
        for name, blob in files.items():
            (Path(tmp.name) / name).write_bytes(blob)
    except BaseException:
        tmp.cleanup()
        raise
    return tmp


def _record(data: bytes) -> dict[str, Any]:
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _plain_name(path: Path, name: Any) -> str:
    """A member name is one plain file name: no folders, no ``..``, nothing absolute, nothing hidden."""
    if (
        not isinstance(name, str)
        or not name
        or name != Path(name).name
        or "/" in name
        or "\\" in name
        or ":" in name
        or name.startswith(".")
        or "\x00" in name
    ):
        raise BundleError(f"{path}: refusing archive member {name!r} (only plain file names are allowed)")
    return name


def _read_archive(path: Path, data: bytes) -> dict[str, bytes]:
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise BundleError(
            f"{path}: no edgeclf archive after the model (a plain .tflite? load its bundle folder, "
            "or convert with --single-file); the file may also be truncated"
        )
    members: dict[str, bytes] = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_MEMBERS:
                raise BundleError(f"{path}: the embedded archive has {len(infos)} members (at most {MAX_MEMBERS})")
            for info in infos:
                name = _plain_name(path, info.filename)
                if info.is_dir() or stat.S_ISLNK(info.external_attr >> 16):
                    raise BundleError(f"{path}: refusing archive member {name!r} (not a regular file)")
                if name in members:
                    raise BundleError(f"{path}: archive member {name!r} appears twice")
                if info.file_size > MAX_MEMBER_BYTES:
                    raise BundleError(f"{path}: archive member {name!r} is too large ({info.file_size:,} bytes)")
                with zf.open(info) as f:
                    blob = f.read(MAX_MEMBER_BYTES + 1)  # the header's size may lie; the cap may not
                if len(blob) > MAX_MEMBER_BYTES:
                    raise BundleError(f"{path}: archive member {name!r} is too large")
                members[name] = blob
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,
        EOFError,
        OSError,
        ValueError,
        NotImplementedError,
    ) as e:
        raise BundleError(f"{path}: the embedded archive is truncated or corrupted ({e})") from e
    if MANIFEST not in members:
        raise BundleError(f"{path}: the embedded archive has no {MANIFEST}; not an edgeclf single-file model")
    return members

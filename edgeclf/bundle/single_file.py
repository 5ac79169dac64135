"""Single-file deploys: one ``.tflite`` that carries its own manifest, vocabulary and labels.

The layout follows TFLite model metadata's associated files: the unchanged flatbuffer, then a ZIP
archive appended after it. Interpreters read the flatbuffer and ignore the trailing bytes, so the
file still loads as a plain model; edgeclf reads the ZIP (whose offsets are relative to its own
start) to rebuild a one-artifact bundle.

    model.edgeclf.tflite = model.tflite bytes | ZIP(manifest.json, vocab.json, labels.txt)

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
import zipfile
import zlib
from pathlib import Path
from typing import Any

from edgeclf.bundle.folder import Bundle, SingleFileBundle, read_bytes, unpacked
from edgeclf.bundle.manifest import MANIFEST, bytes_record, check_manifest
from edgeclf.errors import BundleError

SUFFIX = ".edgeclf.tflite"
LABELS = "labels.txt"
MAX_MEMBER_BYTES = 64 << 20  # a vocabulary of a million tokens is ~20 MB; anything far beyond is hostile
MAX_MEMBERS = 16
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: the same bundle gives the same bytes


def single_file_name(artifact_file: str) -> str:
    """``model.tflite`` → ``model.edgeclf.tflite``."""
    return Path(artifact_file).stem + SUFFIX


def write_single_file(bundle_dir: str | Path | Bundle, artifact_name: str | None = None) -> Path:
    """Write ``<bundle>/<stem>.edgeclf.tflite`` for a TFLite artifact of the bundle; returns its path.

    The bundle's manifest is not changed here: the caller lists the new file (the converter does, passing its
    staged bundle with the manifest in memory).
    """
    bundle = bundle_dir if isinstance(bundle_dir, Bundle) else Bundle.open(bundle_dir)
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
        artifact["file"]: bytes_record(flatbuffer),
        vocabulary_file: bytes_record(vocabulary),
        LABELS: bytes_record(labels),
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


def open_single_file(path: str | Path) -> SingleFileBundle:
    """Verify a single-file model and rebuild its one-artifact bundle; every failure is a ``BundleError``."""
    path = Path(path)
    data = read_bytes(path)
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
    tmp = unpacked({**contents, MANIFEST: members[MANIFEST]})
    try:
        opened = Bundle.open(Path(tmp.name))  # the usual format and version checks
    except BaseException:
        tmp.cleanup()
        raise
    return SingleFileBundle(Path(tmp.name), opened.manifest, source=path, _tmp=tmp)


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

"""What a model path really holds, read from its bytes (not its name), and which Keras loads it.

tf.keras 2.x wrote HDF5 whatever the file was called, Keras 2.13–2.15 wrote ``.keras`` zips that Keras 3
cannot deserialize, and TF 2.x ``model.save("dir")`` wrote a SavedModel folder: each goes to the loader that
reads it, and a container nothing here can read gets a one-line answer saying what to pass instead.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from edgeclf.errors import EdgeclfError, OptionsError, UnsupportedModelError

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
ZIP_MAGIC = b"PK\x03\x04"
TF_KERAS_INSTALL = "pip install 'edgeclf[convert]' (it includes tf-keras)"


def container_kind(path: Path) -> str:
    """``"zip"`` (a ``.keras`` archive), ``"hdf5"``, ``"savedmodel"`` (a folder) or ``"unknown"``."""
    path = Path(path)
    if path.is_dir():
        if (path / "saved_model.pb").is_file() or (path / "saved_model.pbtxt").is_file():
            return "savedmodel"
        return "unknown"
    with path.open("rb") as f:
        head = f.read(8)
    if head.startswith(ZIP_MAGIC):
        return "zip"
    # HDF5 may also start after a user block of 512, 1024... bytes; Keras never writes one
    if head == HDF5_MAGIC:
        return "hdf5"
    return "unknown"


def zip_keras_version(path: Path) -> str | None:
    """The ``keras_version`` a ``.keras`` zip's metadata.json records (None when it records none)."""
    try:
        with zipfile.ZipFile(path) as archive:
            metadata = json.loads(archive.read("metadata.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    version = metadata.get("keras_version") if isinstance(metadata, dict) else None
    return str(version) if version is not None else None


def check_model_path(path: Path) -> str:
    """The container kind of an existing model path; a one-line error for anything else."""
    path = Path(path)
    if not path.exists():
        raise EdgeclfError(f"{path}: no such file or folder")
    kind = container_kind(path)
    if kind != "unknown":
        return kind
    if path.is_dir():
        raise UnsupportedModelError(
            f"{path}: a folder without saved_model.pb, so not a SavedModel; pass the model file (.keras or .h5) or "
            "the SavedModel folder itself"
        )
    raise UnsupportedModelError(
        f"{path}: not a Keras model (neither a .keras zip nor HDF5 by its first bytes); pass the file Keras saved "
        "(model.save('model.keras') or .h5) or a SavedModel folder"
    )


def import_tf_keras(path: Path, why: str) -> object:
    """tf-keras, which reads Keras-2 files; a one-line install hint when it is missing."""
    try:
        import tf_keras
    except ImportError as e:
        raise UnsupportedModelError(f"{path}: {why}; Keras-2 files need tf-keras: {TF_KERAS_INSTALL}") from e
    return tf_keras


def load_saved_model(path: Path, custom_objects: dict | None = None) -> object:
    """A Keras model from a tf.keras SavedModel folder (its keras_metadata.pb says how to rebuild the layers).

    A SavedModel without Keras metadata (``tf.saved_model.save``, ``model.export``) is only a graph: no layers
    to lower, so it is refused with what to pass instead."""
    import warnings

    from edgeclf._quiet import native_stderr_silenced

    if not (path / "keras_metadata.pb").is_file():
        raise UnsupportedModelError(
            f"{path}: a bare TensorFlow graph (SavedModel without keras_metadata.pb, e.g. from tf.saved_model.save "
            "or model.export): it has no Keras layers to convert; pass the Keras model file instead (in the training "
            "code: model.save('model.keras'), or model.save('model.h5') with tf.keras)"
        )
    with native_stderr_silenced():
        tf_keras = import_tf_keras(path, "a SavedModel folder is read by tf-keras")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return tf_keras.models.load_model(str(path), compile=False, custom_objects=custom_objects)  # type: ignore[attr-defined]
    except Exception as e:  # tf-keras raises ValueError, TypeError, KeyError... for a SavedModel it cannot rebuild
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:300]
        raise UnsupportedModelError(f"{path}: tf-keras cannot rebuild this SavedModel as a Keras model: {first}") from e


@contextmanager
def named_for_keras(path: Path, kind: str) -> Iterator[str]:
    """The path under a name whose suffix tells Keras the container it holds (a symlink when the name misleads)."""
    suffix = {"zip": ".keras", "hdf5": ".h5"}[kind]
    if path.suffix.lower() == suffix or (kind == "hdf5" and path.suffix.lower() == ".hdf5"):
        yield str(path)
        return
    with tempfile.TemporaryDirectory(prefix="edgeclf-model-") as folder:
        link = Path(folder) / f"model{suffix}"
        link.symlink_to(path.resolve())
        yield str(link)


def read_custom_objects(path: Path, unsafe: bool) -> dict[str, Any]:
    """The classes and functions a user's Python file defines, for Keras to rebuild custom layers with.

    Running the file is running the user's code: only with ``--unsafe``, said out loud."""
    path = Path(path)
    if not unsafe:
        raise OptionsError(f"--custom-objects {path} runs that Python file; pass --unsafe too (trusted files only)")
    if not path.is_file():
        raise EdgeclfError(f"--custom-objects {path}: no such file")
    import runpy

    try:
        namespace = runpy.run_path(str(path), run_name="edgeclf_custom_objects")
    except Exception as e:  # the user's code may raise anything; one line, not a traceback
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
        raise EdgeclfError(f"--custom-objects {path} failed to run: {type(e).__name__}: {first}") from e
    objects = {
        name: value
        for name, value in namespace.items()
        if not name.startswith("_") and isinstance(value, type) and value.__module__ == "edgeclf_custom_objects"
    }
    if not objects:
        raise EdgeclfError(f"--custom-objects {path} defines no classes (the model's custom layers)")
    return objects


def source_record(path: Path) -> dict[str, Any]:
    """Size and sha256 of the model file; for a SavedModel folder, of its files taken together (sorted by path)."""
    import hashlib

    from edgeclf.bundle import file_record

    path = Path(path)
    if not path.is_dir():
        return file_record(path)
    digest, size = hashlib.sha256(), 0
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        record = file_record(file)
        digest.update(f"{file.relative_to(path).as_posix()}\0{record['sha256']}\n".encode())
        size += record["size"]
    return {"size": size, "sha256": digest.hexdigest()}

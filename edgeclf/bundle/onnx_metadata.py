"""The ONNX metadata contract, written by the converter and read by the runtime in this one module.

An ``.onnx`` artifact is a single file by itself: the converter writes the vocabulary, labels, task,
tokenizer spec and input/output rules into its ``metadata_props`` (keys ``edgeclf.*``, JSON values).
``open_onnx_file`` reads them straight from the protobuf (``onnx_proto``): no ``onnx`` package.
An ONNX file cannot hold its own sha256: its integrity is the file's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from edgeclf.bundle.folder import SingleFileBundle, read_bytes, unpacked
from edgeclf.bundle.manifest import FORMAT, FORMAT_VERSION, MANIFEST, VOCABULARY, bytes_record, check_manifest
from edgeclf.bundle.onnx_proto import metadata_props, op_types
from edgeclf.errors import BundleError

METADATA_PREFIX = "edgeclf."  # every key edgeclf writes into metadata_props
ONNX_FORMAT, ONNX_FORMAT_VERSION = "edgeclf-onnx", 1
REQUIRED = ("task", "labels", "output", "input", "tokenizer", "vocabulary")


def write_metadata(manifest: dict[str, Any], vocabulary: Any) -> dict[str, str]:
    """What a lone .onnx needs to classify text, from the bundle's manifest and vocabulary: ``metadata_props``."""
    tokenizer = {k: v for k, v in manifest["tokenizer"].items() if k != "vocabulary_file"}
    values = {
        "format": ONNX_FORMAT,
        "format_version": ONNX_FORMAT_VERSION,
        "task": manifest["task"],
        "labels": manifest["labels"],
        "output": manifest["output"],
        "input": manifest["input"],
        "tokenizer": tokenizer,
        "vocabulary": vocabulary,
    }
    return {METADATA_PREFIX + key: json.dumps(value, ensure_ascii=False) for key, value in values.items()}


def read_metadata(path: Path, props: dict[str, str]) -> dict[str, Any]:
    """The values ``write_metadata`` wrote, checked: format, a version this edgeclf reads, every required key."""
    try:
        meta = {k[len(METADATA_PREFIX) :]: json.loads(v) for k, v in props.items() if k.startswith(METADATA_PREFIX)}
    except json.JSONDecodeError as e:
        raise BundleError(f"{path}: unreadable edgeclf metadata ({e})") from e
    if meta.get("format") != ONNX_FORMAT:
        raise BundleError(f"{path}: no edgeclf metadata in this .onnx (a plain ONNX model? load its bundle folder)")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > ONNX_FORMAT_VERSION:
        raise BundleError(f"{path}: edgeclf ONNX metadata version {version!r}; edgeclf reads up to 1 (upgrade)")
    missing = [k for k in REQUIRED if k not in meta]
    if missing or not isinstance(meta["tokenizer"], dict):
        raise BundleError(f"{path}: the edgeclf metadata lacks {', '.join(missing) or 'a tokenizer spec'}")
    return meta


def open_onnx_file(path: str | Path) -> SingleFileBundle:
    """A lone edgeclf ``.onnx`` as a one-artifact bundle, from its ``metadata_props``; failures are ``BundleError``."""
    path = Path(path)
    data = read_bytes(path)
    meta = read_metadata(path, metadata_props(path, data))

    model_name = "model.onnx"
    vocabulary = json.dumps(meta["vocabulary"], ensure_ascii=False).encode("utf-8")
    # precision as the converter names it: "dynamic" graphs quantize activations at run time
    ops = op_types(path, data)
    dynamic = any(op.startswith("DynamicQuantize") for op in ops)
    # the metadata does not name the form: a native recurrent op is the fused one; without one the graph is
    # loop-free, which is what "unrolled" promises (a network without recurrent layers is loop-free either way)
    fused = any(op in ("LSTM", "GRU", "RNN", "DynamicQuantizeLSTM") for op in ops)
    artifact = {
        "name": path.stem,
        "file": model_name,
        "format": "onnx",
        "precision": "dynamic" if dynamic else "fp32",
        "rnn": "fused" if fused else "unrolled",
        **bytes_record(data),
    }
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "task": meta["task"],
        "labels": meta["labels"],
        "output": meta["output"],
        "input": meta["input"],
        "tokenizer": {**meta["tokenizer"], "vocabulary_file": VOCABULARY},
        "files": {model_name: bytes_record(data), VOCABULARY: bytes_record(vocabulary)},
        "artifacts": [artifact],
        "failed_artifacts": [],
        "default_artifact": artifact["name"],
        "single_file": {"layout": "ONNX model with edgeclf metadata_props", "model": model_name},
    }
    # the metadata is untrusted input, as the .tflite's embedded manifest is: a bad value is a BundleError here,
    # not a KeyError or TypeError at load or predict time
    check_manifest(manifest, f"{path}: edgeclf metadata")
    # the bytes read above, not the path again: what was parsed is what runs
    manifest_bytes = json.dumps(manifest, ensure_ascii=False).encode("utf-8")
    tmp = unpacked({model_name: data, VOCABULARY: vocabulary, MANIFEST: manifest_bytes})
    return SingleFileBundle(Path(tmp.name), manifest, source=path, _tmp=tmp)

"""Just enough of the ONNX protobuf wire format to read an edgeclf ``.onnx`` without the ``onnx`` package.

Two things are read: ``ModelProto.metadata_props`` (field 14, entries ``{1: key, 2: value}``), where the
converter stores the vocabulary, labels and tokenizer, and the op types of the main graph
(``ModelProto.graph`` = field 7, ``GraphProto.node`` = field 1, ``NodeProto.op_type`` = field 4), which
tell the runtime whether a graph quantizes its activations at run time. Malformed input is a ``BundleError``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from edgeclf.errors import BundleError

_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5


def _varint(path: Path, data: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= len(data) or shift > 63:
            raise BundleError(f"{path}: not an ONNX model (truncated or corrupted protobuf)")
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if not byte & 0x80:
            return value, pos


def _fields(path: Path, data: bytes, start: int, end: int) -> Iterator[tuple[int, bytes]]:
    """(field number, bytes) of every length-delimited field of the message in ``data[start:end]``."""
    pos = start
    while pos < end:
        tag, pos = _varint(path, data, pos)
        number, wire = tag >> 3, tag & 7
        if wire == _VARINT:
            _, pos = _varint(path, data, pos)
        elif wire in (_FIXED64, _FIXED32):
            pos += 8 if wire == _FIXED64 else 4
        elif wire == _BYTES:
            size, pos = _varint(path, data, pos)
            if pos + size > end:
                raise BundleError(f"{path}: not an ONNX model (truncated or corrupted protobuf)")
            yield number, data[pos : pos + size]
            pos += size
        else:  # groups (wire types 3, 4) are not in ONNX's schema
            raise BundleError(f"{path}: not an ONNX model (protobuf wire type {wire})")
    if pos != end:
        raise BundleError(f"{path}: not an ONNX model (truncated or corrupted protobuf)")


def metadata_props(path: Path, data: bytes) -> dict[str, str]:
    """The model's ``metadata_props`` as a dict."""
    props: dict[str, str] = {}
    for number, entry in _fields(path, data, 0, len(data)):
        if number == 14:
            parts = dict(_fields(path, entry, 0, len(entry)))
            try:
                props[parts.get(1, b"").decode("utf-8")] = parts.get(2, b"").decode("utf-8")
            except UnicodeDecodeError as e:
                raise BundleError(f"{path}: unreadable ONNX metadata ({e})") from e
    return props


def op_types(path: Path, data: bytes) -> set[str]:
    """The op types of the main graph's nodes (the converter writes no subgraphs)."""
    ops: set[str] = set()
    for number, graph in _fields(path, data, 0, len(data)):
        if number == 7:
            for field, node in _fields(path, graph, 0, len(graph)):
                if field == 1:
                    ops |= {op.decode("utf-8", "replace") for n, op in _fields(path, node, 0, len(node)) if n == 4}
    return ops

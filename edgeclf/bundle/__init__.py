"""A bundle: the folder ``edgeclf convert`` writes and the runtime loads, or one file that carries it.

``Bundle.open`` is the one entry: a folder (``folder``), a single-file ``.tflite`` (``single_file``: the model
with a ZIP appended) or an edgeclf ``.onnx`` (``onnx_metadata``: the contract the converter writes into
``metadata_props``, read without the ``onnx`` package through ``onnx_proto``). ``manifest`` holds the names,
format version, file records and the check against the published schema (``schema``).
"""

from edgeclf.bundle.folder import Bundle, SingleFileBundle
from edgeclf.bundle.manifest import (
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    VOCABULARY,
    bytes_record,
    check_manifest,
    file_record,
    sha256_of,
)
from edgeclf.bundle.onnx_metadata import open_onnx_file
from edgeclf.bundle.single_file import open_single_file, write_single_file

Bundle.READERS.update({".tflite": open_single_file, ".onnx": open_onnx_file})

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MANIFEST",
    "VOCABULARY",
    "Bundle",
    "SingleFileBundle",
    "bytes_record",
    "check_manifest",
    "file_record",
    "open_onnx_file",
    "open_single_file",
    "sha256_of",
    "write_single_file",
]

"""Interpreters that run one artifact on one text's token ids. No TensorFlow anywhere here.

A backend takes the ids of a single text (batch of 1, as the artifacts' static batch demands) and
returns the model's raw output row. Interpreters are not thread-safe, so each backend holds a lock.
Backends are registered by name with the artifact formats they run and imported only when chosen,
so a device needs only the interpreter it uses.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Protocol

import numpy as np

from edgeclf.errors import EdgeclfError


class Backend(Protocol):
    """What the runtime and the bench use of an interpreter; every backend declares all of it."""

    name: str
    dynamic_length: bool  # True when the input is [1, None] and is resized to each text's length
    batches: bool  # True when run_batch takes a padded [texts, length] matrix (else: one text per call)
    batch_invariant: bool  # True when a row's result does not depend on its batch-mates
    batch_token_budget: int  # padded tokens per run_batch call where the interpreter runs fastest per text

    def run(self, ids: np.ndarray) -> np.ndarray:
        """One text's int32 ids → its raw output row."""
        ...

    def run_batch(self, ids_matrix: np.ndarray) -> np.ndarray:
        """Post-padded ids ``[texts, length]`` (0 = padding) → raw outputs ``[texts, units]``; only when ``batches``."""
        ...


# name → (module, class, artifact formats it runs), in order of preference per format
BACKENDS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "litert": ("edgeclf.backends.litert", "LiteRTBackend", ("tflite",)),
    "tflite-runtime": ("edgeclf.backends.litert", "TFLiteRuntimeBackend", ("tflite",)),
    "onnxruntime": ("edgeclf.backends.onnxruntime", "OnnxRuntimeBackend", ("onnx",)),
    "numpy": ("edgeclf.backends.numpy_backend", "NumpyBackend", ("numpy",)),
}


# the module each backend imports: when it can be found, the backend can run here
INTERPRETER_MODULES = {"litert": "ai_edge_litert", "tflite-runtime": "tflite_runtime", "onnxruntime": "onnxruntime",
                       "numpy": "numpy"}  # fmt: skip


def installed_backends() -> set[str]:
    """Backends whose interpreter is installed here (found, not imported: importing one costs start-up time)."""
    return {name for name, module in INTERPRETER_MODULES.items() if importlib.util.find_spec(module) is not None}


def backends_for(artifact_format: str) -> list[str]:
    return [name for name, (_, _, formats) in BACKENDS.items() if artifact_format in formats]


def open_backend(name: str | None, artifact_format: str, model_path: Path, num_threads: int = 1) -> Backend:
    """Open ``model_path`` with backend ``name``, or with the first installed one for the format."""
    candidates = [name] if name else backends_for(artifact_format)
    if not candidates:
        raise EdgeclfError(f"no backend runs {artifact_format} artifacts")
    errors = []
    for candidate in candidates:
        if candidate not in BACKENDS:
            raise EdgeclfError(f"unknown backend {candidate!r}; available: {', '.join(BACKENDS)}")
        module, cls, formats = BACKENDS[candidate]
        if artifact_format not in formats:
            raise EdgeclfError(f"backend {candidate!r} cannot run {artifact_format} artifacts (it runs {formats})")
        try:
            backend_class = getattr(importlib.import_module(module), cls)
            return backend_class(model_path, num_threads=num_threads)
        except ImportError as e:
            errors.append(f"{candidate}: {e}")
    raise EdgeclfError(f"no installed backend for {artifact_format} artifacts ({'; '.join(errors)})")

"""Which artifacts a conversion writes, and the builders that write them, registered per format.

A plan names one artifact (format × precision × recurrent form); a builder lowers the network
description in the staging folder to that file, in a child process where the toolchain can crash,
and returns what the manifest records about it (op census, input shape, notes).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeclf.errors import EdgeclfError
from edgeclf.network import Network

# format → the module whose import registers its builder
FORMATS = {"tflite": "edgeclf.convert.tflite"}
FILE_SUFFIX = {"tflite": ".tflite", "onnx": ".onnx"}


class ConversionError(EdgeclfError):
    """A toolchain (TFLite converter, ONNX export) failed or crashed on one artifact."""


@dataclass(frozen=True)
class ArtifactPlan:
    format: str  # "tflite", "onnx"
    precision: str  # "fp32" (more with quantization)
    rnn: str  # "loop" (more with the fused and unrolled lowerings)

    @property
    def name(self) -> str:
        return f"{self.format}-{self.precision}" if self.rnn == "loop" else f"{self.format}-{self.rnn}-{self.precision}"

    @property
    def file(self) -> str:
        stem = "model" if self.name == "tflite-fp32" else self.name
        return stem + FILE_SUFFIX[self.format]

    @property
    def exact(self) -> bool:
        """Float32 artifacts must match Keras within the fp32 tolerance or the conversion fails."""
        return self.precision == "fp32"


Builder = Callable[[ArtifactPlan, Network, Path], dict[str, Any]]


@dataclass(frozen=True)
class _Registration:
    builder: Builder
    precisions: tuple[str, ...]
    rnn_forms: tuple[str, ...]


_BUILDERS: dict[str, _Registration] = {}


def builds(
    artifact_format: str, precisions: tuple[str, ...], rnn_forms: tuple[str, ...]
) -> Callable[[Builder], Builder]:
    """Register the builder of one format with the precisions and recurrent forms it can produce."""

    def register(fn: Builder) -> Builder:
        _BUILDERS[artifact_format] = _Registration(fn, precisions, rnn_forms)
        return fn

    return register


def _registration(artifact_format: str) -> _Registration:
    if artifact_format not in FORMATS:
        raise EdgeclfError(f"unknown format {artifact_format!r}; choose from {', '.join(FORMATS)}")
    importlib.import_module(FORMATS[artifact_format])
    return _BUILDERS[artifact_format]


def build(plan: ArtifactPlan, network: Network, staging: Path) -> dict[str, Any]:
    """Write ``plan``'s file into ``staging`` (which already holds the network description)."""
    return _registration(plan.format).builder(plan, network, staging)


def plan_artifacts(
    formats: list[str], precisions: list[str] | None = None, rnn_forms: list[str] | None = None
) -> list[ArtifactPlan]:
    """Every (format, form, precision) asked for; a precision or form a format cannot produce is an error.

    Without ``precisions`` each format gets fp32; without ``rnn_forms`` each gets its own default
    form (the first it registered).
    """
    if not formats or precisions == [] or rnn_forms == []:
        raise EdgeclfError("at least one format, precision and recurrent form are needed")
    plans = []
    for artifact_format in formats:
        registration = _registration(artifact_format)
        precisions_here = precisions or ["fp32"]
        forms_here = rnn_forms or [registration.rnn_forms[0]]
        for values, allowed, what in ((precisions_here, registration.precisions, "precision"),
                                      (forms_here, registration.rnn_forms, "recurrent form")):  # fmt: skip
            unknown = [v for v in values if v not in allowed]
            if unknown:
                raise EdgeclfError(
                    f"{artifact_format} cannot be written with {what} {', '.join(unknown)}; it supports "
                    f"{', '.join(allowed)}"
                )
        plans += [ArtifactPlan(artifact_format, p, r) for r in forms_here for p in precisions_here]
    return plans

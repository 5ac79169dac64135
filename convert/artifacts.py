"""Which artifacts a conversion writes, and the builders that write them, registered per format.

A plan names one artifact (format × precision × recurrent form); a builder lowers the network
description in the staging folder to that file, in a child process where the toolchain can crash,
and returns what the manifest records about it (op census, input shape, notes).
"""

from __future__ import annotations

import importlib
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeclf.childproc import python_module
from edgeclf.errors import EdgeclfError, UnsupportedModelError
from edgeclf.network import NETWORK_FILE, Network

# format → the module whose import registers its builder
FORMATS = {
    "tflite": "edgeclf.convert.tflite",
    "numpy": "edgeclf.convert.network_artifact",
    "onnx": "edgeclf.convert.onnx",
}
FILE_SUFFIX = {"tflite": ".tflite", "onnx": ".onnx"}
# What `edgeclf convert` writes unless told otherwise: float32 TFLite (the default artifact), ONNX and the
# pure-numpy description, each with its dynamic-range quantized variant where the format has one.
DEFAULT_FORMATS = ["tflite", "onnx", "numpy"]
DEFAULT_PRECISIONS = ["fp32", "dynamic"]


class ConversionError(EdgeclfError):
    """A toolchain (TFLite converter, ONNX export) failed or crashed on one artifact."""


def run_in_child(module: str, args: list[str], what: str, out: Path, timeout: float, crash_hint: str = "") -> None:
    """Run ``python -m module args`` (a toolchain that may crash or print to stdout) and turn any failure into
    a ConversionError naming ``what``: a signal, the child's last error line, a timeout, or no output file."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}
    try:
        done = subprocess.run(python_module(module, args), capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as e:
        raise ConversionError(f"{what} did not finish in {timeout:.0f} s") from e
    if done.returncode < 0:
        raise ConversionError(f"{what} failed: the converter crashed (signal {-done.returncode}){crash_hint}")
    if done.returncode != 0:  # a traceback's last "...Error: ..." line names the problem (and, for edgeclf, the layer)
        lines = done.stderr.strip().splitlines()
        errors = [line for line in lines if "Error" in line or "error" in line]
        raise ConversionError(f"{what} failed: {(errors or lines or ['no output'])[-1][:400]}")
    if not out.is_file() or out.stat().st_size == 0:
        raise ConversionError(f"{what} wrote no model")


def input_length(network: Network, form: str) -> int | None:
    """An artifact's static sequence length, or None when it takes any length (fed at true length).

    Masked models take any length in every form but ``unrolled``, which always has the model's fixed length
    (the runtime pads every text to it) and so refuses models that have none.
    """
    if form == "unrolled":
        if network.sequence_length is None:
            raise UnsupportedModelError(
                "an unrolled artifact needs a fixed input length (TextVectorization output_sequence_length or "
                "--maxlen); this model takes any length: use --rnn loop or fused"
            )
        return network.sequence_length
    return None if network.feeds_true_length else network.sequence_length


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
        if self.format == "numpy":
            return NETWORK_FILE  # the description the pipeline stages anyway; weights.npz is its extra file
        # the float32 artifact in the format's own default form is model.tflite / model.onnx
        default_form = _registration(self.format).rnn_forms[0]
        stem = "model" if self.precision == "fp32" and self.rnn == default_form else self.name
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
    # per model, the forms planned by default (several are each measured, the fastest becomes the default artifact);
    # else the first of rnn_forms
    default_forms: Callable[[Network], list[str]] | None = None


_BUILDERS: dict[str, _Registration] = {}


def builds(
    artifact_format: str,
    precisions: tuple[str, ...],
    rnn_forms: tuple[str, ...],
    default_forms: Callable[[Network], list[str]] | None = None,
) -> Callable[[Builder], Builder]:
    """Register the builder of one format with the precisions and recurrent forms it can produce, and optionally
    which forms it plans by default for a given network."""

    def register(fn: Builder) -> Builder:
        _BUILDERS[artifact_format] = _Registration(fn, precisions, rnn_forms, default_forms)
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
    formats: list[str] | None = None,
    precisions: list[str] | None = None,
    rnn_forms: list[str] | None = None,
    network: Network | None = None,
) -> list[ArtifactPlan]:
    """Every (format, form, precision) asked for that the format can produce.

    Defaults: ``DEFAULT_FORMATS``; each format in its own default forms (chosen for ``network`` where the format
    registered a rule, else the first form it registered), in
    the ``DEFAULT_PRECISIONS`` it supports. Precisions and forms asked for apply to the formats that have
    them (``--quantize fp32,int8`` makes TFLite int8 and ONNX fp32); one that no chosen format can produce,
    or a format named explicitly that is left with nothing, is an error. The first plan is the float32
    TFLite artifact when asked for.
    """
    if formats == [] or precisions == [] or rnn_forms == []:
        raise EdgeclfError("at least one format, precision and recurrent form are needed")
    plans = []
    registrations = {f: _registration(f) for f in formats or DEFAULT_FORMATS}
    for values, what, attribute in (
        (precisions, "precision", "precisions"),
        (rnn_forms, "recurrent form", "rnn_forms"),
    ):
        for value in values or []:
            if not any(value in getattr(r, attribute) for r in registrations.values()):
                supported = sorted({v for r in registrations.values() for v in getattr(r, attribute)})
                raise EdgeclfError(
                    f"no chosen format ({', '.join(registrations)}) can be written with {what} {value}; "
                    f"they support {', '.join(supported)}"
                )
    for artifact_format, registration in registrations.items():
        precisions_here = [p for p in precisions or DEFAULT_PRECISIONS if p in registration.precisions]
        defaults = [registration.rnn_forms[0]]
        if network is not None and registration.default_forms is not None:
            defaults = registration.default_forms(network)
        forms_here = [f for f in rnn_forms or defaults if f in registration.rnn_forms]
        if not (precisions_here and forms_here):
            if formats is None:  # a default format that can write none of it is simply left out
                continue
            raise EdgeclfError(
                f"{artifact_format} cannot be written with precision {', '.join(precisions or [])} in form "
                f"{', '.join(rnn_forms or [])}; it supports {', '.join(registration.precisions)} in "
                f"{', '.join(registration.rnn_forms)}"
            )
        plans += [ArtifactPlan(artifact_format, p, r) for r in forms_here for p in precisions_here]
    return plans


def left_out_defaults(
    formats: list[str] | None, precisions: list[str] | None, rnn_forms: list[str] | None
) -> list[dict[str, str]]:
    """The default formats ``plan_artifacts`` leaves out because they cannot be written as asked (``--rnn fused``:
    numpy has no fused form), as ``failed_artifacts`` entries: said in the manifest, not silently dropped."""
    if formats is not None:  # formats named explicitly are written or refused by plan_artifacts
        return []
    entries = []
    for artifact_format in DEFAULT_FORMATS:
        registration = _registration(artifact_format)
        precisions_here = [p for p in precisions or DEFAULT_PRECISIONS if p in registration.precisions]
        forms_here = [f for f in rnn_forms or [registration.rnn_forms[0]] if f in registration.rnn_forms]
        if precisions_here and forms_here:
            continue
        asked = [*(rnn_forms or []), *(precisions or [])]
        entries.append({
            "name": f"{artifact_format}-{'-'.join(asked)}",
            "error": f"not planned: {artifact_format} has no {' / '.join(asked)} (it supports forms "
            f"{', '.join(registration.rnn_forms)}, precisions {', '.join(registration.precisions)})",
        })  # fmt: skip
    return entries

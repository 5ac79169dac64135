"""Which artifacts a conversion writes, and the builders that write them, registered per format.

A plan names one artifact (format × precision × recurrent form); a builder lowers the network
description in the staging folder to that file, in a child process where the toolchain can crash,
and returns what the manifest records about it (op census, input shape, notes).
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edgeclf.childproc import python_module
from edgeclf.convert.options import ArtifactFormat, Precision, RnnForm, check_artifact_selection
from edgeclf.errors import ConversionError, OptionsError, UnsupportedModelError
from edgeclf.network import NETWORK_FILE, Network

__all__ = [
    "ArtifactJob",
    "ArtifactPlan",
    "BuildContext",
    "ConversionError",
    "build",
    "builds",
    "plan_artifacts",
    "run_job",
]

# format → the module whose import registers its builder
FORMATS = {
    ArtifactFormat.TFLITE: "edgeclf.convert.tflite",
    ArtifactFormat.NUMPY: "edgeclf.convert.network_artifact",
    ArtifactFormat.ONNX: "edgeclf.convert.onnx",
}
FILE_SUFFIX = {ArtifactFormat.TFLITE: ".tflite", ArtifactFormat.ONNX: ".onnx"}
# What `edgeclf convert` writes unless told otherwise: float32 TFLite (the default artifact), ONNX and the
# pure-numpy description, each with its dynamic-range quantized variant where the format has one.
DEFAULT_FORMATS = (ArtifactFormat.TFLITE, ArtifactFormat.ONNX, ArtifactFormat.NUMPY)
DEFAULT_PRECISIONS = (Precision.FP32, Precision.DYNAMIC)


@dataclass(frozen=True)
class BuildContext:
    """What a builder needs besides the plan and the network: options and the facts an artifact embeds."""

    tflite_runtime_compatible: bool = False
    calibration_file: Path | None = None  # staged token ids of the calibration texts, when a plan calibrates
    onnx_metadata: Mapping[str, str] = field(default_factory=dict)  # what a lone .onnx carries (metadata_props)


@dataclass(frozen=True)
class ArtifactJob:
    """Everything a builder's child process needs, as one JSON file: it reads no half-written manifest."""

    network_dir: str  # the staged network description (network.json + weights.npz)
    out: str  # the artifact file to write
    precision: str
    rnn: str
    calibration_file: str | None = None  # token ids of the calibration texts (int8, int16x8)
    per_channel_dense: bool = True  # False: --tflite-runtime-compatible
    metadata: dict[str, str] = field(default_factory=dict)  # ONNX metadata_props
    details_file: str | None = None  # where the child writes what the manifest records about the artifact

    @classmethod
    def for_artifact(
        cls, network_dir: Path, out: Path, precision: str, rnn: str, context: BuildContext, **extra: Any
    ) -> ArtifactJob:
        """The job that writes ``out`` from the description in ``network_dir``, with the conversion's context."""
        calibration = context.calibration_file
        return cls(
            network_dir=str(network_dir),
            out=str(out),
            precision=str(precision),
            rnn=str(rnn),
            calibration_file=None if calibration is None else str(calibration),
            per_channel_dense=not context.tflite_runtime_compatible,
            metadata=dict(context.onnx_metadata),
            **extra,
        )

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)), encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> ArtifactJob:
        return cls(**json.loads(Path(path).read_text(encoding="utf-8")))


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


def run_job(module: str, job: ArtifactJob, what: str, timeout: float, crash_hint: str = "") -> None:
    """``run_in_child`` for a builder: the child reads ``job`` from the JSON file named by ``--job FILE``."""
    with tempfile.TemporaryDirectory(prefix="edgeclf-job-") as scratch:
        job_file = Path(scratch) / "job.json"
        job.write(job_file)
        run_in_child(module, ["--job", str(job_file)], what, Path(job.out), timeout, crash_hint)


def child_main(description: str, run: Callable[[ArtifactJob], None]) -> None:
    """The ``__main__`` of a builder's child process: read the job named by ``--job FILE`` and run it."""
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--job", type=Path, required=True, help="the JSON job written by run_in_child")
    run(ArtifactJob.read(parser.parse_args().job))


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
    format: ArtifactFormat
    precision: Precision
    rnn: RnnForm
    context: BuildContext = field(default_factory=BuildContext, compare=False, repr=False)

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
        return stem + FILE_SUFFIX[ArtifactFormat(self.format)]

    @property
    def exact(self) -> bool:
        """Float32 artifacts must match Keras within the fp32 tolerance or the conversion fails."""
        return self.precision == "fp32"


Builder = Callable[[ArtifactPlan, Network, Path], dict[str, Any]]


@dataclass(frozen=True)
class _Registration:
    builder: Builder
    precisions: tuple[Precision, ...]
    rnn_forms: tuple[RnnForm, ...]
    # per model, the forms planned by default (several are each measured, the fastest becomes the default artifact);
    # else the first of rnn_forms
    default_forms: Callable[[Network], list[str]] | None = None


_BUILDERS: dict[str, _Registration] = {}


def builds(
    artifact_format: str,
    precisions: Iterable[str],
    rnn_forms: Iterable[str],
    default_forms: Callable[[Network], list[str]] | None = None,
) -> Callable[[Builder], Builder]:
    """Register the builder of one format with the precisions and recurrent forms it can produce (members of
    ``Precision`` and ``RnnForm``), and optionally which forms it plans by default for a given network."""

    def register(fn: Builder) -> Builder:
        forms = tuple(RnnForm(f) for f in rnn_forms)  # a form the enum lacks is a programming error: ValueError
        _BUILDERS[artifact_format] = _Registration(fn, tuple(Precision(p) for p in precisions), forms, default_forms)
        return fn

    return register


def _registration(artifact_format: str) -> _Registration:
    if artifact_format not in FORMATS:
        raise OptionsError(f"unknown format {artifact_format!r}; choose from {ArtifactFormat.listed()}")
    importlib.import_module(FORMATS[ArtifactFormat(artifact_format)])
    return _BUILDERS[artifact_format]


def supported(artifact_format: str) -> tuple[tuple[Precision, ...], tuple[RnnForm, ...]]:
    """The precisions and recurrent forms the format's builder registered."""
    registration = _registration(artifact_format)
    return registration.precisions, registration.rnn_forms


def build(plan: ArtifactPlan, network: Network, staging: Path) -> dict[str, Any]:
    """Write ``plan``'s file into ``staging`` (which already holds the network description)."""
    return _registration(plan.format).builder(plan, network, staging)


def plan_artifacts(
    formats: Iterable[str] | None = None,
    precisions: Iterable[str] | None = None,
    rnn_forms: Iterable[str] | None = None,
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
    formats, precisions, rnn_forms = check_artifact_selection(formats, precisions, rnn_forms)
    plans = []
    registrations = {f: _registration(f) for f in formats or DEFAULT_FORMATS}
    for artifact_format, registration in registrations.items():
        precisions_here = [p for p in precisions or DEFAULT_PRECISIONS if p in registration.precisions]
        defaults = [registration.rnn_forms[0]]
        if network is not None and registration.default_forms is not None:
            defaults = [RnnForm(f) for f in registration.default_forms(network)]
        forms_here = [f for f in rnn_forms or defaults if f in registration.rnn_forms]
        if not (precisions_here and forms_here):
            if formats is None:  # a default format that can write none of it is simply left out
                continue
            raise OptionsError(
                f"{artifact_format} cannot be written with precision {', '.join(precisions or [])} in form "
                f"{', '.join(rnn_forms or [])}; it supports {', '.join(registration.precisions)} in "
                f"{', '.join(registration.rnn_forms)}"
            )
        plans += [ArtifactPlan(artifact_format, p, r) for r in forms_here for p in precisions_here]
    return plans


def left_out_defaults(
    formats: Iterable[str] | None, precisions: Iterable[str] | None, rnn_forms: Iterable[str] | None
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

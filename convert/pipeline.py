"""``edgeclf convert``: Keras model → network description → artifacts → checked, atomically written bundle.

``convert()`` is a sequence of named stages, each a function with typed inputs and outputs:

    read_model → plan_artifacts → stage_inputs → run_keras → build_and_check (each artifact in its child
    process, then parity against Keras) → verify_elsewhere → time_and_choose → finish (report, single files,
    the manifest written once) → publish (convert/staging.py)

The manifest is assembled by one function, ``assemble_manifest``, from the typed pieces the stages return. While
the bundle is staged, the artifacts are loaded from an in-memory ``Bundle`` holding the manifest as it stands.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

import edgeclf
from edgeclf.bundle import FORMAT, FORMAT_VERSION, MANIFEST, VOCABULARY, Bundle, file_record
from edgeclf.bundle.onnx_metadata import write_metadata
from edgeclf.convert.artifacts import ArtifactPlan, BuildContext, build, left_out_defaults, plan_artifacts
from edgeclf.convert.containers import source_record
from edgeclf.convert.datasets import LabelledTexts
from edgeclf.convert.keras_reader import load_keras_model, numeric_model, read_network
from edgeclf.convert.latency import default_choice, time_artifacts
from edgeclf.convert.options import ConvertOptions, TokenizerSource
from edgeclf.convert.parity import QUANTIZED_MIN_AGREEMENT, KerasReference, ParityReport, check_parity, keras_reference
from edgeclf.convert.quant_diagnosis import FULL_INTEGER, diagnosis_record
from edgeclf.convert.report import write_report
from edgeclf.convert.staging import new_staging, publish, remove_stale_staging
from edgeclf.convert.tflite import CALIBRATION_FILE
from edgeclf.convert.verify import runtime_label, verify_in_python
from edgeclf.errors import ConversionError, OptionsError, ParityError, UnsupportedModelError
from edgeclf.network import Network
from edgeclf.runtime import Classifier
from edgeclf.scoring import DEFAULT_THRESHOLD
from edgeclf.selection import is_exact
from edgeclf.tokenizer import KerasTokenizer, Tokenizer

__all__ = ["EXAMPLE_DIR", "FP32_TOLERANCE", "ConvertOptions", "TokenizerSource", "convert", "parity_texts_for_example"]

FP32_TOLERANCE = 1e-5  # max |Δ| of scores between Keras and a float32 artifact
EXAMPLE_DIR = Path(__file__).resolve().parent / "examples" / "imdb_bilstm"
# A quantized artifact whose labels agree with Keras on fewer texts than this is refused (kept only with
# --keep-inaccurate); between it and QUANTIZED_MIN_AGREEMENT it is written and marked outside the target.
REFUSE_BELOW_AGREEMENT = 0.9

Progress = Callable[[str], None]
FileRecords = dict[str, dict[str, Any]]  # bundle file → {size, sha256}, in the order the files were written


def _stderr_progress() -> Progress:
    """One line per step on stderr, with the seconds since the conversion started."""
    started = time.perf_counter()

    def report(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f}s] {message}", file=sys.stderr, flush=True)

    return report


# --- the typed pieces the stages pass on ------------------------------------------------------------------


@dataclass
class SourceModel:
    """The Keras model, read once: what Keras runs for the reference, and what edgeclf lowers."""

    path: Path
    keras_model: Any
    network: Network
    tokenizer: Tokenizer
    takes_text: bool  # Keras gets the strings (its own TextVectorization), else our token ids
    task: str
    labels: list[str]
    parity_texts: LabelledTexts
    parity_source: str


@dataclass
class StagedInputs:
    """The files staged before any artifact is built, and the record of the calibration texts, if any."""

    files: FileRecords
    calibration_file: Path | None = None
    calibration: dict[str, Any] | None = None  # the manifest's ``calibration`` record


@dataclass
class ArtifactResult:
    """One artifact that was built: what its builder reported, then its parity, interpreters and latency."""

    plan: ArtifactPlan
    details: dict[str, Any]
    parity: ParityReport | None = None
    verified_runtimes: dict[str, str] = field(default_factory=dict)
    diagnosis: dict[str, Any] | None = None  # a full-integer artifact outside the target: its worst tensors
    latency: dict[str, Any] | None = None

    def record(self, files: FileRecords) -> dict[str, Any]:
        """The manifest's entry, with the file's size and sha256 (and the size of the files it needs beside it)."""
        plan = self.plan
        entry = {"name": plan.name, "file": plan.file, "format": plan.format, "precision": plan.precision,
                 "rnn": plan.rnn, **self.details, **files[plan.file]}  # fmt: skip
        entry["size"] += sum(files[name]["size"] for name in self.details.get("extra_files", []) if name in files)
        if self.parity is not None:
            entry["parity"] = self.parity.to_dict()
            entry["verified_runtimes"] = dict(self.verified_runtimes)
        if self.diagnosis is not None:
            entry["quantization"] = self.diagnosis
        if self.latency is not None:
            entry["latency"] = self.latency
        return entry


@dataclass
class Artifacts:
    """What ``build_and_check`` produced: the artifacts kept, and those not written with the reason."""

    kept: list[ArtifactResult]
    failed: list[dict[str, str]]


@dataclass
class ModelFacts:
    """What the manifest says about the model, fixed once Keras has run: output and input rules, tokenizer."""

    created: str
    source: dict[str, Any]
    output: dict[str, Any]
    input: dict[str, Any]
    tokenizer: dict[str, Any]

    def onnx_metadata(self, source: SourceModel) -> dict[str, str]:
        """What a lone .onnx carries (``metadata_props``): these facts, the labels and the vocabulary."""
        described = {"task": source.task, "labels": source.labels, "output": self.output, "input": self.input,
                     "tokenizer": self.tokenizer}  # fmt: skip
        return write_metadata(described, source.tokenizer.vocabulary)


@dataclass
class DefaultChoice:
    artifact: str
    choice: dict[str, Any]  # the manifest's ``default_choice``: the rule, the ranking and the machine


@dataclass
class StagedBundle:
    """The conversion once Keras has run: what the manifest is assembled from, with the artifacts as they stand."""

    folder: Path
    source: SourceModel
    facts: ModelFacts
    options: ConvertOptions
    inputs: StagedInputs

    def bundle(self, artifacts: Artifacts) -> Bundle:
        """The staged bundle with its manifest in memory: what the artifacts are loaded from before it is written."""
        return Bundle(self.folder, assemble_manifest(self, artifacts))


def assemble_manifest(
    staged: StagedBundle,
    artifacts: Artifacts,
    default: DefaultChoice | None = None,
    conversion_seconds: float | None = None,
) -> dict[str, Any]:
    """The manifest from its pieces: the one place its layout is written down (edgeclf/manifest.schema.json)."""
    source, facts, files, calibration = staged.source, staged.facts, staged.inputs.files, staged.inputs.calibration
    records = [a.record(files) for a in artifacts.kept]
    fp32_sizes = {(a["format"], a["rnn"]): a["size"] for a in records if a["precision"] == "fp32"}
    for record in records:  # compared with the float32 artifact of the same format and form
        fp32_size = fp32_sizes.get((record["format"], record["rnn"]))
        if fp32_size:
            record["size_ratio_to_fp32"] = round(record["size"] / fp32_size, 4)
    checked = [a.parity for a in artifacts.kept if a.parity is not None]
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "edgeclf_version": edgeclf.__version__,
        "created": facts.created,
        "source": facts.source,
        "task": source.task,
        "labels": source.labels,
        "output": facts.output,
        "input": facts.input,
        "tokenizer": facts.tokenizer,
        "files": dict(files),
        "artifacts": records,
        "failed_artifacts": list(artifacts.failed),
        "default_artifact": default.artifact if default else (records[0]["name"] if records else None),
        "parity": {
            "texts": len(source.parity_texts),
            "source": source.parity_source,
            "tolerance_fp32": FP32_TOLERANCE,
            **({"keras_accuracy": checked[-1].keras_accuracy} if checked else {}),
        },
        "conversion": {"tflite_runtime_compatible": staged.options.tflite_runtime_compatible},
    }
    if calibration is not None:
        manifest["calibration"] = calibration
    if default is not None:
        manifest["default_choice"] = default.choice
    if conversion_seconds is not None:
        manifest["conversion_seconds"] = conversion_seconds
    return manifest


# --- the stages --------------------------------------------------------------------------------------------


def convert(
    model_path: Path,
    out_dir: Path,
    options: ConvertOptions | None = None,
    *,
    progress: Progress | None = None,
    **keywords: Any,
) -> dict[str, Any]:
    """Convert ``model_path`` into a bundle at ``out_dir``; returns the manifest. Nothing is left behind on failure.

    The options are a ``ConvertOptions``, or its fields as keyword arguments (``formats=["onnx"]``, ...)."""
    if options is None:
        options = ConvertOptions(**keywords)
    elif keywords:
        raise TypeError(f"convert() takes ConvertOptions or keyword options, not both (got {', '.join(keywords)})")
    progress = progress or _stderr_progress()
    out_dir = Path(out_dir)
    if out_dir.exists() and not options.overwrite:
        raise OptionsError(f"{out_dir} already exists (pass --force to replace it)")
    started = time.perf_counter()

    source = read_model(Path(model_path), options, progress)
    plans = plan_artifacts(options.formats, options.precisions, options.rnn_forms, source.network)

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    for stale in remove_stale_staging(out_dir):
        progress(f"removed {stale.name}, left by a conversion that was killed")
    staging = new_staging(out_dir)
    try:
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        inputs = stage_inputs(staging, source, options, plans)
        reference, facts = run_keras(source, created, progress)
        staged = StagedBundle(staging, source, facts, options, inputs)
        context = BuildContext(options.tflite_runtime_compatible, inputs.calibration_file, facts.onnx_metadata(source))
        failed = left_out_defaults(options.formats, options.precisions, options.rnn_forms)
        plans = [replace(plan, context=context) for plan in plans]
        artifacts = build_and_check(plans, staged, Artifacts(kept=[], failed=failed), reference, progress)
        if options.verify_python is not None:
            progress(f"running every artifact again in {options.verify_python}")
            verify_elsewhere(options.verify_python, staged.bundle(artifacts), artifacts, reference.texts)
        (staging / CALIBRATION_FILE).unlink(missing_ok=True)
        default = time_and_choose(
            staged.bundle(artifacts), artifacts, options.default_artifact, reference.texts, progress
        )

        progress(f"writing {out_dir}")
        manifest = assemble_manifest(staged, artifacts, default, round(time.perf_counter() - started, 1))
        finish(staging, manifest, options.single_file, progress)
        Bundle.open(staging)  # what we wrote must load
        staging.chmod(0o755)  # mkdtemp made it private; a bundle is meant to be shared
        progress(f"publishing {out_dir}")
        publish(staging, out_dir)
        return manifest
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def read_model(model_path: Path, options: ConvertOptions, progress: Progress) -> SourceModel:
    """Load the Keras model, read its network description and tokenizer, and settle task, labels and texts."""
    unsafe = options.unsafe
    progress(f"loading {model_path} (Keras safe mode {'off' if unsafe else 'on'})")
    model = load_keras_model(model_path, unsafe=unsafe, custom_objects=options.custom_objects)
    network, tokenizer = read_network(model)
    model_takes_text = tokenizer is not None
    tokenizer_source, maxlen = options.tokenizer_source, options.maxlen
    if tokenizer is None:
        if tokenizer_source is None:
            raise UnsupportedModelError(
                f"{model_path}: no TextVectorization layer, so the model takes token ids: give its tokenizer with "
                "--tokenizer FILE (Keras Tokenizer JSON or word_index JSON) and --maxlen/--padding/--truncating, or "
                "--vocab-file FILE (see docs/model-files.md)"
            )
        tokenizer = tokenizer_source.load(network)
        network.sequence_length = (
            tokenizer.maxlen if isinstance(tokenizer, KerasTokenizer) else tokenizer.output_sequence_length
        )
    elif tokenizer_source is not None:
        raise OptionsError(f"{model_path} has its own TextVectorization layer; --tokenizer does not apply")
    elif maxlen is not None and tokenizer.output_sequence_length != maxlen:
        if tokenizer.output_sequence_length is not None:
            raise OptionsError(
                f"--maxlen {maxlen} contradicts the model's output_sequence_length {tokenizer.output_sequence_length}"
            )
        # A cap the user chooses for the deployment: texts are cut to their first `maxlen` tokens, and the reference
        # is Keras on the cut text (its numeric part on our ids), so forms that need a fixed length become possible.
        tokenizer.output_sequence_length = network.sequence_length = maxlen
        model, model_takes_text = numeric_model(model), False
    _check_ids_fit(tokenizer, network)
    task = infer_task(network, options.task)
    labels = resolve_labels(task, network.head.units, None if options.labels is None else list(options.labels))
    parity_texts, parity_source = options.parity_texts, options.parity_source
    if parity_texts is None:
        parity_texts, parity_source = synthetic_texts(tokenizer), "synthetic texts drawn from the model's vocabulary"
    return SourceModel(model_path, model, network, tokenizer, model_takes_text, task, labels, parity_texts,
                       parity_source or "")  # fmt: skip


def stage_inputs(
    staging: Path, source: SourceModel, options: ConvertOptions, plans: list[ArtifactPlan]
) -> StagedInputs:
    """Write the vocabulary and the network description, and the calibration texts' ids when a plan calibrates."""
    (staging / VOCABULARY).write_text(json.dumps(source.tokenizer.vocabulary, ensure_ascii=False), encoding="utf-8")
    names = [VOCABULARY, *source.network.save(staging)]
    staged = StagedInputs(files={name: file_record(staging / name) for name in names})
    if any(plan.precision in FULL_INTEGER for plan in plans):
        chosen_from = "the eval texts" if options.calibration_texts is None else "--calibration-texts"
        chosen = (options.calibration_texts or source.parity_texts).texts[: options.calibration_samples]
        ids = {str(i): source.tokenizer.encode(t) for i, t in enumerate(chosen)}
        staged.calibration_file = staging / CALIBRATION_FILE
        np.savez(staged.calibration_file, **ids)
        staged.calibration = {"texts": len(ids), "source": chosen_from, "drawn": "the first, in file order"}
    return staged


def run_keras(source: SourceModel, created: str, progress: Progress) -> tuple[KerasReference, ModelFacts]:
    """Keras on the parity texts (the reference every artifact is compared with), and the manifest's facts about
    the model, which include Keras's answer for a text with no tokens."""
    network, tokenizer = source.network, source.tokenizer
    progress(f"running Keras on {len(source.parity_texts)} parity texts ({source.parity_source})")
    text_alone = network.sequence_length is None and not network.padding_is_noop
    reference = keras_reference(source.keras_model, source.parity_texts, tokenizer, source.takes_text, text_alone)
    output: dict[str, Any] = {
        "units": network.head.units,
        "activation": network.head.activation,
        "logits": network.head.activation == "linear",
        "threshold": DEFAULT_THRESHOLD,
    }
    if network.masked:  # what Keras gives a text with no tokens: every step masked (fused kernels cannot mask)
        # JSON has no NaN: null stands for it (Keras's global average over no real step is 0/0)
        no_token = [float(v) for v in reference.empty_text_raw[0]]
        output["no_token_raw"] = [None if np.isnan(v) else v for v in no_token]
    facts = ModelFacts(
        created=created,
        source={"file": source.path.name, **source_record(source.path), "keras": _keras_version()},
        output=output,
        input={
            "dtype": "int32",
            "masked": network.masked,
            "sequence_length": network.sequence_length,
            "padding": tokenizer.padding,
            "truncating": getattr(tokenizer, "truncating", "post"),  # TextVectorization keeps the first tokens
            "pad_id": 0,
            "feed": "true_length" if network.feeds_true_length else "fixed_length",
            "padding_is_noop": network.padding_is_noop,
            "empty_text": "one padding token (a masked model returns its all-masked result)",
        },
        tokenizer={**tokenizer.to_spec(), "vocabulary_file": VOCABULARY},
    )
    return reference, facts


def build_and_check(
    plans: list[ArtifactPlan], staged: StagedBundle, done: Artifacts, reference: KerasReference, progress: Progress
) -> Artifacts:
    """Build every planned artifact in its child process and check it against Keras right away.

    A float32 artifact outside the tolerance stops the conversion (``ParityError``), and so does a failure to build
    the first plan, the float32 artifact everything else is measured beside; a later build failure, or a quantized
    artifact far below the agreement target, is listed as failed (``done`` holds those listed already); the
    files built are recorded in ``staged.inputs.files``."""
    staging, files, source = staged.folder, staged.inputs.files, staged.source
    for plan in plans:
        progress(f"lowering to {plan.name} (child process)")
        try:
            details = build(plan, source.network, staging)  # the module's name: tests wrap it
        except ConversionError as e:
            if plan is plans[0]:
                raise
            done.failed.append({"name": plan.name, "error": str(e)})
            continue
        files[plan.file] = file_record(staging / plan.file)
        artifact = ArtifactResult(plan, details)
        done.kept.append(artifact)

        progress(f"checking {plan.name} against Keras")
        classifier = Classifier.load(staged.bundle(done), artifact=plan.name)
        artifact.parity = check_parity(reference, classifier, source.task, FP32_TOLERANCE, exact=plan.exact)
        parity = artifact.parity
        artifact.verified_runtimes[runtime_label(classifier.backend.name)] = f"parity checked on {parity.texts} texts"
        if plan.precision in FULL_INTEGER and not parity.ok:  # say which tensors' calibrated ranges broke
            progress(f"comparing {plan.name}'s tensors with the float model's (child process)")
            bundle = staged.bundle(done)
            artifact.diagnosis = diagnosis_record(bundle, bundle.artifact(plan.name), reference.texts)
        if not plan.exact and parity.label_agreement < REFUSE_BELOW_AGREEMENT and not staged.options.keep_inaccurate:
            _refuse(staging, done, artifact, files)
            continue
        if plan.exact and not parity.ok and plan.rnn == "scan":  # planned beside the model's own form: dropped
            beyond = f"max |Δ| score {parity.max_abs_diff:.3g}, raw {parity.max_abs_diff_raw:.3g}"
            _refuse(staging, done, artifact, files, f"refused: {beyond} against Keras (float32)")
            continue
        if plan.exact and not parity.ok:
            raise ParityError(
                f"{plan.name} disagrees with Keras: max |Δ| score {parity.max_abs_diff:.3g} (tolerance "
                f"{FP32_TOLERANCE:g}), raw {parity.max_abs_diff_raw:.3g} (tolerance {parity.tolerance_raw:.3g}), "
                f"empty text {parity.empty_text_abs_diff:.3g}; no bundle written"
            )
    if not done.kept:
        raise ConversionError(f"no artifact left to write: {'; '.join(f['error'] for f in done.failed)}")
    return done


def _refuse(staging: Path, done: Artifacts, artifact: ArtifactResult, files: FileRecords, reason: str = "") -> None:
    """Take a far-too-inaccurate artifact out of the bundle and list it, with its figure (or ``reason``), as failed."""
    assert artifact.parity is not None
    done.kept.remove(artifact)
    files.pop(artifact.plan.file, None)
    (staging / artifact.plan.file).unlink(missing_ok=True)
    parity, diagnosis = artifact.parity, artifact.diagnosis or {}
    done.failed.append({
        "name": artifact.plan.name,
        "error": reason or f"refused: label agreement with Keras {parity.label_agreement:.4f} on {parity.texts} "
        f"texts, far below the target {QUANTIZED_MIN_AGREEMENT} (refused under {REFUSE_BELOW_AGREEMENT}; "
        "--keep-inaccurate writes it anyway)" + _diagnosis_hint(artifact),
        **({"worst_ranges": diagnosis["worst_ranges"]} if "worst_ranges" in diagnosis else {}),
    })  # fmt: skip


def _diagnosis_hint(artifact: ArtifactResult) -> str:
    """The worst tensors of a full-integer artifact, and the variant that keeps its recurrent layers float."""
    summary = (artifact.diagnosis or {}).get("summary")
    if summary is None:
        return ""
    offer = artifact.plan.precision == "int8" and artifact.plan.rnn == "fused"
    keep_float = "; --quantize int8-float-rnn keeps the recurrent layers float" if offer else ""
    return f"; {summary}{keep_float}"


def verify_elsewhere(python: Path, staged: Bundle, artifacts: Artifacts, texts: list[str]) -> None:
    """Record, per artifact, whether the interpreter in another Python loads it and gives this process's results.

    That Python loads the staged bundle from disk, so the manifest as it stands is staged for it (and replaced by
    the finished one later)."""
    manifest = staged.manifest
    _write_manifest(staged.root, manifest)
    records = manifest["artifacts"]
    here = {a["name"]: Classifier.load(staged, artifact=a["name"]).raw_outputs(texts) for a in records}
    verdicts = verify_in_python(python, staged.root, records, texts, here, manifest, FP32_TOLERANCE)
    for artifact in artifacts.kept:
        verdict = verdicts.get(artifact.plan.name)
        if verdict is None:
            continue
        if "error" in verdict:
            artifact.verified_runtimes[str(python)] = f"FAILED: {verdict['error']}"
        else:
            artifact.verified_runtimes[verdict["runtime"]] = (
                f"{'matches' if verdict['ok'] else 'DIFFERS from'} the result here: max |Δ| score "
                f"{verdict['max_abs_diff']:.1e}, label agreement {verdict['label_agreement']:.4f} on {len(texts)} texts"
            )


def time_and_choose(
    bundle: Bundle, artifacts: Artifacts, pinned: str | None, texts: list[str], progress: Progress
) -> DefaultChoice:
    """Time the exact artifacts (recorded on each) and choose the default: the user's pin, else the fastest."""
    records = bundle.manifest["artifacts"]
    exact = [a["name"] for a in records if is_exact(a)]
    progress(f"timing the {len(exact)} exact artifact(s) one text at a time, interleaved")
    latency = time_artifacts(bundle, exact, texts)
    for artifact in artifacts.kept:
        artifact.latency = latency.get(artifact.plan.name)
    chosen, choice = default_choice(records, latency, _default_artifact(records, pinned) if pinned else None)
    return DefaultChoice(chosen, choice)


def finish(staging: Path, manifest: dict[str, Any], single_file: bool, progress: Progress) -> None:
    """Write report.md, the single-file deploys if asked for, and the manifest that lists them: once."""
    write_report(staging, manifest)
    manifest["files"]["report.md"] = file_record(staging / "report.md")
    if single_file:  # one .tflite per TFLite artifact with manifest + vocabulary appended as a ZIP
        _write_single_files(staging, manifest, progress)
    else:
        _write_manifest(staging, manifest)


def _write_single_files(staging: Path, manifest: dict[str, Any], progress: Progress) -> None:
    """Write the single-file deploys of ``manifest``'s bundle, then the manifest that lists them."""
    from edgeclf.bundle.single_file import write_single_file

    bundle = Bundle(staging, manifest)  # each file embeds the manifest as it stands (less its single_files)
    manifest["single_files"] = []
    for artifact in [a for a in manifest["artifacts"] if a["format"] == "tflite"]:
        path = write_single_file(bundle, artifact["name"])
        progress(f"single file {path.name} for {artifact['name']}")
        manifest["single_files"].append({"file": path.name, "artifact": artifact["name"]})
        manifest["files"][path.name] = file_record(path)
    _write_manifest(staging, manifest)


def _write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# --- the pieces the stages use -----------------------------------------------------------------------------


def infer_task(network: Network, task: str | None) -> str:
    head = network.head
    if task is not None:
        allowed = {"binary"} if head.units == 1 else {"multiclass", "multilabel"}
        if task not in allowed:
            raise OptionsError(
                f"--task {task} does not fit a head of {head.units} unit(s); choose from {sorted(allowed)}"
            )
        return task
    if head.units == 1:
        return "binary"
    return "multilabel" if head.activation == "sigmoid" else "multiclass"


def resolve_labels(task: str, units: int, labels: list[str] | None) -> list[str]:
    wanted = 2 if task == "binary" else units
    if labels is None:
        return ["negative", "positive"] if task == "binary" else [f"class_{i}" for i in range(units)]
    if len(labels) != wanted or len(set(labels)) != len(labels):
        raise OptionsError(
            f"--labels needs {wanted} distinct names for a {task} model with {units} output unit(s); got {len(labels)}"
        )
    return labels


def _check_ids_fit(tokenizer: Tokenizer, network: Network) -> None:
    vocabulary = tokenizer.vocabulary
    ids = list(vocabulary.values()) if isinstance(vocabulary, dict) else [len(vocabulary) - 1]
    oov = getattr(tokenizer, "oov_index", None)
    largest = max([*ids, oov or 0])
    if largest >= network.vocab_size:
        raise UnsupportedModelError(
            f"the tokenizer produces ids up to {largest} but the Embedding has only {network.vocab_size} rows "
            "(wrong tokenizer file, or --num-words needed)"
        )


def synthetic_texts(tokenizer: Tokenizer, count: int = 64, seed: int = 0) -> LabelledTexts:
    """Texts drawn from the model's own vocabulary, for when the user gives none (recorded as such)."""
    rng = np.random.default_rng(seed)
    vocabulary = tokenizer.vocabulary
    tokens = list(vocabulary) if isinstance(vocabulary, dict) else vocabulary[2:]
    words = [w for w in tokens if w.strip()] or ["x"]
    lengths = np.unique(np.geomspace(1, 400, count).astype(int))
    texts = [" ".join(rng.choice(words, size=int(n))) for n in rng.permutation(np.resize(lengths, count))]
    return LabelledTexts(texts, np.full(len(texts), -1, dtype=np.int64))


def _default_artifact(records: list[dict[str, Any]], wanted: str) -> str:
    """The artifact the user pinned with --default-artifact: a named one, or the smallest one within tolerance."""
    if wanted == "smallest":
        return min((a for a in records if a["parity"]["ok"]), key=lambda a: a["size"])["name"]
    if wanted not in {a["name"] for a in records}:
        raise OptionsError(f"--default-artifact {wanted}: no such artifact ({', '.join(a['name'] for a in records)})")
    return wanted


def _keras_version() -> str:
    import keras

    return keras.__version__


def parity_texts_for_example() -> LabelledTexts:
    from edgeclf.convert.texts import read_texts

    return read_texts(EXAMPLE_DIR / "heldout.csv")

"""``edgeclf convert``: Keras model → network description → TFLite → checked, atomically written bundle."""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

import edgeclf
from edgeclf.bundle import FORMAT, FORMAT_VERSION, MANIFEST, VOCABULARY, Bundle, file_record
from edgeclf.convert.artifacts import ConversionError, build, left_out_defaults, plan_artifacts
from edgeclf.convert.containers import source_record
from edgeclf.convert.datasets import LabelledTexts
from edgeclf.convert.keras_reader import load_keras_model, numeric_model, read_network
from edgeclf.convert.latency import default_choice, time_artifacts
from edgeclf.convert.parity import QUANTIZED_MIN_AGREEMENT, check_parity, keras_reference
from edgeclf.convert.quant_diagnosis import FULL_INTEGER, diagnosis_record
from edgeclf.convert.report import write_report
from edgeclf.convert.staging import new_staging, publish, remove_stale_staging
from edgeclf.convert.tflite import CALIBRATION_FILE, CALIBRATION_SAMPLES
from edgeclf.convert.tokenizer_files import read_keras_tokenizer
from edgeclf.convert.verify import runtime_label, verify_in_python
from edgeclf.errors import EdgeclfError, ParityError, UnsupportedModelError
from edgeclf.network import Network
from edgeclf.runtime import Classifier
from edgeclf.selection import is_exact
from edgeclf.tokenizer import KerasTokenizer, Tokenizer

FP32_TOLERANCE = 1e-5  # max |Δ| of scores between Keras and a float32 artifact
EXAMPLE_DIR = Path(__file__).resolve().parent / "examples" / "imdb_bilstm"

Progress = Callable[[str], None]


def _stderr_progress() -> Progress:
    """One line per step on stderr, with the seconds since the conversion started."""
    started = time.perf_counter()

    def report(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f}s] {message}", file=sys.stderr, flush=True)

    return report


def infer_task(network: Network, task: str | None) -> str:
    head = network.head
    if task is not None:
        allowed = {"binary"} if head.units == 1 else {"multiclass", "multilabel"}
        if task not in allowed:
            raise EdgeclfError(
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
        raise EdgeclfError(
            f"--labels needs {wanted} distinct names for a {task} model with {units} output unit(s); got {len(labels)}"
        )
    return labels


@dataclass(frozen=True)
class TokenizerSource:
    """A tokenizer file shipped beside a model that takes token ids, with the options it was used with."""

    path: Path
    maxlen: int | None = None  # default: the model's own input length
    padding: str = "pre"  # pad_sequences' defaults
    truncating: str = "pre"
    oov_token: str | None = None
    num_words: int | None = None
    allow_pickle: bool = False
    # --vocab-file: a token list with TextVectorization's options, or a character map with an --unknown rule
    vocab_file: bool = False
    standardize: str | None = None
    split: str | None = None
    max_tokens: int | None = None
    output_sequence_length: int | None = None
    unknown: str | None = None

    def load(self, network: Network) -> Tokenizer:
        from edgeclf.convert.vocab_files import load_vocabulary_tokenizer

        vocabulary_tokenizer = load_vocabulary_tokenizer(self, network.sequence_length)
        if vocabulary_tokenizer is not None:
            return vocabulary_tokenizer
        maxlen = self.maxlen or network.sequence_length
        if maxlen is None:
            raise EdgeclfError("the model accepts any length: give the length it was trained with, --maxlen N")
        if network.sequence_length not in (None, maxlen):
            raise EdgeclfError(
                f"--maxlen {maxlen} contradicts the model's fixed input length {network.sequence_length}"
            )
        return read_keras_tokenizer(
            self.path,
            maxlen=maxlen,
            padding=self.padding,
            truncating=self.truncating,
            oov_token=self.oov_token,
            num_words=self.num_words,
            allow_pickle=self.allow_pickle,
        )


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


def _write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def convert(
    model_path: Path,
    out_dir: Path,
    *,
    labels: list[str] | None = None,
    task: str | None = None,
    parity_texts: LabelledTexts | None = None,
    parity_source: str | None = None,
    calibration_texts: LabelledTexts | None = None,
    tokenizer_source: TokenizerSource | None = None,
    default_artifact: str | None = None,
    formats: list[str] | None = None,
    precisions: list[str] | None = None,
    rnn_forms: list[str] | None = None,
    overwrite: bool = False,
    unsafe: bool = False,
    single_file: bool = False,
    keep_inaccurate: bool = False,
    tflite_runtime_compatible: bool = False,
    verify_python: Path | None = None,
    calibration_samples: int = CALIBRATION_SAMPLES,
    maxlen: int | None = None,
    progress: Progress | None = None,
    custom_objects: Path | None = None,
) -> dict[str, Any]:
    """Convert ``model_path`` into a bundle at ``out_dir``; returns the manifest. Nothing is left behind on failure."""
    progress = progress or _stderr_progress()
    out_dir = Path(out_dir)
    if out_dir.exists() and not overwrite:
        raise EdgeclfError(f"{out_dir} already exists (pass --force to replace it)")
    started = time.perf_counter()

    progress(f"loading {model_path} (Keras safe mode {'off' if unsafe else 'on'})")
    model = load_keras_model(model_path, unsafe=unsafe, custom_objects=custom_objects)
    network, tokenizer = read_network(model)
    model_takes_text = tokenizer is not None
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
        raise EdgeclfError(f"{model_path} has its own TextVectorization layer; --tokenizer does not apply")
    elif maxlen is not None and tokenizer.output_sequence_length != maxlen:
        if tokenizer.output_sequence_length is not None:
            raise EdgeclfError(
                f"--maxlen {maxlen} contradicts the model's output_sequence_length {tokenizer.output_sequence_length}"
            )
        # A cap the user chooses for the deployment: texts are cut to their first `maxlen` tokens, and the reference
        # is Keras on the cut text (its numeric part on our ids), so forms that need a fixed length become possible.
        tokenizer.output_sequence_length = network.sequence_length = maxlen
        model, model_takes_text = numeric_model(model), False
    _check_ids_fit(tokenizer, network)
    task = infer_task(network, task)
    labels = resolve_labels(task, network.head.units, labels)
    if parity_texts is None:
        parity_texts, parity_source = synthetic_texts(tokenizer), "synthetic texts drawn from the model's vocabulary"

    plans = plan_artifacts(formats, precisions, rnn_forms, network)

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    for stale in remove_stale_staging(out_dir):
        progress(f"removed {stale.name}, left by a conversion that was killed")
    staging = new_staging(out_dir)
    try:
        (staging / VOCABULARY).write_text(json.dumps(tokenizer.vocabulary, ensure_ascii=False), encoding="utf-8")
        network_files = network.save(staging)
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "edgeclf_version": edgeclf.__version__,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "source": {"file": Path(model_path).name, **source_record(Path(model_path)), "keras": _keras_version()},
            "task": task,
            "labels": labels,
            "output": {
                "units": network.head.units,
                "activation": network.head.activation,
                "logits": network.head.activation == "linear",
                "threshold": 0.5,
            },
            "input": {
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
            "tokenizer": {**tokenizer.to_spec(), "vocabulary_file": VOCABULARY},
            "files": {},
            "artifacts": [],
            "failed_artifacts": left_out_defaults(formats, precisions, rnn_forms),
            "default_artifact": None,
            "parity": {"texts": len(parity_texts), "source": parity_source, "tolerance_fp32": FP32_TOLERANCE},
            "conversion": {"tflite_runtime_compatible": tflite_runtime_compatible},
        }
        _refresh_files(staging, manifest, [VOCABULARY, *network_files])
        _write_manifest(staging, manifest)  # builders may read labels and the tokenizer spec from it

        if any(plan.precision in FULL_INTEGER for plan in plans):
            source = "the eval texts" if calibration_texts is None else "--calibration-texts"
            chosen = (calibration_texts or parity_texts).texts[:calibration_samples]
            ids = {str(i): tokenizer.encode(t) for i, t in enumerate(chosen)}
            np.savez(staging / CALIBRATION_FILE, **ids)
            manifest["calibration"] = {"texts": len(ids), "source": source, "drawn": "the first, in file order"}

        progress(f"running Keras on {len(parity_texts)} parity texts ({parity_source})")
        text_alone = network.sequence_length is None and not network.padding_is_noop
        reference = keras_reference(model, parity_texts, tokenizer, model_takes_text, text_alone)
        if network.masked:  # what Keras gives a text with no tokens: every step masked (fused kernels cannot mask)
            # JSON has no NaN: null stands for it (Keras's global average over no real step is 0/0)
            no_token = [float(v) for v in reference.empty_text_raw[0]]
            manifest["output"]["no_token_raw"] = [None if np.isnan(v) else v for v in no_token]
            _write_manifest(staging, manifest)
        for plan in plans:
            progress(f"lowering to {plan.name} (child process)")
            try:
                details = build(plan, network, staging)
            except ConversionError as e:
                if plan is plans[0]:  # the float32 artifact everything else is measured beside
                    raise
                manifest["failed_artifacts"].append({"name": plan.name, "error": str(e)})
                continue
            artifact = {"name": plan.name, "file": plan.file, "format": plan.format, "precision": plan.precision,
                        "rnn": plan.rnn, **details}  # fmt: skip
            manifest["artifacts"].append(artifact)
            manifest["default_artifact"] = manifest["default_artifact"] or plan.name
            _refresh_files(staging, manifest, [plan.file])
            _write_manifest(staging, manifest)

            progress(f"checking {plan.name} against Keras")
            classifier = Classifier.load(staging, artifact=plan.name)
            parity = check_parity(reference, classifier, task, FP32_TOLERANCE, exact=plan.exact)
            artifact["parity"] = parity.to_dict()
            artifact["verified_runtimes"] = {
                runtime_label(classifier.backend.name): f"parity checked on {parity.texts} texts"
            }
            manifest["parity"]["keras_accuracy"] = parity.keras_accuracy
            if plan.precision in FULL_INTEGER and not parity.ok:  # say which tensors' calibrated ranges broke
                progress(f"comparing {plan.name}'s tensors with the float model's (child process)")
                artifact["quantization"] = diagnosis_record(staging, manifest, artifact, reference.texts)
            if not plan.exact and parity.label_agreement < REFUSE_BELOW_AGREEMENT and not keep_inaccurate:
                _refuse(staging, manifest, artifact, parity.to_dict())
                continue
            if plan.exact and not parity.ok and plan.rnn == "scan":  # planned beside the model's own form: dropped
                beyond = f"max |Δ| score {parity.max_abs_diff:.3g}, raw {parity.max_abs_diff_raw:.3g}"
                _refuse(staging, manifest, artifact, parity.to_dict(), f"refused: {beyond} against Keras (float32)")
                continue
            if plan.exact and not parity.ok:
                raise ParityError(
                    f"{plan.name} disagrees with Keras: max |Δ| score {parity.max_abs_diff:.3g} (tolerance "
                    f"{FP32_TOLERANCE:g}), raw {parity.max_abs_diff_raw:.3g} (tolerance {parity.tolerance_raw:.3g}), "
                    f"empty text {parity.empty_text_abs_diff:.3g}; no bundle written"
                )

        if not manifest["artifacts"]:
            raise EdgeclfError(
                f"no artifact left to write: {'; '.join(f['error'] for f in manifest['failed_artifacts'])}"
            )
        if verify_python is not None:
            progress(f"running every artifact again in {verify_python}")
            _verify_elsewhere(verify_python, staging, manifest, reference.texts)
        (staging / CALIBRATION_FILE).unlink(missing_ok=True)
        exact = [a["name"] for a in manifest["artifacts"] if is_exact(a)]
        progress(f"timing the {len(exact)} exact artifact(s) one text at a time, interleaved")
        latency = time_artifacts(staging, exact, reference.texts)
        for artifact in manifest["artifacts"]:
            if artifact["name"] in latency:
                artifact["latency"] = latency[artifact["name"]]
        pinned = _default_artifact(manifest, default_artifact) if default_artifact else None
        manifest["default_artifact"], manifest["default_choice"] = default_choice(
            manifest["artifacts"], latency, pinned
        )
        fp32_sizes = {(a["format"], a["rnn"]): a["size"] for a in manifest["artifacts"] if a["precision"] == "fp32"}
        for artifact in manifest["artifacts"]:  # compared with the float32 artifact of the same format and form
            fp32_size = fp32_sizes.get((artifact["format"], artifact["rnn"]))
            if fp32_size:
                artifact["size_ratio_to_fp32"] = round(artifact["size"] / fp32_size, 4)

        progress(f"writing {out_dir}")
        manifest["conversion_seconds"] = round(time.perf_counter() - started, 1)
        write_report(staging, manifest)
        _refresh_files(staging, manifest, ["report.md"])
        _write_manifest(staging, manifest)
        if single_file:  # one .tflite per TFLite artifact with manifest + vocabulary appended as a ZIP
            _write_single_files(staging, manifest, progress)
        Bundle.open(staging)  # what we wrote must load
        staging.chmod(0o755)  # mkdtemp made it private; a bundle is meant to be shared
        progress(f"publishing {out_dir}")
        publish(staging, out_dir)
        return manifest
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


# A quantized artifact whose labels agree with Keras on fewer texts than this is refused (kept only with
# --keep-inaccurate); between it and QUANTIZED_MIN_AGREEMENT it is written and marked outside the target.
REFUSE_BELOW_AGREEMENT = 0.9


def _diagnosis_hint(artifact: dict[str, Any]) -> str:
    """The worst tensors of a full-integer artifact, and the variant that keeps its recurrent layers float."""
    summary = artifact.get("quantization", {}).get("summary")
    if summary is None:
        return ""
    offer = artifact["precision"] == "int8" and artifact["rnn"] == "fused"
    keep_float = "; --quantize int8-float-rnn keeps the recurrent layers float" if offer else ""
    return f"; {summary}{keep_float}"


def _refuse(
    staging: Path, manifest: dict[str, Any], artifact: dict[str, Any], parity: dict[str, Any], reason: str = ""
) -> None:
    """Take a far-too-inaccurate artifact out of the bundle and list it, with its figure (or ``reason``), as failed."""
    diagnosis = artifact.get("quantization", {})
    manifest["artifacts"].remove(artifact)
    manifest["files"].pop(artifact["file"], None)
    (staging / artifact["file"]).unlink(missing_ok=True)
    if manifest["default_artifact"] == artifact["name"]:
        manifest["default_artifact"] = manifest["artifacts"][0]["name"] if manifest["artifacts"] else None
    manifest["failed_artifacts"].append({
        "name": artifact["name"],
        "error": reason or f"refused: label agreement with Keras {parity['label_agreement']:.4f} on {parity['texts']} "
        f"texts, far below the target {QUANTIZED_MIN_AGREEMENT} (refused under {REFUSE_BELOW_AGREEMENT}; "
        "--keep-inaccurate writes it anyway)" + _diagnosis_hint(artifact),
        **({"worst_ranges": diagnosis["worst_ranges"]} if "worst_ranges" in diagnosis else {}),
    })  # fmt: skip
    _write_manifest(staging, manifest)


def _write_single_files(staging: Path, manifest: dict[str, Any], progress: Progress) -> None:
    from edgeclf.bundle.single_file import write_single_file

    manifest["single_files"] = []
    for artifact in [a for a in manifest["artifacts"] if a["format"] == "tflite"]:
        path = write_single_file(staging, artifact["name"])  # embeds the manifest as it stands
        progress(f"single file {path.name} for {artifact['name']}")
        manifest["single_files"].append({"file": path.name, "artifact": artifact["name"]})
        _refresh_files(staging, manifest, [path.name])
    _write_manifest(staging, manifest)


def _default_artifact(manifest: dict[str, Any], wanted: str) -> str:
    """The artifact the user pinned with --default-artifact: a named one, or the smallest one within tolerance."""
    artifacts = manifest["artifacts"]
    if wanted == "smallest":
        return min((a for a in artifacts if a["parity"]["ok"]), key=lambda a: a["size"])["name"]
    if wanted not in {a["name"] for a in artifacts}:
        raise EdgeclfError(f"--default-artifact {wanted}: no such artifact ({', '.join(a['name'] for a in artifacts)})")
    return wanted


def _verify_elsewhere(python: Path, staging: Path, manifest: dict[str, Any], texts: list[str]) -> None:
    """Record, per artifact, whether the interpreter in another Python loads it and gives this process's results."""
    artifacts = manifest["artifacts"]
    here = {a["name"]: Classifier.load(staging, artifact=a["name"]).raw_outputs(texts) for a in artifacts}
    logits = manifest["output"]["logits"]
    verdicts = verify_in_python(python, staging, artifacts, texts, here, manifest["task"], logits, FP32_TOLERANCE)
    for a in artifacts:
        verdict = verdicts.get(a["name"])
        if verdict is None:
            continue
        if "error" in verdict:
            a["verified_runtimes"][str(python)] = f"FAILED: {verdict['error']}"
        else:
            a["verified_runtimes"][verdict["runtime"]] = (
                f"{'matches' if verdict['ok'] else 'DIFFERS from'} the result here: max |Δ| score "
                f"{verdict['max_abs_diff']:.1e}, label agreement {verdict['label_agreement']:.4f} on {len(texts)} texts"
            )


def _refresh_files(folder: Path, manifest: dict[str, Any], names: list[str]) -> None:
    for name in names:
        manifest["files"][name] = file_record(folder / name)
    for artifact in manifest["artifacts"]:
        artifact.update(manifest["files"][artifact["file"]])
        extra = [
            manifest["files"][name]["size"] for name in artifact.get("extra_files", []) if name in manifest["files"]
        ]
        artifact["size"] += sum(extra)  # what the artifact needs on the device (numpy: network.json + weights.npz)


def _keras_version() -> str:
    import keras

    return keras.__version__


def parity_texts_for_example() -> LabelledTexts:
    from edgeclf.convert.texts import read_texts

    return read_texts(EXAMPLE_DIR / "heldout.csv")

"""``edgeclf convert``: Keras model → network description → TFLite → checked, atomically written bundle."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from edgeclf.convert.artifacts import ConversionError, build, plan_artifacts
from edgeclf.convert.datasets import LabelledTexts
from edgeclf.convert.keras_reader import load_keras_model, read_network
from edgeclf.convert.parity import check_parity, keras_reference
from edgeclf.convert.report import write_report

import edgeclf
from edgeclf.bundle import FORMAT, FORMAT_VERSION, MANIFEST, VOCABULARY, Bundle, file_record
from edgeclf.errors import EdgeclfError, UnsupportedModelError
from edgeclf.network import Network
from edgeclf.runtime import Classifier
from edgeclf.tokenizer import TextVectorizer

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


def synthetic_texts(tokenizer: TextVectorizer, count: int = 64, seed: int = 0) -> LabelledTexts:
    """Texts drawn from the model's own vocabulary, for when the user gives none (recorded as such)."""
    rng = np.random.default_rng(seed)
    words = [w for w in tokenizer.vocabulary[2:] if w.strip()] or ["x"]
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
    formats: list[str] | None = None,
    precisions: list[str] | None = None,
    rnn_forms: list[str] | None = None,
    overwrite: bool = False,
    unsafe: bool = False,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Convert ``model_path`` into a bundle at ``out_dir``; returns the manifest. Nothing is left behind on failure."""
    progress = progress or _stderr_progress()
    out_dir = Path(out_dir)
    if out_dir.exists() and not overwrite:
        raise EdgeclfError(f"{out_dir} already exists (pass --force to replace it)")
    started = time.perf_counter()

    progress(f"loading {model_path} (Keras safe mode {'off' if unsafe else 'on'})")
    model = load_keras_model(model_path, unsafe=unsafe)
    network, tokenizer = read_network(model)
    if tokenizer is None:
        raise UnsupportedModelError(
            f"{model_path}: no TextVectorization layer found; models with a separate tokenizer come in a later release"
        )
    task = infer_task(network, task)
    labels = resolve_labels(task, network.head.units, labels)
    if parity_texts is None:
        parity_texts, parity_source = synthetic_texts(tokenizer), "synthetic texts drawn from the model's vocabulary"

    plans = plan_artifacts(formats or ["tflite"], precisions, rnn_forms)

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    try:
        (staging / VOCABULARY).write_text(json.dumps(tokenizer.vocabulary, ensure_ascii=False), encoding="utf-8")
        network_files = network.save(staging)
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "edgeclf_version": edgeclf.__version__,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "source": {"file": Path(model_path).name, **file_record(Path(model_path)), "keras": _keras_version()},
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
                "padding": "post",
                "truncating": "post",
                "pad_id": 0,
                "feed": "true_length" if network.masked or network.sequence_length is None else "fixed_length",
                "empty_text": "one padding token (a masked model returns its all-masked result)",
            },
            "tokenizer": {**tokenizer.to_spec(), "vocabulary_file": VOCABULARY},
            "files": {},
            "artifacts": [],
            "failed_artifacts": [],
            "default_artifact": None,
            "parity": {"texts": len(parity_texts), "source": parity_source, "tolerance_fp32": FP32_TOLERANCE},
        }
        _refresh_files(staging, manifest, [VOCABULARY, *network_files])
        _write_manifest(staging, manifest)  # builders may read labels and the tokenizer spec from it

        progress(f"running Keras on {len(parity_texts)} parity texts ({parity_source})")
        reference = keras_reference(model, parity_texts, tokenizer)
        for plan in plans:
            progress(f"lowering to {plan.name} (child process)")
            try:
                details = build(plan, network, staging)
            except ConversionError as e:
                if plan.exact:
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
            parity = check_parity(reference, Classifier.load(staging, artifact=plan.name), task, FP32_TOLERANCE)
            artifact["parity"] = parity.to_dict()
            manifest["parity"]["keras_accuracy"] = parity.keras_accuracy
            if plan.exact and not parity.ok:
                raise EdgeclfError(
                    f"{plan.name} disagrees with Keras: max |Δ| score {parity.max_abs_diff:.3g} > {FP32_TOLERANCE:g}"
                    "; no bundle written"
                )

        progress(f"writing {out_dir}")
        manifest["conversion_seconds"] = round(time.perf_counter() - started, 1)
        write_report(staging, manifest)
        _refresh_files(staging, manifest, ["report.md"])
        _write_manifest(staging, manifest)
        Bundle.open(staging)  # what we wrote must load
        staging.chmod(0o755)  # mkdtemp made it private; a bundle is meant to be shared
        _publish(staging, out_dir)
        return manifest
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _refresh_files(folder: Path, manifest: dict[str, Any], names: list[str]) -> None:
    for name in names:
        manifest["files"][name] = file_record(folder / name)
    for artifact in manifest["artifacts"]:
        artifact.update(manifest["files"][artifact["file"]])


def _publish(staging: Path, out_dir: Path) -> None:
    """Move the finished bundle into place with renames, so a reader never sees a half-written one."""
    if out_dir.exists():
        old = staging.with_name(staging.name + ".old")
        out_dir.rename(old)
        staging.rename(out_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(out_dir)


def _keras_version() -> str:
    import keras

    return keras.__version__


def parity_texts_for_example() -> LabelledTexts:
    from edgeclf.convert.texts import read_texts

    return read_texts(EXAMPLE_DIR / "heldout.csv")

"""``edgeclf bench``: latency, size, memory and accuracy of a bundle, per artifact × backend × thread count.

What it reports goes beyond LiteRT's ``benchmark_model`` and ``onnxruntime_perf_test`` (load time, first
inference, warm percentiles, peak memory, file size) by starting from text: the end-to-end call
(``Classifier.predict``), the raw interpreter call on pre-tokenized ids, and the tokenizer, all measured
interleaved on the same real texts, so the wrapper overhead and the tokenizer's share are measured ratios.
A masked model is also run on fixed-length padded ids to show what running each text at its true length
saves. FLOPs per text come from the network description; the one-core numpy matmul rate is the yardstick.

Every configuration runs in its own child process (``sys.executable``), so its peak RSS is its own and one
backend's threads or allocator state never leak into another's figures. Keras baselines (``--keras``) run
in a child too; TensorFlow is imported there and nowhere else.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import importlib.util
import inspect
import io
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from edgeclf.backends import BACKENDS, backends_for
from edgeclf.bundle import Bundle
from edgeclf.errors import EdgeclfError
from edgeclf.textio import label_indices, read_records

BUILTIN_TEXTS = Path(__file__).resolve().parent / "data" / "bench_texts.csv"
BUILTIN_SOURCE = "built-in: 40 held-out IMDB reviews with labels (edgeclf/data/bench_texts.csv)"
CHUNK = 10  # timed runs alternate between the measured calls in chunks of this many texts (see _child_edgeclf)
KERAS_MAX_RUNS = 40  # Keras batch-1 calls cost 10-100 ms each; more runs add minutes, not information
KERAS_BATCH = 32  # as the converter's parity check
SCHEMA = "edgeclf-bench/1"


# ---------------------------------------------------------------------------------------------- texts


@dataclass(frozen=True)
class BenchTexts:
    texts: list[str]
    labels: list[int] | None  # one class index per text when every text has a label
    source: str


def read_bench_texts(
    path: Path | None,
    label_names: Sequence[str],
    text_column: str = "text",
    label_column: str | None = "label",
) -> BenchTexts:
    """Texts from a .txt (one per line), .csv or .jsonl file, or the built-in reviews when ``path`` is None.

    Labels are read from ``label_column`` (indices or label names) and kept only when every text has one.
    """
    source = str(path) if path is not None else BUILTIN_SOURCE
    path = BUILTIN_TEXTS if path is None else Path(path)
    rows = read_records(str(path), None, text_column, label_column)
    if not rows:
        raise EdgeclfError(f"{path}: no texts")
    labels = label_indices([v for _, v in rows], label_names, str(path))
    complete = all(v is not None for v in labels)
    return BenchTexts([t for t, _ in rows], [int(v) for v in labels] if complete else None, source)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------- FLOPs


def network_flops(folder: Path) -> dict[str, Any]:
    """FLOPs per token and per text from the network description (2 FLOPs per multiply-add).

    Counted: the kernels of recurrent cells (input and recurrent matvecs, so LSTM's 4 gates and GRU's 3 come
    from the weight shapes) at every step, Dense layers per token while the data is still a sequence and
    once per text after it. Not counted: the embedding lookup (a copy), activations, gate element-wise
    products and bias adds (O(units) per step, against O(units²) for the matvecs).
    """
    from edgeclf.network import Network

    network = Network.load(folder)
    per_token = per_text = 0
    sequence = True  # after the Embedding every layer sees one vector per token until a layer returns one
    notes = []

    def recurrent_macs(weights: dict[str, np.ndarray], prefix: str = "") -> int:
        return int(weights[f"{prefix}kernel"].size + weights[f"{prefix}recurrent_kernel"].size)

    for layer in network.layers:
        kind, config, weights = layer.kind, layer.config, layer.weights
        if kind in ("lstm", "gru", "simple_rnn"):
            per_token += 2 * recurrent_macs(weights)
            sequence = sequence and bool(config.get("return_sequences"))
        elif kind == "bidirectional":
            per_token += sum(2 * recurrent_macs(weights, f"{half}/") for half in ("forward", "backward"))
            sequence = sequence and bool(config["forward"]["config"].get("return_sequences"))
        elif kind == "dense":
            macs = 2 * int(weights["kernel"].size)
            if sequence:
                per_token += macs
            else:
                per_text += macs
        elif kind.startswith("global_"):
            sequence = False
        elif kind not in ("embedding", "activation", "dropout"):
            notes.append(f"{layer.name} ({kind}) not counted")
    return {"per_token": per_token, "per_text": per_text, "not_counted": notes}


# ---------------------------------------------------------------------------------------- statistics


def summarize(samples_ns: Sequence[int]) -> dict[str, float]:
    """Percentiles, mean and std of timings, in microseconds."""
    us = np.asarray(samples_ns, dtype=np.float64) / 1e3
    return {
        "n": len(us),
        "p50": float(np.percentile(us, 50)),
        "p90": float(np.percentile(us, 90)),
        "p99": float(np.percentile(us, 99)),
        "mean": float(us.mean()),
        "std": float(us.std()),
        "min": float(us.min()),
        "max": float(us.max()),
    }


def _rss_mb() -> float:
    """Current resident set size (Linux /proc; falls back to the peak where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return _peak_rss_mb()


def _peak_rss_mb() -> float:
    """Peak RSS of this process. /proc's VmHWM first: getrusage's ru_maxrss survives execve, so a child
    started by a parent that had TensorFlow loaded would report the parent's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource  # Unix only, and only where /proc is missing

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def _timed(fn: Callable[[], Any]) -> tuple[int, Any]:
    start = time.perf_counter_ns()
    value = fn()
    return time.perf_counter_ns() - start, value


# ------------------------------------------------------------------------------------ child processes


def _child_edgeclf(job: dict[str, Any]) -> dict[str, Any]:
    """One artifact × backend × thread count, measured in this fresh process."""
    from edgeclf.runtime import Classifier
    from edgeclf.tokenizer import PAD_ID

    texts: list[str] = job["texts"]
    order: list[int] = job["order"]
    runs, warmup = job["runs"], job["warmup"]
    rss_before = _rss_mb()

    load_ns, clf = _timed(
        lambda: Classifier.load(
            job["bundle"], artifact=job["artifact"], backend=job["backend"], num_threads=job["threads"]
        )
    )
    first_ns, _ = _timed(lambda: clf.predict(texts[order[0]]))
    backend = clf.backend
    ids = [clf.model_input(t) for t in texts]
    tokens = [len(clf.tokenizer.token_ids(t)) for t in texts]
    pad_length = job["pad_length"]
    # padded inference only means something for a masked model whose artifact takes any length
    padded = None
    if clf.masked and backend.dynamic_length and pad_length:
        padded = [np.pad(x[:pad_length], (0, max(0, pad_length - len(x))), constant_values=PAD_ID) for x in ids]

    for k in range(warmup):
        i = order[k % len(order)]
        clf.predict(texts[i])
        backend.run(ids[i])
        if padded is not None:
            backend.run(padded[i])

    # Chunks: within a chunk one call kind runs on consecutive texts (each of a new length, as in a real
    # stream, so every kind pays the same input resizes); alternating chunks spread machine load evenly.
    e2e, raw, tok, pad = [], [], [], []
    run_order = [order[k % len(order)] for k in range(runs)]
    for start in range(0, runs, CHUNK):
        chunk = run_order[start : start + CHUNK]
        for i in chunk:
            raw.append(_timed(lambda i=i: backend.run(ids[i]))[0])
        for i in chunk:
            e2e.append(_timed(lambda i=i: clf.predict(texts[i]))[0])
        for i in chunk:
            tok.append(_timed(lambda i=i: clf.model_input(texts[i]))[0])
        if padded is not None:
            for i in chunk:
                pad.append(_timed(lambda i=i: backend.run(padded[i]))[0])

    # the input litert-benchmark runs: one token for a [1, None] model, the fixed length otherwise
    one = ids[order[0]][:1] if backend.dynamic_length else ids[order[0]]
    one_token = [_timed(lambda: backend.run(one))[0] for _ in range(max(20, runs // 4))]

    batch = job["batch_size"]
    batches = [[texts[order[(b * batch + j) % len(order)]] for j in range(batch)] for b in range(max(3, runs // batch))]
    # backends with run_batch take length-sorted padded batches when predict() is given a batch size
    batched = "batch_size" in inspect.signature(clf.predict).parameters
    kwargs = {"batch_size": batch} if batched else {}
    batch_ns = [_timed(lambda b=b: clf.predict(b, **kwargs))[0] for b in batches]

    outputs = clf.raw_outputs(texts)  # every text once: accuracy and agreement
    padded_diff = None
    if padded is not None:
        padded_out = np.asarray([backend.run(p) for p in padded], dtype=np.float64).reshape(len(texts), -1)
        kept = [i for i, n in enumerate(tokens) if n <= pad_length]  # truncated texts legitimately differ
        if kept:
            padded_diff = float(np.max(np.abs(padded_out[kept] - outputs[kept])))
    return {
        "load_ms": load_ns / 1e6,  # the bundle check, the tokenizer and the interpreter (its import included)
        "first_prediction_ms": first_ns / 1e6,
        "dynamic_length": bool(backend.dynamic_length),
        "end_to_end": summarize(e2e),
        "raw_invoke": summarize(raw),
        "tokenizer": summarize(tok),
        "padded": summarize(pad) if pad else None,
        "padded_max_abs_diff": padded_diff,
        "one_token_invoke": summarize(one_token),  # at the fixed length when the artifact has one
        "batch": {"size": batch, **summarize(batch_ns)},
        "samples": {
            "tokens": [tokens[i] for i in run_order],
            "fed_length": [len(ids[i]) for i in run_order],  # what the interpreter ran: FLOPs follow this
            "end_to_end_us": [round(x / 1e3, 1) for x in e2e],
            "raw_invoke_us": [round(x / 1e3, 1) for x in raw],
            "tokenizer_us": [round(x / 1e3, 1) for x in tok],
        },
        "outputs": outputs.tolist(),
        "rss_before_load_mb": rss_before,
        "peak_rss_mb": _peak_rss_mb(),
    }


def _child_keras(job: dict[str, Any]) -> dict[str, Any]:
    """The baseline a user would otherwise run: Keras ``model.predict`` and a ``tf.function`` call, batch 1."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from edgeclf._quiet import native_stderr_silenced

    with native_stderr_silenced():
        import_ns, _ = _timed(lambda: __import__("tensorflow"))
        import keras
        import tensorflow as tf
    texts: list[str] = job["texts"]
    order = [i for i in job["order"] if job["tokens"][i] > 0]  # Keras cannot run a lone text with no tokens
    rss_before = _rss_mb()
    load_ns, model = _timed(lambda: keras.saving.load_model(job["model"], compile=False, safe_mode=True))

    def predict(text: str) -> Any:
        return model.predict(np.asarray([text], dtype=object), verbose=0)

    call = tf.function(model)  # eager model(x) costs ~1 s per long text here (stack-probe §7): not a baseline

    def traced(text: str) -> Any:
        return call(tf.constant([text])).numpy()

    first_ns, _ = _timed(lambda: predict(texts[order[0]]))
    trace_ns, _ = _timed(lambda: traced(texts[order[0]]))
    for k in range(job["warmup"]):
        predict(texts[order[k % len(order)]])
        traced(texts[order[k % len(order)]])
    runs = min(job["runs"], KERAS_MAX_RUNS)
    run_order = [order[k % len(order)] for k in range(runs)]
    predict_ns, function_ns = [], []
    for start in range(0, runs, CHUNK):
        chunk = run_order[start : start + CHUNK]
        predict_ns += [_timed(lambda i=i: predict(texts[i]))[0] for i in chunk]
        function_ns += [_timed(lambda i=i: traced(texts[i]))[0] for i in chunk]
    outputs = np.asarray(model.predict(np.asarray(texts, dtype=object), batch_size=KERAS_BATCH, verbose=0))
    return {
        "import_ms": import_ns / 1e6,
        "load_ms": load_ns / 1e6,
        "first_prediction_ms": first_ns / 1e6,
        "first_function_call_ms": trace_ns / 1e6,
        "predict": summarize(predict_ns),
        "function": summarize(function_ns),
        "samples": {
            "tokens": [job["tokens"][i] for i in run_order],
            "predict_us": [round(x / 1e3, 1) for x in predict_ns],
            "function_us": [round(x / 1e3, 1) for x in function_ns],
        },
        "outputs": outputs.reshape(len(texts), -1).tolist(),
        "rss_before_load_mb": rss_before,
        "peak_rss_mb": _peak_rss_mb(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }


def _child_compute(job: dict[str, Any]) -> dict[str, Any]:
    """What one core does with numpy: a square float32 matmul (peak) and a batch-1 matvec (what an RNN step is)."""
    rng = np.random.default_rng(0)
    results = {}
    for name, (m, k, n) in {"matmul": (512, 512, 512), "matvec": (1, 256, 1024)}.items():
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        repeat = max(1, int(2e8 // (2 * m * k * n)))  # about 0.2 GFLOP per sample
        samples = []
        for _ in range(job["samples"]):
            start = time.perf_counter_ns()
            for _ in range(repeat):
                a @ b
            samples.append(time.perf_counter_ns() - start)
        best = float(np.min(samples)) / repeat  # a capability, not a typical run: the least disturbed sample
        results[f"{name}_gflops"] = 2 * m * k * n / best
        results[f"{name}_shape"] = [m, k, n]
    return results


CHILDREN = {"edgeclf": _child_edgeclf, "keras": _child_keras, "compute": _child_compute}


def child_main() -> None:
    """Entry point of a measurement child: a JSON job on stdin, a JSON result written to job["out"]."""
    job = json.loads(sys.stdin.read())
    try:
        result = CHILDREN[job["kind"]](job)
    except Exception as e:  # any failure of one configuration is reported as its result, never a crash
        result = {"error": f"{type(e).__name__}: {(str(e).strip().splitlines() or [''])[0][:300]}"}
    Path(job["out"]).write_text(json.dumps(result))


def run_child(job: dict[str, Any], env: dict[str, str] | None = None, timeout: float = 1800) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="edgeclf-bench-") as tmp:
        out = Path(tmp) / "result.json"
        code = "from edgeclf.bench import child_main; child_main()"
        done = subprocess.run(
            [sys.executable, "-c", code],
            input=json.dumps({**job, "out": str(out)}),
            text=True,
            capture_output=True,  # backends and TensorFlow may write to stdout/stderr natively
            env={**os.environ, **(env or {})},
            timeout=timeout,
        )
        if not out.is_file():
            tail = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
            return {"error": f"measurement process failed: {tail[:300]}"}
        return json.loads(out.read_text())


# ------------------------------------------------------------------------------------------ the engine


@dataclass
class BenchOptions:
    artifacts: list[str] | None = None  # names from the manifest; None = all
    backends: list[str] | None = None  # None = every registered backend that runs the format
    threads: tuple[int, ...] = (1,)
    runs: int = 200
    warmup: int = 20
    batch_size: int = 16
    pad_length: int | None = None  # None: the bundle's fixed length, else the longest text's token count
    keras_model: Path | None = None
    litert_benchmark: bool = True
    seed: int = 0


def _versions() -> dict[str, str]:
    found = {}
    for dist in ("edgeclf", "numpy", "ai-edge-litert", "onnxruntime"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[dist] = metadata.version(dist)
    return found


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "arch": platform.machine(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "versions": _versions(),
    }


def _postprocess(raw: np.ndarray, manifest: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    from edgeclf.runtime import probabilities

    probs = probabilities(raw, manifest["task"], manifest["output"]["logits"])
    threshold = manifest["output"].get("threshold", 0.5)
    return probs, (probs >= threshold) if manifest["task"] == "multilabel" else np.argmax(probs, axis=1)


def _litert_benchmark(path: Path, threads: int, runs: int, warmup: int) -> dict[str, Any] | None:
    """ai-edge-litert's own benchmark tool on the same file, for comparison (None when it is not installed)."""
    import shutil

    tool = shutil.which("litert-benchmark", path=str(Path(sys.executable).parent)) or shutil.which("litert-benchmark")
    if tool is None:
        return None
    with tempfile.TemporaryDirectory(prefix="edgeclf-bench-") as tmp:
        out = Path(tmp) / "lb.json"
        args = [tool, "--model", str(path), "--num_threads", str(threads), "--num_runs", str(runs)]
        args += ["--warmup_runs", str(max(1, warmup)), "--result_json", str(out)]
        try:
            subprocess.run(args, capture_output=True, timeout=600)
            data = json.loads(out.read_text())["latency"]
        except (OSError, ValueError, KeyError, subprocess.TimeoutExpired) as e:
            return {"error": str(e)[:200]}
    # the tool prints milliseconds with two decimals, so figures below ~0.1 ms carry little precision
    return {
        "init_ms": data.get("init_ms"),
        "first_ms": data.get("warmup_first_ms"),
        "median_us": data["median_ms"] * 1e3,
        "avg_us": data["avg_ms"] * 1e3,
        "p95_us": data["p95_ms"] * 1e3 if "p95_ms" in data else None,
        "input": "[1, 1] (the tool cannot set the length of a [1, None] input)",
    }


def _same_model(bundles: list[Bundle]) -> None:
    """Several bundles are measured together only when they hold artifacts of one model (same labels, tokens)."""
    first = bundles[0].manifest
    for other in bundles[1:]:
        m = other.manifest
        same = (m["labels"], m["task"], m["input"]) == (first["labels"], first["task"], first["input"])
        vocab = m["files"].get(m["tokenizer"].get("vocabulary_file", ""), {}).get("sha256")
        if not same or vocab != first["files"].get(first["tokenizer"].get("vocabulary_file", ""), {}).get("sha256"):
            raise EdgeclfError(f"{other.root} does not come from the same model as {bundles[0].root}")


def run_bench(
    bundle_paths: Path | Sequence[Path],
    texts: BenchTexts,
    options: BenchOptions,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Measure every configuration; returns the result document (see ``SCHEMA``).

    Several bundles of the same model (e.g. one per precision a format supports) are measured as one
    set: same texts, same order, one agreement reference.
    """
    paths = [Path(bundle_paths)] if isinstance(bundle_paths, (str, Path)) else [Path(p) for p in bundle_paths]
    bundles = [Bundle.open(p) for p in paths]
    _same_model(bundles)
    bundle = bundles[0]
    manifest = bundle.manifest
    tokenizer = bundle.tokenizer()
    tokens = [len(tokenizer.token_ids(t)) for t in texts.texts]
    pad_length = options.pad_length or manifest["input"].get("sequence_length") or max(max(tokens), 1)
    # a fixed shuffled order: timed runs cycle through texts of realistic, mixed lengths
    order = [int(i) for i in np.random.default_rng(options.seed).permutation(len(texts.texts))]
    flops = network_flops(bundle.root) if "network.json" in manifest.get("files", {}) else None
    for wanted in options.backends or []:
        if wanted not in BACKENDS:
            raise EdgeclfError(f"unknown backend {wanted!r}; available: {', '.join(BACKENDS)}")

    configs: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    seen: set[tuple[str, str, int]] = set()
    for source in bundles:
        for artifact in source.manifest["artifacts"]:
            if options.artifacts and artifact["name"] not in options.artifacts:
                continue
            names = [n for n in backends_for(artifact["format"]) if not options.backends or n in options.backends]
            for name in names:
                for threads in options.threads:
                    if (artifact["name"], name, threads) not in seen:  # the same artifact in two bundles: once
                        seen.add((artifact["name"], name, threads))
                        configs.append({"bundle": source, "artifact": artifact, "backend": name, "threads": threads})
    if not configs:
        raise EdgeclfError("no artifact × backend combination to measure (check --artifacts and --backends)")

    steps = len(configs) + 1 + (options.keras_model is not None)
    bar = _progress_bar(steps)
    report = progress or (lambda message: None)

    def step(message: str) -> None:
        report(message)
        if bar is not None:
            bar.set_description(message[:50])

    step("one-core numpy GFLOP/s")
    compute = run_child({"kind": "compute", "samples": 15}, env=_ONE_CORE)
    if bar is not None:
        bar.update()

    common = {"texts": texts.texts, "order": order, "runs": options.runs, "warmup": options.warmup}
    results: list[dict[str, Any]] = []
    for config in configs:
        source, artifact, backend, threads = config["bundle"], config["artifact"], config["backend"], config["threads"]
        step(f"{artifact['name']} / {backend} / {threads} thread(s)")
        job = {
            "kind": "edgeclf",
            "bundle": str(source.root),
            "artifact": artifact["name"],
            "backend": backend,
            "threads": threads,
            "batch_size": options.batch_size,
            "pad_length": pad_length,
            **common,
        }
        measured = run_child(job)
        if bar is not None:
            bar.update()
        if "error" in measured:
            skipped.append({"artifact": artifact["name"], "backend": backend, "threads": threads, **measured})
            continue
        row = {
            "artifact": artifact["name"],
            "format": artifact["format"],
            "precision": artifact.get("precision"),
            "file": artifact["file"],
            "bundle": str(source.root),
            "size_bytes": _artifact_size(source.manifest, artifact),
            "backend": backend,
            "threads": threads,
            **measured,
        }
        if options.litert_benchmark and artifact["format"] == "tflite" and backend == "litert":
            row["litert_benchmark"] = _litert_benchmark(source.root / artifact["file"], threads, 100, 10)
        results.append(row)

    keras = None
    if options.keras_model is not None and importlib.util.find_spec("tensorflow") is None:
        keras = {"error": "TensorFlow is not installed (pip install 'edgeclf[convert]')"}
    elif options.keras_model is not None:
        step("Keras baseline (model.predict, tf.function)")
        keras = run_child({"kind": "keras", "model": str(options.keras_model), "tokens": tokens, **common})
        if bar is not None:
            bar.update()
        if "error" not in keras:
            keras["file"] = Path(options.keras_model).name
            keras["size_bytes"] = Path(options.keras_model).stat().st_size
    if bar is not None:
        bar.close()

    document = {
        "schema": SCHEMA,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "bundle": ", ".join(map(str, paths)),
        "machine": machine(),
        "texts": {
            "source": texts.source,
            "count": len(texts.texts),
            "labelled": texts.labels is not None,
            "tokens_p50": float(np.median(tokens)),
            "tokens_p90": float(np.percentile(tokens, 90)),
            "tokens_max": int(max(tokens)),
        },
        "options": {
            "runs": options.runs,
            "warmup": options.warmup,
            "batch_size": options.batch_size,
            "threads": list(options.threads),
            "pad_length": pad_length,
            "keras_runs": KERAS_MAX_RUNS,
            "masked": manifest["input"]["masked"],
        },
        "compute": compute,
        "flops": flops,
        "configs": results,
        "skipped": skipped,
        "keras": keras,
    }
    _derive(document, manifest, texts, tokens)
    return document


_ONE_CORE = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")}


def _artifact_size(manifest: dict[str, Any], artifact: dict[str, Any]) -> int:
    """The artifact's file plus the files it needs beside it (the numpy artifact's weights.npz)."""
    files = manifest.get("files", {})
    return artifact["size"] + sum(files[name]["size"] for name in artifact.get("extra_files", []) if name in files)


def _progress_bar(total: int) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is in the bench extra; without it the run is simply silent
        return None
    # disable=None: no bar when stderr is not a terminal (CI logs, pipes)
    return tqdm(total=total, file=sys.stderr, unit="config", leave=False, disable=None)


def _derive(document: dict[str, Any], manifest: dict[str, Any], texts: BenchTexts, tokens: list[int]) -> None:
    """Ratios, accuracy, agreement and compute efficiency from the raw measurements (outputs are then dropped)."""
    gold = np.asarray(texts.labels) if texts.labels is not None and manifest["task"] != "multilabel" else None
    keras = document["keras"]
    reference_name, reference = None, None
    if keras and "error" not in keras:
        _, reference = _postprocess(np.asarray(keras.pop("outputs"), dtype=np.float64), manifest)
        reference_name = "keras"
        keras["accuracy"] = float(np.mean(reference == gold)) if gold is not None else None
    elif document["configs"]:
        first = document["configs"][0]
        reference_name = f"{first['artifact']}/{first['backend']}/{first['threads']}t"
    flops = document["flops"]
    peak = document["compute"].get("matmul_gflops")
    for row in document["configs"]:
        _, labels = _postprocess(np.asarray(row.pop("outputs"), dtype=np.float64), manifest)
        if reference is None:
            reference = labels
        row["accuracy"] = float(np.mean(labels == gold)) if gold is not None else None
        row["agreement"] = float(np.mean(np.all((labels == reference).reshape(len(labels), -1), axis=1)))
        row["agreement_with"] = reference_name
        e2e, raw, tok = row["end_to_end"], row["raw_invoke"], row["tokenizer"]
        row["throughput_texts_per_s"] = row["batch"]["size"] / (row["batch"]["p50"] / 1e6)
        row["wrapper_overhead_ratio"] = e2e["p50"] / raw["p50"]
        row["tokenizer_share"] = tok["p50"] / e2e["p50"]  # medians: one descheduled call must not decide it
        row["padded_over_true_ratio"] = row["padded"]["p50"] / raw["p50"] if row["padded"] else None
        if flops:
            samples = row["samples"]
            text_flops = [flops["per_token"] * n + flops["per_text"] for n in samples["fed_length"]]
            row["flops_per_text_mean"] = float(np.mean(text_flops))
            row["gflops_raw"] = sum(text_flops) / (sum(samples["raw_invoke_us"]) * 1e3)
            row["gflops_end_to_end"] = sum(text_flops) / (sum(samples["end_to_end_us"]) * 1e3)
            row["share_of_core_matmul"] = row["gflops_raw"] / peak if peak else None
    if keras and "error" not in keras:
        best = min(document["configs"], key=lambda r: r["end_to_end"]["p50"], default=None)
        if best is not None:
            keras["speedup_vs_best"] = {
                "over": f"{best['artifact']}/{best['backend']}/{best['threads']}t",
                "predict": keras["predict"]["p50"] / best["end_to_end"]["p50"],
                "function": keras["function"]["p50"] / best["end_to_end"]["p50"],
            }
            # the same texts in the same order: Keras ran only the first KERAS_MAX_RUNS of them
            n = len(keras["samples"]["tokens"])
            ours = float(np.median(best["samples"]["end_to_end_us"][:n]))
            keras["speedup_same_texts"] = {
                "predict": float(np.median(keras["samples"]["predict_us"])) / ours,
                "function": float(np.median(keras["samples"]["function_us"])) / ours,
            }


# ------------------------------------------------------------------------------------------- outputs


def _fmt(value: Any, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


TABLE_COLUMNS = [
    ("artifact", "artifact"),
    ("backend", "backend"),
    ("thr", "threads"),
    ("size KB", "size_kb"),
    ("load ms", "load_ms"),
    ("first ms", "first_prediction_ms"),
    ("p50 µs", "p50"),
    ("p90 µs", "p90"),
    ("p99 µs", "p99"),
    ("mean±std µs", "mean_std"),
    ("texts/s", "throughput_texts_per_s"),
    ("raw p50 µs", "raw_p50"),
    ("e2e/raw", "wrapper_overhead_ratio"),
    ("tokenizer", "tokenizer_share"),
    ("padded/true", "padded_over_true_ratio"),
    ("RSS MB", "peak_rss_mb"),
    ("accuracy", "accuracy"),
    ("agreement", "agreement"),
    ("GFLOP/s", "gflops_raw"),
]


def table_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    """One flat row per configuration (and per Keras call), the fields the table and the CSV show."""
    rows = []
    for r in document["configs"]:
        e2e = r["end_to_end"]
        rows.append(
            {
                "artifact": r["artifact"],
                "backend": r["backend"],
                "threads": r["threads"],
                "size_kb": r["size_bytes"] / 1024,
                "load_ms": r["load_ms"],
                "first_prediction_ms": r["first_prediction_ms"],
                "p50": e2e["p50"],
                "p90": e2e["p90"],
                "p99": e2e["p99"],
                "mean": e2e["mean"],
                "std": e2e["std"],
                "mean_std": f"{e2e['mean']:,.0f}±{e2e['std']:,.0f}",
                "throughput_texts_per_s": r["throughput_texts_per_s"],
                "raw_p50": r["raw_invoke"]["p50"],
                "wrapper_overhead_ratio": r["wrapper_overhead_ratio"],
                "tokenizer_share": r["tokenizer_share"],
                "padded_p50": r["padded"]["p50"] if r["padded"] else None,
                "padded_over_true_ratio": r["padded_over_true_ratio"],
                "peak_rss_mb": r["peak_rss_mb"],
                "rss_delta_mb": r["peak_rss_mb"] - r["rss_before_load_mb"],
                "accuracy": r["accuracy"],
                "agreement": r["agreement"],
                "gflops_raw": r.get("gflops_raw"),
            }
        )
    keras = document.get("keras")
    if keras and "error" not in keras:
        for call, key in (("model.predict", "predict"), ("tf.function", "function")):
            s = keras[key]
            first = keras["first_prediction_ms"] if key == "predict" else keras["first_function_call_ms"]
            rows.append(
                {
                    "artifact": f"keras ({keras['file']})",
                    "backend": call,
                    "threads": "tf",
                    "size_kb": keras["size_bytes"] / 1024,
                    "load_ms": keras["load_ms"],
                    "first_prediction_ms": first,
                    "p50": s["p50"],
                    "p90": s["p90"],
                    "p99": s["p99"],
                    "mean": s["mean"],
                    "std": s["std"],
                    "mean_std": f"{s['mean']:,.0f}±{s['std']:,.0f}",
                    "throughput_texts_per_s": 1e6 / s["p50"],
                    "raw_p50": None,
                    "wrapper_overhead_ratio": None,
                    "tokenizer_share": None,
                    "padded_p50": None,
                    "padded_over_true_ratio": None,
                    "peak_rss_mb": keras["peak_rss_mb"],
                    "rss_delta_mb": keras["peak_rss_mb"] - keras["rss_before_load_mb"],
                    "accuracy": keras["accuracy"],
                    "agreement": 1.0,
                    "gflops_raw": None,
                }
            )
    return rows


def _cell(key: str, value: Any) -> str:
    if key in ("wrapper_overhead_ratio", "padded_over_true_ratio"):
        return "–" if value is None else f"{value:.2f}×"
    if key == "tokenizer_share":
        return "–" if value is None else f"{100 * value:.1f}%"
    if key in ("accuracy", "agreement"):
        return _fmt(value, 4)
    if key in ("load_ms", "first_prediction_ms", "gflops_raw"):
        return _fmt(value, 2)
    if key in ("size_kb", "peak_rss_mb", "throughput_texts_per_s"):
        return _fmt(value, 0 if key != "peak_rss_mb" else 1)
    return _fmt(value)


def to_markdown(document: dict[str, Any]) -> str:
    rows = table_rows(document)
    m, t, o = document["machine"], document["texts"], document["options"]
    lines = [
        f"# edgeclf bench: {document['bundle']}",
        "",
        f"Machine: {m['cpu']}, {m['cpus']} CPUs, {m['arch']}, {m['os']}, Python {m['python']}; "
        + ", ".join(f"{k} {v}" for k, v in m["versions"].items())
        + f". Load average at start {m['load_average_at_start']} (a shared machine: read medians and ratios).",
        "",
        f"Texts: {t['count']} from {t['source']}; tokens p50 {t['tokens_p50']:.0f}, p90 {t['tokens_p90']:.0f}, "
        f"max {t['tokens_max']}. Batch 1, {o['runs']} timed runs after {o['warmup']} warm-up runs per configuration, "
        f"each configuration in a fresh process; throughput at batch {o['batch_size']}.",
        "",
        "| " + " | ".join(h for h, _ in TABLE_COLUMNS) + " |",
        "|" + "|".join("---" if k in ("artifact", "backend") else "---:" for _, k in TABLE_COLUMNS) + "|",
    ]
    lines += ["| " + " | ".join(_cell(k, r.get(k)) for _, k in TABLE_COLUMNS) + " |" for r in rows]
    lines += ["", *_notes(document)]
    return "\n".join(lines) + "\n"


def _notes(document: dict[str, Any]) -> list[str]:
    notes = [
        "- p50/p90/p99, mean±std: `Classifier.predict(text)` end to end (tokenizer, input rules, interpreter, "
        "probabilities). raw: the backend's interpreter call on pre-tokenized ids; e2e/raw is the wrapper "
        "overhead as a ratio of medians, measured interleaved on the same texts. tokenizer: its median over the "
        "end-to-end median. RSS: peak resident set of the measuring process.",
    ]
    o = document["options"]
    if o["masked"]:
        differs = [
            f"{r['artifact']} on {r['backend']} by up to {r['padded_max_abs_diff']:.2g}"
            for r in document["configs"]
            if (r.get("padded_max_abs_diff") or 0) > 1e-4 and r["threads"] == min(o["threads"])
        ]
        notes.append(
            f"- padded/true: the same interpreter on ids post-padded to {o['pad_length']} tokens, over the true-length "
            "raw call (edgeclf runs the true length). Raw outputs padded vs true length: "
            + (
                f"within 1e-4 except {'; '.join(differs)}: their outputs depend on the padding, "
                "so they are exact only at the true length."
                if differs
                else "within 1e-4 for every artifact (the mask makes padding a no-op)."
            )
        )
    c, f = document["compute"], document["flops"]
    if f and "matmul_gflops" in c:
        notes.append(
            f"- Compute: {f['per_token']:,} FLOPs per token + {f['per_text']:,} per text (network description, "
            f"2 per multiply-add); one core of this machine does {c['matmul_gflops']:.1f} GFLOP/s (best of 15) on a "
            f"{'×'.join(map(str, c['matmul_shape']))} float32 numpy matmul and {c['matvec_gflops']:.1f} GFLOP/s "
            "on a batch-1 matvec (what a recurrent step is). GFLOP/s column: FLOPs of the timed texts / raw time "
            "(int8 kernels of dynamic-range artifacts can exceed the float32 figure)."
        )
    for row in document["configs"]:
        lb = row.get("litert_benchmark")
        if lb and "error" not in lb:
            notes.append(
                f"- litert-benchmark on {row['file']} ({row['threads']} thread(s)), input {lb['input']}: median "
                f"{lb['median_us']:.0f} µs, avg {lb['avg_us']:.0f} µs; edgeclf raw invoke at one token: "
                f"p50 {row['one_token_invoke']['p50']:.0f} µs, mean {row['one_token_invoke']['mean']:.0f} µs."
            )
    keras = document.get("keras")
    if keras and "error" not in keras and "speedup_vs_best" in keras:
        s = keras["speedup_same_texts"]
        notes.append(
            f"- Keras {keras['keras']} / TensorFlow {keras['tensorflow']} ran the first {keras['predict']['n']} of the "
            f"same texts in the same order. On those texts, Keras model.predict median / edgeclf "
            f"{keras['speedup_vs_best']['over']} median = {s['predict']:.1f}×, tf.function = {s['function']:.1f}×."
        )
    elif keras and "error" in keras:
        notes.append(f"- Keras baseline skipped: {keras['error']}")
    for failure in document.get("conversion_failures", []):
        notes.append(f"- not converted: {failure.get('name', failure.get('format'))}: {failure['error'][:200]}")
    for s in document["skipped"]:
        notes.append(f"- skipped {s['artifact']} / {s['backend']} / {s['threads']}t: {s['error']}")
    return notes


CSV_FIELDS = [
    "artifact",
    "backend",
    "threads",
    "size_kb",
    "load_ms",
    "first_prediction_ms",
    "p50",
    "p90",
    "p99",
    "mean",
    "std",
    "throughput_texts_per_s",
    "raw_p50",
    "wrapper_overhead_ratio",
    "tokenizer_share",
    "padded_p50",
    "padded_over_true_ratio",
    "peak_rss_mb",
    "rss_delta_mb",
    "accuracy",
    "agreement",
    "gflops_raw",
]


def to_csv(document: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in table_rows(document):  # 4 significant decimals: timings are µs, ratios and accuracies fractions
        writer.writerow({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()})
    return out.getvalue()


def to_json(document: dict[str, Any], indent: int | None = 1) -> str:
    return json.dumps(document, ensure_ascii=False, indent=indent)


# --------------------------------------------------------------------------------------------- plots


def _labelled_series(document: dict[str, Any], one_thread: bool = False) -> list[tuple[str, list[int], list[float]]]:
    """(name, token counts, end-to-end µs) per configuration, then the Keras calls."""
    configs = document["configs"]
    if one_thread:  # thread counts change little on a small machine but double the clutter of a scatter plot
        configs = [r for r in configs if r["threads"] == min(c["threads"] for c in configs)]
    series = [(_name(r), r["samples"]["tokens"], r["samples"]["end_to_end_us"]) for r in configs]
    k = document.get("keras")
    if k and "error" not in k:
        series.append(("keras model.predict", k["samples"]["tokens"], k["samples"]["predict_us"]))
        series.append(("keras tf.function", k["samples"]["tokens"], k["samples"]["function_us"]))
    return series


def _style(n: int, name: str) -> dict[str, Any]:
    """Distinct colour and marker for series ``n`` (tab20: up to 20 before colours repeat); Keras in black."""
    import matplotlib

    if name.startswith("keras"):
        return {"color": "black", "marker": "X" if "predict" in name or "(" in name else "P"}
    colours = matplotlib.colormaps["tab20"].colors
    return {"color": colours[(2 * n) % 20 + (n // 10) % 2], "marker": "os^Dv<>ph*"[n % 10]}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only, never a display
    import matplotlib.pyplot as plt

    return plt


def plot_latency(document: dict[str, Any], path: Path) -> Path:
    """Latency distribution per artifact/backend (end to end, batch 1), the raw invoke beside it; log scale."""
    plt = _pyplot()
    series = _labelled_series(document)
    raw = {_name(r): r["samples"]["raw_invoke_us"] for r in document["configs"]}
    fig, ax = plt.subplots(figsize=(9.5, 1.4 + 0.42 * len(series)))
    positions = np.arange(1, len(series) + 1, dtype=float)
    style = {"orientation": "horizontal", "whis": (1, 99), "widths": 0.32, "patch_artist": True,
             "flierprops": {"markersize": 2}, "medianprops": {"color": "black"}}  # fmt: skip
    e2e = ax.boxplot([us for _, _, us in series], positions=positions - 0.18, **style)
    for box in e2e["boxes"]:
        box.set_facecolor("tab:blue")
    named = [(i, name) for i, (name, _, _) in enumerate(series) if name in raw]
    if named:
        inner = ax.boxplot([raw[name] for _, name in named], positions=[positions[i] + 0.18 for i, _ in named], **style)
        for box in inner["boxes"]:
            box.set_facecolor("tab:orange")
        ax.legend([e2e["boxes"][0], inner["boxes"][0]], ["end to end (text in, scores out)", "raw interpreter invoke"],
                  fontsize=8, loc="upper right")  # fmt: skip
    ax.set_yticks(positions, [name for name, _, _ in series], fontsize=8)
    ax.set_xscale("log")
    slowest = max(max(us) for _, _, us in series)
    ax.set_xlim(right=slowest * 12)  # free space on the right for the legend
    ax.set_xlabel("latency per text, µs (log scale; box = p25–p75, line = p50, whiskers = p1–p99)")
    ax.set_title(f"Batch-1 latency on {document['texts']['count']} real texts ({_short(document)})", fontsize=10)
    ax.invert_yaxis()
    ax.grid(axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def plot_size_accuracy(document: dict[str, Any], path: Path) -> Path:
    """File size against accuracy on the texts, one point per artifact (and the Keras file)."""
    plt = _pyplot()
    points: dict[str, tuple[float, float]] = {}
    for r in document["configs"]:
        if r["accuracy"] is not None:
            points.setdefault(r["artifact"], (r["size_bytes"] / 1024, r["accuracy"]))
    k = document.get("keras")
    if k and "error" not in k and k.get("accuracy") is not None:
        points[f"keras ({k['file']})"] = (k["size_bytes"] / 1024, k["accuracy"])
    fig, ax = plt.subplots(figsize=(7, 4.4))
    for n, (name, (size, acc)) in enumerate(points.items()):  # a legend, not labels: fp32 files overlap
        ax.scatter(size, acc, s=45, label=f"{name}: {size:,.0f} KB, {acc:.4f}", **_style(n, name))
    if not points:
        ax.text(0.5, 0.5, "no labels given: accuracy unknown", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("file size, KB")
    ax.set_ylabel(f"accuracy on {document['texts']['count']} labelled texts")
    ax.set_title(f"Size vs accuracy ({_short(document)})", fontsize=10)
    ax.grid(alpha=0.3)
    if points:
        ax.legend(fontsize=7, loc="lower right")
        accs = [a for _, a in points.values()]
        ax.set_ylim(min(accs) - 0.04, max(accs) + 0.01)
        sizes = [s for s, _ in points.values()]
        ax.set_xlim(0, max(sizes) * 1.35)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def plot_length(document: dict[str, Any], path: Path) -> Path:
    """Latency against token count: one point per timed text, per configuration (log y)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(11, 4.8))
    for n, (name, tokens, us) in enumerate(_labelled_series(document, one_thread=True)):
        ax.scatter(tokens, us, s=9, alpha=0.6, label=name, **_style(n, name))
    for r in document["configs"]:
        if r["padded"]:
            label = f"{_name(r)} padded to {document['options']['pad_length']} tokens: p50 of the raw invoke"
            ax.axhline(r["padded"]["p50"], linestyle="--", linewidth=0.9, color="grey", label=label)
            break  # one reference line keeps the plot readable
    ax.set_yscale("log")
    ax.set_xlabel("tokens in the text (true length)")
    ax.set_ylabel("end-to-end latency, µs (log scale)")
    ax.set_title(f"Latency vs sequence length ({_short(document)})", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, markerscale=2, loc="upper left", bbox_to_anchor=(1.01, 1))  # outside: no data hidden
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def plot_all(document: dict[str, Any], path: Path) -> list[Path]:
    """The three plots: ``out.png`` → ``out-latency.png``, ``out-size-accuracy.png``, ``out-length.png``."""
    path = Path(path)
    stem = path.with_suffix("")
    return [
        plot_latency(document, Path(f"{stem}-latency.png")),
        plot_size_accuracy(document, Path(f"{stem}-size-accuracy.png")),
        plot_length(document, Path(f"{stem}-length.png")),
    ]


def _name(row: dict[str, Any]) -> str:
    return f"{row['artifact']} / {row['backend']} / {row['threads']}t"


def _short(document: dict[str, Any]) -> str:
    m = document["machine"]
    return f"{m['cpus']}-CPU {m['arch']}, {document['options']['runs']} runs"


# ------------------------------------------------------------------------------------------------ CLI


def _int_list(value: str) -> tuple[int, ...]:
    try:
        numbers = tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError("expected comma-separated integers, e.g. 1,2") from None
    if not numbers or min(numbers) < 1:
        raise argparse.ArgumentTypeError("thread counts must be positive integers")
    return numbers


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def _names(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _run(args: argparse.Namespace) -> int:
    bundle = Bundle.open(args.bundles[0])
    texts = read_bench_texts(args.texts, bundle.labels, args.text_column, None if args.no_labels else args.label_column)
    if args.keras is not None and not Path(args.keras).is_file():
        raise EdgeclfError(f"{args.keras}: no such Keras model file")
    options = BenchOptions(
        artifacts=args.artifacts,
        backends=args.backends,
        threads=args.threads,
        runs=args.runs,
        warmup=args.warmup,
        batch_size=args.batch_size,
        pad_length=args.pad_length,
        keras_model=args.keras,
        litert_benchmark=not args.no_litert_benchmark,
    )
    print(f"texts: {texts.source} ({len(texts.texts)} texts)", file=sys.stderr)
    document = run_bench(args.bundles, texts, options)
    if args.plot:
        for written in plot_all(document, args.plot):
            print(f"plot written to {written}", file=sys.stderr)
    if args.json:
        print(to_json(document))
    elif args.csv:
        print(to_csv(document), end="")
    else:
        print(to_markdown(document), end="")
    return 0


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``edgeclf bench`` on the CLI's subparsers."""
    b = subparsers.add_parser(
        "bench",
        help="measure latency, size, memory and accuracy of a bundle (no TensorFlow needed)",
        description="Benchmark every artifact × backend × thread count of a bundle on real texts: size, load time, "
        "first prediction, warm p50/p90/p99, throughput, peak RSS, accuracy, tokenizer share, raw interpreter "
        "invoke, padded vs true-length inference, FLOPs vs one core; optionally beside Keras.",
    )
    b.add_argument("bundles", type=Path, nargs="+", metavar="BUNDLE", help="bundle folder(s) of one model")
    b.add_argument(
        "--texts",
        type=Path,
        metavar="FILE",
        help="texts: .txt (one per line), .csv or .jsonl (default: 40 held-out IMDB reviews shipped with edgeclf)",
    )
    b.add_argument("--text-column", default="text", help="column/field holding the text (default: text)")
    b.add_argument(
        "--label-column",
        "--labels-column",
        default="label",
        help="column/field with gold labels (index or name); accuracy is reported when every text has one",
    )
    b.add_argument("--no-labels", action="store_true", help="ignore labels even when the file has them")
    b.add_argument("--artifacts", type=_names, help="artifact names to measure (default: all in the manifest)")
    b.add_argument(
        "--backends", type=_names, help=f"backends to use (default: every installed one; known: {', '.join(BACKENDS)})"
    )
    b.add_argument("--threads", type=_int_list, default=(1,), help="comma-separated thread counts (default: 1)")
    b.add_argument("--runs", type=_positive, default=200, help="timed batch-1 runs per configuration (default: 200)")
    b.add_argument("--warmup", type=int, default=20, help="warm-up runs per configuration (default: 20)")
    b.add_argument("--batch-size", type=_positive, default=16, help="texts per call for throughput (default: 16)")
    b.add_argument(
        "--pad-length",
        type=_positive,
        help="fixed length for the padded comparison (default: the bundle's, else the longest text)",
    )
    b.add_argument(
        "--keras",
        type=Path,
        metavar="MODEL",
        help="the source .keras model: adds model.predict and tf.function baselines (needs TensorFlow)",
    )
    b.add_argument("--no-litert-benchmark", action="store_true", help="do not run ai-edge-litert's litert-benchmark")
    out = b.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the whole result document as JSON")
    out.add_argument("--csv", action="store_true", help="print one CSV row per configuration")
    out.add_argument("--md", action="store_true", help="print a Markdown table (the default)")
    b.add_argument(
        "--plot",
        type=Path,
        metavar="OUT.png",
        help="write OUT-latency.png, OUT-size-accuracy.png and OUT-length.png",
    )
    b.set_defaults(run=_run)
    return b

"""The bench engine: which configurations to measure, one child process each, and the result document.

Several bundles of the same model (e.g. one per precision a format supports) are measured as one set.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
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

from edgeclf.backends import BACKENDS, backends_for, installed_backends
from edgeclf.bench.derive import derive, network_flops
from edgeclf.bench.measure import KERAS_CHILD, KERAS_MAX_RUNS, run_child
from edgeclf.bench.texts import BenchTexts
from edgeclf.bundle import Bundle
from edgeclf.errors import EdgeclfError

SCHEMA = "edgeclf-bench/1"


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
            done = subprocess.run(args, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as e:
            return {"error": f"litert-benchmark did not run: {str(e)[:200]}"}
        if not out.is_file():  # e.g. fused LSTM files: "Variable tensors not yet supported" by its loader
            lines = [
                x.strip()
                for x in done.stderr.splitlines()
                if "error" in x.lower() and not x.startswith(("WARNING", "└"))
            ]
            why = "; ".join(dict.fromkeys(lines[:1] + lines[-1:]))[:300] or "no error line"
            return {"error": f"litert-benchmark wrote no result (exit status {done.returncode}: {why})"}
        try:
            data = json.loads(out.read_text())["latency"]
        except (OSError, ValueError, KeyError) as e:
            return {"error": f"unreadable litert-benchmark result: {str(e)[:200]}"}
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
        BACKENDS[wanted]  # an unknown name: the registry's error, naming the known ones

    configs: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    seen: set[tuple[str, str, int]] = set()
    installed = installed_backends()  # without --backends, only these are measured (no "skipped" noise)
    for source in bundles:
        for artifact in source.manifest["artifacts"]:
            if options.artifacts and artifact["name"] not in options.artifacts:
                continue
            names = (
                [n for n in backends_for(artifact["format"]) if n in options.backends]
                if options.backends
                else [n for n in backends_for(artifact["format"]) if n in installed]
            )
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
            "size_bytes": int(artifact["size"]),  # the manifest's size already counts extra files (weights.npz)
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
        keras = run_child(
            {"kind": "keras", "model": str(options.keras_model), "tokens": tokens, **common}, module=KERAS_CHILD
        )
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
    derive(document, manifest, texts, tokens)
    return document


_ONE_CORE = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")}


def _progress_bar(total: int) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is in the bench extra; without it the run is simply silent
        return None
    # disable=None: no bar when stderr is not a terminal (CI logs, pipes)
    return tqdm(total=total, file=sys.stderr, unit="config", leave=False, disable=None)

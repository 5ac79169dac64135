"""Measurement children: each configuration is timed in its own fresh process (``sys.executable``).

A child reads a JSON job on stdin and writes a JSON result to ``job["out"]``, so its peak RSS is its own and
one backend's threads or allocator state never leak into another's figures. The Keras baseline speaks the same
protocol from ``edgeclf.convert.keras_baseline`` (TensorFlow is imported there, never in this package).
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edgeclf.childproc import python_code, python_module

CHUNK = 10  # timed runs alternate between the measured calls in chunks of this many texts (see _child_edgeclf)
KERAS_MAX_RUNS = 40  # Keras batch-1 calls cost 10-100 ms each; more runs add minutes, not information
CHILD = "from edgeclf.bench.measure import child_main; child_main()"
KERAS_CHILD = "edgeclf.convert.keras_baseline"  # the converter's module: TensorFlow stays out of edgeclf/


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


def rss_mb() -> float:
    """Current resident set size (Linux /proc; falls back to the peak where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return peak_rss_mb()


def peak_rss_mb() -> float:
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


def timed(fn: Callable[[], Any]) -> tuple[int, Any]:
    start = time.perf_counter_ns()
    value = fn()
    return time.perf_counter_ns() - start, value


def _child_edgeclf(job: dict[str, Any]) -> dict[str, Any]:
    """One artifact × backend × thread count, measured in this fresh process."""
    from edgeclf.runtime import Classifier
    from edgeclf.tokenizer import PAD_ID

    texts: list[str] = job["texts"]
    order: list[int] = job["order"]
    runs, warmup = job["runs"], job["warmup"]
    rss_before = rss_mb()

    load_ns, clf = timed(
        lambda: Classifier.load(
            job["bundle"], artifact=job["artifact"], backend=job["backend"], num_threads=job["threads"]
        )
    )
    first_ns, _ = timed(lambda: clf.predict(texts[order[0]]))
    backend = clf.backend
    ids = [clf.model_input(t) for t in texts]
    tokens = [len(clf.tokenizer.token_ids(t)) for t in texts]
    pad_length = job["pad_length"]
    # padded inference only means something for a masked model whose artifact takes any length and keeps the mask
    # (TFLite's fused and scan forms drop it: they are only ever fed a text's true length)
    entry = clf.bundle.artifact(clf.artifact)
    keeps_mask = not (entry["format"] == "tflite" and entry.get("rnn") in ("fused", "scan"))
    padded = None
    if clf.masked and backend.dynamic_length and pad_length and keeps_mask:
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
            raw.append(timed(lambda i=i: backend.run(ids[i]))[0])
        for i in chunk:
            e2e.append(timed(lambda i=i: clf.predict(texts[i]))[0])
        for i in chunk:
            tok.append(timed(lambda i=i: clf.model_input(texts[i]))[0])
        if padded is not None:
            for i in chunk:
                pad.append(timed(lambda i=i: backend.run(padded[i]))[0])

    # the input litert-benchmark runs: one token for a [1, None] model, the fixed length otherwise
    one = ids[order[0]][:1] if backend.dynamic_length else ids[order[0]]
    one_token = [timed(lambda: backend.run(one))[0] for _ in range(max(20, runs // 4))]

    batch = job["batch_size"]
    batches = [[texts[order[(b * batch + j) % len(order)]] for j in range(batch)] for b in range(max(3, runs // batch))]
    # backends with run_batch take length-sorted padded batches when predict() is given a batch size
    batched = "batch_size" in inspect.signature(clf.predict).parameters
    kwargs = {"batch_size": batch} if batched else {}
    batch_ns = [timed(lambda b=b: clf.predict(b, **kwargs))[0] for b in batches]

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
        "peak_rss_mb": peak_rss_mb(),
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


CHILDREN = {"edgeclf": _child_edgeclf, "compute": _child_compute}


def child_main() -> None:
    """Entry point of a measurement child: a JSON job on stdin, a JSON result written to job["out"]."""
    serve(lambda job: CHILDREN[job["kind"]](job))


def serve(measure: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """The child side of the protocol, shared with the Keras baseline: job from stdin, result to job["out"]."""
    job = json.loads(sys.stdin.read())
    try:
        result = measure(job)
    except Exception as e:  # any failure of one configuration is reported as its result, never a crash
        result = {"error": f"{type(e).__name__}: {(str(e).strip().splitlines() or [''])[0][:300]}"}
    Path(job["out"]).write_text(json.dumps(result))


def run_child(
    job: dict[str, Any],
    env: dict[str, str] | None = None,
    timeout: float = 1800,
    module: str | None = None,
) -> dict[str, Any]:
    """Run one job in a fresh ``sys.executable``: ``module``'s ``__main__`` or, by default, this module's child."""
    with tempfile.TemporaryDirectory(prefix="edgeclf-bench-") as tmp:
        out = Path(tmp) / "result.json"
        done = subprocess.run(
            python_module(module) if module else python_code(CHILD),
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

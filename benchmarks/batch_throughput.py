"""Do batches and both cores pay? Throughput of ``Classifier.predict`` on 200 real IMDB reviews, beside the roofline.

For each exact artifact of a bundle: one text at a time, ``batch_size`` 16 and 64, and two workers (two interpreters
side by side), each repeated and interleaved (median of the repeats). The roofline is the bench's own: FLOPs per text
from the network description over one core's float32 matmul rate (the bench's numpy probe), i.e. what the model
would run at if every multiply-add ran at matmul speed, which batching makes possible for the recurrence too.

    python benchmarks/batch_throughput.py [--bundle B] [--out benchmarks/results]

Without ``--bundle`` it converts the built-in example (TensorFlow needed) into a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from edgeclf import Classifier
from edgeclf.bench.derive import network_flops
from edgeclf.bench.measure import run_child
from edgeclf.selection import is_exact

CONFIGS = [("one at a time", 1, 1), ("batch 16", 16, 1), ("batch 64", 64, 1), ("2 workers, batch 16", 16, 2)]
ONE_CORE = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def review_texts(count: int = 200) -> list[str]:
    from edgeclf.convert.datasets import imdb_split

    return list(imdb_split()[1].texts[1000 : 1000 + count])  # test reviews the example never trained on


def measure(bundle: Path, texts: list[str], repeats: int) -> list[dict]:
    manifest = json.loads((bundle / "manifest.json").read_text())
    flops = network_flops(bundle)
    peak = run_child({"kind": "compute", "samples": 15}, env=ONE_CORE)["matmul_gflops"]
    rows = []
    for artifact in [a for a in manifest["artifacts"] if is_exact(a)]:
        name = artifact["name"]
        clfs = {w: Classifier.load(bundle, artifact=name, workers=w) for w in (1, 2)}
        fed = [len(clfs[1].model_input(t)) for t in texts]
        total_flops = sum(flops["per_token"] * n + flops["per_text"] for n in fed)
        roofline = len(texts) / (total_flops / (peak * 1e9))  # texts/s with every FLOP at one core's matmul speed
        samples: dict[str, list[float]] = {label: [] for label, _, _ in CONFIGS}
        for clf in clfs.values():
            clf.raw_outputs(texts[:20], batch_size=16)  # warm-up
        for _ in range(repeats):  # interleaved: load changes on the machine hit every configuration alike
            for label, batch_size, workers in CONFIGS:
                started = time.perf_counter()
                clfs[workers].raw_outputs(texts, batch_size=batch_size)
                samples[label].append(len(texts) / (time.perf_counter() - started))
        # ratios are taken within each round, then their median: the host's drift between rounds cancels out
        one_core = [label for label, _, w in CONFIGS if w == 1]
        best_one_core = [max(samples[label][k] for label in one_core) for k in range(repeats)]
        for label, _, workers in CONFIGS:
            rate = statistics.median(samples[label])
            x_one = statistics.median(a / b for a, b in zip(samples[label], samples["one at a time"], strict=True))
            x_best = statistics.median(a / b for a, b in zip(samples[label], best_one_core, strict=True))
            rows.append(
                {
                    "artifact": name,
                    "backend": clfs[1].backend.name,
                    "config": label,
                    "texts_per_s": round(rate, 1),
                    "x_one_at_a_time": round(x_one, 2),
                    "x_best_one_core": round(x_best, 2) if workers > 1 else None,
                    "share_of_one_core_roofline": round(rate / roofline, 3),
                    "roofline_texts_per_s": round(roofline, 1),
                    "mean_tokens": round(float(np.mean(fed)), 1),
                    "matmul_gflops": round(peak, 1),
                }
            )
    return rows


CEILING_BATCHES = (1, 4, 16, 64)


def _equal_length_rows(clf: Classifier, texts: list[str]) -> np.ndarray:
    """Real token ids with no padding at all: the texts at least as long as the median, cut to the median."""
    ids = [clf.model_input(t) for t in texts]
    length = int(np.median([len(x) for x in ids]))
    return np.stack([x[:length] for x in ids if len(x) >= length])


def _run_rows(backend, rows: np.ndarray, batch: int) -> float:
    """Seconds for the interpreter alone to run every row, ``batch`` rows a call."""
    started = time.perf_counter()
    for start in range(0, len(rows), batch):
        backend.run_batch(rows[start : start + batch])
    return time.perf_counter() - started


def _ceiling_process(bundle: str, artifact: str, rows: np.ndarray, batch: int, repeats: int, barrier, out) -> None:
    clf = Classifier.load(bundle, artifact=artifact)
    _run_rows(clf.backend, rows, batch)  # warm-up
    barrier.wait()  # both processes start together
    out.put(min(_run_rows(clf.backend, rows, batch) for _ in range(repeats)))


def _probe_process(barrier, out) -> None:
    """A fixed float32 matmul workload: what the machine itself gives a second process right now."""
    a = np.random.default_rng(0).random((256, 256), dtype=np.float32)
    barrier.wait()
    started = time.perf_counter()
    for _ in range(2000):
        a @ a
    out.put(time.perf_counter() - started)


def _side_by_side(target, args: tuple, rounds: int = 3) -> float:
    """Median over rounds of (work done by two processes at once) / (one alone), both started at a barrier."""
    os.environ.update(ONE_CORE)  # spawned children read it at import: one BLAS thread each, as the workers have
    context = multiprocessing.get_context("spawn")
    gains = []
    for _ in range(rounds):
        seconds = {}
        for count in (1, 2):
            barrier, out = context.Barrier(count), context.Queue()
            procs = [context.Process(target=target, args=(*args, barrier, out)) for _ in range(count)]
            for proc in procs:
                proc.start()
            seconds[count] = max(out.get() for _ in procs)
            for proc in procs:
                proc.join()
        gains.append(2 * seconds[1] / seconds[2])
    return statistics.median(gains)


def kernel_ceiling(bundle: Path, artifact: str, texts: list[str], repeats: int) -> dict | None:
    """What the interpreter itself gains, with no padding and no tokenizer: per-text time on equal-length real ids
    at each batch size, and the throughput of two processes side by side (nothing shared, not even the GIL).
    None for a backend that runs one text per call."""
    clf = Classifier.load(bundle, artifact=artifact)
    backend = clf.backend
    if not backend.batches:
        return None
    rows = _equal_length_rows(clf, texts)
    per_text: dict[int, list[float]] = {b: [] for b in CEILING_BATCHES}
    _run_rows(backend, rows, 4)  # warm-up
    for _ in range(repeats):
        for batch in CEILING_BATCHES:
            per_text[batch].append(_run_rows(backend, rows, batch) / len(rows) * 1e6)
    us = {b: statistics.median(v) for b, v in per_text.items()}
    best = min(us, key=us.__getitem__)
    two_processes = _side_by_side(_ceiling_process, (str(bundle), artifact, rows, best, repeats))
    return {
        "artifact": artifact,
        "rows": len(rows),
        "length": int(rows.shape[1]),
        "per_text_us": {str(b): round(v, 1) for b, v in us.items()},
        "best_batch": best,
        "best_gain": round(us[1] / us[best], 2),
        "two_processes_gain": round(two_processes, 2),
        "machine_two_processes_gain": round(_side_by_side(_probe_process, ()), 2),  # the same, for a plain matmul
    }


def to_markdown(rows: list[dict]) -> str:
    lines = [
        "| artifact | backend | configuration | texts/s | × one at a time | × best one-core | of one-core roofline |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        cores = f"{r['x_best_one_core']:.2f}" if r["x_best_one_core"] else ""
        lines.append(
            f"| {r['artifact']} | {r['backend']} | {r['config']} | {r['texts_per_s']:,.0f} | "
            f"{r['x_one_at_a_time']:.2f} | {cores} | {r['share_of_one_core_roofline']:.0%} |"
        )
    r = rows[0]
    lines.append(
        f"\nRoofline: {r['roofline_texts_per_s']:,.0f} texts/s = one core's float32 matmul rate "
        f"({r['matmul_gflops']} GFLOP/s, the bench's numpy probe) over the network's FLOPs for these texts "
        f"(mean {r['mean_tokens']} tokens fed)."
    )
    return "\n".join(lines) + "\n"


def ceiling_markdown(ceilings: list[dict], rows: list[dict]) -> str:
    lines = [
        "\nWhat the interpreter alone gains (no padding, no tokenizer): real ids of the texts at least as long as "
        "the median, cut to it; per-text µs at each batch size, one thread; then two processes side by side at "
        "the best batch against one alone.\n",
        "| artifact | rows × length | "
        + " | ".join(f"batch {b} µs/text" for b in CEILING_BATCHES)
        + " | best gain | two processes | matmul, two processes | Classifier: best batch | Classifier: 2 workers |",
        "|---|---|" + "---:|" * (len(CEILING_BATCHES) + 5),
    ]
    for c in ceilings:
        mine = [r for r in rows if r["artifact"] == c["artifact"]]
        batch_gain = max(r["x_one_at_a_time"] for r in mine if r["x_best_one_core"] is None)
        workers = next(r["x_best_one_core"] for r in mine if r["x_best_one_core"] is not None)
        per_text = " | ".join(f"{c['per_text_us'][str(b)]:,.0f}" for b in CEILING_BATCHES)
        lines.append(
            f"| {c['artifact']} | {c['rows']} × {c['length']} | {per_text} | {c['best_gain']:.2f} (batch "
            f"{c['best_batch']}) | {c['two_processes_gain']:.2f} | {c['machine_two_processes_gain']:.2f} | "
            f"{batch_gain:.2f} | {workers:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, help="a bundle folder (default: convert the built-in example)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bundle = args.bundle
        if bundle is None:
            bundle = Path(tmp) / "bundle"
            cmd = [sys.executable, "-m", "edgeclf.cli", "convert", "example", "-o", str(bundle)]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        texts = review_texts()
        rows = measure(bundle, texts, args.repeats)
        manifest = json.loads((bundle / "manifest.json").read_text())
        exact = [a["name"] for a in manifest["artifacts"] if is_exact(a)]
        measured = [kernel_ceiling(bundle, name, texts, args.repeats) for name in exact]
        ceilings = [c for c in measured if c is not None]  # only where batches exist at all
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "batch.json").write_text(json.dumps({"classifier": rows, "kernel": ceilings}, indent=2) + "\n")
    markdown = to_markdown(rows) + ceiling_markdown(ceilings, rows)
    (args.out / "batch.md").write_text(markdown)
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())

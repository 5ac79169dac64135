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
        base = statistics.median(samples["one at a time"])
        one_core_best = max(statistics.median(samples[label]) for label, _, w in CONFIGS if w == 1)
        for label, _, workers in CONFIGS:
            rate = statistics.median(samples[label])
            rows.append(
                {
                    "artifact": name,
                    "backend": clfs[1].backend.name,
                    "config": label,
                    "texts_per_s": round(rate, 1),
                    "x_one_at_a_time": round(rate / base, 2),
                    "x_best_one_core": round(rate / one_core_best, 2) if workers > 1 else None,
                    "share_of_one_core_roofline": round(rate / roofline, 3),
                    "roofline_texts_per_s": round(roofline, 1),
                    "mean_tokens": round(float(np.mean(fed)), 1),
                    "matmul_gflops": round(peak, 1),
                }
            )
    return rows


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
        rows = measure(bundle, review_texts(), args.repeats)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "batch.json").write_text(json.dumps(rows, indent=2) + "\n")
    markdown = to_markdown(rows)
    (args.out / "batch.md").write_text(markdown)
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())

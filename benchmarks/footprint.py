"""Installed size of the runtime with each backend vs tensorflow-cpu, and cold start per backend.

    python benchmarks/footprint.py BUNDLE [--tflite-runtime-python PATH] [--keras MODEL] [--runs 5]

Sizes are the installed package folders (du) of the interpreters' own packages and their dependencies
that the runtime pulls; cold start is a fresh process: import edgeclf, Classifier.load, first prediction
(median of --runs). Writes benchmarks/results/footprint.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
# What each backend needs on a device, by importable top-level package (numpy and edgeclf for every one).
PACKAGES = {
    "numpy": ["numpy", "numpy.libs"],
    "litert": ["ai_edge_litert", "flatbuffers", "ml_dtypes", "google/protobuf", "tqdm", "backports"],
    "onnxruntime": ["onnxruntime", "flatbuffers", "google/protobuf", "packaging"],
    "tflite-runtime": ["tflite_runtime"],
    "tensorflow-cpu (for comparison)": ["tensorflow", "keras", "h5py", "ml_dtypes", "google/protobuf", "tensorboard",
                                        "grpc", "optree", "flatbuffers", "absl", "opt_einsum", "gast", "wrapt"],
}  # fmt: skip
COLD = """
import time, sys
t0 = time.perf_counter()
from edgeclf import Classifier
c = Classifier.load(sys.argv[1], backend=sys.argv[2])
c.predict("what a wonderful film")
print(time.perf_counter() - t0)
"""
KERAS_COLD = """
import os, time, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
t0 = time.perf_counter()
import keras, numpy as np
m = keras.saving.load_model(sys.argv[1])
m.predict(np.array(["what a wonderful film"], dtype=object), verbose=0)
print(time.perf_counter() - t0)
"""


def folder_mb(site: Path, names: list[str]) -> float:
    total = 0
    for name in names:
        path = site / name
        if path.exists():
            total += sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return total / 1e6


def site_packages(python: str) -> Path:
    out = subprocess.run([python, "-c", "import numpy, os; print(os.path.dirname(os.path.dirname(numpy.__file__)))"],
                         capture_output=True, text=True, check=True)  # fmt: skip
    return Path(out.stdout.strip())


def cold_start(python: str, args: list[str], runs: int, code: str = COLD) -> float:
    times = []
    for _ in range(runs):
        done = subprocess.run([python, "-c", code, *args], capture_output=True, text=True, check=True)
        times.append(float(done.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--tflite-runtime-python", help="python of a venv with tflite-runtime 2.14 and numpy<2")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keras", type=Path, help="the .keras model, for Keras's own cold start")
    args = parser.parse_args()

    site = site_packages(sys.executable)
    numpy_mb = folder_mb(site, PACKAGES["numpy"])
    rows = []
    for backend, python in [("numpy", sys.executable), ("litert", sys.executable), ("onnxruntime", sys.executable),
                            ("tflite-runtime", args.tflite_runtime_python)]:  # fmt: skip
        if python is None:
            continue
        here = site_packages(python)
        size = folder_mb(here, PACKAGES["numpy"]) + (folder_mb(here, PACKAGES[backend]) if backend != "numpy" else 0)
        rows.append({"backend": backend, "installed_mb": round(size, 1),
                     "cold_start_s": round(cold_start(python, [str(args.bundle), backend], args.runs), 3)})  # fmt: skip
    tf_mb = numpy_mb + folder_mb(site, PACKAGES["tensorflow-cpu (for comparison)"])
    keras_row = {"backend": "tensorflow-cpu + keras (for comparison)", "installed_mb": round(tf_mb, 1)}
    if args.keras:
        keras_row["cold_start_s"] = round(cold_start(sys.executable, [str(args.keras)], args.runs, KERAS_COLD), 3)
    rows.append(keras_row)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "footprint.json").write_text(json.dumps(rows, indent=1) + "\n")
    lines = ["| runtime | installed (MB, with numpy) | cold start: import + load + first prediction (s, median) |",
             "|---|---:|---:|"]  # fmt: skip
    for r in rows:
        lines.append(f"| {r['backend']} | {r['installed_mb']:,.0f} | {r.get('cold_start_s', '–')} |")
    (RESULTS / "footprint.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

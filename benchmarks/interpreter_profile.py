"""Where an interpreter spends one text's time: a sampling profile (``perf record -e cpu-clock``) of a process that
runs one artifact's raw invoke many times on a 202-token input (the example's median review), grouped by what the
sampled function does: matrix kernels, activations, element-wise ops, the interpreter's own dispatch and control
flow, memory traffic. Needs Linux ``perf`` (Debian ``linux-perf``); software sampling works inside VMs.

    python benchmarks/interpreter_profile.py BUNDLE [--artifacts a,b] [--runs 3000] [--top 12]
    # → results/interpreter-profile.md
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

INVOKE = """
import sys, time, numpy as np
from edgeclf import Classifier
clf = Classifier.load(sys.argv[1], artifact=sys.argv[2])
vocab = len(clf.tokenizer.vocabulary)
ids = (np.arange(202, dtype=np.int32) * 37) % (vocab - 2) + 2  # 202 real token ids
for _ in range(20):
    clf.backend.run(ids)
times = []
for _ in range(int(sys.argv[3])):
    t0 = time.perf_counter(); clf.backend.run(ids); times.append(time.perf_counter() - t0)
print(f"{np.median(times) * 1e6:.0f} {min(times) * 1e6:.0f}")
"""

# the first matching rule names a sampled symbol's category
CATEGORIES = [
    ("matrix kernels (gemm / gemv)", r"gemm|gemv|general_matrix_vector|Gemm|ruy::|Mlas|sgemm|MatrixBatchVector"),
    ("activations", r"sigmoid|tanh|Logistic|Tanh|ApplyActivation|Sigmoid"),
    ("element-wise (add, mul, select, where)", r"vadd|vmul|Select|select|BroadcastSelect|vbinary|Where|BiasAndClamp"),
    (
        "interpreter dispatch and control flow",
        r"Subgraph|RuntimeShape|GetTensorShape|TensorCopy|xnn_run|xnn_invoke|"
        r"SubgraphInvoke|pthreadpool|While|tflite::|TfLite|onnxruntime::|ExecutionFrame",
    ),
    ("memory (memcpy, malloc, free)", r"memmove|memset|memcpy|malloc|_int_free|cfree|_int_malloc"),
    ("Python", r"libpython|_PyEval|PyObject"),
]


def profile(
    bundle: Path, artifact: str, runs: int, work: Path
) -> tuple[dict[str, float], list[tuple[float, str]], str, str]:
    data = work / f"{artifact}.perf"
    script = work / "invoke.py"
    script.write_text(INVOKE)
    done = subprocess.run(
        ["perf", "record", "-e", "cpu-clock", "-F", "4000", "-o", str(data), "--", sys.executable, str(script),
         str(bundle), artifact, str(runs)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    p50, best = done.stdout.split()
    report = subprocess.run(
        ["perf", "report", "-i", str(data), "--no-children", "--sort", "dso,symbol", "--stdio", "--percent-limit",
         "0.05"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    shares: collections.Counter[str] = collections.Counter()
    symbols: list[tuple[float, str]] = []
    for line in report.splitlines():
        m = re.match(r"\s+([\d.]+)%\s+(\S+)\s+\[.\]\s+(.*)", line)
        if not m:
            continue
        symbol = f"{m.group(2)} {m.group(3)}"
        symbols.append((float(m.group(1)), symbol))
        name = next((n for n, rx in CATEGORIES if re.search(rx, symbol)), "other")
        shares[name] += float(m.group(1))
    return dict(shares), sorted(symbols, reverse=True), p50, best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--artifacts", default="tflite-scan-fp32,tflite-fp32,tflite-fused-fp32,onnx-fused-fp32")
    parser.add_argument("--runs", type=int, default=3000)
    parser.add_argument("--top", type=int, default=0, help="also list each artifact's N most sampled functions")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "interpreter-profile.md")
    args = parser.parse_args()
    if shutil.which("perf") is None:
        print("interpreter_profile: needs Linux perf (apt-get install linux-perf)", file=sys.stderr)
        return 1
    rows = []
    tops: dict[str, list[tuple[float, str]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for artifact in args.artifacts.split(","):
            shares, symbols, p50, best = profile(args.bundle, artifact, args.runs, Path(tmp))
            rows.append((artifact, p50, best, shares))
            tops[artifact] = symbols[: args.top]
    names = [n for n, _ in CATEGORIES] + ["other"]
    lines = [
        f"Share of sampled CPU time per category, {args.runs} raw invokes of a 202-token text (process start "
        "included, a few %), `python benchmarks/interpreter_profile.py`.\n",
        "| category | " + " | ".join(f"`{a}` (p50 {p} µs, min {b} µs)" for a, p, b, _ in rows) + " |",
        "|---|" + "---:|" * len(rows),
    ]
    for name in names:
        lines.append(f"| {name} | " + " | ".join(f"{s.get(name, 0.0):.1f} %" for *_, s in rows) + " |")
    for artifact, symbols in tops.items():
        if symbols:
            lines += [f"\n`{artifact}`, most sampled functions:\n", "| share | function |", "|---:|---|"]
            lines += [f"| {share:.1f} % | `{symbol[:110]}` |" for share, symbol in symbols]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

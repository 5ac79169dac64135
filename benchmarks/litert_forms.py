"""Raw interpreter latency of a bundle's recurrent forms against ONNX Runtime, interleaved in one process.

Each text's ids (as ``Classifier`` feeds them) run on every artifact before the next text, for several rounds, so
a change in machine load hits all alike; LiteRT runs each TFLite artifact with XNNPACK (as it ships) and, as
``+noxnn``, with the builtin kernels only. One thread. Prints per-artifact p50 µs and the ratio to the reference.

    python benchmarks/litert_forms.py BUNDLE [--texts builtin|imdb200] [--rounds 5] [--reference onnx-fused-fp32]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np

from edgeclf.bench.texts import read_bench_texts
from edgeclf.runtime import Classifier


def _texts(which: str) -> list[str]:
    if which == "builtin":
        return read_bench_texts(None, ["negative", "positive"]).texts
    from edgeclf.convert.datasets import imdb_split

    return list(imdb_split()[1].texts[:200])


def _no_xnnpack(classifier: Classifier) -> None:
    """Reopen the classifier's LiteRT interpreter with the builtin kernels only (no default delegate)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    backend = classifier.backend
    path = classifier.bundle.verified_path(classifier.bundle.artifact(classifier.artifact)["file"])
    builtin_only = OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    backend._interpreter = Interpreter(model_path=str(path), num_threads=1, experimental_op_resolver_type=builtin_only)
    backend._interpreter.allocate_tensors()
    backend._length = int(backend._interpreter.get_input_details()[0]["shape"][1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--texts", default="builtin", choices=["builtin", "imdb200"])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--reference", default="onnx-fused-fp32")
    parser.add_argument("--no-xnnpack", action="store_true", help="also time every TFLite artifact without XNNPACK")
    args = parser.parse_args()
    manifest_names = [a["name"] for a in Classifier.load(args.bundle).bundle.manifest["artifacts"]]
    runners: dict[str, Classifier] = {}
    for name in manifest_names:
        runners[name] = Classifier.load(args.bundle, artifact=name)
        if args.no_xnnpack and name.startswith("tflite"):
            runners[name + "+noxnn"] = Classifier.load(args.bundle, artifact=name)
            _no_xnnpack(runners[name + "+noxnn"])
    texts = _texts(args.texts)
    inputs = {name: [clf.model_input(t) for t in texts] for name, clf in runners.items()}
    samples: dict[str, list[float]] = {name: [] for name in runners}
    for name, clf in runners.items():  # warm-up
        for ids in inputs[name][:3]:
            clf.backend.run(ids)
    for _ in range(args.rounds):
        for i in range(len(texts)):
            for name, clf in runners.items():
                ids = inputs[name][i]
                started = time.perf_counter()
                clf.backend.run(ids)
                samples[name].append(time.perf_counter() - started)
    tokens = [len(ids) for ids in inputs[manifest_names[0]]]
    reference = statistics.median(samples[args.reference]) if args.reference in samples else None
    print(
        f"{len(texts)} texts ({args.texts}, p50 {int(np.median(tokens))} tokens), {args.rounds} interleaved rounds, "
        f"one thread, load average {os.getloadavg()[0]:.2f}"
    )
    print("| artifact | raw p50 µs | × " + args.reference + " |\n|---|---:|---:|")
    for name, values in sorted(samples.items(), key=lambda item: statistics.median(item[1])):
        p50 = statistics.median(values) * 1e6
        ratio = f"{p50 / (reference * 1e6):.2f}" if reference else "-"
        print(f"| {name} | {p50:,.0f} | {ratio} |")


if __name__ == "__main__":
    main()

"""Size × accuracy × agreement × runtime for every TFLite form and precision of the example model.

    python benchmarks/quantization_table.py [--eval 1000] [--tflite-runtime-python PATH]

Converts the tutorial BiLSTM with --rnn loop,fused and --quantize fp32,dynamic,float16,int8 (int8
calibrated on 200 *training* reviews), evaluates every artifact against Keras on the first N reviews of the
fixed IMDB test split, and writes benchmarks/results/quantization.{json,md}. With
--tflite-runtime-python (a Python with tflite-runtime 2.14 and numpy<2) it also records which artifacts
that older interpreter can open and run.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import tempfile
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
PROBE = """
import sys, numpy as np
from tflite_runtime.interpreter import Interpreter
try:
    it = Interpreter(model_path=sys.argv[1]); inp = it.get_input_details()[0]
    if inp["shape_signature"][1] == -1: it.resize_tensor_input(inp["index"], [1, 7])
    it.allocate_tensors(); it.set_tensor(inp["index"], np.full(it.get_input_details()[0]["shape"], 5, np.int32))
    it.invoke(); print("ok")
except Exception as e: print("FAIL", str(e).splitlines()[0][:160])
"""


def write_csv(path: Path, texts: list[str], labels: list[int]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows(zip(texts, labels, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval", type=int, default=1000, help="test reviews to evaluate on (default 1000)")
    parser.add_argument("--tflite-runtime-python", type=Path, help="python of a venv with tflite-runtime 2.14")
    args = parser.parse_args()

    from edgeclf.convert.datasets import imdb_split
    from edgeclf.convert.pipeline import EXAMPLE_DIR, convert
    from edgeclf.convert.texts import read_texts

    train, test = imdb_split()
    with tempfile.TemporaryDirectory() as tmp:
        eval_csv, calibration_csv = Path(tmp) / "eval.csv", Path(tmp) / "calibration.csv"
        write_csv(eval_csv, test.texts[: args.eval], test.labels[: args.eval].tolist())
        write_csv(calibration_csv, train.texts[:200], train.labels[:200].tolist())
        manifest = convert(
            EXAMPLE_DIR / "model.keras", Path(tmp) / "bundle", parity_texts=read_texts(eval_csv),
            parity_source=f"first {args.eval} reviews of the IMDB test split", calibration_texts=read_texts(
                calibration_csv), rnn_forms=["loop", "fused"], precisions=["fp32", "dynamic", "float16", "int8"],
        )  # fmt: skip
        rows = []
        for a in manifest["artifacts"]:
            p = a["parity"]
            runtimes = ["ai-edge-litert 2.3.0"]
            if args.tflite_runtime_python:
                model_file = str(Path(tmp) / "bundle" / a["file"])
                probe = subprocess.run([str(args.tflite_runtime_python), "-c", PROBE, model_file],
                                       capture_output=True, text=True)  # fmt: skip
                verdict = probe.stdout.strip() or probe.stderr.strip().splitlines()[-1]
                runtimes.append("tflite-runtime 2.14" if verdict == "ok" else f"not tflite-runtime 2.14 ({verdict})")
            rows.append({"artifact": a["name"], "size": a["size"], "size_ratio": a["size_ratio_to_fp32"],
                         "accuracy": p["artifact_accuracy"], "accuracy_delta": p["accuracy_delta"],
                         "agreement": p["label_agreement"], "max_abs_diff": p["max_abs_diff"], "ok": p["ok"],
                         "ops": a["ops"], "runtimes": runtimes})  # fmt: skip
        failed = manifest["failed_artifacts"]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "quantization.json").write_text(json.dumps({"rows": rows, "failed": failed,
                                                           "keras_accuracy": manifest["parity"]["keras_accuracy"],
                                                           "eval": args.eval}, indent=1) + "\n")  # fmt: skip
    lines = [
        f"Tutorial BiLSTM, first {args.eval} reviews of the fixed IMDB test split; Keras accuracy "
        f"{manifest['parity']['keras_accuracy']:.4f}. int8 calibrated on 200 training reviews.",
        "",
        "| artifact | size (bytes) | × fp32 of its form | accuracy | Δ vs Keras (points) | agreement | max abs diff | "
        "within tolerance | verified on |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['artifact']} | {r['size']:,} | {r['size_ratio']:.2f} | {r['accuracy']:.4f} | "
            f"{100 * r['accuracy_delta']:+.1f} | {r['agreement']:.4f} | {r['max_abs_diff']:.1e} | "
            f"{'yes' if r['ok'] else 'NO'} | {'; '.join(r['runtimes'])} |"
        )
    for f in failed:
        lines.append(f"| {f['name']} | not written | | | | | | | {f['error']} |")
    (RESULTS / "quantization.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

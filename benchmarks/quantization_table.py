"""Size × accuracy × agreement × runtimes for every precision and recurrent form of a zoo model.

    python benchmarks/quantization_table.py [--model imdb_bilstm|toxic|trec_bigru|...] [--eval 1000]
        [--tflite-runtime-python .venv-tflite-runtime/bin/python]

One conversion with ``--tflite-runtime-compatible`` writes TFLite loop / fused (/ unrolled at a fixed length) ×
fp32, dynamic, float16, int8, int16x8 and ONNX fp32 + dynamic; int8 and int16x8 calibrate on the first 200
*training* texts. Two more conversions measure what was tried beside it: default (per-channel) dynamic-range
dense weights, and int8 calibrated on 1,000 training texts instead of 200. Every artifact is measured against
Keras on the first N held-out texts (accuracy where they carry labels) and, with --tflite-runtime-python, run
again under tflite-runtime 2.14. Writes benchmarks/results/quantization-MODEL.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
PRECISIONS = ["fp32", "dynamic", "float16", "int8", "int16x8"]


def _rows(manifest: dict[str, Any], variant: str) -> list[dict[str, Any]]:
    rows = []
    for a in manifest["artifacts"]:
        p = a["parity"]
        rows.append({
            "artifact": a["name"], "variant": variant, "format": a["format"], "precision": a["precision"],
            "rnn": a["rnn"], "size": a["size"], "size_ratio": a.get("size_ratio_to_fp32"),
            "weight_bytes": a.get("weight_bytes", {}), "embedding_dtype": a.get("embedding_dtype"),
            "accuracy": p["artifact_accuracy"], "accuracy_delta": p["accuracy_delta"],
            "agreement": p["label_agreement"], "max_abs_diff": p["max_abs_diff"], "ok": p["ok"],
            "ops": a["ops"], "verified_runtimes": a.get("verified_runtimes", {}),
        })  # fmt: skip
    rows += [{"artifact": f["name"], "variant": variant, "failed": f["error"]} for f in manifest["failed_artifacts"]]
    return rows


def _runtimes(row: dict[str, Any]) -> str:
    shown = []
    for runtime, verdict in row["verified_runtimes"].items():
        short = runtime if not runtime.startswith("/") else "tflite-runtime venv"
        shown.append(short if not verdict.startswith(("FAILED", "DIFFERS")) else f"not {short} ({verdict[:60]})")
    return "; ".join(shown)


def _markdown(model: Any, rows: list[dict[str, Any]], keras_accuracy: float | None, n: int) -> str:
    accuracy = f"Keras accuracy {keras_accuracy:.4f}" if keras_accuracy is not None else "no gold labels"
    lines = [
        f"### {model.name}: {model.summary}",
        "",
        f"{n} held-out texts ({accuracy}); int8/int16x8 calibrated on the first 200 training texts unless the "
        "variant says otherwise. Sizes in bytes; the byte split counts constants by the op that reads them.",
        "",
        "| artifact | variant | size | × fp32 | embedding / recurrent / dense bytes (embedding type) | accuracy | "
        "Δ vs Keras (points) | agreement | max abs diff | within tolerance | verified on |",
        "|---|---|---:|---:|---|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        if "failed" in r:
            lines.append(f"| {r['artifact']} | {r['variant']} | not written | | | | | | | | {r['failed'][:160]} |")
            continue
        w = r["weight_bytes"]
        split = (
            f"{w.get('embedding', 0):,} / {w.get('recurrent', 0):,} / {w.get('dense', 0):,} ({r['embedding_dtype']})"
        )
        acc = "–" if r["accuracy"] is None else f"{r['accuracy']:.4f}"
        delta = "–" if r["accuracy_delta"] is None else f"{100 * r['accuracy_delta']:+.1f}"
        ratio = "–" if r["size_ratio"] is None else f"{r['size_ratio']:.2f}"
        lines.append(
            f"| {r['artifact']} | {r['variant']} | {r['size']:,} | {ratio} | {split} | {acc} | {delta} | "
            f"{r['agreement']:.4f} | {r['max_abs_diff']:.1e} | {'yes' if r['ok'] else '**NO**'} | {_runtimes(r)} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="imdb_bilstm", help="zoo model name (default: imdb_bilstm)")
    parser.add_argument("--eval", type=int, default=1000, help="held-out texts to evaluate on (default 1000)")
    parser.add_argument("--tflite-runtime-python", type=Path, help="python of a venv with tflite-runtime 2.14")
    args = parser.parse_args()

    from edgeclf.convert.examples.zoo import catalog
    from edgeclf.convert.pipeline import convert

    model = catalog()[args.model]
    eval_texts, calibration = model.eval_texts(args.eval), model.calibration_texts(1000)
    forms = ["loop", "fused", "unrolled"] if model.fixed_length else ["loop", "fused"]
    source = f"first {args.eval} held-out texts"
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        common = dict(labels=model.labels, parity_texts=eval_texts, parity_source=source, calibration_texts=calibration,
                      overwrite=True, verify_python=args.tflite_runtime_python, **model.convert_options)  # fmt: skip
        keras_file = model.model(Path(tmp))
        runs = [
            ("tflite-runtime compatible", dict(formats=["tflite", "onnx"], rnn_forms=forms, precisions=PRECISIONS,
                                               tflite_runtime_compatible=True)),
            ("per-channel dense", dict(formats=["tflite"], rnn_forms=["loop", "fused"],
                                       precisions=["fp32", "dynamic"])),
            ("1,000 calibration texts", dict(formats=["tflite"], rnn_forms=["fused"], precisions=["fp32", "int8"],
                                             calibration_samples=1000, tflite_runtime_compatible=True)),
        ]  # fmt: skip
        keras_accuracy = None
        for variant, options in runs:
            manifest = convert(keras_file, Path(tmp) / "bundle", **common, **options)
            keras_accuracy = manifest["parity"]["keras_accuracy"]
            rows += [r for r in _rows(manifest, variant) if variant == runs[0][0] or r.get("precision") != "fp32"]
    RESULTS.mkdir(exist_ok=True)
    record = {"model": model.name, "eval": args.eval, "keras_accuracy": keras_accuracy, "rows": rows}
    (RESULTS / f"quantization-{model.name}.json").write_text(json.dumps(record, indent=1) + "\n")
    text = _markdown(model, rows, keras_accuracy, len(eval_texts))
    (RESULTS / f"quantization-{model.name}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()

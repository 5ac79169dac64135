"""Full int8 against int8-float-rnn (recurrent layers float, embedding and dense int8), fused form, per zoo model.

    python benchmarks/int8_float_rnn.py [--eval 1000] [MODEL:CALIBRATION ...]
        (default: imdb_bilstm:200 imdb_bilstm:1000 imdb_stacked_bilstm:200)

One conversion per model and calibration size (the first N *training* texts), ``--tflite-runtime-compatible``,
TFLite fused fp32 / dynamic / int8 / int8-float-rnn with ``--keep-inaccurate`` (so a refused int8 is still measured),
each against Keras on the first ``--eval`` held-out texts; a full-integer artifact outside the target carries the
conversion's range diagnosis. Writes benchmarks/results/int8-float-rnn.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
PRECISIONS = ["fp32", "dynamic", "int8", "int8-float-rnn"]


def _measure(name: str, calibration: int, n: int, scratch: Path) -> list[dict[str, Any]]:
    from edgeclf.convert.examples.zoo import catalog
    from edgeclf.convert.pipeline import convert

    model = catalog()[name]
    manifest = convert(
        model.model(scratch), scratch / f"{name}-{calibration}", labels=model.labels,
        parity_texts=model.eval_texts(n), parity_source=f"first {n} held-out texts",
        calibration_texts=model.calibration_texts(calibration), calibration_samples=calibration,
        formats=["tflite"], rnn_forms=["fused"], precisions=PRECISIONS, keep_inaccurate=True, overwrite=True,
        tflite_runtime_compatible=True, **model.convert_options,
    )  # fmt: skip
    rows = []
    for a in manifest["artifacts"]:
        p = a["parity"]
        rows.append({
            "model": name, "calibration": calibration, "artifact": a["name"], "size": a["size"],
            "size_ratio": a.get("size_ratio_to_fp32"), "weight_bytes": a.get("weight_bytes", {}),
            "agreement": p["label_agreement"], "accuracy_delta": p["accuracy_delta"], "max_abs_diff": p["max_abs_diff"],
            "ok": p["ok"], "diagnosis": a.get("quantization", {}).get("summary"),
        })  # fmt: skip
    rows += [{"model": name, "calibration": calibration, "artifact": f["name"], "failed": f["error"]}
             for f in manifest["failed_artifacts"]]  # fmt: skip
    return rows


def _markdown(rows: list[dict[str, Any]], n: int) -> str:
    lines = [
        f"### Full int8 vs int8-float-rnn (TFLite fused), {n} held-out texts",
        "",
        "| model | calibration texts | artifact | size | × fp32 | recurrent bytes | agreement | accuracy Δ (points) | "
        "max abs diff | within target |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        if "failed" in r:
            lines.append(f"| {r['model']} | {r['calibration']} | {r['artifact']} | not written | | | | | | "
                         f"{r['failed'][:160]} |")  # fmt: skip
            continue
        delta = "–" if r["accuracy_delta"] is None else f"{100 * r['accuracy_delta']:+.1f}"
        lines.append(
            f"| {r['model']} | {r['calibration']:,} | {r['artifact']} | {r['size']:,} | {r['size_ratio']:.2f} | "
            f"{r['weight_bytes'].get('recurrent', 0):,} | {r['agreement']:.4f} | {delta} | {r['max_abs_diff']:.1e} | "
            f"{'yes' if r['ok'] else '**NO**'} |"
        )
    diagnosed = [r for r in rows if r.get("diagnosis")]
    if diagnosed:
        lines += ["", "Range diagnosis of the artifacts outside the target:", ""]
        lines += [f"- {r['model']}, {r['calibration']:,} calibration texts, {r['artifact']}: {r['diagnosis']}"
                  for r in diagnosed]  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="*", default=["imdb_bilstm:200", "imdb_bilstm:1000", "imdb_stacked_bilstm:200"])
    parser.add_argument("--eval", type=int, default=1000, help="held-out texts to evaluate on (default 1000)")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for run in args.runs:
            name, calibration = run.split(":")
            rows += _measure(name, int(calibration), args.eval, Path(tmp))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "int8-float-rnn.json").write_text(json.dumps({"eval": args.eval, "rows": rows}, indent=1) + "\n")
    text = _markdown(rows, args.eval)
    (RESULTS / "int8-float-rnn.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()

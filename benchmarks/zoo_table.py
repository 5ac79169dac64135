"""Every zoo model × format × recurrent form in float32: op census, size and parity with Keras.

    python benchmarks/zoo_table.py [--texts 300] [--models imdb_gru,toxic]

The same conversions ``tests/convert/test_zoo.py`` checks, written out for people: benchmarks/results/zoo.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
# the ops that tell the forms apart; the rest of the census is in the JSON
SHOWN_OPS = ("WHILE", "UNIDIRECTIONAL_SEQUENCE_LSTM", "FULLY_CONNECTED", "CONV_2D", "LSTM", "GRU", "RNN", "MatMul",
             "Conv", "Loop", "lstm", "gru", "simple_rnn", "bidirectional", "conv1d")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=300, help="held-out texts per model (default 300)")
    parser.add_argument("--models", help="comma-separated zoo names (default: all)")
    args = parser.parse_args()

    from edgeclf.convert.examples.zoo import catalog
    from edgeclf.convert.pipeline import convert

    zoo = catalog()
    names = args.models.split(",") if args.models else list(zoo)
    records = []
    for name in names:
        model = zoo[name]
        forms = ["loop", "fused", "unrolled"] if model.fixed_length else ["loop", "fused"]
        with tempfile.TemporaryDirectory() as tmp:
            manifest = convert(
                model.model(Path(tmp)), Path(tmp) / "bundle", labels=model.labels,
                parity_texts=model.eval_texts(args.texts), parity_source=f"{args.texts} held-out texts",
                formats=["tflite", "onnx", "numpy"], rnn_forms=forms, precisions=["fp32"], **model.convert_options,
            )  # fmt: skip
        for a in manifest["artifacts"]:
            records.append({"model": name, "summary": model.summary, "artifact": a["name"], "size": a["size"],
                            "ops": a["ops"], "max_abs_diff": a["parity"]["max_abs_diff"],
                            "agreement": a["parity"]["label_agreement"], "texts": a["parity"]["texts"],
                            "feed": "fixed_length" if a["input_shape"][1] > 0 else "true_length"})  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "zoo.json").write_text(json.dumps(records, indent=1) + "\n")
    lines = [
        f"Float32 artifacts of every zoo model against Keras on {args.texts} held-out texts each (tolerance 1e-5).",
        "",
        "| model | artifact | fed | size (bytes) | key ops | max abs diff | agreement |",
        "|---|---|---|---:|---|---:|---:|",
    ]
    for r in records:
        ops = ", ".join(f"{op} {n}" for op, n in r["ops"].items() if op in SHOWN_OPS) or "–"
        lines.append(
            f"| {r['model']} | {r['artifact']} | {r['feed'].replace('_', ' ')} | {r['size']:,} | {ops} | "
            f"{r['max_abs_diff']:.1e} | {r['agreement']:.4f} |"
        )
    (RESULTS / "zoo.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""Compare ``edgeclf predict --format jsonl`` outputs (arm64/armhf under emulation vs x86), print a Markdown table.

    python compare.py REFERENCE.jsonl RUN.jsonl [RUN.jsonl ...] [--quantized] [--json OUT.json]

For each run: texts, max |Δ| of the scores, label agreement with the reference. A run file that is
missing or empty is reported as failed. Exit status 1 when any run differs beyond 1e-5 or failed; with
``--quantized`` (a dynamic-range artifact against x86's run of the same artifact: the kernels quantize
activations differently) when labels agree on fewer than 98 % of the texts (the converter's bound).
OUT.json is updated, not replaced: several comparisons of one check share it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

TOLERANCE = 1e-5
QUANTIZED_MIN_AGREEMENT = 0.98  # as convert/parity.py accepts quantized artifacts


def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


def compare(reference: list[dict[str, Any]], run: list[dict[str, Any]], quantized: bool = False) -> dict[str, Any]:
    if len(run) != len(reference):
        return {"ok": False, "texts": len(run), "error": f"{len(run)} predictions, expected {len(reference)}"}
    diff, agree = 0.0, 0
    for ref, got in zip(reference, run, strict=True):
        if ref["text"] != got["text"]:
            return {"ok": False, "texts": len(run), "error": "texts differ (order or encoding)"}
        diff = max(diff, *(abs(ref["scores"][k] - got["scores"][k]) for k in ref["scores"]))
        agree += ref["labels"] == got["labels"]
    agreement = agree / len(run)
    ok = agreement >= QUANTIZED_MIN_AGREEMENT if quantized else diff <= TOLERANCE
    return {"ok": ok, "texts": len(run), "max_abs_diff": diff, "label_agreement": agreement, "quantized": quantized}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("reference", type=Path)
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--quantized", action="store_true", help="hold labels (≥ 98 %%), not scores, to a bound")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    reference = load(args.reference)
    results = {}
    print(f"| run (vs {args.reference.name}) | texts | max abs diff of scores | label agreement | ok |")
    print("|---|---|---|---|---|")
    for path in args.runs:
        if not path.is_file() or path.stat().st_size == 0:
            results[path.name] = {"ok": False, "error": "no output"}
        else:
            results[path.name] = compare(reference, load(path), args.quantized)
        r = results[path.name]
        if "max_abs_diff" in r:
            print(f"| {path.name} | {r['texts']} | {r['max_abs_diff']:.2e} | {r['label_agreement']:.4f} | {r['ok']} |")
        else:
            print(f"| {path.name} | - | - | - | FAILED: {r['error']} |")
    if args.json:
        before = json.loads(args.json.read_text(encoding="utf-8")) if args.json.is_file() else {}
        args.json.write_text(json.dumps({**before, **results}, indent=2) + "\n", encoding="utf-8")
    return 0 if all(r["ok"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())

"""Compare ``edgeclf predict --format jsonl`` outputs (arm64 under emulation vs x86) and print a Markdown table.

    python compare.py REFERENCE.jsonl RUN.jsonl [RUN.jsonl ...] [--json OUT.json]

For each run: texts, max |Δ| of the scores, label agreement with the reference. A run file that is
missing or empty is reported as failed. Exit status 1 when any run differs beyond 1e-5 or failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

TOLERANCE = 1e-5


def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


def compare(reference: list[dict[str, Any]], run: list[dict[str, Any]]) -> dict[str, Any]:
    if len(run) != len(reference):
        return {"ok": False, "texts": len(run), "error": f"{len(run)} predictions, expected {len(reference)}"}
    diff, agree = 0.0, 0
    for ref, got in zip(reference, run, strict=True):
        if ref["text"] != got["text"]:
            return {"ok": False, "texts": len(run), "error": "texts differ (order or encoding)"}
        diff = max(diff, *(abs(ref["scores"][k] - got["scores"][k]) for k in ref["scores"]))
        agree += ref["labels"] == got["labels"]
    return {"ok": diff <= TOLERANCE, "texts": len(run), "max_abs_diff": diff, "label_agreement": agree / len(run)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("reference", type=Path)
    parser.add_argument("runs", type=Path, nargs="+")
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
            results[path.name] = compare(reference, load(path))
        r = results[path.name]
        if "max_abs_diff" in r:
            print(f"| {path.name} | {r['texts']} | {r['max_abs_diff']:.2e} | {r['label_agreement']:.4f} | {r['ok']} |")
        else:
            print(f"| {path.name} | - | - | - | FAILED: {r['error']} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0 if all(r["ok"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())

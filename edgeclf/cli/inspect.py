"""``edgeclf inspect``: what a bundle holds, and whether every file matches its sha256."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from edgeclf.errors import EdgeclfError


def _inspect(args: argparse.Namespace) -> int:
    from edgeclf.describe import describe, render

    info = describe(args.bundle)
    if args.json:
        print(json.dumps(info, ensure_ascii=False, indent=2))
    else:
        print("\n".join(render(info)))
    if not info["intact"]:  # shown in full above; the status tells scripts the bundle must not be trusted
        bad = ", ".join(f"{name} {f['status']}" for name, f in info["files"].items() if f["status"] != "ok")
        raise EdgeclfError(f"{args.bundle}: {bad} (does not match the manifest)")
    return 0


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``edgeclf inspect`` on the CLI's subparsers."""
    i = subparsers.add_parser(
        "inspect",
        help="show what a bundle holds",
        description="Show a bundle's (or single-file .tflite's or .onnx's) task, labels, tokenizer, artifacts with "
        "sizes, op census, parity and accuracy figures, runtimes, and whether every file matches its sha256.",
    )
    i.add_argument("bundle", type=Path, help="bundle folder, single-file .tflite or edgeclf .onnx")
    i.add_argument("--json", action="store_true", help="print the same as one JSON object (the manifest included)")
    i.set_defaults(run=_inspect)
    return i

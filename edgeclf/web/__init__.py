"""``edgeclf web BUNDLE -o site/``: a static page that classifies text in the browser (onnxruntime-web).

Never imports TensorFlow; the page's runtime files come from ``npm ci --prefix edgeclf/web`` (see docs/web.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from edgeclf.errors import EdgeclfError


def _run(args: argparse.Namespace) -> int:
    from edgeclf.web.site import build_site

    try:
        built = build_site(args.bundle, args.output, args.artifact, args.runtime_dir, args.force)
    except OSError as e:  # a folder that cannot be written, a full disk: one line, no traceback
        raise EdgeclfError(f"cannot write {args.output}: {e.strerror or e}") from e
    files, config = built["files"], built["config"]
    runtime = sum(size for name, size in files.items() if name.startswith("ort/"))
    print(
        f"{args.output}: {len(files)} files, {sum(files.values()):,} bytes (model {files['model.onnx']:,}, "
        f"{config['runtime']['name']} {config['runtime']['version']} {runtime:,}); artifact {config['artifact']}"
    )
    print(f"serve it with any static file server, e.g. python3 -m http.server -d {args.output} 8000")
    return 0


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``edgeclf web`` on the CLI's subparsers."""
    w = subparsers.add_parser(
        "web",
        help="write a static web page that classifies text in the browser (onnxruntime-web)",
        description="Write a static folder (index.html, a small JavaScript module, the bundle's ONNX artifact, "
        "vocabulary, labels and onnxruntime-web's WASM files) that classifies text as it is typed, in the "
        "browser, from any static file server. The runtime files come from `npm ci --prefix edgeclf/web`.",
    )
    w.add_argument("bundle", type=Path, help="bundle folder (edgeclf convert output with an ONNX artifact)")
    w.add_argument("-o", "--output", type=Path, required=True, help="site folder to write")
    w.add_argument("--artifact", help="ONNX artifact name (default: the float32 ONNX artifact)")
    w.add_argument(
        "--runtime-dir",
        type=Path,
        metavar="DIR",
        help="onnxruntime-web's dist folder (or a node_modules holding it); default: edgeclf/web/node_modules",
    )
    w.add_argument("--force", action="store_true", help="replace an existing site folder")
    w.set_defaults(run=_run)
    return w

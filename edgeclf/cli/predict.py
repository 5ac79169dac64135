"""``edgeclf predict``: texts in (arguments, a file or stdin), labels and scores out."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from edgeclf.errors import EdgeclfError

PROGRESS_MIN_TEXTS = 200  # fewer texts finish before a bar would be worth drawing
CHUNK = 64  # texts per Classifier.predict call: output streams out and the bar moves


def positive_int(value: str) -> int:
    """An argparse type for counts such as --threads: a whole number of at least 1."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def _input_texts(args: argparse.Namespace) -> list[str]:
    """TEXT arguments, else ``--input FILE`` (txt/jsonl/csv), else stdin lines; invalid UTF-8 becomes U+FFFD."""
    from edgeclf import textio

    if args.texts and args.input:
        raise EdgeclfError("give TEXT arguments or --input FILE, not both")
    if args.texts:
        return [textio.clean_argument(t) for t in args.texts]
    if args.input:
        return textio.read_input(args.input, args.input_format, args.text_column)
    if sys.stdin.isatty():  # otherwise a bare `edgeclf predict B` looks hung
        print("edgeclf: reading texts from stdin, one per line (Ctrl-D to end)", file=sys.stderr)
    return textio.read_input("-", args.input_format or "txt", args.text_column)


def _predict(args: argparse.Namespace) -> int:
    from edgeclf import textio
    from edgeclf.runtime import Classifier

    if args.ray is not None:  # the corpus goes to a Ray cluster (edgeclf[ray]); see docs/ray.md
        from edgeclf.ray import predict_command

        return predict_command(args)

    fmt = "jsonl" if args.json else args.format
    classifier = Classifier.load(args.bundle, artifact=args.artifact, backend=args.backend, num_threads=args.threads)
    texts = _input_texts(args)
    show = args.progress if args.progress is not None else sys.stderr.isatty() and len(texts) >= PROGRESS_MIN_TEXTS
    out, partial = textio.open_output(args.output)
    ok = False
    progress = textio.Progress(len(texts), bool(show))
    try:
        writer = textio.PredictionWriter(out, fmt, classifier.labels)
        for start in range(0, len(texts), CHUNK):
            chunk = texts[start : start + CHUNK]
            for prediction in classifier.predict(chunk):
                writer.write(prediction)
            progress.update(len(chunk))
        ok = True
    finally:
        progress.close()
        textio.finish_output(out, partial, args.output, ok)
    return 0


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``edgeclf predict`` on the CLI's subparsers."""
    p = subparsers.add_parser(
        "predict",
        help="classify texts with a bundle (no TensorFlow needed)",
        description="Classify TEXT arguments, texts from --input FILE, or lines from stdin when neither is given. "
        "Invalid UTF-8 anywhere is replaced by U+FFFD, never fatal.",
    )
    p.add_argument(
        "bundle", type=Path, help="bundle folder, a single-file .tflite (convert --single-file), or an edgeclf .onnx"
    )
    # default=[]: without one argparse calls a '*' positional required, and no TEXT means stdin
    p.add_argument(
        "texts", nargs="*", default=[], metavar="TEXT", help="texts to classify (after `--` when one starts with '-')"
    )
    p.add_argument(
        "-i",
        "--input",
        metavar="FILE",
        help="texts from FILE ('-' = stdin): .txt one per line, .jsonl with a text field, .csv with a header",
    )
    p.add_argument("--input-format", choices=["txt", "jsonl", "csv"], help="format of --input (default: by extension)")
    p.add_argument(
        "--text-column",
        default="text",
        metavar="NAME",
        help="CSV column or JSONL field holding the text (default: text)",
    )
    p.add_argument(
        "-f",
        "--format",
        choices=["text", "jsonl", "csv"],
        default="text",
        help="output: text (for people), jsonl (one JSON object per line) or csv (text, labels, score_LABEL)",
    )
    p.add_argument("--json", action="store_true", help="same as --format jsonl")
    p.add_argument("-o", "--output", metavar="FILE", help="write predictions to FILE (default: stdout)")
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=f"progress bar on stderr (default: when stderr is a terminal and there are ≥{PROGRESS_MIN_TEXTS} texts)",
    )
    p.add_argument("--artifact", help="artifact name from the manifest (default: the bundle's default)")
    p.add_argument("--backend", help="interpreter to run it with (default: the first installed for the artifact)")
    p.add_argument("--threads", type=positive_int, default=1, metavar="N", help="interpreter threads (default: 1)")
    p.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                   help="classify --input on Ray (edgeclf[ray]) into --output .parquet/.csv/.jsonl; ADDRESS: a "
                   "cluster (auto, host:port, ray://host:10001), none: a local Ray")  # fmt: skip
    p.add_argument(
        "--ray-workers", type=positive_int, metavar="N", help="with --ray: actors (default: cluster CPUs / threads)"
    )
    p.set_defaults(run=_predict)

    return p

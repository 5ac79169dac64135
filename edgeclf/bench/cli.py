"""``edgeclf bench``'s arguments; the command registers itself with ``add_parser``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from edgeclf.backends import BACKENDS
from edgeclf.errors import EdgeclfError


def int_list(value: str) -> tuple[int, ...]:
    try:
        numbers = tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError("expected comma-separated integers, e.g. 1,2") from None
    if not numbers or min(numbers) < 1:
        raise argparse.ArgumentTypeError("thread counts must be positive integers")
    return numbers


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def _names(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _run(args: argparse.Namespace) -> int:
    # the engine is imported here: registering the command must cost `edgeclf predict` nothing
    from edgeclf.bench.plots import plot_all
    from edgeclf.bench.report import to_csv, to_json, to_markdown
    from edgeclf.bench.run import BenchOptions, run_bench
    from edgeclf.bench.texts import read_bench_texts
    from edgeclf.bundle import Bundle

    bundle = Bundle.open(args.bundles[0])
    texts = read_bench_texts(args.texts, bundle.labels, args.text_column, None if args.no_labels else args.label_column)
    if args.keras is not None and not Path(args.keras).is_file():
        raise EdgeclfError(f"{args.keras}: no such Keras model file")
    options = BenchOptions(
        artifacts=args.artifacts,
        backends=args.backends,
        threads=args.threads,
        runs=args.runs,
        warmup=args.warmup,
        batch_size=args.batch_size,
        pad_length=args.pad_length,
        keras_model=args.keras,
        litert_benchmark=not args.no_litert_benchmark,
    )
    print(f"texts: {texts.source} ({len(texts.texts)} texts)", file=sys.stderr)
    document = run_bench(args.bundles, texts, options)
    if args.plot:
        for written in plot_all(document, args.plot):
            print(f"plot written to {written}", file=sys.stderr)
    if args.record:
        _record(args.bundles[0], bundle.manifest, document)
    if args.json:
        print(to_json(document))
    elif args.csv:
        print(to_csv(document), end="")
    else:
        print(to_markdown(document), end="")
    return 0


def _record(path: Path, manifest: dict[str, Any], document: dict[str, Any]) -> None:
    """Write the device record: exact artifacts ranked by the end-to-end median measured here, one thread."""
    from edgeclf.selection import is_exact, write_device_record

    exact = {a["name"] for a in manifest["artifacts"] if is_exact(a)}
    measured: dict[str, dict[str, Any]] = {}
    for row in document["configs"]:
        name, p50 = row["artifact"], row["end_to_end"]["p50"]
        if name in exact and row["threads"] == 1 and p50 < measured.get(name, {}).get("p50_us", float("inf")):
            measured[name] = {"backend": row["backend"], "p50_us": round(p50, 1)}
    if not measured:
        raise EdgeclfError("--record: no exact artifact was measured at one thread, nothing to rank")
    written = write_device_record(path, manifest, measured)
    fastest = min(measured, key=lambda n: measured[n]["p50_us"])
    print(f"device record written to {written}: Classifier.load now defaults to {fastest} here", file=sys.stderr)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``edgeclf bench`` on the CLI's subparsers."""
    b = subparsers.add_parser(
        "bench",
        help="measure latency, size, memory and accuracy of a bundle (no TensorFlow needed)",
        description="Benchmark every artifact × backend × thread count of a bundle on real texts: size, load time, "
        "first prediction, warm p50/p90/p99, throughput, peak RSS, accuracy, tokenizer share, raw interpreter "
        "invoke, padded vs true-length inference, FLOPs vs one core; optionally beside Keras.",
    )
    b.add_argument("bundles", type=Path, nargs="+", metavar="BUNDLE", help="bundle folder(s) of one model")
    b.add_argument(
        "--texts",
        type=Path,
        metavar="FILE",
        help="texts: .txt (one per line), .csv or .jsonl (default: 40 held-out IMDB reviews shipped with edgeclf)",
    )
    b.add_argument("--text-column", default="text", help="column/field holding the text (default: text)")
    b.add_argument(
        "--label-column",
        "--labels-column",
        default="label",
        help="column/field with gold labels (index or name); accuracy is reported when every text has one",
    )
    b.add_argument("--no-labels", action="store_true", help="ignore labels even when the file has them")
    b.add_argument("--artifacts", type=_names, help="artifact names to measure (default: all in the manifest)")
    b.add_argument(
        "--backends", type=_names, help=f"backends to use (default: every installed one; known: {', '.join(BACKENDS)})"
    )
    b.add_argument("--threads", type=int_list, default=(1,), help="comma-separated thread counts (default: 1)")
    b.add_argument("--runs", type=_positive, default=200, help="timed batch-1 runs per configuration (default: 200)")
    b.add_argument("--warmup", type=int, default=20, help="warm-up runs per configuration (default: 20)")
    b.add_argument("--batch-size", type=_positive, default=16, help="texts per call for throughput (default: 16)")
    b.add_argument(
        "--pad-length",
        type=_positive,
        help="fixed length for the padded comparison (default: the bundle's, else the longest text)",
    )
    b.add_argument(
        "--keras",
        type=Path,
        metavar="MODEL",
        help="the source .keras model: adds model.predict and tf.function baselines (needs TensorFlow)",
    )
    b.add_argument(
        "--record",
        action="store_true",
        help="rank the exact artifacts by what was measured here and record it beside the bundle: Classifier.load "
        "and edgeclf predict then default to the fastest on this device",
    )
    b.add_argument("--no-litert-benchmark", action="store_true", help="do not run ai-edge-litert's litert-benchmark")
    out = b.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the whole result document as JSON")
    out.add_argument("--csv", action="store_true", help="print one CSV row per configuration")
    out.add_argument("--md", action="store_true", help="print a Markdown table (the default)")
    b.add_argument(
        "--plot",
        type=Path,
        metavar="OUT.png",
        help="write OUT-latency.png, OUT-size-accuracy.png and OUT-length.png",
    )
    b.set_defaults(run=_run)
    return b

"""The reproducible benchmark suite: the tutorial IMDB BiLSTM in every format and precision the converter can
write, on every installed backend, beside Keras; then the real-world models when they are present.

    python benchmarks/run_suite.py            # writes benchmarks/results/ (JSON, Markdown, CSV, PNG)
    python benchmarks/run_suite.py --quick    # a smoke run: few timed runs, results to a temporary folder

Needs the converter (``pip install -e ".[convert,bench]"``). Every measurement is ``edgeclf bench``'s
(``edgeclf.bench.run_bench``): this script only converts the models and writes the files.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from edgeclf import bench
from edgeclf.errors import EdgeclfError

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
ZOO = REPO.parent / "shared" / "realworld-models"
CANDIDATE_PRECISIONS = ("fp32", "dynamic", "float16", "int8", "int16x8")
CANDIDATE_FORMS = ("loop", "fused", "unrolled")  # how a recurrent layer is lowered (WHILE loop, fused op, unrolled)
# Real-world models that take text through a legacy Keras Tokenizer, with the SMS texts they were trained on
REALWORLD = {
    "spam-lstm20-keras3-h5": {"model": "model.h5", "tokenizer": "tokenizer.json", "padding": "post",
                              "truncating": "post", "labels": ["ham", "spam"]},
    "spam-simplernn-relu-keras3-zip": {"model": "spam_model.keras", "tokenizer": "RECONSTRUCTED_tokenizer.json",
                                       "padding": "post", "truncating": "pre", "labels": ["ham", "spam"]},
}  # fmt: skip


os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # read by TensorFlow when the converter imports it


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def supported_plans() -> dict[tuple[str, str], list[str]]:
    """(format, recurrent form) → the precisions the installed converter writes, asked through its planner."""
    from edgeclf.convert.artifacts import FORMATS, plan_artifacts

    found: dict[tuple[str, str], list[str]] = {}
    for artifact_format in FORMATS:
        for form in CANDIDATE_FORMS:
            for precision in CANDIDATE_PRECISIONS:
                try:
                    plan_artifacts([artifact_format], [precision], [form])
                except (EdgeclfError, ImportError):
                    continue
                found.setdefault((artifact_format, form), []).append(precision)
    return found


def convert_all(model: Path, work: Path, texts: Any, source: str, **convert_options: Any) -> tuple[list[Path], list]:
    """One bundle per (format, recurrent form) with every precision it supports; returns bundles and failures."""
    from edgeclf.convert.pipeline import convert

    bundles, failed = [], []
    for (artifact_format, form), precisions in supported_plans().items():
        out = work / f"{model.stem}-{artifact_format}-{form}"
        log(f"converting {model.name} to {artifact_format} ({form}) {','.join(precisions)}")
        try:
            manifest = convert(model, out, formats=[artifact_format], precisions=precisions, rnn_forms=[form],
                               parity_texts=texts, parity_source=source, overwrite=True,
                               progress=lambda message: None, **convert_options)  # fmt: skip
        except (EdgeclfError, ImportError, OSError) as e:
            failed.append({"name": f"{artifact_format}-{form}", "error": str(e).splitlines()[0][:300]})
            continue
        failed += manifest.get("failed_artifacts", [])
        bundles.append(out)
    return bundles, failed


def _backend_table(rows: list[dict[str, Any]], keras: dict[str, Any] | None) -> list[str]:
    lines = [
        "| artifact | e2e p50 µs | raw p50 µs | e2e / raw | roofline µs | raw / roofline | × predict "
        "| × tf.function | accuracy | size KB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in sorted(rows, key=lambda r: r["end_to_end"]["p50"]):
        e2e = r["end_to_end"]["p50"]
        predict = f"{keras['predict']['p50'] / e2e:,.0f}×" if keras else "–"
        function = f"{keras['function']['p50'] / e2e:,.1f}×" if keras else "–"
        roof = r.get("roofline_p50_us")
        roof_cells = f"{roof:,.0f} | {r['raw_over_roofline']:.2f}" if roof else "– | –"
        lines.append(
            f"| `{r['artifact']}` | {e2e:,.0f} | {r['raw_invoke']['p50']:,.0f} | {r['wrapper_overhead_ratio']:.2f} "
            f"| {roof_cells} | {predict} | {function} | {r['accuracy']:.4f} | {r['size_bytes'] / 1024:,.0f} |"
        )
    return lines


def headline(document: dict[str, Any]) -> str:
    """The README tables: one per backend, each artifact at one thread: end to end, raw interpreter, the roofline
    from the bench's own FLOP probes, and Keras's ``model.predict`` / ``tf.function`` on the same texts."""
    rows = [r for r in document["configs"] if r["threads"] == 1]
    keras = document.get("keras") or None
    keras = keras if keras and "error" not in keras else None
    lines = []
    if keras:
        lines.append(
            f"Keras (TF {keras['tensorflow']}) on the same texts: `model.predict` p50 "
            f"{keras['predict']['p50']:,.0f} µs, `tf.function(model)` p50 {keras['function']['p50']:,.0f} µs, "
            f"accuracy {keras['accuracy']:.4f}. Roofline: the text's FLOPs on one core, input projections at the "
            f"bench's matmul rate ({document['compute']['matmul_gflops']:.0f} GFLOP/s), recurrent matvecs at its "
            f"matvec rate ({document['compute']['matvec_gflops']:.0f} GFLOP/s); median over the timed texts.\n"
        )
    fastest = {b: min(r["end_to_end"]["p50"] for r in rows if r["backend"] == b) for b in {r["backend"] for r in rows}}
    for backend in sorted(fastest, key=fastest.get):
        lines += [f"\n**{backend}**\n", *_backend_table([r for r in rows if r["backend"] == backend], keras)]
    return "\n".join(lines) + "\n"


def write_results(document: dict[str, Any], out: Path, stem: str, plots: bool) -> list[Path]:
    written = [out / f"{stem}.json", out / f"{stem}.md", out / f"{stem}.csv"]
    written[0].write_text(bench.to_json(document, indent=None) + "\n", encoding="utf-8")  # compact: per-text samples
    written[1].write_text(bench.to_markdown(document), encoding="utf-8")
    written[2].write_text(bench.to_csv(document), encoding="utf-8")
    if plots:
        written += bench.plot_all(document, out / f"{stem}.png")
    return written


def run_tutorial(args: argparse.Namespace, work: Path, options: bench.BenchOptions) -> dict[str, Any]:
    from edgeclf.bundle import Bundle
    from edgeclf.convert.pipeline import EXAMPLE_DIR, parity_texts_for_example

    model = EXAMPLE_DIR / "model.keras"
    heldout = EXAMPLE_DIR / "heldout.csv"
    bundles, failed = convert_all(model, work, parity_texts_for_example(), "heldout.csv")
    texts = bench.read_bench_texts(heldout, Bundle.open(bundles[0]).labels)
    texts = bench.BenchTexts(texts.texts, texts.labels, "convert/examples/imdb_bilstm/heldout.csv (200 reviews)")
    log(f"benchmarking {len(bundles)} bundle(s) of the tutorial BiLSTM beside Keras")
    options.keras_model = model
    document = bench.run_bench(bundles, texts, options, progress=log)
    document["conversion_failures"] = failed
    document["bundle"] = "the tutorial IMDB BiLSTM (convert/examples/imdb_bilstm/model.keras), one bundle per format"
    return document


def sms_texts(count: int) -> tuple[list[str], list[int]]:
    """Real SMS messages (UCI SMS Spam Collection, shipped beside one of the models); 1 = spam."""
    raw = (ZOO / "spam-simplernn-relu-keras3-zip" / "spam.csv").read_bytes().decode("latin-1")
    rows = list(csv.reader(io.StringIO(raw)))[1:]
    picked = [rows[i] for i in np.random.default_rng(0).permutation(len(rows))[:count]]
    return [r[1] for r in picked], [int(r[0] == "spam") for r in picked]


def run_realworld(args: argparse.Namespace, work: Path, options: bench.BenchOptions) -> list[dict[str, Any]]:
    """The zoo's text-in models, when the folder is present and they convert; anything else is a skip note."""
    if not ZOO.is_dir():
        log(f"real-world models not present at {ZOO}: skipped")
        return []
    documents = []
    texts, labels = sms_texts(300)
    for name, case in REALWORLD.items():
        try:
            from edgeclf.convert.datasets import LabelledTexts
            from edgeclf.convert.pipeline import TokenizerSource

            source = TokenizerSource(
                ZOO / name / case["tokenizer"], padding=case["padding"], truncating=case["truncating"]
            )
            parity = LabelledTexts(texts, np.asarray(labels))
            model = ZOO / name / case["model"]
            bundles, failed = convert_all(
                model, work / name, parity, "SMS Spam Collection", labels=case["labels"], tokenizer_source=source
            )
            if not bundles:
                raise EdgeclfError(f"no artifact converted: {failed}")
            log(f"benchmarking {name}")
            document = bench.run_bench(bundles, bench.BenchTexts(texts, labels, "300 SMS messages"), options, log)
            document["bundle"] = f"{name} ({case['model']}, from ../shared/realworld-models)"
            document["conversion_failures"] = failed
            documents.append(document)
        except Exception as e:  # a zoo model that does not convert yet is reported, not fatal
            log(f"{name}: skipped ({type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''})")
            if args.verbose:
                traceback.print_exc()
            documents.append({"bundle": name, "not_measured": f"{type(e).__name__}: {str(e)[:300]}"})
    return documents


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE / "results", help="results folder (default: %(default)s)")
    parser.add_argument("--runs", type=int, default=200, help="timed batch-1 runs per configuration")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--threads", type=bench.int_list, default=(1, 2))
    parser.add_argument("--quick", action="store_true", help="20 runs, 1 thread, no real-world models, temp folder")
    parser.add_argument("--no-realworld", action="store_true", help="only the tutorial model")
    parser.add_argument("--only-realworld", action="store_true", help="only the real-world models (no summary)")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.warmup, args.threads, args.no_realworld = 20, 3, (1,), True
        args.out = Path(tempfile.mkdtemp(prefix="edgeclf-suite-"))
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    options = bench.BenchOptions(threads=args.threads, runs=args.runs, warmup=args.warmup, batch_size=16)
    command = "python benchmarks/run_suite.py" + (" --quick" if args.quick else "")
    with tempfile.TemporaryDirectory(prefix="edgeclf-suite-") as tmp:
        work = Path(tmp)
        tutorial, written = None, []
        if not args.only_realworld:
            tutorial = run_tutorial(args, work, options)
            written = write_results(tutorial, args.out, "imdb_bilstm", plots=True)
        realworld = [] if args.no_realworld else run_realworld(args, work, bench.BenchOptions(
            threads=(1,), runs=args.runs, warmup=args.warmup, batch_size=16, litert_benchmark=False))  # fmt: skip
        sections = []
        for document in realworld:
            if "not_measured" in document:
                sections.append(f"## {document['bundle']}\n\nNot measured: {document['not_measured']}\n")
            else:
                sections.append(bench.to_markdown(document).replace("# edgeclf bench: ", "## ", 1))
        if realworld:
            (args.out / "realworld.md").write_text(
                "# Real-world models (../shared/realworld-models)\n\n" + "\n".join(sections), encoding="utf-8"
            )
            for document in realworld:  # no plots for these: their per-text samples would only add weight
                for row in document.get("configs", []):
                    row.pop("samples", None)
            (args.out / "realworld.json").write_text(json.dumps(realworld, indent=1) + "\n", encoding="utf-8")
            written += [args.out / "realworld.md", args.out / "realworld.json"]
    if tutorial is None:
        log(f"done in {time.perf_counter() - started:.0f} s; wrote {', '.join(p.name for p in written)}")
        return 0
    summary = args.out / "summary.md"
    m = tutorial["machine"]
    keras = tutorial.get("keras") or {}
    keras_runs = keras["predict"]["n"] if "predict" in keras else 0
    summary.write_text(
        "# Headline: the tutorial IMDB BiLSTM, batch 1, one thread\n\n"
        f"Measured by `{command}` on {m['cpu']} ({m['cpus']} vCPU {m['arch']}, {m['os']}), load average "
        f"{m['load_average_at_start']} at the start (a machine shared with other work: medians and ratios "
        f"measured side by side in one run, not absolute figures). {tutorial['texts']['count']} held-out IMDB "
        f"reviews (tokens p50 {tutorial['texts']['tokens_p50']:.0f}, max {tutorial['texts']['tokens_max']}), "
        f"{tutorial['options']['runs']} timed runs per configuration (Keras: the first "
        f"{keras_runs}).\n\n"
        + headline(tutorial)
        + "\nFull table, notes and plots: imdb_bilstm.md, imdb_bilstm-*.png.\n",
        encoding="utf-8",
    )
    written.append(summary)
    log(f"done in {time.perf_counter() - started:.0f} s; wrote {', '.join(p.name for p in written)} to {args.out}")
    print(summary.read_text(encoding="utf-8"))
    if args.quick:
        shutil.rmtree(args.out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

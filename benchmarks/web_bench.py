"""The web page in headless Chromium beside edgeclf's Python backends: page weight, time to first prediction,
per-text latency (median over 20 held-out IMDB reviews), parity. Writes benchmarks/results/web.md (+ .json) and
benchmarks/results/web-screenshot.png.

    .venv/bin/python benchmarks/web_bench.py [--bundle BUNDLE] [--out benchmarks/results]

Without --bundle it converts the example (needs edgeclf[convert]). Needs chromium, node and
`npm ci --prefix edgeclf/web` (tests/install_test_env.sh). One run on this machine: numbers, not a guarantee.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "web"))
from page_driver import drive, missing_tools, serve  # noqa: E402

HELDOUT = REPO / "convert" / "examples" / "imdb_bilstm" / "heldout.csv"
REVIEWS = 20
REPEATS = 7  # timed runs per review after the typed one; the median of them is the review's latency
LOADS = 3  # fresh browser profiles (cold cache) for time to first prediction


def reviews() -> list[str]:
    with HELDOUT.open(encoding="utf-8", newline="") as f:
        return [row["text"] for row in csv.DictReader(f)][:REVIEWS]


def page_weight(site: Path) -> dict[str, int]:
    def size(pattern: str) -> int:
        return sum(p.stat().st_size for p in site.glob(pattern) if p.is_file())

    weight = {
        "html_css_js": size("*.html") + size("*.css") + size("*.js"),
        "runtime_js": size("ort/*.mjs"),
        "runtime_wasm": size("ort/*.wasm"),
        "model": size("*.onnx"),
        "vocabulary_manifest_config": size("*.json"),
    }
    weight["total"] = sum(weight.values())
    return weight


def python_latency(bundle: Path, artifact: str, texts: list[str]) -> dict[str, float]:
    """Median over texts of each text's median of REPEATS warm ``Classifier.scores([text])`` calls, and a cold
    start: a fresh Python process from spawn to its first prediction (import, load, one text)."""
    from edgeclf import Classifier

    classifier = Classifier.load(bundle, artifact=artifact)
    classifier.scores(texts[:1])
    per_text = []
    for text in texts:
        runs = []
        for _ in range(REPEATS):
            t0 = time.perf_counter()
            classifier.scores([text])
            runs.append((time.perf_counter() - t0) * 1e3)
        per_text.append(statistics.median(runs))
    code = (
        "from edgeclf import Classifier; import sys; "
        "Classifier.load(sys.argv[1], artifact=sys.argv[2]).scores(['A wonderful little film'])"
    )
    cold = []
    for _ in range(LOADS):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code, str(bundle), artifact], check=True, capture_output=True)
        cold.append((time.perf_counter() - t0) * 1e3)
    return {"median_ms": statistics.median(per_text), "first_prediction_ms": statistics.median(cold)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, help="a converted example bundle (default: convert it now)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args(argv)
    missing = missing_tools()
    if missing:
        print(f"web_bench: missing {', '.join(missing)} (bash tests/install_test_env.sh)", file=sys.stderr)
        return 1
    work = Path(tempfile.mkdtemp(prefix="edgeclf-web-bench-"))
    load_before = os.getloadavg()[0]
    try:
        bundle = args.bundle
        if bundle is None:
            bundle = work / "bundle"
            subprocess.run([sys.executable, "-m", "edgeclf.cli", "convert", "example", "-o", str(bundle)], check=True)
        site = work / "site"
        subprocess.run([sys.executable, "-m", "edgeclf.cli", "web", str(bundle), "-o", str(site)], check=True)
        config = json.loads((site / "site.json").read_text(encoding="utf-8"))
        texts = reviews()
        cases = [(f"review-{i}", t, "fill") for i, t in enumerate(texts)]
        loads = []
        with serve(site) as url:
            out = drive(url, cases, work / "browser", screenshot_of="review-0", repeats=REPEATS)
            loads.append(out["timings"])
            for k in range(LOADS - 1):
                loads.append(drive(url, [], work / f"browser-{k}")["timings"])
        args.out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(work / "browser" / "web-screenshot.png", args.out / "web-screenshot.png")
        browser = {
            "typed_median_ms": statistics.median(c["last"]["ms"] for c in out["cases"]),
            "median_ms": statistics.median(statistics.median(c["repeat_ms"]) for c in out["cases"]),
            "first_prediction_ms": statistics.median(t["first_prediction_ms"] for t in loads),
            "model_loaded_ms": statistics.median(t["model_loaded_ms"] for t in loads),
        }
        from edgeclf import Classifier

        reference = Classifier.load(bundle, artifact=config["artifact"]).scores(texts)
        shown = [[float(s) for _, s in c["dom"]] for c in out["cases"]]
        pairs = [(a, b) for row, ref in zip(shown, reference, strict=True) for a, b in zip(row, ref, strict=True)]
        parity = max(abs(a - b) for a, b in pairs)
        manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
        tflite = next(a["name"] for a in manifest["artifacts"] if a["format"] == "tflite" and a["precision"] == "fp32")
        python = {
            f"onnxruntime ({config['artifact']})": python_latency(bundle, config["artifact"], texts),
            f"ai-edge-litert ({tflite})": python_latency(bundle, tflite, texts),
        }
        result = {"weight": page_weight(site), "browser": browser, "python": python, "parity_max_abs": parity,
                  "runtime": config["runtime"], "artifact": config["artifact"], "reviews": len(texts),
                  "chromium": subprocess.run(["/usr/bin/chromium", "--version"], capture_output=True,
                                             text=True).stdout.strip(),
                  "machine": f"{platform.machine()}, {platform.python_version()}",
                  "load_average_1min": [round(load_before, 1), round(os.getloadavg()[0], 1)]}  # fmt: skip
        (args.out / "web.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
        (args.out / "web.md").write_text(render(result), encoding="utf-8")
        print(render(result))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def render(r: dict) -> str:
    w, b = r["weight"], r["browser"]
    mb = 1e6
    lines = [
        "# The edgeclf web page in headless Chromium",
        "",
        f"`benchmarks/web_bench.py`: the example IMDB BiLSTM bundle, artifact `{r['artifact']}`, "
        f"{r['runtime']['name']} {r['runtime']['version']} (WASM, 1 thread) in {r['chromium']} (headless), "
        f"{r['reviews']} held-out reviews; Python {r['machine']}. Medians; one run on a shared 2-core VM "
        f"(1-minute load average {r['load_average_1min'][0]} before, {r['load_average_1min'][1]} after: other jobs "
        "ran at the same time, so read ratios, not absolute times).",
        "",
        "## Page weight",
        "",
        "| part | bytes |",
        "|---|---:|",
        f"| HTML + CSS + JS (page, tokenizer, UI) | {w['html_css_js']:,} |",
        f"| onnxruntime-web JS | {w['runtime_js']:,} |",
        f"| onnxruntime-web WASM | {w['runtime_wasm']:,} |",
        f"| model (ONNX) | {w['model']:,} |",
        f"| vocabulary + manifest + site config | {w['vocabulary_manifest_config']:,} |",
        f"| **total** | **{w['total']:,}** ({w['total'] / mb:.1f} MB) |",
        "",
        "## Latency",
        "",
        "| where | first prediction (ms) | per text, median (ms) |",
        "|---|---:|---:|",
        f"| headless Chromium, page (navigation → first result; model loaded at {b['model_loaded_ms']:.0f} ms) | "
        f"{b['first_prediction_ms']:.0f} | {b['median_ms']:.2f} (typed once: {b['typed_median_ms']:.2f}) |",
    ]
    for name, p in r["python"].items():
        lines.append(f"| Python, {name} (process start → first result) | {p['first_prediction_ms']:.0f} | "
                     f"{p['median_ms']:.2f} |")  # fmt: skip
    lines += [
        "",
        f"Parity: the scores the page shows vs `Classifier.scores` on the same ONNX artifact: max |Δ| "
        f"{r['parity_max_abs']:.2e} over the {r['reviews']} reviews.",
        "",
        "Per text = tokenize + model + scores (the page's `classify()`, `performance.now()`; Python "
        "`Classifier.scores([text])`), the median over the reviews of each review's median of "
        f"{REPEATS} runs. The first-prediction figures include starting the runtime: a fresh browser profile "
        f"(nothing cached; medians of {LOADS} loads from 127.0.0.1) or a fresh Python process.",
        "",
        "![the page](web-screenshot.png)",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

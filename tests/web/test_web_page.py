"""`edgeclf web` end to end: the page built from the real example bundle, served on 127.0.0.1, driven in headless
Chromium (Debian's chromium through playwright-core), classifies real IMDB reviews as they are typed or pasted, and
the scores it shows equal edgeclf's Python runtime on the same ONNX float32 artifact (onnxruntime) within 1e-5.

Needs chromium, node and `npm ci --prefix edgeclf/web` (tests/install_test_env.sh installs all three). Without
them the test skips and says why, except under CI=true, where a missing browser is a failure.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from page_driver import INSTALL, REPO, drive, missing_tools, serve

TOLERANCE = 1e-5  # float32 artifacts: the browser's onnxruntime-web vs Python's onnxruntime
HELDOUT = REPO / "convert" / "examples" / "imdb_bilstm" / "heldout.csv"
NON_ASCII = "CAFÉ Café naïve — «great» film 😀👍🏽 中文 很好看的电影 Σίσυφος ΟΔΟΣ İSTANBUL\u00a0non\u2009breaking"


def require_browser() -> None:
    missing = missing_tools()
    if not missing:
        return
    message = f"the browser test needs {', '.join(missing)}; install with {INSTALL}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)  # CI installs them: a missing one must not pass as a skip
    pytest.skip(message)


def edgeclf(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgeclf.cli", *args], capture_output=True, text=True, timeout=300)


def reviews(count: int = 20) -> list[str]:
    with HELDOUT.open(encoding="utf-8", newline="") as f:
        return [row["text"] for row in csv.DictReader(f)][:count]


def megabyte_text() -> str:
    """A 1 MB text made of real reviews (1,000,000 characters, ASCII)."""
    text = " ".join(reviews(200))
    return (text * (1_000_000 // len(text) + 1))[:1_000_000]


@pytest.fixture(scope="module")
def onnx_fp32(example_bundle) -> str:
    manifest = json.loads((example_bundle / "manifest.json").read_text(encoding="utf-8"))
    return next(a["name"] for a in manifest["artifacts"] if a["format"] == "onnx" and a["precision"] == "fp32")


@pytest.fixture(scope="module")
def site(example_bundle, tmp_path_factory) -> Path:
    require_browser()
    out = tmp_path_factory.mktemp("web") / "site"
    done = edgeclf("web", str(example_bundle), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "onnxruntime-web" in done.stdout and done.stderr == ""
    return out


def test_page_classifies_like_python(site, example_bundle, onnx_fp32, tmp_path):
    from edgeclf import Classifier

    texts = [(f"review-{i}", t, "fill") for i, t in enumerate(reviews())]
    shortest = min(range(len(texts)), key=lambda i: len(texts[i][1]))
    texts.append(("typed-review", texts[shortest][1], "type"))  # key by key: classified while it is typed
    texts += [("empty", "", "fill"), ("non-ascii", NON_ASCII, "fill"), ("one-megabyte", megabyte_text(), "fill")]
    with serve(site) as url:
        out = drive(url, texts, tmp_path / "browser", screenshot_of="review-0")
    errors = [line for line in out["console"] if line.startswith(("error", "pageerror"))]
    assert out["load_error"] is None and not errors, (out["load_error"], errors)
    assert out["timings"]["first_prediction_ms"] > 0 and "onnxruntime-web" in out["runtime"]
    classifier = Classifier.load(example_bundle, artifact=onnx_fp32)
    # one text at a time: in a batch the reviews would be padded to the 1 MB text's 175k tokens (gigabytes)
    predictions = classifier.predict([text for _, text, _ in texts], batch_size=1)
    expected = [[p.scores[label] for label in classifier.labels] for p in predictions]
    assert [c["id"] for c in out["cases"]] == [case_id for case_id, _, _ in texts]
    worst = 0.0
    for case, row, prediction in zip(out["cases"], expected, predictions, strict=True):
        labels = [label for label, _ in case["dom"]]
        assert labels == classifier.labels, case["id"]
        shown = np.array([float(score) for _, score in case["dom"]])
        assert list(shown) == [case["last"]["scores"][label] for label in labels]  # the bars show the result
        diff = float(np.max(np.abs(shown - row)))
        worst = max(worst, diff)
        assert diff <= TOLERANCE, f"{case['id']}: page {shown} vs Python {row} (|Δ| {diff:.2e})"
        assert case["last"]["chosen"] == prediction.labels, case["id"]
        assert case["status"].startswith(", ".join(prediction.labels)), case["status"]
    by_id = {c["id"]: c for c in out["cases"]}
    assert by_id["empty"]["last"]["tokens"] == 0 and by_id["empty"]["last"]["input_length"] == 1
    assert by_id["one-megabyte"]["last"]["tokens"] == len(classifier.tokenizer.token_ids(texts[-1][1]))
    screenshot = tmp_path / "browser" / "web-screenshot.png"
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size > 5_000
    kept = Path(os.environ.get("EDGECLF_TEST_ARTIFACTS", tmp_path)) / "web-screenshot.png"
    if kept != screenshot:
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(screenshot, kept)
    print(f"\npage vs Python onnxruntime on {len(texts)} texts: max |Δ| {worst:.2e}; screenshot {kept}")
    print(f"first prediction {out['timings']['first_prediction_ms']:.0f} ms after navigation start")


def test_site_files_and_atomic_replace(site, example_bundle, tmp_path):
    names = {str(p.relative_to(site)) for p in site.rglob("*") if p.is_file()}
    assert {"index.html", "edgeclf-app.js", "edgeclf-core.js", "model.onnx", "vocab.json", "manifest.json",
            "site.json", "ort/ort.wasm.min.mjs", "ort/ort-wasm-simd-threaded.wasm"} <= names  # fmt: skip
    config = json.loads((site / "site.json").read_text(encoding="utf-8"))
    assert config["python_lower"] is None  # a TextVectorization bundle lowercases ASCII only
    assert (site / "model.onnx").read_bytes() == (example_bundle / "model.onnx").read_bytes()
    target = tmp_path / "site"
    shutil.copytree(site, target)
    # an existing folder is kept unless --force
    done = edgeclf("web", str(example_bundle), "-o", str(target))
    assert done.returncode == 1 and done.stderr.startswith("edgeclf: error:") and "--force" in done.stderr
    # a failure half-way (tampered vocabulary) leaves the old site as it was and no partial folder behind
    broken = tmp_path / "broken-bundle"
    shutil.copytree(example_bundle, broken)
    (broken / "vocab.json").write_text('["", "[UNK]", "tampered"]', encoding="utf-8")
    done = edgeclf("web", str(broken), "-o", str(target), "--force")
    assert done.returncode == 1 and "sha256" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert (target / "vocab.json").read_bytes() == (site / "vocab.json").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken-bundle", "site"]
    done = edgeclf("web", str(example_bundle), "-o", str(target), "--force")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken-bundle", "site"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["web", "{tmp}/nope", "-o", "{tmp}/s"], "not a bundle folder"),
        (["web", "{bundle}", "-o", "{tmp}/s", "--artifact", "tflite-fp32"], "runs ONNX artifacts"),
        (["web", "{bundle}", "-o", "{tmp}/s", "--artifact", "nope"], "no artifact 'nope'"),
        (["web", "{bundle}", "-o", "{tmp}/s", "--runtime-dir", "{tmp}"], "npm ci --omit=dev --prefix"),
    ],
    ids=["no-bundle", "tflite-artifact", "unknown-artifact", "no-runtime"],
)
def test_web_errors_are_one_line(example_bundle, tmp_path, args, message):
    done = edgeclf(*[a.format(tmp=tmp_path, bundle=example_bundle) for a in args])
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("edgeclf: error:") and message in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert not (tmp_path / "s").exists()

"""``edgeclf bench`` measures what it says: every field present, numbers positive and finite, accuracy equal
to the converter's parity figures on the same texts, outputs that parse, plots that are PNGs.
No timing assertions: this machine is shared and timings are noise here."""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from edgeclf import bench
from edgeclf.bundle import Bundle
from edgeclf.cli import main

HELDOUT = Path(__file__).resolve().parents[2] / "convert" / "examples" / "imdb_bilstm" / "heldout.csv"
RUNS = 6  # correctness, not timing: as few runs as still exercise chunks, warm-up and batches


@pytest.fixture(scope="session")
def document(example_bundle, example_model_path) -> dict:
    """One bench run over the example bundle on the converter's own parity texts, with the Keras baseline."""
    texts = bench.read_bench_texts(HELDOUT, Bundle.open(example_bundle).labels)
    options = bench.BenchOptions(runs=RUNS, warmup=2, batch_size=4, keras_model=example_model_path)
    return bench.run_bench(example_bundle, texts, options)


def finite_positive(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def test_every_configuration_is_measured(document, example_bundle):
    manifest = Bundle.open(example_bundle).manifest
    measured = {(r["artifact"], r["backend"]) for r in document["configs"]}
    skipped = {(s["artifact"], s["backend"]) for s in document["skipped"]}
    from edgeclf.backends import backends_for, installed_backends

    # without --backends: every installed backend for each artifact (one not installed is left out, not "skipped")
    installed = installed_backends()
    expected = {(a["name"], b) for a in manifest["artifacts"] for b in backends_for(a["format"]) if b in installed}
    assert measured | skipped == expected
    assert ("tflite-fp32", "litert") in measured


def test_fields_are_present_positive_and_finite(document):
    assert document["schema"] == bench.SCHEMA
    assert document["texts"]["count"] == 200 and document["texts"]["labelled"]
    for key in ("matmul_gflops", "matvec_gflops"):
        assert finite_positive(document["compute"][key])
    for row in document["configs"]:
        for key in ("size_bytes", "load_ms", "first_prediction_ms", "peak_rss_mb", "rss_before_load_mb",
                    "throughput_texts_per_s", "wrapper_overhead_ratio", "tokenizer_share", "flops_per_text_mean",
                    "gflops_raw", "gflops_end_to_end", "share_of_core_matmul"):  # fmt: skip
            assert finite_positive(row[key]), (row["artifact"], row["backend"], key, row[key])
        for phase in ("end_to_end", "raw_invoke", "tokenizer", "one_token_invoke", "batch"):
            stats = row[phase]
            assert all(finite_positive(stats[k]) for k in ("p50", "p90", "p99", "mean", "min", "max"))
            assert stats["min"] <= stats["p50"] <= stats["p90"] <= stats["p99"] <= stats["max"]
            assert math.isfinite(stats["std"]) and stats["std"] >= 0
        assert row["end_to_end"]["n"] == row["raw_invoke"]["n"] == row["tokenizer"]["n"] == RUNS
        assert 0 < row["tokenizer_share"] < 1
        assert len(row["samples"]["tokens"]) == len(row["samples"]["end_to_end_us"]) == RUNS
        assert "outputs" not in row  # raw outputs are reduced to accuracy and agreement, not stored
        if row["format"] == "tflite" and row["backend"] == "litert":  # ai-edge-litert's tool, same file, same run
            assert row["litert_benchmark"] is not None, "litert-benchmark (installed with ai-edge-litert) not found"
            assert finite_positive(row["litert_benchmark"].get("median_us")), row["litert_benchmark"]


def test_masked_model_gets_the_padded_comparison(document):
    assert document["options"]["masked"]
    assert document["options"]["pad_length"] == document["texts"]["tokens_max"]
    for row in document["configs"]:
        if row["dynamic_length"] and row["artifact"].startswith("tflite-scan"):  # no mask: fed true lengths only
            assert row["padded"] is None and row["padded_max_abs_diff"] is None
        elif row["dynamic_length"]:
            assert finite_positive(row["padded"]["p50"]) and finite_positive(row["padded_over_true_ratio"])
            print(
                f"\n{row['artifact']}/{row['backend']}: padded vs true length max |Δ| {row['padded_max_abs_diff']:.3g}"
            )
            if row["precision"] == "fp32":  # the mask makes padding a no-op (dynamic quantization scales differ)
                assert row["padded_max_abs_diff"] <= 1e-5, row  # the project's float32 tolerance


def test_flops_come_from_the_network_description(example_bundle):
    flops = bench.network_flops(example_bundle)
    lstm = 64 * 256 + 64 * 256  # kernel (64 in → 4 gates × 64) + recurrent kernel, multiply-adds per step
    assert flops["per_token"] == 2 * (2 * lstm)  # two directions
    assert flops["per_text"] == 2 * (128 * 64 + 64 * 1)  # Dense(64) on the concatenated states, then Dense(1)
    assert flops["not_counted"] == []


def test_accuracy_equals_the_converters_parity_figures(document, example_bundle):
    manifest = Bundle.open(example_bundle).manifest
    parity = {a["name"]: a["parity"] for a in manifest["artifacts"]}
    for row in document["configs"]:
        assert row["accuracy"] == pytest.approx(parity[row["artifact"]]["artifact_accuracy"], abs=1e-12)
    keras = document["keras"]
    assert "error" not in keras, keras
    assert keras["accuracy"] == pytest.approx(manifest["parity"]["keras_accuracy"], abs=1e-12)
    for row in document["configs"]:
        assert row["agreement_with"] == "keras"
        if row["precision"] == "fp32":
            assert row["agreement"] == 1.0


def test_rss_is_each_measuring_process_own(document):
    """Each configuration runs in its own process: its peak RSS is its own, not the TensorFlow-laden parent's
    (getrusage's ru_maxrss survives execve; /proc's VmHWM does not)."""
    for row in document["configs"]:
        assert row["rss_before_load_mb"] <= row["peak_rss_mb"] < document["keras"]["rss_before_load_mb"]


def test_keras_baseline_fields(document):
    keras = document["keras"]
    for key in ("load_ms", "first_prediction_ms", "first_function_call_ms", "peak_rss_mb", "size_bytes"):
        assert finite_positive(keras[key]), key
    for call in ("predict", "function"):
        assert keras[call]["n"] == RUNS and finite_positive(keras[call]["p50"])
    best = keras["speedup_vs_best"]
    configs = {f"{r['artifact']}/{r['backend']}/{r['threads']}t" for r in document["configs"]}
    assert best["over"] in configs, best  # the configuration the speed-up is measured against
    for ratios in (best, keras["speedup_same_texts"]):
        for call in ("predict", "function"):
            assert finite_positive(ratios[call]), (call, ratios)


def test_json_csv_and_markdown_parse(document):
    def no_constants(name):
        raise AssertionError(f"{name} is not JSON")

    assert json.loads(bench.to_json(document), parse_constant=no_constants) == json.loads(json.dumps(document))
    rows = list(csv.DictReader(io.StringIO(bench.to_csv(document))))
    assert len(rows) == len(document["configs"]) + 2  # + Keras model.predict and tf.function
    assert rows[0]["artifact"] == document["configs"][0]["artifact"]
    for row in rows:
        assert float(row["p50"]) > 0 and float(row["accuracy"]) > 0.5
    markdown = bench.to_markdown(document)
    table = [line for line in markdown.splitlines() if line.startswith("|")]
    assert len(table) == 2 + len(rows)
    assert all(line.count("|") == len(bench.TABLE_COLUMNS) + 1 for line in table)
    assert "keras (model.keras) | model.predict" in markdown


def test_plots_are_png_files(document, tmp_path):
    import matplotlib.image

    written = bench.plot_all(document, tmp_path / "bench.png")
    assert [p.name for p in written] == ["bench-latency.png", "bench-size-accuracy.png", "bench-length.png"]
    for path in written:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        height, width, _ = matplotlib.image.imread(path).shape
        assert height > 200 and width > 200


def test_read_bench_texts_formats(tmp_path):
    labels = ["negative", "positive"]
    (tmp_path / "t.txt").write_text("a fine film\n\nawful\n", encoding="utf-8")
    (tmp_path / "t.jsonl").write_text('{"text": "a fine film", "label": "positive"}\n{"text": "awful", "label": 0}\n')
    (tmp_path / "t.csv").write_text('review,y\n"a fine, fine film",1\nawful,\n', encoding="utf-8")
    txt = bench.read_bench_texts(tmp_path / "t.txt", labels)
    assert txt.texts == ["a fine film", "awful"] and txt.labels is None
    assert bench.read_bench_texts(tmp_path / "t.jsonl", labels).labels == [1, 0]
    partial = bench.read_bench_texts(tmp_path / "t.csv", labels, text_column="review", label_column="y")
    assert partial.texts == ["a fine, fine film", "awful"] and partial.labels is None  # one label missing
    builtin = bench.read_bench_texts(None, labels)
    assert len(builtin.texts) == 40 and builtin.labels is not None and "built-in" in builtin.source


def test_cli_bench_json_with_builtin_texts(example_bundle, capsys):
    args = ["bench", str(example_bundle), "--runs", "3", "--warmup", "1", "--backends", "litert", "--json"]
    assert main([*args, "--no-litert-benchmark"]) == 0
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert "built-in" in document["texts"]["source"] and "built-in" in captured.err
    assert {r["backend"] for r in document["configs"]} == {"litert"}
    assert document["keras"] is None


def test_cli_bench_refuses_unknown_backend(example_bundle, capsys):
    assert main(["bench", str(example_bundle), "--backends", "nope", "--runs", "1"]) == 1
    assert "unknown backend 'nope'" in capsys.readouterr().err


def test_bench_module_imports_without_tensorflow():
    block = "import sys\nfor m in ('tensorflow', 'keras', 'tf_keras', 'tf2onnx'):\n    sys.modules[m] = None\n"
    code = block + "import edgeclf.bench, edgeclf.cli\nedgeclf.cli.build_parser().parse_args(['bench', 'b'])\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_cli_registers_bench_without_loading_its_engine():
    """`edgeclf predict` builds the whole parser: the bench command's arguments, never its engine or plots."""
    code = (
        "import sys, edgeclf.cli\nedgeclf.cli.build_parser()\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('edgeclf.bench'))\n"
        "assert loaded == ['edgeclf.bench', 'edgeclf.bench.cli'], loaded\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr

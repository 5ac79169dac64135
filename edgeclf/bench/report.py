"""The bench's result document for people and tools: a Markdown table with notes, CSV rows, JSON."""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

# Every flat field once: (key, Markdown column header or None, in the CSV), in the order both show them.
FIELDS: list[tuple[str, str | None, bool]] = [
    ("artifact", "artifact", True),
    ("backend", "backend", True),
    ("threads", "thr", True),
    ("size_kb", "size KB", True),
    ("load_ms", "load ms", True),
    ("first_prediction_ms", "first ms", True),
    ("p50", "p50 µs", True),
    ("p90", "p90 µs", True),
    ("p99", "p99 µs", True),
    ("mean", None, True),
    ("std", None, True),
    ("mean_std", "mean±std µs", False),
    ("throughput_texts_per_s", "texts/s", True),
    ("raw_p50", "raw p50 µs", True),
    ("wrapper_overhead_ratio", "e2e/raw", True),
    ("tokenizer_share", "tokenizer", True),
    ("padded_p50", None, True),
    ("padded_over_true_ratio", "padded/true", True),
    ("peak_rss_mb", "RSS MB", True),
    ("rss_delta_mb", None, True),
    ("accuracy", "accuracy", True),
    ("agreement", "agreement", True),
    ("gflops_raw", "GFLOP/s", True),
]
TABLE_COLUMNS = [(header, key) for key, header, _ in FIELDS if header is not None]
CSV_FIELDS = [key for key, _, in_csv in FIELDS if in_csv]


def _fmt(value: Any, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _row(
    artifact: str, backend: str, threads: Any, measured: dict[str, Any], stats: dict[str, float], first_ms: float
) -> dict[str, Any]:
    """The fields a configuration and a Keras call share; the others stay None unless the caller sets them."""
    row: dict[str, Any] = dict.fromkeys(key for key, _, _ in FIELDS)
    row.update(
        artifact=artifact,
        backend=backend,
        threads=threads,
        size_kb=measured["size_bytes"] / 1024,
        load_ms=measured["load_ms"],
        first_prediction_ms=first_ms,
        **{k: stats[k] for k in ("p50", "p90", "p99", "mean", "std")},
        mean_std=f"{stats['mean']:,.0f}±{stats['std']:,.0f}",
        peak_rss_mb=measured["peak_rss_mb"],
        rss_delta_mb=measured["peak_rss_mb"] - measured["rss_before_load_mb"],
        accuracy=measured["accuracy"],
    )
    return row


def table_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    """One flat row per configuration (and per Keras call), the fields the table and the CSV show."""
    rows = []
    for r in document["configs"]:
        row = _row(r["artifact"], r["backend"], r["threads"], r, r["end_to_end"], r["first_prediction_ms"])
        row.update(
            throughput_texts_per_s=r["throughput_texts_per_s"],
            raw_p50=r["raw_invoke"]["p50"],
            wrapper_overhead_ratio=r["wrapper_overhead_ratio"],
            tokenizer_share=r["tokenizer_share"],
            padded_p50=r["padded"]["p50"] if r["padded"] else None,
            padded_over_true_ratio=r["padded_over_true_ratio"],
            agreement=r["agreement"],
            gflops_raw=r.get("gflops_raw"),
        )
        rows.append(row)
    keras = document.get("keras")
    if keras and "error" not in keras:
        for call, key in (("model.predict", "predict"), ("tf.function", "function")):
            first = keras["first_prediction_ms"] if key == "predict" else keras["first_function_call_ms"]
            row = _row(f"keras ({keras['file']})", call, "tf", keras, keras[key], first)
            row.update(throughput_texts_per_s=1e6 / keras[key]["p50"], agreement=1.0)
            rows.append(row)
    return rows


def _cell(key: str, value: Any) -> str:
    if key in ("wrapper_overhead_ratio", "padded_over_true_ratio"):
        return "–" if value is None else f"{value:.2f}×"
    if key == "tokenizer_share":
        return "–" if value is None else f"{100 * value:.1f}%"
    if key in ("accuracy", "agreement"):
        return _fmt(value, 4)
    if key in ("load_ms", "first_prediction_ms", "gflops_raw"):
        return _fmt(value, 2)
    if key in ("size_kb", "peak_rss_mb", "throughput_texts_per_s"):
        return _fmt(value, 0 if key != "peak_rss_mb" else 1)
    return _fmt(value)


def to_markdown(document: dict[str, Any]) -> str:
    rows = table_rows(document)
    m, t, o = document["machine"], document["texts"], document["options"]
    lines = [
        f"# edgeclf bench: {document['bundle']}",
        "",
        f"Machine: {m['cpu']}, {m['cpus']} CPUs, {m['arch']}, {m['os']}, Python {m['python']}; "
        + ", ".join(f"{k} {v}" for k, v in m["versions"].items())
        + f". Load average at start {m['load_average_at_start']} (a shared machine: read medians and ratios).",
        "",
        f"Texts: {t['count']} from {t['source']}; tokens p50 {t['tokens_p50']:.0f}, p90 {t['tokens_p90']:.0f}, "
        f"max {t['tokens_max']}. Batch 1, {o['runs']} timed runs after {o['warmup']} warm-up runs per configuration, "
        f"each configuration in a fresh process; throughput at batch {o['batch_size']}.",
        "",
        "| " + " | ".join(h for h, _ in TABLE_COLUMNS) + " |",
        "|" + "|".join("---" if k in ("artifact", "backend") else "---:" for _, k in TABLE_COLUMNS) + "|",
    ]
    lines += ["| " + " | ".join(_cell(k, r.get(k)) for _, k in TABLE_COLUMNS) + " |" for r in rows]
    lines += ["", *_notes(document)]
    return "\n".join(lines) + "\n"


def _notes(document: dict[str, Any]) -> list[str]:
    notes = [
        "- p50/p90/p99, mean±std: `Classifier.predict(text)` end to end (tokenizer, input rules, interpreter, "
        "probabilities). raw: the backend's interpreter call on pre-tokenized ids; e2e/raw is the wrapper "
        "overhead as a ratio of medians, measured interleaved on the same texts. tokenizer: its median over the "
        "end-to-end median. RSS: peak resident set of the measuring process.",
    ]
    o = document["options"]
    if o["masked"]:
        differs = [
            f"{r['artifact']} on {r['backend']} by up to {r['padded_max_abs_diff']:.2g}"
            for r in document["configs"]
            if (r.get("padded_max_abs_diff") or 0) > 1e-4 and r["threads"] == min(o["threads"])
        ]
        notes.append(
            f"- padded/true: the same interpreter on ids post-padded to {o['pad_length']} tokens, over the true-length "
            "raw call (edgeclf runs the true length). Raw outputs padded vs true length: "
            + (
                f"within 1e-4 except {'; '.join(differs)}: their outputs depend on the padding, "
                "so they are exact only at the true length."
                if differs
                else "within 1e-4 for every artifact (the mask makes padding a no-op)."
            )
        )
    c, f = document["compute"], document["flops"]
    if f and "matmul_gflops" in c:
        notes.append(
            f"- Compute: {f['per_token']:,} FLOPs per token + {f['per_text']:,} per text (network description, "
            f"2 per multiply-add); one core of this machine does {c['matmul_gflops']:.1f} GFLOP/s (best of 15) on a "
            f"{'×'.join(map(str, c['matmul_shape']))} float32 numpy matmul and {c['matvec_gflops']:.1f} GFLOP/s "
            "on a batch-1 matvec (what a recurrent step is). GFLOP/s column: FLOPs of the timed texts / raw time "
            "(int8 kernels of dynamic-range artifacts can exceed the float32 figure)."
        )
    for row in document["configs"]:
        lb = row.get("litert_benchmark")
        if lb and "error" not in lb:
            notes.append(
                f"- litert-benchmark on {row['file']} ({row['threads']} thread(s)), input {lb['input']}: median "
                f"{lb['median_us']:.0f} µs, avg {lb['avg_us']:.0f} µs; edgeclf raw invoke at one token: "
                f"p50 {row['one_token_invoke']['p50']:.0f} µs, mean {row['one_token_invoke']['mean']:.0f} µs."
            )
        elif lb:  # said, not dropped: a missing comparison line would read as "not run"
            notes.append(f"- litert-benchmark on {row['file']} ({row['threads']} thread(s)): no figure, {lb['error']}")
    keras = document.get("keras")
    if keras and "error" not in keras and "speedup_vs_best" in keras:
        s = keras["speedup_same_texts"]
        notes.append(
            f"- Keras {keras['keras']} / TensorFlow {keras['tensorflow']} {_keras_runs(keras, document)} in the same "
            f"order as edgeclf. On those calls, Keras model.predict median / edgeclf "
            f"{keras['speedup_vs_best']['over']} median = {s['predict']:.1f}×, tf.function = {s['function']:.1f}×."
        )
    elif keras and "error" in keras:
        notes.append(f"- Keras baseline skipped: {keras['error']}")
    for failure in document.get("conversion_failures", []):
        notes.append(f"- not converted: {failure.get('name', failure.get('format'))}: {failure['error'][:200]}")
    for s in document["skipped"]:
        notes.append(f"- skipped {s['artifact']} / {s['backend']} / {s['threads']}t: {s['error']}")
    return notes


def _keras_runs(keras: dict[str, Any], document: dict[str, Any]) -> str:
    """How many calls Keras made on how many of the texts: fewer than the texts, or the texts again and again."""
    calls, count = keras["predict"]["n"], document["texts"]["count"]
    if calls <= count:
        return f"ran the first {calls} of the same {count} texts"
    return f"ran {calls} calls cycling through the same {count} texts"


def to_csv(document: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in table_rows(document):  # 4 significant decimals: timings are µs, ratios and accuracies fractions
        writer.writerow({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()})
    return out.getvalue()


def to_json(document: dict[str, Any], indent: int | None = 1) -> str:
    return json.dumps(document, ensure_ascii=False, indent=indent)

"""``edgeclf bench``: latency, size, memory and accuracy of a bundle, per artifact × backend × thread count.

What it reports goes beyond LiteRT's ``benchmark_model`` and ``onnxruntime_perf_test`` (load time, first
inference, warm percentiles, peak memory, file size) by starting from text: the end-to-end call
(``Classifier.predict``), the raw interpreter call on pre-tokenized ids, and the tokenizer, all measured
interleaved on the same real texts, so the wrapper overhead and the tokenizer's share are measured ratios.
A masked model is also run on fixed-length padded ids to show what running each text at its true length
saves. FLOPs per text come from the network description; the one-core numpy matmul rate is the yardstick.

Every configuration runs in its own child process (``sys.executable``), so its peak RSS is its own and one
backend's threads or allocator state never leak into another's figures. Keras baselines (``--keras``) run
in a child too, from ``edgeclf.convert.keras_baseline``; TensorFlow is imported there and nowhere else.

The data path, one module each: ``texts`` (what is measured on) → ``run`` (configurations, one ``measure``
child each, the result document) → ``derive`` (FLOPs, accuracy, agreement, ratios) → ``report`` (Markdown,
CSV, JSON) and ``plots``; ``cli`` holds the command's arguments. The names below are imported on first use,
so the CLI registering the command loads none of the engine.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "BUILTIN_TEXTS": "texts",
    "BenchTexts": "texts",
    "read_bench_texts": "texts",
    "CHUNK": "measure",
    "KERAS_MAX_RUNS": "measure",
    "child_main": "measure",
    "run_child": "measure",
    "summarize": "measure",
    "SCHEMA": "run",
    "BenchOptions": "run",
    "machine": "run",
    "run_bench": "run",
    "network_flops": "derive",
    "CSV_FIELDS": "report",
    "FIELDS": "report",
    "TABLE_COLUMNS": "report",
    "table_rows": "report",
    "to_csv": "report",
    "to_json": "report",
    "to_markdown": "report",
    "plot_all": "plots",
    "plot_latency": "plots",
    "plot_length": "plots",
    "plot_size_accuracy": "plots",
    "add_parser": "cli",
    "int_list": "cli",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'edgeclf.bench' has no attribute {name!r}")
    return getattr(importlib.import_module(f"edgeclf.bench.{_EXPORTS[name]}"), name)

"""The Keras baseline of ``edgeclf bench --keras``: Keras ``model.predict`` and a ``tf.function`` call, batch 1.

It runs as a measurement child of the bench (``python -m edgeclf.convert.keras_baseline``, the protocol of
``edgeclf.bench.measure``): TensorFlow is imported in that process only, never in the device package.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from edgeclf.bench.measure import CHUNK, KERAS_MAX_RUNS, peak_rss_mb, rss_mb, serve, summarize, timed

KERAS_BATCH = 32  # as the converter's parity check


def measure(job: dict[str, Any]) -> dict[str, Any]:
    """The baseline a user would otherwise run: Keras ``model.predict`` and a ``tf.function`` call, batch 1."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from edgeclf._quiet import native_stderr_silenced

    with native_stderr_silenced():
        import_ns, _ = timed(lambda: __import__("tensorflow"))
        import keras
        import tensorflow as tf
    texts: list[str] = job["texts"]
    order = [i for i in job["order"] if job["tokens"][i] > 0]  # Keras cannot run a lone text with no tokens
    rss_before = rss_mb()
    load_ns, model = timed(lambda: keras.saving.load_model(job["model"], compile=False, safe_mode=True))

    def predict(text: str) -> Any:
        return model.predict(np.asarray([text], dtype=object), verbose=0)

    call = tf.function(model)  # eager model(x) costs ~1 s per long text here (stack-probe §7): not a baseline

    def traced(text: str) -> Any:
        return call(tf.constant([text])).numpy()

    first_ns, _ = timed(lambda: predict(texts[order[0]]))
    trace_ns, _ = timed(lambda: traced(texts[order[0]]))
    for k in range(job["warmup"]):
        predict(texts[order[k % len(order)]])
        traced(texts[order[k % len(order)]])
    runs = min(job["runs"], KERAS_MAX_RUNS)
    run_order = [order[k % len(order)] for k in range(runs)]
    predict_ns, function_ns = [], []
    for start in range(0, runs, CHUNK):
        chunk = run_order[start : start + CHUNK]
        predict_ns += [timed(lambda i=i: predict(texts[i]))[0] for i in chunk]
        function_ns += [timed(lambda i=i: traced(texts[i]))[0] for i in chunk]
    outputs = np.asarray(model.predict(np.asarray(texts, dtype=object), batch_size=KERAS_BATCH, verbose=0))
    return {
        "import_ms": import_ns / 1e6,
        "load_ms": load_ns / 1e6,
        "first_prediction_ms": first_ns / 1e6,
        "first_function_call_ms": trace_ns / 1e6,
        "predict": summarize(predict_ns),
        "function": summarize(function_ns),
        "samples": {
            "tokens": [job["tokens"][i] for i in run_order],
            "predict_us": [round(x / 1e3, 1) for x in predict_ns],
            "function_us": [round(x / 1e3, 1) for x in function_ns],
        },
        "outputs": outputs.reshape(len(texts), -1).tolist(),
        "rss_before_load_mb": rss_before,
        "peak_rss_mb": peak_rss_mb(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }


if __name__ == "__main__":
    serve(measure)

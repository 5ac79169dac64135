"""Latency of the numpy backend against LiteRT on the example BiLSTM (the figures in the README's "Backends").

    python benchmarks/backend_latency.py

Converts the example with both artifacts into a temporary folder, then times per text, best of 3:
1,000 IMDB test reviews, their first 100 characters, both interleaved, and the cold start of each backend.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from edgeclf.convert.datasets import imdb_split
from edgeclf.convert.pipeline import EXAMPLE_DIR, convert, parity_texts_for_example
from edgeclf.runtime import Classifier


def best(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="edgeclf-bench-")) / "imdb"
    convert(EXAMPLE_DIR / "model.keras", folder, parity_texts=parity_texts_for_example(), parity_source="heldout.csv",
            formats=["tflite", "numpy"], progress=lambda message: None)  # fmt: skip
    _, test = imdb_split()
    reviews = list(test.texts[1000:2000])
    short = [t[:100] for t in test.texts[2000:3000]]
    mixed = [text for pair in zip(reviews[:500], short[:500], strict=True) for text in pair]
    numpy_clf = Classifier.load(folder, backend="numpy")
    litert_clf = Classifier.load(folder, backend="litert")
    tokens = [np.mean([len(numpy_clf.model_input(t)) for t in texts]) for texts in (reviews, short)]
    print(f"mean tokens: reviews {tokens[0]:.0f}, short texts {tokens[1]:.0f}")
    for name, texts in (("reviews", reviews), ("short texts", short), ("interleaved", mixed)):
        per_text = [
            best(run) / len(texts) * 1e3
            for run in (
                lambda texts=texts: litert_clf.raw_outputs(texts),
                lambda texts=texts: numpy_clf.raw_outputs(texts, batch_size=1),
                lambda texts=texts: numpy_clf.raw_outputs(texts, batch_size=32),
            )
        ]
        print(f"{name}: litert {per_text[0]:.2f} ms/text, numpy one at a time {per_text[1]:.2f}, "
              f"numpy batches of 32 by length {per_text[2]:.2f}")  # fmt: skip

    def in_given_order() -> None:  # batches of 32 as the texts come, each padded to its longest text
        ids = [numpy_clf.model_input(t) for t in mixed]
        for start in range(0, len(ids), 32):
            chunk = ids[start : start + 32]
            matrix = np.zeros((len(chunk), max(map(len, chunk))), np.int32)
            for row, x in enumerate(chunk):
                matrix[row, : len(x)] = x
            numpy_clf.backend.run_batch(matrix)

    print(f"interleaved, numpy batches of 32 in the given order: {best(in_given_order) / len(mixed) * 1e3:.2f} ms/text")
    for backend in ("litert", "numpy"):
        code = (
            "import time; t = time.perf_counter(); from edgeclf.runtime import Classifier; "
            f"Classifier.load({str(folder)!r}, backend={backend!r}).predict('what a wonderful film'); "
            "print(time.perf_counter() - t)"
        )
        runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout)
                for _ in range(3)]  # fmt: skip
        print(f"cold start {backend} (import + load + first prediction): {min(runs):.2f} s")


if __name__ == "__main__":
    main()

"""Run a bundle's .tflite with the bare ``tflite_runtime`` interpreter, for when edgeclf has no such backend.

    python tflite_runtime_probe.py BUNDLE TEXTS.csv OUT.jsonl

Uses edgeclf's tokenizer, input rules and probability code with tflite-runtime 2.14 (numpy<2) in
place of the backend, and writes the same JSONL as ``edgeclf predict --format jsonl``.
"""

from __future__ import annotations

import json
import sys

import numpy as np
from tflite_runtime.interpreter import Interpreter

from edgeclf.bundle import Bundle
from edgeclf.runtime import probabilities
from edgeclf.textio import read_input


def main(bundle_path: str, texts_path: str, out_path: str) -> None:
    bundle = Bundle.open(bundle_path)
    artifact = bundle.artifact()
    tokenizer = bundle.tokenizer()
    interpreter = Interpreter(model_path=str(bundle.verified_path(artifact["file"])))
    interpreter.allocate_tensors()
    (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
    m = bundle.manifest
    rows = []
    texts = read_input(texts_path)
    for text in texts:
        ids = tokenizer.token_ids(text)
        ids = ids if len(ids) else np.array([0], dtype=np.int32)  # the runtime's empty-text rule
        interpreter.resize_tensor_input(inp["index"], [1, len(ids)], strict=True)
        interpreter.allocate_tensors()
        interpreter.set_tensor(inp["index"], ids.reshape(1, -1).astype(np.int32))
        interpreter.invoke()
        rows.append(interpreter.get_tensor(out["index"])[0].copy())
    probs = probabilities(np.asarray(rows, dtype=np.float32), m["task"], m["output"]["logits"])
    labels = bundle.labels
    with open(out_path, "w", encoding="utf-8") as f:
        for text, row in zip(texts, probs, strict=True):
            scores = {label: float(p) for label, p in zip(labels, row, strict=True)}
            f.write(json.dumps({"text": text, "labels": [labels[int(np.argmax(row))]], "scores": scores},
                               ensure_ascii=False) + "\n")  # fmt: skip


if __name__ == "__main__":
    main(*sys.argv[1:4])

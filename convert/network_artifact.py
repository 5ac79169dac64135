"""The ``numpy`` artifact: the network description itself, run by edgeclf's pure-numpy backend.

The pipeline stages ``network.json`` + ``weights.npz`` before any builder runs, so there is nothing
to lower: the builder checks that the numpy evaluator can run every layer and records the artifact,
which is then parity-checked against Keras like every other one. ``extra_files`` names the weights so
``Classifier.load`` verifies their sha256 too, not only that of ``network.json``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from edgeclf.convert.artifacts import ArtifactPlan, ConversionError, builds
from edgeclf.errors import UnsupportedModelError
from edgeclf.network import NETWORK_FILE, RECURRENT_KINDS, WEIGHTS_FILE, Network
from edgeclf.numpy_layers import CompiledNetwork


@builds("numpy", precisions=("fp32",), rnn_forms=("loop",))
def build_network_artifact(plan: ArtifactPlan, network: Network, staging: Path) -> dict[str, Any]:
    if plan.file != NETWORK_FILE or not (staging / NETWORK_FILE).is_file() or not (staging / WEIGHTS_FILE).is_file():
        raise ConversionError(f"the numpy artifact is the staged {NETWORK_FILE} + {WEIGHTS_FILE}, which are missing")
    try:
        CompiledNetwork(Network.load(staging))  # what the backend will load, read back from the staged files
    except UnsupportedModelError as e:
        raise ConversionError(f"numpy artifact: {e}") from e
    ops = Counter(layer.kind for layer in network.layers)
    parts: Counter[str] = Counter()
    for layer in network.layers:
        part = (
            "recurrent"
            if layer.kind in RECURRENT_KINDS
            else layer.kind
            if layer.kind in ("embedding", "dense")
            else "other"
        )
        parts[part] += sum(w.astype("float32").nbytes for w in layer.weights.values())
    return {
        "input_shape": [-1, -1],
        "ops": dict(sorted(ops.items())),
        "extra_files": [WEIGHTS_FILE],
        "weight_bytes": dict(sorted(parts.items())),
        "embedding_dtype": "FLOAT32",
    }

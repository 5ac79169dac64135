"""The pure-numpy backend: runs the bundle's network description (network.json + weights.npz) itself.

For devices where no interpreter wheel exists (armv6/armv7 with a recent Python, anything exotic):
numpy is the only dependency. It takes any length and whole post-padded batches (``run_batch``).

Thread safety: the compiled network holds only read-only float32 weights and every call allocates
its own arrays, so concurrent calls share nothing mutable and need no lock (numpy releases the GIL
in its matrix products, so threads can overlap). ``num_threads`` is accepted for the common backend
signature; numpy's BLAS takes its thread count from the environment (``OPENBLAS_NUM_THREADS``), and
the products here are vector-matrix ones too small for BLAS to split.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgeclf.errors import BundleError, EdgeclfError
from edgeclf.network import NETWORK_FILE, Network
from edgeclf.numpy_layers import CompiledNetwork


class NumpyBackend:
    name = "numpy"
    dynamic_length = True  # the evaluator takes any length, and any batch size
    batches = True
    batch_token_budget = 4096  # each step is a few numpy calls whatever the batch: larger batches amortise them
    batch_invariant = True  # every row is computed on its own

    def __init__(self, model_path: Path, num_threads: int = 1) -> None:
        model_path = Path(model_path)
        if model_path.name != NETWORK_FILE:
            raise BundleError(f"{model_path}: the numpy backend runs a {NETWORK_FILE} network description")
        # weights.npz is read with allow_pickle=False (Network.load); the caller has checked its sha256
        self._network = CompiledNetwork(Network.load(model_path.parent))
        self.num_threads = num_threads

    def run(self, ids: np.ndarray) -> np.ndarray:
        """Raw output row for one text's ids."""
        return self.run_batch(np.asarray(ids).reshape(1, -1))[0]

    def run_batch(self, ids: np.ndarray) -> np.ndarray:
        """Raw output rows for a post-padded ``[batch, length]`` matrix of ids (0 = padding)."""
        try:
            return self._network(np.asarray(ids))
        except ValueError as e:
            raise EdgeclfError(str(e)) from e

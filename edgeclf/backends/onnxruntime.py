"""ONNX Runtime backend for .onnx artifacts (``pip install "edgeclf[onnx]"``). Imports numpy and onnxruntime only."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from edgeclf.bundle.onnx_proto import op_types
from edgeclf.errors import EdgeclfError


class OnnxRuntimeBackend:
    """An ``InferenceSession`` on the CPU, set up for small devices.

    One intra-op thread by default (a second one never helped these small recurrent graphs on 2-core
    machines and made the tail latency worse), one inter-op thread and sequential execution (the graph
    is a chain), full graph optimization (constant folding and node fusions at load time).
    """

    name = "onnxruntime"
    batches = True
    # Per text, ORT's LSTM is fastest at ~1,000 padded tokens a call (example BiLSTM-64, one thread: 4 reviews of
    # ~230 tokens a call 1.43× one at a time, 8 1.31×, 16 1.19×): beyond that the gate buffers
    # (steps × batch × 4·units floats per direction) leave the core's cache. docs/performance.md has the table.
    batch_token_budget = 1024

    def __init__(self, model_path: Path, num_threads: int = 1) -> None:
        import onnxruntime as ort  # ImportError: open_backend tries the next backend

        options = ort.SessionOptions()
        options.intra_op_num_threads = num_threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only: ORT's warnings would land in the CLI's output
        try:
            self._session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        except Exception as e:  # ORT raises its own Fail / InvalidGraph / NoSuchFile classes
            raise EdgeclfError(f"{model_path}: ONNX Runtime cannot load this model: {e}") from e
        (inp,) = self._session.get_inputs()
        (out,) = self._session.get_outputs()
        self._input, self._output = inp.name, out.name
        # a symbolic (str) or missing sequence dimension: any length, fed as is
        self.dynamic_length = not isinstance(inp.shape[1], int)
        # dynamic quantization scales activations by their range over the whole batch (split by thread): a row's
        # result would depend on its batch-mates, so the runtime feeds such graphs one text at a time
        self.batch_invariant = not any(
            op.startswith("DynamicQuantize") for op in op_types(Path(model_path), Path(model_path).read_bytes())
        )
        self._lock = threading.Lock()

    def run(self, ids: np.ndarray) -> np.ndarray:
        """One text's int32 ids → its raw output row."""
        return self.run_batch(np.asarray(ids, dtype=np.int32).reshape(1, -1))[0]

    def run_batch(self, ids_matrix: np.ndarray) -> np.ndarray:
        """Padded ids ``[texts, length]`` (0 = padding) → raw outputs ``[texts, units]``.

        A masked model skips the padding in the graph wherever it sits, so every row gets its own text's
        result; an unmasked model needs rows padded as it was trained (the runtime's ``model_input``).
        """
        feed = {self._input: np.ascontiguousarray(ids_matrix, dtype=np.int32)}
        with self._lock:  # a session may run concurrently, but the lock keeps memory use to one call
            return self._session.run([self._output], feed)[0]

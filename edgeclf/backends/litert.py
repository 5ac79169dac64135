"""TFLite interpreters for .tflite artifacts: LiteRT (ai-edge-litert) and the frozen tflite-runtime 2.14.

tflite-runtime is the last interpreter with armv7 wheels (32-bit Raspberry Pi OS); it needs numpy < 2 and
cannot open TF 2.21 dynamic-range artifacts with per-channel dense weights (FULLY_CONNECTED version 12), the
converter's default; ``edgeclf convert --tflite-runtime-compatible`` avoids them, ``--verify-python`` records which
interpreters opened each artifact.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from edgeclf._quiet import native_stderr_silenced
from edgeclf.errors import EdgeclfError


class LiteRTBackend:
    """ai-edge-litert's interpreter (XNNPACK on, as it ships)."""

    name = "litert"
    batches = False  # the artifacts' static batch of 1: one text per invoke
    batch_token_budget = 0  # no batches
    batch_invariant = True

    @staticmethod
    def interpreter_class() -> type:
        from ai_edge_litert.interpreter import Interpreter  # ImportError: open_backend tries the next backend

        return Interpreter

    def __init__(self, model_path: Path, num_threads: int = 1) -> None:
        interpreter_cls = self.interpreter_class()
        try:
            with native_stderr_silenced():
                self._interpreter = interpreter_cls(model_path=str(model_path), num_threads=num_threads)
                self._interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as e:
            # the interpreters' messages span lines ("...newer model?\nRegistration failed."): users get one
            reason = " ".join(str(e).split())
            if "Didn't find op" in reason and self.name == "tflite-runtime":
                reason += " (convert with --tflite-runtime-compatible for tflite-runtime 2.14)"
            raise EdgeclfError(f"{model_path}: {self.name} cannot load this model: {reason}") from e
        (inp,) = self._interpreter.get_input_details()
        (out,) = self._interpreter.get_output_details()
        self._input, self._output = inp["index"], out["index"]
        self.dynamic_length = int(inp["shape_signature"][1]) == -1
        self._length = int(inp["shape"][1])
        self._lock = threading.Lock()

    def run(self, ids: np.ndarray) -> np.ndarray:
        with self._lock:
            if self.dynamic_length and len(ids) != self._length:
                self._interpreter.resize_tensor_input(self._input, [1, len(ids)], strict=True)
                self._interpreter.allocate_tensors()
                self._length = len(ids)
            self._interpreter.set_tensor(self._input, ids.reshape(1, -1))
            self._interpreter.reset_all_variables()  # fused LSTM ops keep their state between invokes
            self._interpreter.invoke()
            return self._interpreter.get_tensor(self._output)[0].copy()

    def run_batch(self, ids_matrix: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{self.name} runs one text per call (batches is False)")


class TFLiteRuntimeBackend(LiteRTBackend):
    """tflite-runtime 2.14's interpreter: same API, older kernels."""

    name = "tflite-runtime"

    @staticmethod
    def interpreter_class() -> type:
        from tflite_runtime.interpreter import Interpreter

        return Interpreter

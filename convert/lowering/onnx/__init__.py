"""Target ``onnx``: the numeric part emitted as ONNX nodes with ``onnx.helper``, straight from the description.

tf2onnx turns a masked Keras RNN into a slow ``Loop`` (tensorflow-onnx#1871) and Keras's own ONNX export
skips Bidirectional LSTM, so edgeclf writes the graph itself. Inside the graph sequences are kept
time-major (``[time, batch, features]``), the layout the ONNX ``LSTM``/``GRU``/``RNN`` ops take, so no
transpose sits between stacked recurrent layers. A masked model moves each row's tokens to the front and
carries the true length of every row (``sequence_lens``, the count of ids != 0), so the recurrent ops skip
padding wherever it sits (pre, post or inside), as Keras's mask does.

The unrolled form writes each recurrent layer as one block of MatMul/Add/Mul/Sigmoid/Tanh/Where per time
step over a static length, following the Keras cells' own arithmetic; a masked step keeps the previous
state, as Keras does.

Each lowering takes the layer and an ``OnnxTensor`` (the graph being built + the tensor it reads) and
returns the ``OnnxTensor`` it produced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgeclf.registry import import_family_modules

OPSET = 17  # ai.onnx opset: every op used here is stable at 17, which ONNX Runtime ≥ 1.13 runs
# fused: native LSTM / GRU / RNN ops with sequence_lens; unrolled: one block of plain ops per time step
# (static length, masked steps keep the previous state with Where), for runtimes without the RNN ops
RNN_FORMS = ("fused", "unrolled")


@dataclass
class OnnxGraph:
    """Nodes and initializers of the graph under construction, with unique names."""

    rnn_form: str = "fused"
    length: int | None = None  # the static time length (the unrolled form needs one)
    nodes: list[Any] = field(default_factory=list)
    initializers: list[Any] = field(default_factory=list)
    _names: set[str] = field(default_factory=set)

    def fresh(self, hint: str) -> str:
        name, n = hint, 1
        while name in self._names:
            n += 1
            name = f"{hint}_{n}"
        self._names.add(name)
        return name

    def constant(self, hint: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def add(self, op_type: str, inputs: list[str], hint: str, outputs: int = 1, **attributes: Any) -> Any:
        """Append one node; returns its output name (or the list of names when ``outputs`` > 1)."""
        from onnx import helper

        if self.rnn_form == "unrolled":  # thousands of per-step tensors: short names keep the file small
            names = [self.fresh(f"v{len(self._names)}") for _ in range(outputs)]
            node_name = ""  # optional in ONNX
        else:
            names = [self.fresh(f"{hint}_{i}" if outputs > 1 else hint) for i in range(outputs)]
            node_name = self.fresh(f"{hint}/{op_type}")
        self.nodes.append(helper.make_node(op_type, inputs, names, name=node_name, **attributes))
        return names if outputs > 1 else names[0]

    def int64s(self, hint: str, values: list[int]) -> str:
        return self.constant(hint, np.asarray(values, dtype=np.int64))


@dataclass(frozen=True)
class OnnxTensor:
    graph: OnnxGraph
    name: str
    sequence: bool  # True: [time, batch, features] (time-major); False: [batch, features]
    features: int
    lengths: str | None = None  # int32 [batch] true lengths while the padding mask applies (fused form)
    step_mask: str | None = None  # bool [time, batch, 1], True on real tokens, same lifetime (unrolled form)


import_family_modules(__name__, __path__)  # registers every layer family's lowerings (one module each)

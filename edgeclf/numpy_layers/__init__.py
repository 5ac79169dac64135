"""A pure-numpy evaluator of the network description, for devices where no interpreter wheel exists.

One builder per layer kind, registered by kind, one module per layer family (embedding, recurrent,
convolution, pooling, attention, merge, dense; ``activations`` is shared), like the ONNX reference evaluator's
one-op-per-file layout. A builder turns a ``Layer`` into an ``Op``: a function of (values, mask) → (values,
mask), one pair per input for a layer that reads several (the multi-input ops: attention, merges), with its
weights already cast to float32, so a compiled network holds no mutable state and can be called from any
number of threads at once. Layers run in the description's topological order, each reading the outputs its
``inputs`` name.

Inputs are batches of post-padded ids ``[B, T]``; for a masked model the mask is ``ids != 0``
(Keras's ``Embedding(mask_zero=True)``), so padded batches give each text its own result.

Every matrix product is a stack of row-vector products (``x[..., None, :] @ W``, see ``rowwise``):
OpenBLAS rounds a row of a matrix-matrix product differently depending on how many rows it is given,
while a stack of vector-matrix products gives each text the same bits alone or inside a batch of 32,
so batching never changes a result.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from edgeclf.errors import UnsupportedModelError
from edgeclf.network import INPUT, Layer, Network
from edgeclf.registry import Registry, import_family_modules

Mask = np.ndarray | None  # bool [B, T], True where a step is real
# A layer reading one tensor: op(values, mask) → (values, mask). A layer reading several (attention, merges)
# gets one (values, mask) pair per input, in the order of ``Layer.inputs``: op(*pairs) → (values, mask).
Op = Callable[..., tuple[np.ndarray, Mask]]
Builder = Callable[[Layer], Op]
# layer kind → its builder; a lookup imports every family's module first (once: modules are cached)
BUILDERS: Registry[str, Builder] = Registry(
    "layer kind",
    UnsupportedModelError,
    unknown=lambda kind: f"the numpy backend cannot evaluate layer kind {kind!r}",
    load=lambda kind: import_family_modules(__name__, __path__),
)
evaluates = BUILDERS.register  # @evaluates("lstm", "gru"): register the builder of one or more layer kinds


def builder(kind: str) -> Builder:
    return BUILDERS[kind]


def float32(array: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(array, dtype=np.float32)


def rowwise(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``x @ w`` over the last axis, as one vector-matrix product per row (same bits at any batch size)."""
    return np.matmul(x[..., None, :], w)[..., 0, :]


class CompiledNetwork:
    """A ``Network`` ready to run: ``CompiledNetwork(network)(ids)`` → raw outputs ``[B, units]``."""

    def __init__(self, network: Network) -> None:
        self._ops = [(layer.name, layer.inputs, builder(layer.kind)(layer)) for layer in network.layers]
        for name, inputs, _ in self._ops:
            if not inputs:
                raise UnsupportedModelError(f"layer {name!r} reads no input")
        self.output = network.output

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids)
        if ids.ndim != 2 or ids.shape[1] == 0 or not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(f"expected a [batch, length ≥ 1] integer matrix of token ids, got {ids.dtype} {ids.shape}")
        tensors: dict[str, tuple[np.ndarray, Mask]] = {INPUT: (ids, None)}  # the Embedding makes the mask
        for name, sources, op in self._ops:  # topological order: every input is computed before its readers
            tensors[name] = op(*tensors[sources[0]]) if len(sources) == 1 else op(*[tensors[s] for s in sources])
        return tensors[self.output][0]

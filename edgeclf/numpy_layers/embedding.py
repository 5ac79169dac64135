"""Embedding: a row gather; with ``mask_zero`` it also makes the mask (id 0 is padding), as Keras does."""

from __future__ import annotations

import numpy as np

from edgeclf.errors import EdgeclfError
from edgeclf.network import Layer
from edgeclf.numpy_layers import Mask, Op, evaluates, float32


@evaluates("embedding")
def embedding(layer: Layer) -> Op:
    table = float32(layer.weights["embeddings"])
    mask_zero = bool(layer.config.get("mask_zero", False))

    def op(ids: np.ndarray, _: Mask) -> tuple[np.ndarray, Mask]:
        if ids.size and (ids.min() < 0 or ids.max() >= len(table)):
            raise EdgeclfError(f"token id out of range for an embedding of {len(table)} rows")
        return table[ids], (ids != 0) if mask_zero else None

    return op

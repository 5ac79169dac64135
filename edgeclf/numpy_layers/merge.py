"""Concatenate (feature axis), Add, Average and Multiply, with Keras 3's mask rules (``layers.merging``).

Masks: Add / Average / Multiply give the OR of their inputs' masks, or none if any input has none;
Concatenate ORs them with an unmasked input counting as all steps real. Multiply also puts 1 in place
of masked steps before the product and 0 where the merged mask is False.
"""

from __future__ import annotations

import numpy as np

from edgeclf.network import Layer
from edgeclf.numpy_layers import Mask, Op, evaluates

Pair = tuple[np.ndarray, Mask]


def _or(masks: list[Mask]) -> Mask:
    merged = masks[0]
    for m in masks[1:]:
        merged = np.logical_or(merged, m)
    return merged


@evaluates("concatenate")
def concatenate(layer: Layer) -> Op:
    def op(*pairs: Pair) -> Pair:
        values, masks = zip(*pairs, strict=True)
        out = np.concatenate(values, axis=-1)
        if all(m is None for m in masks):
            return out, None
        return out, _or([np.ones(v.shape[:-1], bool) if m is None else m for v, m in pairs])

    return op


@evaluates("add", "average")
def add(layer: Layer) -> Op:
    count = None if layer.kind == "add" else np.float32(len(layer.inputs))

    def op(*pairs: Pair) -> Pair:
        values, masks = zip(*pairs, strict=True)
        out = values[0]
        for v in values[1:]:
            out = out + v
        if count is not None:
            out = out / count
        return out, None if any(m is None for m in masks) else _or(list(masks))

    return op


@evaluates("multiply")
def multiply(layer: Layer) -> Op:
    def op(*pairs: Pair) -> Pair:
        masks = [m for _, m in pairs]
        out = None
        for v, m in pairs:
            if m is not None:
                v = np.where(m[..., None], v, np.float32(1))
            out = v if out is None else out * v
        if any(m is None for m in masks):
            return out, None
        merged = _or(masks)
        return np.where(merged[..., None], out, np.float32(0)), merged

    return op

"""Embedding → ONNX ``Gather``, plus what a masked model needs: true lengths (fused) or a per-step mask (unrolled)."""

from __future__ import annotations

import numpy as np

from edgeclf.network import Layer

from .. import lowers
from . import OnnxGraph, OnnxTensor


@lowers("onnx", "embedding")
def embedding_to_onnx(layer: Layer, x: OnnxTensor) -> OnnxTensor:
    g = x.graph
    table = g.constant(f"{layer.name}/embeddings", layer.weights["embeddings"].astype(np.float32))
    features = int(layer.config["output_dim"])
    if not layer.config["mask_zero"]:
        return OnnxTensor(g, _gather_time_major(g, table, x.name, layer.name), sequence=True, features=features)
    # Keras masks id 0
    is_padding = g.add("Equal", [x.name, g.constant("pad_id", np.array(0, np.int32))], f"{layer.name}/is_padding")
    is_token = g.add("Not", [is_padding], f"{layer.name}/is_token")
    if g.rnn_form == "unrolled":  # a per-step mask: exact wherever the padding sits
        time_major = g.add("Transpose", [is_token], f"{layer.name}/is_token_time_major", perm=[1, 0])
        step_mask = g.add("Unsqueeze", [time_major, g.int64s("axis_2", [2])], f"{layer.name}/step_mask")
        vectors = _gather_time_major(g, table, x.name, layer.name)
        return OnnxTensor(g, vectors, sequence=True, features=features, step_mask=step_mask)
    # fused: sequence_lens counts steps from the start of a row, so the tokens are first moved to the front in
    # their order (a stable partition). Pre-, post- or interior padding then all give Keras's masked result.
    token = g.add("Cast", [is_token], f"{layer.name}/token_01", to=7)  # 7 = INT64
    padding = g.add("Sub", [g.constant("one_i64", np.array(1, np.int64)), token], f"{layer.name}/padding_01")
    axis_time = g.constant("axis_time_scalar", np.array(1, np.int64))
    tokens_before = g.add("Sub", [g.add("CumSum", [token, axis_time], f"{layer.name}/tokens_upto"), token],
                          f"{layer.name}/tokens_before")  # fmt: skip
    padding_before = g.add("Sub", [g.add("CumSum", [padding, axis_time], f"{layer.name}/padding_upto"), padding],
                           f"{layer.name}/padding_before")  # fmt: skip
    counts = g.add("ReduceSum", [token, g.int64s("axis_time", [1])], f"{layer.name}/token_count", keepdims=1)
    after_tokens = g.add("Add", [counts, padding_before], f"{layer.name}/padding_slot")
    slot = g.add("Where", [is_token, tokens_before, after_tokens], f"{layer.name}/slot")
    # slot is a permutation of each row, so scattering the ids over themselves overwrites every position
    packed = g.add("ScatterElements", [x.name, slot, x.name], f"{layer.name}/ids_tokens_first", axis=1)
    lengths = g.add("Cast", [_squeeze_last(g, counts, layer.name)], f"{layer.name}/sequence_lens", to=6)  # INT32
    vectors = _gather_time_major(g, table, packed, layer.name)
    return OnnxTensor(g, vectors, sequence=True, features=features, lengths=lengths)


def _gather_time_major(g: OnnxGraph, table: str, ids: str, hint: str) -> str:
    # gather with time-major ids: the recurrent ops read [time, batch, features] without a float transpose
    ids_time_major = g.add("Transpose", [ids], f"{hint}/ids_time_major", perm=[1, 0])
    return g.add("Gather", [table, ids_time_major], f"{hint}/vectors", axis=0)


def _squeeze_last(g: OnnxGraph, name: str, hint: str) -> str:
    return g.add("Squeeze", [name, g.int64s("axis_1", [1])], f"{hint}/token_count_flat")

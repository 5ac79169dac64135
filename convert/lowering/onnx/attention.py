"""Keras 3 ``Attention`` → MatMul / Softmax / Where on the time-major layout, with Keras's masking.

Scores: ``dot`` is ``MatMul(query, keyᵀ)`` (× ``scale``); ``concat`` is ``concat_score_weight ·
ReduceSum(Tanh(scale · (query + key)))`` over broadcast ``[batch, Tq, Tv, features]``. As in Keras, a hidden
key's score becomes ``score - 1e9`` (``Where``), then ``Softmax`` over the keys, ``MatMul`` with the values,
and zeros at padded queries. Hidden keys are the value's padding: in the fused form the steps at or after
the row's true length (its tokens are packed to the front, ``lengths``), in the unrolled form ``step_mask``.
``use_causal_mask`` also hides keys after the query's step; packing keeps the tokens' order, so a real
query sees the same real keys in both forms. The output keeps the query's mask, as Keras's does.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from edgeclf.errors import UnsupportedModelError
from edgeclf.network import Layer

from .. import lowers
from . import OnnxGraph, OnnxTensor

HIDDEN = 1e9  # Keras's bias for hidden keys (float32 models)


def _positions(g: OnnxGraph, sequence: str, hint: str) -> str:
    """int64 [T]: 0 … T-1 for a time-major tensor's T steps."""
    steps = g.add("Shape", [sequence], f"{hint}/steps", start=0, end=1)
    limit = g.add("Squeeze", [steps, g.int64s("axis_0", [0])], f"{hint}/steps_scalar")
    zero, one = g.constant("zero_i64", np.array(0, np.int64)), g.constant("one_i64", np.array(1, np.int64))
    return g.add("Range", [zero, limit, one], f"{hint}/positions")


def time_mask(x: OnnxTensor, hint: str) -> str | None:
    """bool [T, B, 1], True on real steps, while the padding mask applies to ``x``; None without a mask."""
    if x.step_mask is not None:
        return x.step_mask
    if x.lengths is None:
        return None
    g = x.graph  # fused: each row's tokens sit at its front, so step t is real where t < its length
    steps = g.add("Unsqueeze", [_positions(g, x.name, hint), g.int64s("axes_1_2", [1, 2])], f"{hint}/steps_t11")
    lengths = g.add("Cast", [x.lengths], f"{hint}/lengths_i64", to=7)  # 7 = INT64
    lengths = g.add("Unsqueeze", [lengths, g.int64s("axes_0_2", [0, 2])], f"{hint}/lengths_1b1")
    return g.add("Less", [steps, lengths], f"{hint}/real_steps")


def _batch_major(g: OnnxGraph, x: OnnxTensor, hint: str, perm: tuple[int, ...] = (1, 0, 2)) -> str:
    return g.add("Transpose", [x.name], hint, perm=list(perm))


@lowers("onnx", "attention")
def attention_to_onnx(layer: Layer, query: OnnxTensor, value: OnnxTensor, key: OnnxTensor | None = None) -> OnnxTensor:
    g, c, name = query.graph, layer.config, layer.name
    key = key or value
    if not (query.sequence and value.sequence and key.sequence):
        raise UnsupportedModelError(f"layer {name!r}: Attention needs sequences (return_sequences=True) as inputs")
    if (query.lengths is None and query.step_mask is None) != (value.lengths is None and value.step_mask is None):
        raise UnsupportedModelError(f"layer {name!r}: a masked query with an unmasked value (or the reverse)")
    scale = g.constant(f"{name}/scale", layer.weights["scale"].astype(np.float32)) if "scale" in layer.weights else None
    q = _batch_major(g, query, f"{name}/query_batch_major")  # [B, Tq, F]
    if c["score_mode"] == "dot":
        scores = g.add("MatMul", [q, _batch_major(g, key, f"{name}/key_t", (1, 2, 0))], f"{name}/scores_dot")
        if scale is not None:
            scores = g.add("Mul", [scores, scale], f"{name}/scores_scaled")
    elif c["score_mode"] == "concat":
        q4 = g.add("Unsqueeze", [q, g.int64s("axis_2", [2])], f"{name}/query_b_q_1_f")
        k4 = g.add("Unsqueeze", [_batch_major(g, key, f"{name}/key_batch_major"), g.int64s("axis_1", [1])],
                   f"{name}/key_b_1_v_f")  # fmt: skip
        summed = g.add("Add", [q4, k4], f"{name}/query_plus_key")
        if scale is not None:
            summed = g.add("Mul", [scale, summed], f"{name}/scaled")
        tanh = g.add("Tanh", [summed], f"{name}/tanh")
        scores = g.add("ReduceSum", [tanh, g.int64s("axis_last", [-1])], f"{name}/scores_sum", keepdims=0)
        weight = g.constant(f"{name}/concat_score_weight", layer.weights["concat_score_weight"].astype(np.float32))
        scores = g.add("Mul", [weight, scores], f"{name}/scores_concat")
    else:
        raise UnsupportedModelError(f"layer {name!r}: Attention score_mode {c['score_mode']!r} is not supported")

    visible = None
    value_mask = time_mask(value, f"{name}/value_mask")
    if value_mask is not None:
        visible = g.add("Transpose", [value_mask], f"{name}/visible_keys", perm=[1, 2, 0])  # [B, 1, Tv]
    if c.get("use_causal_mask"):
        rows = g.add("Unsqueeze", [_positions(g, query.name, f"{name}/q"), g.int64s("axis_1", [1])], f"{name}/rows")
        cols = g.add("Unsqueeze", [_positions(g, key.name, f"{name}/k"), g.int64s("axis_0", [0])], f"{name}/cols")
        causal = g.add("GreaterOrEqual", [rows, cols], f"{name}/causal")  # [Tq, Tv]: key j ≤ query i
        visible = causal if visible is None else g.add("And", [visible, causal], f"{name}/visible")
    if visible is not None:  # Keras: where(hidden, scores - 1e9, scores), in float32
        lowered = g.add("Sub", [scores, g.constant("attention_hidden", np.array(HIDDEN, np.float32))],
                        f"{name}/scores_hidden")  # fmt: skip
        scores = g.add("Where", [visible, scores, lowered], f"{name}/scores_masked")
    weights = g.add("Softmax", [scores], f"{name}/weights", axis=-1)
    out = g.add("MatMul", [weights, _batch_major(g, value, f"{name}/value_batch_major")], f"{name}/weighted")
    out = g.add("Transpose", [out], f"{name}/time_major", perm=[1, 0, 2])  # [Tq, B, F]
    query_mask = time_mask(query, f"{name}/query_mask")
    if query_mask is not None:  # Keras zeroes the padded queries' outputs
        out = g.add("Where", [query_mask, out, g.constant("zero_f", np.array(0, np.float32))], f"{name}/out")
    return replace(query, name=out, features=value.features)

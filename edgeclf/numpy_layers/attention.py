"""Keras 3's ``Attention`` (dot and concat scores, ``use_scale``, ``use_causal_mask``) with its masking.

Keras (``keras.src.layers.attention.attention``): scores at hidden keys (the value's padding, and later
steps under the causal mask) become ``score - 1e9`` in float32, then a softmax over the keys, the weighted
sum of the values, and zeros at padded queries; the output's mask is the query's. A hidden key's weight
is then exactly 0, so each text is computed here over its own real keys only, with vector-matrix
products: the same bits alone or in a padded batch. A row whose keys are all hidden (a text with no
tokens) keeps Keras's arithmetic over every step, padding included, since that is what Keras computes.
"""

from __future__ import annotations

import numpy as np

from edgeclf.errors import UnsupportedModelError
from edgeclf.network import Layer
from edgeclf.numpy_layers import Mask, Op, evaluates, float32, rowwise
from edgeclf.numpy_layers.activations import softmax

_HIDDEN = np.float32(1e9)  # Keras's bias for hidden keys in float32 (65504 is its float16 value)


@evaluates("attention")
def attention(layer: Layer) -> Op:
    c = layer.config
    if c["score_mode"] not in ("dot", "concat"):
        raise UnsupportedModelError(f"layer {layer.name!r}: Attention score_mode {c['score_mode']!r} is not supported")
    scale = float32(layer.weights["scale"]) if "scale" in layer.weights else None
    concat_weight = float32(layer.weights.get("concat_score_weight", np.float32(1)))
    causal = bool(c.get("use_causal_mask", False))

    def scores(q: np.ndarray, k: np.ndarray) -> np.ndarray:
        """[Tq, F] × [Tk, F] → [Tq, Tk], as Keras's ``_calculate_scores``."""
        if c["score_mode"] == "dot":
            s = rowwise(q, np.ascontiguousarray(k.T))
            return s * scale if scale is not None else s
        summed = q[:, None, :] + k[None, :, :]
        if scale is not None:
            summed = scale * summed
        return concat_weight * np.tanh(summed).sum(axis=-1)

    def attend(q: np.ndarray, v: np.ndarray, k: np.ndarray, visible: np.ndarray) -> np.ndarray:
        """One text: queries [Tq, F], values/keys [Tk, F], visible [Tq, Tk] or [1, Tk] → [Tq, F]."""
        s = scores(q, k)
        s = np.where(visible, s, s - _HIDDEN)
        return rowwise(softmax(s), v)

    def op(*pairs: tuple[np.ndarray, Mask]) -> tuple[np.ndarray, Mask]:
        (q, q_mask), (v, v_mask) = pairs[:2]
        k = pairs[2][0] if len(pairs) > 2 else v
        batch, steps_q, steps_v = q.shape[0], q.shape[1], v.shape[1]
        out = np.empty((batch, steps_q, v.shape[-1]), np.float32)
        for b in range(batch):
            real = np.ones(steps_v, bool) if v_mask is None else v_mask[b]
            if real.any():  # the text's own keys: hidden ones would get a weight of exactly 0
                kept = np.flatnonzero(real)
                visible = kept[None, :] <= np.arange(steps_q)[:, None] if causal else np.ones((1, len(kept)), bool)
                out[b] = attend(q[b], v[b, kept], k[b, kept], visible)
            else:  # no real key: Keras's own arithmetic over every step
                visible = np.zeros((1, steps_v), bool)
                out[b] = attend(q[b], v[b], k[b], visible)
        if q_mask is not None:
            out = np.where(q_mask[:, :, None], out, np.float32(0))
        return out, q_mask

    return op

"""LSTM / GRU / SimpleRNN and Bidirectional as one ``tf.while_loop`` each, with the input projection hoisted out.

Per layer, before the loop: ``P = X·W + b`` for every step and every direction in one matmul (the directions'
kernels side by side), the reversed directions' rows of ``P`` flipped in time. In the loop body, per step: read
``P[t]``, one matmul of the state with the recurrent kernel (a BATCH_MATMUL over the stacked ``[2, 1, H]`` state
of a Bidirectional's two halves, a FULLY_CONNECTED for one direction), the gate activations, the cell update.

No per-step mask: the scan form is only built for texts fed at their true length, where the mask is all true
except for the empty text (one padding token), whose Keras result (the all-masked layer returns zeros) comes from
multiplying the layer's output by "has a token". Keras 3's cell arithmetic is followed term by term (float32
within 1e-5 is checked by the conversion's parity run); a configuration it cannot follow is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from edgeclf.errors import UnsupportedModelError
from edgeclf.network import Layer

from .. import lowers

_GATES = {"lstm": 4, "gru": 3, "simple_rnn": 1}
# Activations computed by Keras's own function (lowered to builtin ops as in Keras's loop), each checked exact in
# tests/convert/test_scan_form.py; the others are refused rather than left to chance
ACTIVATIONS = frozenset({"tanh", "sigmoid", "relu", "linear", "hard_sigmoid", "softsign", "elu"})
MERGE_MODES = ("concat", "sum", "ave", "mul")


@dataclass(frozen=True)
class Cell:
    """What one loop computes per step; directions with the same Cell share a loop."""

    kind: str
    units: int
    activation: str
    recurrent_activation: str  # "" for SimpleRNN
    reset_after: bool  # GRU only


@dataclass
class Direction:
    """One direction's weights, prepared for the loop (Keras's gate order, biases folded)."""

    reversed_input: bool  # processes the text from its end (go_backwards)
    kernel: np.ndarray  # [D, G]
    recurrent_kernel: np.ndarray  # [H, G]
    input_bias: np.ndarray  # [G]: added to X·W before the loop
    candidate_recurrent_bias: np.ndarray  # [H]: GRU reset_after: the recurrent bias of h, which r multiplies


def _cell(kind: str, config: dict, layer_name: str) -> Cell:
    if kind not in _GATES:
        raise UnsupportedModelError(f"layer {layer_name!r}: the scan form has no lowering for {kind!r}")
    names = [config["activation"]] + ([config["recurrent_activation"]] if kind != "simple_rnn" else [])
    unsupported = [n for n in names if n not in ACTIVATIONS]
    if unsupported:
        raise UnsupportedModelError(
            f"layer {layer_name!r}: activation {unsupported[0]!r} is not supported by the scan form "
            f"(supported: {', '.join(sorted(ACTIVATIONS))}); use --rnn loop"
        )
    return Cell(
        kind,
        int(config["units"]),
        config["activation"],
        config.get("recurrent_activation", ""),
        bool(config.get("reset_after", False)),
    )


def _direction(cell: Cell, config: dict, weights: dict[str, np.ndarray], prefix: str = "") -> Direction:
    h = cell.units
    kernel, recurrent = weights[prefix + "kernel"], weights[prefix + "recurrent_kernel"]
    gates = _GATES[cell.kind] * h
    bias = weights.get(prefix + "bias")
    input_bias = np.zeros(gates, np.float32)  # adding 0.0 changes no float: the same graph with or without bias
    candidate_bias = np.zeros(h, np.float32)
    if cell.kind == "gru" and cell.reset_after and bias is not None:
        # z and r add both biases before the activation: fold the recurrent ones into the projection; h's
        # recurrent bias is multiplied by r, so it stays in the loop
        input_bias = bias[0] + np.r_[bias[1][: 2 * h], np.zeros(h, np.float32)]
        candidate_bias = bias[1][2 * h :]
    elif bias is not None:
        input_bias = bias
    return Direction(
        bool(config["go_backwards"]),
        np.ascontiguousarray(kernel, np.float32),
        np.ascontiguousarray(recurrent, np.float32),
        np.asarray(input_bias, np.float32),
        np.asarray(candidate_bias, np.float32),
    )


def _scan(tf: Any, keras: Any, cell: Cell, directions: list[Direction], x: Any, sequences: bool) -> list[Any]:
    """Run ``directions`` (sharing ``cell``) over ``x`` [T, D] in one loop: per direction, the states [T, H] in
    processing order when ``sequences``, else the last state [1, H]."""
    count, h = len(directions), cell.units
    gates = _GATES[cell.kind] * h
    steps = tf.shape(x)[0]
    kernel = np.concatenate([d.kernel for d in directions], axis=1)
    bias = np.concatenate([d.input_bias for d in directions])
    projected = tf.reshape(tf.matmul(x, tf.constant(kernel)) + tf.constant(bias), [-1, count, 1, gates])
    if any(d.reversed_input for d in directions):
        if all(d.reversed_input for d in directions):
            projected = tf.reverse(projected, [0])
        else:
            halves = tf.unstack(projected, axis=1)
            halves = [tf.reverse(p, [0]) if d.reversed_input else p for p, d in zip(halves, directions, strict=True)]
            projected = tf.stack(halves, axis=1)
    if count == 1:
        projected = tf.reshape(projected, [-1, 1, gates])  # a 2-D state: the recurrent matmul is FULLY_CONNECTED
    state_shape = [1, h] if count == 1 else [count, 1, h]
    recurrent = np.stack([d.recurrent_kernel for d in directions]) if count > 1 else directions[0].recurrent_kernel
    candidate_bias = np.stack([d.candidate_recurrent_bias[None] for d in directions])
    if count == 1:
        candidate_bias = candidate_bias[0]
    activation = keras.activations.get(cell.activation)
    recurrent_activation = keras.activations.get(cell.recurrent_activation or "linear")

    # Every op in the body is one XNNPACK takes (SPLIT into equal parts, never SPLIT_V), so the body after the
    # GATHER of P[t] is a single delegate partition: an LSTM applies each activation to all four gates and keeps
    # the slices it needs, which costs 3H extra activations and saves a partition boundary per step.
    def lstm(x_t: Any, states: tuple) -> tuple:
        h_prev, c_prev = states
        z = x_t + tf.matmul(h_prev, tf.constant(recurrent))
        i, f, _, o = tf.split(recurrent_activation(z), 4, axis=-1)  # Keras's gate order: i, f, c, o
        candidate = tf.split(activation(z), 4, axis=-1)[2]
        c = f * c_prev + i * candidate
        return o * activation(c), c

    def gru(x_t: Any, states: tuple) -> tuple:
        (h_prev,) = states
        x_z, x_r, x_h = tf.split(x_t, 3, axis=-1)
        if cell.reset_after:
            inner_z, inner_r, inner_h = tf.split(tf.matmul(h_prev, tf.constant(recurrent)), 3, axis=-1)
            z, r = recurrent_activation(x_z + inner_z), recurrent_activation(x_r + inner_r)
            candidate = activation(x_h + r * (inner_h + tf.constant(candidate_bias)))
        else:
            inner_z, inner_r = tf.split(tf.matmul(h_prev, tf.constant(recurrent[..., : 2 * h])), 2, axis=-1)
            z, r = recurrent_activation(x_z + inner_z), recurrent_activation(x_r + inner_r)
            candidate = activation(x_h + tf.matmul(r * h_prev, tf.constant(recurrent[..., 2 * h :])))
        return (z * h_prev + (1 - z) * candidate,)

    def simple_rnn(x_t: Any, states: tuple) -> tuple:
        return (activation(x_t + tf.matmul(states[0], tf.constant(recurrent))),)

    step = {"lstm": lstm, "gru": gru, "simple_rnn": simple_rnn}[cell.kind]
    initial = tuple(tf.zeros(state_shape) for _ in range(2 if cell.kind == "lstm" else 1))
    outputs = tf.TensorArray(tf.float32, size=steps, element_shape=state_shape) if sequences else None

    def body(t: Any, states: tuple, written: Any) -> tuple:
        states = step(tf.gather(projected, t), states)
        if sequences:
            written = written.write(t, states[0])
        return t + 1, states, written

    # One step per iteration: two (with a second loop for an odd last step) ran 6-7 % faster in LiteRT but crashed
    # tflite-runtime 2.14 (SIGSEGV after resizing the input between invokes), the armv7 interpreter
    loop_vars = (tf.constant(0), initial, outputs if sequences else tf.zeros([]))
    _, states, written = tf.while_loop(lambda t, *_: t < steps, body, loop_vars)
    if sequences:
        stacked = tf.reshape(written.stack(), [-1, count, h])
        return [stacked[:, d] for d in range(count)]
    last = tf.reshape(states[0], [count, 1, h])
    return [last[d] for d in range(count)]


def _merge(tf: Any, mode: str, forward: Any, backward: Any) -> Any:
    if mode == "concat":
        return tf.concat([forward, backward], axis=-1)
    if mode == "sum":
        return forward + backward
    if mode == "ave":
        return (forward + backward) / 2
    return forward * backward


def _scan_layer_class() -> type:
    import keras

    class ScanRecurrence(keras.layers.Layer):
        """A recurrent (or Bidirectional) layer as one scan per group of directions that share a cell."""

        def __init__(self, groups: list[tuple[Cell, list[Direction]]], sequences: bool, merge_mode: str | None,
                     **kwargs: Any) -> None:  # fmt: skip
            super().__init__(**kwargs)
            self.groups, self.sequences, self.merge_mode = groups, sequences, merge_mode
            self.supports_masking = True

        def call(self, x: Any, mask: Any = None) -> Any:
            import tensorflow as tf

            rows = tf.reshape(x, [-1, x.shape[-1]])  # the batch is 1
            per_direction = [y for cell, directions in self.groups for y in _scan(tf, keras, cell, directions, rows,
                                                                                  self.sequences)]  # fmt: skip
            if self.merge_mode is None:
                (y,) = per_direction
            else:
                forward, backward = per_direction
                if self.sequences:  # Keras's Bidirectional puts the backward half's sequence back in text order
                    backward = tf.reverse(backward, [0])
                y = _merge(tf, self.merge_mode, forward, backward)
            y = tf.expand_dims(y, 0) if self.sequences else y
            if mask is not None:  # the empty text: all masked, Keras returns zeros
                y = y * tf.cast(tf.reduce_any(mask), y.dtype)
            return y

        def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
            return mask if self.sequences else None

    return ScanRecurrence


def _refuse_unsupported(config: dict, layer_name: str) -> None:
    if config.get("stateful") or config.get("return_state"):
        raise UnsupportedModelError(f"layer {layer_name!r}: stateful / return_state layers have no scan form")


@lowers("scan", "lstm", "gru", "simple_rnn")
def recurrent_to_scan(layer: Layer, x: Any) -> Any:
    _refuse_unsupported(layer.config, layer.name)
    cell = _cell(layer.kind, layer.config, layer.name)
    direction = _direction(cell, layer.config, layer.weights)
    return _scan_layer_class()([(cell, [direction])], layer.config["return_sequences"], None, name=layer.name)(x)


@lowers("scan", "bidirectional")
def bidirectional_to_scan(layer: Layer, x: Any) -> Any:
    c = layer.config
    if c["merge_mode"] not in MERGE_MODES:
        raise UnsupportedModelError(
            f"layer {layer.name!r}: Bidirectional merge_mode={c['merge_mode']!r} has no scan form "
            f"(supported: {', '.join(MERGE_MODES)})"
        )
    halves = []
    for half in ("forward", "backward"):
        _refuse_unsupported(c[half]["config"], layer.name)
        cell = _cell(c[half]["kind"], c[half]["config"], layer.name)
        halves.append((cell, _direction(cell, c[half]["config"], layer.weights, f"{half}/")))
    (forward_cell, forward), (backward_cell, backward) = halves
    if forward_cell == backward_cell:  # one loop, stacked state
        groups = [(forward_cell, [forward, backward])]
    else:
        groups = [(forward_cell, [forward]), (backward_cell, [backward])]
    sequences = c["forward"]["config"]["return_sequences"]
    return _scan_layer_class()(groups, sequences, c["merge_mode"], name=layer.name)(x)

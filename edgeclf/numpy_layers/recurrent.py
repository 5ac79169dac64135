"""LSTM, GRU (reset_after True and False), SimpleRNN and Bidirectional, with Keras 3's masking.

Keras 3 (``keras.src.backend.tensorflow.rnn.rnn``) at a masked step keeps the previous state, and
emits the previous step's output, or zeros when ``zero_output_for_mask`` is on; ``Bidirectional`` turns
that on for its halves exactly when they return sequences. Before the first real step the "previous
output" is zeros. ``go_backwards`` reads the sequence from its end, and a lone layer returns its
sequence in that reversed order; ``Bidirectional`` flips its backward half back before merging.

The two halves of a ``Bidirectional`` run in one loop, stacked on a leading "direction" axis (every
array is ``[directions, batch, ...]``): half the numpy calls per step, which is most of the cost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgeclf.errors import UnsupportedModelError
from edgeclf.network import Layer
from edgeclf.numpy_layers import Mask, Op, evaluates, float32, rowwise
from edgeclf.numpy_layers.activations import activation

States = list[np.ndarray]
Step = Callable[[np.ndarray, States], tuple[np.ndarray, States]]
Weights = dict[str, np.ndarray]


@dataclass(frozen=True)
class Cell:
    units: int
    kernels: list[np.ndarray]  # per direction: the input projection of every gate, applied to the whole sequence
    biases: list[np.ndarray | None]  # per direction: the bias added to that projection
    step: Step  # (projected inputs at t [D, B, gates], states [D, B, units]) → (output, new states)
    states: int


def _stacked(arrays: list[np.ndarray]) -> np.ndarray:
    """Per-direction matrices as [D, 1, rows, cols], to multiply [D, B, rows] states row by row."""
    return float32(np.stack(arrays))[:, None]


def _bias(w: Weights) -> np.ndarray | None:
    return float32(w["bias"]) if "bias" in w else None


def _lstm(config: dict[str, Any], weights: list[Weights]) -> Cell:
    units, act = config["units"], activation(config["activation"])
    gate = activation(config.get("recurrent_activation", "sigmoid"))
    recurrent = _stacked([w["recurrent_kernel"] for w in weights])

    def step(x: np.ndarray, states: States) -> tuple[np.ndarray, States]:
        h, c = states
        z = x + rowwise(h, recurrent)  # gates i, f, c, o side by side
        g = gate(z)  # all four at once (one call instead of three); the c slot is not used
        c = g[..., units : 2 * units] * c + g[..., :units] * act(z[..., 2 * units : 3 * units])
        h = g[..., 3 * units :] * act(c)
        return h, [h, c]

    return Cell(units, [float32(w["kernel"]) for w in weights], [_bias(w) for w in weights], step, states=2)


def _gru(config: dict[str, Any], weights: list[Weights]) -> Cell:
    units, act = config["units"], activation(config["activation"])
    gate = activation(config.get("recurrent_activation", "sigmoid"))
    kernels = [float32(w["kernel"]) for w in weights]
    has_bias = "bias" in weights[0]
    if config.get("reset_after", True):
        # Keras keeps two biases, shape (2, 3·units): row 0 for the input side, row 1 for the recurrent side
        recurrent = _stacked([w["recurrent_kernel"] for w in weights])
        recurrent_bias = _stacked([w["bias"].reshape(2, -1)[1] for w in weights]) if has_bias else None

        def step(x: np.ndarray, states: States) -> tuple[np.ndarray, States]:
            (h,) = states
            inner = rowwise(h, recurrent)
            if recurrent_bias is not None:
                inner += recurrent_bias
            zr = gate(x[..., : 2 * units] + inner[..., : 2 * units])
            z, r = zr[..., :units], zr[..., units:]
            candidate = act(x[..., 2 * units :] + r * inner[..., 2 * units :])
            h = z * h + (1 - z) * candidate
            return h, [h]

        biases = [float32(w["bias"].reshape(2, -1)[0]) if has_bias else None for w in weights]
        return Cell(units, kernels, biases, step, states=1)

    update_reset = _stacked([w["recurrent_kernel"][:, : 2 * units] for w in weights])
    candidate_kernel = _stacked([w["recurrent_kernel"][:, 2 * units :] for w in weights])

    def step_before(x: np.ndarray, states: States) -> tuple[np.ndarray, States]:
        (h,) = states
        zr = gate(x[..., : 2 * units] + rowwise(h, update_reset))
        z, r = zr[..., :units], zr[..., units:]
        candidate = act(x[..., 2 * units :] + rowwise(r * h, candidate_kernel))  # reset before the product
        h = z * h + (1 - z) * candidate
        return h, [h]

    return Cell(units, kernels, [_bias(w) for w in weights], step_before, states=1)


def _simple_rnn(config: dict[str, Any], weights: list[Weights]) -> Cell:
    act = activation(config["activation"])
    recurrent = _stacked([w["recurrent_kernel"] for w in weights])

    def step(x: np.ndarray, states: States) -> tuple[np.ndarray, States]:
        h = act(x + rowwise(states[0], recurrent))
        return h, [h]

    return Cell(config["units"], [float32(w["kernel"]) for w in weights], [_bias(w) for w in weights], step, 1)


_CELLS = {"lstm": _lstm, "gru": _gru, "simple_rnn": _simple_rnn}

# runs directions over (x [B, T, E], mask) → per direction: outputs [B, T, U] in the order it read them, or [B, U]
Run = Callable[[np.ndarray, Mask], list[np.ndarray]]


def recurrent_run(kind: str, configs: list[dict[str, Any]], weights: list[Weights], zero_output_for_mask: bool) -> Run:
    """One loop over the sequence for one or more directions of the same kind and configuration."""
    if kind not in _CELLS:
        raise UnsupportedModelError(f"the numpy backend has no recurrent layer {kind!r}")
    cell = _CELLS[kind](configs[0], weights)
    return_sequences = configs[0]["return_sequences"]
    backwards = [c["go_backwards"] for c in configs]

    def run(x: np.ndarray, mask: Mask) -> list[np.ndarray]:
        batch, steps = x.shape[:2]
        projected, masks = [], []
        for kernel, bias, reverse in zip(cell.kernels, cell.biases, backwards, strict=True):
            p = rowwise(x, kernel)
            if bias is not None:
                p += bias
            p = p.transpose(1, 0, 2)  # time-major
            m = None if mask is None else mask.T[:, :, None]
            projected.append(p[::-1] if reverse else p)
            masks.append(None if m is None else m[::-1] if reverse else m)
        projected = np.ascontiguousarray(np.stack(projected, axis=1))  # [T, D, B, gates]
        step_mask = None if mask is None else np.ascontiguousarray(np.stack(masks, axis=1))  # [T, D, B, 1]
        whole = None if step_mask is None else step_mask.all(axis=(1, 2, 3))  # steps real everywhere: no select
        shape = (len(backwards), batch, cell.units)
        states = [np.zeros(shape, np.float32) for _ in range(cell.states)]
        zeros = np.zeros(shape, np.float32)
        output = zeros
        outputs = np.empty((steps, *shape), np.float32) if return_sequences else None
        for t in range(steps):
            new_output, new_states = cell.step(projected[t], states)
            if step_mask is None or whole[t]:
                output, states = new_output, new_states
            else:
                real = step_mask[t]
                states = [np.where(real, new, old) for new, old in zip(new_states, states, strict=True)]
                output = np.where(real, new_output, zeros if zero_output_for_mask else output)
            if outputs is not None:
                outputs[t] = output
        if outputs is None:
            return list(output)
        return list(np.ascontiguousarray(outputs.transpose(1, 2, 0, 3)))  # per direction [B, T, U]

    return run


@evaluates("lstm", "gru", "simple_rnn")
def recurrent(layer: Layer) -> Op:
    # a lone Keras RNN defaults to zero_output_for_mask=False, and the converter records no other value
    zero_output = bool(layer.config.get("zero_output_for_mask", False))
    run = recurrent_run(layer.kind, [layer.config], [layer.weights], zero_output)
    return_sequences = layer.config["return_sequences"]

    def op(x: np.ndarray, mask: Mask) -> tuple[np.ndarray, Mask]:
        (y,) = run(x, mask)
        return y, mask if return_sequences else None  # Keras passes the input mask on unchanged

    return op


_MERGES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "concat": lambda y, y_rev: np.concatenate([y, y_rev], axis=-1),
    "sum": lambda y, y_rev: y + y_rev,
    "mul": lambda y, y_rev: y * y_rev,
    "ave": lambda y, y_rev: (y + y_rev) / np.float32(2),
}


def _same_but_direction(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a["kind"] == b["kind"] and {**a["config"], "go_backwards": None} == {**b["config"], "go_backwards": None}


@evaluates("bidirectional")
def bidirectional(layer: Layer) -> Op:
    merge_mode = layer.config.get("merge_mode")
    if merge_mode not in _MERGES:
        raise UnsupportedModelError(f"layer {layer.name!r}: Bidirectional merge_mode {merge_mode!r} is not supported")
    merge = _MERGES[merge_mode]
    specs = [layer.config[half] for half in ("forward", "backward")]
    weights = [
        {k.split("/", 1)[1]: v for k, v in layer.weights.items() if k.startswith(half + "/")}
        for half in ("forward", "backward")
    ]
    return_sequences = specs[0]["config"]["return_sequences"]
    # Bidirectional forces zero_output_for_mask = return_sequences on both halves
    if _same_but_direction(*specs):  # the usual case: both halves in one loop
        runs = [recurrent_run(specs[0]["kind"], [s["config"] for s in specs], weights, return_sequences)]
    else:
        pairs = zip(specs, weights, strict=True)
        runs = [recurrent_run(s["kind"], [s["config"]], [w], return_sequences) for s, w in pairs]

    def op(x: np.ndarray, mask: Mask) -> tuple[np.ndarray, Mask]:
        y, y_rev = (out for run in runs for out in run(x, mask))
        if return_sequences:
            y_rev = y_rev[:, ::-1]
        return merge(y, y_rev), mask if return_sequences else None

    return op

"""LSTM / GRU / SimpleRNN and Bidirectional → the native ONNX ``LSTM`` / ``GRU`` / ``RNN`` ops.

Weights: ONNX wants ``W = kernelᵀ``, ``R = recurrent_kernelᵀ`` and ``B = [Wb, Rb]`` per direction.
- LSTM: Keras orders the gates i, f, c, o; ONNX i, o, f, c. Keras has one bias (→ Wb, Rb = 0).
- GRU: both order z, r, h. ``reset_after=True`` (Keras 3's default) applies the reset gate after the
  recurrent matmul, which is ONNX ``linear_before_reset=1``, and has two biases (input, recurrent).
- SimpleRNN: ONNX ``RNN``.
Masking: the embedding lowering packs each row's tokens at its start, and ``sequence_lens`` makes ONNX
Runtime stop each row at its true length; the reverse direction then reverses only the first ``len``
steps of a row (tested on mixed-length batches), which is what Keras's masked ``go_backwards`` computes.
A row of length 0 gives zeros, as Keras's all-masked row does. Outputs: ``Y_h`` for the last state, ``Y``
for ``return_sequences``.

The unrolled form (``OnnxGraph.rnn_form == "unrolled"``) repeats the Keras cell's arithmetic once per step
of the static length instead, in Keras's own gate order, and gates each step's new state with the mask.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from edgeclf.errors import UnsupportedModelError
from edgeclf.network import Layer

from .. import lowers
from . import OnnxGraph, OnnxTensor
from .dense import apply_activation

_ONNX_OPS = {"lstm": "LSTM", "gru": "GRU", "simple_rnn": "RNN"}
_GATES = {"lstm": 4, "gru": 3, "simple_rnn": 1}
_LSTM_GATES_TO_ONNX = [0, 3, 1, 2]  # Keras i, f, c, o → ONNX i, o, f, c

# Keras activation → (ONNX RNN activation name, alpha, beta); alpha/beta only for the ones that take them
_RNN_ACTIVATIONS: dict[str, tuple[str, float | None, float | None]] = {
    "sigmoid": ("Sigmoid", None, None),
    "tanh": ("Tanh", None, None),
    "relu": ("Relu", None, None),
    "linear": ("Affine", 1.0, 0.0),
    "hard_sigmoid": ("HardSigmoid", 1 / 6, 0.5),  # Keras 3: relu6(x + 3) / 6
    "softsign": ("Softsign", None, None),
    "softplus": ("Softplus", None, None),
}


def _activation_names(kind: str, config: dict) -> list[str]:
    """The Keras activations in the order ONNX lists them: LSTM (f, g, h), GRU (f, g), RNN (f)."""
    if kind == "lstm":
        return [config["recurrent_activation"], config["activation"], config["activation"]]
    if kind == "gru":
        return [config["recurrent_activation"], config["activation"]]
    return [config["activation"]]


def _activation_attributes(halves: list[tuple[str, dict]], layer_name: str) -> dict:
    """``activations`` (+ alpha/beta) for one op; omitted when they are ONNX's defaults (sigmoid/tanh)."""
    names, alphas, betas = [], [], []
    for kind, config in halves:
        for keras_name in _activation_names(kind, config):
            if keras_name not in _RNN_ACTIVATIONS:
                raise UnsupportedModelError(
                    f"layer {layer_name!r}: recurrent activation {keras_name!r} has no ONNX equivalent "
                    f"(supported: {', '.join(sorted(_RNN_ACTIVATIONS))})"
                )
            onnx_name, alpha, beta = _RNN_ACTIVATIONS[keras_name]
            names.append(onnx_name)
            alphas += [] if alpha is None else [alpha]
            betas += [] if beta is None else [beta]
    kind = halves[0][0]
    defaults = {"lstm": ["Sigmoid", "Tanh", "Tanh"], "gru": ["Sigmoid", "Tanh"], "simple_rnn": ["Tanh"]}[kind]
    if names == defaults * len(halves):
        return {}
    attributes: dict = {"activations": names}
    if alphas:
        attributes["activation_alpha"] = alphas
    if betas:
        attributes["activation_beta"] = betas
    return attributes


def _onnx_weights(kind: str, config: dict, weights: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
    """One direction's (W, R, B) in ONNX layout: W [G·H, F], R [G·H, H], B [2·G·H]."""
    units, gates = config["units"], _GATES[kind]
    kernel, recurrent = weights["kernel"], weights["recurrent_kernel"]
    bias = weights.get("bias")
    if kind == "lstm":
        kernel = kernel.reshape(-1, 4, units)[:, _LSTM_GATES_TO_ONNX].reshape(-1, 4 * units)
        recurrent = recurrent.reshape(-1, 4, units)[:, _LSTM_GATES_TO_ONNX].reshape(-1, 4 * units)
        if bias is not None:
            bias = bias.reshape(4, units)[_LSTM_GATES_TO_ONNX].reshape(-1)
    zeros = np.zeros(gates * units, np.float32)
    if bias is None:
        input_bias, recurrent_bias = zeros, zeros
    elif bias.ndim == 2:  # GRU reset_after: [input bias, recurrent bias]
        input_bias, recurrent_bias = bias[0], bias[1]
    else:
        input_bias, recurrent_bias = bias, zeros
    return kernel.T, recurrent.T, np.concatenate([input_bias, recurrent_bias])


def _check_supported(kind: str, layer_name: str) -> None:
    if kind not in _ONNX_OPS:
        raise UnsupportedModelError(f"layer {layer_name!r}: no ONNX lowering for recurrent kind {kind!r}")


def _emit(
    g: OnnxGraph,
    x: OnnxTensor,
    halves: list[tuple[str, dict, dict[str, np.ndarray]]],
    direction: str,
    hint: str,
) -> tuple[str, str]:
    """One ONNX recurrent op over ``halves`` (one per direction); returns its (Y, Y_h) names."""
    from onnx import helper

    kind, config, _ = halves[0]
    parts = [_onnx_weights(k, c, w) for k, c, w in halves]
    w = g.constant(f"{hint}/W", np.stack([p[0] for p in parts]).astype(np.float32))
    r = g.constant(f"{hint}/R", np.stack([p[1] for p in parts]).astype(np.float32))
    b = g.constant(f"{hint}/B", np.stack([p[2] for p in parts]).astype(np.float32))
    attributes = {"direction": direction, "hidden_size": int(config["units"])}
    attributes |= _activation_attributes([(k, c) for k, c, _ in halves], hint)
    if kind == "gru":
        attributes["linear_before_reset"] = int(config.get("reset_after", True))
    inputs = [x.name, w, r, b, x.lengths or ""]  # "" = no sequence_lens: every step counts (unmasked model)
    # ask for Y only when the sequence is used: ONNX Runtime then skips writing it
    outputs = [g.fresh(f"{hint}/Y") if config["return_sequences"] else "", g.fresh(f"{hint}/Y_h")]
    g.nodes.append(helper.make_node(_ONNX_OPS[kind], inputs, outputs, name=g.fresh(hint), **attributes))
    return outputs[0], outputs[1]


def _squeeze(g: OnnxGraph, name: str, axis: int, hint: str) -> str:
    return g.add("Squeeze", [name, g.int64s(f"axis_{axis}", [axis])], hint)


def _merge_directions(g: OnnxGraph, stacked: str, axis: int, merge_mode: str, hint: str) -> str:
    """Combine the direction axis of Y ([T, 2, B, H], axis 1) or Y_h ([2, B, H], axis 0) as Keras does."""
    if merge_mode == "concat":  # Keras concatenates forward ‖ backward on the feature axis
        if axis == 0:
            moved = g.add("Transpose", [stacked], f"{hint}/batch_first", perm=[1, 0, 2])
            return g.add("Reshape", [moved, g.int64s("shape_keep0_flatten", [0, -1])], f"{hint}/concat")
        moved = g.add("Transpose", [stacked], f"{hint}/directions_last", perm=[0, 2, 1, 3])
        return g.add("Reshape", [moved, g.int64s("shape_keep01_flatten", [0, 0, -1])], f"{hint}/concat")
    if merge_mode in ("sum", "ave"):  # ReduceSum takes axes as an input from opset 13, ReduceMean only from 18
        summed = g.add("ReduceSum", [stacked, g.int64s(f"axis_{axis}", [axis])], f"{hint}/sum", keepdims=0)
        if merge_mode == "sum":
            return summed
        return g.add("Div", [summed, g.constant("two", np.array(2, np.float32))], f"{hint}/ave")  # Keras: (a + b) / 2
    if merge_mode == "mul":  # ReduceProd takes axes as an input only from opset 18
        return g.add("ReduceProd", [stacked], f"{hint}/mul", axes=[axis], keepdims=0)
    raise UnsupportedModelError(f"layer {hint!r}: Bidirectional merge_mode={merge_mode!r} is not supported in ONNX")


def _output(g: OnnxGraph, x: OnnxTensor, y: str, y_h: str, config: dict, units: int, hint: str) -> OnnxTensor:
    if config["return_sequences"]:  # Y: [T, 1, B, H] → [T, B, H], still masked downstream
        return replace(x, name=_squeeze(g, y, 1, f"{hint}/sequence"), features=units)
    return OnnxTensor(g, _squeeze(g, y_h, 0, f"{hint}/last"), False, units)


@lowers("onnx", "lstm", "gru", "simple_rnn")
def recurrent_to_onnx(layer: Layer, x: OnnxTensor) -> OnnxTensor:
    c = layer.config
    _check_supported(layer.kind, layer.name)
    if not x.sequence:
        raise UnsupportedModelError(f"layer {layer.name!r}: a recurrent layer needs a sequence input")
    if c["go_backwards"] and c["return_sequences"]:
        # Keras returns that sequence in reversed padded order with the unreversed mask: no ONNX equivalent
        raise UnsupportedModelError(
            f"layer {layer.name!r}: go_backwards=True with return_sequences=True is not supported in ONNX"
        )
    if x.graph.rnn_form == "unrolled":
        steps = _unrolled_direction(x.graph, x, layer.kind, c, layer.weights, c["go_backwards"], layer.name)
        return _unrolled_output(
            x.graph, x, steps, c["go_backwards"], c["return_sequences"], int(c["units"]), layer.name
        )
    direction = "reverse" if c["go_backwards"] else "forward"
    y, y_h = _emit(x.graph, x, [(layer.kind, c, layer.weights)], direction, layer.name)
    return _output(x.graph, x, y, y_h, c, int(c["units"]), layer.name)


def _half_weights(layer: Layer, half: str) -> dict[str, np.ndarray]:
    prefix = f"{half}/"
    return {k[len(prefix) :]: v for k, v in layer.weights.items() if k.startswith(prefix)}


@lowers("onnx", "bidirectional")
def bidirectional_to_onnx(layer: Layer, x: OnnxTensor) -> OnnxTensor:
    g, c = x.graph, layer.config
    forward, backward = c["forward"], c["backward"]
    for half in (forward, backward):
        _check_supported(half["kind"], layer.name)
    if forward["config"]["go_backwards"] or not backward["config"]["go_backwards"]:
        raise UnsupportedModelError(
            f"layer {layer.name!r}: Bidirectional with a reversed forward half is not supported"
        )
    if not x.sequence:
        raise UnsupportedModelError(f"layer {layer.name!r}: a recurrent layer needs a sequence input")
    halves = [(half["kind"], half["config"], _half_weights(layer, name)) for name, half in
              (("forward", forward), ("backward", backward))]  # fmt: skip
    same_op = (
        forward["kind"] == backward["kind"]
        and forward["config"]["units"] == backward["config"]["units"]
        and forward["config"].get("reset_after") == backward["config"].get("reset_after")
    )
    sequences = bool(forward["config"]["return_sequences"])
    if g.rnn_form == "unrolled":
        results = []
        for (kind, config, weights), reverse in zip(halves, (False, True), strict=True):
            hint = f"{layer.name}/{'backward' if reverse else 'forward'}"
            steps = _unrolled_direction(g, x, kind, config, weights, reverse, hint)
            results.append(_unrolled_output(g, x, steps, reverse, sequences, int(config["units"]), hint))
        return _merge_tensors(g, results, c["merge_mode"], layer.name)
    if same_op:  # one op, direction="bidirectional": Y [T, 2, B, H], Y_h [2, B, H]
        y, y_h = _emit(g, x, halves, "bidirectional", layer.name)
        merged = _merge_directions(g, y if sequences else y_h, 1 if sequences else 0, c["merge_mode"], layer.name)
        units = forward["config"]["units"] * (2 if c["merge_mode"] == "concat" else 1)
        if sequences:
            return replace(x, name=merged, features=units)
        return OnnxTensor(g, merged, False, units)
    # halves that cannot share an op (different kinds or sizes): one op per direction, concatenated
    results = []
    for (kind, config, weights), direction in zip(halves, ("forward", "reverse"), strict=True):
        y, y_h = _emit(g, x, [(kind, config, weights)], direction, f"{layer.name}/{direction}")
        results.append(_output(g, x, y, y_h, config, int(config["units"]), f"{layer.name}/{direction}"))
    return _merge_tensors(g, results, c["merge_mode"], layer.name)


def _merge_tensors(g: OnnxGraph, halves: list[OnnxTensor], merge_mode: str, hint: str) -> OnnxTensor:
    """Forward and backward results computed apart, merged on the feature axis as Keras's Bidirectional does."""
    forward, backward = halves
    if merge_mode == "concat":
        axis = 2 if forward.sequence else 1
        merged = g.add("Concat", [forward.name, backward.name], f"{hint}/concat", axis=axis)
        return replace(forward, name=merged, features=forward.features + backward.features)
    if merge_mode in ("sum", "ave", "mul"):
        merged = g.add("Mul" if merge_mode == "mul" else "Add", [forward.name, backward.name], f"{hint}/{merge_mode}")
        if merge_mode == "ave":
            merged = g.add("Div", [merged, g.constant("two", np.array(2, np.float32))], f"{hint}/ave")
        return replace(forward, name=merged)
    raise UnsupportedModelError(f"layer {hint!r}: Bidirectional merge_mode={merge_mode!r} is not supported in ONNX")


# --- the unrolled form -------------------------------------------------------------------------------------


def _split(g: OnnxGraph, name: str, sizes: list[int], axis: int, hint: str) -> list[str]:
    parts = g.add("Split", [name, g.int64s(f"split_{'_'.join(map(str, sizes))}", sizes)], hint, outputs=len(sizes),
                  axis=axis)  # fmt: skip
    return parts if len(sizes) > 1 else [parts]


def _zero_state(g: OnnxGraph, x: OnnxTensor, units: int, hint: str) -> str:
    """Zeros [1, batch, units]: Keras's initial state, sized from the input's batch."""
    from onnx import TensorProto, helper

    batch = g.add("Shape", [x.name], f"{hint}/batch", start=1, end=2)
    shape = g.add("Concat", [g.int64s("one", [1]), batch, g.int64s(f"units_{units}", [units])], f"{hint}/shape", axis=0)
    zero = helper.make_tensor("zero", TensorProto.FLOAT, [1], [0.0])
    return g.add("ConstantOfShape", [shape], f"{hint}/zeros", value=zero)


def _unrolled_direction(
    g: OnnxGraph, x: OnnxTensor, kind: str, config: dict, weights: dict[str, np.ndarray], reverse: bool, hint: str
) -> list[str]:
    """Every step's state [1, batch, units] in time order, with the Keras cells' arithmetic (LSTMCell, GRUCell, ...)."""
    if g.length is None:
        raise UnsupportedModelError(
            "the unrolled form needs a fixed input length (TextVectorization output_sequence_length); "
            "this model accepts any length: use the fused form"
        )
    units, steps_count = int(config["units"]), g.length
    activation, recurrent_activation = config["activation"], config.get("recurrent_activation")
    bias = weights.get("bias")
    input_bias, recurrent_bias = (bias[0], bias[1]) if bias is not None and bias.ndim == 2 else (bias, None)
    recurrent = weights["recurrent_kernel"]
    projected = g.add("MatMul", [x.name, g.constant(f"{hint}/kernel", weights["kernel"])], f"{hint}/x_kernel")
    if input_bias is not None:
        projected = g.add("Add", [projected, g.constant(f"{hint}/input_bias", input_bias)], f"{hint}/x_projected")
    inputs = _split(g, projected, [1] * steps_count, 0, f"{hint}/x_step")
    masks = _split(g, x.step_mask, [1] * steps_count, 0, f"{hint}/mask_step") if x.step_mask else None
    if kind == "gru" and recurrent_bias is None:  # reset_after=False: the candidate's matmul comes after the reset
        u_gates = g.constant(f"{hint}/recurrent_zr", recurrent[:, : 2 * units])
        u_candidate = g.constant(f"{hint}/recurrent_h", recurrent[:, 2 * units :])
    else:
        u_all = g.constant(f"{hint}/recurrent_kernel", recurrent)
    h = c = _zero_state(g, x, units, hint)
    outputs: list[str] = [""] * steps_count
    for t in reversed(range(steps_count)) if reverse else range(steps_count):
        s, x_t = f"{hint}/t{t}", inputs[t]
        if kind == "lstm":
            z = g.add("Add", [x_t, g.add("MatMul", [h, u_all], f"{s}/h_u")], f"{s}/z")
            i, f, candidate, o = _split(g, z, [units] * 4, -1, f"{s}/ifco")
            i = apply_activation(g, i, recurrent_activation, f"{s}/i")
            f = apply_activation(g, f, recurrent_activation, f"{s}/f")
            o = apply_activation(g, o, recurrent_activation, f"{s}/o")
            candidate = apply_activation(g, candidate, activation, f"{s}/g")
            c_new = g.add("Add", [g.add("Mul", [f, c], f"{s}/fc"), g.add("Mul", [i, candidate], f"{s}/ig")], f"{s}/c")
            h_new = g.add("Mul", [o, apply_activation(g, c_new, activation, f"{s}/c_act")], f"{s}/h")
        elif kind == "gru":
            x_z, x_r, x_h = _split(g, x_t, [units] * 3, -1, f"{s}/x_zrh")
            if recurrent_bias is not None:  # reset_after=True
                inner = g.add("MatMul", [h, u_all], f"{s}/h_u")
                inner = g.add("Add", [inner, g.constant(f"{hint}/recurrent_bias", recurrent_bias)], f"{s}/h_u_b")
                r_z, r_r, r_h = _split(g, inner, [units] * 3, -1, f"{s}/h_zrh")
            else:
                r_z, r_r = _split(g, g.add("MatMul", [h, u_gates], f"{s}/h_u"), [units] * 2, -1, f"{s}/h_zr")
            z = apply_activation(g, g.add("Add", [x_z, r_z], f"{s}/z_in"), recurrent_activation, f"{s}/z")
            r = apply_activation(g, g.add("Add", [x_r, r_r], f"{s}/r_in"), recurrent_activation, f"{s}/r")
            if recurrent_bias is not None:
                reset = g.add("Mul", [r, r_h], f"{s}/r_h")
            else:
                reset = g.add("MatMul", [g.add("Mul", [r, h], f"{s}/r_h"), u_candidate], f"{s}/r_h_u")
            candidate = apply_activation(g, g.add("Add", [x_h, reset], f"{s}/hh_in"), activation, f"{s}/hh")
            one_minus_z = g.add("Sub", [g.constant("one_f", np.array(1, np.float32)), z], f"{s}/1_z")
            keep = g.add("Mul", [z, h], f"{s}/z_h")
            h_new = g.add("Add", [keep, g.add("Mul", [one_minus_z, candidate], f"{s}/1_z_hh")], f"{s}/h")
        else:
            pre = g.add("Add", [x_t, g.add("MatMul", [h, u_all], f"{s}/h_u")], f"{s}/pre")
            h_new = apply_activation(g, pre, activation, f"{s}/h")
        if masks is not None:  # a padding step keeps the previous state, as Keras's masked RNN does
            h = g.add("Where", [masks[t], h_new, h], f"{s}/h_masked")
            if kind == "lstm":
                c = g.add("Where", [masks[t], c_new, c], f"{s}/c_masked")
        else:
            h, c = h_new, (c_new if kind == "lstm" else c)
        outputs[t] = h
    return outputs


def _unrolled_output(
    g: OnnxGraph, x: OnnxTensor, steps: list[str], reverse: bool, sequences: bool, units: int, hint: str
) -> OnnxTensor:
    if sequences:
        return replace(x, name=g.add("Concat", steps, f"{hint}/sequence", axis=0), features=units)
    last = steps[0] if reverse else steps[-1]  # the state after the final step of this direction
    return OnnxTensor(g, _squeeze(g, last, 0, f"{hint}/last"), False, units)

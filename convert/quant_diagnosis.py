"""Full-integer quantization: which tensors' ranges broke, and the variant that keeps the recurrent layers float.

Diagnosis: the float and the quantized TFLite model of the same form run the same token ids with LiteRT's
``experimental_preserve_all_tensors`` (no delegate, so every intermediate is kept), in a child process as conversions
are. Ops are matched by type and order (QUANTIZE/DEQUANTIZE skipped: names differ between the two files); for every
quantized activation the child measures the RMS error against the float value as a share of the float range, the
share of float values outside what the tensor's scale and zero point can hold (the calibrated range), and how much
error the op *added* over its inputs' worst error. Ranked by that growth, the top tensors are where quantization broke
(error inherited from upstream does not count twice). A fused LSTM's gate intermediates are not materialised by the
kernel, so its output (and its final hidden and cell state) stands for the whole op.

``tf.lite.experimental.QuantizationDebugger`` was considered (read, not run): it calibrates again (another minute),
does not pass the converter's per-tensor dense option (``--tflite-runtime-compatible``) and measures per-layer error
through NumericVerify ops in a debug model, whereas this comparison runs on the artifact actually written.

``int8-float-rnn``: calibrated as int8, then quantized with the fused recurrent ops (and REVERSE_V2, see
``KEPT_FLOAT_OPS``) on ``mlir_quantize``'s deny list, the mechanism behind the debugger's ``denylisted_ops``: the
embedding and dense layers run in int8, the recurrent layers in float, with QUANTIZE/DEQUANTIZE around them.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from edgeclf.convert.artifacts import ConversionError, run_in_child
from edgeclf.network import Network

FULL_INTEGER = ("int8", "int16x8", "int8-float-rnn")  # precisions with calibrated activation ranges
FUSED_RECURRENT_OPS = ("UNIDIRECTIONAL_SEQUENCE_LSTM", "BIDIRECTIONAL_SEQUENCE_LSTM")
# REVERSE_V2 copies bytes without requantizing: left int8 between float LSTMs, it is given an input scale (from the
# QUANTIZE after the LSTM) other than its output scale and returns wrong values, so it stays float with them
KEPT_FLOAT_OPS = (*FUSED_RECURRENT_OPS, "REVERSE_V2")
DIAGNOSIS_TEXTS = 24  # parity texts run through both models: enough for stable ranges, seconds of work
SHOWN = 3  # tensors named in the message
_STATE_SLOTS = {18: "final hidden state", 19: "final cell state"}  # UNIDIRECTIONAL_SEQUENCE_LSTM variable inputs
_PASS_THROUGH = ("QUANTIZE", "DEQUANTIZE", "DELEGATE")  # present in one model only


def quantize_keeping_recurrent_float(calibrated: bytes, per_channel_dense: bool) -> bytes:
    """An int8 model from a calibrated one, with the fused recurrent ops left float (mlir_quantize's deny list,
    which QuantizationDebugger uses for selective quantization; input and output stay as the float model's)."""
    from tensorflow.lite.python import convert as tf_convert

    return tf_convert.mlir_quantize(
        calibrated,
        denylisted_ops=list(KEPT_FLOAT_OPS),
        disable_per_channel_for_dense_layers=not per_channel_dense,
    )


def _recurrent_layer_names(network: Network) -> tuple[list[str], list[str]]:
    """Forward- and backward-running recurrent directions in graph order, as the user knows them."""
    forward, backward = [], []
    for layer in network.layers:
        if layer.kind == "bidirectional":
            forward.append(f"{layer.name} forward {layer.config['forward']['kind'].upper()}")
            backward.append(f"{layer.name} backward {layer.config['backward']['kind'].upper()}")
        elif layer.kind in ("lstm", "gru", "simple_rnn"):
            (backward if layer.config.get("go_backwards") else forward).append(f"{layer.name} {layer.kind.upper()}")
    return forward, backward


class _Run:
    """One model's interpreter, re-run per text with every tensor kept."""

    def __init__(self, path: Path) -> None:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        self.interpreter = Interpreter(
            model_path=str(path),
            experimental_preserve_all_tensors=True,
            experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,  # delegates hide tensors
        )
        self.interpreter.allocate_tensors()
        self.details = {d["index"]: d for d in self.interpreter.get_tensor_details()}
        self.ops = [op for op in self.interpreter._get_ops_details() if op["op_name"] not in _PASS_THROUGH]
        producers = {o: op for op in self.interpreter._get_ops_details() for o in op["outputs"]}
        self.keys: dict[tuple, int] = {}  # (op type, occurrence, what) → tensor index
        self.inputs_of: dict[tuple, list[int]] = {}  # key → the tensors its op reads
        self.directions: dict[tuple, str] = {}  # (op type, occurrence) of a fused LSTM → "forward" / "backward"
        seen: dict[str, int] = {}
        for op in self.ops:
            n = seen[op["op_name"]] = seen.get(op["op_name"], -1) + 1
            whats = {f"output {slot}": tensor for slot, tensor in enumerate(op["outputs"])}
            reads = list(op["inputs"])
            if op["op_name"] == "UNIDIRECTIONAL_SEQUENCE_LSTM":
                reads = [t for slot, t in enumerate(reads) if slot not in _STATE_SLOTS]  # its own state: not upstream
                whats.update({what: op["inputs"][slot] for slot, what in _STATE_SLOTS.items()})
                source = producers.get(op["inputs"][0])
                reversed_input = source is not None and source["op_name"] == "REVERSE_V2"
                self.directions[(op["op_name"], n)] = "backward" if reversed_input else "forward"
            reads = [self._through_pass_through(t, producers) for t in reads]
            for what, tensor in whats.items():
                self.keys[(op["op_name"], n, what)] = tensor
                self.inputs_of[(op["op_name"], n, what)] = reads

    @staticmethod
    def _through_pass_through(tensor: int, producers: dict[int, dict[str, Any]]) -> int:
        """The tensor a QUANTIZE/DEQUANTIZE chain started from: where the value read here was computed."""
        while tensor in producers and producers[tensor]["op_name"] in _PASS_THROUGH:
            tensor = producers[tensor]["inputs"][0]
        return tensor

    def run(self, ids: np.ndarray) -> dict[tuple, np.ndarray]:
        it = self.interpreter
        (inp,) = it.get_input_details()
        if int(inp["shape_signature"][1]) == -1 and int(inp["shape"][1]) != len(ids):
            it.resize_tensor_input(inp["index"], [1, len(ids)], strict=True)
            it.allocate_tensors()
        it.set_tensor(inp["index"], ids.reshape(1, -1).astype(np.int32))
        it.reset_all_variables()
        it.invoke()
        return {key: it.get_tensor(t).astype(np.float64) for key, t in self.keys.items() if self.sized(t)}

    def sized(self, tensor: int) -> bool:
        return int(np.prod(self.details[tensor]["shape"])) > 0


def _layer_hints(run: _Run, network: Network | None) -> dict[tuple, str]:
    """``(op, occurrence)`` → the Keras layer direction a fused recurrent op computes."""
    if network is None:
        return {}
    forward_names, backward_names = _recurrent_layer_names(network)
    names = {"forward": iter(forward_names), "backward": iter(backward_names)}
    return {key: next(names[direction], "") for key, direction in run.directions.items()}


def _quantized(detail: dict[str, Any]) -> bool:
    return detail["dtype"] in (np.int8, np.int16) and bool(detail["quantization"][0])


def diagnose(float_model: Path, quantized_model: Path, inputs: list[np.ndarray], network: Network | None) -> list:
    """Every quantized activation of ``quantized_model`` with its error figures, worst first (see module doc).

    Float activations of the quantized model (an op left float) are measured too, so error they pass on is
    inherited by the quantized tensors after them, not blamed on them; only quantized tensors are returned."""
    float_run, quant_run = _Run(float_model), _Run(quantized_model)
    keys = [
        k
        for k, t in quant_run.keys.items()
        if k in float_run.keys
        and quant_run.sized(t)
        and float_run.details[float_run.keys[k]]["dtype"] == np.float32
        and (quant_run.details[t]["dtype"] == np.float32 or _quantized(quant_run.details[t]))
    ]
    floats: dict[tuple, list] = {k: [] for k in keys}
    dequantized: dict[tuple, list] = {k: [] for k in keys}
    for ids in inputs:
        f, q = float_run.run(ids), quant_run.run(ids)
        for k in keys:
            scale, zero = quant_run.details[quant_run.keys[k]]["quantization"]
            floats[k].append(f[k].ravel())
            dequantized[k].append((q[k].ravel() - zero) * scale if scale else q[k].ravel())
    stats: dict[tuple, dict[str, Any]] = {}
    hints = _layer_hints(quant_run, network)
    for k in keys:
        detail = quant_run.details[quant_run.keys[k]]
        f, q = np.concatenate(floats[k]), np.concatenate(dequantized[k])
        hint, what = hints.get(k[:2], ""), "output" if k[2] == "output 0" else k[2]
        stats[k] = {
            "tensor": detail["name"],
            "op": k[0],
            "layer": f"{hint} {what}" if hint else "" if k[2].startswith("output") else what,
            "dtype": detail["dtype"].__name__,
            "rmse_of_range": float(np.sqrt(np.mean((f - q) ** 2)) / (float(np.ptp(f)) or 1.0)),
            "float_range": [float(f.min()), float(f.max())],
        }
        if _quantized(detail):
            scale, zero = detail["quantization"]
            limits = np.iinfo(detail["dtype"])
            low, high = scale * (limits.min - zero), scale * (limits.max - zero)
            stats[k]["quantized_range"] = [float(low), float(high)]
            stats[k]["outside_range"] = float(np.mean((f < low - scale / 2) | (f > high + scale / 2)))
    by_tensor = {quant_run.keys[k]: s for k, s in stats.items()}
    for k, s in stats.items():  # error this op added over the worst of its inputs
        inherited = max((by_tensor[t]["rmse_of_range"] for t in quant_run.inputs_of[k] if t in by_tensor), default=0)
        s["added"] = max(0.0, s["rmse_of_range"] - inherited)
    quantized = [s for s in stats.values() if "outside_range" in s]
    return sorted(quantized, key=lambda s: (s["outside_range"] + s["added"], s["rmse_of_range"]), reverse=True)


def summary(ranked: list[dict[str, Any]]) -> str:
    """``worst ranges: TENSOR (LAYER: rmse 0.14 of range, 0 % outside its int8 range), …``"""
    shown = []
    for s in ranked[:SHOWN]:
        where = f"{s['layer']}: " if s["layer"] else ""
        shown.append(
            f"{s['tensor']} ({where}rmse {s['rmse_of_range']:.2f} of range, "
            f"{100 * s['outside_range']:.0f} % outside its {s['dtype']} range)"
        )
    return "worst ranges: " + (", ".join(shown) if shown else "none measured (no quantized activation matched)")


def worst_ranges(staging: Path, artifact: dict[str, Any], float_file: str | None, texts: list[str]) -> list:
    """Diagnose a full-integer ``artifact`` of the staged bundle against the float model of its form: the bundle's
    own ``float_file`` when it has one, else a float conversion made here (a child process, as every conversion); the
    child reads the network description in ``staging`` to name the recurrent layers."""
    from edgeclf.convert.tflite import convert_to_tflite
    from edgeclf.runtime import Classifier

    classifier = Classifier.load(staging, artifact=artifact["name"])
    inputs = {str(i): classifier.model_input(t) for i, t in enumerate(texts[:DIAGNOSIS_TEXTS])}
    with tempfile.TemporaryDirectory(prefix="edgeclf-diagnosis-") as scratch:
        float_path = staging / float_file if float_file else Path(scratch) / "float.tflite"
        if not float_file:
            convert_to_tflite(staging, float_path, "fp32", artifact["rnn"])
        np.savez(Path(scratch) / "ids.npz", **inputs)
        out = Path(scratch) / "ranges.json"
        args = [str(float_path), str(staging / artifact["file"]), str(Path(scratch) / "ids.npz"), str(out)]
        run_in_child("edgeclf.convert.quant_diagnosis", [*args, "--network", str(staging)], "range diagnosis", out, 600)
        return json.loads(out.read_text())


def diagnosis_record(staging: Path, manifest: dict[str, Any], artifact: dict[str, Any], texts: list[str]) -> dict:
    """What the manifest records about a full-integer artifact outside the target: the worst tensors and a summary
    line; a diagnosis that fails is said in the summary, never a reason to fail the conversion."""
    float_file = next(
        (a["file"] for a in manifest["artifacts"]
         if a["precision"] == "fp32" and a["format"] == artifact["format"] and a["rnn"] == artifact["rnn"]),
        None,
    )  # fmt: skip
    try:
        ranked = worst_ranges(staging, artifact, float_file, texts)
    except ConversionError as e:
        return {"summary": f"worst ranges: not measured ({e})"}
    return {"worst_ranges": ranked[:SHOWN], "texts": min(len(texts), DIAGNOSIS_TEXTS), "summary": summary(ranked)}


def main() -> None:
    parser = argparse.ArgumentParser(description="Compare a quantized TFLite model's tensors with the float model's.")
    parser.add_argument("float_model", type=Path)
    parser.add_argument("quantized_model", type=Path)
    parser.add_argument("ids", type=Path, help=".npz of token id rows, keys 0..N-1")
    parser.add_argument("out", type=Path)
    parser.add_argument("--network", type=Path, help="folder with the network description (for layer names)")
    args = parser.parse_args()
    with np.load(args.ids, allow_pickle=False) as saved:
        inputs = [saved[key] for key in sorted(saved.files, key=int)]
    network = Network.load(args.network) if args.network else None
    args.out.write_text(json.dumps(diagnose(args.float_model, args.quantized_model, inputs, network)))


if __name__ == "__main__":
    main()

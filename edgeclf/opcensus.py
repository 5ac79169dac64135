"""Op census of a ``.tflite`` file: op type → count over every subgraph, read from the flatbuffer.

The interpreter's own op listing only shows subgraph 0 and reports XNNPACK-delegated nodes as
DELEGATE, so the census parses the file instead (with the schema ai-edge-litert ships; no TensorFlow).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any


def tflite_op_names(model: Any) -> list[str]:
    """The op type of each operator code of a parsed ``schema.Model``, by code index (``CUSTOM:<name>`` for custom
    ops, ``BUILTIN_<n>`` for a builtin this schema does not know)."""
    from ai_edge_litert import schema_py_generated as schema

    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    codes = []
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())  # the deprecated field caps at 127
        if builtin == schema.BuiltinOperator.CUSTOM:
            codes.append(f"CUSTOM:{(code.CustomCode() or b'').decode()}")
        else:
            codes.append(names.get(builtin, f"BUILTIN_{builtin}"))
    return codes


def tflite_op_census(path: Path) -> dict[str, int]:
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(Path(path).read_bytes(), 0)
    codes = tflite_op_names(model)
    census: Counter[str] = Counter()
    for s in range(model.SubgraphsLength()):
        subgraph = model.Subgraphs(s)
        for o in range(subgraph.OperatorsLength()):
            census[codes[subgraph.Operators(o).OpcodeIndex()]] += 1
    return dict(sorted(census.items()))


# Which part of the network a constant feeds, by the op that reads it. Recurrent weights also sit in loop bodies
# (subgraphs > 0) or, unrolled, are read once per time step; float16/int8 weights are read through a dequantize op.
TFLITE_WEIGHT_PARTS = {
    "GATHER": "embedding",
    "EMBEDDING_LOOKUP": "embedding",
    "WHILE": "recurrent",
    "UNIDIRECTIONAL_SEQUENCE_LSTM": "recurrent",
    "BIDIRECTIONAL_SEQUENCE_LSTM": "recurrent",
    "UNIDIRECTIONAL_SEQUENCE_RNN": "recurrent",
    "BIDIRECTIONAL_SEQUENCE_RNN": "recurrent",
    "FULLY_CONNECTED": "dense",
    "BATCH_MATMUL": "dense",
    "CONV_2D": "convolution",
    "DEPTHWISE_CONV_2D": "convolution",
}
Reader = tuple[int, str, int]  # (subgraph, op type, input position)


def weight_part(readers: list[Reader], parts: dict[str, str]) -> str:
    """embedding / recurrent / dense / convolution / other for a constant read by ``readers``.

    The split is by the op that reads a constant, not by the Keras layer it came from. A constant read inside a loop
    body or by a recurrent op is recurrent, and so is one read by more than one matmul (``parts`` maps it to
    "dense"): an unrolled layer reads its recurrent kernel once per step. So an unrolled graph that applies an input
    kernel to all steps with one matmul counts that kernel as dense.
    """
    kinds = [(subgraph, parts.get(op), position) for subgraph, op, position in readers]
    if any(kind == "embedding" and position == 0 for _, kind, position in kinds):
        return "embedding"
    # several matmuls on one constant: the unrolled per-step reuse. Shared axes or shape tensors do not count.
    matmuls = sum(kind == "dense" for _, kind, _ in kinds)
    if any(subgraph > 0 or kind == "recurrent" for subgraph, kind, _ in kinds) or matmuls > 1:
        return "recurrent"
    for kind in ("dense", "convolution"):
        if any(k == kind for _, k, _ in kinds):
            return kind
    return "other"


def tflite_weight_bytes(path: Path) -> dict[str, Any]:
    """Bytes of the constants by network part, and the embedding table's element type (``INT8`` once quantized)."""
    from ai_edge_litert import schema_py_generated as schema

    type_names = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    model = schema.Model.GetRootAs(Path(path).read_bytes(), 0)
    codes = tflite_op_names(model)
    buffer_tensors: dict[int, list[tuple[int, int]]] = {}  # a buffer may back tensors in several subgraphs
    buffer_type: dict[int, str] = {}
    tensor_readers: dict[tuple[int, int], list[Reader]] = {}
    dequantized: dict[tuple[int, int], tuple[int, int]] = {}  # float16 weights are read through DEQUANTIZE
    for s in range(model.SubgraphsLength()):
        subgraph = model.Subgraphs(s)
        for t in range(subgraph.TensorsLength()):
            tensor = subgraph.Tensors(t)
            if model.Buffers(tensor.Buffer()).DataLength() > 0:
                buffer_tensors.setdefault(tensor.Buffer(), []).append((s, t))
                buffer_type[tensor.Buffer()] = type_names.get(tensor.Type(), str(tensor.Type()))
        for o in range(subgraph.OperatorsLength()):
            op = subgraph.Operators(o)
            name = codes[op.OpcodeIndex()]
            for position, t in enumerate(op.InputsAsNumpy()):
                if t >= 0:
                    tensor_readers.setdefault((s, t), []).append((s, name, position))
                    if name == "DEQUANTIZE":
                        dequantized[(s, t)] = (s, int(op.OutputsAsNumpy()[0]))

    def readers_of(tensor: tuple[int, int]) -> list[Reader]:
        if tensor in dequantized:
            return readers_of(dequantized[tensor])
        return tensor_readers.get(tensor, [])

    readers = {b: [r for t in tensors for r in readers_of(t)] for b, tensors in buffer_tensors.items()}
    parts: Counter[str] = Counter()
    embedding_types = set()
    for buffer, element_type in buffer_type.items():
        part = weight_part(readers[buffer], TFLITE_WEIGHT_PARTS)
        parts[part] += model.Buffers(buffer).DataLength()
        if part == "embedding":
            embedding_types.add(element_type)
    return {"bytes": dict(sorted(parts.items())), "embedding_dtype": ",".join(sorted(embedding_types)) or None}

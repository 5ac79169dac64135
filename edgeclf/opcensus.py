"""Op census of a ``.tflite`` file: op type → count over every subgraph, read from the flatbuffer.

The interpreter's own op listing only shows subgraph 0 and reports XNNPACK-delegated nodes as
DELEGATE, so the census parses the file instead (with the schema ai-edge-litert ships; no TensorFlow).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path


def tflite_op_census(path: Path) -> dict[str, int]:
    from ai_edge_litert import schema_py_generated as schema

    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    model = schema.Model.GetRootAs(Path(path).read_bytes(), 0)
    codes = []
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())  # the deprecated field caps at 127
        if builtin == schema.BuiltinOperator.CUSTOM:
            codes.append(f"CUSTOM:{code.CustomCode().decode()}")
        else:
            codes.append(names.get(builtin, f"BUILTIN_{builtin}"))
    census: Counter[str] = Counter()
    for s in range(model.SubgraphsLength()):
        subgraph = model.Subgraphs(s)
        for o in range(subgraph.OperatorsLength()):
            census[codes[subgraph.Operators(o).OpcodeIndex()]] += 1
    return dict(sorted(census.items()))

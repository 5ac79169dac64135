"""The TensorFlow Serving REST API's JSON shapes, parsed and written without any HTTP library.

https://www.tensorflow.org/tfx/serving/api_rest is the reference. A model here has one input, a text named
``text``, and two signatures:

- ``serving_default``: one output, ``scores``: a row of per-label probabilities in the bundle's label order
  (what a Keras softmax/sigmoid head gives through TF Serving), so ``predictions`` is a list of float lists;
- ``labeled``: two outputs, ``classes`` (the bundle's labels, in order) and ``scores`` (as above), so each
  prediction is ``{"classes": [...], "scores": [...]}``, the Estimator classifier's predict shape.

An instance is a text: a JSON string, ``{"b64": "..."}`` (TF Serving's binary form, UTF-8 inside), or the
named-input form ``{"text": ...}``. ``:classify`` takes ``{"examples": [{"text": ...}]}`` (plus optional
``context`` features) and answers ``{"results": [[[label, score], ...], ...]}``.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import numpy as np

INPUT = "text"
DEFAULT_SIGNATURE = "serving_default"
LABELED_SIGNATURE = "labeled"
SIGNATURES = (DEFAULT_SIGNATURE, LABELED_SIGNATURE)


class RequestError(Exception):
    """A request the server refuses; ``status`` is the HTTP status, the message goes to the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def error_body(message: str) -> dict[str, str]:
    return {"error": message}  # TF Serving's error shape


def parse_json(body: bytes) -> Any:
    """The request body as JSON; invalid UTF-8 or JSON is the client's fault (400)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise RequestError(400, f"request body is not valid UTF-8 (byte {e.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise RequestError(400, f"malformed JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    except RecursionError:
        raise RequestError(400, "malformed JSON: nested too deeply") from None


def _text(value: Any, where: str) -> str:
    """One text from a JSON string or TF Serving's ``{"b64": ...}``."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"b64"} and isinstance(value["b64"], str):
        try:
            raw = base64.b64decode(value["b64"], validate=True)
        except (binascii.Error, ValueError):
            raise RequestError(400, f"{where}: b64 value is not valid base64") from None
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise RequestError(400, f"{where}: b64 value is not UTF-8 text") from None
    raise RequestError(400, f'{where}: expected a text (JSON string or {{"b64": ...}}), got {_kind(value)}')


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _instance_text(value: Any, i: int) -> str:
    if isinstance(value, dict) and "b64" not in value:  # the named-input form
        if set(value) != {INPUT}:
            raise RequestError(400, f'instances[{i}]: the only input is "{INPUT}", got keys {sorted(value)}')
        value = value[INPUT]
    return _text(value, f"instances[{i}]")


def _signature(request: dict) -> str:
    name = request.get("signature_name", DEFAULT_SIGNATURE)
    if name not in SIGNATURES:
        raise RequestError(400, f"unknown signature_name {name!r}; this model has {', '.join(SIGNATURES)}")
    return name


def parse_predict(request: Any) -> tuple[list[str], str, bool]:
    """A ``:predict`` request → (texts, signature name, columnar?)."""
    if not isinstance(request, dict):
        raise RequestError(400, f"request must be a JSON object, got {_kind(request)}")
    has_rows, has_columns = "instances" in request, "inputs" in request
    if has_rows == has_columns:
        raise RequestError(400, 'request must have exactly one of "instances" (row format) or "inputs" (columnar)')
    signature = _signature(request)
    if has_rows:
        rows = request["instances"]
        if not isinstance(rows, list):
            raise RequestError(400, f'"instances" must be a list, got {_kind(rows)}')
        return [_instance_text(v, i) for i, v in enumerate(rows)], signature, False
    columns = request["inputs"]
    if isinstance(columns, dict) and "b64" not in columns:
        if set(columns) != {INPUT}:
            raise RequestError(400, f'inputs: the only input is "{INPUT}", got keys {sorted(columns)}')
        columns = columns[INPUT]
    if not isinstance(columns, list):  # one text: TF Serving accepts a scalar for a batch-less input
        return [_text(columns, "inputs")], signature, True
    return [_text(v, f"inputs[{i}]") for i, v in enumerate(columns)], signature, True


def predict_response(scores: np.ndarray, labels: list[str], signature: str, columnar: bool) -> dict:
    rows = scores.tolist()  # float64 → JSON floats (shortest repr that round-trips)
    if signature == DEFAULT_SIGNATURE:
        return {"outputs": rows} if columnar else {"predictions": rows}
    if columnar:
        return {"outputs": {"classes": [list(labels) for _ in rows], "scores": rows}}
    return {"predictions": [{"classes": list(labels), "scores": row} for row in rows]}


def parse_classify(request: Any) -> list[str]:
    """A ``:classify`` request → texts. Context features apply to every example, as in TF Serving."""
    if not isinstance(request, dict):
        raise RequestError(400, f"request must be a JSON object, got {_kind(request)}")
    _signature(request)
    examples, context = request.get("examples"), request.get("context", {})
    if not isinstance(examples, list):
        raise RequestError(400, f'"examples" must be a list of objects, got {_kind(examples)}')
    if not isinstance(context, dict):
        raise RequestError(400, f'"context" must be an object, got {_kind(context)}')
    texts = []
    for i, example in enumerate(examples):
        if not isinstance(example, dict):
            raise RequestError(400, f"examples[{i}]: expected an object, got {_kind(example)}")
        features = {**context, **example}
        if INPUT not in features:
            raise RequestError(400, f'examples[{i}]: no "{INPUT}" feature')
        value = features[INPUT]
        if isinstance(value, list) and len(value) == 1:  # a feature list of one value is the same feature
            value = value[0]
        texts.append(_text(value, f"examples[{i}].{INPUT}"))
    return texts


def classify_response(scores: np.ndarray, labels: list[str]) -> dict:
    return {"results": [[[label, p] for label, p in zip(labels, row, strict=True)] for row in scores.tolist()]}


def version_status(versions: list[tuple[int, str, str]]) -> dict:
    """``GET /v1/models/NAME``: (version, state, error message) → TF Serving's model_version_status."""
    return {
        "model_version_status": [
            {
                "version": str(number),
                "state": state,
                "status": {"error_code": "UNKNOWN" if message else "OK", "error_message": message},
            }
            for number, state, message in versions
        ]
    }


def _tensor(dtype: str, *dims: int, name: str) -> dict:
    return {"dtype": dtype, "tensor_shape": {"dim": [{"size": str(d), "name": ""} for d in dims]}, "name": name}


def metadata(name: str, version: int, labels: list[str], task: str, artifact: str) -> dict:
    """``GET /v1/models/NAME/metadata``: TF Serving's SignatureDefMap shape, plus edgeclf's own facts."""
    n = len(labels)
    text = {INPUT: _tensor("DT_STRING", -1, name=f"{INPUT}:0")}
    scores = _tensor("DT_FLOAT", -1, n, name="scores:0")
    predict = "tensorflow/serving/predict"
    return {
        "model_spec": {"name": name, "signature_name": "", "version": str(version)},
        "metadata": {
            "signature_def": {
                "signature_def": {
                    DEFAULT_SIGNATURE: {"inputs": text, "outputs": {"scores": scores}, "method_name": predict},
                    LABELED_SIGNATURE: {
                        "inputs": text,
                        "outputs": {"classes": _tensor("DT_STRING", -1, n, name="classes:0"), "scores": scores},
                        "method_name": predict,
                    },
                }
            },
            "edgeclf": {"labels": list(labels), "task": task, "artifact": artifact},
        },
    }

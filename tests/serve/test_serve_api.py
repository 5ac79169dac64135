"""`edgeclf serve` as a subprocess on loopback: every route, every error, start-up failures, client faults.

Answers are compared with ``Classifier.scores`` run in this process on the same bundle: JSON floats
round-trip exactly, so the equality is bit for bit.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import socket
import subprocess
import sys
import time

import pytest
import requests

from edgeclf import Classifier


@pytest.fixture(scope="module")
def texts(heldout_texts) -> list[str]:
    return heldout_texts


@pytest.fixture(scope="module")
def reference(example_bundle):
    return Classifier.load(example_bundle)


@pytest.fixture(scope="module")
def server(example_bundle, tmp_path_factory, server_class):
    s = server_class([example_bundle, "--model-name", "imdb"], tmp_path_factory.mktemp("api") / "server.log")
    yield s
    s.kill()


def test_binds_loopback_by_default(server):
    assert server.host == "127.0.0.1"


def test_status_and_metadata(server, reference):
    assert server.get("/v1/models/imdb") == (
        200,
        {
            "model_version_status": [
                {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
            ]
        },
    )
    assert server.get("/v1/models/imdb/versions/1")[1] == server.get("/v1/models/imdb")[1]
    status, meta = server.get("/v1/models/imdb/metadata")
    assert status == 200
    assert meta["model_spec"] == {"name": "imdb", "signature_name": "", "version": "1"}
    signatures = meta["metadata"]["signature_def"]["signature_def"]
    assert set(signatures) == {"serving_default", "labeled"}
    default = signatures["serving_default"]
    assert default["inputs"]["text"]["dtype"] == "DT_STRING"
    assert [d["size"] for d in default["outputs"]["scores"]["tensor_shape"]["dim"]] == [
        "-1",
        str(len(reference.labels)),
    ]
    assert meta["metadata"]["edgeclf"] == {
        "labels": reference.labels,
        "task": reference.task,
        "artifact": reference.artifact,
    }
    assert server.get("/v1/models/imdb/versions/1/metadata")[1] == meta


def test_predict_row_format_is_the_runtime_bit_for_bit(server, reference, texts):
    chosen = texts[:20]
    status, body = server.post("/v1/models/imdb:predict", {"instances": chosen})
    assert status == 200
    expected = reference.scores(chosen).tolist()
    assert body == {"predictions": expected}
    assert all(len(row) == len(reference.labels) for row in body["predictions"])
    # the named-input and binary forms of the same instances
    named = [{"text": t} for t in chosen[:5]]
    b64 = [{"b64": base64.b64encode(t.encode()).decode()} for t in chosen[:5]]
    assert server.post("/v1/models/imdb:predict", {"instances": named})[1] == {"predictions": expected[:5]}
    assert server.post("/v1/models/imdb/versions/1:predict", {"instances": b64})[1] == {"predictions": expected[:5]}


def test_predict_columnar_and_labeled_signature(server, reference, texts):
    chosen = texts[20:26]
    expected = reference.scores(chosen).tolist()
    assert server.post("/v1/models/imdb:predict", {"inputs": chosen}) == (200, {"outputs": expected})
    assert server.post("/v1/models/imdb:predict", {"inputs": {"text": chosen}}) == (200, {"outputs": expected})
    assert server.post("/v1/models/imdb:predict", {"inputs": chosen[0]}) == (200, {"outputs": expected[:1]})
    status, body = server.post("/v1/models/imdb:predict", {"signature_name": "labeled", "instances": chosen})
    assert status == 200
    assert body == {"predictions": [{"classes": reference.labels, "scores": row} for row in expected]}
    status, body = server.post("/v1/models/imdb:predict", {"signature_name": "labeled", "inputs": chosen})
    assert body == {"outputs": {"classes": [reference.labels] * len(chosen), "scores": expected}}


def test_classify(server, reference, texts):
    chosen = texts[30:34]
    expected = reference.scores(chosen).tolist()
    status, body = server.post("/v1/models/imdb:classify", {"examples": [{"text": t} for t in chosen]})
    assert status == 200
    assert body == {
        "results": [[[label, p] for label, p in zip(reference.labels, row, strict=True)] for row in expected]
    }
    # context features apply to every example, as in TF Serving
    status, body = server.post("/v1/models/imdb:classify", {"context": {"text": chosen[0]}, "examples": [{}, {}]})
    assert status == 200 and body["results"] == [body["results"][0]] * 2
    assert body["results"][0] == [[label, p] for label, p in zip(reference.labels, expected[0], strict=True)]


def test_tensorflow_serving_client_unchanged(server, reference, texts):
    """The client from TF Serving's REST docs: plain `requests` with a JSON string body."""
    data = json.dumps({"signature_name": "serving_default", "instances": texts[40:43]})
    headers = {"content-type": "application/json"}
    json_response = requests.post(f"{server.url}/v1/models/imdb:predict", data=data, headers=headers, timeout=60)
    predictions = json.loads(json_response.text)["predictions"]
    assert predictions == reference.scores(texts[40:43]).tolist()
    assert (
        requests.get(f"{server.url}/v1/models/imdb", timeout=60).json()["model_version_status"][0]["state"]
        == "AVAILABLE"
    )


def test_healthz_and_metrics(server):
    status, body = server.get("/healthz")
    assert status == 200 and body == {"status": "ok", "models": {"imdb": 1}}
    server.post("/v1/models/imdb:predict", {"instances": "not a list"})  # one error, counted
    status, text = server.get("/metrics")
    assert status == 200
    for series in (
        "edgeclf_requests_total",
        "edgeclf_request_errors_total",
        "edgeclf_request_duration_seconds_bucket",
        "edgeclf_batch_size_bucket",
        "edgeclf_inference_duration_seconds_count",
        "edgeclf_model_version",
    ):
        assert f"\n{series}{{" in text, series
    assert server.metric("edgeclf_requests_total", route="predict", code="200") >= 5
    assert server.metric("edgeclf_request_errors_total", route="predict", code="400") >= 1
    assert server.metric("edgeclf_batch_size_count", model="imdb") >= 5
    assert server.metric("edgeclf_model_version", model="imdb") == 1
    count = server.metric("edgeclf_request_duration_seconds_count", route="predict")
    assert server.metric("edgeclf_request_duration_seconds_bucket", route="predict", le="+Inf") == count > 0


BAD_REQUESTS = [
    (b"{not json", 400, "malformed JSON"),
    (b"[1, 2]", 400, "JSON object"),
    (b"{}", 400, "exactly one of"),
    (b'{"instances": ["a"], "inputs": ["b"]}', 400, "exactly one of"),
    (b'{"instances": "a text"}', 400, "must be a list"),
    (b'{"instances": [1]}', 400, "instances[0]"),
    (b'{"instances": [["a", "b"]]}', 400, "instances[0]"),
    (b'{"instances": [{"sentence": "a"}]}', 400, '"text"'),
    (b'{"instances": [{"b64": "***"}]}', 400, "base64"),
    (b'{"instances": [{"b64": "/w=="}]}', 400, "UTF-8"),
    (b'{"instances": []}', 400, "no texts"),
    (b'{"inputs": {"text": [1]}}', 400, "inputs[0]"),
    (b'{"signature_name": "nope", "instances": ["a"]}', 400, "signature_name"),
    (b'{"instances": ["caf\xe9"]}', 400, "UTF-8"),  # Latin-1 bytes: not UTF-8
    (b"\xff\xfe{}", 400, "UTF-8"),
]


@pytest.mark.parametrize(("body", "status", "words"), BAD_REQUESTS)
def test_bad_predict_requests(server, body, status, words):
    got, answer = server.request("POST", "/v1/models/imdb:predict", body, {"Content-Type": "application/json"})
    assert got == status
    assert set(answer) == {"error"} and words in answer["error"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/v1/models/imdb:classify", b'{"examples": [{"title": "a"}]}', 400),
        ("POST", "/v1/models/imdb:classify", b'{"examples": "a"}', 400),
        ("POST", "/v1/models/nope:predict", b'{"instances": ["a"]}', 404),
        ("POST", "/v1/models/imdb/versions/7:predict", b'{"instances": ["a"]}', 404),
        ("POST", "/v1/models/imdb/versions/x:predict", b'{"instances": ["a"]}', 404),
        ("POST", "/v1/models/imdb:regress", b'{"examples": []}', 404),
        ("GET", "/v1/models/nope", None, 404),
        ("GET", "/v1/models/imdb/versions/2", None, 404),
        ("GET", "/v1/models/nope/metadata", None, 404),
        ("GET", "/v1/models/imdb/versions/3/metadata", None, 404),
        ("GET", "/v1/models/imdb:predict", None, 405),
        ("POST", "/v1/models/imdb", b"{}", 405),
        ("GET", "/nothing/here", None, 404),
        ("POST", "/healthz", b"", 405),
    ],
)
def test_wrong_routes(server, method, path, body, status):
    got, answer = server.request(method, path, body)
    assert got == status
    assert isinstance(answer, dict) and set(answer) == {"error"} and answer["error"]


def test_serves_without_tensorflow(example_bundle, start_server, reference, texts):
    s = start_server(example_bundle, "--model-name", "imdb", no_tensorflow=True)
    assert s.post("/v1/models/imdb:predict", {"instances": texts[:4]}) == (
        200,
        {"predictions": reference.scores(texts[:4]).tolist()},
    )
    assert s.terminate() == 0


def test_body_over_limit_is_413_and_server_keeps_serving(example_bundle, start_server):
    s = start_server(example_bundle, "--model-name", "imdb", "--max-body-bytes", "2000")
    big = json.dumps({"instances": ["x" * 3000]}).encode()
    assert s.request("POST", "/v1/models/imdb:predict", big, {"Content-Type": "application/json"})[0] == 413
    # chunked: no Content-Length, the limit is found while reading
    conn = http.client.HTTPConnection(s.host, s.port, timeout=60)
    conn.request("POST", "/v1/models/imdb:predict", body=iter([big[:1500], big[1500:]]), encode_chunked=True)
    response = conn.getresponse()
    assert response.status == 413 and "max-body-bytes" in json.loads(response.read())["error"]
    conn.close()
    assert s.post("/v1/models/imdb:predict", {"instances": ["fine"]})[0] == 200


def test_client_that_disconnects_harms_no_one(server, reference, texts):
    for partial in (
        b'POST /v1/models/imdb:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n{"instances": [',
        b"POST /v1/models/imdb:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n",
    ):
        with socket.create_connection((server.host, server.port)) as sock:
            sock.sendall(partial)
    # a whole request whose client leaves before the answer (the server runs it and finds no one to tell)
    body = json.dumps({"instances": texts[:64]}).encode()
    head = f"POST /v1/models/imdb:predict HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    for _ in range(3):
        with socket.create_connection((server.host, server.port)) as sock:
            sock.sendall(head + body)
    status, answer = server.post("/v1/models/imdb:predict", {"instances": texts[:3]})
    assert status == 200 and answer["predictions"] == reference.scores(texts[:3]).tolist()
    # malformed HTTP itself: the HTTP library's plain 400, one line on the server's stderr, no traceback
    for raw in (b"GARBAGE \x00\xff\r\n\r\n", b"POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n"):
        with socket.create_connection((server.host, server.port)) as sock:
            sock.sendall(raw)
            sock.settimeout(60)
            assert re.match(rb"HTTP/1\.[01] 400 ", sock.recv(100))
    assert "Traceback" not in server.stderr()
    # their handlers were cancelled (counted as 499, "client closed request"), not left to run for no one
    assert server.metric("edgeclf_requests_total", route="predict", code="499") >= 1


def _run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "edgeclf.cli", "serve", *args], capture_output=True, text=True, timeout=120
    )


def test_startup_errors_are_one_line(example_bundle, tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "models" / "m" / "1").mkdir(parents=True)  # a version folder that holds no bundle
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    cases = [
        ([str(tmp_path / "missing")], "no such bundle"),
        ([str(tmp_path / "empty")], "neither a bundle"),
        ([str(tmp_path / "models" / "m")], "no version loads"),
        ([str(example_bundle), str(example_bundle)], "two models named"),
        ([str(example_bundle), str(tmp_path / "models" / "m"), "--model-name", "x"], "--model-name"),
        ([str(example_bundle), "--model-name", "a/b"], "model name"),
        ([str(example_bundle), "--port", str(busy.getsockname()[1])], "cannot listen"),
    ]
    try:
        for args, words in cases:
            done = _run_cli(*args)
            assert done.returncode == 1, (args, done.stderr)
            lines = done.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("edgeclf: error: ") and words in lines[0], (
                args,
                done.stderr,
            )
            assert "Traceback" not in done.stderr
    finally:
        busy.close()
    # without the serve extra: told how to get it
    code = "import sys\nsys.modules['uvicorn'] = None\nfrom edgeclf.cli import main\n"
    code += f"sys.exit(main(['serve', {str(example_bundle)!r}]))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("edgeclf: error: ") and "pip install 'edgeclf[serve]'" in done.stderr


def test_several_models_at_once(example_bundle, start_server, tmp_path, reference):
    import shutil

    shutil.copytree(example_bundle, tmp_path / "models" / "reviews" / "3")
    s = start_server(example_bundle, tmp_path / "models" / "reviews")
    name = example_bundle.resolve().name
    assert s.get("/healthz")[1] == {"status": "ok", "models": {name: 1, "reviews": 3}}
    assert (
        s.post(f"/v1/models/{name}:predict", {"instances": ["good"]})[1]
        == s.post("/v1/models/reviews/versions/3:predict", {"instances": ["good"]})[1]
    )
    started = time.monotonic()
    assert s.terminate() == 0
    assert time.monotonic() - started < 60
    assert "Traceback" not in s.stderr()

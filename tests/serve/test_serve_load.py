"""`edgeclf serve` under real load (wrk and threaded HTTP clients) and faults: micro-batching is bit-equal to
requests served alone, a version switch fails no request, SIGTERM loses no accepted request. Loopback only,
each load phase a few seconds."""

from __future__ import annotations

import http.client
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time

import pytest

from edgeclf import Classifier


@pytest.fixture(scope="module")
def load_tools():
    """benchmarks/serve_load.py: the wrk runner the benchmark uses (so the tests exercise it too)."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "serve_load.py"
    spec = importlib.util.spec_from_file_location("serve_load_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert shutil.which("wrk"), "wrk is installed by tests/install_test_env.sh"
    return module


def _post(host: str, port: int, path: str, payload: dict, conn: http.client.HTTPConnection | None = None):
    own = conn is None
    conn = conn or http.client.HTTPConnection(host, port, timeout=120)
    try:
        conn.request("POST", path, json.dumps(payload).encode(), {"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        if own:
            conn.close()


def _server_errors(server) -> float:
    """Error answers, less 499: wrk closes its connections at the end with requests still in flight."""
    errors = server.metric("edgeclf_request_errors_total")
    return errors - server.metric("edgeclf_request_errors_total", code="499")


@pytest.mark.parametrize("artifact", [None, "numpy-fp32"], ids=["default-tflite", "numpy-batched"])
def test_micro_batched_answers_are_bit_equal_to_requests_alone(example_bundle, start_server, heldout_texts, artifact):
    """Concurrent requests merged into shared inference calls answer exactly what each gets alone. The numpy
    artifact really runs padded batches, the TFLite one runs each text in turn inside the call."""
    extra = ["--artifact", artifact] if artifact else []
    batched = start_server(
        example_bundle, "--model-name", "m", "--max-batch-size", "64", "--batch-timeout-ms", "200", *extra
    )
    alone = start_server(example_bundle, "--model-name", "m", "--max-batch-size", "1", *extra)
    # 24 requests of 1-3 real reviews of very different lengths
    requests = [{"instances": heldout_texts[i * 3 : i * 3 + 1 + i % 3]} for i in range(24)]
    results: list = [None] * len(requests)
    barrier = threading.Barrier(len(requests))

    def send(i: int) -> None:
        barrier.wait()
        results[i] = _post(batched.host, batched.port, "/v1/models/m:predict", requests[i])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    calls = batched.metric("edgeclf_batch_size_count", model="m")
    texts = batched.metric("edgeclf_batch_size_sum", model="m")
    assert texts == sum(len(r["instances"]) for r in requests)
    assert calls < len(requests) / 2, f"requests were not batched: {calls} calls for {len(requests)} requests"
    reference = Classifier.load(example_bundle, artifact=artifact)
    for request, result in zip(requests, results, strict=True):
        assert result[0] == 200
        single = _post(alone.host, alone.port, "/v1/models/m:predict", request)
        assert result == single  # bit for bit: the floats round-trip through JSON exactly
        assert result[1]["predictions"] == reference.scores(request["instances"]).tolist()
    assert alone.metric("edgeclf_batch_size_count", model="m") == len(requests)


def test_wrk_at_1_8_64_connections_zero_errors(example_bundle, start_server, heldout_texts, load_tools, tmp_path):
    server = start_server(example_bundle, "--model-name", "m")
    script = load_tools.wrk_script(tmp_path / "p.lua", {"instances": heldout_texts[:2]})
    for connections in (1, 8, 64):
        result = load_tools.run_wrk(f"{server.url}/v1/models/m:predict", script, connections, 2)
        assert result["requests"] > 0 and result["rps"] > 0, result["output"]
        assert result["non2xx"] == 0 and result["socket_errors"] == 0, result["output"]
        assert 0 < result["p50"] <= result["p99"]
    assert _server_errors(server) == 0
    assert server.terminate() == 0


def test_version_switch_under_load_fails_no_request(example_bundle, start_server, heldout_texts, load_tools, tmp_path):
    base = tmp_path / "models" / "imdb"
    shutil.copytree(example_bundle, base / "1")
    server = start_server(base, "--poll-seconds", "0.2")
    assert server.get("/healthz")[1]["models"] == {"imdb": 1}
    script = load_tools.wrk_script(tmp_path / "p.lua", {"instances": heldout_texts[:2]})
    command = ["wrk", "-t2", "-c8", "-d10s", "--latency", "--timeout", "60s", "-s", str(script),
               f"{server.url}/v1/models/imdb:predict"]  # fmt: skip
    wrk = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    time.sleep(2)
    # a half-written version 3 (no valid manifest yet): reported, not served; the server stays on 1
    (base / "3").mkdir()
    (base / "3" / "manifest.json").write_text("{", encoding="utf-8")
    time.sleep(1)
    assert server.get("/healthz")[1]["models"] == {"imdb": 1}
    # version 2 written elsewhere and renamed into place, as TF Serving's docs advise
    shutil.copytree(example_bundle, base / ".incoming")
    os.rename(base / ".incoming", base / "2")
    deadline = time.monotonic() + 60
    while server.get("/healthz")[1]["models"] != {"imdb": 2}:
        assert time.monotonic() < deadline, server.stderr()
        time.sleep(0.1)
    assert wrk.poll() is None, "the switch must happen while wrk is running"
    out, _ = wrk.communicate(timeout=120)
    assert wrk.returncode == 0
    requests = int(re.search(r"(\d+) requests in", out)[1])
    assert requests > 0, out
    assert "Non-2xx" not in out and "Socket errors" not in out, out
    status = server.get("/v1/models/imdb")[1]["model_version_status"]
    assert [(s["version"], s["state"]) for s in status] == [("3", "END"), ("2", "AVAILABLE"), ("1", "END")]
    assert status[0]["status"]["error_code"] != "OK" and status[0]["status"]["error_message"]
    assert _server_errors(server) == 0
    # wrk counts the requests it saw finish within its time; the server may have answered a few more
    assert server.metric("edgeclf_requests_total", route="predict", code="200") >= requests
    assert server.get("/v1/models/imdb/versions/2")[1]["model_version_status"][0]["state"] == "AVAILABLE"
    assert _post(server.host, server.port, "/v1/models/imdb/versions/2:predict", {"instances": ["good"]})[0] == 200
    assert _post(server.host, server.port, "/v1/models/imdb/versions/1:predict", {"instances": ["good"]})[0] == 404
    assert server.metric("edgeclf_model_version", model="imdb") == 2
    assert "version 3 does not load" in server.stderr() and "Traceback" not in server.stderr()


def test_sigterm_under_load_drains_every_accepted_request(example_bundle, start_server, heldout_texts):
    """Clients hammer the server with slow requests (32 reviews each); SIGTERM arrives mid-load. Every request
    the server took is answered in full (its count of answers equals the clients' successes), requests in
    flight at the signal finish after it, and the process exits 0."""
    server = start_server(example_bundle, "--model-name", "m", "--max-batch-size", "8")
    payload = {"instances": heldout_texts[:32]}
    outcomes: list[tuple[str, float]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            conn = http.client.HTTPConnection(server.host, server.port, timeout=120)
            try:
                conn.request("POST", "/v1/models/m:predict", json.dumps(payload).encode(),
                             {"Content-Type": "application/json"})  # fmt: skip
                response = conn.getresponse()
                body = json.loads(response.read())
                ok = response.status == 200 and len(body["predictions"]) == 32
                outcome = "ok" if ok else f"status {response.status}"
            except ConnectionRefusedError:
                outcome = "refused"  # the listener is closed: not accepted, a client retries elsewhere
            except (ConnectionError, http.client.HTTPException, OSError) as e:
                outcome = f"broken {type(e).__name__}"
            finally:
                conn.close()
            with lock:
                outcomes.append((outcome, time.monotonic()))
            if outcome == "refused":
                return

    threads = [threading.Thread(target=client) for _ in range(6)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 120
    while sum(o == "ok" for o, _ in outcomes) < 18:  # well into the load
        assert time.monotonic() < deadline
        time.sleep(0.05)
    signalled = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(120) == 0
    stop.set()
    for t in threads:
        t.join(120)
    log = server.stderr()
    answered = int(re.search(r"answered .*predict (\d+)", log)[1])
    ok = [when for outcome, when in outcomes if outcome == "ok"]
    others = sorted({o for o, _ in outcomes} - {"ok", "refused"})
    assert not [o for o in others if o.startswith("status")], others
    assert answered == len(ok), (answered, len(ok), others, log)
    assert any(when > signalled for when in ok), "no request was in flight when SIGTERM came"
    assert "Traceback" not in log

"""Serve-only fixtures (the shared ones are in tests/conftest.py): a real ``edgeclf serve`` process on a free
loopback port, and plain HTTP clients for it (no mocks)."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LISTENING = re.compile(r"on http://([\d.]+):(\d+)")
BLOCK_TF = "import sys\nfor m in ('tensorflow', 'keras', 'tf_keras', 'tf2onnx'):\n    sys.modules[m] = None\n"
START_TIMEOUT = 120  # the machine may be busy; a real start takes about a second


class Server:
    """``python -m edgeclf.cli serve ARGS --port 0``; the port the OS chose is read from its start-up line."""

    def __init__(self, args: list[str], log: Path, env: dict | None = None, no_tensorflow: bool = False) -> None:
        self.log = log
        self._log_file = log.open("wb")
        args = [str(a) for a in args] + ([] if "--port" in args else ["--port", "0"])
        command = [sys.executable, "-m", "edgeclf.cli", "serve", *args]
        if no_tensorflow:  # TensorFlow, Keras, tf2onnx made impossible to import, as on a device
            command = [
                sys.executable,
                "-c",
                BLOCK_TF + f"from edgeclf.cli import main\nsys.exit(main(['serve', *{args!r}]))",
            ]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=self._log_file, cwd=REPO, env={**os.environ, **(env or {})}
        )
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            found = LISTENING.search(self.stderr())
            if found:
                self.host, self.port = found[1], int(found[2])
                break
            if self.process.poll() is not None:
                raise AssertionError(f"server exited with {self.process.returncode}:\n{self.stderr()}")
            if time.monotonic() > deadline:
                self.process.kill()
                raise AssertionError(f"server did not start:\n{self.stderr()}")
            time.sleep(0.05)
        self.url = f"http://{self.host}:{self.port}"

    def stderr(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        """(status, parsed JSON or text) over a fresh connection."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            data = response.read()
            kind = response.getheader("Content-Type", "")
            return response.status, json.loads(data) if "json" in kind else data.decode()
        finally:
            conn.close()

    def post(self, path: str, payload) -> tuple[int, object]:
        return self.request("POST", path, json.dumps(payload).encode(), {"Content-Type": "application/json"})

    def get(self, path: str) -> tuple[int, object]:
        return self.request("GET", path)

    def metric(self, name: str, **labels: str) -> float:
        """Sum of the samples of a Prometheus series on /metrics whose labels include ``labels``."""
        status, text = self.get("/metrics")
        assert status == 200
        total = 0.0
        for line in text.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            series, value = line.rsplit(" ", 1)
            if series.split("{")[0] == name and all(f'{k}="{v}"' in series for k, v in labels.items()):
                total += float(value)
        return total

    def terminate(self, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        finally:
            self._log_file.close()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self._log_file.close()


@pytest.fixture(scope="session")
def server_class() -> type[Server]:
    return Server


@pytest.fixture
def start_server(tmp_path):
    started: list[Server] = []

    def start(*args, env: dict | None = None, no_tensorflow: bool = False) -> Server:
        server = Server(list(args), tmp_path / f"server{len(started)}.log", env, no_tensorflow)
        started.append(server)
        return server

    yield start
    for server in started:
        server.kill()

"""Load-test `edgeclf serve` with wrk; measure the serve extra's installed size and the server's cold start.

    .venv/bin/python benchmarks/serve_load.py [--bundle B] [--seconds 10] [--out benchmarks/results/serve.md]

For micro-batching on (--max-batch-size 32) and off (--max-batch-size 1), a fresh server on a loopback port is
driven by wrk at 1, 8 and 64 connections, each request a real held-out IMDB review (POST :predict, one
instance): throughput, p50/p99 latency (wrk --latency), errors (non-2xx + socket errors), mean texts per
inference call (from /metrics). Cold start = process start to the first 200 on /healthz (median of 5).
Installed size = site-packages growth when `pip install edgeclf[serve]`'s extra deps go into a fresh venv.
Without --bundle the example is converted first (needs edgeclf[convert]).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TEXTS = REPO / "convert/examples/imdb_bilstm/heldout.csv"
UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(port: int, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.005)
    raise RuntimeError("server did not become healthy")


def start(bundle: Path, port: int, *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "edgeclf.cli", "serve", str(bundle), "--model-name", "m", "--port", str(port)]
    return subprocess.Popen([*command, *extra], stderr=subprocess.DEVNULL, cwd=REPO)


def stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(120)


def wrk_script(path: Path, body: dict) -> Path:
    """A wrk Lua script POSTing ``body`` as JSON (a long-bracket string: no escaping needed)."""
    text = json.dumps(body)
    assert "]==]" not in text
    path.write_text(
        f'wrk.method = "POST"\nwrk.body = [==[{text}]==]\nwrk.headers["Content-Type"] = "application/json"\n',
        encoding="utf-8",
    )
    return path


def _seconds(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * UNITS[unit]


def run_wrk(url: str, script: Path, connections: int, seconds: float) -> dict:
    """One wrk run → requests, throughput, p50/p99 (s), non-2xx and socket errors."""
    command = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s", "--latency",
               "--timeout", "60s", "-s", str(script), url]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 120).stdout
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "requests": int(re.search(r"(\d+) requests in", out)[1]),
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1]),
        "p50": _seconds(latency["50"]),
        "p99": _seconds(latency["99"]),
        "non2xx": int(non2xx[1]) if non2xx else 0,
        "socket_errors": sum(map(int, socket_errors.groups())) if socket_errors else 0,
        "output": out,
    }


def _metric(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
        text = r.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.split("{")[0] == name)


def peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+)", status)[1]) / 1024


def cold_starts(bundle: Path, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        port = free_port()
        began = time.perf_counter()
        process = start(bundle, port)
        wait_healthy(port, process)
        times.append(time.perf_counter() - began)
        stop(process)
    return times


def installed_size(tmp: Path) -> dict:
    """site-packages growth of a fresh venv when the serve extra's pinned requirements are installed."""
    pyproject = (REPO / "pyproject.toml").read_text()
    requirements = json.loads(re.search(r"^serve = (\[.*\])$", pyproject, re.M)[1])
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    site = next(venv.glob("lib/python*/site-packages"))

    def size() -> int:
        return sum(f.stat().st_size for f in site.rglob("*") if f.is_file())

    before = size()
    pip = [str(venv / "bin/python"), "-m", "pip", "install", "-q", "--disable-pip-version-check", *requirements]
    subprocess.run(pip, check=True)
    frozen = subprocess.run([str(venv / "bin/python"), "-m", "pip", "freeze"], capture_output=True, text=True).stdout
    return {"requirements": requirements, "bytes": size() - before, "packages": frozen.split()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, help="bundle to serve (default: convert the example)")
    parser.add_argument("--seconds", type=float, default=10, help="wrk duration per cell (default: 10)")
    parser.add_argument("--connections", default="1,8,64")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/serve.md")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk; tests/install_test_env.sh does it)")
    tmp = Path(tempfile.mkdtemp(prefix="serve-load-"))
    bundle = args.bundle
    if bundle is None:
        bundle = tmp / "bundle"
        subprocess.run([sys.executable, "-m", "edgeclf.cli", "convert", "example", "-o", str(bundle)], check=True)
    with TEXTS.open(encoding="utf-8", newline="") as f:
        reviews = [row["text"] for row in csv.DictReader(f)]
    # one instance per request: a review of median length, so a request is a typical one
    review = sorted(reviews, key=len)[len(reviews) // 2]
    script = wrk_script(tmp / "predict.lua", {"instances": [review]})
    rows = []
    for batching, flag in (("on", "32"), ("off", "1")):
        port = free_port()
        process = start(bundle, port, "--max-batch-size", flag)
        wait_healthy(port, process)
        url = f"http://127.0.0.1:{port}/v1/models/m:predict"
        run_wrk(url, script, 4, 2)  # warm-up: interpreter resized, caches hot
        for connections in map(int, args.connections.split(",")):
            before = _metric(port, "edgeclf_batch_size_count"), _metric(port, "edgeclf_batch_size_sum")
            result = run_wrk(url, script, connections, args.seconds)
            calls = _metric(port, "edgeclf_batch_size_count") - before[0]
            texts = _metric(port, "edgeclf_batch_size_sum") - before[1]
            result.update(batching=batching, connections=connections, texts_per_call=texts / max(calls, 1))
            errors = result["non2xx"] + result["socket_errors"]
            print(
                f"batching {batching:3} c={connections:3}: {result['rps']:8.1f} req/s  p50 {result['p50'] * 1e3:7.1f} "
                f"ms  p99 {result['p99'] * 1e3:7.1f} ms  errors {errors}  texts/call {result['texts_per_call']:.2f}",
                flush=True,
            )
            rows.append(result)
        rss = peak_rss_mb(process.pid)
        rows[-1]["rss_mb"] = rss
        assert stop(process) == 0
    cold = cold_starts(bundle, 5)
    size = installed_size(tmp)
    write_report(args.out, rows, cold, size, review, args.seconds)
    print(f"cold start median {statistics.median(cold):.2f} s; serve extra installed size {size['bytes'] / 1e6:.1f} MB")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


def write_report(out: Path, rows: list[dict], cold: list[float], size: dict, review: str, seconds: float) -> None:
    lines = [
        "# `edgeclf serve` under load",
        "",
        f"Generated by `benchmarks/serve_load.py` on {os.cpu_count()} cores (shared with other jobs while it ran). "
        f"wrk, {seconds:g} s per cell, loopback; each request is `POST /v1/models/m:predict` with one held-out "
        f"IMDB review of median length ({len(review)} characters); the example BiLSTM bundle, its default "
        "artifact (TFLite fp32, LiteRT, 1 thread). Micro-batching on = `--max-batch-size 32`, off = `1`.",
        "",
        "| micro-batching | connections | req/s | p50 ms | p99 ms | errors | texts per inference call |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['batching']} | {r['connections']} | {r['rps']:.1f} | {r['p50'] * 1e3:.1f} | {r['p99'] * 1e3:.1f} "
            f"| {r['non2xx'] + r['socket_errors']} | {r['texts_per_call']:.2f} |"
        )
    peak = ", ".join(f"{r['batching']}: {r['rss_mb']:.0f} MB" for r in rows if "rss_mb" in r)
    lines += [
        "",
        f"- peak RSS of the server after the runs: {peak}",
        f"- cold start (process start → first 200 on /healthz), 5 runs: median {statistics.median(cold):.2f} s "
        f"(min {min(cold):.2f}, max {max(cold):.2f})",
        f"- the serve extra ({', '.join(size['requirements'])}) installs {size['bytes'] / 1e6:.1f} MB into a fresh "
        f"venv: {', '.join(size['packages'])}",
        "",
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())

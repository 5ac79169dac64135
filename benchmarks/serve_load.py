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


def wrk_script(path: Path, *bodies: dict) -> Path:
    """A wrk Lua script POSTing the JSON ``bodies`` in turn (long-bracket strings: no escaping needed)."""
    texts = [json.dumps(body) for body in bodies]
    assert not any("]==]" in t for t in texts)
    literals = ",\n".join(f"[==[{t}]==]" for t in texts)
    path.write_text(
        f"local bodies = {{\n{literals}\n}}\nlocal i = 0\n"
        "request = function()\n  i = i % #bodies + 1\n"
        '  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, bodies[i])\nend\n',
        encoding="utf-8",
    )
    return path


def _seconds(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * UNITS[unit]


def run_wrk(url: str, script: Path, connections: int, seconds: float) -> dict:
    """One wrk run → requests, throughput, p50/p99 (s), non-2xx and socket errors."""
    command = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds:g}s", "--latency",
               "--timeout", "60s", "-s", str(script), url]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 120).stdout
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.M))
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


def _batches(port: int) -> tuple[float, float]:
    """(inference calls, texts) so far, from one scrape of /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
        lines = r.read().decode().splitlines()

    def total(name: str) -> float:
        return sum(float(line.rsplit(" ", 1)[1]) for line in lines if line.split("{")[0] == name)

    return total("edgeclf_batch_size_count"), total("edgeclf_batch_size_sum")


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


def load_table(bundle: Path, artifact: str | None, script: Path, args: argparse.Namespace) -> list[dict]:
    """Micro-batching on and off, both servers up at once and measured in alternation, ``args.rounds`` times per
    cell (the machine is shared: alternation spreads its load over both); each cell reports the median round."""
    extra = ["--artifact", artifact] if artifact else []
    servers = {}
    try:
        for batching, size in (("on", "32"), ("off", "1")):
            port = free_port()
            servers[batching] = (port, start(bundle, port, "--max-batch-size", size, *extra))
        for port, process in servers.values():
            wait_healthy(port, process)
            run_wrk(f"http://127.0.0.1:{port}/v1/models/m:predict", script, 4, 2)  # warm-up
        runs: dict[tuple[str, int], list[dict]] = {}
        for round_ in range(args.rounds):
            for connections in map(int, args.connections.split(",")):
                for batching in ("on", "off") if round_ % 2 == 0 else ("off", "on"):
                    port = servers[batching][0]
                    before = _batches(port)
                    result = run_wrk(f"http://127.0.0.1:{port}/v1/models/m:predict", script, connections, args.seconds)
                    after = _batches(port)
                    result["texts_per_call"] = (after[1] - before[1]) / max(after[0] - before[0], 1)
                    runs.setdefault((batching, connections), []).append(result)
        rss = {batching: peak_rss_mb(process.pid) for batching, (_, process) in servers.items()}
        for batching, (_, process) in servers.items():
            assert stop(process) == 0, f"server (batching {batching}) did not exit 0 on SIGTERM"
    finally:
        for _, process in servers.values():
            if process.poll() is None:
                process.kill()
    rows = []
    for (batching, connections), results in runs.items():
        row = {
            "artifact": artifact or "default",
            "batching": batching,
            "connections": connections,
            "rss_mb": rss[batching],
            "errors": sum(r["non2xx"] + r["socket_errors"] for r in results),
            "requests": sum(r["requests"] for r in results),
        }
        for key in ("rps", "p50", "p99", "texts_per_call"):
            row[key] = statistics.median(r[key] for r in results)
        print(
            f"{row['artifact']:12} batching {batching:3} c={connections:3}: {row['rps']:7.1f} req/s  "
            f"p50 {row['p50'] * 1e3:7.1f} ms  p99 {row['p99'] * 1e3:7.1f} ms  errors {row['errors']}  "
            f"texts/call {row['texts_per_call']:.2f}",
            flush=True,
        )
        rows.append(row)
    return sorted(rows, key=lambda r: (r["batching"] == "off", r["connections"]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, help="bundle to serve (default: convert the example)")
    parser.add_argument("--seconds", type=float, default=5, help="wrk duration per run (default: 5)")
    parser.add_argument("--rounds", type=int, default=3, help="alternated runs per cell; the median is shown")
    parser.add_argument("--texts", type=int, default=50, help="distinct held-out reviews the requests cycle through")
    parser.add_argument("--artifacts", default="default,numpy-fp32", help="artifacts to serve (default: the "
                        "bundle's default, and numpy-fp32, whose backend really runs batches)")  # fmt: skip
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
    # one review per request, cycling through real held-out reviews of every length
    script = wrk_script(tmp / "predict.lua", *({"instances": [r]} for r in reviews[: args.texts]))
    rows = []
    for artifact in args.artifacts.split(","):
        rows += load_table(bundle, None if artifact == "default" else artifact, script, args)
    cold = cold_starts(bundle, 5)
    size = installed_size(tmp)
    write_report(args.out, rows, cold, size, args)
    print(f"cold start median {statistics.median(cold):.2f} s; serve extra installed size {size['bytes'] / 1e6:.1f} MB")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


def write_report(out: Path, rows: list[dict], cold: list[float], size: dict, args: argparse.Namespace) -> None:
    lines = [
        "# `edgeclf serve` under load",
        "",
        f"Generated by `benchmarks/serve_load.py` on a {os.cpu_count()}-core machine shared with other jobs while "
        f"it ran (so compare rows of one run, not with other machines). wrk on loopback, {args.seconds:g} s per run, "
        f"{args.rounds} runs per cell alternating batching on/off, the median run shown (errors: all runs). Each "
        f"request is `POST /v1/models/m:predict` with one held-out IMDB review, cycling through {args.texts} reviews "
        "of every length. Bundle: the example BiLSTM; `default` = its default artifact (TFLite fp32 on LiteRT, "
        "1 thread, which runs a batch one text at a time), `numpy-fp32` = the pure-numpy backend (real padded "
        "batches). Micro-batching on = `--max-batch-size 32` (`--batch-timeout-ms 0`), off = `--max-batch-size 1`.",
        "",
        "| artifact | micro-batching | connections | req/s | p50 ms | p99 ms | errors | texts per inference call "
        "| server peak RSS MB |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['artifact']} | {r['batching']} | {r['connections']} | {r['rps']:.1f} | {r['p50'] * 1e3:.1f} "
            f"| {r['p99'] * 1e3:.1f} | {r['errors']} | {r['texts_per_call']:.2f} | {r['rss_mb']:.0f} |"
        )
    lines += [
        "",
        f"- cold start (process start → first 200 on /healthz, default artifact), {len(cold)} runs: median "
        f"{statistics.median(cold):.2f} s (min {min(cold):.2f}, max {max(cold):.2f})",
        f"- the serve extra ({', '.join(size['requirements'])}) adds {size['bytes'] / 1e6:.1f} MB to a fresh venv: "
        f"{', '.join(size['packages'])}",
        "",
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())

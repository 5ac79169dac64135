"""Why `edgeclf serve` runs on aiohttp: footprint and throughput of the candidate servers, measured alike.

    python3 benchmarks/serve_frameworks.py [--seconds 5] [--out benchmarks/results/serve-frameworks.md]

Each candidate goes into its own fresh venv (pinned versions), serving the same two endpoints: GET /healthz
and a POST that parses a TF-Serving-style JSON body and answers JSON (no model: the framework's own cost).
Measured: site-packages growth over an empty venv, import time (median of 5 fresh interpreters), cold start
(process start → first 200 on /healthz, median of 5), peak RSS after load, and wrk throughput at 1, 8 and
64 connections. Needs wrk and PyPI.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve_load import free_port, peak_rss_mb, run_wrk, wait_healthy, wrk_script

REPO = Path(__file__).resolve().parent.parent
CANDIDATES = {
    "aiohttp 3.14.5": (["aiohttp==3.14.5"], "aiohttp.web", "aio"),
    "Starlette 1.10.0 + uvicorn 0.54.0 (h11, asyncio)": (
        ["starlette==1.10.0", "uvicorn==0.54.0"],
        "uvicorn, starlette.applications",
        "h11",
    ),
    "Starlette 1.10.0 + uvicorn 0.54.0 + httptools 0.9.0 + uvloop 0.23.0": (
        ["starlette==1.10.0", "uvicorn==0.54.0", "httptools==0.9.0", "uvloop==0.23.0"],
        "uvicorn, starlette.applications",
        "httptools",
    ),
}
APP = """
import json, sys
kind, port = sys.argv[1], int(sys.argv[2])
if kind == "aio":
    from aiohttp import web
    async def health(request):
        return web.json_response({"status": "ok"})
    async def predict(request):
        body = json.loads(await request.read())
        return web.json_response({"predictions": [[0.25, 0.75] for _ in body["instances"]]})
    app = web.Application()
    app.router.add_get("/healthz", health)
    app.router.add_post("/v1/models/m:predict", predict)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)
else:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route
    async def health(request):
        return JSONResponse({"status": "ok"})
    async def predict(request):
        body = json.loads(await request.body())
        return JSONResponse({"predictions": [[0.25, 0.75] for _ in body["instances"]]})
    app = Starlette(routes=[Route("/healthz", health), Route("/v1/models/m:predict", predict, methods=["POST"])])
    fast = kind == "httptools"
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                http="httptools" if fast else "h11", loop="uvloop" if fast else "asyncio")
"""


def site_size(venv: Path) -> int:
    site = next(venv.glob("lib/python*/site-packages"))
    return sum(f.stat().st_size for f in site.rglob("*") if f.is_file())


def install(requirements: list[str], kind: str, tmp: Path) -> tuple[str, float]:
    """A fresh venv with the candidate; (its python, MB added to site-packages)."""
    venv = tmp / kind
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin/python")
    empty = site_size(venv)
    subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", *requirements], check=True)
    return python, (site_size(venv) - empty) / 1e6


def one_round(python: str, modules: str, kind: str, app: Path, script: Path, seconds: float) -> dict:
    """Import time (over a bare interpreter), cold start, wrk at 1/8/64 connections, peak RSS."""
    began = time.perf_counter()
    subprocess.run([python, "-c", f"import {modules}"], check=True)
    imported = time.perf_counter() - began
    began = time.perf_counter()
    subprocess.run([python, "-c", "pass"], check=True)
    imported -= time.perf_counter() - began
    port = free_port()
    began = time.perf_counter()
    process = subprocess.Popen([python, str(app), kind, str(port)], stderr=subprocess.DEVNULL)
    try:
        wait_healthy(port, process)
        cold = time.perf_counter() - began
        url = f"http://127.0.0.1:{port}/v1/models/m:predict"
        rps = {c: run_wrk(url, script, c, seconds)["rps"] for c in (1, 8, 64)}
        rss = peak_rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(30)
    return {"import_s": imported, "cold_s": cold, "rss_mb": rss, **{f"rps{c}": v for c, v in rps.items()}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3, help="wrk duration per run (default: 3)")
    parser.add_argument("--rounds", type=int, default=5, help="alternated rounds; medians are shown (default: 5)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/serve-frameworks.md")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="serve-frameworks-") as tmp:
        tmp = Path(tmp)
        app = tmp / "app.py"
        app.write_text(APP, encoding="utf-8")
        script = wrk_script(tmp / "body.lua", {"instances": ["what a wonderful film", "a dull plot"]})
        installed = {name: install(req, kind, tmp) for name, (req, _, kind) in CANDIDATES.items()}
        runs: dict[str, list[dict]] = {name: [] for name in CANDIDATES}
        for round_ in range(args.rounds):  # candidates alternate, so the shared machine's load hits all alike
            order = list(CANDIDATES) if round_ % 2 == 0 else list(reversed(CANDIDATES))
            for name in order:
                _, modules, kind = CANDIDATES[name]
                runs[name].append(one_round(installed[name][0], modules, kind, app, script, args.seconds))
        for name, results in runs.items():
            row = {"name": name, "size_mb": installed[name][1]}
            row.update({key: statistics.median(r[key] for r in results) for key in results[0]})
            print(row, flush=True)
            rows.append(row)
    lines = [
        "# Server library for `edgeclf serve`",
        "",
        "Generated by `benchmarks/serve_frameworks.py`: the same minimal JSON app on each candidate (a fresh venv "
        f"each), loopback, wrk {args.seconds:g} s per cell; {args.rounds} rounds with the candidates alternating, "
        "medians shown. A 2-core machine shared with other jobs: compare rows of one run. Import time is over a bare "
        "interpreter start; cold start is process start to the first 200 on /healthz.",
        "",
        "| candidate | installed MB | import s | cold start s | peak RSS MB | req/s c=1 | c=8 | c=64 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['size_mb']:.1f} | {r['import_s']:.2f} | {r['cold_s']:.2f} | {r['rss_mb']:.0f} "
            f"| {r['rps1']:.0f} | {r['rps8']:.0f} | {r['rps64']:.0f} |"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

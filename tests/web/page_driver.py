"""Serve a built edgeclf web page on 127.0.0.1 and drive it in headless Chromium (tests/web/drive_page.mjs).

Shared by tests/web/test_web_page.py and benchmarks/web_bench.py. Real browser, real server, nothing mocked.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
WEB_DIR = REPO / "edgeclf" / "web"
DRIVER = HERE / "drive_page.mjs"
CHROMIUM = os.environ.get("EDGECLF_CHROMIUM", "/usr/bin/chromium")
INSTALL = "bash tests/install_test_env.sh (apt-get install chromium; npm ci --prefix edgeclf/web)"


def missing_tools() -> list[str]:
    """What the browser test needs and this machine lacks."""
    missing = []
    if not Path(CHROMIUM).is_file():
        missing.append(f"chromium ({CHROMIUM}, Debian package chromium)")
    if shutil.which("node") is None:
        missing.append("node (Debian package nodejs)")
    if not (WEB_DIR / "node_modules" / "playwright-core" / "package.json").is_file():
        missing.append("playwright-core (npm ci --prefix edgeclf/web)")
    if not (WEB_DIR / "node_modules" / "onnxruntime-web" / "package.json").is_file():
        missing.append("onnxruntime-web (npm ci --prefix edgeclf/web)")
    return missing


class _QuietHandler(SimpleHTTPRequestHandler):
    extensions_map = {  # noqa: RUF012 - the base class's attribute, extended: module scripts and WASM need these
        **SimpleHTTPRequestHandler.extensions_map,
        ".mjs": "text/javascript",
        ".js": "text/javascript",
        ".wasm": "application/wasm",
        ".json": "application/json",
    }

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serve(root: Path) -> Iterator[str]:
    """A static file server on 127.0.0.1 (a free port) for ``root``; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def drive(url: str, texts: list[tuple[str, str, str]], work: Path, screenshot_of: str | None = None,
          repeats: int = 0, timeout_s: float = 600) -> dict[str, Any]:  # fmt: skip
    """Open ``url`` in a fresh headless Chromium profile and classify ``texts`` ((id, text, 'fill'|'type')) on the
    page; returns the driver's JSON (per text: DOM scores, the page's result and latency; load timings)."""
    work.mkdir(parents=True, exist_ok=True)
    cases = []
    for case_id, text, mode in texts:
        path = work / f"text-{len(cases)}.txt"
        path.write_text(text, encoding="utf-8")
        case = {"id": case_id, "text_file": str(path), "mode": mode}
        if case_id == screenshot_of:
            case["screenshot"] = str(work / "web-screenshot.png")
        cases.append(case)
    profile = tempfile.mkdtemp(prefix="chromium-profile-", dir=work)
    job = {"url": url, "chromium": CHROMIUM, "profile": profile, "web_dir": str(WEB_DIR), "cases": cases,
           "repeats": repeats, "timeout_ms": int(timeout_s * 1000)}  # fmt: skip
    (work / "job.json").write_text(json.dumps(job), encoding="utf-8")
    done = subprocess.run(
        ["node", str(DRIVER), str(work / "job.json")], capture_output=True, text=True, timeout=timeout_s + 60
    )
    shutil.rmtree(profile, ignore_errors=True)
    if done.returncode != 0:
        raise RuntimeError(f"the browser driver failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout)

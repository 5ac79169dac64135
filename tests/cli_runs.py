"""``edgeclf`` run as users run it, in a child process, and what its failures must look like."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, "-m", "edgeclf.cli", *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def error_lines(done: subprocess.CompletedProcess) -> list[str]:
    return [line for line in done.stderr.splitlines() if line.startswith("edgeclf: error:")]


def assert_clean_failure(done: subprocess.CompletedProcess, out: Path) -> str:
    """Exit 1, no traceback, exactly one error line (returned), and neither the bundle nor a staging folder."""
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    (line,) = error_lines(done)
    assert not out.exists()
    assert [p.name for p in out.parent.iterdir() if ".partial" in p.name] == []
    return line

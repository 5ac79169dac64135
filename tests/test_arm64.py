"""The runtime on arm64 (Raspberry Pi OS bookworm userland) under qemu: same predictions as x86_64, and the
runtime's tests pass there for every backend.

Opt-in and slow (15–30 minutes): it runs only when ``EDGECLF_ARM64_ROOTFS`` names a root filesystem
built by ``benchmarks/raspberry_pi/build_rootfs.sh``, as root, with qemu-aarch64 registered in
binfmt_misc. CI does not build one. ``EDGECLF_ARM64_REQUIRED`` (default: all four) lists the
backends that must match x86 within 1e-5 on every input (folder and single file) and pass the runtime's
tests under pytest; the others are run and reported in the script's results table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "benchmarks" / "raspberry_pi" / "run_in_arm64.sh"
ROOTFS = os.environ.get("EDGECLF_ARM64_ROOTFS")


def _skip_reason() -> str | None:
    if not ROOTFS:
        return "EDGECLF_ARM64_ROOTFS is not set (build one with benchmarks/raspberry_pi/build_rootfs.sh)"
    if not (Path(ROOTFS) / "usr" / "bin" / "python3").exists():
        return f"EDGECLF_ARM64_ROOTFS={ROOTFS} holds no arm64 Python; run build_rootfs.sh first"
    if os.geteuid() != 0:
        return "the arm64 check needs root (chroot)"
    if not Path("/proc/sys/fs/binfmt_misc/qemu-aarch64").exists():
        return "qemu-aarch64 is not registered with binfmt_misc (build_rootfs.sh registers it)"
    return None


pytestmark = [pytest.mark.arm64, pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")]


def test_arm64_predictions_match_x86():
    env = {**os.environ, "PYTHON": sys.executable}
    done = subprocess.run(["bash", str(SCRIPT), ROOTFS], capture_output=True, text=True, timeout=3600, env=env)
    results_file = Path(ROOTFS) / "opt" / "edgeclf-check" / "results.json"
    assert results_file.exists(), done.stdout[-2000:] + done.stderr[-2000:]
    results = json.loads(results_file.read_text())
    required = os.environ.get("EDGECLF_ARM64_REQUIRED", "litert,onnxruntime,numpy,tflite-runtime").split(",")
    for backend in required:
        runs = {name: r for name, r in results.items() if name.startswith(f"arm64-{backend.strip()}-")}
        assert runs, f"no arm64 run for {backend}: {done.stdout[-2000:]}"
        for name, result in runs.items():
            assert result["ok"], f"{name}: {result}\n{done.stdout[-3000:]}"
            assert result["texts"] == 200 and result["label_agreement"] == 1.0
        # the runtime's tests (test_backends.py, test_runtime_without_tf.py) under pytest on aarch64
        tests = results.get(f"pytest-{backend.strip()}")
        assert tests, f"no pytest run on arm64 for {backend}: {done.stdout[-2000:]}"
        assert tests["ok"] and tests["failed"] == tests["errors"] == 0 and tests["passed"] > 0, tests

"""The runtime on Raspberry Pi OS bookworm userlands under qemu: same predictions as x86_64, and the runtime's
tests pass there for every backend. One case per architecture:

- ``arm64`` (64-bit Pi OS): litert, onnxruntime, numpy, tflite-runtime;
- ``armhf`` (32-bit Pi OS, armv7): numpy (Debian's python3-numpy) and tflite-runtime 2.14, with
  ``pip install edgeclf`` resolving its dependencies offline there (no ai-edge-litert), the bundle converted with
  ``--tflite-runtime-compatible`` (its dynamic-range artifact runs too), and a default dynamic-range artifact
  refused with one ``edgeclf: error:`` line.

Opt-in and slow (10–30 minutes each; about an hour on a heavily loaded 2-core host): a case runs only when
``EDGECLF_ARM64_ROOTFS`` / ``EDGECLF_ARMHF_ROOTFS`` names a root filesystem built by
``benchmarks/raspberry_pi/build_rootfs.sh`` (``ARCH=armhf`` for the second), as root, with qemu registered in
binfmt_misc. CI does not build one. ``EDGECLF_ARM64_REQUIRED`` /
``EDGECLF_ARMHF_REQUIRED`` (default: every backend of the architecture) list the backends that must match x86
within 1e-5 on every input (folder and single file) and pass the runtime's tests under pytest; the others are
run and reported in the script's results table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "raspberry_pi" / "run_in_arm.sh"
ARCHS = {  # ARCH: (qemu binfmt name, Python's platform.machine() there, default required backends)
    "arm64": ("qemu-aarch64", {"aarch64"}, "litert,onnxruntime,numpy,tflite-runtime"),
    # qemu-arm 7.2's default CPU is an ARMv8 in AArch32 state, so uname says armv8l, as a Pi 3/4/5's 64-bit
    # kernel does for a 32-bit process under `linux32`; a 32-bit kernel says armv7l
    "armhf": ("qemu-arm", {"armv7l", "armv8l"}, "numpy,tflite-runtime"),
}


def _rootfs(arch: str) -> str | None:
    return os.environ.get(f"EDGECLF_{arch.upper()}_ROOTFS")


def _skip_reason(arch: str) -> str | None:
    var, rootfs = f"EDGECLF_{arch.upper()}_ROOTFS", _rootfs(arch)
    if not rootfs:
        return f"{var} is not set (build one with `ARCH={arch} benchmarks/raspberry_pi/build_rootfs.sh`)"
    if not (Path(rootfs) / "usr" / "bin" / "python3").exists():
        return f"{var}={rootfs} holds no {arch} Python; run ARCH={arch} build_rootfs.sh first"
    if os.geteuid() != 0:
        return f"the {arch} check needs root (chroot)"
    if not Path(f"/proc/sys/fs/binfmt_misc/{ARCHS[arch][0]}").exists():
        return f"{ARCHS[arch][0]} is not registered with binfmt_misc (build_rootfs.sh registers it)"
    return None


def _case(arch: str):
    reason = _skip_reason(arch)
    return pytest.param(arch, marks=pytest.mark.skipif(reason is not None, reason=reason or ""))


@pytest.mark.arm64  # emulated ARM runs: opt in with the rootfs variables
@pytest.mark.parametrize("arch", [_case(a) for a in ARCHS])
def test_arm_predictions_match_x86(arch):
    rootfs = _rootfs(arch)
    env = {**os.environ, "PYTHON": sys.executable, "ARCH": arch}
    done = subprocess.run(["bash", str(SCRIPT), rootfs], capture_output=True, text=True, timeout=7200, env=env)
    tail = done.stdout[-3000:] + done.stderr[-2000:]
    results_file = Path(rootfs) / "opt" / "edgeclf-check" / "results.json"
    assert results_file.exists(), tail
    results = json.loads(results_file.read_text())
    chroot = results["chroot"]
    assert chroot["arch"] == arch and chroot["machine"] in ARCHS[arch][1], chroot
    assert chroot["python"].startswith("3.11"), chroot  # bookworm's, as on Raspberry Pi OS
    required = os.environ.get(f"EDGECLF_{arch.upper()}_REQUIRED", ARCHS[arch][2]).split(",")
    for backend in (b.strip() for b in required):
        runs = {name: r for name, r in results.items() if name.startswith(f"{arch}-{backend}-")}
        assert runs, f"no {arch} run for {backend}: {tail}"
        for name, result in runs.items():
            assert result["ok"], f"{name}: {result}\n{tail}"
            assert result["texts"] == 200
            if not result.get("quantized"):
                assert result["label_agreement"] == 1.0, name
        # the runtime's tests (test_backends.py, test_runtime_without_tf.py) under pytest on the target
        tests = results.get(f"pytest-{backend}")
        assert tests, f"no pytest run on {arch} for {backend}: {tail}"
        assert tests["ok"] and tests["failed"] == tests["errors"] == 0 and tests["passed"] > 0, tests
    assert done.returncode == 0, tail
    if arch == "armhf":
        # `pip install edgeclf` resolved its dependencies offline: Debian's numpy, no ai-edge-litert
        assert chroot["pip_install_edgeclf"].startswith("Successfully installed edgeclf-"), chroot
        # the bundle's dynamic-range artifact (--tflite-runtime-compatible) ran on tflite-runtime 2.14
        assert results["armhf-tflite-runtime-tflite-dynamic.jsonl"]["quantized"] is True
        # a default dynamic-range artifact: refused in one line, by the CLI and by Classifier.load
        refusal = results["refusal-tflite-dynamic-default"]
        assert refusal["ok"] and refusal["exit_status"] == 1 and refusal["stderr_lines"] == 1, refusal
        assert results["pytest-tflite-runtime-refusal"]["passed"] == 1, results["pytest-tflite-runtime-refusal"]


@pytest.mark.parametrize(
    ("machine", "wants_litert"),
    [("x86_64", True), ("aarch64", True), ("AMD64", True), ("armv7l", False), ("armv8l", False), ("armv6l", False)],
)
def test_pip_skips_ai_edge_litert_where_it_has_no_wheels(machine, wants_litert):
    """32-bit ARM userlands (armv6l: Pi Zero/1, armv7l: a 32-bit kernel, armv8l: a 64-bit kernel running a 32-bit
    process under linux32, or Docker/qemu arm32v7) have no ai-edge-litert wheel: pip must not require it there."""
    import tomllib
    from packaging.requirements import Requirement

    deps = [Requirement(d) for d in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]]
    (litert,) = [d for d in deps if d.name == "ai-edge-litert"]
    assert litert.marker is not None and litert.marker.evaluate({"platform_machine": machine}) is wants_litert
    assert all(d.marker is None for d in deps if d.name == "numpy")  # numpy everywhere (Debian's on a Pi)

"""A conversion killed with SIGKILL at any point never leaves a bundle that loads as complete."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

import numpy as np

from edgeclf.bundle import Bundle
from edgeclf.runtime import Classifier


def test_sigkill_at_random_points_leaves_no_half_bundle(tmp_path):
    out = tmp_path / "bundle"
    rng = np.random.default_rng(7)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    killed_during = []
    for delay in sorted(rng.uniform(0.5, 14.0, size=5)):
        proc = subprocess.Popen(
            [sys.executable, "-m", "edgeclf.cli", "convert", "example", "-o", str(out), "--force"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True,
        )  # fmt: skip
        time.sleep(delay)
        finished = proc.poll() is not None
        with contextlib.suppress(ProcessLookupError):  # it may have finished and been reaped already
            os.killpg(proc.pid, signal.SIGKILL)  # the converter's child processes die with it
        proc.wait()
        killed_during.append("finished" if finished else "running")
        if out.exists():  # only a complete bundle may ever be there: it loads, every hash checks out
            bundle = Bundle.open(out)
            for name in bundle.manifest["files"]:
                bundle.verified_path(name)
            assert Classifier.load(out).predict("a fine film")[0].labels
    assert "running" in killed_during  # at least one kill really interrupted a conversion
    # leftovers of killed runs are hidden staging folders, never the bundle's name
    assert all(p.name.startswith(".bundle.partial-") for p in tmp_path.iterdir() if p.name != "bundle")

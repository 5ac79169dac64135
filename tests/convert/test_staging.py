"""Stale staging folders of killed conversions: the next conversion removes them, an old twin that may be the
only bundle is kept (issue #9)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from cli_runs import run_cli

from edgeclf.runtime import Classifier


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # exited and reaped: no process has this PID now (a reuse within the test is vanishingly rare)
    return proc.pid


def test_killed_conversion_leaves_staging_that_the_next_conversion_removes(tmp_path):
    out = tmp_path / "bundle"
    proc = subprocess.Popen(
        [sys.executable, "-m", "edgeclf.cli", "convert", "example", "-o", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    staged: list[Path] = []
    while not staged and time.monotonic() < deadline and proc.poll() is None:
        staged = [p for p in tmp_path.glob(".bundle.partial-*") if (p / "vocab.json").exists()]
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert staged, "the conversion never started writing"
    (stale,) = list(tmp_path.glob(".bundle.partial-*"))
    assert stale.name.startswith(f".bundle.partial-{proc.pid}-") and not out.exists()

    live = tmp_path / f".bundle.partial-{os.getpid()}-live"  # this pytest process is alive: must be kept
    unknown = tmp_path / ".bundle.partial-k3j4h5g6"  # an older edgeclf's name, no PID: owner unknown, kept
    other = tmp_path / f".other.partial-{proc.pid}-abc"  # another output's: not ours to touch
    for folder in (live, unknown, other):
        folder.mkdir()
    done = run_cli("convert", "example", "-o", str(out), "--formats", "numpy")
    assert done.returncode == 0, done.stderr
    assert f"removed {stale.name}, left by a conversion that was killed" in done.stderr
    assert not stale.exists()
    assert live.is_dir() and unknown.is_dir() and other.is_dir()
    assert Classifier.load(out).predict("a fine film")[0].labels


def test_stale_old_twin_is_kept_while_it_may_be_the_only_bundle(tmp_path):
    from edgeclf.convert.pipeline import remove_stale_staging

    out, dead = tmp_path / "bundle", _dead_pid()
    old = tmp_path / f".bundle.partial-{dead}-x1y2.old"  # killed between _publish's two renames
    old.mkdir()
    assert remove_stale_staging(out) == [] and old.is_dir()
    out.mkdir()
    staging = tmp_path / f".bundle.partial-{dead}-x1y2"
    staging.mkdir()
    assert sorted(remove_stale_staging(out)) == sorted([old, staging])
    assert not old.exists() and not staging.exists() and out.is_dir()

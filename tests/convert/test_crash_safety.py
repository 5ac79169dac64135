"""A conversion killed with SIGKILL at any point never leaves a bundle that loads as complete.

The kills are driven by the converter's own progress lines on stderr (``[  x.xs] writing ...``,
``[  x.xs] publishing ...``), so they land in the last steps, where the bundle is written and renamed into
place, and the test asserts that every phase was really hit: a kill in the writing phase, one after publishing
began, and a conversion that ran to completion (then killed, which must change nothing).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from edgeclf import Classifier
from edgeclf.bundle import Bundle

# (the progress line that triggers the kill, seconds to wait after it); None: let the conversion finish.
# Writing a bundle takes milliseconds, so the kill is sent by the thread that reads the line, at once.
KILLS: list[tuple[str | None, float]] = [("writing", 0.0), ("single", 0.0), ("publishing", 0.0), (None, 0.0)]
PROGRESS = re.compile(r"\[\s*[\d.]+s\] (\S+)")
WRITING = {"writing", "single"}  # "single file X for Y": the single files are written in the writing phase


def _convert_and_kill(out: Path, trigger: str | None, delay: float) -> tuple[str, list[str]]:
    """Run ``edgeclf convert`` and SIGKILL its process group ``delay`` s after the ``trigger`` line; returns the
    phase it was in when it died (the first word of the last progress line it had written) and its stderr."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "edgeclf.cli", "convert", "example", "-o", str(out), "--force",
         "--formats", "tflite", "--quantize", "fp32", "--single-file"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    lines: list[str] = []
    for line in proc.stderr:  # every line the converter wrote before it died is in the pipe: read to EOF
        lines.append(line.rstrip("\n"))
        match = PROGRESS.match(line)
        if trigger and match and match.group(1) == trigger:
            time.sleep(delay)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # the converter's child processes die with it
            trigger = None
    returncode = proc.wait(timeout=600)
    with contextlib.suppress(ProcessLookupError):  # a finished one is reaped already: the kill changes nothing
        os.killpg(proc.pid, signal.SIGKILL)
    if returncode == 0:
        return "completed", lines
    assert returncode == -signal.SIGKILL, lines
    progress = [m.group(1) for m in map(PROGRESS.match, lines) if m]
    return ("writing" if progress[-1] in WRITING else progress[-1]), lines


def _assert_complete_or_absent(out: Path) -> bool:
    """Either no bundle at ``out``, or one that loads, verifies every file's hash and predicts."""
    if not out.exists():
        return False
    bundle = Bundle.open(out)
    for name in bundle.manifest["files"]:
        bundle.verified_path(name)
    assert Classifier.load(out).predict(["a fine film"])[0].labels
    return True


def test_sigkill_while_writing_and_publishing_leaves_no_half_bundle(tmp_path):
    out = tmp_path / "bundle"
    phases = []
    for trigger, delay in KILLS:
        phase, lines = _convert_and_kill(out, trigger, delay)
        present = _assert_complete_or_absent(out)
        print(f"kill {delay:.2f} s after {trigger or 'completion'!r}: died in {phase!r}, bundle present: {present}")
        phases.append(phase)
        if phase == "completed":
            assert present, lines
    # each phase was hit: the writing of the bundle, its publication by renames, and a finished conversion
    assert {"writing", "publishing", "completed"} <= set(phases), phases
    assert phases[-1] == "completed"
    # the last conversion removed what the killed ones left: no staging folder is left beside the bundle
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]

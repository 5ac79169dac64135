"""Atomic bundle writes: a private staging folder beside the output, published by renames.

A reader never sees a half-written bundle: everything is written into ``.NAME.partial-PID-*`` next to the
output and renamed into place at the end. The PID in the name lets a later conversion remove what a killed
one left behind without touching a live conversion's folder.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import tempfile
from pathlib import Path


def new_staging(out_dir: Path) -> Path:
    """A fresh private staging folder for ``out_dir``, in the same folder (so publishing is a rename)."""
    # our PID in the name tells a later conversion whether this folder's owner is still alive
    return Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-{os.getpid()}-", dir=out_dir.parent))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):  # it exists under another user / not a PID: keep what we cannot tell
        return True
    return True


def remove_stale_staging(out_dir: Path) -> list[Path]:
    """Remove the staging folders (``.NAME.partial-PID-*``, and their ``.old`` twins from ``publish``) that
    conversions to ``out_dir`` left when killed, where process PID no longer exists; returns what was removed.

    A live owner's folder is kept. A reused PID only makes a stale folder look alive (it is kept, never a live
    one removed); folders without a PID in their name (older edgeclf) are left alone, and so is an ``.old``
    twin while ``out_dir`` is missing (a kill between ``publish``'s two renames: it is the previous bundle).
    """
    pattern = re.compile(rf"\.{re.escape(out_dir.name)}\.partial-(\d+)-[^/]+?(\.old)?")
    removed = []
    for path in out_dir.parent.glob(f".{glob.escape(out_dir.name)}.partial-*"):
        match = pattern.fullmatch(path.name)
        if not match or not path.is_dir() or path.is_symlink() or (match.group(2) and not out_dir.exists()):
            continue
        if not _pid_alive(int(match.group(1))):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def publish(staging: Path, out_dir: Path) -> None:
    """Move the finished bundle into place with renames, so a reader never sees a half-written one."""
    if out_dir.exists():
        old = staging.with_name(staging.name + ".old")
        out_dir.rename(old)
        staging.rename(out_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(out_dir)

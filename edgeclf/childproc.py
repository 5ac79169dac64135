"""Command lines for Python child processes that never import from the current directory.

``python -m mod`` and ``python -c code`` put the current directory first on ``sys.path``, so a folder named
``edgeclf`` (a clone of this repository, say) would shadow the installed package in every child. Python 3.11 has
``-P`` for this; 3.10 has not, so the child drops that entry itself before importing anything.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

# The first statement of every child: sys is built in, so nothing was looked up in the current directory before it.
_SAFE_PATH = "import sys\nif sys.path and sys.path[0] in ('', '.'): del sys.path[0]\n"


def python_code(code: str, python: str | None = None) -> list[str]:
    """``[python, "-c", code]`` without the current directory on the child's ``sys.path``."""
    return [python or sys.executable, "-c", _SAFE_PATH + code]


def python_module(module: str, args: Sequence[str] = (), python: str | None = None) -> list[str]:
    """The same as ``python -m module args``, without the current directory on the child's ``sys.path``."""
    run = f"import runpy\nrunpy.run_module({module!r}, run_name='__main__', alter_sys=True)\n"
    return [*python_code(run, python), *args]

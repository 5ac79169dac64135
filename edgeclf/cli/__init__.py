"""The ``edgeclf`` command line: convert, predict, inspect, bench.

Each command is a module with ``add_parser(subparsers)`` that registers its arguments and its ``run``; the
commands' own work is imported only when they run. Only ``convert`` needs TensorFlow (the ``edgeclf[convert]``
extra); its arguments live with the converter (``edgeclf.convert.cli_args``) and import none of it.
Errors a user can cause print one line on stderr and exit with status 1.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from edgeclf.errors import EdgeclfError

# in the order `edgeclf --help` lists them
COMMANDS = (
    "edgeclf.convert.cli_args",
    "edgeclf.cli.predict",
    "edgeclf.cli.inspect",
    "edgeclf.bench.cli",
    "edgeclf.serve",
    "edgeclf.web",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edgeclf",
        description="Put a trained Keras RNN text classifier on a small device.",
        epilog="Example: edgeclf convert example -o bundle/ && edgeclf predict bundle/ 'what a wonderful film'",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(name)
        except ImportError:  # a trimmed install without the converter: its command is simply absent
            continue
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # argparse (before 3.12) gives `predict B --json TEXT` no home for TEXT once `texts` matched nothing
    if extra and getattr(args, "texts", None) is not None and not any(e.startswith("-") for e in extra):
        args.texts += extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return args.run(args)
    except EdgeclfError as e:
        print(f"edgeclf: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130

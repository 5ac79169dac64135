"""The ``edgeclf`` command line: convert, predict, inspect, bench.

Each command is a module with ``add_parser(subparsers)`` that registers its arguments and its ``run``; the
commands' own work is imported only when they run. Only ``convert`` needs TensorFlow (the ``edgeclf[convert]``
extra); its arguments live with the converter (``edgeclf.convert.cli_args``) and import none of it.
Errors a user can cause print one line on stderr and exit with status 1.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import os
import signal
import sys
from collections.abc import Sequence
from importlib import metadata
from typing import NoReturn

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


class Parser(argparse.ArgumentParser):
    """argparse with the habits of pip and git: a typo gets the command's own usage and a suggestion."""

    def error(self, message: str) -> NoReturn:
        if message.startswith("unrecognized arguments:"):  # name the options, not the texts that followed them
            words = message.split(":", 1)[1].split()
            unknown = [w for w in words if w.startswith("-")] or words
            message = f"unrecognized arguments: {' '.join(unknown)}{_hint(self, unknown)}"
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def _hint(parser: argparse.ArgumentParser, unknown: list[str]) -> str:
    """``(did you mean --json?)`` for a near-miss option; for a text that starts with '-', where it goes."""
    options = [o for action in parser._actions for o in action.option_strings]
    for word in unknown:
        close = difflib.get_close_matches(word.split("=", 1)[0], options, n=1, cutoff=0.6)
        if close and word.startswith("--"):
            return f" (did you mean {close[0]}?)"
    if any(word.startswith("-") for word in unknown):
        return " (a text that starts with '-' goes after `--`, e.g. edgeclf predict BUNDLE -- '-1/10, awful')"
    return ""


def _version() -> str:
    try:
        return metadata.version("edgeclf")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="edgeclf",
        description="Put a trained Keras RNN text classifier on a small device.",
        epilog="Example: edgeclf convert example -o bundle/ && edgeclf predict bundle/ 'what a wonderful film'",
    )
    parser.add_argument("--version", action="version", version=f"edgeclf {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(name)
        except ImportError:  # a trimmed install without the converter: its command is simply absent
            continue
        module.add_parser(sub)
    return parser


def parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """Options anywhere, as in pip or git: the command parses what follows its name with options and positionals
    intermixed (``predict B --json "great" -- "-1 stars"``); its own parser reports its own errors."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if not argv or argv[0] not in sub.choices:
        return parser.parse_args(argv)  # -h, --version, no or an unknown command: the top level says it
    args = sub.choices[argv[0]].parse_intermixed_args(argv[1:])
    args.command = argv[0]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parse(parser, list(sys.argv[1:] if argv is None else argv))
    try:
        return args.run(args)
    except EdgeclfError as e:
        print(f"edgeclf: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `edgeclf predict B -i big.txt | head`: the reader left; end quietly, as `cat` does
        _silence_stdout()
        return 128 + signal.SIGPIPE if hasattr(signal, "SIGPIPE") else 1


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again on the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass

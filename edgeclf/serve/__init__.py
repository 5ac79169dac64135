"""``edgeclf serve``: a TensorFlow-Serving-compatible REST endpoint for bundles (the ``edgeclf[serve]`` extra).

Only ``add_parser`` lives here, so ``edgeclf --help`` works without the extra; the server (Starlette on
uvicorn) is imported when the command runs. Details: docs/serving.md.
"""

from __future__ import annotations

import argparse
import logging
import sys
from functools import partial
from pathlib import Path

from edgeclf.errors import EdgeclfError

DEFAULT_PORT = 8501  # TF Serving's REST port


def _positive(kind: type, minimum: float) -> object:
    def parse(value: str) -> object:
        try:
            number = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {value!r}") from None
        if number < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return number

    return parse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    s = subparsers.add_parser(
        "serve",
        help="serve bundles over TF Serving's REST API (needs edgeclf[serve])",
        description="Serve bundles over HTTP with TensorFlow Serving's REST API: POST /v1/models/NAME:predict, "
        ":classify, GET /v1/models/NAME[/metadata], /healthz, /metrics. A BUNDLE is a bundle folder, a single-file "
        ".tflite/.onnx, or a TF Serving model folder (NAME/1/, NAME/2/ ...: the highest version is served and "
        "a new one is picked up while serving). Concurrent requests can be micro-batched (--max-batch-size).",
    )
    s.add_argument("bundles", nargs="+", type=Path, metavar="BUNDLE")
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)")
    s.add_argument("--port", type=_positive(int, 0), default=DEFAULT_PORT,
                   help=f"port (default: {DEFAULT_PORT}, TF Serving's REST port; 0 = any free port)")  # fmt: skip
    s.add_argument("--model-name", metavar="NAME", help="name in the URL (one BUNDLE only; default: its folder name)")
    s.add_argument("--max-batch-size", type=_positive(int, 1), default=1, metavar="N",
                   help="micro-batching: most texts per inference call, taken from concurrent requests (default: 1 "
                   "= off, as in TF Serving; when it pays: docs/serving.md)")  # fmt: skip
    s.add_argument("--batch-timeout-ms", type=_positive(float, 0), default=0.0, metavar="MS",
                   help="how long a batch waits for more requests (default 0: only those already queued)")  # fmt: skip
    s.add_argument("--max-body-bytes", type=_positive(int, 1), default=4 * 1024 * 1024, metavar="B",
                   help="largest request body accepted; larger gets 413 (default: 4 MiB)")  # fmt: skip
    s.add_argument("--poll-seconds", type=_positive(float, 0), default=1.0, metavar="S",
                   help="how often model folders are checked for a new version (default: 1; 0 = never)")  # fmt: skip
    s.add_argument("--drain-seconds", type=_positive(float, 0), default=30.0, metavar="S",
                   help="on SIGTERM, how long requests in flight may take to finish (default: 30)")  # fmt: skip
    s.add_argument("--artifact", help="artifact name from each manifest (default: the bundle's default)")
    s.add_argument("--backend", help="interpreter (default: the first installed for the artifact)")
    s.add_argument("--threads", type=_positive(int, 1), default=1, metavar="N", help="interpreter threads (default: 1)")
    s.set_defaults(run=run)


class _OneLine(logging.Formatter):
    """Log records as one line each: server libraries log some errors with a traceback, not for an operator."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            message += f": {type(error).__name__}: {error}"
        return "edgeclf serve: " + " ".join(message.split())  # some library messages span lines


def _load(path: Path, artifact: str | None, backend: str | None, threads: int) -> object:
    from edgeclf import Classifier

    return Classifier.load(path, artifact=artifact, backend=backend, num_threads=threads)


def run(args: argparse.Namespace) -> int:
    try:
        from edgeclf.serve.app import Server, Settings
    except ImportError as e:
        raise EdgeclfError(f"`edgeclf serve` needs the server: pip install 'edgeclf[serve]' ({e})") from None
    import asyncio

    from edgeclf.serve.metrics import Metrics
    from edgeclf.serve.repository import Repository, describe_source

    if args.model_name and len(args.bundles) > 1:
        raise EdgeclfError("--model-name names one model: give one BUNDLE with it")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine())
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    metrics = Metrics()
    models = [describe_source(path, args.model_name) for path in args.bundles]
    repository = Repository(models, partial(_load, artifact=args.artifact, backend=args.backend,
                                            threads=args.threads), metrics.serving)  # fmt: skip
    repository.load_all()
    settings = Settings(
        host=args.host,
        port=args.port,
        max_batch_size=args.max_batch_size,
        batch_timeout_ms=args.batch_timeout_ms,
        max_body_bytes=args.max_body_bytes,
        poll_seconds=args.poll_seconds,
        drain_seconds=args.drain_seconds,
    )
    server = Server(repository, settings, metrics)
    try:
        asyncio.run(server.serve())
    except KeyboardInterrupt:  # a second Ctrl-C while draining: stop now
        return 130
    return 0

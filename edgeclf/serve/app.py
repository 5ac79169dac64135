"""The HTTP side of ``edgeclf serve``: Starlette on uvicorn (h11), chosen by measurement (docs/serving.md).

Routes (TF Serving's REST API, https://www.tensorflow.org/tfx/serving/api_rest):
    GET  /v1/models/NAME[/versions/N]             version status
    GET  /v1/models/NAME[/versions/N]/metadata    signatures, labels
    POST /v1/models/NAME[/versions/N]:predict     {"instances": [...]} | {"inputs": ...}
    POST /v1/models/NAME[/versions/N]:classify    {"examples": [{"text": ...}]}
    GET  /healthz, GET /metrics (Prometheus text format)
Every error is JSON ``{"error": "..."}`` with the status a TF Serving client expects; no traceback is ever sent.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import signal
import socket
import sys
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from edgeclf.errors import EdgeclfError
from edgeclf.serve import tfserving as tfs
from edgeclf.serve.batcher import Batcher
from edgeclf.serve.metrics import Metrics
from edgeclf.serve.repository import Repository, ServedModel

log = logging.getLogger("edgeclf.serve")
MODEL_PATH = re.compile(
    r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+))?(?:(?P<metadata>/metadata)|:(?P<verb>[A-Za-z]+))?$"
)
VERBS = ("predict", "classify")
CLIENT_CLOSED = 499  # nginx's code for "client closed the request": in the metrics, never sent
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]


@dataclass
class Settings:
    host: str
    port: int
    max_batch_size: int
    batch_timeout_ms: float
    max_body_bytes: int
    poll_seconds: float
    drain_seconds: float


def _json(body: Any, status: int = 200) -> Response:
    # json.dumps: floats as their shortest exact repr; NaN (a score Keras itself gives) written as TF Serving does
    return Response(json.dumps(body), status_code=status, media_type="application/json")


def _error(status: int, message: str) -> Response:
    return _json(tfs.error_body(message), status)


def _route(path: str) -> tuple[str, str]:
    """(route label, model name) for the metrics."""
    if path in ("/healthz", "/metrics"):
        return path[1:], ""
    match = MODEL_PATH.match(path)
    if not match:
        return "other", ""
    return match["verb"] or ("metadata" if match["metadata"] else "status"), match["name"]


class Server:
    def __init__(self, repository: Repository, settings: Settings, metrics: Metrics) -> None:
        self.repository = repository
        self.settings = settings
        self.metrics = metrics
        self.batcher = Batcher(settings.max_batch_size, settings.batch_timeout_ms / 1000, metrics.batch)
        self.answered: Counter[str] = Counter()
        self.app = Starlette(
            routes=[
                Route("/healthz", self._healthz),
                Route("/metrics", self._metrics),
                Route("/v1/models/{tail:path}", self._models, methods=METHODS),
            ],
            exception_handlers={HTTPException: self._http_error},
        )

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        """ASGI entry: count and time every request; anything unexpected becomes a one-line 500."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        self.metrics.started()
        status = [0]

        async def send_counted(message: dict) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        route, model = _route(scope["path"])
        try:
            await self.app(scope, receive, send_counted)
        except Exception as e:
            log.error("%s %s failed: %s: %s", scope["method"], scope["path"], type(e).__name__, e)
            if not status[0]:
                await _error(500, f"internal error: {type(e).__name__}")(scope, receive, send_counted)
        finally:
            code = status[0] or CLIENT_CLOSED
            self.metrics.finished(route, model, code, time.perf_counter() - start)
            if code != CLIENT_CLOSED:
                self.answered[route] += 1

    async def _http_error(self, request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        message = {404: f"no such route: {request.url.path}", 405: f"{request.method} not allowed here"}
        return _error(error.status_code, message.get(error.status_code, error.detail))

    async def _healthz(self, request: Request) -> Response:
        return _json({"status": "ok", "models": {n: m.current.number for n, m in self._loaded()}})

    def _loaded(self) -> list[tuple[str, ServedModel]]:
        return [(n, m) for n, m in self.repository.models.items() if m.current is not None]

    async def _metrics(self, request: Request) -> Response:
        return Response(self.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    async def _models(self, request: Request) -> Response:
        match = MODEL_PATH.match(request.url.path)
        if not match:
            return _error(404, f"no such route: {request.url.path}")
        model = self.repository.models.get(match["name"])
        if model is None:
            return _error(404, f"Servable not found for request: Latest({match['name']})")
        number = None
        if match["version"] is not None:
            if not match["version"].isdigit():
                return _error(404, f"version must be a number, got {match['version']!r}")
            number = int(match["version"])
        verb = match["verb"]
        if verb is None:
            if request.method != "GET":
                return _error(405, f"{request.method} not allowed here (GET for status and metadata)")
            return self._describe(model, number, bool(match["metadata"]))
        if verb not in VERBS:
            return _error(404, f"unknown method :{verb} (this server has :predict and :classify)")
        if request.method != "POST":
            return _error(405, f":{verb} takes POST")
        version = model.version(number)  # held until answered: a version switch cannot fail this request
        if version is None:
            return _error(404, self._missing(model, number))
        try:
            body = tfs.parse_json(await self._body(request))
            if verb == "predict":
                texts, signature, columnar = tfs.parse_predict(body)
            else:
                texts, signature, columnar = tfs.parse_classify(body), "", False
            if not texts:
                raise tfs.RequestError(400, "no texts in the request")
            scores = await self._infer(request, version.classifier, model.name, texts)
        except tfs.RequestError as e:
            return _error(e.status, str(e))
        except EdgeclfError as e:
            return _error(400, str(e))
        except ClientDisconnect:
            return Response(status_code=CLIENT_CLOSED)  # nobody reads it; the metrics count it
        labels = version.classifier.labels
        if verb == "predict":
            return _json(tfs.predict_response(scores, labels, signature, columnar))
        return _json(tfs.classify_response(scores, labels))

    async def _body(self, request: Request) -> bytes:
        """The body, refused (413) past --max-body-bytes: by Content-Length before reading, else while reading."""
        limit = self.settings.max_body_bytes
        too_large = tfs.RequestError(413, f"request body larger than --max-body-bytes ({limit} bytes)")
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            raise too_large
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
        return b"".join(chunks)

    async def _infer(self, request: Request, classifier: object, model: str, texts: list[str]) -> Any:
        """Scores from the inference thread; a client that leaves first takes its texts out of the queue."""
        work = asyncio.ensure_future(self.batcher.scores(classifier, model, texts))
        gone = asyncio.ensure_future(self._disconnected(request))
        try:
            await asyncio.wait({work, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
        if not work.done():
            work.cancel()
            raise ClientDisconnect()
        return work.result()

    @staticmethod
    async def _disconnected(request: Request) -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    def _describe(self, model: ServedModel, number: int | None, metadata: bool) -> Response:
        if metadata:
            version = model.version(number)
            if version is None:
                return _error(404, self._missing(model, number))
            clf = version.classifier
            return _json(tfs.metadata(model.name, version.number, clf.labels, clf.task, clf.artifact))
        rows = model.status()
        if number is not None:
            rows = [r for r in rows if r[0] == number]
            if not rows:
                return _error(404, self._missing(model, number))
        return _json(tfs.version_status(rows))

    @staticmethod
    def _missing(model: ServedModel, number: int | None) -> str:
        current = model.current
        if number is None or current is None:
            return f"Servable not found for request: Latest({model.name})"
        return f"Servable not found for request: Specific({model.name}, {number}) (serving version {current.number})"

    def _bind(self) -> socket.socket:
        host, port = self.settings.host, self.settings.port
        try:
            family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
            sock = socket.socket(family, kind, proto)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
        except OSError as e:
            raise EdgeclfError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
        return sock

    @staticmethod
    async def _announce_stop(server: uvicorn.Server) -> None:
        while not server.should_exit:
            await asyncio.sleep(0.05)
        print("edgeclf serve: stopping: draining requests in flight", file=sys.stderr, flush=True)

    async def serve(self) -> None:
        """Run until SIGTERM/SIGINT, then stop accepting, answer every request already taken, and return."""
        sock = self._bind()
        config = uvicorn.Config(
            self,
            interface="asgi3",
            log_config=None,  # our one-line handler (edgeclf.serve.__init__), no tracebacks
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=self.settings.drain_seconds,
            backlog=512,
        )
        server = uvicorn.Server(config)
        # uvicorn handles SIGTERM/SIGINT while it serves, then re-raises the signal it caught: these handlers make
        # that harmless (and a signal just before uvicorn takes over still stops it)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: setattr(server, "should_exit", True))
        task = asyncio.ensure_future(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.005)
        if task.done():
            task.result()
            return
        self.repository.watch(self.settings.poll_seconds)
        host, port = sock.getsockname()[:2]
        names = ", ".join(f"{n} (version {m.current.number})" for n, m in self._loaded())
        print(f"edgeclf serve: {names} on http://{host}:{port}", file=sys.stderr, flush=True)
        announce = asyncio.ensure_future(self._announce_stop(server))
        await task  # returns once uvicorn has drained (up to --drain-seconds) after a signal
        announce.cancel()
        self.repository.stop()
        await asyncio.get_running_loop().run_in_executor(None, self.batcher.close, self.settings.drain_seconds)
        counts = ", ".join(f"{route} {n}" for route, n in sorted(self.answered.items()))
        print(f"edgeclf serve: stopped; answered {counts or 'no requests'}", file=sys.stderr, flush=True)

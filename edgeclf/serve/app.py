"""The HTTP side of ``edgeclf serve``, on aiohttp (chosen by measurement: docs/serving.md).

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
import logging
import re
import signal
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from edgeclf.errors import EdgeclfError
from edgeclf.serve import tfserving as tfs
from edgeclf.serve.batcher import Batcher
from edgeclf.serve.metrics import Metrics
from edgeclf.serve.repository import Repository, ServedModel, Version

log = logging.getLogger("edgeclf.serve")
MODEL_PATH = re.compile(
    r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+))?(?:(?P<metadata>/metadata)|:(?P<verb>[A-Za-z]+))?$"
)
VERBS = ("predict", "classify")
CLIENT_CLOSED = 499  # nginx's code for "client closed the request", in the metrics only
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Settings:
    host: str
    port: int
    max_batch_size: int
    batch_timeout_ms: float
    max_body_bytes: int
    poll_seconds: float
    drain_seconds: float


def _error(status: int, message: str) -> web.Response:
    return web.json_response(tfs.error_body(message), status=status)


class Server:
    def __init__(self, repository: Repository, settings: Settings, metrics: Metrics) -> None:
        self.repository = repository
        self.settings = settings
        self.metrics = metrics
        self.batcher = Batcher(settings.max_batch_size, settings.batch_timeout_ms / 1000, metrics.batch)
        self.answered: Counter[str] = Counter()

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.settings.max_body_bytes, middlewares=[self._account])
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_route("*", "/v1/models/{tail:.*}", self._models)
        return app

    @web.middleware
    async def _account(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Count and time every request; turn anything unexpected into a one-line 500 (never a traceback)."""
        start = time.perf_counter()
        self.metrics.started()
        route, model, status = "other", "", 500
        match = MODEL_PATH.match(request.path)
        if request.path in ("/healthz", "/metrics"):
            route = request.path[1:]
        elif match:
            route = match["verb"] or ("metadata" if match["metadata"] else "status")
            model = match["name"]
        try:
            response = await handler(request)
            status = response.status
            return response
        except asyncio.CancelledError:  # the client went away (or the drain ran out): nobody to answer
            status = CLIENT_CLOSED
            raise
        except web.HTTPException as e:  # aiohttp's own: unknown path, wrong method, body too large
            status = e.status
            message = e.reason
            if status == 413:
                message = f"request body larger than --max-body-bytes ({self.settings.max_body_bytes} bytes)"
            return _error(status, message)
        except Exception as e:
            log.error("%s %s failed: %s: %s", request.method, request.path, type(e).__name__, e)
            return _error(500, f"internal error: {type(e).__name__}")
        finally:
            self.metrics.finished(route, model, status, time.perf_counter() - start)
            self.answered[route] += 1

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "models": {n: m.current.number for n, m in self._loaded()}})

    def _loaded(self) -> list[tuple[str, ServedModel]]:
        return [(n, m) for n, m in self.repository.models.items() if m.current is not None]

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(text=self.metrics.render(), content_type="text/plain", charset="utf-8",
                            headers={"X-Content-Type-Options": "nosniff"})  # fmt: skip

    async def _models(self, request: web.Request) -> web.Response:
        match = MODEL_PATH.match(request.path)
        if not match:
            return _error(404, f"no such route: {request.path}")
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
        version = model.version(number)
        if version is None:
            return _error(404, self._missing(model, number))
        length = request.content_length
        if length is not None and length > self.settings.max_body_bytes:  # refused before reading a byte
            return _error(413, f"request body larger than --max-body-bytes ({self.settings.max_body_bytes} bytes)")
        try:
            body = tfs.parse_json(await request.read())
            if verb == "predict":
                texts, signature, columnar = tfs.parse_predict(body)
            else:
                texts, signature, columnar = tfs.parse_classify(body), "", False
            if not texts:
                raise tfs.RequestError(400, "no texts in the request")
            scores = await self.batcher.scores(version.classifier, model.name, texts)
        except tfs.RequestError as e:
            return _error(e.status, str(e))
        except EdgeclfError as e:
            return _error(400, str(e))
        labels = version.classifier.labels
        if verb == "predict":
            return web.json_response(tfs.predict_response(scores, labels, signature, columnar))
        return web.json_response(tfs.classify_response(scores, labels))

    def _describe(self, model: ServedModel, number: int | None, metadata: bool) -> web.Response:
        if metadata:
            version = model.version(number)
            if version is None:
                return _error(404, self._missing(model, number))
            clf = version.classifier
            return web.json_response(tfs.metadata(model.name, version.number, clf.labels, clf.task, clf.artifact))
        rows = model.status()
        if number is not None:
            rows = [r for r in rows if r[0] == number]
            if not rows:
                return _error(404, self._missing(model, number))
        return web.json_response(tfs.version_status(rows))

    @staticmethod
    def _missing(model: ServedModel, number: int | None) -> str:
        current: Version | None = model.current
        if number is None or current is None:
            return f"Servable not found for request: Latest({model.name})"
        return f"Servable not found for request: Specific({model.name}, {number}) (serving version {current.number})"

    async def serve(self) -> None:
        """Run until SIGTERM/SIGINT, then stop accepting, answer every request in flight, and return."""
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        # handler_cancellation: a client that disconnects cancels its handler, so its texts are never run
        runner = web.AppRunner(self.app(), handle_signals=False, access_log=None, handler_cancellation=True,
                               shutdown_timeout=self.settings.drain_seconds)  # fmt: skip
        await runner.setup()
        site = web.TCPSite(runner, self.settings.host, self.settings.port, backlog=512)
        try:
            await site.start()
        except OSError as e:
            await runner.cleanup()
            raise EdgeclfError(
                f"cannot listen on {self.settings.host}:{self.settings.port}: {e.strerror or e}"
            ) from None
        self.repository.watch(self.settings.poll_seconds)
        names = ", ".join(f"{n} (version {m.current.number})" for n, m in self._loaded())
        print(f"edgeclf serve: {names} on http://{self._address(site)}", file=sys.stderr, flush=True)
        await stop.wait()
        print("edgeclf serve: stopping: draining requests in flight", file=sys.stderr, flush=True)
        await runner.cleanup()  # closes the listener, then waits for every handler (up to drain_seconds)
        self.repository.stop()
        await loop.run_in_executor(None, self.batcher.close, self.settings.drain_seconds)
        counts = ", ".join(f"{route} {n}" for route, n in sorted(self.answered.items()))
        print(f"edgeclf serve: stopped; answered {counts or 'no requests'}", file=sys.stderr, flush=True)

    def _address(self, site: web.TCPSite) -> str:
        server = site._server  # the real bound port, when --port 0 asked the OS for a free one
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            host, port = sockets[0].getsockname()[:2]
            return f"{host}:{port}"
        return f"{self.settings.host}:{self.settings.port}"

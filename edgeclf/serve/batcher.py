"""Micro-batching: texts of concurrent requests run together in one ``Classifier.scores`` call.

One inference thread owns the interpreters (they are not thread-safe, and a small device has few cores), so
the event loop never runs a model and keeps accepting connections. The thread takes the first queued request,
then keeps adding queued ones while the batch has room (``max_batch_size`` texts) and the batch timeout has
not passed (0 = only what is already waiting: no request waits for company, batches form under load by
themselves). ``Classifier.scores`` gives every row exactly the result of its text run alone (the runtime's
batch rule), so a micro-batched answer is bit-equal to the same request served alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from edgeclf.errors import EdgeclfError

log = logging.getLogger("edgeclf.serve")


@dataclass
class Job:
    classifier: object  # an edgeclf Classifier (any object with .scores(texts, batch_size))
    model: str
    texts: list[str]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future


def _settle(future: asyncio.Future, result: np.ndarray | None, error: BaseException | None) -> None:
    if future.done():  # the client went away and its handler was cancelled: nobody to tell
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class Batcher:
    def __init__(
        self,
        max_batch_size: int,
        timeout_s: float,
        on_batch: Callable[[str, int, float], None] | None = None,
    ) -> None:
        self.max_batch_size = max(1, max_batch_size)
        self.timeout_s = max(0.0, timeout_s)
        self._on_batch = on_batch
        self._queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._carried: Job | None = None  # a job that did not fit the last batch: it opens the next one
        self._thread = threading.Thread(target=self._loop, name="edgeclf-inference", daemon=True)
        self._thread.start()

    async def scores(self, classifier: object, model: str, texts: list[str]) -> np.ndarray:
        """Probabilities for ``texts`` (one row each), computed in the inference thread."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put(Job(classifier, model, texts, loop, future))
        return await future

    def close(self, timeout: float | None = None) -> None:
        """Finish every queued job, then stop the thread."""
        self._queue.put(None)
        self._thread.join(timeout)

    def _next(self, timeout: float | None) -> Job | None:
        if self._carried is not None:
            job, self._carried = self._carried, None
            return job
        if timeout is None:
            return self._queue.get()
        return self._queue.get(timeout=timeout) if timeout > 0 else self._queue.get_nowait()

    def _loop(self) -> None:
        stopping = False
        while not stopping:
            first = self._next(None)
            if first is None:
                return
            batch, size = [first], len(first.texts)
            deadline = time.monotonic() + self.timeout_s
            while size < self.max_batch_size:
                try:
                    job = self._next(deadline - time.monotonic())
                except queue.Empty:
                    break
                if job is None:  # stop after this batch: every job queued before close() is in it or done
                    stopping = True
                    break
                if size + len(job.texts) > self.max_batch_size:
                    self._carried = job
                    break
                batch.append(job)
                size += len(job.texts)
            self._run(batch)
        if self._carried is not None:
            self._run([self._carried])

    def _run(self, batch: list[Job]) -> None:
        live = [job for job in batch if not job.future.done()]  # skip clients that already left
        groups: dict[int, list[Job]] = {}
        for job in live:  # requests that resolved different model versions never share a call
            groups.setdefault(id(job.classifier), []).append(job)
        for jobs in groups.values():
            try:
                self._run_group(jobs)
            except Exception as e:
                if len(jobs) == 1:
                    self._fail(jobs[0], e)
                else:  # one bad request must not fail its batch-mates: run each alone
                    for job in jobs:
                        try:
                            self._run_group([job])
                        except Exception as e2:
                            self._fail(job, e2)

    def _run_group(self, jobs: list[Job]) -> None:
        texts = [t for job in jobs for t in job.texts]
        start = time.perf_counter()
        scores = jobs[0].classifier.scores(texts, batch_size=self.max_batch_size)
        if self._on_batch is not None:
            self._on_batch(jobs[0].model, len(texts), time.perf_counter() - start)
        offset = 0
        for job in jobs:
            rows = scores[offset : offset + len(job.texts)]
            offset += len(job.texts)
            self._deliver(job, rows, None)

    def _fail(self, job: Job, error: Exception) -> None:
        if not isinstance(error, EdgeclfError):  # one line for the operator; the client gets a 500 message
            log.error("inference failed: %s: %s", type(error).__name__, error)
        self._deliver(job, None, error)

    @staticmethod
    def _deliver(job: Job, result: np.ndarray | None, error: BaseException | None) -> None:
        with contextlib.suppress(RuntimeError):  # a closed loop: the server is gone, and so is the client
            job.loop.call_soon_threadsafe(_settle, job.future, result, error)

"""Prometheus text-format metrics, written by hand: a few counters and histograms need no client library.

Updated from the event loop and the inference thread alike, so every change holds one lock.
"""

from __future__ import annotations

import threading
from collections import defaultdict

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


def _labels(pairs: tuple[tuple[str, str], ...]) -> str:
    if not pairs:
        return ""
    escaped = (f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"' for k, v in pairs)
    return "{" + ",".join(escaped) + "}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class Histogram:
    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self.counts = [0] * len(buckets)
        self.total = 0.0
        self.n = 0

    def observe(self, value: float) -> None:
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[i] += 1
        self.total += value
        self.n += 1


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple, int] = defaultdict(int)
        self.errors: dict[tuple, int] = defaultdict(int)
        self.latency: dict[tuple, Histogram] = {}
        self.batches: dict[tuple, Histogram] = {}
        self.inference: dict[tuple, Histogram] = {}
        self.versions: dict[str, int] = {}
        self.in_flight = 0

    def started(self) -> None:
        with self._lock:
            self.in_flight += 1

    def finished(self, route: str, model: str, code: int, seconds: float) -> None:
        key = (("route", route), ("model", model), ("code", str(code)))
        with self._lock:
            self.in_flight -= 1
            self.requests[key] += 1
            if code >= 400:
                self.errors[key] += 1
            series = (("route", route), ("model", model))
            self.latency.setdefault(series, Histogram(LATENCY_BUCKETS)).observe(seconds)

    def batch(self, model: str, texts: int, seconds: float) -> None:
        key = (("model", model),)
        with self._lock:
            self.batches.setdefault(key, Histogram(BATCH_BUCKETS)).observe(texts)
            self.inference.setdefault(key, Histogram(LATENCY_BUCKETS)).observe(seconds)

    def serving(self, model: str, version: int) -> None:
        with self._lock:
            self.versions[model] = version

    def render(self) -> str:
        with self._lock:
            lines: list[str] = []
            self._counter(lines, "edgeclf_requests_total", "HTTP requests answered, by route and status", self.requests)
            self._counter(lines, "edgeclf_request_errors_total", "requests answered with status >= 400", self.errors)
            self._histograms(lines, "edgeclf_request_duration_seconds", "request latency", self.latency)
            self._histograms(lines, "edgeclf_batch_size", "texts per inference call (micro-batch)", self.batches)
            self._histograms(lines, "edgeclf_inference_duration_seconds", "time per inference call", self.inference)
            lines += [
                "# HELP edgeclf_in_flight_requests requests being handled",
                "# TYPE edgeclf_in_flight_requests gauge",
            ]
            lines.append(f"edgeclf_in_flight_requests {self.in_flight}")
            lines += ["# HELP edgeclf_model_version version being served", "# TYPE edgeclf_model_version gauge"]
            lines += [f"edgeclf_model_version{_labels((('model', m),))} {v}" for m, v in sorted(self.versions.items())]
            return "\n".join(lines) + "\n"

    @staticmethod
    def _counter(lines: list[str], name: str, help_text: str, values: dict[tuple, int]) -> None:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} counter"]
        lines += [f"{name}{_labels(key)} {count}" for key, count in sorted(values.items())]

    @staticmethod
    def _histograms(lines: list[str], name: str, help_text: str, values: dict[tuple, Histogram]) -> None:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} histogram"]
        for key, h in sorted(values.items()):
            for bound, count in zip(h.buckets, h.counts, strict=True):
                lines.append(f"{name}_bucket{_labels((*key, ('le', _number(bound))))} {count}")
            lines.append(f"{name}_bucket{_labels((*key, ('le', '+Inf')))} {h.n}")
            lines.append(f"{name}_sum{_labels(key)} {_number(h.total)}")
            lines.append(f"{name}_count{_labels(key)} {h.n}")

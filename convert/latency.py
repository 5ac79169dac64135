"""Time the exact artifacts of a staged bundle, so the default artifact is the fastest one, not a fixed one.

Every artifact runs one text at a time through ``Classifier`` (end to end: tokenizer, wrapper and interpreter,
what a user's ``predict`` pays), on the parity texts, in interleaved rounds: each text is run by every artifact
before the next text, so a change in machine load during the timing hits all of them alike.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edgeclf.bundle import Bundle
from edgeclf.errors import EdgeclfError
from edgeclf.runtime import Classifier
from edgeclf.selection import FASTEST_EXACT, PINNED, is_exact, machine_description, ranking

TIMED_TEXTS = 60  # enough for a stable median, a second or two per artifact
ROUNDS = 3


def time_artifacts(folder: Path | Bundle, names: Sequence[str], texts: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Median end-to-end latency per artifact on its first installed backend; artifacts none can run are left out.
    ``folder``: a bundle folder, or the converter's staged bundle with its manifest in memory."""
    classifiers: dict[str, Classifier] = {}
    for name in names:
        try:
            classifiers[name] = Classifier.load(folder, artifact=name)
        except EdgeclfError:  # its backend is not installed on this machine: nothing to time
            continue
    chosen = [t for t in texts if t.strip()][:TIMED_TEXTS] or ["a"]
    samples: dict[str, list[float]] = {name: [] for name in classifiers}
    for clf in classifiers.values():  # warm-up: first calls allocate
        clf.raw_outputs(chosen[:3], batch_size=1)
    for _ in range(ROUNDS):
        for text in chosen:
            for name, clf in classifiers.items():
                started = time.perf_counter()
                clf.raw_outputs([text], batch_size=1)
                samples[name].append(time.perf_counter() - started)
    return {
        name: {
            "backend": classifiers[name].backend.name,
            "p50_us": round(float(np.median(s)) * 1e6, 1),
            "runs": len(s),
        }
        for name, s in samples.items()
    }


def default_choice(
    artifacts: Sequence[Mapping[str, Any]], latency: Mapping[str, Mapping[str, Any]], pinned: str | None
) -> tuple[str, dict[str, Any]]:
    """The manifest's ``default_artifact`` and ``default_choice``: the user's pin, else the fastest exact artifact
    measured here (else the first artifact, when none could be timed)."""
    exact = {a["name"]: latency[a["name"]]["p50_us"] for a in artifacts if is_exact(a) and a["name"] in latency}
    order = ranking(exact)
    choice: dict[str, Any] = {"rule": PINNED if pinned else FASTEST_EXACT, "ranking": order}
    choice["measured_on"] = machine_description()
    return pinned or (order[0] if order else artifacts[0]["name"]), choice

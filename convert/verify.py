"""Which interpreters each artifact was verified on: the one the parity check used, and optionally a second
Python (``--verify-python``), e.g. a venv with tflite-runtime 2.14 under numpy<2, where every artifact is run
again through edgeclf's runtime on the parity texts and compared with this process's results."""

from __future__ import annotations

import json
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from edgeclf.backends import BACKENDS
from edgeclf.childproc import python_code
from edgeclf.convert.parity import QUANTIZED_MIN_AGREEMENT
from edgeclf.scoring import agreement, manifest_threshold, predicted, probabilities

# backend → its interpreter's distribution, from the backend registry; sent to the other Python in the job, so an
# edgeclf installed there reads the same map
DISTRIBUTIONS = {name: entry.distribution for name, entry in BACKENDS.items()}

# Runs in the other Python: edgeclf's runtime only, so that Python needs numpy, one interpreter and edgeclf.
_RUN = """
import json, sys
from importlib import metadata
from edgeclf.backends import backends_for, installed_backends
from edgeclf.runtime import Classifier
job = json.load(sys.stdin)
results = {}
for name, fmt in job["artifacts"]:
    installed = [b for b in backends_for(fmt) if b in installed_backends()]
    if not installed:
        results[name] = {"skipped": True}
        continue
    try:
        clf = Classifier.load(job["bundle"], artifact=name, backend=installed[0])
        dist = job["distributions"].get(installed[0], installed[0])
        results[name] = {"runtime": f"{dist} {metadata.version(dist)}", "raw": clf.raw_outputs(job["texts"]).tolist()}
    except Exception as e:
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0].replace(job["bundle"] + "/", "")[:300]
        results[name] = {"error": reason}
print(json.dumps(results))
"""


def runtime_label(backend_name: str) -> str:
    """``ai-edge-litert 2.3.0`` for backend ``litert``; the numpy backend is edgeclf's own evaluator."""
    if backend_name == "numpy":
        return f"edgeclf numpy evaluator (numpy {np.__version__})"
    dist = DISTRIBUTIONS.get(backend_name, backend_name)
    try:
        return f"{dist} {metadata.version(dist)}"
    except metadata.PackageNotFoundError:
        return dist


def verify_in_python(
    python: Path,
    bundle: Path,
    artifacts: list[dict[str, Any]],
    texts: list[str],
    here: dict[str, np.ndarray],
    manifest: dict[str, Any],
    tolerance: float,
) -> dict[str, dict[str, Any]]:
    """Run ``artifacts`` of the (staged) bundle in ``python``; per artifact: the runtime it used and whether its
    scores match ``here`` (this process's raw outputs), or why it failed; formats it cannot run are left out.

    Same file, another build of the interpreter: float kernels agree to rounding (``tolerance`` on scores), while
    quantized kernels differ between versions, so those are judged like quantization itself, on labels (predicted
    with the manifest's task, output rule and multilabel threshold, as the runtime predicts them).
    """
    task, logits, threshold = manifest["task"], manifest["output"]["logits"], manifest_threshold(manifest)
    job = {
        "bundle": str(bundle),
        "texts": texts,
        "artifacts": [[a["name"], a["format"]] for a in artifacts],
        "distributions": DISTRIBUTIONS,  # one map for both sides
    }
    try:
        done = subprocess.run(
            python_code(_RUN, str(python)), input=json.dumps(job), capture_output=True, text=True, timeout=1800
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return {a["name"]: {"python": str(python), "error": f"could not run it: {e}"[:200]} for a in artifacts}
    try:
        if done.returncode != 0:
            raise ValueError((done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1])
        results = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError) as e:
        return {a["name"]: {"python": str(python), "error": str(e)[:200] or "no output"} for a in artifacts}
    verdicts = {}
    for a in artifacts:
        result = results.get(a["name"], {"error": "no result"})
        if "skipped" in result:  # that Python has no interpreter for this format: nothing was verified
            continue
        if "error" in result:
            verdicts[a["name"]] = {"python": str(python), "error": result["error"]}
            continue
        there_raw, here_raw = np.asarray(result["raw"], dtype=np.float64), here[a["name"]].astype(np.float64)
        there_p, here_p = probabilities(there_raw, task, logits), probabilities(here_raw, task, logits)
        diff = float(np.max(np.abs(there_p - here_p)))
        raw_diff = float(np.max(np.abs(there_raw - here_raw)))
        raw_tolerance = tolerance * max(1.0, float(np.max(np.abs(here_raw)))) if logits else tolerance  # as parity
        agreed = agreement(predicted(there_p, task, threshold), predicted(here_p, task, threshold))
        verdicts[a["name"]] = {
            "python": str(python),
            "runtime": result["runtime"],
            "max_abs_diff": diff,
            "label_agreement": agreed,
            "ok": diff <= tolerance and raw_diff <= raw_tolerance
            if a["precision"] == "fp32"
            else agreed >= QUANTIZED_MIN_AGREEMENT,
        }
    return verdicts

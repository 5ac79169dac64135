"""The frozen tflite-runtime 2.14 (numpy<2, the last armv7 wheels) runs edgeclf bundles, in its own venv."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from edgeclf.runtime import Classifier

PYTHON = Path(__file__).resolve().parents[2] / ".venv-tflite-runtime" / "bin" / "python"
TEXTS = ["what a wonderful film", "a dull, lifeless and far too long movie", ""]


def test_tflite_runtime_backend_gives_litert_results(example_bundle):
    assert PYTHON.exists(), "run `bash tests/install_test_env.sh` first: it makes .venv-tflite-runtime"
    code = (
        "import json, sys\n"
        "for m in ('tensorflow', 'keras', 'ai_edge_litert'):\n    sys.modules[m] = None\n"
        "import numpy, tflite_runtime\nfrom edgeclf import Classifier\n"
        f"c = Classifier.load({str(example_bundle)!r}, backend='tflite-runtime')\n"
        f"print(json.dumps([numpy.__version__, tflite_runtime.__version__, c.scores({TEXTS!r}).tolist()]))\n"
    )
    done = subprocess.run([str(PYTHON), "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    numpy_version, runtime_version, scores = json.loads(done.stdout)
    assert numpy_version.startswith("1.") and runtime_version == "2.14.0"
    expected = Classifier.load(example_bundle).scores(TEXTS)
    assert np.max(np.abs(np.asarray(scores) - expected)) <= 1e-5


def test_litert_and_tflite_runtime_are_both_registered():
    from edgeclf.backends import backends_for

    assert backends_for("tflite")[:2] == ["litert", "tflite-runtime"]
    with pytest.raises(Exception, match="cannot run onnx"):
        from edgeclf.backends import open_backend

        open_backend("tflite-runtime", "onnx", PYTHON)

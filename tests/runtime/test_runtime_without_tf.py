"""The device runtime and `edgeclf predict` work with TensorFlow, Keras and tf2onnx impossible to import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from edgeclf.runtime import Classifier

BLOCK = "import sys\nfor m in ('tensorflow', 'keras', 'tf_keras', 'tf2onnx'):\n    sys.modules[m] = None\n"
TEXTS = ["what a wonderful film", "a dull, lifeless and far too long movie", ""]


def run_blocked(code: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCK + code], input=stdin, capture_output=True, timeout=120)


def test_classifier_without_tensorflow(example_bundle):
    expected = [p.to_dict() for p in Classifier.load(example_bundle).predict(TEXTS)]
    code = (
        "import json\nfrom edgeclf import runtime\nfrom edgeclf.runtime import Classifier\n"
        f"c = Classifier.load({str(example_bundle)!r})\n"
        f"print(json.dumps([p.to_dict() for p in c.predict({TEXTS!r})]))\n"
        "assert not any(m in sys.modules and sys.modules[m] is not None for m in ('tensorflow', 'keras'))\n"
    )
    done = run_blocked(code)
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout) == expected


def test_cli_predict_without_tensorflow(example_bundle):
    code = f"from edgeclf.cli import main\nsys.exit(main(['predict', {str(example_bundle)!r}, '--json']))\n"
    stdin = "what a wonderful film\n\nterrible acting \xff\xfe and a boring plot\n".encode("latin-1")
    done = run_blocked(code, stdin=stdin)  # invalid UTF-8 on stdin is replaced, not fatal
    assert done.returncode == 0, done.stderr.decode()
    rows = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert [r["text"] for r in rows] == ["what a wonderful film", "terrible acting \ufffd\ufffd and a boring plot"]
    assert rows[0]["labels"] == ["positive"] and rows[1]["labels"] == ["negative"]
    for r in rows:
        assert set(r["scores"]) == {"negative", "positive"}
        assert abs(sum(r["scores"].values()) - 1) < 1e-6


def test_convert_is_a_subpackage_not_a_top_level_module(tmp_path):
    # a fresh interpreter in an empty folder: what the installation exposes, not pytest's own sys.path (on which
    # tests/convert/ is a namespace package called "convert")
    probe = "import importlib.util as u; print(u.find_spec('edgeclf.convert') is not None, u.find_spec('convert'))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "None"], done.stdout


def test_every_package_is_installed():
    """pyproject lists packages by hand (convert/ maps to edgeclf.convert); a new folder must be added there."""
    import tomllib

    repo = Path(__file__).resolve().parents[2]
    listed = set(tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(("edgeclf", *p.parent.relative_to(repo / "edgeclf").parts))
        for p in repo.glob("edgeclf/**/__init__.py")
    }
    found |= {
        ".".join(("edgeclf", "convert", *p.parent.relative_to(repo / "convert").parts))
        for p in repo.glob("convert/**/__init__.py")
    }
    assert found == listed


def test_every_runtime_data_file_is_packaged():
    """A file the runtime reads beside its modules (data/, the manifest schema) must be in pyproject's package-data,
    or a wheel install (the device, the arm64 check) fails at Bundle.open while an editable install works."""
    import fnmatch

    import tomllib

    repo = Path(__file__).resolve().parents[2]
    patterns = tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["edgeclf"]
    data_files = [
        p.relative_to(repo / "edgeclf").as_posix()
        for p in (repo / "edgeclf").rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and not {"__pycache__", "node_modules"} & set(p.parts)
    ]  # node_modules: what `npm ci` installs into edgeclf/web (the web page's runtime), never packaged
    assert data_files  # data/bench_texts.csv at least
    unpackaged = [f for f in data_files if not any(fnmatch.fnmatch(f, pattern) for pattern in patterns)]
    assert unpackaged == [], f"add to [tool.setuptools.package-data] 'edgeclf' in pyproject.toml: {unpackaged}"

"""Child processes (conversion toolchains, bench measurements, --verify-python) never import from the current
directory: a folder named ``edgeclf`` there (a clone of this repository, a user's own code) must not shadow the
installed package."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from edgeclf.childproc import python_code, python_module

REPO = Path(__file__).resolve().parents[2]
FAKE = "raise ImportError('the fake edgeclf in the current directory was imported')\n"


@pytest.fixture
def shadowed_cwd(tmp_path: Path) -> Path:
    """A working directory holding a fake ``edgeclf`` package that fails loudly when imported."""
    (tmp_path / "edgeclf").mkdir()
    (tmp_path / "edgeclf" / "__init__.py").write_text(FAKE)
    return tmp_path


def test_plain_python_c_would_import_the_fake(shadowed_cwd: Path) -> None:
    """The hazard is real here: without the guard, ``python -c`` imports the fake."""
    done = subprocess.run([sys.executable, "-c", "import edgeclf"], cwd=shadowed_cwd, capture_output=True, text=True)
    assert done.returncode != 0 and "fake edgeclf" in done.stderr


def test_children_import_the_installed_package(shadowed_cwd: Path) -> None:
    import edgeclf

    code = python_code("import edgeclf, sys; print(edgeclf.__file__); print(sys.argv[1:])")
    done = subprocess.run([*code, "a", "-b"], cwd=shadowed_cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [edgeclf.__file__, "['a', '-b']"]
    # a module run as __main__, with its arguments, as `python -m` would
    done = subprocess.run(python_module("edgeclf.cli", ["--version"]), cwd=shadowed_cwd, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0 and done.stdout.startswith("edgeclf "), done.stderr


@pytest.mark.slow
def test_non_editable_install_converts_from_a_shadowed_cwd(shadowed_cwd: Path, tmp_path: Path) -> None:
    """`edgeclf convert example` of a plain (non-editable) install, run where ./edgeclf is something else: the
    ONNX lowering runs in a child process, which must load the installed edgeclf.convert."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import site; print(site.getsitepackages()[0])"], capture_output=True,
                          text=True, check=True).stdout.strip()  # fmt: skip
    # the heavy dependencies (TensorFlow, ONNX) come from this environment; edgeclf itself is installed as a copy
    deps = next(p for p in sys.path if p.endswith("site-packages") and Path(p, "tensorflow").is_dir())
    Path(site, "deps.pth").write_text(deps + "\n")
    pip = [str(python), "-m", "pip", "install", "-q", "--no-deps", str(REPO)]
    done = subprocess.run(pip, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "bundle"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([str(env_dir / "bin" / "edgeclf"), "convert", "example", "-o", str(out), "--formats", "onnx",
                           "--quantize", "fp32"], cwd=shadowed_cwd, capture_output=True, text=True, timeout=1500,
                          env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (out / "manifest.json").is_file() and (out / "model.onnx").is_file()
    installed = subprocess.run([str(python), "-c", "import edgeclf; print(edgeclf.__file__)"], cwd=env_dir,
                               capture_output=True, text=True).stdout  # fmt: skip
    assert installed.startswith(site)  # the copy, not the repository: the check ran on a non-editable install

"""The `edgeclf` command behaves like pip or git: options anywhere, `--`, typo suggestions, --version, quiet on a
closed pipe, and a message that says what is actually wrong. Every case runs the real entry point in a child."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from edgeclf.convert.pipeline import EXAMPLE_DIR

CLI = [sys.executable, "-m", "edgeclf.cli"]


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], input=stdin, capture_output=True, text=True, timeout=300)


def usage_error(done: subprocess.CompletedProcess, command: str) -> str:
    """Exit 2, the command's own usage, one `edgeclf COMMAND: error:` line (returned), no traceback."""
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith(f"usage: edgeclf {command}"), done.stderr
    (line,) = [x for x in done.stderr.splitlines() if "error:" in x]
    assert line.startswith(f"edgeclf {command}: error: ")
    return line


def one_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("edgeclf: error: ")]
    return line


def test_double_dash_and_options_after_texts(small_bundle: Path) -> None:
    done = run("predict", str(small_bundle), "--json", "--", "-1 stars, awful", "--- worst")
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["text"] for line in done.stdout.splitlines()] == ["-1 stars, awful", "--- worst"]
    name = json.loads((small_bundle / "manifest.json").read_text())["artifacts"][-1]["name"]
    done = run("predict", str(small_bundle), "--artifact", name, "great", "-1 stars", "--json")
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["text"] for line in done.stdout.splitlines()] == ["great", "-1 stars"]


def test_typo_gets_the_commands_usage_and_a_suggestion(small_bundle: Path) -> None:
    line = usage_error(run("predict", str(small_bundle), "--jsn", "great film"), "predict")
    assert line == "edgeclf predict: error: unrecognized arguments: --jsn (did you mean --json?)"
    line = usage_error(run("predict", str(small_bundle), "-1/10"), "predict")
    assert "goes after `--`" in line


def test_version_and_no_arguments() -> None:
    done = run("--version")
    assert done.returncode == 0 and done.stdout.startswith("edgeclf "), done
    line = usage_error(run("predict"), "predict")
    assert line == "edgeclf predict: error: the following arguments are required: bundle"  # TEXT is optional: stdin


def test_texts_from_stdin_when_none_given(small_bundle: Path) -> None:
    done = run("predict", str(small_bundle), "--json", stdin="great film\nawful film\n")
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 2


def test_threads_must_be_positive(small_bundle: Path) -> None:
    line = usage_error(run("predict", str(small_bundle), "--threads", "0", "great"), "predict")
    assert "--threads: must be at least 1" in line


def test_closed_pipe_ends_quietly(small_bundle: Path, tmp_path: Path) -> None:
    """`edgeclf predict B -i many.txt | head -2` through a real pipe: no BrokenPipeError traceback, exit 141."""
    many = tmp_path / "many.txt"
    many.write_text("".join(f"a fine film, take {i}\n" for i in range(3000)))
    proc = subprocess.Popen([*CLI, "predict", str(small_bundle), "-i", str(many)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # what `head` does once it has its lines
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 141, err
    assert first and "Traceback" not in err and "BrokenPipe" not in err, err


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (EXAMPLE_DIR / "model.keras", "is a Keras model, not a bundle: convert it first"),
        (EXAMPLE_DIR / "heldout.csv", "not a bundle (a bundle is a folder"),
        (Path("/nonexistent/model.tflite"), "/nonexistent/model.tflite: no such file or directory"),
    ],
)
def test_predict_says_what_the_path_is(path: Path, expected: str) -> None:
    assert expected in one_error(run("predict", str(path), "great"))

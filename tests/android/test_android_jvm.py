"""The Android demo's Kotlin core agrees with the Python side on every golden vector, on the JVM.

android_demo/tools/make_android_goldens.py writes the goldens from real models (Keras tokenizer layers, the legacy
tf_keras Tokenizer, the LiteRT interpreter, edgeclf's runtime) into a temporary folder; the Kotlin core and its JUnit 5
tests (android_demo/edgeclf-core) are compiled once per session with kotlinc (npm package kotlin-compiler,
cached in android_demo/.toolchain) and run with the JUnit 5 console launcher (Debian package junit5).

The toolchain is installed by ``bash android_demo/tools/install_jvm_toolchain.sh`` (CI runs it before the tests);
without it this test fails and says so: it never skips, so a CI without the toolchain cannot pass silently.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "android_demo"
CORE = DEMO / "edgeclf-core"
TOOLCHAIN = Path(os.environ.get("EDGECLF_JVM_TOOLCHAIN", DEMO / ".toolchain"))
KOTLIN_HOME = TOOLCHAIN / "node_modules" / "kotlin-compiler"
JUNIT_JAR = Path("/usr/share/java/junit-platform-console-standalone.jar")
INSTALL = "bash android_demo/tools/install_jvm_toolchain.sh"


def _missing_toolchain() -> list[str]:
    missing = []
    if shutil.which("java") is None:
        missing.append("java (openjdk-17-jdk-headless)")
    if not (KOTLIN_HOME / "bin" / "kotlinc").is_file():
        missing.append(f"kotlinc ({KOTLIN_HOME}/bin/kotlinc, npm package kotlin-compiler)")
    if not JUNIT_JAR.is_file():
        missing.append(f"JUnit 5 console launcher ({JUNIT_JAR}, Debian package junit5)")
    return missing


def _sources() -> list[Path]:
    return sorted(CORE.glob("src/*/kotlin/**/*.kt"))


def _compile(what: str, sources: list[Path], classpath: list[Path]) -> Path:
    """kotlinc once for these sources; the classes are reused while the sources and kotlinc stay the same."""
    missing = _missing_toolchain()
    if missing:
        pytest.fail(f"the JVM toolchain is missing: {', '.join(missing)}; install it with `{INSTALL}`", pytrace=False)
    digest = hashlib.sha256()
    for path in [*sources, *classpath, KOTLIN_HOME / "package.json"]:
        digest.update(str(path.relative_to(REPO) if path.is_relative_to(REPO) else path).encode())
        digest.update(path.read_bytes())
    out = TOOLCHAIN / "classes" / f"{what}-{digest.hexdigest()[:16]}"
    if (out / ".complete").is_file():
        print(f"\n{what}: compiled classes reused from {out}")
        return out
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    command = [str(KOTLIN_HOME / "bin" / "kotlinc"), *map(str, sources), "-d", str(out), "-jvm-target", "17", "-Werror"]
    if classpath:
        command += ["-cp", os.pathsep.join(map(str, classpath))]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        pytest.fail(f"kotlinc failed on {what} ({result.returncode}):\n{result.stdout}\n{result.stderr}", pytrace=False)
    (out / ".complete").write_text("ok\n")
    print(f"\n{what}: {len(sources)} files compiled in {time.perf_counter() - started:.1f} s")
    return out


@pytest.fixture(scope="session")
def core_classes() -> Path:
    """The Kotlin core and its JUnit tests, compiled against the JUnit 5 console launcher (which holds the API)."""
    return _compile("edgeclf-core", _sources(), [JUNIT_JAR])


def _junit_failures(reports: Path) -> list[str]:
    failures = []
    for report in reports.glob("*.xml"):
        for case in ET.parse(report).getroot().iter("testcase"):
            for problem in [*case.findall("failure"), *case.findall("error")]:
                message = (problem.get("message") or problem.text or "").strip().splitlines()
                failures.append(f"{case.get('name')}: {' / '.join(message[:4])}")
    return failures


def test_kotlin_core_agrees_with_every_golden(core_classes, goldens, tmp_path):
    golden_dir, counts = goldens
    assert "imdb_bilstm" in counts and "multilabel" in counts and "multiclass_chars" in counts
    reports = tmp_path / "junit-reports"
    stdlib = KOTLIN_HOME / "lib" / "kotlin-stdlib.jar"
    started = time.perf_counter()
    result = subprocess.run(
        ["java", f"-Dedgeclf.goldens={golden_dir}", "-jar", str(JUNIT_JAR), "--disable-banner",
         "--details=summary", "--disable-ansi-colors", "--class-path", f"{core_classes}{os.pathsep}{stdlib}",
         "--select-package", "edgeclf.core", "--reports-dir", str(reports)],
        capture_output=True,
        text=True,
        timeout=900,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    summary = {
        key: int(n)
        for n, key in re.findall(r"\[\s*(\d+) (tests (?:successful|failed|found|aborted|skipped))\s*\]", result.stdout)
    }
    passed, failed = summary.get("tests successful", 0), summary.get("tests failed", 0)
    print(f"\nJUnit ({elapsed:.1f} s): {passed} passed, {failed} failed, {summary.get('tests found', 0)} found")
    print(f"golden sets: {counts}")
    failures = _junit_failures(reports)
    shown = "\n".join(failures[:40]) + (f"\n... and {len(failures) - 40} more" if len(failures) > 40 else "")
    assert result.returncode == 0 and failed == 0 and not failures, (
        f"JUnit: {passed} passed, {failed} failed (exit {result.returncode})\n{shown}\n"
        f"{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    )
    # every golden text ran as its own test, plus the hand-written core tests
    assert passed >= sum(counts.values()), (passed, counts)


def _r_names() -> dict[str, set[str]]:
    """The resource names the app's res/ folder defines, per R class (layout, id, string)."""
    res = DEMO / "app" / "src" / "main" / "res"
    ids = set()
    for layout in res.glob("layout/*.xml"):
        ids |= set(re.findall(r'android:id="@\+id/(\w+)"', layout.read_text(encoding="utf-8")))
    strings = set(re.findall(r'<string name="(\w+)"', (res / "values" / "strings.xml").read_text(encoding="utf-8")))
    return {"layout": {p.stem for p in res.glob("layout/*.xml")}, "id": ids, "string": strings}


def test_app_sources_type_check_against_android_and_litert_stubs():
    """The app module compiles with kotlinc against signature stubs of the Android and LiteRT 1.4.1 classes it uses
    (android_demo/tools/api-stubs); the stand-in R class names exactly the resources res/ defines."""
    stubs = DEMO / "tools" / "api-stubs"
    r_java = (stubs / "edgeclf" / "demo" / "R.java").read_text(encoding="utf-8")
    for kind, names in _r_names().items():
        block = re.search(rf"class {kind} \{{(.*?)\}}", r_java, re.S)
        assert block, f"R.java has no class {kind}"
        assert set(re.findall(r"int (\w+) =", block.group(1))) == names, f"R.{kind} differs from res/"
    app = sorted((DEMO / "app" / "src" / "main" / "kotlin").rglob("*.kt"))
    core = sorted((CORE / "src" / "main" / "kotlin").rglob("*.kt"))
    _compile("app-against-stubs", [*app, *core, *sorted(stubs.rglob("*.java"))], [])

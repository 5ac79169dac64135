"""One backend's pytest run under emulation: a Markdown row from its JUnit XML, recorded in results.json.

    python junit_summary.py JUNIT.xml BACKEND WALL_SECONDS RESULTS.json

Adds ``pytest-BACKEND`` to RESULTS.json (tests, passed, failed, errors, skipped, wall). Exit status 1 when
the report is missing, something failed or errored, or nothing passed.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any


def summary(junit: Path) -> dict[str, Any]:
    if not junit.is_file():
        return {"ok": False, "error": "no JUnit report (pytest did not run; see the .log beside it)"}
    root = ET.parse(junit).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    counts = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    passed = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    failed = []
    for case in suite.iter("testcase"):
        bad = [e for e in (case.find("failure"), case.find("error")) if e is not None]  # an Element with no
        if bad:  # children is falsy: compare with None, never rely on truth
            failed.append(f"{case.get('name')}: {bad[0].get('message', '')[:200]}")
    ok = counts["failures"] == counts["errors"] == 0 and passed > 0
    return {"ok": ok, "tests": counts["tests"], "passed": passed, "failed": counts["failures"],
            "errors": counts["errors"], "skipped": counts["skipped"], "failing": failed}  # fmt: skip


def main(junit: str, backend: str, wall: str, results_json: str) -> int:
    result = {**summary(Path(junit)), "wall_s": float(wall)}
    path = Path(results_json)
    results = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    results[f"pytest-{backend}"] = result
    path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if "tests" in result:
        row = [result[k] for k in ("tests", "passed", "failed", "errors", "skipped")]
        print(f"| {backend} | {' | '.join(map(str, row))} | {wall} s |")
        for failing in result["failing"]:
            print(f"|   FAILED {failing} | | | | | | |")
    else:
        print(f"| {backend} | FAILED: {result['error']} | - | - | - | - | {wall} s |")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))

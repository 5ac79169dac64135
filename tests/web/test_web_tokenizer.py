"""The web page's JavaScript core (edgeclf/web/assets/edgeclf-core.js) agrees, in Node, with every golden vector
that tests/make_android_goldens.py writes for the Android Kotlin core (the session fixture ``goldens``, shared with
tests/test_android_jvm.py): token ids from the real Keras layers and tf_keras Tokenizers, model inputs, and the
probabilities (within 1e-9) and labels edgeclf's Python runtime computed from the real interpreter's outputs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from edgeclf.web.site import python_lower_table

HERE = Path(__file__).resolve().parent


def test_js_core_agrees_with_every_golden(goldens, tmp_path):
    if shutil.which("node") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("node is missing (Debian package nodejs; bash tests/install_test_env.sh)", pytrace=False)
        pytest.skip("node is missing (Debian package nodejs; bash tests/install_test_env.sh)")
    golden_dir, counts = goldens
    table = tmp_path / "python_lower.json"
    table.write_text(json.dumps(python_lower_table()), encoding="utf-8")
    done = subprocess.run(
        ["node", str(HERE / "golden_check.mjs"), str(golden_dir), str(table)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert not summary["failures"], "\n".join(summary["failures"][:40])
    assert {name: s["cases"] for name, s in summary["sets"].items()} == counts
    assert all(s["passed"] == s["cases"] for s in summary["sets"].values())
    # the sets that carry interpreter outputs (the score heads: binary logit, multi-label, softmax probabilities)
    assert all(summary["sets"][name]["with_outputs"] == counts[name] for name in ("imdb_bilstm", "multilabel",
                                                                                   "multiclass_chars"))  # fmt: skip
    fitted = [name for name in counts if name.startswith("legacy-fitted-")]
    assert len(fitted) == 3  # legacy Tokenizers with Python's full str.lower() and final sigma
    print(f"\nJS core: {sum(counts.values())} golden texts in {len(counts)} sets, all agree")

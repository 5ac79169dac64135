"""The web page's JavaScript core (edgeclf/web/assets/edgeclf-core.js) agrees, in Node, with every golden vector
that android_demo/tools/make_android_goldens.py writes for the Android Kotlin core (the session fixture
``goldens``, shared with tests/android/test_android_jvm.py): token ids from the real Keras layers and tf_keras
Tokenizers, model inputs, and the probabilities (within 1e-9) and labels edgeclf's Python runtime computed from the real
interpreter's outputs.
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


def test_site_carries_pythons_lower_table_only_for_legacy_tokenizers():
    from edgeclf.web.site import site_config

    legacy = {"tokenizer": {"kind": "keras_tokenizer", "lower": True, "vocabulary_file": "vocab.json"}}
    config = site_config(legacy, {"name": "onnx-fp32", "input_shape": [1, 20]}, "1.30.0")
    table = config["python_lower"]
    assert table["304"] == "i\u0307" and table["65"] == "a" and str(0x3A3) not in table  # İ → i̇; Σ in context
    assert config["dynamic_length"] is False
    vectorizer = {"tokenizer": {"kind": "text_vectorization", "vocabulary_file": "vocab.json"}}
    config = site_config(vectorizer, {"name": "onnx-fp32", "input_shape": [-1, -1]}, "1.30.0")
    assert config["python_lower"] is None and config["dynamic_length"] is True

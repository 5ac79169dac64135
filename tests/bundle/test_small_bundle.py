"""The small bundle committed for tests (tests/fixtures/bundles/imdb_small) is still one this edgeclf reads: its
manifest passes the current schema, every file matches its recorded size and sha256, and every artifact loads and
classifies. When the bundle format changes, rebuild it with tests/fixtures/bundles/make_small_bundle.py."""

from __future__ import annotations

import json

import numpy as np

from edgeclf.bundle import Bundle
from edgeclf.bundle.schema import manifest_errors
from edgeclf.runtime import Classifier

MAX_BYTES = 200_000  # small on purpose: it lives in the repository


def test_committed_small_bundle_is_readable_by_this_edgeclf(small_bundle):
    manifest = json.loads((small_bundle / "manifest.json").read_text(encoding="utf-8"))
    assert manifest_errors(manifest) == []
    bundle = Bundle.open(small_bundle)
    for name in manifest["files"]:
        bundle.verified_path(name)  # size and sha256 as recorded
    assert {a["format"] for a in manifest["artifacts"]} == {"tflite", "onnx", "numpy"}
    assert sum(p.stat().st_size for p in small_bundle.rglob("*") if p.is_file()) < MAX_BYTES
    texts = ["a wonderful, moving film", "dull, slow and far too long"]
    for artifact in manifest["artifacts"]:
        predictions = Classifier.load(small_bundle, artifact=artifact["name"]).predict(texts)
        assert all(len(p.labels) == 1 and p.labels[0] in bundle.labels for p in predictions)
        assert np.isfinite([score for p in predictions for score in p.scores.values()]).all()

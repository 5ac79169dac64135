"""Every installed backend against the same expectations, on the example bundle (IMDB BiLSTM).

Parametrized over (backend × artifact of the format it runs); each case checks, with the real interpreter:
- scores within the fp32 tolerance (1e-5) of Keras on ≥ 300 real IMDB test reviews, labels 100 % the same
  (quantized artifacts: labels as the converter accepts them);
- texts without tokens (empty, whitespace, punctuation) get Keras's all-masked output, bit for bit the one
  the manifest records, and a 1 MB text (≈ 184,000 tokens) gets Keras's result;
- ``predict`` in length-bucketed batches is bit-equal to one text at a time, ``num_threads=2`` to 1, and
  four threads sharing one ``Classifier`` to serial calls;
- single files (``.edgeclf.tflite``, ``.onnx``) load with ``Classifier.load(file)`` and equal the folder.

The suite needs no TensorFlow when given a prebuilt bundle and Keras reference (how the arm64 check and the
tflite-runtime venv run it): ``EDGECLF_TEST_BUNDLE`` (a bundle converted with ``--single-file``),
``EDGECLF_TEST_REFERENCE`` (written by ``python tests/runtime/test_backends.py --write-reference OUT.json``),
``EDGECLF_TEST_BACKENDS`` (comma list: other backends' cases are deselected, see conftest.py),
``EDGECLF_TEST_EMULATED=1`` (under qemu: the first 300 reviews only, no 1 MB text). A backend that is
not installed is skipped with its name; with ``CI`` set a missing backend fails instead, and tflite-runtime
(numpy < 2, its own venv) runs this module in ``.venv-tflite-runtime`` from
``test_tflite_runtime_venv_runs_this_suite``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edgeclf.errors import EdgeclfError
from edgeclf.runtime import Classifier, probabilities

REPO = Path(__file__).resolve().parents[2]
TFLITE_RUNTIME_PYTHON = REPO / ".venv-tflite-runtime" / "bin" / "python"
TOLERANCE = 1e-5  # the fp32 bound the issue sets, on the scores users see (as the converter's parity); never loosened
QUANTIZED_MIN_AGREEMENT = 0.98  # the converter's acceptance bound for quantized artifacts (convert/parity.py)
REVIEWS = slice(200, 700)  # 500 IMDB test reviews, not the held-out ones the bundle was checked on at conversion
MIN_REVIEWS = 300
NO_TOKEN_TEXTS = ["", "   \t\n", "!!! ... ???"]
ONE_MB = 1 << 20

EMULATED = os.environ.get("EDGECLF_TEST_EMULATED") == "1"
PREBUILT = os.environ.get("EDGECLF_TEST_BUNDLE")
MODULES = {
    "litert": "ai_edge_litert",
    "tflite-runtime": "tflite_runtime",
    "onnxruntime": "onnxruntime",
    "numpy": "numpy",
}
# every (backend, artifact) the default conversion gives; test_every_artifact_is_covered keeps this list honest
PAIRS = [
    ("litert", "tflite-fp32"),
    ("litert", "tflite-dynamic"),
    ("litert", "tflite-scan-fp32"),
    ("litert", "tflite-scan-dynamic"),
    ("tflite-runtime", "tflite-fp32"),
    ("tflite-runtime", "tflite-scan-fp32"),
    ("onnxruntime", "onnx-fused-fp32"),
    ("onnxruntime", "onnx-fused-dynamic"),
    ("numpy", "numpy-fp32"),
]
# TF 2.21's FULLY_CONNECTED v12 is newer than tflite-runtime 2.14
REFUSED = {("tflite-runtime", "tflite-dynamic"), ("tflite-runtime", "tflite-scan-dynamic")}


def _prebuilt_is_tflite_runtime_compatible() -> bool:
    """A prebuilt bundle converted with --tflite-runtime-compatible (as the armhf check builds it): per-tensor
    dense weights, so tflite-runtime 2.14 runs its dynamic-range artifact instead of refusing it."""
    manifest = Path(PREBUILT or "") / "manifest.json"
    if not PREBUILT or not manifest.is_file():
        return False
    return bool(json.loads(manifest.read_text(encoding="utf-8")).get("conversion", {}).get("tflite_runtime_compatible"))


SINGLE_FILES = [  # (backend, file, the folder artifact it must equal); numpy has no single-file form
    ("litert", "model.edgeclf.tflite", "tflite-fp32"),
    ("litert", "tflite-dynamic.edgeclf.tflite", "tflite-dynamic"),
    ("tflite-runtime", "model.edgeclf.tflite", "tflite-fp32"),
    ("onnxruntime", "model.onnx", "onnx-fused-fp32"),
    ("onnxruntime", "onnx-fused-dynamic.onnx", "onnx-fused-dynamic"),
]
if _prebuilt_is_tflite_runtime_compatible():  # the refused pair runs, folder and single file
    PAIRS, REFUSED = [*PAIRS, *sorted(REFUSED)], set()
    SINGLE_FILES.append(("tflite-runtime", "tflite-dynamic.edgeclf.tflite", "tflite-dynamic"))


def one_megabyte_text(reviews: list[str]) -> str:
    """Real reviews run together to exactly 1 MiB of UTF-8 (≈ 184,000 tokens): a user pasting a whole file."""
    parts, size, i = [], 0, 0
    while size < ONE_MB:
        parts.append(reviews[i % len(reviews)])
        size += len(parts[-1].encode("utf-8")) + 1
        i += 1
    return " ".join(parts).encode("utf-8")[:ONE_MB].decode("utf-8", errors="ignore")


def make_reference() -> dict[str, Any]:
    """Keras's raw outputs for the reviews, the texts without tokens and the 1 MB text (needs TensorFlow)."""
    from edgeclf.convert.datasets import imdb_split
    from edgeclf.convert.keras_reader import load_keras_model
    from edgeclf.convert.parity import keras_raw_outputs
    from edgeclf.convert.pipeline import EXAMPLE_DIR

    model = load_keras_model(EXAMPLE_DIR / "model.keras")
    reviews = [str(t) for t in imdb_split()[1].texts[REVIEWS]]
    big = one_megabyte_text(reviews)
    # the texts without tokens inside a padded batch, as Keras sees them among others (every step masked)
    no_token = keras_raw_outputs(model, [*NO_TOKEN_TEXTS, reviews[0]])[: len(NO_TOKEN_TEXTS)]
    return {
        "reviews": reviews,
        "reviews_raw": keras_raw_outputs(model, reviews).tolist(),
        "no_token_raw": no_token.tolist(),
        "one_megabyte_sha256": hashlib.sha256(big.encode("utf-8")).hexdigest(),
        "one_megabyte_raw": keras_raw_outputs(model, [big]).tolist(),  # alone: 32 rows × 184k steps would not fit
    }


# --- fixtures ------------------------------------------------------------------------------------------


def _unavailable(backend: str) -> None:
    """Skip (naming the backend) when it is not installed here; in CI, where all four are, fail instead."""
    module = MODULES[backend]
    if importlib.util.find_spec(module) is not None:
        return
    reason = f"backend {backend} is not installed in this Python (no module {module})"
    if backend == "tflite-runtime" and not PREBUILT:
        pytest.skip(f"{reason}; test_tflite_runtime_venv_runs_this_suite runs its cases in .venv-tflite-runtime")
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: CI installs every backend (bash tests/install_test_env.sh)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def bundle(request, tmp_path_factory) -> Path:
    """The prebuilt bundle, or the session's example bundle copied with its single .tflite files written."""
    if PREBUILT:
        return Path(PREBUILT)
    from edgeclf.bundle.single_file import write_single_file

    copy = tmp_path_factory.mktemp("backends") / "imdb"
    shutil.copytree(request.getfixturevalue("example_bundle"), copy)
    for artifact in ("tflite-fp32", "tflite-dynamic"):
        write_single_file(copy, artifact)
    return copy


@pytest.fixture(scope="module")
def reference_file(tmp_path_factory) -> Path:
    if os.environ.get("EDGECLF_TEST_REFERENCE"):
        return Path(os.environ["EDGECLF_TEST_REFERENCE"])
    path = tmp_path_factory.mktemp("reference") / "keras_reference.json"
    path.write_text(json.dumps(make_reference()), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def reference(reference_file) -> dict[str, Any]:
    ref = json.loads(reference_file.read_text(encoding="utf-8"))
    n = MIN_REVIEWS if EMULATED else len(ref["reviews"])  # qemu runs ~80× slower
    ref["reviews"], ref["reviews_raw"] = ref["reviews"][:n], np.asarray(ref["reviews_raw"][:n], dtype=np.float64)
    assert len(ref["reviews"]) >= MIN_REVIEWS
    return ref


@pytest.fixture(scope="module")
def mixed_texts(reference) -> list[str]:
    """Long reviews, their first 80 characters, and texts without tokens: batches of very different lengths."""
    reviews, n = reference["reviews"], 8 if EMULATED else 24  # fewer under qemu, where a review takes ~0.3 s
    return [*reviews[:n], *NO_TOKEN_TEXTS, "great", "what a wonderful film", *(t[:80] for t in reviews[n : 2 * n])]


@pytest.fixture(scope="module", params=PAIRS, ids="-".join)
def case(request, bundle) -> tuple[str, str, Classifier]:
    backend, artifact = request.param
    _unavailable(backend)
    clf = Classifier.load(bundle, artifact=artifact, backend=backend)
    assert clf.backend.name == backend and clf.artifact == artifact
    return backend, artifact, clf


def _precision(bundle: Path, artifact: str) -> str:
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    (entry,) = [a for a in manifest["artifacts"] if a["name"] == artifact]
    return entry["precision"]


def _labels(probs: np.ndarray) -> np.ndarray:
    return np.argmax(probs, axis=1)  # the example is binary: one label per text


# --- the same expectations for every backend ------------------------------------------------------------


def test_scores_match_keras_on_real_reviews(case, bundle, reference):
    backend, artifact, clf = case
    keras = probabilities(reference["reviews_raw"], clf.task, clf.outputs_logits)
    raw = clf.raw_outputs(reference["reviews"])  # in length-bucketed batches where the backend batches
    ours = probabilities(raw, clf.task, clf.outputs_logits)  # what Classifier.scores returns
    diff = np.max(np.abs(ours - keras), axis=1)  # per text
    agreement = float(np.mean(_labels(ours) == _labels(keras)))
    raw_diff = np.max(np.abs(raw - reference["reviews_raw"]))
    print(f"\n{backend} {artifact}: {len(diff)} reviews, max |Δ| score {diff.max():.3g} (logit {raw_diff:.3g}), "
          f"label agreement {agreement:.4f}")  # fmt: skip
    assert ours.shape == (len(reference["reviews"]), 2) and np.all(np.isfinite(ours))
    if _precision(bundle, artifact) == "fp32":
        assert np.all(diff <= TOLERANCE), f"{int(np.sum(diff > TOLERANCE))} reviews beyond {TOLERANCE}"
        assert agreement == 1.0
    else:  # quantized: weights rounded to 8 bits, the labels are what is held to a bound
        assert agreement >= QUANTIZED_MIN_AGREEMENT


def test_texts_without_tokens(case, bundle, reference):
    _, _, clf = case
    no_token = clf.raw_outputs(NO_TOKEN_TEXTS)
    recorded = np.asarray(json.loads((bundle / "manifest.json").read_text())["output"]["no_token_raw"], np.float32)
    assert np.array_equal(no_token, np.tile(recorded, (len(NO_TOKEN_TEXTS), 1)))  # every backend: these bits
    assert np.max(np.abs(no_token - np.asarray(reference["no_token_raw"]))) <= TOLERANCE  # = Keras, all masked


def test_the_backend_itself_on_a_row_of_padding_only(case, bundle, reference):
    """The rule above hands token-less texts the manifest's stored Keras output, so it tests no backend. Here the
    backend's own computation, where it is defined: a padded batch whose second row is all padding (ONNX: its
    sequence_lens is 0; numpy: every step masked), which must give Keras's all-masked result."""
    backend, artifact, clf = case
    if _precision(bundle, artifact) != "fp32":
        pytest.skip("quantized: no exact expectation for one row")
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    (entry,) = [a for a in manifest["artifacts"] if a["name"] == artifact]
    ids = clf.model_input(reference["reviews"][0])
    if clf.backend.batches and clf.backend.dynamic_length and clf.padding_is_noop:
        matrix = np.zeros((2, len(ids)), np.int32)
        matrix[0] = ids
        own = np.asarray(clf.backend.run_batch(matrix), np.float64).reshape(2, -1)
    elif entry["rnn"] in ("loop", "scan"):  # loop: Keras's mask; scan: its output times "has a token"
        own = np.asarray([clf.backend.run(ids), clf.backend.run(np.zeros(1, np.int32))], np.float64).reshape(2, -1)
    else:
        pytest.skip(f"{artifact}: a fused kernel has no mask, a token-less text gets the rule's stored output")
    keras = np.asarray(reference["no_token_raw"][:1], np.float64)  # Keras: "" padded beside a review, all masked
    assert not np.array_equal(own[1], own[0])  # the padding row is not simply its batch-mate's answer
    scores = [probabilities(raw, clf.task, clf.outputs_logits) for raw in (own[1:], keras)]
    diff = float(np.max(np.abs(scores[0] - scores[1])))
    print(f"\n{backend} {artifact}: all-padding row {own[1]} vs Keras all-masked {keras[0]}: max |Δ| score {diff:.3g}")
    assert diff <= TOLERANCE


@pytest.mark.skipif(EMULATED, reason="1 MB text skipped under qemu: ≈184,000 recurrent steps take minutes there")
def test_one_megabyte_text(case, bundle, reference):
    backend, artifact, clf = case
    big = one_megabyte_text(reference["reviews"])
    assert len(big.encode("utf-8")) > ONE_MB - 4  # cut at a character boundary
    assert hashlib.sha256(big.encode("utf-8")).hexdigest() == reference["one_megabyte_sha256"]
    ours = clf.scores([big])
    keras = probabilities(np.asarray(reference["one_megabyte_raw"]), clf.task, clf.outputs_logits)
    print(f"\n{backend} {artifact}: 1 MB text, {len(clf.model_input(big)):,} tokens, max |Δ| score "
          f"{np.max(np.abs(ours - keras)):.3g}")  # fmt: skip
    assert np.all(np.isfinite(ours)) and _labels(ours)[0] == _labels(keras)[0]
    if _precision(bundle, artifact) == "fp32":
        assert np.max(np.abs(ours - keras)) <= TOLERANCE


def test_batches_equal_one_text_at_a_time(case, mixed_texts):
    """Bit-equal for every backend: numpy multiplies row by row, ORT's fp32 LSTM is row-independent, the
    TFLite interpreters run one text at a time anyway, and ORT dynamic-quantized graphs are not batched."""
    _, _, clf = case
    alone = np.concatenate([clf.raw_outputs([t]) for t in mixed_texts])
    for batch_size in (32, 7):
        assert np.array_equal(clf.raw_outputs(mixed_texts, batch_size=batch_size), alone), batch_size
    assert [p.to_dict() for p in clf.predict(mixed_texts)] == [clf.predict(t)[0].to_dict() for t in mixed_texts]


def test_two_threads_per_call_equal_one(case, bundle, mixed_texts):
    backend, artifact, clf = case
    two = Classifier.load(bundle, artifact=artifact, backend=backend, num_threads=2)
    assert np.array_equal(two.raw_outputs(mixed_texts), clf.raw_outputs(mixed_texts))


def test_four_threads_sharing_one_classifier_equal_serial(case, mixed_texts):
    _, _, clf = case
    texts = [t[:300] for t in mixed_texts]  # short: 4 threads × many calls stay quick, under qemu too
    serial = {t: clf.raw_outputs([t])[0] for t in texts}
    serial_batch = clf.raw_outputs(texts)
    failures: list[str] = []

    def work(k: int) -> None:
        try:
            for i in range(2 * len(texts)):
                # every thread also runs a whole batch now and then
                if i % 25 == k and not np.array_equal(clf.raw_outputs(texts), serial_batch):
                    failures.append(f"thread {k} batch {i}")
                text = texts[(i * 7 + k) % len(texts)]
                if not np.array_equal(clf.raw_outputs([text])[0], serial[text]):
                    failures.append(f"thread {k} call {i}")
        except Exception as e:  # an interpreter error in a thread must fail the test, not vanish
            failures.append(f"thread {k}: {e!r}")

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


@pytest.mark.parametrize(("backend", "file", "artifact"), SINGLE_FILES,
                         ids=lambda v: v)  # fmt: skip
def test_single_file_equals_the_folder(bundle, mixed_texts, backend, file, artifact):
    _unavailable(backend)
    single = Classifier.load(bundle / file, backend=backend)
    folder = Classifier.load(bundle, artifact=artifact, backend=backend)
    assert single.backend.name == backend and single.labels == folder.labels == ["negative", "positive"]
    assert np.array_equal(single.raw_outputs(mixed_texts), folder.raw_outputs(mixed_texts))
    assert [p.to_dict() for p in single.predict(mixed_texts)] == [p.to_dict() for p in folder.predict(mixed_texts)]
    if file.endswith(".onnx"):  # no backend named: ONNX Runtime, and the quantized graph is still not batched
        default = Classifier.load(bundle / file)
        assert default.backend.name == "onnxruntime"
        assert default.backend.batch_invariant == (_precision(bundle, artifact) == "fp32")


@pytest.mark.parametrize(("backend", "artifact"), sorted(REFUSED))
def test_refused_artifact_is_a_clear_error(bundle, backend, artifact):
    _unavailable(backend)
    with pytest.raises(EdgeclfError, match=f"{backend} cannot load this model") as refused:
        Classifier.load(bundle, artifact=artifact, backend=backend)
    message = str(refused.value)  # one line, naming the op and the way out
    assert "\n" not in message and "FULLY_CONNECTED" in message and "--tflite-runtime-compatible" in message, message


def test_every_artifact_is_covered(bundle):
    from edgeclf.backends import backends_for

    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    runnable = {(b, a["name"]) for a in manifest["artifacts"] for b in backends_for(a["format"])}
    assert runnable == set(PAIRS) | REFUSED
    files = {file for _, file, _ in SINGLE_FILES}
    assert {entry["file"] for entry in manifest.get("single_files", [])} <= files  # listed: tested
    assert {a["file"] for a in manifest["artifacts"] if a["format"] == "onnx"} <= files  # every .onnx is one
    assert all((bundle / file).is_file() for file in files)


# --- tflite-runtime: numpy < 2, so its own venv runs this same module ---------------------------------------


@pytest.mark.skipif(bool(PREBUILT), reason="an inner run (prebuilt bundle): the outer run starts the venv")
def test_tflite_runtime_venv_runs_this_suite(bundle, reference_file, tmp_path):
    if importlib.util.find_spec("tflite_runtime") is not None:
        pytest.skip("tflite-runtime is installed in this Python: its cases ran in-process above")
    if not TFLITE_RUNTIME_PYTHON.exists():
        message = "no .venv-tflite-runtime: run `bash tests/install_test_env.sh` (it makes it, with pytest)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(f"backend tflite-runtime: {message}")
    report = tmp_path / "junit.xml"
    env = {**os.environ, "EDGECLF_TEST_BUNDLE": str(bundle), "EDGECLF_TEST_REFERENCE": str(reference_file),
           "EDGECLF_TEST_BACKENDS": "tflite-runtime"}  # fmt: skip
    command = [str(TFLITE_RUNTIME_PYTHON), "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}",
               str(Path(__file__)), "-k", "not venv_runs_this_suite"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env, cwd=tmp_path)
    print(done.stdout[-1500:])
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    suite = ET.parse(report).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    counts = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    # the seven per-case tests per artifact (the backend's own answer for a padding-only row included), the single
    # files, the refused artifacts, the coverage check
    cases = [pair for pair in PAIRS if pair[0] == "tflite-runtime"]
    single_files = [entry for entry in SINGLE_FILES if entry[0] == "tflite-runtime"]
    expected = 7 * len(cases) + len(single_files) + len(REFUSED) + 1
    assert counts == {"tests": expected, "failures": 0, "errors": 0, "skipped": 0}, counts


if __name__ == "__main__":  # the arm64 check writes the Keras reference on the host
    if sys.argv[1:2] != ["--write-reference"] or len(sys.argv) != 3:
        sys.exit("usage: python tests/runtime/test_backends.py --write-reference OUT.json")
    Path(sys.argv[2]).write_text(json.dumps(make_reference()), encoding="utf-8")

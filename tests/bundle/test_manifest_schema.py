"""Issue #9's remaining reliability items, each tried for real: the manifest's JSON Schema (and the small
validator agreeing with ``jsonschema``), stale staging folders of killed conversions, ``--unsafe``, tokenizers
that do not fit the Embedding, unregistered custom layers, odd texts end to end, and RSS over 100,000
predictions in a child process."""

from __future__ import annotations

import contextlib
import copy
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from edgeclf.bundle import Bundle
from edgeclf.bundle.schema import format_path, iter_errors, manifest_errors, manifest_schema
from edgeclf.bundle.single_file import write_single_file
from edgeclf.errors import BundleError
from edgeclf.runtime import Classifier, probabilities

FP32_TOLERANCE = 1e-5  # max |Δ| of probabilities between two float32 implementations (the converter's bound)
RSS_TOLERANCE = 0.02  # the bound: RSS after 100,000 predictions within 2% of RSS after 1,000
WORDS = ["the", "a", "film", "good", "bad", "plot", "acting", "dull", "great", "movie", "story", "slow", "fast"]
ENDURANCE_PREDICTIONS = 100_000  # ~16 s on one core of the development machine, so it runs by default


def run_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, "-m", "edgeclf.cli", *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def error_lines(done: subprocess.CompletedProcess) -> list[str]:
    return [line for line in done.stderr.splitlines() if line.startswith("edgeclf: error:")]


def assert_clean_failure(done: subprocess.CompletedProcess, out: Path) -> str:
    """Exit 1, no traceback, exactly one error line (returned), and neither the bundle nor a staging folder."""
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    (line,) = error_lines(done)
    assert not out.exists()
    assert [p.name for p in out.parent.iterdir() if ".partial" in p.name] == []
    return line


# --- the manifest's JSON Schema ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ids_bundle(tmp_path_factory) -> Path:
    """A model that takes token ids, with a word_index tokenizer, converted to TFLite fp32 + int8 (the int8 loop
    crashes the TF converter: a failed artifact), calibrated, with a single file: the manifest's other shapes."""
    import keras

    from edgeclf.convert.pipeline import TokenizerSource, convert

    folder = tmp_path_factory.mktemp("ids")
    model = keras.Sequential(
        [keras.Input(shape=(12,), dtype="int32"), keras.layers.Embedding(40, 8), keras.layers.LSTM(4),
         keras.layers.Dense(3, activation="softmax")]
    )  # fmt: skip
    model.save(folder / "ids.keras")
    (folder / "word_index.json").write_text(json.dumps({w: i + 1 for i, w in enumerate(WORDS)}))
    out = folder / "bundle"
    convert(
        folder / "ids.keras",
        out,
        labels=["x", "y", "z"],
        tokenizer_source=TokenizerSource(folder / "word_index.json"),
        formats=["tflite"],
        precisions=["fp32", "int8"],
        rnn_forms=["loop"],  # WHILE form (a fixed-length LSTM defaults to fused): its int8 crash is the failure kept
        single_file=True,
        progress=lambda message: None,
    )
    return out


@pytest.fixture(scope="module")
def real_manifests(example_bundle, ids_bundle) -> list[dict[str, Any]]:
    example = Bundle.open(example_bundle).manifest
    ids = Bundle.open(ids_bundle).manifest
    embedded = Bundle.open(ids_bundle / "model.edgeclf.tflite").manifest
    # the shapes the schema must describe are really there
    assert {a["format"] for a in example["artifacts"]} == {"tflite", "onnx", "numpy"}
    assert "no_token_raw" in example["output"] and example["input"]["sequence_length"] is None
    assert [f["name"] for f in ids["failed_artifacts"]] == ["tflite-int8"] and "calibration" in ids
    assert ids["tokenizer"]["kind"] == "keras_tokenizer" and ids["single_files"]
    assert "single_file" in embedded and "labels.txt" in embedded["files"]
    return [example, ids, embedded]


def test_schema_is_valid_draft_2020_12():
    jsonschema = pytest.importorskip("jsonschema")
    schema = manifest_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_real_manifests_satisfy_the_schema(real_manifests):
    for manifest in real_manifests:
        assert manifest_errors(manifest) == []
    jsonschema = pytest.importorskip("jsonschema")  # the lead adds it to the test extra; the check above runs anyway
    validator = jsonschema.Draft202012Validator(manifest_schema())
    for manifest in real_manifests:
        assert list(validator.iter_errors(manifest)) == []


def _subschemas(schema: Any) -> list[dict[str, Any]]:
    """The schema and every schema inside it (under properties, $defs, items, additionalProperties, ...)."""
    if not isinstance(schema, dict):
        return []
    found = [schema]
    for keyword, value in schema.items():
        if keyword in ("properties", "$defs"):
            for subschema in value.values():
                found += _subschemas(subschema)
        elif keyword in ("items", "additionalProperties", "propertyNames"):
            found += _subschemas(value)
    return found


def test_small_validator_implements_every_keyword_the_schema_uses():
    schema = manifest_schema()
    for subschema in _subschemas(schema):  # every keyword of every subschema is looked at, whatever the value
        list(iter_errors(None, subschema, schema))
    with pytest.raises(ValueError, match="does not implement the keyword 'maxLength'"):
        list(iter_errors("abc", {"maxLength": 2}))  # an unknown keyword is never silently ignored


def _set(path: tuple, value: Any) -> Any:
    def mutate(manifest: dict) -> None:
        target = manifest
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return mutate


def _delete(path: tuple) -> Any:
    def mutate(manifest: dict) -> None:
        target = manifest
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]

    return mutate


RECORD = {"size": 1, "sha256": "0" * 64}
# (mutation, the path the small validator names, or None when the manifest stays valid)
BROKEN = [
    (_set(("artifacts", 0, "sha256"), 5), "artifacts[0].sha256: expected a string"),
    (_delete(("task",)), "missing required key 'task'"),
    (_set(("task",), "regression"), "task: expected one of"),
    (_set(("labels",), []), "labels: expected at least 1 item(s)"),
    (_set(("labels",), ["a", 3]), "labels[1]: expected a string"),
    (_set(("files", "../evil.json"), RECORD), "files: key '../evil.json': expected a plain file name"),
    (_set(("files", "vocab.json", "mtime"), 1), "files[\"vocab.json\"]: unexpected key 'mtime'"),
    (_set(("files", "vocab.json", "size"), -1), 'files["vocab.json"].size: expected at least 0'),
    (_set(("files", "vocab.json", "sha256"), "ABC"), 'files["vocab.json"].sha256: expected 64 lowercase hex'),
    (_set(("input", "sequence_length"), 0), "input.sequence_length: expected at least 1"),
    (_set(("input", "sequence_length"), 1.5), "input.sequence_length: expected an integer or null"),
    (_set(("input", "masked"), "yes"), "input.masked: expected a boolean"),
    (_set(("input", "pad_id"), False), "input.pad_id: expected an integer"),  # JSON false is not 0
    (_set(("output", "units"), True), "output.units: expected an integer"),
    (_delete(("output", "logits")), "output: missing required key 'logits'"),
    (_set(("artifacts",), []), "artifacts: expected at least 1 item(s)"),
    (_set(("artifacts", 0, "format"), "coreml"), "artifacts[0].format: expected one of"),
    (_set(("artifacts", 0, "file"), "../../etc/passwd"), "artifacts[0].file: expected a plain file name"),
    (_set(("artifacts", 0, "file"), ".."), "artifacts[0].file: expected a plain file name"),
    (_set(("tokenizer", "vocabulary_file"), "/etc/passwd"), "tokenizer.vocabulary_file: expected a plain"),
    (_set(("tokenizer", "kind"), "bpe"), "tokenizer.kind: expected one of"),
    (_set(("default_artifact",), None), "default_artifact: expected a string"),
    (_set(("failed_artifacts",), [{"name": "x"}]), "failed_artifacts[0]: missing required key 'error'"),
    (_set(("artifacts", 0, "parity", "ok"), "true"), "artifacts[0].parity.ok: expected a boolean"),
    (_set(("format",), "other-bundle"), 'format: expected "edgeclf-bundle"'),
    (_set(("format_version",), 0), "format_version: expected at least 1"),
    (_set(("artifacts", 0, "size"), 3.0), None),  # JSON has one number type: 3.0 is an integer
    (_set(("a_future_field",), {"anything": [1]}), None),  # later versions may add fields
    (_set(("artifacts", 0, "future"), "x"), None),
]


@pytest.mark.parametrize("mutation,expected", BROKEN, ids=[e or "still-valid" for _, e in BROKEN])
def test_small_validator_agrees_with_jsonschema_on_broken_manifests(real_manifests, mutation, expected):
    manifest = copy.deepcopy(real_manifests[0])
    mutation(manifest)
    problems = manifest_errors(manifest)
    if expected is None:
        assert problems == []
    else:
        assert len(problems) == 1 and problems[0].startswith(expected), problems
    jsonschema = pytest.importorskip("jsonschema")
    ours = {p for p, _ in iter_errors(manifest, manifest_schema())}
    theirs = {tuple(e.absolute_path) for e in jsonschema.Draft202012Validator(manifest_schema()).iter_errors(manifest)}
    assert ours == theirs


def _locations(value: Any, path: tuple = ()) -> list[tuple]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _locations(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _locations(item, (*path, i))
    return found


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 2**40) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(data=st.data())
def test_small_validator_agrees_with_jsonschema_on_generated_damage(real_manifests, data):
    """Any value replaced, deleted or added anywhere in a real manifest: both validators find the same paths."""
    jsonschema = pytest.importorskip("jsonschema")
    manifest = copy.deepcopy(data.draw(st.sampled_from(real_manifests)))
    path = data.draw(st.sampled_from(_locations(manifest)[1:]))
    parent = manifest
    for part in path[:-1]:
        parent = parent[part]
    action = data.draw(st.sampled_from(["replace", "delete", "add"]))
    if action == "replace":
        parent[path[-1]] = data.draw(json_values)
    elif action == "delete":
        del parent[path[-1]]
    elif isinstance(parent, dict):
        parent[data.draw(st.text(max_size=6))] = data.draw(json_values)
    else:
        parent.append(data.draw(json_values))
    ours = {p for p, _ in iter_errors(manifest, manifest_schema())}
    theirs = {tuple(e.absolute_path) for e in jsonschema.Draft202012Validator(manifest_schema()).iter_errors(manifest)}
    event("invalid" if theirs else "still valid")  # --hypothesis-show-statistics: how many runs broke the manifest
    assert ours == theirs


def test_format_path():
    assert format_path(("artifacts", 0, "sha256")) == "artifacts[0].sha256"
    assert format_path(("files", "vocab.json", "size")) == 'files["vocab.json"].size'


def test_bundle_open_refuses_a_manifest_that_fails_the_schema(bundle_copy, capsys):
    from edgeclf.cli import main

    manifest = json.loads((bundle_copy / "manifest.json").read_text())
    manifest["artifacts"][0]["sha256"] = 5
    (bundle_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match=r"manifest\.json: artifacts\[0\]\.sha256: expected a string$"):
        Bundle.open(bundle_copy)
    assert main(["predict", str(bundle_copy), "a film"]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("edgeclf: error:") and "artifacts[0].sha256: expected a string" in line

    manifest["artifacts"][0]["sha256"] = "0" * 64
    manifest["files"]["../../outside.json"] = RECORD  # a folder bundle must not name files outside itself either
    (bundle_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match=r"files: key '\.\./\.\./outside\.json': expected a plain file name"):
        Classifier.load(bundle_copy)


def test_single_file_with_a_traversal_name_in_its_embedded_manifest_is_refused(bundle_copy, tmp_path):
    single = write_single_file(bundle_copy, "tflite-fp32")
    data = single.read_bytes()
    with zipfile.ZipFile(single) as zf:
        start = min(info.header_offset for info in zf.infolist())
        members = {info.filename: zf.read(info) for info in zf.infolist()}
    inner = json.loads(members["manifest.json"])
    inner["tokenizer"]["vocabulary_file"] = "../../vocab.json"
    members["manifest.json"] = json.dumps(inner).encode()
    archive = tmp_path / "archive.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name, blob in members.items():
            zf.writestr(name, blob)
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(data[:start] + archive.read_bytes())
    with pytest.raises(
        BundleError, match=r"bad\.tflite: embedded manifest\.json: tokenizer\.vocabulary_file: expected a"
    ):
        Classifier.load(bad)
    assert not (tmp_path.parent.parent / "vocab.json").exists()


# --- stale staging folders of killed conversions -------------------------------------------------------


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # exited and reaped: no process has this PID now (a reuse within the test is vanishingly rare)
    return proc.pid


def test_killed_conversion_leaves_staging_that_the_next_conversion_removes(tmp_path):
    out = tmp_path / "bundle"
    proc = subprocess.Popen(
        [sys.executable, "-m", "edgeclf.cli", "convert", "example", "-o", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    staged: list[Path] = []
    while not staged and time.monotonic() < deadline and proc.poll() is None:
        staged = [p for p in tmp_path.glob(".bundle.partial-*") if (p / "vocab.json").exists()]
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert staged, "the conversion never started writing"
    (stale,) = list(tmp_path.glob(".bundle.partial-*"))
    assert stale.name.startswith(f".bundle.partial-{proc.pid}-") and not out.exists()

    live = tmp_path / f".bundle.partial-{os.getpid()}-live"  # this pytest process is alive: must be kept
    unknown = tmp_path / ".bundle.partial-k3j4h5g6"  # an older edgeclf's name, no PID: owner unknown, kept
    other = tmp_path / f".other.partial-{proc.pid}-abc"  # another output's: not ours to touch
    for folder in (live, unknown, other):
        folder.mkdir()
    done = run_cli("convert", "example", "-o", str(out), "--formats", "numpy")
    assert done.returncode == 0, done.stderr
    assert f"removed {stale.name}, left by a conversion that was killed" in done.stderr
    assert not stale.exists()
    assert live.is_dir() and unknown.is_dir() and other.is_dir()
    assert Classifier.load(out).predict("a fine film")[0].labels


def test_stale_old_twin_is_kept_while_it_may_be_the_only_bundle(tmp_path):
    from edgeclf.convert.pipeline import remove_stale_staging

    out, dead = tmp_path / "bundle", _dead_pid()
    old = tmp_path / f".bundle.partial-{dead}-x1y2.old"  # killed between _publish's two renames
    old.mkdir()
    assert remove_stale_staging(out) == [] and old.is_dir()
    out.mkdir()
    staging = tmp_path / f".bundle.partial-{dead}-x1y2"
    staging.mkdir()
    assert sorted(remove_stale_staging(out)) == sorted([old, staging])
    assert not old.exists() and not staging.exists() and out.is_dir()


# --- bad models ----------------------------------------------------------------------------------------


def test_unsafe_prints_a_warning_and_is_an_explicit_opt_in(tmp_path):
    import keras

    tv = keras.layers.TextVectorization(max_tokens=50)
    tv.adapt(np.array(["a good film", "a bad film"]))
    model = keras.Sequential(
        [keras.Input(shape=(), dtype="string"), tv, keras.layers.Embedding(50, 8), keras.layers.LSTM(4),
         keras.layers.Lambda(lambda x: x * 2, name="my_lambda"), keras.layers.Dense(1)]
    )  # fmt: skip
    path = tmp_path / "lambda.keras"
    model.save(path)
    out = tmp_path / "bundle"
    safe = run_cli("convert", str(path), "-o", str(out))
    assert "safe" in assert_clean_failure(safe, out)  # Keras's refusal: "... passing `safe_mode=False` ..."
    assert "edgeclf: warning:" not in safe.stderr

    unsafe = run_cli("convert", str(path), "-o", str(out), "--unsafe")
    warnings = [line for line in unsafe.stderr.splitlines() if line.startswith("edgeclf: warning:")]
    assert len(warnings) == 1 and "--unsafe" in warnings[0] and "trust" in warnings[0]
    assert unsafe.stderr.index("edgeclf: warning:") < unsafe.stderr.index("loading")  # before the model is read
    # the model did load this time: what stops it now is the Lambda layer, which has no lowering
    assert "my_lambda" in assert_clean_failure(unsafe, out)


def test_truncated_and_fake_h5_files(tmp_path):
    import keras

    model = keras.Sequential([keras.Input(shape=(12,), dtype="int32"), keras.layers.Embedding(40, 8),
                              keras.layers.LSTM(4), keras.layers.Dense(1, activation="sigmoid")])  # fmt: skip
    model.save(tmp_path / "whole.h5")
    data = (tmp_path / "whole.h5").read_bytes()
    (tmp_path / "truncated.h5").write_bytes(data[: len(data) // 2])
    (tmp_path / "notes.h5").write_text("not HDF5 at all\n")
    out = tmp_path / "bundle"
    for name in ("truncated.h5", "notes.h5"):
        line = assert_clean_failure(run_cli("convert", str(tmp_path / name), "-o", str(out)), out)
        assert f"{name}: not a Keras model" in line, line


def test_tokenizer_that_does_not_fit_the_embedding(tmp_path):
    import keras

    model = keras.Sequential(
        [keras.Input(shape=(12,), dtype="int32"), keras.layers.Embedding(40, 8), keras.layers.LSTM(4),
         keras.layers.Dense(1, activation="sigmoid")]
    )  # fmt: skip
    model.save(tmp_path / "ids.keras")
    tokenizer = tmp_path / "word_index.json"
    # ids up to 49; the Embedding has rows 0..39
    tokenizer.write_text(json.dumps({w: 1 + 4 * i for i, w in enumerate(WORDS)}))
    out = tmp_path / "bundle"
    done = run_cli("convert", str(tmp_path / "ids.keras"), "-o", str(out), "--tokenizer", str(tokenizer))
    line = assert_clean_failure(done, out)
    assert "ids up to 49" in line and "only 40 rows" in line


MAKE_CUSTOM_MODEL = """
import sys
import numpy as np
import keras

@keras.saving.register_keras_serializable(package="acme")
class Doubler(keras.layers.Layer):
    def call(self, x):
        return x * 2

tv = keras.layers.TextVectorization(max_tokens=50)
tv.adapt(np.array(["a good film", "a bad film"]))
keras.Sequential([keras.Input(shape=(), dtype="string"), tv, keras.layers.Embedding(50, 8), keras.layers.LSTM(4),
                  Doubler(name="my_doubler"), keras.layers.Dense(1)]).save(sys.argv[1])
"""


@pytest.fixture(scope="module")
def unregistered_custom_layer(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """A .keras file whose custom layer was registered only in the (other) process that saved it."""
    folder = tmp_path_factory.mktemp("custom")
    path = folder / "custom.keras"
    made = subprocess.run([sys.executable, "-c", MAKE_CUSTOM_MODEL, str(path)], capture_output=True, timeout=300,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})  # fmt: skip
    assert made.returncode == 0, made.stderr
    return path, run_cli("convert", str(path), "-o", str(folder / "bundle"))


def test_unregistered_custom_layer_is_a_clean_failure(unregistered_custom_layer):
    path, done = unregistered_custom_layer
    line = assert_clean_failure(done, path.parent / "bundle")
    assert str(path) in line and "Keras cannot load this model" in line


def test_unregistered_custom_layer_is_named(unregistered_custom_layer):
    _, done = unregistered_custom_layer
    (line,) = error_lines(done)
    assert "Doubler" in line


# --- bad text, end to end ------------------------------------------------------------------------------

ODD_TEXTS = [
    "\x00\x01\x1b[31m red \x7f film\x0b\x0c",  # C0 controls, an ANSI escape, DEL
    "mixed 電影很好 film great Фильм отличный فيلم رائع सुंदर 🎬👍🏽",
    "zero\u200bwidth\u00a0nbsp\u2028line\u0085next\ufeffbom",
    "RTL \u202eevil\u202c override and combining e\u0301 ＦＵＬＬ",
    "tab\tand\nnewline\r\nfilm\r",
    "\ufffd\ufffd replaced bytes \ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
]


def test_odd_texts_match_keras(example_bundle, keras_model):
    """Controls, mixed scripts, invisible characters: the runtime's probabilities equal Keras's own."""
    from edgeclf.convert.parity import keras_raw_outputs

    classifier = Classifier.load(example_bundle)
    ours = classifier.scores(ODD_TEXTS)
    for text, row in zip(ODD_TEXTS, ours, strict=True):
        keras_probs = probabilities(keras_raw_outputs(keras_model, [text]), "binary", True)[0]
        assert np.abs(row - keras_probs).max() <= FP32_TOLERANCE, repr(text)


@pytest.fixture(scope="module")
def megabyte_text() -> str:
    """Real Rotten Tomatoes sentences joined into one text of exactly 1 MiB of UTF-8."""
    from edgeclf.convert.datasets import rotten_tomatoes

    text = " ".join(rotten_tomatoes().texts)
    text = (text + " ") * (1 + (1 << 20) // len(text.encode()))
    return text.encode()[: 1 << 20].decode("utf-8", "ignore")


def test_megabyte_text_agrees_across_three_runtimes(example_bundle, megabyte_text):
    """~170,000 tokens through LiteRT, ONNX Runtime and pure numpy: finite, and the same within fp32 tolerance."""
    scores = {name: Classifier.load(example_bundle, artifact=name).scores([megabyte_text])[0]
              for name in ("tflite-fp32", "onnx-fused-fp32", "numpy-fp32")}  # fmt: skip
    reference = scores["tflite-fp32"]
    assert np.isfinite(reference).all()
    for name, row in scores.items():
        assert np.abs(row - reference).max() <= FP32_TOLERANCE, name


def test_cli_megabyte_line_whitespace_and_invalid_utf8_on_stdin(example_bundle, megabyte_text):
    """stdin: whitespace-only lines are skipped (documented), a 1 MiB line with invalid bytes is one prediction."""
    line = megabyte_text.replace("\n", " ").encode() + b" \xff\xfe bad bytes"
    done = subprocess.run(
        [sys.executable, "-m", "edgeclf.cli", "predict", str(example_bundle), "--json"],
        input=b"   \t \n\n" + line + b"\n \x0b \n", capture_output=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    # split on "\n" only: JSON keeps U+2028, U+0085 and friends, which splitlines() would break on
    (row,) = [json.loads(r) for r in done.stdout.decode().split("\n") if r]
    assert len(row["text"].encode()) >= 1 << 20 and row["text"].endswith("\ufffd\ufffd bad bytes")
    expected = Classifier.load(example_bundle).predict([row["text"]])[0].to_dict()
    assert row == expected

    # a whitespace-only TEXT argument is a text: it gets the empty text's result
    whitespace = run_cli("predict", str(example_bundle), "--json", " \t ")
    assert whitespace.returncode == 0, whitespace.stderr
    (got,) = [json.loads(r) for r in whitespace.stdout.split("\n") if r]
    assert got["scores"] == Classifier.load(example_bundle).predict([""])[0].to_dict()["scores"]


# --- memory over 100,000 predictions ---------------------------------------------------------------------

RSS_CHILD = """
import json, sys
from edgeclf.runtime import Classifier

def rss_kb():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))

bundle, texts_file, total, keep = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "keep"
texts = json.load(open(texts_file))
classifier = Classifier.load(bundle)
kept, marks = [], {}
for i in range(1, total + 1):
    prediction = classifier.predict([texts[i % len(texts)]])  # one text per call, as a device classifies
    if keep:
        kept.append(prediction)
    if i in (1000, total) or i % 10000 == 0:
        marks[i] = rss_kb()
print(json.dumps(marks))
"""


def _rss_marks(bundle: Path, texts_file: Path, total: int, keep: bool = False) -> dict[int, int]:
    """VmRSS (kB) of a fresh child process after 1,000, every 10,000 and ``total`` predictions: the child's own
    memory only, not pytest's."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", RSS_CHILD, str(bundle), str(texts_file), str(total), "keep" if keep else "drop"],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    marks = {int(k): v for k, v in json.loads(done.stdout).items()}
    print(f"{total:,} predictions{' (kept)' if keep else ''} in {time.perf_counter() - started:.1f} s: RSS kB {marks}")
    return marks


@pytest.fixture(scope="module")
def rotten_tomatoes_file(tmp_path_factory) -> Path:
    from edgeclf.convert.datasets import rotten_tomatoes

    path = tmp_path_factory.mktemp("rt") / "texts.json"
    path.write_text(json.dumps(list(rotten_tomatoes().texts)))  # 8,530 real sentences, ~114 characters each
    return path


def test_rss_is_flat_over_100000_predictions(example_bundle, rotten_tomatoes_file):
    marks = _rss_marks(example_bundle, rotten_tomatoes_file, ENDURANCE_PREDICTIONS)
    growth = (marks[ENDURANCE_PREDICTIONS] - marks[1000]) / marks[1000]
    assert abs(growth) <= RSS_TOLERANCE, marks


def test_rss_measurement_sees_a_leak(example_bundle, rotten_tomatoes_file):
    """The same measurement with every Prediction kept (a real leak of a few hundred bytes per call) fails the
    2% bound after only 20,000 calls: the test above can fail."""
    marks = _rss_marks(example_bundle, rotten_tomatoes_file, 20_000, keep=True)
    assert (marks[20_000] - marks[1000]) / marks[1000] > RSS_TOLERANCE, marks

"""The manifest's JSON Schema: real manifests satisfy it, the small validator agrees with ``jsonschema`` (on
broken and on generated damage), and a bundle or single file whose manifest fails it is refused (issue #9)."""

from __future__ import annotations

import copy
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from edgeclf.bundle import Bundle
from edgeclf.bundle.schema import format_path, iter_errors, manifest_errors, manifest_schema
from edgeclf.bundle.single_file import write_single_file
from edgeclf.errors import BundleError
from edgeclf.runtime import Classifier

WORDS = ["the", "a", "film", "good", "bad", "plot", "acting", "dull", "great", "movie", "story", "slow", "fast"]


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

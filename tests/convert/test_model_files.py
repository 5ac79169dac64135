"""Models as people save them (issue 16), each a real small model trained by tests/fixtures/models/make_models.py,
converted and run through the real ``edgeclf`` CLI and compared with the author's own Keras pipeline (their Keras,
their tokenizer, their encoding loop) recorded in the fixture's reference.npz: ids exactly, scores within 1e-5.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "models"
TOLERANCE = 1e-5  # float32 artifacts against Keras: never loosened


def _make_models():
    spec = importlib.util.spec_from_file_location("make_models", FIXTURES / "make_models.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_models = _make_models()


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, "-m", "edgeclf.cli", *args], capture_output=True, text=True, timeout=900, env=env
    )


def error_line(done: subprocess.CompletedProcess) -> str:
    """The one ``edgeclf: error:`` line of a clean failure (exit 1, no traceback)."""
    assert done.returncode == 1, done.stderr[-2000:]
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if line.startswith("edgeclf: error:")]
    assert len(lines) == 1, done.stderr[-2000:]
    return lines[0]


@pytest.fixture(scope="module")
def texts_file(tmp_path_factory) -> dict[str, tuple[Path, list[str]]]:
    folder = tmp_path_factory.mktemp("texts")
    files = {}
    for task in ("imdb", "trec"):
        texts = make_models.reference_texts(task)
        path = folder / f"{task}.jsonl"
        path.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts), encoding="utf-8")
        files[task] = (path, texts)
    return files


def convert_and_compare(name: str, model: str, out: Path, texts_file, *flags: str, task: str = "imdb",
                        formats: str = "numpy") -> dict:  # fmt: skip
    """Convert through the CLI, predict through the CLI, compare with the author's pipeline; the figures."""
    path, texts = texts_file[task]
    reference = np.load(FIXTURES / name / "reference.npz")
    assert str(reference["digest"]) == make_models.texts_digest(texts), "the reference texts changed"
    done = run_cli("convert", str(FIXTURES / name / model), "-o", str(out), "--eval-texts", str(path),
                   "--formats", formats, "--quantize", "fp32", *flags)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["artifacts"]  # numpy: one; TFLite: the model's own form, and scan where it applies
    for artifact in manifest["artifacts"]:
        assert artifact["parity"]["ok"] and artifact["parity"]["max_abs_diff"] <= TOLERANCE, artifact["name"]

    # the tokenizer the bundle describes gives the author's ids, padded as the author padded them
    from edgeclf.tokenizer import tokenizer_from_spec

    vocabulary = json.loads((out / manifest["tokenizer"]["vocabulary_file"]).read_text(encoding="utf-8"))
    tokenizer = tokenizer_from_spec(manifest["tokenizer"], vocabulary)
    ids = np.stack([tokenizer.encode(t) for t in texts])
    np.testing.assert_array_equal(ids, reference["ids"].reshape(len(texts), -1))

    predicted = run_cli("predict", str(out), "--input", str(path), "--format", "jsonl")
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    rows = [json.loads(line) for line in predicted.stdout.split("\n") if line]  # not splitlines: U+2028 is text
    labels = manifest["labels"]
    ours = np.asarray([[row["scores"][label] for label in labels] for row in rows])
    theirs = reference["scores"].astype(np.float64)
    if theirs.shape[1] == 1:  # a sigmoid unit: the positive label's score
        ours = ours[:, 1:]
    # a text with no token at all: Keras's answer is for a fully padded row, edgeclf's empty-text rule may differ
    keep = np.asarray([len(tokenizer.token_ids(t)) > 0 for t in texts])
    diff = float(np.abs(ours - theirs)[keep].max())
    agree = ours.argmax(1) == theirs.argmax(1) if theirs.shape[1] > 1 else (ours[:, 0] >= 0.5) == (theirs[:, 0] >= 0.5)
    figures = {"texts": int(keep.sum()), "max_abs_diff": diff, "label_agreement": float(agree[keep].mean())}
    print(f"{name}: {figures}")
    assert diff <= TOLERANCE, figures
    assert figures["label_agreement"] == 1.0, figures
    return manifest


# --- row 2: HDF5 under a .keras name -----------------------------------------------------------------------------


def test_hdf5_named_keras_converts_by_its_magic_bytes(tmp_path, texts_file):
    assert (FIXTURES / "h5-named-keras" / "model.keras").read_bytes()[:8] == b"\x89HDF\r\n\x1a\n"
    manifest = convert_and_compare("h5-named-keras", "model.keras", tmp_path / "b", texts_file,
                                   "--tokenizer", str(FIXTURES / "h5-named-keras" / "tokenizer.json"),
                                   formats="tflite")  # fmt: skip
    assert manifest["tokenizer"]["kind"] == "keras_tokenizer" and manifest["input"]["sequence_length"] == 100


def test_a_zip_named_h5_and_junk_named_keras(tmp_path):
    renamed = tmp_path / "model.h5"  # a Keras 3 zip under an HDF5 name: read as the zip it is
    shutil.copy(FIXTURES / "vocab-list" / "model.keras", renamed)
    done = run_cli("convert", str(renamed), "-o", str(tmp_path / "b"))
    assert "takes token ids" in error_line(done)  # loaded; what is missing now is its vocabulary
    junk = tmp_path / "model.keras"
    junk.write_text("not a model\n")
    assert "neither a .keras zip nor HDF5" in error_line(run_cli("convert", str(junk), "-o", str(tmp_path / "b")))


# --- row 1: a .keras zip written by Keras 2 (tf.keras) --------------------------------------------------------------


def test_keras2_zip_loads_through_tf_keras(tmp_path, texts_file):
    import zipfile

    with zipfile.ZipFile(FIXTURES / "keras2-zip" / "model.keras") as archive:
        assert {"config.json", "metadata.json", "model.weights.h5"} <= set(archive.namelist())
        assert json.loads(archive.read("metadata.json"))["keras_version"].startswith("2.")
    manifest = convert_and_compare("keras2-zip", "model.keras", tmp_path / "b", texts_file)
    assert manifest["tokenizer"]["kind"] == "text_vectorization"


# --- row 3: SavedModel folders ----------------------------------------------------------------------------------


def test_keras_savedmodel_folder(tmp_path, texts_file):
    convert_and_compare("savedmodel", "model", tmp_path / "b", texts_file)


def test_bare_savedmodel_graph_is_refused_with_what_to_pass(tmp_path):
    bare = tmp_path / "exported"
    shutil.copytree(FIXTURES / "savedmodel" / "model", bare)
    (bare / "keras_metadata.pb").unlink()  # what tf.saved_model.save / model.export leave: a graph, no layers
    line = error_line(run_cli("convert", str(bare), "-o", str(tmp_path / "b")))
    assert "bare TensorFlow graph" in line and "model.save('model.keras')" in line
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "not a SavedModel" in error_line(run_cli("convert", str(empty), "-o", str(tmp_path / "b")))


# --- row 5: a vocabulary as a text file or JSON list, TextVectorization's options as flags ----------------------------


def test_vocabulary_text_file_with_textvectorization_flags(tmp_path, texts_file):
    folder = FIXTURES / "vocab-list"
    manifest = convert_and_compare("vocab-list", "model.keras", tmp_path / "b", texts_file,
                                   "--vocab-file", str(folder / "vocab.txt"), "--standardize", "lower",
                                   "--split", "whitespace", "--output-sequence-length", "80")  # fmt: skip
    assert manifest["tokenizer"]["standardize"] == "lower" and manifest["tokenizer"]["vocab_size"] == 2000


def test_vocabulary_json_list_and_text_file_agree():
    from edgeclf.convert.vocab_files import read_token_list, vectorizer_from_tokens

    folder = FIXTURES / "vocab-list"
    as_text, as_json = read_token_list(folder / "vocab.txt"), read_token_list(folder / "vocab.json")
    assert as_text == as_json and as_text[:2] == ["", "[UNK]"]
    options = {"standardize": "lower", "split": "whitespace", "output_sequence_length": 80}
    capped = vectorizer_from_tokens(as_text[2:], "x", max_tokens=500, **options)  # no "" / "[UNK]": prepended
    assert capped.vocabulary == as_text[:500]
    reference = np.load(folder / "reference.npz")
    full = vectorizer_from_tokens(as_json, "x", max_tokens=None, **options)
    texts = make_models.reference_texts()
    np.testing.assert_array_equal(np.stack([full.encode(t) for t in texts]), reference["ids"])


def test_vocabulary_with_padding_but_no_unk_is_refused(tmp_path):
    bad = tmp_path / "vocab.txt"
    bad.write_text("\nthe\na\n", encoding="utf-8")
    done = run_cli("convert", str(FIXTURES / "vocab-list" / "model.keras"), "-o", str(tmp_path / "b"),
                   "--vocab-file", str(bad))  # fmt: skip
    assert "--unknown oov|padding" in error_line(done)


# --- row 4: TextVectorization pickled as {"config", "weights"} ------------------------------------------------------


def test_pickled_textvectorization(tmp_path, texts_file):
    folder = FIXTURES / "tv-pickle"
    refused = run_cli("convert", str(folder / "model.h5"), "-o", str(tmp_path / "b"),
                      "--tokenizer", str(folder / "tv_layer.pkl"))  # fmt: skip
    assert "--allow-pickle" in error_line(refused)
    manifest = convert_and_compare("tv-pickle", "model.h5", tmp_path / "b", texts_file,
                                   "--tokenizer", str(folder / "tv_layer.pkl"), "--allow-pickle")  # fmt: skip
    assert manifest["tokenizer"]["kind"] == "text_vectorization"
    assert manifest["tokenizer"]["output_sequence_length"] == 100


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ([np.array([b"good", 3], dtype=object)], "object array holding int"),
        ([np.array([0.5, 1.5], dtype=np.float32)], "dtype 'f4'"),
    ],
)
def test_pickled_arrays_other_than_text_are_refused(tmp_path, weights, message):
    import pickle

    from edgeclf.convert.safe_pickle import load_pickle
    from edgeclf.errors import EdgeclfError

    path = tmp_path / "tv.pkl"
    path.write_bytes(pickle.dumps({"config": {"output_mode": "int"}, "weights": weights}))
    with pytest.raises(EdgeclfError, match=message):
        load_pickle(path, True, "tokenizer")


# --- row 7: Keras 3's legacy Tokenizer pickle; labels from a LabelEncoder ------------------------------------------


def test_keras3_legacy_tokenizer_pickle_and_label_encoder(tmp_path, texts_file):
    folder = FIXTURES / "legacy-pickles"
    assert b"keras.src.legacy.preprocessing.text" in (folder / "tokenizer.pickle").read_bytes()
    manifest = convert_and_compare("legacy-pickles", "model.keras", tmp_path / "b", texts_file,
                                   "--tokenizer", str(folder / "tokenizer.pickle"), "--allow-pickle",
                                   "--labels-file", str(folder / "label_encoder.joblib"),
                                   "--padding", "post", "--truncating", "post", task="trec")  # fmt: skip
    assert manifest["labels"] == ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]


def test_label_files_agree_without_scikit_learn():
    from edgeclf.convert.vocab_files import read_labels_file
    from edgeclf.errors import EdgeclfError

    folder = FIXTURES / "legacy-pickles"
    names = json.loads((folder / "labels.json").read_text())
    for name in ("label_encoder.pkl", "label_encoder.joblib", "labels.json"):
        assert read_labels_file(folder / name, allow_pickle=True) == names
    with pytest.raises(EdgeclfError, match="--allow-pickle"):
        read_labels_file(folder / "label_encoder.pkl", allow_pickle=False)
    assert "sklearn" not in sys.modules  # read from the pickle's state, scikit-learn's code never imported


# --- row 6: a character map written by hand ---------------------------------------------------------------------


def test_character_map_with_unknown_as_padding(tmp_path, texts_file):
    folder = FIXTURES / "char-map"
    manifest = convert_and_compare("char-map", "model.keras", tmp_path / "b", texts_file,
                                   "--vocab-file", str(folder / "chars.txt"), "--split", "character",
                                   "--unknown", "padding", "--standardize", "lower",
                                   "--padding", "post", "--truncating", "post")  # fmt: skip
    assert manifest["tokenizer"]["oov_id"] == 0 and manifest["tokenizer"]["char_level"]


def test_character_map_ids_match_the_authors_loop():
    from edgeclf.convert.vocab_files import char_map_tokenizer, read_token_list

    tokens = read_token_list(FIXTURES / "char-map" / "chars.txt")
    assert tokens[0] == "" and " " in tokens  # a line holding one space is the space character
    index = {c: i for i, c in enumerate(tokens) if i}
    tokenizer = char_map_tokenizer(tokens, "chars.txt", unknown="padding", oov_token=None, standardize="lower",
                                   split="character", maxlen=make_models.CHAR_MAXLEN, padding="post",
                                   truncating="post")  # fmt: skip
    for text in [*make_models.ODD_TEXTS, "İSTANBUL ǅ ß", "ABC" * 100, ""]:
        assert tokenizer.encode(text).tolist() == make_models.author_char_ids(text, index), text
    # --unknown oov: a map with an OOV line; unknown characters take its id instead of 0
    with_oov = char_map_tokenizer([*tokens, "[UNK]"], "x", unknown="oov", oov_token=None, standardize=None,
                                  split="character", maxlen=5, padding="post", truncating="post")  # fmt: skip
    assert with_oov.encode("aÉb").tolist() == [1, len(tokens), 2, 0, 0]


# --- row 8: custom layers -----------------------------------------------------------------------------------------


def test_custom_layer_refused_then_loaded_with_its_definition(tmp_path, texts_file):
    folder = FIXTURES / "custom-layers"
    line = error_line(run_cli("convert", str(folder / "subclass.keras"), "-o", str(tmp_path / "b")))
    assert "TunedLSTM" in line and "--custom-objects" in line
    line = error_line(run_cli("convert", str(folder / "subclass.keras"), "-o", str(tmp_path / "b"),
                              "--custom-objects", str(folder / "custom_layers.py")))  # fmt: skip
    assert "--unsafe" in line
    convert_and_compare("custom-layers", "subclass.keras", tmp_path / "b", texts_file,
                        "--unsafe", "--custom-objects", str(folder / "custom_layers.py"))  # fmt: skip


def test_custom_layer_with_its_own_computation_says_what_is_missing(tmp_path):
    folder = FIXTURES / "custom-layers"
    done = run_cli("convert", str(folder / "attention.keras"), "-o", str(tmp_path / "b"),
                   "--unsafe", "--custom-objects", str(folder / "custom_layers.py"))  # fmt: skip
    line = error_line(done)
    assert "AttentionPooling" in line and "own call()" in line and "weights:" in line

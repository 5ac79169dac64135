"""Single-file deploys (a .tflite with its manifest and vocabulary appended as a ZIP) and `edgeclf inspect` of
folders and single files. Real bundle, real LiteRT interpreter, real reviews."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest

from edgeclf.bundle.single_file import MAX_MEMBER_BYTES, open_single_file, write_single_file
from edgeclf.cli import main
from edgeclf.errors import BundleError
from edgeclf.runtime import Classifier
from edgeclf.textio import parse_texts

HELDOUT = Path(__file__).resolve().parents[2] / "convert" / "examples" / "imdb_bilstm" / "heldout.csv"
TEXTS = ["What a wonderful, moving film.", "Dull, slow and badly acted.", "", "café ünïcode 電影 🎬"]


@pytest.fixture(scope="module")
def reviews() -> list[str]:
    return parse_texts(HELDOUT.read_text(encoding="utf-8"), "csv")[:40]


@pytest.fixture(scope="module")
def single_file_bundle(example_bundle, tmp_path_factory) -> Path:
    """The session bundle copied (never modified in place) with a single file written into the copy."""
    copy = tmp_path_factory.mktemp("single") / "bundle"
    shutil.copytree(example_bundle, copy)
    write_single_file(copy, "tflite-fp32")
    return copy


@pytest.fixture(scope="module")
def single(single_file_bundle) -> Path:
    return single_file_bundle / "model.edgeclf.tflite"


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def repack(single: Path, out: Path, entries: list[tuple[zipfile.ZipInfo | str, bytes]]) -> Path:
    """The single file's flatbuffer followed by a new archive of ``entries`` (a hostile or edited one)."""
    size = len(single.read_bytes()) - len(_archive_bytes(single))
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for info, data in entries:
            zf.writestr(info, data)
    out.write_bytes(single.read_bytes()[:size] + archive.getvalue())
    return out


def _archive_bytes(single: Path) -> bytes:
    data = single.read_bytes()
    with zipfile.ZipFile(single) as zf:
        start = min(info.header_offset for info in zf.infolist())
    return data[start:]


# --- single file -------------------------------------------------------------------------------------


def test_single_file_layout(single_file_bundle, single):
    data = single.read_bytes()
    model = (single_file_bundle / "model.tflite").read_bytes()
    assert data.startswith(model)  # the flatbuffer is untouched; the archive follows it
    assert sorted(members(single)) == ["labels.txt", "manifest.json", "vocab.json"]
    inner = json.loads(members(single)["manifest.json"])
    assert [a["name"] for a in inner["artifacts"]] == ["tflite-fp32"]
    assert inner["files"]["model.tflite"]["sha256"] == hashlib.sha256(model).hexdigest()
    assert members(single)["labels.txt"].decode().split() == ["negative", "positive"]
    write_single_file(single_file_bundle, "tflite-fp32")
    assert single.read_bytes() == data  # deterministic: same bundle, same bytes


def test_single_file_loads_in_litert_and_matches_the_folder(single_file_bundle, single, reviews):
    from ai_edge_litert.interpreter import Interpreter

    # the interpreter itself still opens the file as a plain model and gives the same output
    outputs = []
    for path in (single_file_bundle / "model.tflite", single):
        interpreter = Interpreter(model_path=str(path))
        (inp,) = interpreter.get_input_details()
        interpreter.resize_tensor_input(inp["index"], [1, 3], strict=True)
        interpreter.allocate_tensors()
        interpreter.set_tensor(inp["index"], np.array([[5, 17, 42]], dtype=np.int32))
        interpreter.invoke()
        outputs.append(interpreter.get_tensor(interpreter.get_output_details()[0]["index"]).copy())
    np.testing.assert_array_equal(outputs[0], outputs[1])

    one_file = Classifier.load(single)
    folder = Classifier.load(single_file_bundle, artifact=one_file.artifact)
    texts = [*TEXTS, *reviews]
    np.testing.assert_array_equal(folder.raw_outputs(texts), one_file.raw_outputs(texts))
    assert [p.to_dict() for p in folder.predict(texts)] == [p.to_dict() for p in one_file.predict(texts)]
    assert one_file.labels == ["negative", "positive"]


def test_single_file_extracts_privately_and_cleans_up(single):
    bundle = open_single_file(single)
    root = bundle.root
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert sorted(p.name for p in root.iterdir()) == ["labels.txt", "manifest.json", "model.tflite", "vocab.json"]
    del bundle
    import gc

    gc.collect()
    assert not root.exists()


def test_pipeline_lists_single_files_in_the_manifest(example_bundle, tmp_path):
    from edgeclf.bundle import Bundle
    from edgeclf.convert.pipeline import _write_single_files

    copy = tmp_path / "bundle"
    shutil.copytree(example_bundle, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    _write_single_files(copy, manifest, progress=lambda message: None)
    bundle = Bundle.open(copy)
    assert bundle.manifest["single_files"] == [  # one per TFLite artifact
        {"file": "model.edgeclf.tflite", "artifact": "tflite-fp32"},
        {"file": "tflite-dynamic.edgeclf.tflite", "artifact": "tflite-dynamic"},
        {"file": "tflite-scan-fp32.edgeclf.tflite", "artifact": "tflite-scan-fp32"},
        {"file": "tflite-scan-dynamic.edgeclf.tflite", "artifact": "tflite-scan-dynamic"},
    ]
    for entry in bundle.manifest["single_files"]:
        bundle.verified_path(entry["file"])  # listed with its size and sha256


@pytest.mark.parametrize(
    "name",
    ["../evil.json", "/etc/evil.json", "sub/vocab.json", "..\\evil.json", ".hidden", "C:evil.json"],
)
def test_unsafe_member_names_are_refused(single, tmp_path, name):
    entries = [(n, d) for n, d in members(single).items()] + [(name, b"{}")]
    bad = repack(single, tmp_path / "bad.tflite", entries)
    with pytest.raises(BundleError, match="refusing archive member"):
        Classifier.load(bad)
    assert not (tmp_path.parent / "evil.json").exists() and not Path("/etc/evil.json").exists()


def test_second_model_in_the_archive_is_refused(single, tmp_path):
    entries = [*members(single).items(), ("model.tflite", b"not the model that was verified")]
    with pytest.raises(BundleError, match="the model is the file's prefix"):
        open_single_file(repack(single, tmp_path / "two.tflite", entries))


def test_symlink_member_is_refused(single, tmp_path):
    link = zipfile.ZipInfo("labels.txt")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    entries = [(n, d) for n, d in members(single).items() if n != "labels.txt"] + [(link, b"/etc/passwd")]
    with pytest.raises(BundleError, match="not a regular file"):
        open_single_file(repack(single, tmp_path / "link.tflite", entries))


def test_oversized_member_is_refused(single, tmp_path):
    bomb = b"\0" * (MAX_MEMBER_BYTES + 1)  # compresses to ~65 KB: a small file that would expand hugely
    entries = [*members(single).items(), ("padding.bin", bomb)]
    with pytest.raises(BundleError, match="too large"):
        open_single_file(repack(single, tmp_path / "bomb.tflite", entries))


def test_duplicate_member_is_refused(single, tmp_path):
    entries = [*members(single).items(), ("vocab.json", b'["", "[UNK]"]')]
    with pytest.warns(UserWarning):  # zipfile itself warns when writing a duplicate name
        bad = repack(single, tmp_path / "dup.tflite", entries)
    with pytest.raises(BundleError, match="appears twice"):
        open_single_file(bad)


def test_tampered_vocabulary_is_refused(single, tmp_path):
    parts = members(single)
    vocabulary = json.loads(parts["vocab.json"])
    vocabulary[2], vocabulary[3] = vocabulary[3], vocabulary[2]  # same size, different meaning
    parts["vocab.json"] = json.dumps(vocabulary, ensure_ascii=False).encode()
    bad = repack(single, tmp_path / "swapped.tflite", list(parts.items()))
    with pytest.raises(BundleError, match=r"vocab\.json does not match its sha256"):
        Classifier.load(bad)


def test_tampered_model_bytes_are_refused(single, tmp_path):
    data = bytearray(single.read_bytes())
    data[len(data) // 3] ^= 0xFF  # inside the flatbuffer's weights
    bad = tmp_path / "flipped.tflite"
    bad.write_bytes(bytes(data))
    with pytest.raises(BundleError, match=r"model\.tflite does not match its sha256"):
        Classifier.load(bad)


def test_truncated_and_corrupted_archives_are_refused(single, single_file_bundle, tmp_path):
    data = single.read_bytes()
    cut = tmp_path / "cut.tflite"
    cut.write_bytes(data[:-200])  # the archive's directory is gone
    with pytest.raises(BundleError, match="truncated"):
        Classifier.load(cut)

    archive_start = len(data) - len(_archive_bytes(single))
    garbled = bytearray(data)
    for i in range(archive_start + 200, archive_start + 260):  # inside the first member's compressed bytes
        garbled[i] ^= 0x55
    bad = tmp_path / "garbled.tflite"
    bad.write_bytes(bytes(garbled))
    with pytest.raises(BundleError, match=r"truncated or corrupted|unreadable embedded manifest"):
        Classifier.load(bad)

    with pytest.raises(BundleError, match="no edgeclf archive"):  # a plain model has no bundle inside
        Classifier.load(single_file_bundle / "model.tflite")


def test_onnx_files_that_are_not_edgeclf_ones_are_refused(example_bundle, tmp_path):
    onnx = pytest.importorskip("onnx")
    model = onnx.load(str(example_bundle / "model.onnx"))
    del model.metadata_props[:]  # a plain ONNX model: runs in ORT, but carries no vocabulary or labels
    onnx.save(model, str(tmp_path / "plain.onnx"))
    with pytest.raises(BundleError, match="no edgeclf metadata"):
        Classifier.load(tmp_path / "plain.onnx")
    data = (example_bundle / "model.onnx").read_bytes()
    (tmp_path / "cut.onnx").write_bytes(data[: len(data) // 2])
    (tmp_path / "text.onnx").write_text("not a model at all\n")
    for bad in ("cut.onnx", "text.onnx"):
        with pytest.raises(BundleError, match="not an ONNX model"):
            Classifier.load(tmp_path / bad)


@pytest.mark.parametrize(("key", "value"), [("input", {}), ("labels", "positive")])
def test_onnx_metadata_that_breaks_the_manifest_schema_is_refused(example_bundle, tmp_path, key, value):
    """The metadata is untrusted input, schema-checked like a .tflite's embedded manifest: BundleError, no KeyError."""
    onnx = pytest.importorskip("onnx")
    model = onnx.load(str(example_bundle / "model.onnx"))
    (prop,) = [p for p in model.metadata_props if p.key == f"edgeclf.{key}"]
    prop.value = json.dumps(value)
    onnx.save(model, str(tmp_path / "bad.onnx"))
    with pytest.raises(BundleError, match=rf"bad\.onnx: edgeclf metadata: .*{key}"):
        Classifier.load(tmp_path / "bad.onnx")
    assert Classifier.load(example_bundle / "model.onnx").labels  # the unedited file passes the same check


def test_cli_reports_a_bad_single_file_in_one_line(single, tmp_path, capsys):
    data = bytearray(single.read_bytes())
    data[1000] ^= 0xFF
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(bytes(data))
    assert main(["predict", str(bad), "a film"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("edgeclf: error:") and "sha256" in err[0]


# --- edgeclf inspect ---------------------------------------------------------------------------------


def test_inspect_folder_and_single_file(single_file_bundle, single, capsys):
    assert main(["inspect", str(single_file_bundle)]) == 0
    out = capsys.readouterr().out
    size = (single_file_bundle / "model.tflite").stat().st_size
    default = json.loads((single_file_bundle / "manifest.json").read_text())["default_artifact"]
    for needle in ["task       binary: negative, positive (logits", "text_vectorization", f"{default} (default)",
                   "the fastest exact one here", "latency at conversion:",
                   f"{size:,} bytes", "WHILE 2", "agreement 1.0000", "backends installed here: litert",
                   "all match their sha256"]:  # fmt: skip
        assert needle in out, needle
    assert main(["inspect", str(single), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["kind"] == "single-file" and info["intact"]
    assert info["artifacts"][0]["size"] == size and info["labels"] == ["negative", "positive"]
    assert info["artifacts"][0]["parity"]["label_agreement"] == 1.0
    assert info["manifest"]["task"] == "binary"


def test_inspect_flags_a_modified_file(single_file_bundle, tmp_path, capsys):
    copy = tmp_path / "bundle"
    shutil.copytree(single_file_bundle, copy)
    with (copy / "report.md").open("a") as f:
        f.write("edited\n")
    assert main(["inspect", str(copy)]) == 1
    out, err = capsys.readouterr()
    assert "PROBLEMS: report.md modified" in out
    assert err.startswith("edgeclf: error:") and "report.md modified" in err

"""ConvertOptions: every option of a conversion in one frozen value, validated in one place with the one-line
messages the CLI prints; argv builds the same value; a builder's child process gets an explicit JSON job."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from edgeclf import EdgeclfError, ParityError
from edgeclf.cli import build_parser, parse
from edgeclf.convert.artifacts import DEFAULT_FORMATS, ArtifactJob, ArtifactPlan, BuildContext, supported
from edgeclf.convert.cli_args import convert_options
from edgeclf.convert.options import ArtifactFormat, ConvertOptions, Precision, RnnForm, TokenizerSource
from edgeclf.errors import ConversionError, OptionsError


def test_enums_are_spelled_as_in_flags_manifests_and_file_names() -> None:
    assert [str(f) for f in ArtifactFormat] == ["tflite", "numpy", "onnx"]
    assert Precision.listed() == "fp32, dynamic, float16, int8, int16x8, int8-float-rnn"
    assert RnnForm.listed() == "loop, fused, unrolled, scan"
    assert f"{RnnForm.FUSED}-{Precision.INT8}" == "fused-int8" and RnnForm("fused") is RnnForm.FUSED


def test_lists_of_strings_become_tuples_of_enums_and_none_stays_the_default() -> None:
    options = ConvertOptions(formats=["onnx", "tflite"], precisions=["fp32", "int8"], rnn_forms=["fused"],
                             labels=["neg", "pos"])  # fmt: skip
    assert options.formats == (ArtifactFormat.ONNX, ArtifactFormat.TFLITE)
    assert options.precisions == (Precision.FP32, Precision.INT8) and options.rnn_forms == (RnnForm.FUSED,)
    assert options.labels == ("neg", "pos")
    defaults = ConvertOptions()
    assert (defaults.formats, defaults.precisions, defaults.rnn_forms) == (None, None, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        defaults.overwrite = True  # type: ignore[misc]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (dict(formats=[]), "at least one format, precision and recurrent form are needed"),
        (dict(rnn_forms=[]), "at least one format, precision and recurrent form are needed"),
        (dict(formats=["tflite", "keras"]), "unknown format 'keras'; choose from tflite, numpy, onnx"),
        (dict(rnn_forms=["loop", "scanned"]),
         "no chosen format (tflite, onnx, numpy) can be written with recurrent form scanned; they support fused, "
         "loop, scan, unrolled"),
        (dict(formats=["onnx"], precisions=["int8"]),
         "no chosen format (onnx) can be written with precision int8; they support dynamic, fp32"),
        (dict(formats=["numpy"], rnn_forms=["fused"]),
         "no chosen format (numpy) can be written with recurrent form fused; they support loop"),
    ],
)  # fmt: skip
def test_invalid_selections_are_options_errors_with_the_cli_message(options: dict, message: str) -> None:
    with pytest.raises(OptionsError) as raised:
        ConvertOptions(**options)
    assert str(raised.value) == message
    assert isinstance(raised.value, EdgeclfError)  # the CLI prints it as one `edgeclf: error:` line


def test_every_registered_precision_and_form_is_an_enum_member() -> None:
    """A lowering registers its forms with its builder; a form the enum lacks would fail at registration."""
    for artifact_format in ArtifactFormat:
        precisions, forms = supported(artifact_format)
        assert precisions and all(isinstance(p, Precision) for p in precisions)
        assert forms and all(isinstance(f, RnnForm) for f in forms)
    assert set(DEFAULT_FORMATS) == set(ArtifactFormat)


def test_argv_builds_the_options(tmp_path: Path) -> None:
    argv = ["convert", "example", "-o", str(tmp_path / "b"), "--formats", "tflite,onnx", "--quantize", "fp32,int8",
            "--rnn", "fused", "--single-file", "--keep-inaccurate", "--force", "--tflite-runtime-compatible",
            "--default-artifact", "smallest", "--calibration-samples", "50"]  # fmt: skip
    options = convert_options(parse(build_parser(), argv))
    assert options.formats == (ArtifactFormat.TFLITE, ArtifactFormat.ONNX)
    assert options.precisions == (Precision.FP32, Precision.INT8) and options.rnn_forms == (RnnForm.FUSED,)
    assert options.single_file and options.keep_inaccurate and options.overwrite and options.tflite_runtime_compatible
    assert options.default_artifact == "smallest" and options.calibration_samples == 50 and not options.unsafe
    assert options.parity_source == "the example's held-out IMDB reviews (heldout.csv)"
    assert len(options.parity_texts) == 200  # the example's shipped held-out reviews

    words = tmp_path / "words.json"
    words.write_text('["", "[UNK]", "good", "bad"]')
    argv = ["convert", "model.keras", "-o", str(tmp_path / "b"), "--vocab-file", str(words), "--maxlen", "7"]
    options = convert_options(parse(build_parser(), argv))
    assert options.maxlen is None  # with a tokenizer file it is the tokenizer's option
    assert options.tokenizer_source == TokenizerSource(path=words, vocab_file=True, maxlen=7)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--tokenizer", "t.json", "--vocab-file", "v.txt"], "give --tokenizer FILE or --vocab-file FILE, not both"),
        (["--labels", "a,b", "--labels-file", "labels.txt"], "give --labels or --labels-file, not both"),
        (["--rnn", "scanned"], "no chosen format (tflite, onnx, numpy) can be written with recurrent form scanned; "
                               "they support fused, loop, scan, unrolled"),
    ],
)  # fmt: skip
def test_conflicting_flags_are_one_line_errors(flags: list[str], message: str, tmp_path: Path) -> None:
    (tmp_path / "labels.txt").write_text("a\nb\n")
    done = subprocess.run([sys.executable, "-m", "edgeclf.cli", "convert", "example", "-o", "out", *flags],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.splitlines()[-1] == f"edgeclf: error: {message}"
    assert not (tmp_path / "out").exists()


def test_convert_takes_options_or_keywords_not_both(tmp_path: Path) -> None:
    from edgeclf.convert.pipeline import EXAMPLE_DIR, convert

    with pytest.raises(TypeError, match="not both"):
        convert(EXAMPLE_DIR / "model.keras", tmp_path / "b", ConvertOptions(), formats=["onnx"])
    with pytest.raises(TypeError):
        convert(EXAMPLE_DIR / "model.keras", tmp_path / "b", rnn_form=["fused"])  # a misspelt option is not ignored
    (tmp_path / "b").mkdir()
    with pytest.raises(OptionsError, match="already exists"):
        convert(EXAMPLE_DIR / "model.keras", tmp_path / "b", ConvertOptions(formats=["numpy"]))


def test_child_job_is_explicit_json(tmp_path: Path) -> None:
    context = BuildContext(tflite_runtime_compatible=True, calibration_file=tmp_path / ".calibration.npz",
                           onnx_metadata={"edgeclf.task": '"binary"'})  # fmt: skip
    plan = ArtifactPlan(ArtifactFormat.TFLITE, Precision.INT8, RnnForm.FUSED, context)
    assert plan == ArtifactPlan(ArtifactFormat.TFLITE, Precision.INT8, RnnForm.FUSED)  # the context is no identity
    job = ArtifactJob.for_artifact(tmp_path, tmp_path / plan.file, plan.precision, plan.rnn, plan.context)
    job.write(tmp_path / "job.json")
    read = ArtifactJob.read(tmp_path / "job.json")
    assert read == job and read.precision == "int8" and read.rnn == "fused" and not read.per_channel_dense
    assert read.calibration_file == str(tmp_path / ".calibration.npz")
    assert read.out == str(tmp_path / "tflite-fused-int8.tflite") and read.metadata == {"edgeclf.task": '"binary"'}


def test_parity_error_is_a_conversion_error() -> None:
    assert issubclass(ParityError, ConversionError) and issubclass(ConversionError, EdgeclfError)
    from edgeclf.convert import artifacts

    assert artifacts.ConversionError is ConversionError  # the name builders and callers import keeps working

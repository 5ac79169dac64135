"""What ``convert()`` is asked to do: every option in one frozen value, validated in one place.

The CLI (``convert/cli_args.py``) and the Python API (``convert(model, out, options)`` or keyword arguments)
both build a ``ConvertOptions``; ``convert()`` reads nothing else. Formats, precisions and recurrent forms are
enums: a new recurrent form is one ``RnnForm`` member plus its lowering, which registers the form with its
format's builder (``artifacts.builds``). Errors are ``OptionsError`` with the one-line message the CLI prints.

Importing this module must not import TensorFlow: the device CLI imports it to register ``edgeclf convert``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from edgeclf.errors import OptionsError

if TYPE_CHECKING:
    from edgeclf.convert.datasets import LabelledTexts
    from edgeclf.network import Network
    from edgeclf.tokenizer import Tokenizer

CALIBRATION_SAMPLES = 200  # int8/int16x8 calibrate on the first N calibration texts


class _Choice(str, Enum):
    """A value spelled the same in flags, manifests and file names: ``str(Precision.FP32) == "fp32"``."""

    def __str__(self) -> str:
        return self.value

    @classmethod
    def listed(cls) -> str:
        return ", ".join(member.value for member in cls)


class ArtifactFormat(_Choice):
    TFLITE = "tflite"
    NUMPY = "numpy"  # the network description itself, run by edgeclf's numpy evaluator
    ONNX = "onnx"


class Precision(_Choice):
    FP32 = "fp32"
    DYNAMIC = "dynamic"  # int8 weights, float activations
    FLOAT16 = "float16"  # fp16 weights
    INT8 = "int8"  # full integer, calibrated on real texts
    INT16X8 = "int16x8"  # 16-bit activations, 8-bit weights, calibrated
    INT8_FLOAT_RNN = "int8-float-rnn"  # int8 with the fused recurrent ops kept float (convert/quant_diagnosis.py)


class RnnForm(_Choice):
    LOOP = "loop"  # WHILE loops that honour the mask
    FUSED = "fused"  # the runtimes' native recurrent ops, fed at each text's true length
    UNROLLED = "unrolled"  # a straight-line graph at the model's fixed length
    SCAN = "scan"  # edgeclf's own loop (input projection hoisted, directions stacked), fed at the true length


_C = TypeVar("_C", bound=_Choice)


def _members(kind: type[_C], values: Iterable[str | _C] | None) -> tuple[_C, ...] | None:
    """``values`` as members of ``kind``, or None for "the default"; caller checks unknown values first."""
    return None if values is None else tuple(kind(value) for value in values)


def check_artifact_selection(
    formats: Iterable[str] | None, precisions: Iterable[str] | None, rnn_forms: Iterable[str] | None
) -> tuple[tuple[ArtifactFormat, ...] | None, tuple[Precision, ...] | None, tuple[RnnForm, ...] | None]:
    """The formats, precisions and recurrent forms asked for, as enums (None: the default), or an OptionsError
    naming the first that no chosen format can write (an unknown value is one no format can write)."""
    from edgeclf.convert.artifacts import DEFAULT_FORMATS, supported  # the builders' registrations, TF-free

    formats, precisions, rnn_forms = [None if v is None else list(v) for v in (formats, precisions, rnn_forms)]
    if formats == [] or precisions == [] or rnn_forms == []:
        raise OptionsError("at least one format, precision and recurrent form are needed")
    for value in formats or []:
        if value not in ArtifactFormat._value2member_map_:
            raise OptionsError(f"unknown format {value!r}; choose from {ArtifactFormat.listed()}")
    chosen = _members(ArtifactFormat, formats) or DEFAULT_FORMATS
    support = {f: supported(f) for f in chosen}  # format → (precisions, forms) its builder registered
    for values, what, position in ((precisions, "precision", 0), (rnn_forms, "recurrent form", 1)):
        for value in values or []:
            if not any(value in registered[position] for registered in support.values()):
                everything = sorted({str(v) for registered in support.values() for v in registered[position]})
                raise OptionsError(
                    f"no chosen format ({', '.join(map(str, support))}) can be written with {what} {value}; "
                    f"they support {', '.join(everything)}"
                )
    return _members(ArtifactFormat, formats), _members(Precision, precisions), _members(RnnForm, rnn_forms)


@dataclass(frozen=True)
class TokenizerSource:
    """A tokenizer file shipped beside a model that takes token ids, with the options it was used with."""

    path: Path
    maxlen: int | None = None  # default: the model's own input length
    padding: str = "pre"  # pad_sequences' defaults
    truncating: str = "pre"
    oov_token: str | None = None
    num_words: int | None = None
    allow_pickle: bool = False
    # --vocab-file: a token list with TextVectorization's options, or a character map with an --unknown rule
    vocab_file: bool = False
    standardize: str | None = None
    split: str | None = None
    max_tokens: int | None = None
    output_sequence_length: int | None = None
    unknown: str | None = None

    def load(self, network: Network) -> Tokenizer:
        from edgeclf.convert.tokenizer_files import read_keras_tokenizer
        from edgeclf.convert.vocab_files import load_vocabulary_tokenizer

        vocabulary_tokenizer = load_vocabulary_tokenizer(self, network.sequence_length)
        if vocabulary_tokenizer is not None:
            return vocabulary_tokenizer
        maxlen = self.maxlen or network.sequence_length
        if maxlen is None:
            raise OptionsError("the model accepts any length: give the length it was trained with, --maxlen N")
        if network.sequence_length not in (None, maxlen):
            raise OptionsError(
                f"--maxlen {maxlen} contradicts the model's fixed input length {network.sequence_length}"
            )
        return read_keras_tokenizer(
            self.path,
            maxlen=maxlen,
            padding=self.padding,
            truncating=self.truncating,
            oov_token=self.oov_token,
            num_words=self.num_words,
            allow_pickle=self.allow_pickle,
        )


@dataclass(frozen=True)
class ConvertOptions:
    """Every option of one conversion. Lists may be given as any iterable of strings; they are kept as tuples of
    enums, None meaning "the default" (``artifacts.plan_artifacts`` says what that is for each format)."""

    labels: tuple[str, ...] | None = None  # default: negative,positive / class_N
    task: str | None = None  # binary, multiclass, multilabel; default: read from the head
    parity_texts: LabelledTexts | None = None  # the eval texts; default: synthetic texts from the vocabulary
    parity_source: str | None = None  # what they are, for the manifest
    calibration_texts: LabelledTexts | None = None  # int8/int16x8; default: the eval texts
    calibration_samples: int = CALIBRATION_SAMPLES
    tokenizer_source: TokenizerSource | None = None  # models that take token ids
    formats: tuple[ArtifactFormat, ...] | None = None
    precisions: tuple[Precision, ...] | None = None
    rnn_forms: tuple[RnnForm, ...] | None = None
    default_artifact: str | None = None  # a name, or "smallest"; default: the fastest exact artifact
    maxlen: int | None = None  # a TextVectorization model of any length: a cap for this deployment
    overwrite: bool = False  # --force
    unsafe: bool = False  # Keras safe mode off
    custom_objects: Path | None = None  # a .py file defining the model's custom layers (needs unsafe)
    single_file: bool = False
    keep_inaccurate: bool = False
    tflite_runtime_compatible: bool = False
    verify_python: Path | None = None

    def __post_init__(self) -> None:
        formats, precisions, rnn_forms = check_artifact_selection(self.formats, self.precisions, self.rnn_forms)
        object.__setattr__(self, "formats", formats)
        object.__setattr__(self, "precisions", precisions)
        object.__setattr__(self, "rnn_forms", rnn_forms)
        if self.labels is not None:
            object.__setattr__(self, "labels", tuple(self.labels))
        for name in ("custom_objects", "verify_python"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, Path(value))

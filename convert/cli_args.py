"""``edgeclf convert``'s arguments and their run, registered by ``edgeclf.cli``.

Importing this module must not import TensorFlow: the device CLI registers the command on every call, and
the converter is imported only when the command runs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from edgeclf.convert.options import CALIBRATION_SAMPLES, ConvertOptions, Precision, RnnForm
from edgeclf.errors import EdgeclfError, OptionsError
from edgeclf.selection import describe_choice

EXAMPLE = "example"


def _split_labels(value: str) -> list[str]:
    labels = [v.strip() for v in value.split(",")]
    if not all(labels):
        raise argparse.ArgumentTypeError("labels must be non-empty, comma-separated names")
    return labels


def _comma_list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def convert_options(args: argparse.Namespace) -> ConvertOptions:
    """The ``ConvertOptions`` that ``edgeclf convert``'s arguments ask for (reads the label and text files)."""
    from edgeclf.convert.options import TokenizerSource
    from edgeclf.convert.texts import read_texts

    labels = args.labels
    if args.labels_file is not None:
        from edgeclf.convert.vocab_files import read_labels_file

        if args.labels:
            raise OptionsError("give --labels or --labels-file, not both")
        labels = read_labels_file(args.labels_file, args.allow_pickle)
    texts, source = None, None
    if _is_example(args.model):
        from edgeclf.convert import pipeline

        texts, source = pipeline.parity_texts_for_example(), "the example's held-out IMDB reviews (heldout.csv)"
    columns = {"text_column": args.text_column, "label_column": args.label_column}
    calibration = read_texts(args.calibration_texts, labels, **columns) if args.calibration_texts else None
    if args.eval_texts:
        texts, source = read_texts(args.eval_texts, labels, **columns), str(args.eval_texts)
    elif calibration is not None:  # one file for both, as before --eval-texts existed
        texts, source = calibration, str(args.calibration_texts)
    tokenizer_source = None
    if args.tokenizer and args.vocab_file:
        raise OptionsError("give --tokenizer FILE or --vocab-file FILE, not both")
    if args.tokenizer or args.vocab_file:
        tokenizer_source = TokenizerSource(
            path=args.tokenizer or args.vocab_file,
            vocab_file=args.vocab_file is not None,
            standardize=args.standardize,
            split=args.split,
            max_tokens=args.max_tokens,
            output_sequence_length=args.output_sequence_length,
            unknown=args.unknown,
            maxlen=args.maxlen,
            padding=args.padding,
            truncating=args.truncating,
            oov_token=args.oov_token,
            num_words=args.num_words,
            allow_pickle=args.allow_pickle,
        )
    return ConvertOptions(
        labels=labels,
        calibration_texts=calibration,
        task=args.task,
        parity_texts=texts,
        parity_source=source,
        tokenizer_source=tokenizer_source,
        default_artifact=args.default_artifact,
        formats=args.formats,
        precisions=args.quantize,
        rnn_forms=args.rnn,
        overwrite=args.force,
        unsafe=args.unsafe,
        single_file=args.single_file,
        keep_inaccurate=args.keep_inaccurate,
        tflite_runtime_compatible=args.tflite_runtime_compatible,
        verify_python=args.verify_python,
        calibration_samples=args.calibration_samples,
        maxlen=None if tokenizer_source else args.maxlen,  # with --tokenizer it is part of the tokenizer's options
        custom_objects=args.custom_objects,
    )


def _is_example(model: Path) -> bool:
    return str(model) == EXAMPLE and not Path(model).exists()


def _convert(args: argparse.Namespace) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ start-up chatter is not for users
    if args.unsafe:  # an explicit opt-in, said out loud before anything is loaded
        print(
            "edgeclf: warning: --unsafe turns Keras safe mode off: loading the model may run code stored in it "
            "(Lambda layers, custom objects); use it only on files you trust",
            file=sys.stderr,
        )
    try:
        from edgeclf.convert import pipeline
    except ImportError as e:
        raise EdgeclfError(f"`edgeclf convert` needs the converter: pip install 'edgeclf[convert]' ({e})") from e
    options = convert_options(args)
    model = pipeline.EXAMPLE_DIR / "model.keras" if _is_example(args.model) else Path(args.model)
    manifest = pipeline.convert(model, args.output, options)
    if args.json:
        print(json.dumps(manifest, ensure_ascii=False))
    else:
        for artifact in manifest["artifacts"]:
            p = artifact["parity"]
            print(
                f"{artifact['name']}: {artifact['size']:,} bytes, max |Δ| {p['max_abs_diff']:.2e} vs Keras, "
                f"label agreement {p['label_agreement']:.4f} on {p['texts']} texts"
                + ("" if p["ok"] else "  [OUTSIDE TARGET: see report.md]")
            )
            if "summary" in artifact.get("quantization", {}):
                print(f"  {artifact['quantization']['summary']}")
        for failed in manifest["failed_artifacts"]:
            print(f"{failed['name']}: not written ({failed['error']})")
        for single in manifest.get("single_files", []):
            print(f"single file {args.output / single['file']} for {single['artifact']}")
        if args.single_file and not manifest.get("single_files"):  # said, not silently nothing
            onnx = [a["file"] for a in manifest["artifacts"] if a["format"] == "onnx"]
            print(
                "--single-file: no TFLite artifact to embed the bundle into"
                + (f"; each .onnx artifact ({', '.join(onnx)}) is a single file already" if onnx else "")
            )
        print(describe_choice(manifest))
        print(f"bundle written to {args.output} ({manifest['conversion_seconds']} s)")
    return 0


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``edgeclf convert`` on the CLI's subparsers."""
    c = subparsers.add_parser(
        "convert",
        help="convert a Keras model into a bundle (needs edgeclf[convert])",
        description="Convert a Keras text classifier (.keras/.h5 with a TextVectorization layer) into "
        "a bundle: TFLite artifact, vocabulary, labels, manifest and parity report.",
    )
    c.add_argument("model", help=f"the Keras model file, or '{EXAMPLE}' for the built-in IMDB BiLSTM")
    c.add_argument("-o", "--output", type=Path, required=True, help="bundle folder to write")
    c.add_argument(
        "--labels", type=_split_labels, help="comma-separated label names (binary default: negative,positive)"
    )
    c.add_argument(
        "--task", choices=["binary", "multiclass", "multilabel"], help="override the task read from the head"
    )
    c.add_argument(
        "--eval-texts",
        type=Path,
        metavar="FILE",
        help="real texts (with labels for accuracy) every artifact is checked on against Keras: .txt (one per line), "
        ".jsonl or .csv (text[,label] columns; labels as indices or names)",
    )
    c.add_argument(
        "--calibration-texts",
        type=Path,
        metavar="FILE",
        help="real texts, ideally from training, to calibrate int8/int16x8 on (the first --calibration-samples); "
        "also the eval texts when --eval-texts is not given",
    )
    c.add_argument(
        "--text-column",
        default="text",
        metavar="NAME",
        help="CSV column or JSONL field holding the text in --eval-texts/--calibration-texts (default: text)",
    )
    c.add_argument(
        "--label-column",
        default="label",
        metavar="NAME",
        help="CSV column or JSONL field holding the label in those files (default: label)",
    )
    c.add_argument(
        "--calibration-samples",
        type=int,
        default=CALIBRATION_SAMPLES,
        metavar="N",
        help="how many calibration texts int8/int16x8 use, the first N in file order (default: 200)",
    )
    c.add_argument("--formats", type=_comma_list, help="artifact formats: tflite, onnx, numpy (default: all three)")
    c.add_argument(
        "--quantize",
        type=_comma_list,
        metavar="PRECISIONS",
        help=f"precisions: {Precision.listed()} (int8 with the fused recurrent "
        "layers float; --rnn fused) (default: fp32,dynamic where the format has it)",
    )
    c.add_argument("--default-artifact", metavar="NAME|smallest",
                   help="artifact predict uses when none is named (smallest: smallest within tolerance)")  # fmt: skip
    c.add_argument("--rnn", type=_comma_list, metavar="FORMS",
                   help=f"recurrent forms: {RnnForm.listed()} (default: per format and model; TFLite: fused "
                        "for a static input length with an LSTM, else loop, plus scan where texts are fed at their "
                        "true length or unmasked, the fastest becoming the default; ONNX: fused)")  # fmt: skip
    t = c.add_argument_group("models that take token ids (no TextVectorization layer)")
    t.add_argument(
        "--tokenizer",
        type=Path,
        metavar="FILE",
        help="legacy Keras Tokenizer: to_json() output (plain or JSON-encoded twice) or a word_index JSON; with "
        "--allow-pickle a pickled Tokenizer or TextVectorization {config, weights} (docs/model-files.md)",
    )
    t.add_argument(
        "--maxlen",
        type=int,
        help="sequence length the model was trained with (default: its input length); for a TextVectorization model "
        "without output_sequence_length: a cap for this deployment (texts cut to their first N tokens), which "
        "allows --rnn unrolled",
    )
    t.add_argument("--padding", choices=["pre", "post"], default="pre", help="pad_sequences padding (default: pre)")
    t.add_argument(
        "--truncating", choices=["pre", "post"], default="pre", help="pad_sequences truncating (default: pre)"
    )
    t.add_argument("--oov-token", help="OOV token of a bare word_index (its id is word_index[token])")
    t.add_argument("--num-words", type=int, help="Tokenizer num_words, when the file does not say")
    t.add_argument(
        "--allow-pickle",
        action="store_true",
        help="accept a pickled Tokenizer, TextVectorization {config, weights} or LabelEncoder (read by an allow-list "
        "unpickler: those, numpy arrays of text and plain containers)",
    )
    t.add_argument("--vocab-file", type=Path, metavar="FILE",
                   help="vocabulary as a JSON list or text file, one token per line (get_vocabulary() order), or a "
                   "hand-written character map (line i = id i, line 0 empty) with --unknown")  # fmt: skip
    t.add_argument("--standardize", choices=["lower_and_strip_punctuation", "lower", "strip_punctuation", "none"],
                   help="TextVectorization standardize for --vocab-file (default: lower_and_strip_punctuation; "
                   "character maps: none)")  # fmt: skip
    t.add_argument("--split", choices=["whitespace", "character"],
                   help="TextVectorization split for --vocab-file (default: whitespace)")  # fmt: skip
    t.add_argument("--max-tokens", type=int, metavar="N",
                   help="TextVectorization max_tokens: only the first N vocabulary entries are used")  # fmt: skip
    t.add_argument("--output-sequence-length", type=int, metavar="N",
                   help="TextVectorization output_sequence_length (default: the model's input length)")  # fmt: skip
    t.add_argument("--unknown", choices=["oov", "padding"],
                   help="character map: a character outside it becomes the padding id 0 (kept in place) or the id "
                   "of --oov-token's line (default token [UNK])")  # fmt: skip
    c.add_argument("--labels-file", type=Path, metavar="FILE",
                   help="label names: JSON list, text file (one per line), or a pickled/joblib LabelEncoder (with "
                   "--allow-pickle)")  # fmt: skip
    c.add_argument("--custom-objects", type=Path, metavar="FILE.py",
                   help="Python file defining the model's custom layers (executed: needs --unsafe)")  # fmt: skip
    c.add_argument("--force", action="store_true", help="replace an existing bundle folder")
    c.add_argument(
        "--verify-python",
        type=Path,
        metavar="PYTHON",
        help="a second Python with edgeclf and another interpreter (e.g. a venv with tflite-runtime 2.14) in which "
        "every artifact is run again; the manifest records which interpreters loaded it and matched",
    )
    c.add_argument(
        "--tflite-runtime-compatible",
        action="store_true",
        help="keep quantized .tflite files loadable by tflite-runtime 2.14 (the last armv7 wheels): dense layers "
        "quantized per tensor, not per channel (the newer FULLY_CONNECTED version 2.14 lacks)",
    )
    c.add_argument(
        "--single-file",
        action="store_true",
        help="also write one STEM.edgeclf.tflite per TFLite artifact (model.edgeclf.tflite for the float32 one): "
        "the .tflite with manifest, vocabulary and labels inside; an edgeclf .onnx is a single file already",
    )
    c.add_argument(
        "--keep-inaccurate",
        action="store_true",
        help="write quantized artifacts even when their labels agree with Keras on under 90%% of the texts "
        "(refused by default and listed under failed_artifacts)",
    )
    c.add_argument(
        "--unsafe",
        action="store_true",
        help="load the model with Keras safe mode OFF (runs code stored in the file: trusted files only)",
    )
    c.add_argument("--json", action="store_true", help="print the manifest as JSON")
    c.set_defaults(run=_convert)

    return c

"""The ``edgeclf`` command line: convert, predict, inspect.

Only ``convert`` needs TensorFlow (the ``edgeclf[convert]`` extra); it is imported when used.
Errors a user can cause print one line on stderr and exit with status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from edgeclf.errors import EdgeclfError

EXAMPLE = "example"


def _split_labels(value: str) -> list[str]:
    labels = [v.strip() for v in value.split(",")]
    if not all(labels):
        raise argparse.ArgumentTypeError("labels must be non-empty, comma-separated names")
    return labels


def _comma_list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _convert(args: argparse.Namespace) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ start-up chatter is not for users
    try:
        from edgeclf.convert import pipeline
        from edgeclf.convert.texts import read_texts
    except ImportError as e:
        raise EdgeclfError(f"`edgeclf convert` needs the converter: pip install 'edgeclf[convert]' ({e})") from e
    model, texts, source = args.model, None, None
    if str(model) == EXAMPLE and not Path(model).exists():
        model = pipeline.EXAMPLE_DIR / "model.keras"
        texts, source = pipeline.parity_texts_for_example(), "the example's held-out IMDB reviews (heldout.csv)"
    if args.calibration_texts:
        texts, source = read_texts(args.calibration_texts, args.labels), str(args.calibration_texts)
    manifest = pipeline.convert(
        Path(model),
        args.output,
        labels=args.labels,
        task=args.task,
        parity_texts=texts,
        parity_source=source,
        formats=args.formats,
        precisions=args.quantize,
        rnn_forms=args.rnn,
        overwrite=args.force,
        unsafe=args.unsafe,
    )
    if args.json:
        print(json.dumps(manifest, ensure_ascii=False))
    else:
        for artifact in manifest["artifacts"]:
            p = artifact["parity"]
            print(
                f"{artifact['name']}: {artifact['size']:,} bytes, max |Δ| {p['max_abs_diff']:.2e} vs Keras, "
                f"label agreement {p['label_agreement']:.4f} on {p['texts']} texts"
            )
        print(f"bundle written to {args.output} ({manifest['conversion_seconds']} s)")
    return 0


def _input_texts(args: argparse.Namespace) -> Iterable[str]:
    if args.texts:
        return args.texts
    # stdin as bytes: invalid UTF-8 becomes U+FFFD instead of an exception (documented policy)
    data = sys.stdin.buffer.read().decode("utf-8", errors="replace")
    return [line.rstrip("\r") for line in data.split("\n") if line.strip()]


def _predict(args: argparse.Namespace) -> int:
    from edgeclf.runtime import Classifier

    classifier = Classifier.load(args.bundle, artifact=args.artifact, backend=args.backend)
    for prediction in classifier.predict(list(_input_texts(args))):
        if args.json:
            print(json.dumps(prediction.to_dict(), ensure_ascii=False))
        else:
            best = max(prediction.scores.values())
            shown = prediction.text if len(prediction.text) <= 70 else prediction.text[:67] + "..."
            print(f"{','.join(prediction.labels) or '(none)':<12} {best:.4f}  {shown}")
    return 0


def _inspect(args: argparse.Namespace) -> int:
    from edgeclf.bundle import Bundle

    bundle = Bundle.open(args.bundle)
    m = bundle.manifest
    if args.json:
        print(json.dumps(m, ensure_ascii=False))
        return 0
    print(f"task {m['task']}: {', '.join(m['labels'])} ({'logits' if m['output']['logits'] else 'probabilities'})")
    t = m["tokenizer"]
    print(
        f"tokenizer: {t['kind']} {t['standardize']}/{t['split']}, {t['vocab_size']} tokens; "
        f"input {m['input']['feed'].replace('_', ' ')}, masked={m['input']['masked']}"
    )
    for a in m["artifacts"]:
        p = a.get("parity", {})
        default = " (default)" if a["name"] == m["default_artifact"] else ""
        print(
            f"- {a['name']}{default}: {a['file']} {a['size']:,} bytes, "
            f"max |Δ| {p.get('max_abs_diff', float('nan')):.2e}, "
            f"agreement {p.get('label_agreement', float('nan')):.4f}"
        )
        print(f"  ops: {', '.join(f'{k} {v}' for k, v in a['ops'].items())}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edgeclf",
        description="Put a trained Keras RNN text classifier on a small device.",
        epilog="Example: edgeclf convert example -o bundle/ && edgeclf predict bundle/ 'what a wonderful film'",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    c = sub.add_parser(
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
        "--calibration-texts",
        type=Path,
        metavar="FILE",
        help="real texts for the parity check: .txt (one per line), .jsonl or .csv (text[,label] columns)",
    )
    c.add_argument("--formats", type=_comma_list, default=["tflite"], help="artifact formats (default: tflite)")
    c.add_argument("--quantize", type=_comma_list, metavar="PRECISIONS",
                   help="precisions to write, comma-separated (default: fp32)")  # fmt: skip
    c.add_argument("--rnn", type=_comma_list, metavar="FORMS",
                   help="recurrent forms (default per format; TFLite: loop = WHILE, exact under masking)")  # fmt: skip
    c.add_argument("--force", action="store_true", help="replace an existing bundle folder")
    c.add_argument(
        "--unsafe",
        action="store_true",
        help="load the model with Keras safe mode OFF (runs code stored in the file: trusted files only)",
    )
    c.add_argument("--json", action="store_true", help="print the manifest as JSON")
    c.set_defaults(run=_convert)

    p = sub.add_parser(
        "predict",
        help="classify texts with a bundle (no TensorFlow needed)",
        description="Classify TEXT arguments, or lines from stdin when none are given.",
    )
    p.add_argument("bundle", type=Path)
    p.add_argument("texts", nargs="*", metavar="TEXT")
    p.add_argument("--artifact", help="artifact name from the manifest (default: the bundle's default)")
    p.add_argument("--backend", help="interpreter to run it with (default: the first installed for the artifact)")
    p.add_argument("--json", action="store_true", help='one JSON object per line: {"text", "labels", "scores"}')
    p.set_defaults(run=_predict)

    i = sub.add_parser(
        "inspect",
        help="show what a bundle holds",
        description="Show a bundle's task, tokenizer, artifacts, op census and parity figures.",
    )
    i.add_argument("bundle", type=Path)
    i.add_argument("--json", action="store_true", help="print the whole manifest as JSON")
    i.set_defaults(run=_inspect)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # argparse (before 3.12) gives `predict B --json TEXT` no home for TEXT once `texts` matched nothing
    if extra and getattr(args, "texts", None) is not None and not any(e.startswith("-") for e in extra):
        args.texts += extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return args.run(args)
    except EdgeclfError as e:
        print(f"edgeclf: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

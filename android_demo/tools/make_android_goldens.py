"""Golden vectors for the Android demo's Kotlin core (android_demo/edgeclf-core), generated from real models.

Every golden set is a folder the Kotlin tests read like a bundle (``manifest.json`` + the tokenizer's vocabulary
file) plus ``golden.json``: per text the token ids, the model input, the raw outputs and the expected
probabilities and labels. Nothing here is mocked:

- ids come from the real tokenizers: the Keras ``TextVectorization`` layer inside each model, or the legacy
  ``tf_keras.preprocessing.text.Tokenizer`` loaded from the real-world models' own tokenizer files, padded and
  truncated with ``tf_keras``' ``pad_sequences``;
- raw outputs are recorded by running each ``model.tflite`` in the real LiteRT interpreter (``ai_edge_litert``),
  resized to ``[1, n]`` per text exactly as the Android app's ``Interpreter.resizeInput`` does;
- expected probabilities and labels come from edgeclf's Python runtime (``edgeclf.runtime``), which the Kotlin
  post-processing must reproduce.

Sets: the example IMDB BiLSTM bundle (binary, logit head, masked, true length); a multi-label GRU (word level,
masked, logit head) and a multiclass character-level LSTM (unmasked, fixed length, softmax probabilities), both
built and converted here with ``edgeclf convert``; and, when ../shared/realworld-models is present, the legacy
Keras tokenizers of the real-world models, with the whole pipeline (LiteRT outputs) for spam-lstm20-keras3-h5.

Run by tests/android/test_android_jvm.py; by hand:
``python android_demo/tools/make_android_goldens.py OUT_DIR [BUNDLE_DIR]``.
"""

from __future__ import annotations

import json
import os
import shutil
import string
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = Path(__file__).resolve().parents[2]
REALWORLD = Path(os.environ.get("EDGECLF_REALWORLD_MODELS", REPO.parent / "shared" / "realworld-models"))
RAW_TOLERANCE = 1e-5  # LiteRT through edgeclf's backend vs LiteRT here; Keras vs LiteRT for the legacy model

# Texts every set is checked on: punctuation, whitespace of every kind, case, non-ASCII scripts, emoji, empty.
ADVERSARIAL = [
    "",
    " ",
    "\t\n\r\x0b\x0c  ",
    string.punctuation,
    "".join(f"a{c}b " for c in string.punctuation),
    "Don't STOP... it's <br /><br />the BEST film!!!",
    "CAFÉ Café café É",
    "İSTANBUL ıi KELVIN \u212a ẞ ß Σίσυφος ΟΔΟΣ. ΣΑΣ Σ",
    "Straße STRASSE ǅemal ǈ ǋ ᾈ ﬃ Ω Å",
    "ПРИВЕТ Мир ԱՐԵՎ Ⴀ Ა Ꭰ 𐐀 𞤀",
    "non\u00a0breaking\u2009thin\u3000ideographic\u200bzero-width\u2028line\u0085nel\x1csep",
    "em—dash «quotes» ¿qué? ¡sí! … „Anführung“",
    "emoji 😀👍🏽 👨‍👩‍👧 🇫🇷 great",
    "😀",
    "中文文本分类 很好看的电影 日本語 한국어",
    "עברית العربية हिन्दी ไทย",
    "combining e\u0301 a\u0308 fullwidth ＡＢＣ ligature ﬁ",
    "tabs\tbetween\twords\nand\nnewlines\r\nwindows",
    "the movie the movie THE MOVIE The Movie",
    "U.S.A. e-mail don't 3.14 #1 @user http://example.com/a?b=c",
    "Wanna Chat? Watch movie!",
    "You have won 2 trillion dollars",
    "Free entry in 2 a wkly comp to win FA Cup final tkts 21st May 2005",
    "saya takut jarum suntik dan gamau vaksin",
    "x" * 20_000,
    ("great film " * 1_500).strip(),
    "a" + " " * 5_000 + "b",
]


def _example_texts(count: int = 40) -> list[str]:
    from edgeclf.convert.pipeline import parity_texts_for_example

    return list(parity_texts_for_example().texts[:count])


class LiteRT:
    """The real LiteRT interpreter on one .tflite file, resized per text as the Android app does."""

    def __init__(self, path: Path) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=str(path), num_threads=1)
        self.interpreter.allocate_tensors()
        (inp,) = self.interpreter.get_input_details()
        (out,) = self.interpreter.get_output_details()
        self.input, self.output = inp["index"], out["index"]
        self.dynamic_length = int(inp["shape_signature"][1]) == -1
        self.length = int(inp["shape"][1])

    def run(self, ids: list[int]) -> list[float]:
        if len(ids) != self.length:
            if not self.dynamic_length:
                raise ValueError(f"the model takes {self.length} ids, got {len(ids)}")
            self.interpreter.resize_tensor_input(self.input, [1, len(ids)], strict=True)
            self.interpreter.allocate_tensors()
            self.length = len(ids)
        self.interpreter.set_tensor(self.input, np.asarray(ids, dtype=np.int32).reshape(1, -1))
        self.interpreter.reset_all_variables()  # fused LSTMs keep state between invokes (the app resets them too)
        self.interpreter.invoke()
        return [float(v) for v in self.interpreter.get_tensor(self.output).reshape(-1)]


def _text_vectorization_ids(layer: Any, texts: list[str]) -> list[list[int]]:
    """The Keras layer's ids per text without padding (a companion word keeps an all-empty batch non-empty)."""
    out = []
    for text in texts:
        row = np.asarray(layer(np.asarray([text, "film"], dtype=object)))[0]
        out.append([int(i) for i in row if i != 0])
    return out


def _write_set(out: Path, name: str, bundle: Path, files: list[str], meta: dict, cases: list[dict]) -> Path:
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    for file in files:
        shutil.copyfile(bundle / file, folder / file)
    golden = {"name": name, **meta, "cases": cases}
    (folder / "golden.json").write_text(json.dumps(golden, ensure_ascii=False), encoding="utf-8")
    return folder


def bundle_set(out: Path, name: str, bundle: Path, texts: list[str]) -> Path:
    """A golden set from an edgeclf bundle: Keras layer ids, LiteRT outputs, edgeclf runtime probabilities."""
    from edgeclf.convert.keras_reader import load_keras_model
    from edgeclf.runtime import Classifier

    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    source = bundle / "source.keras"
    model = load_keras_model(source if source.exists() else _source_model(bundle))
    (layer,) = [la for la in model.layers if type(la).__name__ == "TextVectorization"]
    # the app runs the float32 TFLite artifact, whichever artifact is the bundle's measured default
    tflite = next(a for a in manifest["artifacts"] if a["format"] == "tflite" and a["precision"] == "fp32")
    classifier = Classifier.load(bundle, artifact=tflite["name"])
    litert = LiteRT(bundle / tflite["file"])
    cases = []
    for text, ids in zip(texts, _text_vectorization_ids(layer, texts), strict=True):
        ours = classifier.tokenizer.token_ids(text).tolist()
        assert ours == ids, f"edgeclf's tokenizer disagrees with the Keras layer on {text[:60]!r}"
        model_input = classifier.model_input(text).tolist()
        raw = litert.run(model_input)
        runtime_raw = classifier.raw_outputs([text])[0]
        assert np.max(np.abs(runtime_raw - np.asarray(raw, dtype=np.float32))) <= RAW_TOLERANCE
        (prediction,) = classifier.predict(text)
        cases.append(
            {
                "text": text,
                "ids": ids,
                "model_input": model_input,
                "raw": raw,
                "probabilities": [prediction.scores[label] for label in classifier.labels],
                "chosen": prediction.labels,
            }
        )
    meta = {"dynamic_length": litert.dynamic_length, "task": manifest["task"], "tokenizer_kind": "text_vectorization"}
    return _write_set(out, name, bundle, ["manifest.json", manifest["tokenizer"]["vocabulary_file"]], meta, cases)


def _source_model(bundle: Path) -> Path:
    from edgeclf.convert.pipeline import EXAMPLE_DIR

    return EXAMPLE_DIR / "model.keras"


TRAINING_TEXTS = [
    "you are a stupid idiot and I hate this",
    "buy cheap pills now, free entry, win money!!!",
    "what time does the shop open tomorrow?",
    "thank you for your help, that was very kind",
    "CLICK HERE to claim your prize — limited offer",
    "why is the sky blue? how do planes fly?",
    "Café au lait, naïve façade, résumé; ΟΔΟΣ Straße",
    "emoji 😀 are fun 👍🏽 and 中文 is too",
    "the movie was great, the film was terrible",
]


def _built_bundle(work: Path, kind: str) -> Path:
    """Builds a small seeded Keras model with a TextVectorization layer and converts it with ``edgeclf convert``."""
    import keras

    from edgeclf.convert.pipeline import convert

    keras.utils.set_random_seed(20251125)
    if kind == "multilabel":
        vectorize = keras.layers.TextVectorization(max_tokens=60)
        vectorize.adapt(TRAINING_TEXTS)
        size = len(vectorize.get_vocabulary())
        layers = [
            keras.layers.Embedding(size, 8, mask_zero=True),
            keras.layers.GRU(8),
            keras.layers.Dense(3),  # logits: sigmoid per label at run time
        ]
        labels, task = ["toxic", "spam", "question"], "multilabel"
    else:
        vectorize = keras.layers.TextVectorization(
            standardize="lower", split="character", output_sequence_length=24, max_tokens=40
        )
        vectorize.adapt(TRAINING_TEXTS)
        size = len(vectorize.get_vocabulary())
        layers = [
            keras.layers.Embedding(size, 8, mask_zero=False),
            keras.layers.LSTM(8),
            keras.layers.Dense(4, activation="softmax"),
        ]
        labels, task = ["business", "health", "tech", "other"], "multiclass"
    model = keras.Sequential([keras.Input(shape=(), dtype="string", name="text"), vectorize, *layers])
    # Spread the head so that scores are not all near 0.5 (and the multi-label threshold is crossed both ways).
    head = layers[-1]
    kernel, bias = head.get_weights()
    spread = 1.5 if kind == "multilabel" else 0.2
    head.set_weights([kernel * 8.0, np.linspace(-spread, spread, bias.shape[0]).astype(bias.dtype)])
    source = work / f"{kind}.keras"
    model.save(source)
    out = work / f"{kind}-bundle"
    convert(source, out, labels=labels, task=task, overwrite=True, progress=lambda message: None)
    shutil.copyfile(source, out / "source.keras")
    return out


# Real-world legacy-tokenizer models: folder, tokenizer file, labels, task, max length, padding, truncating, extra.
# Values from each folder's meta.json (training-time padding/truncating; ai-text's saved input is 100 long).
LEGACY = [
    ("spam-lstm20-keras3-h5", "tokenizer.json", ["ham", "spam"], 50, "post", "post", {}),
    ("spam-bigru-h5", "tokenizer.json", ["spam", "ham"], 20, "pre", "post", {}),
    ("indo-vaccine-bilstm-3class-h5", "tokenizer_3class.json", ["negatif", "netral", "positif"], 80, "post", "post",
     {}),
    ("ai-text-bilstm-keras3-h5", "tokenizer.json", ["human", "ai"], 100, "post", "pre", {}),
    ("spam-simplernn-relu-keras3-zip", "RECONSTRUCTED_tokenizer.json", ["ham", "spam"], 50, "post", "pre", {}),
    ("indo-news-stacked-lstm-h5", "word_index.json", ["Bisnis", "Health", "Tekno"], 14, "pre", "pre",
     {"num_words": 4100, "oov_token": "x"}),
]  # fmt: skip
LEGACY_WITH_MODEL = {"spam-lstm20-keras3-h5": "model.h5"}


def _legacy_tokenizer(path: Path, extra: dict) -> Any:
    from tf_keras.preprocessing.text import Tokenizer, tokenizer_from_json

    text = path.read_text(encoding="utf-8")
    loaded = json.loads(text)
    if isinstance(loaded, str):  # JSON-encoded twice, as several of these repositories store it
        return tokenizer_from_json(loaded)
    if "config" in loaded:
        return tokenizer_from_json(text)
    tokenizer = Tokenizer(**extra)  # a bare word_index.json
    tokenizer.word_index = {k: int(v) for k, v in loaded.items()}
    return tokenizer


def _legacy_tflite(folder: Path, model_file: str, work: Path) -> Path:
    """The real model lowered to TFLite by edgeclf's own lowering (the converter's path without a TextVectorization)."""
    import keras

    from edgeclf.convert.artifacts import build, plan_artifacts
    from edgeclf.convert.keras_reader import read_network

    model = keras.models.load_model(folder / model_file, compile=False)
    network, _ = read_network(model)
    staging = work / f"{folder.name}-tflite"
    staging.mkdir(parents=True, exist_ok=True)
    network.save(staging)
    (plan,) = plan_artifacts(["tflite"], ["fp32"])
    build(plan, network, staging)
    return staging / plan.file, model


def keras_tokenizer_spec(tokenizer: Any, length: int, padding: str, truncating: str) -> tuple[dict, dict[str, int]]:
    """The manifest spec and vocab.json of a legacy Tokenizer, as edgeclf convert writes them (edgeclf/tokenizer.py's
    KerasTokenizer.to_spec): the word_index of the usable words (index < num_words) and the OOV index itself."""
    num_words = tokenizer.num_words
    vocabulary = {w: int(i) for w, i in tokenizer.word_index.items() if not num_words or int(i) < num_words}
    oov = tokenizer.word_index.get(tokenizer.oov_token) if tokenizer.oov_token is not None else None
    spec = {
        "kind": "keras_tokenizer",
        "filters": tokenizer.filters,
        "lower": tokenizer.lower,
        "lowercase": "unicode" if tokenizer.lower else None,
        "split": tokenizer.split,
        "char_level": tokenizer.char_level,
        "oov_id": None if oov is None else int(oov),
        "pad_id": 0,
        "output_sequence_length": length,
        "padding": padding,
        "truncating": truncating,
        "vocab_size": len(vocabulary),
        "vocabulary_file": "vocab.json",
    }
    return spec, vocabulary


def _legacy_manifest(task: str, labels: list[str], length: int, tokenizer_spec: dict) -> dict:
    # "input" as edgeclf convert writes it today (post/post); the tokenizer's own sides must win
    return {
        "format": "edgeclf-bundle",
        "format_version": 1,
        "task": task,
        "labels": labels,
        "output": {"units": 1 if task == "binary" else len(labels), "logits": False, "threshold": 0.5},
        "input": {"dtype": "int32", "masked": False, "sequence_length": length, "padding": "post",
                  "truncating": "post", "pad_id": 0, "feed": "fixed_length"},
        "tokenizer": tokenizer_spec,
        "artifacts": [{"name": "tflite-fp32", "file": "model.tflite"}],
        "default_artifact": "tflite-fp32",
    }  # fmt: skip


def _edgeclf_keras_tokenizer(spec: dict, vocabulary: dict[str, int]) -> Any:
    """edgeclf's own Python KerasTokenizer for this spec, when this edgeclf has one (checked against tf_keras too)."""
    try:
        from edgeclf.tokenizer import tokenizer_from_spec
    except ImportError:
        return None
    return tokenizer_from_spec(spec, vocabulary)


def _legacy_cases(tokenizer: Any, spec: dict, vocabulary: dict, texts: list[str]) -> list[dict[str, Any]]:
    from tf_keras.preprocessing.sequence import pad_sequences

    length, padding, truncating = spec["output_sequence_length"], spec["padding"], spec["truncating"]
    ours = _edgeclf_keras_tokenizer(spec, vocabulary)
    cases = []
    for text in texts:
        ids = [int(i) for i in tokenizer.texts_to_sequences([text])[0]]
        model_input = [int(i) for i in pad_sequences([ids], maxlen=length, padding=padding, truncating=truncating)[0]]
        if ours is not None:
            assert ours.encode(text).tolist() == model_input, f"edgeclf's KerasTokenizer != tf_keras on {text[:60]!r}"
        cases.append({"text": text, "ids": ids, "model_input": model_input})
    return cases


def legacy_set(out: Path, work: Path, entry: tuple, texts: list[str]) -> Path:
    from edgeclf.runtime import probabilities

    name, tokenizer_file, labels, length, padding, truncating, extra = entry
    folder = REALWORLD / name
    tokenizer = _legacy_tokenizer(folder / tokenizer_file, extra)
    task = "binary" if len(labels) == 2 else "multiclass"
    spec, vocabulary = keras_tokenizer_spec(tokenizer, length, padding, truncating)
    cases = _legacy_cases(tokenizer, spec, vocabulary, texts)
    if name in LEGACY_WITH_MODEL:
        tflite, keras_model = _legacy_tflite(folder, LEGACY_WITH_MODEL[name], work)
        litert = LiteRT(tflite)
        for case in cases:
            raw = litert.run(case["model_input"])
            reference = keras_model.predict(np.asarray([case["model_input"]], dtype=np.int32), verbose=0)[0]
            assert np.max(np.abs(reference - np.asarray(raw))) <= RAW_TOLERANCE, (
                f"LiteRT != Keras: {case['text'][:60]!r}"
            )
            probs = probabilities(np.asarray([raw], dtype=np.float32), task, False)[0]
            case["raw"] = raw
            case["probabilities"] = [float(p) for p in probs]
            case["chosen"] = [labels[int(np.argmax(probs))]]
    target = out / f"legacy-{name}"
    target.mkdir(parents=True, exist_ok=True)
    manifest = _legacy_manifest(task, labels, length, spec)
    (target / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    (target / "vocab.json").write_text(json.dumps(vocabulary, ensure_ascii=False), encoding="utf-8")
    meta = {"dynamic_length": False, "task": task, "tokenizer_kind": "keras_tokenizer"}
    return _write_set(out, target.name, target, [], meta, cases)


def _cased_characters() -> str:
    """Every code point that Python's str.lower() changes, one per word, in runs of 64 per line."""
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000 and chr(c).lower() != chr(c)]
    return "\n".join(" ".join(chars[i : i + 64]) for i in range(0, len(chars), 64))


# Final sigma and other context-dependent lowercasing, for tokenizers whose vocabulary holds every word.
CASE_TEXTS = [
    "ΟΔΟΣ ΟΔΟΣ. Σ ΑΣ ΑΣΑ Α.Σ ΑΣ' ΑΣ\u0301 Σ\u0301Α 'Σ' ΑΣΣ ΣΑΣ",
    "İ İstanbul I\u0307 Ϊ ΐ ﬁ ẞ Ǆ ǅ ǆ Ⅻ ⓐⒶ 𝐀",
    _cased_characters(),
]

# Legacy Tokenizers fitted here with the real tf_keras Tokenizer on the golden texts themselves, so that every
# token is in the vocabulary and a lowercasing or splitting difference changes an id (with a vocabulary from
# elsewhere most of these tokens would be OOV on both sides). (name, Tokenizer arguments, length, padding, truncating)
FITTED = [
    ("fitted-words", {"oov_token": "<OOV>"}, 32, "pre", "post"),
    ("fitted-chars", {"char_level": True, "oov_token": "<OOV>", "num_words": 300}, 40, "post", "pre"),
    ("fitted-custom", {"filters": "!?,\u00a0", "lower": False, "split": "|", "num_words": 60}, 12, "post", "post"),
]


def fitted_set(out: Path, entry: tuple, texts: list[str]) -> Path:
    """A Tokenizer fitted here; its vocabulary file is the Tokenizer.to_json() text itself, JSON-encoded twice as
    published models often store it (the Kotlin core reads that as well as edgeclf's word_index form)."""
    from tf_keras.preprocessing.text import Tokenizer

    name, arguments, length, padding, truncating = entry
    tokenizer = Tokenizer(**arguments)
    tokenizer.fit_on_texts(texts[: len(texts) - 4])  # the last texts hold words the tokenizer never saw
    folder = out / f"legacy-{name}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tokenizer.json").write_text(json.dumps(tokenizer.to_json(ensure_ascii=False)), encoding="utf-8")
    spec, vocabulary = keras_tokenizer_spec(tokenizer, length, padding, truncating)
    cases = _legacy_cases(tokenizer, spec, vocabulary, texts)
    # the to_json form: settings come from the file (num_words, oov_token), the spec keeps only the input sides
    spec = {"kind": "keras_tokenizer", "output_sequence_length": length, "padding": padding, "truncating": truncating,
            "vocabulary_file": "tokenizer.json"}  # fmt: skip
    manifest = _legacy_manifest("multilabel", ["a", "b"], length, spec)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    meta = {"dynamic_length": False, "task": "multilabel", "tokenizer_kind": "keras_tokenizer"}
    return _write_set(out, folder.name, folder, [], meta, cases)


def make_goldens(out: Path, example_bundle: Path, realworld: Path | None = None) -> dict[str, int]:
    """Writes every golden set under ``out``; returns {set name: number of texts}."""
    realworld = REALWORLD if realworld is None else realworld
    out.mkdir(parents=True, exist_ok=True)
    texts = ADVERSARIAL + _example_texts()
    counts: dict[str, int] = {}
    folder = bundle_set(out, "imdb_bilstm", example_bundle, texts)
    counts[folder.name] = len(texts)
    with tempfile.TemporaryDirectory(prefix="edgeclf-goldens-") as tmp:
        work = Path(tmp)
        for kind in ("multilabel", "multiclass_chars"):
            bundle = _built_bundle(work, "multilabel" if kind == "multilabel" else "multiclass")
            folder = bundle_set(out, kind, bundle, texts + TRAINING_TEXTS)
            counts[folder.name] = len(texts) + len(TRAINING_TEXTS)
        fitted_texts = ADVERSARIAL + CASE_TEXTS + TRAINING_TEXTS + ["unseen words here", "ΝΈΑ λέξη", "new|words", "😀x"]
        for entry in FITTED:
            folder = fitted_set(out, entry, fitted_texts)
            counts[folder.name] = len(fitted_texts)
        if realworld.is_dir():
            legacy_texts = ADVERSARIAL + TRAINING_TEXTS + _example_texts(10)
            for entry in LEGACY:
                if (realworld / entry[0] / entry[1]).is_file():
                    folder = legacy_set(out, work, entry, legacy_texts)
                    counts[folder.name] = len(legacy_texts)
    (out / "index.json").write_text(json.dumps(counts, indent=2), encoding="utf-8")
    return counts


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    out = Path(argv[0])
    if len(argv) > 1:
        bundle = Path(argv[1])
    else:
        from edgeclf.convert.pipeline import EXAMPLE_DIR, convert, parity_texts_for_example

        bundle = out / "_example_bundle"
        convert(EXAMPLE_DIR / "model.keras", bundle, parity_texts=parity_texts_for_example(), overwrite=True)
    counts = make_goldens(out, bundle)
    print(json.dumps(counts, indent=2))
    print(f"{sum(counts.values())} golden texts in {len(counts)} sets under {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

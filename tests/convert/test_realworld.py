"""The seven real-world models from public repositories convert as their users have them, and reproduce
the outputs their authors published (meta.json), within 1e-5."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

from edgeclf.convert.datasets import LabelledTexts
from edgeclf.convert.pipeline import TokenizerSource, convert
from edgeclf.convert.tflite import default_forms
from edgeclf.network import Network
from edgeclf.runtime import Classifier

ZOO = Path(__file__).resolve().parents[3] / "shared" / "realworld-models"
TOLERANCE = 1e-5
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not ZOO.is_dir(), reason=f"real-world models not present at {ZOO}"),
]


def sms_texts(count: int = 300) -> LabelledTexts:
    """Real SMS messages (UCI SMS Spam Collection, shipped with one of the models); label 1 = spam."""
    raw = (ZOO / "spam-simplernn-relu-keras3-zip" / "spam.csv").read_bytes().decode("latin-1")
    rows = list(csv.reader(io.StringIO(raw)))[1 : count + 1]
    return LabelledTexts([r[1] for r in rows], np.asarray([int(r[0] == "spam") for r in rows]))


def english_reviews(count: int = 300) -> LabelledTexts:
    from edgeclf.convert.datasets import imdb_split

    test = imdb_split()[1]
    return LabelledTexts(test.texts[:count], np.full(count, -1))


# folder, model file, tokenizer file, options, labels, parity texts, published examples {text: scores}
CASES = {
    "spam-bigru-h5": dict(
        model="spam_gru32.h5", tokenizer="tokenizer.json", padding="pre", truncating="post", labels=["spam", "ham"],
        texts=lambda: LabelledTexts(sms_texts().texts, 1 - sms_texts().labels),
        examples={"Wanna Chat? Watch movie!": {"ham": 0.9685972}},
    ),
    "spam-lstm20-keras3-h5": dict(
        model="model.h5", tokenizer="tokenizer.json", padding="post", truncating="post", labels=["ham", "spam"],
        texts=sms_texts,
        examples={"You have won 2 trillion dollars": {"spam": 0.24046455},
                  "You have cracked the interview": {"spam": 0.00234541}},
    ),
    "spam-simplernn-relu-keras3-zip": dict(
        model="spam_model.keras", tokenizer="RECONSTRUCTED_tokenizer.json", padding="post", truncating="pre",
        labels=["ham", "spam"], texts=sms_texts,
        examples={"Free entry in 2 a wkly comp to win FA Cup final tkts 21st May 2005": {"spam": 0.9796044230461121},
                  "Ok lar... Joking wif u oni...": {"spam": 3.9410213503288105e-05}},
    ),
    "ai-text-bilstm-keras3-h5": dict(
        model="model.h5", tokenizer="tokenizer.json", padding="post", truncating="pre", labels=["class_0", "class_1"],
        texts=english_reviews, examples={},
    ),
    "indo-vaccine-bilstm-3class-h5": dict(
        model="BiLSTM_3class.h5", tokenizer="tokenizer_3class.json", padding="post", truncating="post",
        labels=["negatif", "netral", "positif"], texts=None,
        examples={"saya takut jarum suntik dan gamau vaksin": {"negatif": 0.9992},
                  "tenaga kesehatan akan disuntik vaksin hari ini": {"netral": 0.8447}},
    ),
    "indo-news-stacked-lstm-h5": dict(
        model="model.h5", tokenizer="word_index.json", padding="pre", truncating="pre", oov_token="x",
        num_words=4100, labels=["Bisnis", "Health", "Tekno"], texts=None,
        examples={"Manfaat Penggunaan Teknologi untuk Pendidikan": {"Tekno": 0.9637},
                  "BRI Raih Berbagai Penghargaan Inovasi Digital Banking": {"Bisnis": 0.9995}},
    ),
}  # fmt: skip
# Figures the meta.json gives with four decimals are checked to that precision, full ones to 1e-5.
ROUNDED = {"indo-vaccine-bilstm-3class-h5", "indo-news-stacked-lstm-h5"}


@pytest.fixture(scope="module", params=sorted(CASES))
def converted(request, tmp_path_factory):
    name = request.param
    case = CASES[name]
    folder = ZOO / name
    source = TokenizerSource(
        folder / case["tokenizer"], padding=case["padding"], truncating=case["truncating"],
        oov_token=case.get("oov_token"), num_words=case.get("num_words"),
    )  # fmt: skip
    texts = case["texts"]() if case["texts"] else None
    out = tmp_path_factory.mktemp("realworld") / name
    manifest = convert(
        folder / case["model"], out, labels=case["labels"], tokenizer_source=source, parity_texts=texts,
        parity_source="test texts", progress=lambda message: None,
    )  # fmt: skip
    return name, out, manifest


def test_parity_with_keras(converted):
    """The default conversion: TFLite, ONNX and numpy in float32 (exact) and dynamic-range (measured)."""
    name, bundle, manifest = converted
    artifacts = {a["name"]: a for a in manifest["artifacts"]}
    # the default TFLite form is the fastest exact one: fused for a static input length with an LSTM, else loop
    tflite = artifacts["tflite-fused-fp32" if "tflite-fused-fp32" in artifacts else "tflite-fp32"]
    prefix = "tflite-fused" if tflite["rnn"] == "fused" else "tflite"
    # the default is the fastest exact artifact measured at conversion
    assert manifest["default_artifact"] == manifest["default_choice"]["ranking"][0]
    assert artifacts[manifest["default_artifact"]]["precision"] == "fp32"
    # plus the scan form wherever it applies (texts fed at their true length, or no mask)
    scan = {"tflite-scan-fp32", "tflite-scan-dynamic"} if "scan" in default_forms(Network.load(bundle)) else set()
    assert set(artifacts) == {
        f"{prefix}-fp32",
        f"{prefix}-dynamic",
        "onnx-fused-fp32",
        "onnx-fused-dynamic",
        "numpy-fp32",
        *scan,
    }, manifest["failed_artifacts"]
    for artifact in artifacts.values():
        parity = artifact["parity"]
        assert parity["texts"] >= 64
        if artifact["precision"] == "fp32":
            assert parity["max_abs_diff"] <= TOLERANCE, (name, artifact["name"])
            assert parity["label_agreement"] == 1.0, (name, artifact["name"])
        else:  # quantized: within the stated tolerance, or marked as outside it
            assert parity["ok"] == (parity["label_agreement"] >= 0.98 and (parity["accuracy_delta"] or 0) >= -0.01)
    tflite_ops = tflite["ops"]
    recurrent_op = "UNIDIRECTIONAL_SEQUENCE_LSTM" if tflite["rnn"] == "fused" else "WHILE"
    assert recurrent_op in tflite_ops and not any(op.startswith("CUSTOM") for op in tflite_ops), (name, tflite_ops)
    assert "Loop" not in artifacts["onnx-fused-fp32"]["ops"]


def test_published_examples_reproduce(converted):
    name, bundle, _ = converted
    examples = CASES[name]["examples"]
    if not examples:
        pytest.skip(f"{name}: its authors published no real example output (meta.json)")
    classifier = Classifier.load(bundle)
    tolerance = 5e-5 if name in ROUNDED else TOLERANCE  # meta.json rounds those to 4 decimals
    for prediction in classifier.predict(list(examples)):
        for label, expected in examples[prediction.text].items():
            assert abs(prediction.scores[label] - expected) <= tolerance, (name, prediction.text, label)


def test_indo_news_oov_quirk():
    """word_index['x'] = 1385 overwrote the OOV slot: unknown words must map to 1385, never to 1."""
    from edgeclf.convert.tokenizer_files import read_keras_tokenizer

    tokenizer = read_keras_tokenizer(ZOO / "indo-news-stacked-lstm-h5" / "word_index.json", maxlen=14,
                                     oov_token="x", num_words=4100)  # fmt: skip
    ids = tokenizer.encode("Manfaat Penggunaan Teknologi untuk Pendidikan")
    assert ids.tolist() == [0] * 9 + [269, 298, 142, 1385, 1127]  # meta.json's reproduction


def test_char_level_masked_lstm_on_ids(tmp_path):
    """zh-weibo's vocabulary exists only as a pickle that is not shipped: check its masked LSTM on ids directly."""
    from edgeclf.backends.litert import LiteRTBackend
    from edgeclf.convert.keras_reader import load_keras_model, read_network
    from edgeclf.convert.tflite import convert_to_tflite

    model = load_keras_model(ZOO / "zh-weibo-charlstm-mask-h5" / "train_model.h5")
    network, tokenizer = read_network(model)
    assert tokenizer is None and network.masked and network.sequence_length == 180
    network.save(tmp_path)
    convert_to_tflite(tmp_path, tmp_path / "m.tflite")
    backend = LiteRTBackend(tmp_path / "m.tflite")
    rng = np.random.default_rng(0)
    lengths = [1, 5, 17, 60, 179, 180]
    batch = np.zeros((len(lengths), 180), dtype=np.int32)
    for row, n in enumerate(lengths):
        batch[row, :n] = rng.integers(1, network.vocab_size, n)
    keras_out = model.predict(batch, verbose=0)  # one post-padded batch of mixed lengths
    ours = np.stack([backend.run(batch[row, :n]) for row, n in enumerate(lengths)])  # each at its true length
    assert np.max(np.abs(keras_out - ours)) <= TOLERANCE


def test_meta_files_match_the_models_used():
    for name in CASES:
        meta = json.loads((ZOO / name / "meta.json").read_text())
        assert CASES[name]["model"] in meta["files_here"] or CASES[name]["model"] in str(meta["paths"])


def test_cli_takes_a_legacy_model_as_users_have_it(tmp_path):
    """Keras-2 .h5 + double-encoded Tokenizer JSON, through the command line, then predict --json."""
    import subprocess
    import sys

    folder = ZOO / "spam-bigru-h5"
    out = tmp_path / "bundle"
    convert_cmd = [sys.executable, "-m", "edgeclf.cli", "convert", str(folder / "spam_gru32.h5"), "-o", str(out),
                   "--tokenizer", str(folder / "tokenizer.json"), "--padding", "pre", "--truncating", "post",
                   "--labels", "spam,ham"]  # fmt: skip
    done = subprocess.run(convert_cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    predict_cmd = [sys.executable, "-m", "edgeclf.cli", "predict", str(out), "--json", "Wanna Chat? Watch movie!"]
    done = subprocess.run(predict_cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    (row,) = [json.loads(line) for line in done.stdout.splitlines()]
    assert row["labels"] == ["ham"] and abs(row["scores"]["ham"] - 0.9685972) <= TOLERANCE
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tokenizer"]["kind"] == "keras_tokenizer" and manifest["input"]["sequence_length"] == 20

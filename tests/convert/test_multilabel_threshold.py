"""Parity predicts labels as the runtime does: a multilabel bundle's labels come from the manifest's threshold.

A small multilabel BiLSTM is trained here on real IMDB reviews (three labels read from each review: positive,
long, mentions the acting) and converted to the numpy artifact. The converter writes ``output.threshold`` 0.5 and
has no flag for another, so a second bundle view with another threshold is made in memory, as a bundle converted
with one would read.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgeclf.bundle import Bundle
from edgeclf.convert.datasets import LabelledTexts
from edgeclf.convert.parity import KerasReference, check_parity, keras_reference
from edgeclf.runtime import Classifier
from edgeclf.scoring import DEFAULT_THRESHOLD, agreement, predicted, probabilities

LABELS = ["positive", "long", "acting"]


def _targets(texts: list[str], sentiment: np.ndarray) -> np.ndarray:
    long = [len(t.split()) > 230 for t in texts]
    acting = ["act" in t.lower() for t in texts]
    return np.stack([sentiment == 1, long, acting], axis=1).astype("float32")


@pytest.fixture(scope="module")
def multilabel(tmp_path_factory) -> tuple[Path, object, LabelledTexts]:
    keras = pytest.importorskip("keras")
    from edgeclf.convert.datasets import imdb_split
    from edgeclf.convert.pipeline import convert

    train, test = imdb_split()
    texts, sentiment = train.texts[:1500], train.labels[:1500]
    keras.utils.set_random_seed(0)
    vectorize = keras.layers.TextVectorization(max_tokens=2000, output_sequence_length=120)
    vectorize.adapt(texts)
    model = keras.Sequential([keras.Input(shape=(1,), dtype="string"), vectorize,
                              keras.layers.Embedding(2000, 16, mask_zero=True),
                              keras.layers.Bidirectional(keras.layers.LSTM(8)),
                              keras.layers.Dense(len(LABELS), activation="sigmoid")])  # fmt: skip
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy")
    model.fit(np.asarray(texts, dtype=object), _targets(texts, sentiment), epochs=2, batch_size=64, verbose=0)
    folder = tmp_path_factory.mktemp("multilabel")
    model.save(folder / "multilabel.keras")
    parity = LabelledTexts(test.texts[:120], np.full(120, -1, dtype=np.int64))
    convert(folder / "multilabel.keras", folder / "bundle", formats=["numpy"], labels=LABELS, parity_texts=parity,
            parity_source="IMDB test reviews", progress=lambda _m: None)  # fmt: skip
    return folder / "bundle", model, parity


def test_parity_and_runtime_agree_on_labels(multilabel) -> None:
    bundle, model, parity = multilabel
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["task"] == "multilabel" and manifest["output"]["threshold"] == DEFAULT_THRESHOLD
    (artifact,) = manifest["artifacts"]
    assert artifact["parity"]["label_agreement"] == 1.0 and artifact["parity"]["ok"]
    classifier = Classifier.load(bundle)
    reference = keras_reference(model, parity, classifier.tokenizer)
    keras_labels = predicted(probabilities(reference.raw, "multilabel", False), "multilabel", classifier.threshold)
    runtime_labels = [set(p.labels) for p in classifier.predict(reference.texts)]
    assert runtime_labels == [{LABELS[j] for j in np.flatnonzero(row)} for row in keras_labels]
    assert len({frozenset(labels) for labels in runtime_labels}) > 1  # the model does not say the same of every text


def test_parity_uses_the_manifests_threshold(multilabel) -> None:
    """Keras's scores are moved across 0.5 but kept on the same side of the bundle's threshold: labels agree at that
    threshold and would not at the default one, so agreement 1.0 shows which threshold parity used."""
    bundle, _, parity = multilabel
    opened = Bundle.open(bundle)
    ours = Classifier.load(opened).scores(parity.texts).astype(np.float64)
    below_half = ours[ours < DEFAULT_THRESHOLD]
    threshold = float(np.max(below_half)) - 0.01  # the highest score under 0.5 is now over the threshold
    assert threshold > 0.05
    manifest = json.loads(json.dumps(opened.manifest))
    manifest["output"]["threshold"] = threshold
    classifier = Classifier.load(Bundle(opened.root, manifest), artifact="numpy-fp32")
    assert classifier.threshold == threshold

    moved = np.where((ours > threshold) & (ours < DEFAULT_THRESHOLD), 1 - ours, ours)  # over 0.5, still over t
    assert np.sum(moved != ours) >= 1
    reference = KerasReference(texts=parity.texts, gold=parity.labels, raw=moved, empty_text_raw=ours[:1])
    report = check_parity(reference, classifier, "multilabel", tolerance=1e-5)
    assert report.label_agreement == 1.0
    at_default = agreement(predicted(ours, "multilabel"), predicted(moved, "multilabel"))
    assert at_default < 1.0  # the control: at 0.5 the moved scores disagree
    assert not report.ok  # the scores themselves moved far beyond the fp32 tolerance

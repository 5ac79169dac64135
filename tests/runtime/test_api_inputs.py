"""Classifier takes any iterable of texts (generators included) and rejects anything else with one clear error."""

from __future__ import annotations

import pydoc

import pytest

from edgeclf import Classifier
from edgeclf.errors import EdgeclfError


@pytest.fixture(scope="module")
def clf(small_bundle):
    return Classifier.load(small_bundle)


def test_iterators_and_generators(clf) -> None:
    texts = ["a wonderful film", "dull and far too long", "fine"]
    expected = [p.to_dict() for p in clf.predict(texts)]
    assert [p.to_dict() for p in clf.predict(iter(texts))] == expected
    assert [p.to_dict() for p in clf.predict(t for t in texts)] == expected
    assert [p.to_dict() for p in clf.predict(tuple(texts))] == expected
    assert clf.scores(t for t in texts).tolist() == clf.scores(texts).tolist()
    assert clf.raw_outputs(iter(texts)).shape[0] == 3
    assert clf.predict("fine")[0].to_dict() == expected[2]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (None, "expected a text or an iterable of texts, got NoneType"),
        (3, "expected a text or an iterable of texts, got int"),
        (b"bytes", "expected a text or an iterable of texts, got bytes"),
        (["fine", None], "got NoneType at position 1"),
    ],
)
def test_other_inputs_are_a_clear_error(clf, bad, message) -> None:
    with pytest.raises(EdgeclfError, match=message):
        clf.predict(bad)
    with pytest.raises(EdgeclfError, match=message):
        clf.scores(bad)


def test_help_names_the_attributes() -> None:
    text = pydoc.render_doc(Classifier, renderer=pydoc.plaintext)
    for attribute in ("labels:", "task:", "artifact:", "threshold:"):
        assert attribute in text

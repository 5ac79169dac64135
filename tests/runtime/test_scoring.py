"""Raw outputs → probabilities → labels (``edgeclf.scoring``), checked against numpy's float64 formulas."""

from __future__ import annotations

from decimal import Decimal, localcontext

import numpy as np
import pytest

from edgeclf.scoring import probabilities, row_label_names, row_probabilities

EXTREMES = [0.0, 1e-8, -1e-8, 3.5, -3.5, 40.0, -40.0, 745.0, -745.0, 1e308, -1e308, np.inf, -np.inf]


def test_sigmoid_is_correctly_rounded_within_an_ulp_and_never_overflows():
    z = np.array(EXTREMES + list(np.random.default_rng(0).normal(0, 8, 500)))
    ours = probabilities(z.reshape(-1, 1), "multilabel", True)[:, 0]
    with localcontext(prec=50):
        for x, p in zip(z, ours, strict=True):
            if abs(x) < 700:  # 1 / (1 + e^-x) to 50 digits, then rounded once
                exact = float(1 / (1 + Decimal(-float(x)).exp()))
                assert abs(p - exact) <= np.spacing(exact), (x, p, exact)
    np.testing.assert_allclose(ours, np.exp(-np.logaddexp(0.0, -z)), rtol=1e-14, atol=1e-300)  # numpy's form
    assert ours.min() >= 0.0 and ours.max() <= 1.0
    binary = probabilities(z.reshape(-1, 1), "binary", True)
    assert np.array_equal(binary[:, 1], ours) and np.array_equal(binary[:, 0], 1 - ours)


def test_softmax_matches_numpy_and_sums_to_one():
    logits = np.random.default_rng(1).normal(0, 20, (300, 6)).astype(np.float32)
    logits[0] = [1000, 999, -1000, 0, 0, 0]  # shifted by the row's maximum: no overflow
    ours = probabilities(logits, "multiclass", True)
    z = logits.astype(np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(ours, e / e.sum(axis=1, keepdims=True), rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(ours.sum(axis=1), 1.0, rtol=1e-14)


def test_probability_outputs_pass_through_as_float64():
    probs = np.array([[0.2, 0.7, 0.1]], dtype=np.float32)
    assert np.array_equal(probabilities(probs, "multiclass", False), probs.astype(np.float64))
    assert np.array_equal(probabilities(probs[:, :1], "binary", False), [[1 - float(probs[0, 0]), probs[0, 0]]])


def test_nan_rows_get_nan_scores_and_no_label():
    for task, row in (("binary", [np.nan]), ("multiclass", [0.3, np.nan, 0.1]), ("multilabel", [np.nan, 2.0])):
        probs = row_probabilities(row, task, True)
        assert any(p != p for p in probs), task
        assert row_label_names(probs, ["a", "b", "c"][: len(probs)], task, 0.5) == [], task


def test_labels_take_the_first_maximum_and_the_threshold():
    assert row_label_names([0.5, 0.5], ["neg", "pos"], "binary", 0.5) == ["neg"]  # np.argmax's first on ties
    assert row_label_names([0.1, 0.6, 0.6], ["a", "b", "c"], "multiclass", 0.5) == ["b"]
    assert row_label_names([0.5, 0.49, 0.9], ["a", "b", "c"], "multilabel", 0.5) == ["a", "c"]
    assert row_label_names([0.2, 0.3], ["a", "b"], "multilabel", 0.5) == []
    assert row_label_names([0.1, 0.9], ["neg", "pos"], "binary", 0.5) == ["pos"]


@pytest.mark.parametrize("task, width", [("binary", 2), ("multiclass", 4), ("multilabel", 4)])
def test_no_rows_give_an_empty_matrix_of_the_right_width(task, width):
    raw = np.zeros((0, 1 if task == "binary" else width), dtype=np.float32)
    assert probabilities(raw, task, True).shape == (0, width)

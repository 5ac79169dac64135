"""Shared fixtures: the real example model, its real converted bundle, real IMDB reviews."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def example_model_path() -> Path:
    from edgeclf.convert.pipeline import EXAMPLE_DIR

    return EXAMPLE_DIR / "model.keras"


@pytest.fixture(scope="session")
def keras_model(example_model_path):
    from edgeclf.convert.keras_reader import load_keras_model

    return load_keras_model(example_model_path)


@pytest.fixture(scope="session")
def imdb_split():
    from edgeclf.convert.datasets import imdb_split

    return imdb_split()


@pytest.fixture(scope="session")
def example_bundle(tmp_path_factory, example_model_path) -> Path:
    """The example converted once for the whole session, with its shipped held-out reviews as parity texts."""
    from edgeclf.convert.pipeline import convert, parity_texts_for_example

    out = tmp_path_factory.mktemp("bundles") / "imdb"
    convert(
        example_model_path,
        out,
        parity_texts=parity_texts_for_example(),
        parity_source="heldout.csv",
        progress=lambda message: None,
    )
    return out

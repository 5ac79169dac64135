"""The texts a bench run measures on: a .txt/.csv/.jsonl file, or the built-in held-out IMDB reviews."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from edgeclf.errors import EdgeclfError
from edgeclf.textio import label_indices, read_records

BUILTIN_TEXTS = Path(__file__).resolve().parent.parent / "data" / "bench_texts.csv"
BUILTIN_SOURCE = "built-in: 40 held-out IMDB reviews with labels (edgeclf/data/bench_texts.csv)"


@dataclass(frozen=True)
class BenchTexts:
    texts: list[str]
    labels: list[int] | None  # one class index per text when every text has a label
    source: str


def read_bench_texts(
    path: Path | None,
    label_names: Sequence[str],
    text_column: str = "text",
    label_column: str | None = "label",
) -> BenchTexts:
    """Texts from a .txt (one per line), .csv or .jsonl file, or the built-in reviews when ``path`` is None.

    Labels are read from ``label_column`` (indices or label names) and kept only when every text has one.
    """
    source = str(path) if path is not None else BUILTIN_SOURCE
    path = BUILTIN_TEXTS if path is None else Path(path)
    rows = read_records(str(path), None, text_column, label_column)
    if not rows:
        raise EdgeclfError(f"{path}: no texts")
    labels = label_indices([v for _, v in rows], label_names, str(path))
    complete = all(v is not None for v in labels)
    return BenchTexts([t for t, _ in rows], [int(v) for v in labels] if complete else None, source)  # type: ignore[arg-type]

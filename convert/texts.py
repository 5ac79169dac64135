"""Read labelled texts for parity checks and calibration, through the runtime's own reader (edgeclf.textio):
.txt (one per line), .jsonl ({"text", "label"}) or .csv (text[, label] columns); UTF-8, invalid bytes replaced."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgeclf.convert.datasets import LabelledTexts
from edgeclf.errors import EdgeclfError
from edgeclf.textio import label_indices, read_records


def read_texts(
    path: Path, labels: list[str] | None = None, text_column: str = "text", label_column: str = "label"
) -> LabelledTexts:
    """Texts and their labels (-1 where a text has none). Labels may be indices or names from ``labels``."""
    records = read_records(str(path), None, text_column, label_column)
    if not records:
        raise EdgeclfError(f"{path}: no texts")
    indices = label_indices([label for _, label in records], labels or [], str(path))
    return LabelledTexts([t for t, _ in records], np.asarray([-1 if i is None else i for i in indices], dtype=np.int64))

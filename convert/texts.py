"""Read the texts used for parity checks: a .txt (one per line), .jsonl ({"text", "label"}) or .csv."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np

from edgeclf.convert.datasets import LabelledTexts
from edgeclf.errors import EdgeclfError


def read_texts(
    path: Path, labels: list[str] | None = None, text_column: str = "text", label_column: str = "label"
) -> LabelledTexts:
    """Texts (and labels when the file has them; -1 where it has none). Labels may be indices or names."""
    path = Path(path)
    try:
        raw = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as e:
        raise EdgeclfError(f"cannot read texts from {path}: {e.strerror}") from e
    rows: list[tuple[str, object]] = []
    if path.suffix == ".csv":
        csv.field_size_limit(sys.maxsize)
        reader = csv.DictReader(raw.splitlines(keepends=True))
        if text_column not in (reader.fieldnames or []):
            raise EdgeclfError(f"{path}: no {text_column!r} column (columns: {reader.fieldnames})")
        rows = [(r[text_column], r.get(label_column)) for r in reader]
    elif path.suffix == ".jsonl":
        for n, line in enumerate(raw.split("\n"), 1):
            if line.strip():
                try:
                    obj = json.loads(line)
                    rows.append((obj[text_column], obj.get(label_column)))
                except (json.JSONDecodeError, KeyError, TypeError) as e:
                    raise EdgeclfError(f"{path}:{n}: expected a JSON object with a {text_column!r} field") from e
    else:
        rows = [(line, None) for line in raw.split("\n") if line.strip()]
    if not rows:
        raise EdgeclfError(f"{path}: no texts")
    names = {name: i for i, name in enumerate(labels or [])}

    def label_index(value: object) -> int:
        if value in (None, ""):
            return -1
        if isinstance(value, str) and value in names:
            return names[value]
        try:
            return int(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise EdgeclfError(f"{path}: label {value!r} is neither an index nor one of {list(names)}") from None

    return LabelledTexts([t for t, _ in rows], np.asarray([label_index(v) for _, v in rows], dtype=np.int64))

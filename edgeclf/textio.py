"""Texts in and predictions out for ``edgeclf predict``: txt / JSONL / CSV inputs, JSONL / CSV / text outputs.

Encoding policy: input is UTF-8 (a leading BOM is dropped); invalid UTF-8, in files, on stdin or in
command-line arguments, becomes U+FFFD and is never fatal. Malformed JSONL or CSV structure (a line
that is not a JSON object, a missing text field or column) is an ``EdgeclfError`` naming the line.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TextIO

from edgeclf.errors import EdgeclfError

if TYPE_CHECKING:
    from edgeclf.runtime import Prediction

INPUT_FORMATS = ("txt", "jsonl", "csv")
OUTPUT_FORMATS = ("text", "jsonl", "csv")
_EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv"}
_CSV_FIELD_LIMIT = 1 << 30  # the csv module's default (128 KiB per field) is shorter than some real documents


def decode(data: bytes) -> str:
    """Bytes → text under the policy above."""
    return data.decode("utf-8-sig", errors="replace")


def clean_argument(text: str) -> str:
    """A command-line argument → text: undecodable bytes (kept by Python as lone surrogates) become U+FFFD."""
    return text.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace")


def input_format(path: str, explicit: str | None) -> str:
    if explicit:
        return explicit
    return _EXTENSIONS.get(Path(path).suffix.lower(), "txt")


def read_input(path: str, fmt: str | None = None, text_column: str = "text") -> list[str]:
    """Texts from ``path`` (``-`` is stdin) in ``fmt`` (default: from the extension, else one text per line)."""
    return [text for text, _ in read_records(path, fmt, text_column)]


def read_records(
    path: str, fmt: str | None = None, text_column: str = "text", label_column: str | None = None
) -> list[tuple[str, Any]]:
    """(text, label value or None) pairs from ``path``; labels come from ``label_column`` of a CSV/JSONL file."""
    if path == "-":
        data = sys.stdin.buffer.read()
    else:
        try:
            data = Path(path).read_bytes()
        except OSError as e:
            raise EdgeclfError(f"{path}: cannot read ({e.strerror or e})") from e
    return parse_records(decode(data), input_format(path, fmt), text_column, label_column, source=path)


def parse_texts(text: str, fmt: str, text_column: str = "text", source: str = "input") -> list[str]:
    return [value for value, _ in parse_records(text, fmt, text_column, None, source)]


def parse_records(
    text: str, fmt: str, text_column: str = "text", label_column: str | None = None, source: str = "input"
) -> list[tuple[str, Any]]:
    if fmt == "txt":
        return [(line.rstrip("\r"), None) for line in text.split("\n") if line.strip()]
    if fmt == "jsonl":
        return list(_jsonl_records(text, text_column, label_column, source))
    if fmt == "csv":
        return _csv_records(text, text_column, label_column, source)
    raise EdgeclfError(f"unknown input format {fmt!r}; choose from {', '.join(INPUT_FORMATS)}")


def label_indices(values: Sequence[Any], label_names: Sequence[str], source: str) -> list[int | None]:
    """Label values (indices, or names from ``label_names``) → class indices; None where a text has no label."""
    names = {name: i for i, name in enumerate(label_names)}

    def index(value: Any) -> int | None:
        if value is None or value == "":
            return None
        if isinstance(value, str) and value in names:
            return names[value]
        try:
            return int(value)
        except (TypeError, ValueError):
            raise EdgeclfError(f"{source}: label {value!r} is neither an index nor one of {list(names)}") from None

    return [index(v) for v in values]


def _jsonl_records(text: str, field: str, label_field: str | None, source: str) -> Iterator[tuple[str, Any]]:
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise EdgeclfError(f"{source}, line {number}: not JSON ({e.msg})") from None
        if not isinstance(record, dict) or field not in record:
            raise EdgeclfError(f"{source}, line {number}: expected a JSON object with a {field!r} field")
        value = record[field]
        if not isinstance(value, str):
            raise EdgeclfError(f"{source}, line {number}: {field!r} is {type(value).__name__}, not a string")
        yield value, record.get(label_field) if label_field else None


def _csv_records(text: str, column: str, label_column: str | None, source: str) -> list[tuple[str, Any]]:
    csv.field_size_limit(max(csv.field_size_limit(), _CSV_FIELD_LIMIT))
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            return []
        if column not in header:
            raise EdgeclfError(
                f"{source}: no column {column!r} in the CSV header ({', '.join(map(repr, header))}); "
                "name it with --text-column"
            )
        index = header.index(column)
        label_index = header.index(label_column) if label_column in header else None
        records = []
        for row in reader:
            if not row:
                continue  # a blank line between records
            if index >= len(row):
                raise EdgeclfError(f"{source}, line {reader.line_num}: the row has no {column!r} field")
            label = row[label_index] if label_index is not None and label_index < len(row) else None
            records.append((row[index], label))
        return records
    except csv.Error as e:
        raise EdgeclfError(f"{source}, line {reader.line_num}: unreadable CSV ({e})") from None


class PredictionWriter:
    """Writes predictions as they come, in one of ``OUTPUT_FORMATS``."""

    def __init__(self, out: TextIO, fmt: str, labels: Sequence[str]) -> None:
        if fmt not in OUTPUT_FORMATS:
            raise EdgeclfError(f"unknown output format {fmt!r}; choose from {', '.join(OUTPUT_FORMATS)}")
        self.out, self.fmt, self.labels = out, fmt, list(labels)
        self._csv: Any = None
        if fmt == "csv":
            self._csv = csv.writer(out, lineterminator="\n")
            # predicted labels joined with ';' (several for multilabel models), then one score column per label
            self._csv.writerow(["text", "labels", *(f"score_{label}" for label in self.labels)])

    def write(self, prediction: Prediction) -> None:
        if self.fmt == "jsonl":
            self.out.write(json.dumps(prediction.to_dict(), ensure_ascii=False) + "\n")
        elif self.fmt == "csv":
            scores = [repr(prediction.scores[label]) for label in self.labels]
            self._csv.writerow([prediction.text, ";".join(prediction.labels), *scores])
        else:
            best = max(prediction.scores.values())
            shown = prediction.text if len(prediction.text) <= 70 else prediction.text[:67] + "..."
            shown = shown.replace("\n", " ").replace("\r", " ")
            self.out.write(f"{','.join(prediction.labels) or '(none)':<12} {best:.4f}  {shown}\n")


class Progress:
    """A progress bar on stderr: tqdm when installed, a one-line counter otherwise."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.enabled, self.done = total, enabled, 0
        self._bar: Any = None
        self._last = 0.0
        if enabled:
            try:
                from tqdm import tqdm
            except ImportError:
                return
            self._bar = tqdm(total=total, unit="text", file=sys.stderr, dynamic_ncols=True, leave=False)

    def update(self, n: int) -> None:
        self.done += n
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(n)
        elif time.monotonic() - self._last > 0.2 or self.done == self.total:
            self._last = time.monotonic()
            print(f"\r{self.done}/{self.total} texts", end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self.enabled:
            print(file=sys.stderr)


def open_output(path: str | None) -> tuple[IO[str], Path | None]:
    """stdout, or a temporary file beside ``path`` renamed into place by ``finish_output``."""
    if path is None or path == "-":
        return sys.stdout, None
    target = Path(path)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        return partial.open("w", encoding="utf-8", newline=""), partial
    except OSError as e:
        raise EdgeclfError(f"{path}: cannot write ({e.strerror or e})") from e


def finish_output(out: IO[str], partial: Path | None, path: str | None, ok: bool) -> None:
    if partial is None:
        out.flush()
        return
    out.close()
    if ok:
        partial.replace(Path(path))  # type: ignore[arg-type]
    else:
        partial.unlink(missing_ok=True)

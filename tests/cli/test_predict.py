"""`edgeclf predict`: texts from arguments, stdin and .txt/.jsonl/.csv files, its output formats, and one-line
errors for bad inputs. Real bundle, real interpreter."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

from edgeclf.cli import main
from edgeclf.runtime import Classifier

TEXTS = ["What a wonderful, moving film.", "Dull, slow and badly acted.", "", "café ünïcode 電影 🎬"]


def predict_cli(capsys, *args: str) -> tuple[int, str, str]:
    status = main(["predict", *args])
    out, err = capsys.readouterr()
    return status, out, err


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


@pytest.fixture(scope="module")
def expected(small_bundle) -> dict[str, dict]:
    classifier = Classifier.load(small_bundle)
    texts = [*TEXTS, "a text with \ufffd inside", "multi\nline review, with a comma"]
    return {p.text: p.to_dict() for p in classifier.predict(texts)}


def test_predict_stdin_with_invalid_utf8(small_bundle, expected):
    done = subprocess.run(
        [sys.executable, "-m", "edgeclf.cli", "predict", str(small_bundle), "--format", "jsonl"],
        input=b"\xef\xbb\xbfWhat a wonderful, moving film.\n\n \r\na text with \xff inside\r\n",
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""  # no progress bar when stderr is not a terminal
    rows = jsonl(done.stdout.decode("utf-8"))
    assert [r["text"] for r in rows] == ["What a wonderful, moving film.", "a text with \ufffd inside"]
    assert rows == [expected[r["text"]] for r in rows]


def test_predict_input_txt_jsonl_csv(small_bundle, expected, tmp_path, capsys):
    txt = tmp_path / "texts.txt"
    txt.write_bytes(b"\xef\xbb\xbfWhat a wonderful, moving film.\r\n\r\na text with \xff inside\n")
    lines = [json.dumps({"id": 1, "text": TEXTS[0]}), "", json.dumps({"text": TEXTS[3], "label": 0})]
    jl = tmp_path / "texts.jsonl"
    jl.write_bytes(("\n".join(lines) + "\n").encode() + b'{"text": "a text with \xff inside"}\n')
    table = tmp_path / "texts.csv"
    table.write_bytes(
        b'id,review\n1,"multi\nline review, with a comma"\n2,\n3,a text with \xfe inside\n'  # an empty cell is a text
    )
    cases = [
        (txt, [], [TEXTS[0], "a text with \ufffd inside"]),
        (jl, [], [TEXTS[0], TEXTS[3], "a text with \ufffd inside"]),
        (table, ["--text-column", "review"], ["multi\nline review, with a comma", "", "a text with \ufffd inside"]),
    ]
    for path, extra, texts in cases:
        status, out, err = predict_cli(capsys, str(small_bundle), "--input", str(path), "--json", *extra)
        assert status == 0, err
        assert jsonl(out) == [expected[t] for t in texts], path.name


def test_predict_bad_inputs_are_one_line_errors(small_bundle, tmp_path, capsys):
    errors = []  # every case's stderr, each checked below to be one line
    jl = tmp_path / "bad.jsonl"
    jl.write_text('{"text": "fine"}\n{"body": "no text field"}\n')
    status, _, err = predict_cli(capsys, str(small_bundle), "--input", str(jl))
    assert status == 1 and "line 2" in err and "'text'" in err
    errors.append(err)
    jl.write_text('{"text": "fine"}\nnot json\n')
    status, _, err = predict_cli(capsys, str(small_bundle), "--input", str(jl))
    assert status == 1 and "line 2: not JSON" in err
    errors.append(err)
    table = tmp_path / "bad.csv"
    table.write_text("id,review\n1,good\n")
    status, _, err = predict_cli(capsys, str(small_bundle), "--input", str(table))
    assert status == 1 and "no column 'text'" in err and "--text-column" in err
    errors.append(err)
    status, _, err = predict_cli(capsys, str(small_bundle), "--input", str(tmp_path / "missing.txt"))
    assert status == 1 and "cannot read" in err
    errors.append(err)
    assert len(errors) == 4
    for err_text in errors:
        assert len(err_text.strip().splitlines()) == 1 and err_text.startswith("edgeclf: error: "), err_text


def test_predict_csv_output_to_file(small_bundle, expected, tmp_path, capsys):
    out_file = tmp_path / "predictions.csv"
    texts = [TEXTS[0], "multi\nline review, with a comma", ""]
    status, out, err = predict_cli(capsys, str(small_bundle), *texts, "--format", "csv", "--output", str(out_file))
    assert status == 0 and out == "" and err == ""
    rows = list(csv.DictReader(io.StringIO(out_file.read_text(encoding="utf-8"), newline="")))
    assert list(rows[0]) == ["text", "labels", "score_negative", "score_positive"]
    assert [r["text"] for r in rows] == texts
    for row in rows:
        want = expected[row["text"]]
        assert row["labels"].split(";") == want["labels"]
        assert float(row["score_positive"]) == want["scores"]["positive"]  # repr round-trips exactly
    assert [p.name for p in tmp_path.iterdir()] == ["predictions.csv"]  # no partial file left behind


def test_predict_text_format_undecodable_argument_and_progress(small_bundle, capsys):
    # Python keeps undecodable argv bytes as lone surrogates; they become U+FFFD, not an encoding crash
    status, out, err = predict_cli(capsys, str(small_bundle), "caf\udce9 film", "--progress")
    assert status == 0
    assert "caf\ufffd film" in out and out.split()[0] in ("negative", "positive")
    assert "/1 [" in err  # the bar, forced on although stderr is not a terminal
    status, out, err = predict_cli(capsys, str(small_bundle), "a film", "--input", "x.txt")
    assert status == 1 and "not both" in err

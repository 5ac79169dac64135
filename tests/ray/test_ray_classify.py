"""edgeclf.ray on a real local Ray (2 CPUs): the 25,000 IMDB reviews row for row equal to Classifier.predict, a
worker killed mid-run losing and duplicating no row, the shipped bundle checked by sha256, one-line CLI errors."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import ray

from edgeclf import Classifier, cli
from edgeclf import ray as edgeclf_ray
from edgeclf.errors import BundleError

ARTIFACT = "onnx-fused-fp32"  # the fastest float32 artifact (onnxruntime), exact to Keras
FAULT_ROWS = 4_000


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def reviews() -> list[str]:
    from edgeclf.convert.datasets import imdb_split

    train, test = imdb_split()  # together the package's 25,000 IMDB reviews
    return train.texts + test.texts


@pytest.fixture(scope="module")
def reference(example_bundle, reviews):
    """What one process answers: Classifier.predict over the whole corpus (timed for the note)."""
    clf = Classifier.load(example_bundle, artifact=ARTIFACT)
    start = time.perf_counter()
    predictions = clf.predict(reviews)
    print(f"\nClassifier.predict, {len(reviews)} reviews: {time.perf_counter() - start:.1f} s")
    return predictions


def corpus(tmp_path: Path, texts: list) -> Path:
    path = tmp_path / "corpus.parquet"
    pq.write_table(pa.table({"id": list(range(len(texts))), "text": texts}), path, row_group_size=5_000)
    return path


def assert_rows_equal(table: pa.Table, predictions: list, labels: list[str]) -> None:
    assert table.column("labels").to_pylist() == [p.labels for p in predictions]
    for label in labels:  # the same float, not merely close: the same runtime ran the same rows
        assert table.column(f"score_{label}").to_pylist() == [p.scores[label] for p in predictions]
    assert table.column("error").null_count == table.num_rows


def test_25k_reviews_equal_classifier_predict(local_ray, example_bundle, reviews, reference, tmp_path):
    path = corpus(tmp_path, reviews)
    start = time.perf_counter()
    ds = edgeclf_ray.classify(path, example_bundle, artifact=ARTIFACT, workers=2)
    rows = edgeclf_ray.write(ds, str(tmp_path / "out.parquet"))
    print(f"\nedgeclf.ray.classify, 2 workers, {rows} reviews: {time.perf_counter() - start:.1f} s")
    out = pq.read_table(tmp_path / "out.parquet")
    assert rows == out.num_rows == 25_000
    assert out.column_names == ["id", "text", "labels", "score_negative", "score_positive", "error"]
    assert out.column("id").to_pylist() == list(range(25_000))  # order kept
    assert out.column("text").to_pylist() == reviews
    assert_rows_equal(out, reference, ["negative", "positive"])


def crash_once_class(marker: Path, pids: Path) -> type:
    """A ClassifyBatch whose process dies (os._exit, no cleanup, as a killed worker) on its second batch, once
    across the whole run: the marker file says it has happened. Defined in a function, so Ray ships it by value."""

    class CrashOnce(edgeclf_ray.ClassifyBatch):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.calls = 0
            with pids.open("a") as f:
                f.write(f"{os.getpid()}\n")

        def __call__(self, batch):
            self.calls += 1
            if self.calls == 2 and not marker.exists():
                marker.write_text(str(os.getpid()))
                os._exit(1)
            return super().__call__(batch)

    return CrashOnce


def test_worker_killed_mid_run_loses_and_duplicates_no_row(local_ray, example_bundle, reviews, reference, tmp_path):
    marker, pids = tmp_path / "crashed", tmp_path / "pids"
    ds = edgeclf_ray.classify(
        corpus(tmp_path, reviews[:FAULT_ROWS]),
        example_bundle,
        artifact=ARTIFACT,
        workers=2,
        udf=crash_once_class(marker, pids),
    )
    out = pa.concat_tables(list(ds.iter_batches(batch_format="pyarrow", batch_size=None)))
    assert marker.exists(), "no worker died: the test did not test anything"
    started = pids.read_text().split()
    assert int(marker.read_text()) in map(int, started) and len(set(started)) >= 3  # 2 actors + 1 replacement
    print(f"\nfault test: worker {marker.read_text()} killed; actors started {len(started)}; rows out {out.num_rows}")
    assert out.num_rows == FAULT_ROWS
    assert out.column("id").to_pylist() == list(range(FAULT_ROWS))  # none lost, none twice, in order
    assert_rows_equal(out, reference[:FAULT_ROWS], ["negative", "positive"])


def test_bad_rows_get_an_error_not_a_lost_row(local_ray, example_bundle, tmp_path):
    texts = ["what a wonderful film", None, "", "a dull, lifeless and far too long movie"]
    ds = edgeclf_ray.classify(corpus(tmp_path, texts), example_bundle, artifact=ARTIFACT, workers=1)
    out = pa.concat_tables(list(ds.iter_batches(batch_format="pyarrow", batch_size=None))).to_pylist()
    assert [r["id"] for r in out] == [0, 1, 2, 3]
    assert out[1]["error"] == "no text (null)" and out[1]["labels"] is None and out[1]["score_positive"] is None
    expected = Classifier.load(example_bundle, artifact=ARTIFACT).predict([texts[0], texts[2], texts[3]])
    for row, p in zip([out[0], out[2], out[3]], expected, strict=True):
        assert row["error"] is None and row["labels"] == p.labels and row["score_positive"] == p.scores["positive"]
    # a column that is not text: every row says so, none is dropped
    ints = edgeclf_ray.classify(corpus(tmp_path, texts), example_bundle, text_column="id", workers=1)
    errors = ints.to_pandas()["error"].tolist()
    assert errors == ["not a text: int 0", "not a text: int 1", "not a text: int 2", "not a text: int 3"]


def test_cli_ray_predict_csv(local_ray, example_bundle, tmp_path, capsys):
    """`edgeclf predict --ray` in-process (it uses the Ray already running): CSV in, CSV out, same as predict."""
    source = tmp_path / "in.csv"
    source.write_text('review,stars\n"what a wonderful film",5\n"boring, far too long",1\n', encoding="utf-8")
    out = tmp_path / "out.csv"
    argv = ["predict", str(example_bundle), "-i", str(source), "-o", str(out), "--text-column", "review", "--ray"]
    assert cli.main([*argv, "--artifact", ARTIFACT]) == 0
    assert "2 rows written" in capsys.readouterr().err
    import csv

    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    clf = Classifier.load(example_bundle, artifact=ARTIFACT)
    expected = clf.predict(["what a wonderful film", "boring, far too long"])
    assert [r["stars"] for r in rows] == ["5", "1"]
    assert [r["labels"] for r in rows] == [";".join(p.labels) for p in expected]
    assert [float(r["score_positive"]) for r in rows] == [p.scores["positive"] for p in expected]
    # user errors: one line, exit 1
    assert cli.main(["predict", str(example_bundle), "-i", str(source), "-o", str(out), "--ray"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("edgeclf: error: no column 'text' in the input") and err.count("\n") == 1


def test_shipped_bundle_is_checked_by_sha256_on_the_actor(local_ray, example_bundle):
    files = edgeclf_ray.bundle_files(example_bundle, ARTIFACT)
    assert set(files) == {"manifest.json", "vocab.json", "model.onnx"}  # what the artifact needs, no more
    digests = {name: edgeclf_ray._sha256(data) for name, data in files.items()}
    good = edgeclf_ray.ClassifyBatch([ray.put(files)], digests, ARTIFACT, None, "text")
    assert good.classifier.artifact == ARTIFACT
    damaged = dict(files, **{"model.onnx": files["model.onnx"][:-1] + bytes([files["model.onnx"][-1] ^ 1])})
    with pytest.raises(BundleError, match=r"model\.onnx does not match the driver's sha256"):
        edgeclf_ray.ClassifyBatch([ray.put(damaged)], digests, ARTIFACT, None, "text")
    # a copy that matches what the driver sent but not the bundle's own manifest is refused by the loader
    with pytest.raises(BundleError, match=r"model\.onnx does not match its sha256 in the manifest"):
        relabelled = dict(digests, **{"model.onnx": edgeclf_ray._sha256(damaged["model.onnx"])})
        edgeclf_ray.ClassifyBatch([ray.put(damaged)], relabelled, ARTIFACT, None, "text")


def test_without_ray_installed_one_line_error(example_bundle, tmp_path):
    code = (
        "import sys\nsys.modules['ray'] = None\nfrom edgeclf.cli import main\n"
        f"sys.exit(main(['predict', {str(example_bundle)!r}, '-i', 'x.parquet', '-o', 'y.parquet', '--ray']))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith("edgeclf: error: Ray Data is not installed: pip install 'edgeclf[ray]'")
    assert done.stderr.count("\n") == 1

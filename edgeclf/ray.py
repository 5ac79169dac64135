"""Classify a corpus on a Ray cluster with a bundle: ``edgeclf.ray.classify`` and ``edgeclf predict --ray``.

    read_parquet / read_csv / read_json / read_text  →  map_batches on an actor pool (one ``Classifier`` per
    actor)  →  a Dataset with every input column plus ``labels``, ``score_<label>`` and ``error``

The bundle travels through Ray's object store, so workers need no shared filesystem: the driver reads the
files the chosen artifact needs, ``ray.put``s them once, and every actor writes them to a private folder,
checks each against the driver's sha256, then ``Classifier.load`` checks them against the manifest.
Rows keep their order and count (``preserve_order``); a row whose text is null or not a string gets an
``error`` value instead of labels. Needs the ``ray`` extra; the device runtime never imports this module.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from edgeclf.errors import BundleError, EdgeclfError
from edgeclf.runtime import Classifier

INSTALL_HINT = "pip install 'edgeclf[ray]'"
LABELS_COLUMN = "labels"
SCORE_PREFIX = "score_"
ERROR_COLUMN = "error"
ROWS_PER_CALL = 256  # rows handed to an actor per call: big enough to amortise Ray's overhead, small for progress
BLOCK_ROWS = 1024  # rows per block, the unit a task gives one actor: small enough that every actor gets work
READERS = {".parquet": "read_parquet", ".csv": "read_csv", ".jsonl": "read_json", ".json": "read_json"}
READERS[".txt"] = "read_text"  # one text per line, in a column named "text"


def _import_ray() -> Any:
    try:
        import ray
        import ray.data  # ray without the [data] extra has no Ray Data
    except ImportError as e:
        raise EdgeclfError(f"Ray Data is not installed: {INSTALL_HINT} ({e})") from None
    return ray


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def bundle_files(bundle: str | Path, artifact: str) -> dict[str, bytes]:
    """The bytes of the files ``artifact`` needs (a single-file .tflite/.onnx bundle: that file), by name."""
    root = Path(bundle)
    if root.is_file():
        return {root.name: root.read_bytes()}
    manifest_bytes = (root / "manifest.json").read_bytes()
    manifest = json.loads(manifest_bytes)
    (record,) = [a for a in manifest["artifacts"] if a["name"] == artifact]
    names = [manifest["tokenizer"]["vocabulary_file"], record["file"], *record.get("extra_files", [])]
    return {"manifest.json": manifest_bytes, **{name: (root / name).read_bytes() for name in names}}


def unpack_bundle(files: dict[str, bytes], digests: dict[str, str], into: Path) -> Path:
    """Write shipped files into ``into`` after checking each against the driver's sha256; the path to load."""
    if set(files) != set(digests):
        raise BundleError(f"shipped bundle has files {sorted(files)}, the driver sent {sorted(digests)}")
    for name, data in files.items():
        if Path(name).name != name:  # names come from the manifest: never let one escape the folder
            raise BundleError(f"shipped bundle file {name!r} is not a plain file name")
        if _sha256(data) != digests[name]:
            raise BundleError(f"shipped bundle file {name} does not match the driver's sha256 (corrupted in transit)")
        (into / name).write_bytes(data)
    return into / next(iter(files)) if len(files) == 1 else into


class ClassifyBatch:
    """Ray Data UDF: one Classifier per actor, loaded from the shipped bundle; one call = one pyarrow batch."""

    def __init__(
        self,
        shipped: list,  # [ObjectRef]: nested in a list so Ray hands over the reference, fetched here once
        digests: dict[str, str],
        artifact: str,
        backend: str | None,
        text_column: str,
        batch_size: int = 32,
        num_threads: int = 1,
        labels_as_text: bool = False,
    ) -> None:
        import ray

        self.folder = Path(tempfile.mkdtemp(prefix="edgeclf-ray-"))
        path = unpack_bundle(ray.get(shipped[0]), digests, self.folder)
        self.classifier = Classifier.load(path, artifact=artifact, backend=backend, num_threads=num_threads)
        self.text_column, self.batch_size, self.labels_as_text = text_column, batch_size, labels_as_text

    def __del__(self) -> None:
        shutil.rmtree(getattr(self, "folder", ""), ignore_errors=True)

    def _predict(self, texts: list[str]) -> list[Any]:
        """Predictions, or an error message per row: a batch that fails is retried text by text."""
        try:
            return list(self.classifier.predict(texts, batch_size=self.batch_size))
        except Exception:
            results: list[Any] = []
            for text in texts:
                try:
                    results.append(self.classifier.predict([text])[0])
                except Exception as e:  # this row's error, kept in its row: the corpus goes on
                    results.append(f"{type(e).__name__}: {e}")
            return results

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        values = batch.column(self.text_column).to_pylist()
        ok = [i for i, v in enumerate(values) if isinstance(v, str)]
        results: list[Any] = [
            "no text (null)" if v is None else f"not a text: {type(v).__name__} {v!r:.40}" for v in values
        ]
        for i, result in zip(ok, self._predict([values[i] for i in ok]), strict=True):
            results[i] = result
        done = [None if isinstance(r, str) else r for r in results]
        labels = [None if p is None else p.labels for p in done]
        if self.labels_as_text:  # CSV has no lists: ';'-joined as in `edgeclf predict --format csv`
            labels_array = pa.array([None if x is None else ";".join(x) for x in labels], pa.string())
        else:
            labels_array = pa.array(labels, pa.list_(pa.string()))
        batch = batch.append_column(LABELS_COLUMN, labels_array)
        for label in self.classifier.labels:
            scores = [None if p is None else p.scores[label] for p in done]
            batch = batch.append_column(SCORE_PREFIX + label, pa.array(scores, pa.float64()))
        errors = [r if isinstance(r, str) else None for r in results]
        return batch.append_column(ERROR_COLUMN, pa.array(errors, pa.string()))


def _format(path: str, input_format: str | None) -> str:
    fmt = (input_format or Path(path.rstrip("/")).suffix.lower()).lstrip(".")
    if f".{fmt}" not in READERS:
        raise EdgeclfError(f"{path}: cannot tell the input format (give .parquet, .csv, .jsonl or .txt)")
    return fmt


def _local_tables(path: str, fmt: str) -> Any:
    """Record batches of a file on the driver, streamed (a corpus larger than memory is never read whole)."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.dataset as pa_dataset
    import pyarrow.json as pa_json

    if fmt == "parquet":  # a file, or a folder of files (read in sorted order)
        yield from pa_dataset.dataset(path, format="parquet").to_batches(batch_size=BLOCK_ROWS)
    elif fmt == "csv":
        yield from pa_csv.open_csv(path, read_options=pa_csv.ReadOptions(block_size=1 << 22))
    elif fmt in ("jsonl", "json"):
        yield from pa_json.open_json(path, read_options=pa_json.ReadOptions(block_size=1 << 22))
    else:  # txt: one text per line, as `edgeclf predict --input FILE.txt`
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = [line.rstrip("\r\n") for line in f]
        yield from pa.table({"text": [line for line in lines if line.strip()]}).to_batches(max_chunksize=BLOCK_ROWS)


def read(path: str, input_format: str | None = None) -> Any:
    """A Ray Dataset of parquet, csv, jsonl or txt (one text per line, column ``text``) rows.

    A URI (s3://, gs://, hdfs://, ...) is read by the workers with ``ray.data.read_*``. A local file is read on
    the driver and its blocks put into the object store: the workers of a multi-node cluster need not see it."""
    ray = _import_ray()
    fmt = _format(path, input_format)
    try:
        if "://" in path:
            reader = getattr(ray.data, READERS[f".{fmt}"])
            ds = reader(path, lines=True) if fmt in ("jsonl", "json") else reader(path)
            return ds.repartition(target_num_rows_per_block=BLOCK_ROWS)  # a block is one actor's unit of work
        import pyarrow as pa

        blocks = []
        for batch in _local_tables(path, fmt):  # blocks of ≤ BLOCK_ROWS rows: the actors share the work evenly
            table = pa.Table.from_batches([batch])
            blocks += [table.slice(i, BLOCK_ROWS) for i in range(0, table.num_rows, BLOCK_ROWS)]
        return ray.data.from_arrow(blocks or [pa.table({"text": pa.array([], pa.string())})])
    except (OSError, ValueError) as e:  # a missing file, unreadable data (pyarrow's errors are ValueErrors)
        raise EdgeclfError(f"{path}: {_first_line(e)}") from None


def _first_line(error: BaseException) -> str:
    lines = [line for line in str(error).splitlines() if line.strip()]
    return lines[-1].strip() if lines else type(error).__name__


def classify(
    dataset_or_path: Any,
    bundle: str | Path,
    *,
    artifact: str | None = None,
    backend: str | None = None,
    text_column: str = "text",
    batch_size: int = 32,
    workers: int | tuple[int, int] | None = None,
    threads: int = 1,
    rows_per_call: int = ROWS_PER_CALL,
    labels_as_text: bool = False,
    udf: type[ClassifyBatch] = ClassifyBatch,
) -> Any:
    """A lazy Ray Dataset: every input row with ``labels``, ``score_<label>`` (float64) and ``error`` columns.

    ``dataset_or_path``: a ``ray.data.Dataset`` (its blocks are the units of work: ~1,000 rows suits) or a file
    path or URI (see ``read``). ``workers``: actors (an int, or (min, max) to autoscale), each reserving ``threads``
    CPUs for its interpreter; by default the cluster's CPUs, less one where Ray Data's own tasks (reading a URI,
    a Dataset's pipeline) need a CPU: actors holding every CPU would starve them and the run would hang.
    ``batch_size``: texts per interpreter call, as in ``Classifier.predict`` (rows are the same whatever the
    batch). An actor that dies is restarted and its task retried (Ray Data's actor defaults), so a killed worker
    or lost node costs time, not rows. ``udf``: a ``ClassifyBatch`` subclass to run instead. Ray must be
    initialised (``ray.init``) or is started locally; row order is kept (``preserve_order``).
    """
    ray = _import_ray()
    # loaded here too: a wrong --artifact/--backend or a tampered bundle fails before any actor starts
    local = Classifier.load(bundle, artifact=artifact, backend=backend, num_threads=threads)
    files = bundle_files(bundle, local.artifact)
    digests = {name: _sha256(data) for name, data in files.items()}
    if not ray.is_initialized():
        ray.init()
    given = isinstance(dataset_or_path, ray.data.Dataset)
    ds = dataset_or_path if given else read(str(dataset_or_path))
    if workers is None:
        driver_read = not given and "://" not in str(dataset_or_path)
        cpus = int(ray.cluster_resources().get("CPU", 1))
        workers = max(1, cpus // threads) if driver_read else _leave_one_cpu(ray, threads)
    columns = ds.columns(fetch_if_missing=True) or []
    if text_column not in columns:
        raise EdgeclfError(f"no column {text_column!r} in the input (it has {', '.join(columns)}); see --text-column")
    added = [LABELS_COLUMN, *(SCORE_PREFIX + label for label in local.labels), ERROR_COLUMN]
    clash = sorted(set(columns) & set(added))
    if clash:
        raise EdgeclfError(f"the input already has column(s) {', '.join(clash)}, which the output adds")
    size = {"min_size": workers[0], "max_size": workers[1]} if isinstance(workers, tuple) else {"size": workers}
    shipped = [ray.put(files)]  # once into the object store; each actor's node fetches it from there
    out = ds.map_batches(
        udf,
        batch_size=rows_per_call,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(**size),
        fn_constructor_args=(shipped, digests, local.artifact, backend, text_column),
        fn_constructor_kwargs={"batch_size": batch_size, "num_threads": threads, "labels_as_text": labels_as_text},
        num_cpus=threads,
        udf_modifying_row_count=False,
    )  # Ray Data's actor defaults: a dead actor is restarted and its task retried (max_restarts=-1)
    out.context.execution_options.preserve_order = True  # on this Dataset's own context: the caller's stays as is
    return out


def write(ds: Any, output: str) -> int:
    """Write ``ds`` to ``output``; returns the row count. A URI (s3://, gs://, ...) is written by the workers
    (a folder of files, Ray's ``write_*``); a local path is one file written on the driver from the ordered
    stream, so it need not be reachable from the workers. Format by extension: .parquet, .csv, .jsonl."""
    fmt = Path(output.rstrip("/")).suffix.lower()
    if fmt not in (".parquet", ".csv", ".jsonl", ".json"):
        raise EdgeclfError(f"{output}: cannot tell the output format (give .parquet, .csv or .jsonl)")
    if "://" in output:
        writer = {".parquet": "write_parquet", ".csv": "write_csv"}.get(fmt, "write_json")
        getattr(ds, writer)(output)
        return ds.count()
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    partial = f"{output}.partial-{os.getpid()}"
    rows, sink, schema = 0, None, None
    try:
        with open(partial, "wb") as f:
            for batch in ds.iter_batches(batch_format="pyarrow", batch_size=None):
                if schema is None:
                    schema = batch.schema
                    if fmt == ".parquet":
                        sink = pq.ParquetWriter(f, schema)
                    elif fmt == ".csv":
                        sink = pa_csv.CSVWriter(f, schema)
                batch = batch.cast(schema) if batch.schema != schema else batch  # blocks may infer null types
                if fmt in (".jsonl", ".json"):
                    f.writelines((json.dumps(row, ensure_ascii=False) + "\n").encode() for row in batch.to_pylist())
                else:
                    sink.write_table(batch)
                rows += batch.num_rows
            if sink is not None:
                sink.close()
        os.replace(partial, output)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
        raise EdgeclfError(f"{output}: cannot write the output ({_first_line(e)})") from None
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return rows


def _leave_one_cpu(ray: Any, threads: int) -> int:
    """Actors for all CPUs but one: the workers' write tasks need a CPU (see ``classify``)."""
    return max(1, int(ray.cluster_resources().get("CPU", 1)) // threads - 1)


def predict_command(args: Any) -> int:
    """``edgeclf predict BUNDLE --input FILE --output FILE --ray [ADDRESS]``."""
    if args.texts or not args.input or not args.output:
        raise EdgeclfError("--ray reads --input FILE and writes --output FILE (.parquet, .csv or .jsonl)")
    ray = _import_ray()
    if not ray.is_initialized():
        try:  # bare --ray: a fresh local Ray; ADDRESS: auto, host:port or ray://host:10001 (Ray Client)
            ray.init(address=args.ray, log_to_driver=False)
        except (ConnectionError, ValueError, RuntimeError) as e:
            raise EdgeclfError(f"cannot reach the Ray cluster at {args.ray}: {_first_line(e)}") from None
    ds = classify(
        read(str(args.input), args.input_format),
        args.bundle,
        artifact=args.artifact,
        backend=args.backend,
        text_column=args.text_column,
        workers=args.ray_workers or (_leave_one_cpu(ray, args.threads) if "://" in str(args.output) else None),
        threads=args.threads,
        labels_as_text=str(args.output).lower().endswith(".csv"),
    )
    try:
        rows = write(ds, str(args.output))
    except EdgeclfError:
        raise
    except Exception as e:  # a worker's failure arrives wrapped in Ray's exception types: say it in one line
        raise EdgeclfError(f"the Ray job failed: {_first_line(e)}") from None
    print(f"edgeclf: {rows} rows written to {args.output}", file=sys.stderr)
    return 0

"""What Keras `model.export` and tf2onnx give for the example model, beside edgeclf's own artifacts, in one run.

    .venv/bin/pip install -r benchmarks/requirements-alternatives.txt   # tf2onnx, for the ONNX rows only
    .venv/bin/python benchmarks/alternatives.py                         # -> benchmarks/results/alternatives.{md,json}

Rows (every conversion runs in its own child process with a timeout: the TF converter can SIGSEGV):
- Keras 3 `model.export(path, format="litert")` and `format="onnx"` on the whole model (text in);
- the same two and `tf2onnx.convert.from_keras` on the numeric part (the model without TextVectorization, ids in),
  plus `model.export(format="litert")` with a batch-1 `input_signature`, the one Keras setting that runs;
- `edgeclf convert` (TFLite loop/fused, ONNX fused; fp32 and dynamic).
For each: does it convert (the error as the tool printed it), does it load and run in ai-edge-litert / onnxruntime
in a child where tensorflow, keras, tf_keras and tf2onnx cannot be imported, its op census read from the file,
its size, and where it runs the raw interpreter latency (batch 1, one thread, the same texts, all rows interleaved)
and max |Δ| of the raw output (the logit) against Keras on the same texts. Numeric-part rows and edgeclf's raw
calls get the ids of the model's own TextVectorization layer; edgeclf rows also get `Classifier.predict` (text in).

`--quick` converts fewer edgeclf artifacts, uses 5 texts and 3 rounds, and writes to a temporary folder.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import platform
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "convert" / "examples" / "imdb_bilstm"
BLOCKED = ("tensorflow", "keras", "tf_keras", "tf2onnx")
EDGECLF_FULL = ["--formats", "tflite,onnx", "--rnn", "loop,fused", "--quantize", "fp32,dynamic"]
EDGECLF_QUICK = ["--formats", "tflite,onnx", "--quantize", "fp32"]  # TFLite loop + ONNX fused

# id -> (what the user calls, input, tool that must be importable). Conversions are in convert_child below.
ALTERNATIVES: dict[str, tuple[str, str, str]] = {
    "keras-litert": ('model.export("m.tflite", format="litert")', "text", "keras"),
    "keras-onnx": ('model.export("m.onnx", format="onnx")', "text", "tf2onnx"),
    "keras-litert-ids": ('numeric.export("m.tflite", format="litert")', "ids", "keras"),
    "keras-litert-ids-b1": (
        'numeric.export("m.tflite", format="litert", input_signature=[tf.TensorSpec([1, None], tf.int32)])',
        "ids",
        "keras",
    ),
    "keras-onnx-ids": ('numeric.export("m.onnx", format="onnx")', "ids", "tf2onnx"),
    "tf2onnx-ids": ("tf2onnx.convert.from_keras(numeric, input_signature=spec, opset=17)", "ids", "tf2onnx"),
    "tf2onnx-ids-function": (
        "tf2onnx.convert.from_function(tf.function(numeric), input_signature=spec, opset=17)",
        "ids",
        "tf2onnx",
    ),
}
NEVER_CALLED = "never called"  # Keras refuses format="onnx" on a loaded model until it has been called once
SUFFIX = {"litert": ".tflite", "onnx": ".onnx"}


def one_line(message: str, limit: int = 400) -> str:
    """The tool's message on one line (whitespace collapsed), cut at ``limit`` characters."""
    text = re.sub(r"\s+", " ", message).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def exception_line(error: BaseException) -> str:
    return one_line(f"{type(error).__name__}: {error}")


# ----------------------------------------------------------------------------------------------------- children


def reference_child(work: Path, model_path: Path, texts: list[str]) -> dict[str, Any]:
    """Keras on every text (batch 1) and the ids its TextVectorization layer gives them."""
    import keras
    import tensorflow as tf

    model = keras.models.load_model(model_path)
    call = tf.function(lambda x: model(x, training=False), input_signature=[tf.TensorSpec([1], tf.string)])
    vectorize = model.layers[0]
    ids, raw = [], []
    for text in texts:
        ids.append([int(i) for i in np.asarray(vectorize(tf.constant([text])))[0]])
        raw.append(float(np.asarray(call(tf.constant([text]))).reshape(-1)[0]))
    return {"ids": ids, "keras_raw": raw, "tensorflow": tf.__version__, "keras": keras.__version__}


def convert_child(work: Path, model_path: Path, row: str) -> dict[str, Any]:
    """One alternative conversion, as a user would write it."""
    import keras
    import tensorflow as tf

    model = keras.models.load_model(model_path)
    path = work / f"{row}{SUFFIX['onnx' if 'onnx' in row else 'litert']}"
    numeric = keras.Sequential([keras.Input(shape=(None,), dtype="int32", name="tokens"), *model.layers[1:]])
    spec = [tf.TensorSpec([None, None], tf.int32, name="tokens")]
    first_error = None
    started = time.perf_counter()
    if row == "keras-litert":
        model.export(str(path), format="litert", verbose=False)
    elif row in ("keras-onnx", "keras-onnx-ids"):
        exported = model if row == "keras-onnx" else numeric
        try:
            exported.export(str(path), format="onnx", verbose=False)
        except ValueError as error:  # what users meet first; they then call the model once and export again
            if NEVER_CALLED not in str(error):
                raise
            first_error = exception_line(error)
            exported(tf.constant(["a film"]) if row == "keras-onnx" else tf.constant([[2, 3]], tf.int32))
            started = time.perf_counter()
            exported.export(str(path), format="onnx", verbose=False)
    elif row == "keras-litert-ids":
        numeric.export(str(path), format="litert", verbose=False)
    elif row == "keras-litert-ids-b1":
        batch_one = [tf.TensorSpec([1, None], tf.int32, name="tokens")]
        numeric.export(str(path), format="litert", input_signature=batch_one, verbose=False)
    elif row == "tf2onnx-ids":
        import tf2onnx

        tf2onnx.convert.from_keras(numeric, input_signature=spec, opset=17, output_path=str(path))
    elif row == "tf2onnx-ids-function":
        import tf2onnx

        function = tf.function(lambda x: numeric(x, training=False), input_signature=spec)
        tf2onnx.convert.from_function(function, input_signature=spec, opset=17, output_path=str(path))
    else:
        raise ValueError(row)
    if not path.is_file():  # some exporters write nothing and say nothing
        raise RuntimeError(f"no file written at {path.name}")
    return {"file": path.name, "convert_seconds": time.perf_counter() - started, "first_error": first_error}


class Runner:
    """One artifact in ai-edge-litert or onnxruntime, one thread; ``run`` feeds one text or one id row."""

    def __init__(self, path: Path, feed: str) -> None:
        self.feed = feed
        if path.suffix == ".tflite":
            from ai_edge_litert.interpreter import Interpreter

            self.interpreter = Interpreter(model_path=str(path), num_threads=1)
            self.interpreter.allocate_tensors()
            inputs = self.interpreter.get_input_details()
            if len(inputs) != 1:
                raise RuntimeError(f"{len(inputs)} inputs, expected one")
            self.input = inputs[0]
            self.output = self.interpreter.get_output_details()[0]["index"]
            self.shape: tuple[int, ...] = tuple(self.input["shape"])
            self.runtime = "ai-edge-litert"
        else:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = options.inter_op_num_threads = 1
            options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            self.input_name = self.session.get_inputs()[0].name
            self.runtime = "onnxruntime"

    def prepare(self, text: str, ids: list[int]) -> np.ndarray:
        if self.feed == "text":
            return np.array([text.encode()] if self.runtime == "ai-edge-litert" else [text], dtype=object)
        return np.array([ids or [0]], dtype=np.int32)  # an empty text is one padding token, as edgeclf feeds it

    def run(self, x: np.ndarray) -> np.ndarray:
        if self.runtime == "onnxruntime":
            return np.asarray(self.session.run(None, {self.input_name: x})[0])
        if tuple(x.shape) != self.shape:  # a new length: resize + allocate, as any runtime feeding true lengths
            self.interpreter.resize_tensor_input(self.input["index"], list(x.shape))
            self.interpreter.allocate_tensors()
            self.shape = tuple(x.shape)
        self.interpreter.set_tensor(self.input["index"], x)
        self.interpreter.reset_all_variables()  # fused LSTM ops keep their state between invokes: every row pays it
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output)


def importable() -> list[str]:
    """Which of the blocked modules this process could import (none, in the load and timing children)."""
    found = []
    for name in BLOCKED:
        try:
            __import__(name)
            found.append(name)
        except ImportError:
            pass
    return found


def block_tensorflow() -> None:
    for name in BLOCKED:
        sys.modules[name] = None  # type: ignore[assignment]  # import raises ImportError


def load_child(work: Path, path: Path, feed: str, texts: list[str], ids: list[list[int]]) -> dict[str, Any]:
    """Load + run one artifact without TensorFlow: its raw output on every text."""
    stage = "load"
    try:
        runner = Runner(path, feed)
        stage = "run"
        outputs = [float(runner.run(runner.prepare(t, i)).reshape(-1)[0]) for t, i in zip(texts, ids, strict=True)]
    except Exception as error:  # the interpreter's own message is the result
        return {"loads": False, "load_error": f"{stage}: {exception_line(error)}"}
    return {"loads": True, "runtime": runner.runtime, "outputs": outputs, "tensorflow_importable": importable()}


def timing_child(work: Path, rows: list[dict[str, Any]], texts: list[str], ids: list[list[int]], rounds: int):
    """Raw latency of every runnable row, interleaved: each text goes through every row (rotated order)."""
    from edgeclf import Classifier

    runners = [Runner(work / row["file"], row["input"]) for row in rows]
    inputs = [[r.prepare(t, i) for t, i in zip(texts, ids, strict=True)] for r in runners]
    e2e = {k: Classifier.load(work / row["bundle"], artifact=row["artifact"], num_threads=1)
           for k, row in enumerate(rows) if row.get("artifact")}  # fmt: skip
    jobs = [(k, "raw") for k in range(len(rows))] + [(k, "e2e") for k in e2e]
    samples: dict[tuple[int, str], list[float]] = {job: [] for job in jobs}
    for job in jobs:  # warm-up
        for i in range(min(3, len(texts))):
            runners[job[0]].run(inputs[job[0]][i]) if job[1] == "raw" else e2e[job[0]].predict([texts[i]])
    for _ in range(rounds):
        for i, text in enumerate(texts):
            for j in range(len(jobs)):
                k, kind = jobs[(i + j) % len(jobs)]
                started = time.perf_counter_ns()
                if kind == "raw":
                    runners[k].run(inputs[k][i])
                else:
                    e2e[k].predict([text], batch_size=1)
                samples[(k, kind)].append((time.perf_counter_ns() - started) / 1e3)
    if importable():
        raise RuntimeError(f"the timing child could import {importable()}")
    return {f"{k}:{kind}": values for (k, kind), values in samples.items()}


def child_main(args: argparse.Namespace) -> None:
    spec = json.loads(Path(args.child_spec).read_text())
    if args.child in ("load", "timing"):
        block_tensorflow()
    else:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    work = Path(spec["work"])
    try:
        if args.child == "reference":
            result = reference_child(work, Path(spec["model"]), spec["texts"])
        elif args.child == "convert":
            result = convert_child(work, Path(spec["model"]), spec["row"])
        elif args.child == "load":
            result = load_child(work, work / spec["file"], spec["input"], spec["texts"], spec["ids"])
        else:
            result = timing_child(work, spec["rows"], spec["texts"], spec["ids"], spec["rounds"])
        result["ok"] = True
    except Exception as error:  # reported as the row's error
        result = {"ok": False, "error": exception_line(error)}
    Path(spec["result"]).write_text(json.dumps(result))


def run_group(command: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """Runs ``command`` in its own process group; on timeout the whole group is killed (converters fork)."""
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          start_new_session=True) as process:  # fmt: skip
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def run_child(kind: str, spec: dict[str, Any], work: Path, timeout: float, tag: str, resume: bool = False):
    """Runs a child of this script; a crash, a timeout or a missing result becomes a one-line error.

    ``resume``: a successful result of an earlier run in the same work folder is taken as it is."""
    spec_path, result_path = work / f"{tag}.spec.json", work / f"{tag}.result.json"
    if resume and result_path.is_file() and json.loads(result_path.read_text()).get("ok"):
        return {**json.loads(result_path.read_text()), "resumed": True}
    result_path.unlink(missing_ok=True)
    spec_path.write_text(json.dumps({**spec, "work": str(work), "result": str(result_path)}))
    command = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--child-spec", str(spec_path)]
    try:
        done = run_group(command, timeout)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timed out after {timeout:.0f} s"}
    if result_path.is_file():
        return json.loads(result_path.read_text())
    if done.returncode < 0:
        return {"ok": False, "error": f"the process was killed by {signal.Signals(-done.returncode).name}"}
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    return {"ok": False, "error": one_line(lines[-1] if lines else f"exit status {done.returncode}")}


def edgeclf_convert(work: Path, model: Path, texts_csv: Path, extra: list[str], timeout: float, resume: bool = False):
    bundle = work / "edgeclf-bundle"
    if resume and (bundle / "manifest.json").is_file():
        manifest = json.loads((bundle / "manifest.json").read_text())
        return {"ok": True, "bundle": bundle.name, "manifest": manifest, "convert_seconds": None, "resumed": True}
    command = [sys.executable, "-c", "import sys; from edgeclf.cli import main; sys.exit(main())", "convert",
               str(model), "-o", str(bundle), "--force", "--eval-texts", str(texts_csv), *extra]  # fmt: skip
    started = time.perf_counter()
    try:
        done = run_group(command, timeout)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timed out after {timeout:.0f} s"}
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        return {"ok": False, "error": one_line(lines[-1] if lines else f"exit status {done.returncode}")}
    manifest = json.loads((bundle / "manifest.json").read_text())
    return {"ok": True, "bundle": bundle.name, "manifest": manifest, "convert_seconds": time.perf_counter() - started}


# ----------------------------------------------------------------------------------------------------- census


def tflite_census(path: Path) -> dict[str, int]:
    """Op type -> count over every subgraph of a .tflite flatbuffer (custom ops as CUSTOM:name, Flex included)."""
    from edgeclf.opcensus import tflite_op_census

    return tflite_op_census(path)


def onnx_census(path: Path) -> dict[str, int]:
    """Op type -> count over the graph and every subgraph (Loop/Scan bodies); non-default domains prefixed."""
    import onnx

    census: Counter[str] = Counter()

    def walk(graph: Any) -> None:
        for node in graph.node:
            census[f"{node.domain}::{node.op_type}" if node.domain not in ("", "ai.onnx") else node.op_type] += 1
            for attribute in node.attribute:
                if attribute.type == onnx.AttributeProto.GRAPH:
                    walk(attribute.g)
                for sub in attribute.graphs:
                    walk(sub)

    walk(onnx.load(str(path), load_external_data=False).graph)
    return dict(sorted(census.items()))


def tf_ops(census: dict[str, int], onnx_file: bool) -> list[str]:
    """TensorFlow ops left in the file: Flex (Select TF) ops in a .tflite; in a .onnx, default-domain op types
    that ONNX does not define (tf2onnx copies TF ops it cannot convert, such as StaticRegexReplace)."""
    if not onnx_file:
        return [op for op in census if op.startswith("CUSTOM:Flex")]
    import onnx.defs

    return [op for op in census if "::" not in op and not onnx.defs.has(op)]


def census_summary(census: dict[str, int], onnx_file: bool) -> dict[str, Any]:
    """The columns of the table: TensorFlow (Flex / non-ONNX) ops, loops, native LSTM nodes."""
    foreign = tf_ops(census, onnx_file)
    return {
        "flex_ops": sorted(op.removeprefix("CUSTOM:Flex") for op in foreign),
        "flex_nodes": sum(census[op] for op in foreign),
        "while": census.get("WHILE", 0),
        "loop_scan": census.get("Loop", 0) + census.get("Scan", 0),
        "lstm": sum(n for op, n in census.items() if op.split("::")[-1].endswith("LSTM")),
        "nodes": sum(census.values()),
    }


# ----------------------------------------------------------------------------------------------------- report


def read_texts(path: Path, count: int) -> list[str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [row["text"] for row in csv.DictReader(handle)][:count]


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for name in ("tensorflow-cpu", "keras", "tf2onnx", "onnx", "onnxruntime", "ai-edge-litert", "numpy", "edgeclf"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def fmt(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}" if digits or abs(value) >= 1 else f"{value:.2g}"


def markdown(report: dict[str, Any]) -> str:
    head = (
        "| row | how | input | converts | loads without TF | TF ops left (Flex / non-ONNX) | WHILE | Loop/Scan "
        "| LSTM nodes | size (bytes) | raw median (µs) | edgeclf predict median (µs) | max abs Δ vs Keras |\n"
        "|---|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    lines, notes = [], []
    for row in report["rows"]:
        census = row.get("summary") or {}
        flex = census.get("flex_ops")
        flex_cell = "—" if not census else (f"{census['flex_nodes']}: " + ", ".join(flex) if flex else "0")
        converts = "yes" if row["converts"] else "**no**"
        loads = "—" if not row["converts"] else ("yes" if row["loads"] else "**no**")
        if row.get("first_error"):
            notes.append(f"- `{row['id']}` on the loaded model: `{row['first_error']}`; the row is the export "
                         "after one call of the model (`model(x)`)")  # fmt: skip
        if row.get("convert_error"):
            notes.append(f"- `{row['id']}` does not convert: `{row['convert_error']}`")
        if row.get("load_error"):
            notes.append(f"- `{row['id']}` does not load/run in {row['runtime_wanted']}: `{row['load_error']}`")
        delta = row.get("max_abs_diff")
        cells = [
            f"`{row['id']}`", f"`{row['how']}`", row["input"], converts, loads, flex_cell,
            str(census.get("while", "—")), str(census.get("loop_scan", "—")), str(census.get("lstm", "—")),
            fmt(row.get("size")), fmt(row.get("raw_median_us")), fmt(row.get("e2e_median_us")),
            "—" if delta is None else f"{delta:.2e}",
        ]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    v = report["versions"]
    resumed = [f"`{row['id']}`" for row in report["rows"] if row.get("resumed")]
    if resumed:  # say so: these files were converted by an earlier run (same script, same work folder)
        notes.append(f"- Converted by an earlier run in the same work folder (`--resume`): {', '.join(resumed)}.")
    return (
        "# Alternatives: Keras `model.export`, tf2onnx and edgeclf on the same model\n\n"
        f"Regenerate: `{report['command']}`\n\n"
        f"Model `{report['model']}` (BiLSTM, masked, TextVectorization in the graph), {report['texts']} held-out "
        f"reviews from `{report['texts_source']}`; {report['rounds']} interleaved rounds, batch 1, one thread. "
        f"TensorFlow {v['tensorflow-cpu']}, Keras {v['keras']}, tf2onnx {v['tf2onnx']}, ai-edge-litert "
        f"{v['ai-edge-litert']}, onnxruntime {v['onnxruntime']}, {report['machine']}, 1-minute load average "
        f"{report['load_average'][0]} before and {report['load_average'][1]} after the run (a shared machine "
        "inflates every latency; the rows are interleaved, so compare them with each other).\n\n"
        "`numeric` = the model without its TextVectorization layer (ids in), as users build it for tf2onnx. "
        "Loads = loads and runs in ai-edge-litert / onnxruntime in a process where tensorflow, keras, tf_keras and "
        "tf2onnx cannot be imported. Census read from the file (every subgraph). Raw = one interpreter call on "
        "the ids of the model's own TextVectorization layer (text rows: the string); edgeclf predict = "
        "`Classifier.predict([text])`, tokenizer included. Δ on the raw output (the logit).\n\n"
        + head
        + "\n".join(lines)
        + "\n\n"
        + ("Notes (what failed, as the tool printed it):\n\n" + "\n".join(notes) + "\n" if notes else "")
    )


def build_rows(args: argparse.Namespace, work: Path, texts: list[str], ref: dict[str, Any]) -> list[dict[str, Any]]:
    texts_csv = work / "texts.csv"
    with texts_csv.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text"])
        writer.writerows([t] for t in texts)
    model = Path(args.model).resolve()
    alternatives = [r for r in ALTERNATIVES if not args.rows or r in args.rows]
    extra = EDGECLF_QUICK if args.quick else EDGECLF_FULL

    def convert(row: str) -> dict[str, Any]:
        spec = {"model": str(model), "row": row}
        return run_child("convert", spec, work, args.timeout, f"convert-{row}", args.resume)

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:  # conversions are not timed: run two at a time
        edgeclf_future = pool.submit(edgeclf_convert, work, model, texts_csv, extra, args.timeout * 2, args.resume)
        converted = dict(zip(alternatives, pool.map(convert, alternatives), strict=True))
        bundle = edgeclf_future.result()
    rows: list[dict[str, Any]] = []
    for row, result in converted.items():
        how, feed, tool = ALTERNATIVES[row]
        entry = {"id": row, "how": how, "input": feed, "tool": tool, "converts": result["ok"]}
        if result["ok"]:
            entry.update(file=result["file"], convert_seconds=result["convert_seconds"])
            entry["resumed"] = bool(result.get("resumed"))
            if result.get("first_error"):
                entry["first_error"] = result["first_error"]
        else:
            entry["convert_error"] = result["error"]
        rows.append(entry)
    if not bundle["ok"]:
        rows.append({"id": "edgeclf", "how": "edgeclf convert " + " ".join(extra), "input": "ids", "tool": "edgeclf",
                     "converts": False, "convert_error": bundle["error"]})  # fmt: skip
    else:
        for artifact in bundle["manifest"]["artifacts"]:
            rnn = f" --rnn {artifact.get('rnn')}" if artifact.get("rnn") else ""
            rows.append({
                "id": f"edgeclf {artifact['name']}", "input": "ids", "tool": "edgeclf", "converts": True,
                "how": f"edgeclf convert --formats {artifact['format']}{rnn} --quantize {artifact['precision']}",
                "file": f"{bundle['bundle']}/{artifact['file']}", "bundle": bundle["bundle"],
                "artifact": artifact["name"], "convert_seconds": bundle["convert_seconds"],
                "resumed": bool(bundle.get("resumed")),
            })  # fmt: skip
    for entry in rows:
        if not entry["converts"]:
            continue
        path = work / entry["file"]
        data = path.read_bytes()
        entry.update(size=len(data), sha256=hashlib.sha256(data).hexdigest())
        entry["census"] = tflite_census(path) if path.suffix == ".tflite" else onnx_census(path)
        entry["summary"] = census_summary(entry["census"], path.suffix == ".onnx")
        entry["runtime_wanted"] = "ai-edge-litert" if path.suffix == ".tflite" else "onnxruntime"
        spec = {"file": entry["file"], "input": entry["input"], "texts": texts, "ids": ref["ids"]}
        loaded = run_child("load", spec, work, args.timeout, f"load-{re.sub(r'[^A-Za-z0-9]+', '-', entry['id'])}")
        entry["loads"] = bool(loaded.get("loads"))
        if entry["loads"]:
            outputs = np.asarray(loaded["outputs"], dtype=np.float64)
            entry.update(runtime=loaded["runtime"], outputs=loaded["outputs"])
            entry["importable_in_load_child"] = loaded["tensorflow_importable"]
            entry["max_abs_diff"] = float(np.max(np.abs(outputs - np.asarray(ref["keras_raw"]))))
        else:
            entry["load_error"] = loaded.get("load_error") or loaded.get("error")
    runnable = [e for e in rows if e.get("loads")]
    spec = {"rows": runnable, "texts": texts, "ids": ref["ids"], "rounds": args.rounds}
    timed = run_child("timing", spec, work, args.timeout * 3, "timing")
    if not timed.get("ok"):
        raise SystemExit(f"alternatives: error: the timing child failed: {timed.get('error')}")
    for k, entry in enumerate(runnable):
        entry["raw_samples_us"] = timed[f"{k}:raw"]
        entry["raw_median_us"] = float(np.median(timed[f"{k}:raw"]))
        if f"{k}:e2e" in timed:
            entry["e2e_samples_us"] = timed[f"{k}:e2e"]
            entry["e2e_median_us"] = float(np.median(timed[f"{k}:e2e"]))
    return rows


def compact_json(report: dict[str, Any]) -> str:
    """One line per top-level key and per row: readable in a diff, without one line per sample."""
    fields = [f"{json.dumps(k)}: {json.dumps(v)}" for k, v in report.items() if k != "rows"]
    rows = ",\n  ".join(json.dumps(row) for row in report["rows"])
    return "{\n " + ",\n ".join(fields) + ',\n "rows": [\n  ' + rows + "\n ]\n}\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 texts, 3 rounds, fp32 edgeclf artifacts only")
    parser.add_argument("--texts", type=int, help="how many held-out reviews (default 200, quick 5)")
    parser.add_argument("--rounds", type=int, help="interleaved timing rounds over the texts (default 5, quick 3)")
    parser.add_argument("--rows", nargs="*", help="only these alternative rows (edgeclf's always run)")
    parser.add_argument("--model", default=str(EXAMPLE / "model.keras"))
    parser.add_argument("--heldout", default=str(EXAMPLE / "heldout.csv"))
    parser.add_argument("--out", help="folder for alternatives.md/.json (default benchmarks/results; quick: temp)")
    parser.add_argument("--work", help="folder for the artifacts (default: a new temporary folder, kept)")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="with --work: keep the conversions (and the Keras "
        "reference) an earlier run left there; loads, census and timing run again",
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per conversion child")
    parser.add_argument("--jobs", type=int, default=2, help="conversion children run at once")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-spec", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_main(args)
        return
    args.texts = args.texts or (5 if args.quick else 200)
    args.rounds = args.rounds or (3 if args.quick else 5)
    out = Path(args.out or (tempfile.mkdtemp(prefix="alternatives-") if args.quick else REPO / "benchmarks/results"))
    work = Path(args.work or tempfile.mkdtemp(prefix="alternatives-work-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    texts = read_texts(Path(args.heldout), args.texts)
    spec = {"model": str(Path(args.model).resolve()), "texts": texts}
    ref = run_child("reference", spec, work, args.timeout, "ref", args.resume)
    if not ref.get("ok"):
        raise SystemExit(f"alternatives: error: Keras could not run the model: {ref.get('error')}")
    load_before = os.getloadavg()
    rows = build_rows(args, work, texts, ref)
    load_after = os.getloadavg()
    given = argv if argv is not None else sys.argv[1:]
    command = " ".join(["python benchmarks/alternatives.py", *map(shlex.quote, given)])
    report = {
        "command": command, "quick": args.quick, "texts": len(texts), "rounds": args.rounds,
        "model": os.path.relpath(Path(args.model).resolve(), REPO), "texts_source": os.path.relpath(
            Path(args.heldout).resolve(), REPO), "work": str(work), "versions": versions(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs", "keras_raw": ref["keras_raw"],
        "load_average": [round(load_before[0], 1), round(load_after[0], 1)],
        "token_counts": [len(i) for i in ref["ids"]], "ids": ref["ids"], "rows": rows,
    }  # fmt: skip
    report["versions"].update(tensorflow_runtime=ref["tensorflow"], keras_runtime=ref["keras"])
    (out / "alternatives.json").write_text(compact_json(report))
    (out / "alternatives.md").write_text(markdown(report))
    print(markdown(report))
    print(f"wrote {out / 'alternatives.md'} and .json; artifacts in {work}")


if __name__ == "__main__":
    main()

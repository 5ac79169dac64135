"""``edgeclf inspect``: what a bundle (folder or single file) holds, as a dict and as lines for people."""

from __future__ import annotations

from typing import Any

from edgeclf.backends import backends_for, installed_backends
from edgeclf.bundle import Bundle, sha256_of
from edgeclf.selection import choose, describe_choice, read_device_record


def _installed_backends(fmt: str) -> list[str]:
    here = installed_backends()
    return [name for name in backends_for(fmt) if name in here]


def _file_status(bundle: Bundle, name: str, record: dict[str, Any]) -> str:
    path = bundle.root / name
    if not path.is_file():
        return "missing"
    if path.stat().st_size != record.get("size") or sha256_of(path) != record.get("sha256"):
        return "modified"
    return "ok"


def _default_here(path: str, manifest: dict[str, Any]) -> str:
    """What ``Classifier.load`` would open on this machine, and why."""
    picked = choose(manifest, installed_backends(), None, read_device_record(path, manifest))
    return f"{picked.artifact} ({picked.reason})"


def describe(path: str) -> dict[str, Any]:
    """Everything ``inspect`` shows; raises ``BundleError`` for what cannot be opened at all."""
    bundle = Bundle.open(path)
    m = bundle.manifest
    single = getattr(bundle, "source", None) is not None
    files = {name: {**record, "status": _file_status(bundle, name, record)} for name, record in m["files"].items()}
    artifacts = []
    for a in m.get("artifacts", []):
        artifacts.append(
            {
                "name": a["name"],
                "default": a["name"] == m.get("default_artifact"),
                "file": a["file"],
                "format": a.get("format"),
                "precision": a.get("precision"),
                "rnn": a.get("rnn"),
                "size": a.get("size"),
                "ops": a.get("ops", {}),
                "weight_bytes": a.get("weight_bytes", {}),
                "embedding_dtype": a.get("embedding_dtype"),
                "parity": a.get("parity", {}),
                "worst_ranges": a.get("quantization", {}).get("summary"),  # full-integer artifacts outside the target
                "latency": a.get("latency"),
                "verified_runtimes": a.get("verified_runtimes", m.get("verified_runtimes", {})),
                "installed_backends": _installed_backends(a.get("format", "")),
            }
        )
    return {
        "path": str(path),
        "kind": "single-file" if single else "folder",
        "format_version": m.get("format_version"),
        "edgeclf_version": m.get("edgeclf_version"),
        "created": m.get("created"),
        "source": m.get("source", {}),
        "default_choice": describe_choice(m),
        "default_here": _default_here(path, m),
        "task": m.get("task"),
        "labels": m.get("labels", []),
        "output": m.get("output", {}),
        "tokenizer": {k: v for k, v in m.get("tokenizer", {}).items()},
        "input": m.get("input", {}),
        "parity": m.get("parity", {}),
        "artifacts": artifacts,
        "failed_artifacts": m.get("failed_artifacts", []),
        "single_files": m.get("single_files", []),
        "files": files,
        "intact": all(f["status"] == "ok" for f in files.values()),
        "manifest": m,
    }


def describe_tokenizer(spec: dict[str, Any]) -> str:
    """One line for a manifest's tokenizer spec (either kind)."""
    if spec.get("kind") == "keras_tokenizer":
        return (
            f"Keras Tokenizer (lower={spec['lower']}, split={spec['split']!r}, OOV id {spec['oov_id']}; "
            f"padding {spec['padding']}, truncating {spec['truncating']})"
        )
    return f"TextVectorization ({spec.get('standardize')}, {spec.get('split')})"


def _num(value: Any, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def render(info: dict[str, Any]) -> list[str]:
    """``describe``'s dict as lines for a terminal."""
    lines = []
    src = info["source"]
    lines.append(
        f"bundle     {info['path']} ({info['kind']}, format {info['format_version']}, "
        f"edgeclf {info['edgeclf_version']}, created {info['created']})"
    )
    if src:
        lines.append(
            f"source     {src.get('file')} ({_num(src.get('size'), ',')} bytes, Keras {src.get('keras', '?')})"
        )
    out = info["output"]
    kind = "logits" if out.get("logits") else "probabilities"
    lines.append(f"task       {info['task']}: {', '.join(info['labels'])} ({kind}, {out.get('units')} output unit(s))")
    t = info["tokenizer"]
    lines.append(f"tokenizer  {t.get('kind', '?')}: {describe_tokenizer(t)}, {_num(t.get('vocab_size'), ',')} tokens")
    i = info["input"]
    lines.append(
        f"input      {str(i.get('feed', '?')).replace('_', ' ')}, masked={i.get('masked')}, "
        f"sequence length {i.get('sequence_length')}"
    )
    p = info["parity"]
    if p:
        lines.append(
            f"parity     {p.get('texts')} texts from {p.get('source')}; Keras accuracy "
            f"{_num(p.get('keras_accuracy'), '.4f')}; float32 tolerance {p.get('tolerance_fp32')}"
        )
    lines.append(f"default    {info['default_choice'].removeprefix('default artifact: ')}")
    lines.append(f"           on this machine: {info['default_here']}")
    lines.append("artifacts")
    for a in info["artifacts"]:
        q = a["parity"]
        lines.append(
            f"  {a['name']}{' (default)' if a['default'] else ''}: {a['file']}, {_num(a['size'], ',')} bytes, "
            f"{a['format']} {a['precision']}, rnn {a['rnn']}"
        )
        if q:
            lines.append(
                f"    parity: max |Δ| {_num(q.get('max_abs_diff'), '.2e')} "
                f"(raw {_num(q.get('max_abs_diff_raw'), '.2e')}), "
                f"agreement {_num(q.get('label_agreement'), '.4f')}, accuracy "
                f"{_num(q.get('artifact_accuracy'), '.4f')} vs Keras {_num(q.get('keras_accuracy'), '.4f')}, "
                f"empty text |Δ| {_num(q.get('empty_text_abs_diff'), '.2e')}"
                + ("" if q.get("ok", True) else "  [OUTSIDE TARGET: see report.md]")
            )
        if a["worst_ranges"]:
            lines.append(f"    {a['worst_ranges']}")
        ops = a["ops"]
        lines.append(f"    ops: {', '.join(f'{k} {v}' for k, v in ops.items()) if ops else 'n/a'}")
        latency = a["latency"]
        if latency:
            lines.append(f"    latency at conversion: {latency['p50_us']:,.0f} µs per text ({latency['backend']})")
        if a["weight_bytes"]:
            split = ", ".join(f"{part} {n:,}" for part, n in a["weight_bytes"].items())
            lines.append(f"    weight bytes: {split} (embedding {a['embedding_dtype'] or '–'})")
        verified = a["verified_runtimes"]
        if verified:
            shown = ", ".join(f"{k}: {v}" for k, v in verified.items()) if isinstance(verified, dict) else verified
            lines.append(f"    verified runtimes: {shown}")
        lines.append(f"    backends installed here: {', '.join(a['installed_backends']) or 'none'}")
    for failed in info["failed_artifacts"]:
        lines.append(f"  {failed.get('name')}: not written ({failed.get('error')})")
    for s in info["single_files"]:
        record = info["files"].get(s["file"], {})
        lines.append(f"single file {s['file']} ({_num(record.get('size'), ',')} bytes) for {s['artifact']}")
    files = info["files"]
    total = sum(f.get("size", 0) for f in files.values())
    bad = [f"{name} {f['status']}" for name, f in files.items() if f["status"] != "ok"]
    integrity = "all match their sha256" if not bad else "PROBLEMS: " + ", ".join(bad)
    lines.append(f"files      {len(files)} ({total:,} bytes): {integrity}")
    return lines

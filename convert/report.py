"""``report.md``: the bundle's parity and size figures, for people."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgeclf.convert.parity import QUANTIZED_MAX_ACCURACY_DROP, QUANTIZED_MIN_AGREEMENT
from edgeclf.describe import describe_tokenizer


def _fmt(value: Any, spec: str = ".4f") -> str:
    return "–" if value is None else format(value, spec)


def write_report(folder: Path, manifest: dict[str, Any]) -> None:
    parity = manifest["parity"]
    source = manifest["source"]
    lines = [
        f"# edgeclf bundle: {source['file']}",
        "",
        f"- task: {manifest['task']}, labels: {', '.join(manifest['labels'])}",
        f"- output: {manifest['output']['units']} unit(s), "
        f"{'logits' if manifest['output']['logits'] else manifest['output']['activation'] + ' probabilities'}",
        f"- tokenizer: {describe_tokenizer(manifest['tokenizer'])}, {manifest['tokenizer']['vocab_size']} tokens, "
        "sequence length "
        f"{manifest['input']['sequence_length'] or 'any'}, fed {manifest['input']['feed'].replace('_', ' ')}",
        f"- source model: {source['size']:,} bytes, Keras {source['keras']}",
        f"- parity texts: {parity['texts']} ({parity['source']}); Keras accuracy on them: "
        f"{_fmt(parity['keras_accuracy'])}",
        "",
        "| artifact | size (bytes) | × fp32 | max abs diff score | max abs diff raw | label agreement | accuracy | "
        "acc. delta | empty-text diff | within tolerance |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for a in manifest["artifacts"]:
        p = a["parity"]
        rule = (
            f"≤ {p['tolerance']:g} on every score"
            if a["precision"] == "fp32"
            else f"agreement ≥ {QUANTIZED_MIN_AGREEMENT}, accuracy drop ≤ {QUANTIZED_MAX_ACCURACY_DROP}"
        )
        default = " (default)" if a["name"] == manifest["default_artifact"] else ""
        lines.append(
            f"| {a['name']}{default} | {a['size']:,} | {_fmt(a.get('size_ratio_to_fp32'), '.2f')} | "
            f"{p['max_abs_diff']:.2e} | {p['max_abs_diff_raw']:.2e} | {p['label_agreement']:.4f} | "
            f"{_fmt(p['artifact_accuracy'])} | {_fmt(p['accuracy_delta'], '+.4f')} | {p['empty_text_abs_diff']:.2e} | "
            f"{'yes' if p['ok'] else '**NO**'} ({rule}) |"
        )
    for failed in manifest.get("failed_artifacts", []):
        lines.append(f"| {failed['name']} | not written | | | | | | | | {failed['error']} |")
    diagnosed = [a for a in manifest["artifacts"] if "summary" in a.get("quantization", {})]
    if diagnosed:  # full-integer artifacts outside the target (refused ones carry it in their error above)
        lines += ["", "Full-integer artifacts outside the target, the tensors whose quantization broke most:", ""]
        lines += [f"- {a['name']}: {a['quantization']['summary']}" for a in diagnosed]
    lines += [
        "",
        "Weight bytes by network part (constants grouped by the op that reads them; embedding element type):",
        "",
    ]
    for a in manifest["artifacts"]:
        if "weight_bytes" in a:
            split = ", ".join(f"{part} {n:,}" for part, n in a["weight_bytes"].items())
            lines.append(f"- {a['name']}: {split} (embedding {a.get('embedding_dtype') or '–'})")
    lines += ["", "Op census (all subgraphs):", ""]
    for a in manifest["artifacts"]:
        ops = ", ".join(f"{op} {n}" for op, n in a["ops"].items())
        lines.append(f"- {a['name']}: {ops}")
    (folder / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")

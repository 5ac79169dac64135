"""``report.md``: the bundle's parity and size figures, for people."""

from __future__ import annotations

from pathlib import Path
from typing import Any


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
        f"- tokenizer: TextVectorization ({manifest['tokenizer']['standardize']}, {manifest['tokenizer']['split']}), "
        f"{manifest['tokenizer']['vocab_size']} tokens, sequence length "
        f"{manifest['input']['sequence_length'] or 'any'}, fed {manifest['input']['feed'].replace('_', ' ')}",
        f"- source model: {source['size']:,} bytes, Keras {source['keras']}",
        f"- parity texts: {parity['texts']} ({parity['source']}); Keras accuracy on them: "
        f"{_fmt(parity['keras_accuracy'])}",
        "",
        "| artifact | size (bytes) | max abs diff score | max abs diff raw | label agreement | accuracy | "
        "acc. delta | empty-text diff | within tolerance |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for a in manifest["artifacts"]:
        p = a["parity"]
        lines.append(
            f"| {a['name']} | {a['size']:,} | {p['max_abs_diff']:.2e} | {p['max_abs_diff_raw']:.2e} | "
            f"{p['label_agreement']:.4f} | {_fmt(p['artifact_accuracy'])} | {_fmt(p['accuracy_delta'], '+.4f')} | "
            f"{p['empty_text_abs_diff']:.2e} | {'yes' if p['ok'] else 'NO'} (≤ {p['tolerance']:g}) |"
        )
    lines += ["", "Op census (all subgraphs):", ""]
    for a in manifest["artifacts"]:
        ops = ", ".join(f"{op} {n}" for op, n in a["ops"].items())
        lines.append(f"- {a['name']}: {ops}")
    (folder / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")

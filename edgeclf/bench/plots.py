"""The bench's three plots (latency per configuration, size vs accuracy, latency vs length); matplotlib, files only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def _labelled_series(document: dict[str, Any], one_thread: bool = False) -> list[tuple[str, list[int], list[float]]]:
    """(name, token counts, end-to-end µs) per configuration, then the Keras calls."""
    configs = document["configs"]
    if one_thread:  # thread counts change little on a small machine but double the clutter of a scatter plot
        configs = [r for r in configs if r["threads"] == min(c["threads"] for c in configs)]
    series = [(_name(r), r["samples"]["tokens"], r["samples"]["end_to_end_us"]) for r in configs]
    k = document.get("keras")
    if k and "error" not in k:
        series.append(("keras model.predict", k["samples"]["tokens"], k["samples"]["predict_us"]))
        series.append(("keras tf.function", k["samples"]["tokens"], k["samples"]["function_us"]))
    return series


def _style(n: int, name: str) -> dict[str, Any]:
    """Distinct colour and marker for series ``n`` (tab20: up to 20 before colours repeat); Keras in black."""
    import matplotlib

    if name.startswith("keras"):
        return {"color": "black", "marker": "X" if "predict" in name or "(" in name else "P"}
    colours = matplotlib.colormaps["tab20"].colors
    return {"color": colours[(2 * n) % 20 + (n // 10) % 2], "marker": "os^Dv<>ph*"[n % 10]}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only, never a display
    import matplotlib.pyplot as plt

    return plt


def plot_latency(document: dict[str, Any], path: Path) -> Path:
    """Latency distribution per artifact/backend (end to end, batch 1), the raw invoke beside it; log scale."""
    plt = _pyplot()
    series = _labelled_series(document)
    raw = {_name(r): r["samples"]["raw_invoke_us"] for r in document["configs"]}
    fig, ax = plt.subplots(figsize=(9.5, 1.4 + 0.42 * len(series)))
    positions = np.arange(1, len(series) + 1, dtype=float)
    style = {"orientation": "horizontal", "whis": (1, 99), "widths": 0.32, "patch_artist": True,
             "flierprops": {"markersize": 2}, "medianprops": {"color": "black"}}  # fmt: skip
    e2e = ax.boxplot([us for _, _, us in series], positions=positions - 0.18, **style)
    for box in e2e["boxes"]:
        box.set_facecolor("tab:blue")
    named = [(i, name) for i, (name, _, _) in enumerate(series) if name in raw]
    if named:
        inner = ax.boxplot([raw[name] for _, name in named], positions=[positions[i] + 0.18 for i, _ in named], **style)
        for box in inner["boxes"]:
            box.set_facecolor("tab:orange")
        ax.legend([e2e["boxes"][0], inner["boxes"][0]], ["end to end (text in, scores out)", "raw interpreter invoke"],
                  fontsize=8, loc="upper right")  # fmt: skip
    ax.set_yticks(positions, [name for name, _, _ in series], fontsize=8)
    ax.set_xscale("log")
    slowest = max(max(us) for _, _, us in series)
    ax.set_xlim(right=slowest * 12)  # free space on the right for the legend
    ax.set_xlabel("latency per text, µs (log scale; box = p25–p75, line = p50, whiskers = p1–p99)")
    ax.set_title(f"Batch-1 latency on {document['texts']['count']} real texts ({_short(document)})", fontsize=10)
    ax.invert_yaxis()
    ax.grid(axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def plot_size_accuracy(document: dict[str, Any], path: Path) -> Path:
    """File size against accuracy on the texts, one point per artifact (and the Keras file)."""
    plt = _pyplot()
    points: dict[str, tuple[float, float]] = {}
    for r in document["configs"]:
        if r["accuracy"] is not None:
            points.setdefault(r["artifact"], (r["size_bytes"] / 1024, r["accuracy"]))
    k = document.get("keras")
    if k and "error" not in k and k.get("accuracy") is not None:
        points[f"keras ({k['file']})"] = (k["size_bytes"] / 1024, k["accuracy"])
    fig, ax = plt.subplots(figsize=(7, 4.4))
    for n, (name, (size, acc)) in enumerate(points.items()):  # a legend, not labels: fp32 files overlap
        ax.scatter(size, acc, s=45, label=f"{name}: {size:,.0f} KB, {acc:.4f}", **_style(n, name))
    if not points:
        ax.text(0.5, 0.5, "no labels given: accuracy unknown", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("file size, KB")
    ax.set_ylabel(f"accuracy on {document['texts']['count']} labelled texts")
    ax.set_title(f"Size vs accuracy ({_short(document)})", fontsize=10)
    ax.grid(alpha=0.3)
    if points:
        ax.legend(fontsize=7, loc="lower right")
        accs = [a for _, a in points.values()]
        ax.set_ylim(min(accs) - 0.04, max(accs) + 0.01)
        sizes = [s for s, _ in points.values()]
        ax.set_xlim(0, max(sizes) * 1.35)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def plot_length(document: dict[str, Any], path: Path) -> Path:
    """Latency against token count: one point per timed text, per configuration (log y)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(11, 4.8))
    for n, (name, tokens, us) in enumerate(_labelled_series(document, one_thread=True)):
        ax.scatter(tokens, us, s=9, alpha=0.6, label=name, **_style(n, name))
    for r in document["configs"]:
        if r["padded"]:
            label = f"{_name(r)} padded to {document['options']['pad_length']} tokens: p50 of the raw invoke"
            ax.axhline(r["padded"]["p50"], linestyle="--", linewidth=0.9, color="grey", label=label)
            break  # one reference line keeps the plot readable
    ax.set_yscale("log")
    ax.set_xlabel("tokens in the text (true length)")
    ax.set_ylabel("end-to-end latency, µs (log scale)")
    ax.set_title(f"Latency vs sequence length ({_short(document)})", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, markerscale=2, loc="upper left", bbox_to_anchor=(1.01, 1))  # outside: no data hidden
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def plot_all(document: dict[str, Any], path: Path) -> list[Path]:
    """The three plots: ``out.png`` → ``out-latency.png``, ``out-size-accuracy.png``, ``out-length.png``."""
    path = Path(path)
    stem = path.with_suffix("")
    return [
        plot_latency(document, Path(f"{stem}-latency.png")),
        plot_size_accuracy(document, Path(f"{stem}-size-accuracy.png")),
        plot_length(document, Path(f"{stem}-length.png")),
    ]


def _name(row: dict[str, Any]) -> str:
    return f"{row['artifact']} / {row['backend']} / {row['threads']}t"


def _short(document: dict[str, Any]) -> str:
    m = document["machine"]
    return f"{m['cpus']}-CPU {m['arch']}, {document['options']['runs']} runs"

"""What the raw measurements mean: FLOPs per text, labels, accuracy, agreement and the ratios between calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgeclf.bench.texts import BenchTexts
from edgeclf.scoring import accuracy, agreement, manifest_threshold, predicted, probabilities


def network_flops(folder: Path) -> dict[str, Any]:
    """FLOPs per token and per text from the network description (2 FLOPs per multiply-add).

    Counted: the kernels of recurrent cells (input and recurrent matvecs, so LSTM's 4 gates and GRU's 3 come
    from the weight shapes) at every step, Dense layers per token while the data is still a sequence and
    once per text after it. Not counted: the embedding lookup (a copy), activations, gate element-wise
    products and bias adds (O(units) per step, against O(units²) for the matvecs).
    """
    from edgeclf.network import Network

    network = Network.load(folder)
    per_token = per_text = 0
    recurrent = 0  # of per_token: the recurrent matvecs, which depend on the previous step (matvec speed at batch 1)
    sequence = True  # after the Embedding every layer sees one vector per token until a layer returns one
    notes = []

    def recurrent_macs(weights: dict[str, np.ndarray], prefix: str = "") -> int:
        nonlocal recurrent
        recurrent += 2 * int(weights[f"{prefix}recurrent_kernel"].size)
        return int(weights[f"{prefix}kernel"].size + weights[f"{prefix}recurrent_kernel"].size)

    for layer in network.layers:
        kind, config, weights = layer.kind, layer.config, layer.weights
        if kind in ("lstm", "gru", "simple_rnn"):
            per_token += 2 * recurrent_macs(weights)
            sequence = sequence and bool(config.get("return_sequences"))
        elif kind == "bidirectional":
            per_token += sum(2 * recurrent_macs(weights, f"{half}/") for half in ("forward", "backward"))
            sequence = sequence and bool(config["forward"]["config"].get("return_sequences"))
        elif kind == "dense":
            macs = 2 * int(weights["kernel"].size)
            if sequence:
                per_token += macs
            else:
                per_text += macs
        elif kind.startswith("global_"):
            sequence = False
        elif kind not in ("embedding", "activation", "dropout"):
            notes.append(f"{layer.name} ({kind}) not counted")
    return {"per_token": per_token, "per_token_recurrent": recurrent, "per_text": per_text, "not_counted": notes}


def roofline_us(flops: dict[str, Any], tokens: int, compute: dict[str, Any]) -> float:
    """The least time one core could take for one text at batch 1: every FLOP that can be batched over the steps
    (input projections, per-token dense layers, the head) at matmul speed, the recurrent matvecs (each waits for
    the previous step) at matvec speed; rates from the bench's own numpy probes."""
    recurrent = flops.get("per_token_recurrent", 0) * tokens
    batched = flops["per_token"] * tokens - recurrent + flops["per_text"]
    return (batched / compute["matmul_gflops"] + recurrent / compute["matvec_gflops"]) / 1e3


def postprocess(raw: np.ndarray, manifest: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    probs = probabilities(raw, manifest["task"], manifest["output"]["logits"])
    return probs, predicted(probs, manifest["task"], manifest_threshold(manifest))


def derive(document: dict[str, Any], manifest: dict[str, Any], texts: BenchTexts, tokens: list[int]) -> None:
    """Ratios, accuracy, agreement and compute efficiency from the raw measurements (outputs are then dropped)."""
    gold = np.asarray(texts.labels) if texts.labels is not None and manifest["task"] != "multilabel" else None
    keras = document["keras"]
    reference_name, reference = None, None
    if keras and "error" not in keras:
        _, reference = postprocess(np.asarray(keras.pop("outputs"), dtype=np.float64), manifest)
        reference_name = "keras"
        keras["accuracy"] = accuracy(reference, gold) if gold is not None else None
    elif document["configs"]:
        first = document["configs"][0]
        reference_name = f"{first['artifact']}/{first['backend']}/{first['threads']}t"
    flops = document["flops"]
    peak = document["compute"].get("matmul_gflops")
    for row in document["configs"]:
        _, labels = postprocess(np.asarray(row.pop("outputs"), dtype=np.float64), manifest)
        if reference is None:
            reference = labels
        row["accuracy"] = accuracy(labels, gold) if gold is not None else None
        row["agreement"] = agreement(labels, reference)
        row["agreement_with"] = reference_name
        e2e, raw, tok = row["end_to_end"], row["raw_invoke"], row["tokenizer"]
        row["throughput_texts_per_s"] = row["batch"]["size"] / (row["batch"]["p50"] / 1e6)
        row["wrapper_overhead_ratio"] = e2e["p50"] / raw["p50"]
        row["tokenizer_share"] = tok["p50"] / e2e["p50"]  # medians: one descheduled call must not decide it
        row["padded_over_true_ratio"] = row["padded"]["p50"] / raw["p50"] if row["padded"] else None
        if flops:
            samples = row["samples"]
            text_flops = [flops["per_token"] * n + flops["per_text"] for n in samples["fed_length"]]
            row["flops_per_text_mean"] = float(np.mean(text_flops))
            row["gflops_raw"] = sum(text_flops) / (sum(samples["raw_invoke_us"]) * 1e3)
            row["gflops_end_to_end"] = sum(text_flops) / (sum(samples["end_to_end_us"]) * 1e3)
            row["share_of_core_matmul"] = row["gflops_raw"] / peak if peak else None
            if peak and document["compute"].get("matvec_gflops"):
                limits = [roofline_us(flops, n, document["compute"]) for n in samples["fed_length"]]
                row["roofline_p50_us"] = float(np.median(limits))
                row["raw_over_roofline"] = row["raw_invoke"]["p50"] / row["roofline_p50_us"]
    if keras and "error" not in keras:
        best = min(document["configs"], key=lambda r: r["end_to_end"]["p50"], default=None)
        if best is not None:
            keras["speedup_vs_best"] = {
                "over": f"{best['artifact']}/{best['backend']}/{best['threads']}t",
                "predict": keras["predict"]["p50"] / best["end_to_end"]["p50"],
                "function": keras["function"]["p50"] / best["end_to_end"]["p50"],
            }
            # the same texts in the same order: Keras ran only the first KERAS_MAX_RUNS of them
            n = len(keras["samples"]["tokens"])
            ours = float(np.median(best["samples"]["end_to_end_us"][:n]))
            keras["speedup_same_texts"] = {
                "predict": float(np.median(keras["samples"]["predict_us"])) / ours,
                "function": float(np.median(keras["samples"]["function_us"])) / ours,
            }

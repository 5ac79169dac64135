"""The network description: the one small, framework-free picture of a model that every artifact is lowered from.

A ``Network`` is the numeric part of a text classifier (token ids in, scores out) as an ordered list
of layers, each with a kind, a JSON-able config, its weights as numpy arrays and the names of the
layers it reads. It is written to a bundle as ``network.json`` + ``weights.npz`` (plain arrays, never
pickle), so the converter's child processes and the pure-numpy backend read the same thing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgeclf.errors import BundleError
from edgeclf.registry import Registry

NETWORK_FILE = "network.json"
WEIGHTS_FILE = "weights.npz"
INPUT = "tokens"  # the name layers use to read the graph input


@dataclass(frozen=True)
class KindFacts:
    """How a layer kind treats Keras's padding mask where one reaches it; a kind not registered passes it on."""

    recurrent: bool = False  # passes the mask on when it returns sequences, consumes it when it does not
    # honours the mask and emits none (sequences reduced to one vector)
    consumes_mask: bool = False
    # reads padded steps as data and drops the mask (Keras 3 warns), so padding changes the answer and a text must
    # be fed exactly as Keras saw it
    padding_sensitive: bool = False


LAYER_KINDS: Registry[str, KindFacts] = Registry("layer kind")
LAYER_KINDS.register("lstm", "gru", "simple_rnn", "bidirectional")(KindFacts(recurrent=True))
LAYER_KINDS.register("global_average_pooling1d")(KindFacts(consumes_mask=True))
LAYER_KINDS.register("conv1d", "max_pooling1d", "average_pooling1d", "global_max_pooling1d", "flatten")(
    KindFacts(padding_sensitive=True)
)
PADDING_SENSITIVE_KINDS = frozenset(kind for kind, facts in LAYER_KINDS.items() if facts.padding_sensitive)
MASK_CONSUMING_KINDS = frozenset(kind for kind, facts in LAYER_KINDS.items() if facts.consumes_mask)
RECURRENT_KINDS = frozenset(kind for kind, facts in LAYER_KINDS.items() if facts.recurrent)


@dataclass
class Layer:
    name: str
    kind: str  # "embedding", "lstm", "gru", "simple_rnn", "bidirectional", "dense", ...
    config: dict
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)


@dataclass
class Head:
    """What the last layer emits: its activation decides whether scores are logits or probabilities."""

    units: int
    activation: str  # "sigmoid", "softmax" or "linear" (logits)


@dataclass
class Network:
    layers: list[Layer]
    head: Head
    masked: bool  # Embedding(mask_zero=True): id 0 is padding and is skipped by the recurrent layers
    sequence_length: int | None  # fixed input length, None when the model takes any length
    vocab_size: int

    @property
    def output(self) -> str:
        return self.layers[-1].name

    @property
    def padding_is_noop(self) -> bool:
        """True when Keras's mask makes padding a no-op for the whole network: a text may then be fed at its
        true length and a padded batch gives each text its own result. False without a mask, or when the
        mask reaches a padding-sensitive layer (Conv1D, max pooling) before it is consumed."""
        carries_mask = {INPUT: False}
        for layer in self.layers:
            masked = layer.config.get("mask_zero", False) or any(carries_mask[s] for s in layer.inputs)
            if masked and layer.kind in PADDING_SENSITIVE_KINDS:
                return False
            carries_mask[layer.name] = masked and not _consumes_mask(layer)
        return self.masked

    @property
    def feeds_true_length(self) -> bool:
        """Whether each text is fed at its own token count: Keras's reference for a text is that text alone,
        padded only to the model's fixed length if it has one, so trimming is legal only where padding is a no-op."""
        return self.sequence_length is None or self.padding_is_noop

    def save(self, folder: Path) -> list[str]:
        """Write network.json + weights.npz into ``folder``; returns the file names."""
        arrays = {f"{layer.name}/{key}": value for layer in self.layers for key, value in layer.weights.items()}
        description = {
            "layers": [
                {
                    "name": layer.name,
                    "kind": layer.kind,
                    "config": layer.config,
                    "inputs": layer.inputs,
                    "weights": sorted(layer.weights),
                }
                for layer in self.layers
            ],
            "head": {"units": self.head.units, "activation": self.head.activation},
            "masked": self.masked,
            "sequence_length": self.sequence_length,
            "vocab_size": self.vocab_size,
        }
        (folder / NETWORK_FILE).write_text(json.dumps(description, indent=1) + "\n")
        np.savez(folder / WEIGHTS_FILE, **arrays)
        return [NETWORK_FILE, WEIGHTS_FILE]

    @classmethod
    def load(cls, folder: Path) -> Network:
        try:
            description = json.loads((folder / NETWORK_FILE).read_text())
            with np.load(folder / WEIGHTS_FILE, allow_pickle=False) as arrays:
                weights = {key: arrays[key] for key in arrays.files}
        except (OSError, ValueError) as e:
            raise BundleError(f"cannot read the network description in {folder}: {e}") from e
        layers = [
            Layer(
                d["name"], d["kind"], d["config"], {k: weights[f"{d['name']}/{k}"] for k in d["weights"]}, d["inputs"]
            )
            for d in description["layers"]
        ]
        return cls(
            layers=layers,
            head=Head(**description["head"]),
            masked=description["masked"],
            sequence_length=description["sequence_length"],
            vocab_size=description["vocab_size"],
        )


def _consumes_mask(layer: Layer) -> bool:
    if layer.kind in RECURRENT_KINDS:
        inner = layer.config["forward"]["config"] if layer.kind == "bidirectional" else layer.config
        return not inner["return_sequences"]
    return layer.kind in MASK_CONSUMING_KINDS

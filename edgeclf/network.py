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

NETWORK_FILE = "network.json"
WEIGHTS_FILE = "weights.npz"
INPUT = "tokens"  # the name layers use to read the graph input


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

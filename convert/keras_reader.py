"""Keras model → ``Network`` + tokenizer. One reader per Keras layer class, registered by class name."""

from __future__ import annotations

import json
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from edgeclf._quiet import native_stderr_silenced
from edgeclf.errors import EdgeclfError, UnsupportedModelError
from edgeclf.network import INPUT, Head, Layer, Network
from edgeclf.tokenizer import TextVectorizer

# Layers that are the identity at inference time.
INFERENCE_IDENTITY = {
    "Dropout",
    "SpatialDropout1D",
    "GaussianNoise",
    "GaussianDropout",
    "AlphaDropout",
    "ActivityRegularization",
    "InputLayer",
}
HEAD_ACTIVATIONS = {"sigmoid", "softmax", "linear"}

LayerReader = Callable[[Any], Layer]
_READERS: dict[str, LayerReader] = {}


def reads(*class_names: str) -> Callable[[LayerReader], LayerReader]:
    def register(fn: LayerReader) -> LayerReader:
        for name in class_names:
            _READERS[name] = fn
        return fn

    return register


def _h5_class_names(path: Path) -> set[str]:
    """Layer class names in an HDF5 model's stored config (read as JSON, nothing executed)."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            config = f.attrs.get("model_config")
    except OSError as e:
        raise UnsupportedModelError(f"{path}: not a Keras model (unreadable HDF5: {e})") from e
    if config is None:
        raise UnsupportedModelError(f"{path}: an HDF5 file without a model config (weights only?)")
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("class_name"), str):
                names.add(node["class_name"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(config.decode() if isinstance(config, bytes) else config))
    return names


def load_keras_model(path: Path, *, unsafe: bool = False) -> Any:
    """Load a ``.keras`` or ``.h5`` model with safe mode on (no Lambda bytecode, no pickles).

    Keras 3 first; a Keras-2 ``.h5`` that Keras 3 refuses ("Could not locate class 'LSTM'",
    "time_major") is loaded through tf-keras. HDF5 configs are checked for Lambda layers before
    either loads them, since HDF5 loading has no safe mode of its own.
    """
    path = Path(path)
    if not path.is_file():
        raise EdgeclfError(f"{path}: no such file")
    if path.suffix == ".keras" and not zipfile.is_zipfile(path):
        raise UnsupportedModelError(f"{path}: not a Keras model (a .keras file is a zip archive; this one is not)")
    if path.suffix not in (".keras", ".h5", ".hdf5"):
        raise UnsupportedModelError(f"{path}: not a Keras model file (expected .keras or .h5)")
    if path.suffix != ".keras" and "Lambda" in _h5_class_names(path) and not unsafe:
        raise UnsupportedModelError(
            f"{path}: has a Lambda layer, which runs code stored in the file; refused in safe mode (--unsafe to allow)"
        )
    with native_stderr_silenced():
        import keras

    try:
        with warnings.catch_warnings():  # deprecation chatter about the user's file, not actionable here
            warnings.simplefilter("ignore")
            return keras.saving.load_model(path, compile=False, safe_mode=not unsafe)
    except Exception as e:  # Keras raises ValueError, TypeError, OSError, KeyError... for bad files
        keras3_error = e
    if path.suffix != ".keras":
        try:
            with native_stderr_silenced():
                import tf_keras
        except ImportError:
            tf_keras = None
        if tf_keras is not None:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    return tf_keras.models.load_model(path, compile=False)
            except Exception:  # report Keras 3's reason below: it is the primary loader
                pass
        else:
            raise UnsupportedModelError(
                f"{path}: Keras 3 cannot load it ({_first_line(keras3_error)}); Keras-2 .h5 files need tf-keras: "
                "pip install --no-deps tf-keras==2.21.0"
            ) from keras3_error
    raise UnsupportedModelError(f"{path}: Keras cannot load this model: {_first_line(keras3_error)}") from keras3_error


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:300]


def _activation(fn: Any) -> str:
    """Activation name of a Keras 3 or tf-keras layer (both keep plain functions named after the activation)."""
    name = str(getattr(fn, "__name__", fn))
    if name == "hard_sigmoid" and getattr(fn, "__module__", "").startswith("tf_keras"):
        # Keras 2 computes clip(0.2x + 0.5), Keras 3 relu6(x + 3) / 6: the same name, different numbers
        raise UnsupportedModelError("the Keras-2 hard_sigmoid activation has no lowering yet")
    return name


def _np(variable: Any) -> np.ndarray:
    return np.asarray(variable.numpy() if hasattr(variable, "numpy") else variable, dtype=np.float32)


@reads("Embedding")
def _embedding(layer: Any) -> Layer:
    return Layer(
        layer.name,
        "embedding",
        {"input_dim": int(layer.input_dim), "output_dim": int(layer.output_dim), "mask_zero": bool(layer.mask_zero)},
        {"embeddings": _np(layer.embeddings)},
    )


def _recurrent_config(layer: Any) -> dict:
    cell = layer.cell
    config = {
        "units": int(cell.units),
        "activation": _activation(cell.activation),
        "use_bias": bool(cell.use_bias),
        "return_sequences": bool(layer.return_sequences),
        "go_backwards": bool(layer.go_backwards),
    }
    if hasattr(cell, "recurrent_activation"):
        config["recurrent_activation"] = _activation(cell.recurrent_activation)
    if hasattr(cell, "reset_after"):
        config["reset_after"] = bool(cell.reset_after)
    if getattr(layer, "return_state", False) or getattr(layer, "stateful", False):
        raise UnsupportedModelError(f"layer {layer.name!r}: return_state / stateful recurrent layers are not supported")
    return config


def _recurrent_weights(layer: Any) -> dict[str, np.ndarray]:
    cell = layer.cell
    weights = {"kernel": _np(cell.kernel), "recurrent_kernel": _np(cell.recurrent_kernel)}
    if cell.use_bias:
        weights["bias"] = _np(cell.bias)
    return weights


_RECURRENT_KINDS = {"LSTM": "lstm", "GRU": "gru", "SimpleRNN": "simple_rnn"}


@reads(*_RECURRENT_KINDS)
def _recurrent(layer: Any) -> Layer:
    return Layer(
        layer.name, _RECURRENT_KINDS[type(layer).__name__], _recurrent_config(layer), _recurrent_weights(layer)
    )


@reads("Bidirectional")
def _bidirectional(layer: Any) -> Layer:
    halves = {"forward": layer.forward_layer, "backward": layer.backward_layer}
    config: dict[str, Any] = {"merge_mode": layer.merge_mode}
    weights: dict[str, np.ndarray] = {}
    for half, inner in halves.items():
        kind = _RECURRENT_KINDS.get(type(inner).__name__)
        if kind is None:
            raise UnsupportedModelError(
                f"layer {layer.name!r}: Bidirectional over {type(inner).__name__} is not supported"
            )
        config[half] = {"kind": kind, "config": _recurrent_config(inner)}
        weights.update({f"{half}/{k}": v for k, v in _recurrent_weights(inner).items()})
    return Layer(layer.name, "bidirectional", config, weights)


@reads("Dense")
def _dense(layer: Any) -> Layer:
    weights = {"kernel": _np(layer.kernel)}
    if layer.use_bias:
        weights["bias"] = _np(layer.bias)
    return Layer(
        layer.name,
        "dense",
        {"units": int(layer.units), "activation": _activation(layer.activation), "use_bias": bool(layer.use_bias)},
        weights,
    )


@reads("Activation")
def _activation_layer(layer: Any) -> Layer:
    return Layer(layer.name, "activation", {"activation": _activation(layer.activation)})


def _text_vectorizer(layer: Any) -> TextVectorizer:
    config = layer.get_config()
    for key, allowed in (
        ("output_mode", {"int"}),
        ("standardize", {"lower_and_strip_punctuation", "lower", "strip_punctuation", None}),
        ("split", {"whitespace", "character", None}),
    ):
        if config.get(key) not in allowed:
            raise UnsupportedModelError(
                f"TextVectorization {key}={config.get(key)!r} is not supported (supported: {sorted(map(str, allowed))})"
            )
    return TextVectorizer(
        vocabulary=[str(t) for t in layer.get_vocabulary()],
        standardize=config["standardize"],
        split=config["split"],
        ngrams=config.get("ngrams"),
        output_sequence_length=config.get("output_sequence_length"),
    )


MASK_OPERATIONS = {"NotEqual"}  # Keras 3 records the Embedding's mask as a NotEqual op node


def _chain(model: Any) -> list[Any]:
    """The model's layers in order; refuses functional graphs that branch (a later issue lowers DAGs)."""
    if type(model).__name__ == "Sequential":
        return list(model.layers)  # a chain by construction (its nodes repeat per build, so don't read them)
    layers = [op for op in model.operations if type(op).__name__ not in {"InputLayer", *MASK_OPERATIONS}]
    previous = None
    for layer in layers:
        nodes = [n for i, n in enumerate(layer._inbound_nodes) if f"{layer.name}_ib-{i}" in model._nodes]
        if len(nodes) != 1:
            raise UnsupportedModelError(
                f"layer {layer.name!r} is used {len(nodes)} times (shared layers are not supported)"
            )
        parents = [t._keras_history.operation for t in nodes[0].input_tensors]
        parents = [p for p in parents if type(p).__name__ not in {"InputLayer", *MASK_OPERATIONS}]
        if parents != ([previous] if previous is not None else []):
            raise UnsupportedModelError(
                f"layer {layer.name!r} does not simply follow the layer before it: branching models are not supported"
            )
        previous = layer
    return layers


def read_network(model: Any) -> tuple[Network, TextVectorizer | None]:
    """Describe a loaded Keras model: its tokenizer (if it has a TextVectorization layer) and its numeric part."""
    keras_layers = _chain(model)
    tokenizer = None
    if keras_layers and type(keras_layers[0]).__name__ == "TextVectorization":
        tokenizer = _text_vectorizer(keras_layers[0])
        keras_layers = keras_layers[1:]
    layers: list[Layer] = []
    for keras_layer in keras_layers:
        class_name = type(keras_layer).__name__
        if class_name in INFERENCE_IDENTITY:
            continue
        reader = _READERS.get(class_name)
        if reader is None:
            raise UnsupportedModelError(f"layer {keras_layer.name!r} of type {class_name} cannot be lowered by edgeclf")
        layer = reader(keras_layer)
        layer.inputs = [layers[-1].name if layers else INPUT]
        layers.append(layer)

    if not layers or layers[0].kind != "embedding":
        raise UnsupportedModelError(
            "no recognisable text input: the model's numeric part must start with an Embedding layer"
        )
    head_layer = layers[-1]
    activation = head_layer.config.get("activation")
    if head_layer.kind not in ("dense", "activation") or activation not in HEAD_ACTIVATIONS:
        raise UnsupportedModelError(
            f"the last layer {head_layer.name!r} must be a Dense/Activation with sigmoid, softmax or no activation; "
            f"it is {head_layer.kind} with activation {activation!r}"
        )
    units = head_layer.config["units"] if head_layer.kind == "dense" else _last_dense_units(layers)
    embedding = layers[0]
    sequence_length = tokenizer.output_sequence_length if tokenizer else _static_length(model)
    network = Network(
        layers=layers,
        head=Head(units=units, activation=activation),
        masked=embedding.config["mask_zero"],
        sequence_length=sequence_length,
        vocab_size=embedding.config["input_dim"],
    )
    return network, tokenizer


def _last_dense_units(layers: list[Layer]) -> int:
    for layer in reversed(layers):
        if layer.kind == "dense":
            return layer.config["units"]
    raise UnsupportedModelError("the model has no Dense layer to classify with")


def _static_length(model: Any) -> int | None:
    shape = model.inputs[0].shape
    return int(shape[1]) if len(shape) > 1 and shape[1] is not None else None

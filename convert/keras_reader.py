"""Keras model → ``Network`` + tokenizer. One reader per Keras layer class, registered by class name."""

from __future__ import annotations

import json
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeclf._quiet import native_stderr_silenced
from edgeclf.convert.containers import (
    check_model_path,
    import_tf_keras,
    load_saved_model,
    named_for_keras,
    read_custom_objects,
    zip_keras_version,
)
from edgeclf.errors import UnsupportedModelError
from edgeclf.network import (
    INPUT,
    MASK_CONSUMING_KINDS,
    PADDING_SENSITIVE_KINDS,
    RECURRENT_KINDS,
    Head,
    Layer,
    Network,
)
from edgeclf.registry import Registry
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
# Keras class name → its reader (a user's subclass of one of these is read through ``_custom_reader``)
READERS: Registry[str, LayerReader] = Registry("Keras layer class", UnsupportedModelError)
reads = READERS.register


def _known_name(layer: Any) -> str:
    """The layer's class name, or for a user's subclass of a layer edgeclf reads, that layer's name."""
    for cls in type(layer).__mro__:
        if cls.__name__ in READERS:
            return cls.__name__
    return type(layer).__name__


def _custom_reader(layer: Any) -> LayerReader:
    """The reader for a user's custom layer: that of the built-in layer it subclasses, when it keeps that layer's
    ``call`` (only its construction differs, so the computation is the built-in one); otherwise the refusal names
    what is missing."""
    cls = type(layer)
    name = f"layer {layer.name!r} of type {cls.__name__} cannot be lowered by edgeclf"
    for base in cls.__mro__[1:]:
        if base.__name__ not in READERS or not base.__module__.startswith(("keras", "tf_keras")):
            continue
        if getattr(cls, "call", None) is getattr(base, "call", None):
            return READERS[base.__name__]
        raise UnsupportedModelError(
            f"{name}: it subclasses {base.__name__} but overrides call(), whose computation edgeclf does not know; "
            f"keep {base.__name__}.call or rebuild the layer from built-in layers"
        )
    if not cls.__module__.startswith(("keras", "tf_keras")):
        weights = ", ".join(f"{w.name}{tuple(int(d) for d in w.shape)}" for w in layer.weights) or "none"
        known = ", ".join(sorted(READERS))
        raise UnsupportedModelError(
            f"{name}: a custom layer with its own call() (weights: {weights}); edgeclf lowers a custom layer only "
            f"when it subclasses a layer it knows ({known}) without changing call(): rebuild it from those layers"
        )
    raise UnsupportedModelError(name)


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


def load_keras_model(path: Path, *, unsafe: bool = False, custom_objects: Path | None = None) -> Any:
    """Load a Keras model with safe mode on (no Lambda bytecode, no pickles), by what the path holds, not its name.

    A ``.keras`` zip, an HDF5 file (whatever it is called) or a tf.keras SavedModel folder. Keras 3 first; what
    Keras 3 refuses (Keras-2 ``.h5``: "Could not locate class 'LSTM'"; Keras 2.13–2.15 ``.keras`` zips:
    "Sequential could not be deserialized") is loaded through tf-keras. HDF5 configs are checked for Lambda
    layers before either loads them, since HDF5 loading has no safe mode of its own. ``custom_objects`` is a
    Python file defining the model's custom layers, executed only with ``unsafe``.
    """
    path = Path(path)
    kind = check_model_path(path)
    objects = read_custom_objects(custom_objects, unsafe) if custom_objects is not None else None
    if kind == "savedmodel":
        return load_saved_model(path, objects)
    if kind == "hdf5" and "Lambda" in _h5_class_names(path) and not unsafe:
        raise UnsupportedModelError(
            f"{path}: has a Lambda layer, which runs code stored in the file; refused in safe mode (--unsafe to allow)"
        )
    with native_stderr_silenced():
        import keras

    keras2_zip = kind == "zip" and str(zip_keras_version(path) or "").startswith("2.")
    with named_for_keras(path, kind) as named:  # Keras picks its reader by the file name's suffix
        keras3_error: BaseException | None = None
        if not keras2_zip:  # Keras 3 cannot deserialize a Keras-2 config; tf-keras can
            try:
                with warnings.catch_warnings():  # deprecation chatter about the user's file, not actionable here
                    warnings.simplefilter("ignore")
                    return keras.saving.load_model(named, compile=False, safe_mode=not unsafe, custom_objects=objects)
            except Exception as e:  # Keras raises ValueError, TypeError, OSError, KeyError... for bad files
                keras3_error = e
        why = f"Keras {zip_keras_version(path)} saved it"
        if keras3_error is not None:
            why = f"Keras 3 cannot load it ({_first_line(keras3_error)})"
        with native_stderr_silenced():
            tf_keras = import_tf_keras(path, why)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                kwargs = {"safe_mode": not unsafe} if kind == "zip" else {}
                return tf_keras.models.load_model(named, compile=False, custom_objects=objects, **kwargs)
        except Exception as e:  # report Keras 3's reason below, unless only tf-keras could read this file
            error = e if keras3_error is None else keras3_error
    unknown = _unknown_layer_classes(path) if kind == "zip" else []
    custom = [name for name in unknown if name.startswith(CUSTOM_TEXT_FUNCTION)]
    if custom:  # TextVectorization(standardize=my_function): the function is the custom part, not a layer
        raise UnsupportedModelError(
            f"{path}: a TextVectorization layer uses a custom {custom[0][len(CUSTOM_TEXT_FUNCTION) :]}; "
            f"edgeclf reproduces the built-in ones only: standardize={STANDARDIZE_OPTIONS}, split={SPLIT_OPTIONS}. "
            "Retrain with one of them (e.g. strip '<br />' from the texts before adapt/fit instead)"
        ) from error
    if unknown:
        raise UnsupportedModelError(
            f"{path}: Keras cannot load this model: layer class {', '.join(map(repr, unknown))} is not built into "
            "Keras (a custom layer); pass its definition with --unsafe --custom-objects FILE.py"
        ) from error
    raise UnsupportedModelError(f"{path}: Keras cannot load this model: {_first_line(error)}") from error


CUSTOM_TEXT_FUNCTION = "custom TextVectorization "  # marks, among unknown classes, a custom standardize/split
STANDARDIZE_OPTIONS = "lower_and_strip_punctuation, lower, strip_punctuation, None"
SPLIT_OPTIONS = "whitespace, character, None"


def _unknown_layer_classes(path: Path) -> list[str]:
    """Layer classes in a ``.keras`` file's config.json that Keras does not know (read as JSON, nothing executed)."""
    import keras

    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return []
    unknown: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            name, module = node.get("class_name"), node.get("module")
            built_in = not isinstance(name, str) or name.startswith("__")  # __keras_tensor__: a graph edge
            # keras or keras.*, not a look-alike such as keras_custom_layers
            built_in = built_in or hasattr(keras.layers, name) or module == "keras" or str(module).startswith("keras.")
            if name == "TextVectorization" and isinstance(node.get("config"), dict):
                for option in ("standardize", "split"):  # a function, saved as a dict naming it
                    function = node["config"].get(option)
                    if isinstance(function, dict):
                        unknown.append(f"{CUSTOM_TEXT_FUNCTION}{option} function {function.get('config')!r}")
            if not built_in and "config" in node:  # models, initializers, dtype policies... come from keras modules
                unknown.append(node.get("registered_name") or name)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(config)
    return sorted(set(unknown))


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
    return Layer(layer.name, _RECURRENT_KINDS[_known_name(layer)], _recurrent_config(layer), _recurrent_weights(layer))


@reads("Bidirectional")
def _bidirectional(layer: Any) -> Layer:
    halves = {"forward": layer.forward_layer, "backward": layer.backward_layer}
    config: dict[str, Any] = {"merge_mode": layer.merge_mode}
    weights: dict[str, np.ndarray] = {}
    for half, inner in halves.items():
        kind = _RECURRENT_KINDS.get(_known_name(inner))
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


# --- convolution and pooling (Keras 3 and tf-keras keep the same attributes) ---


def _channels_last(layer: Any) -> None:
    data_format = getattr(layer, "data_format", "channels_last")
    if data_format != "channels_last":
        raise UnsupportedModelError(
            f"layer {layer.name!r}: data_format={data_format!r} is not supported (channels_last only)"
        )


def _one(value: Any) -> int:
    """A 1-D layer's size argument, stored as an int or a 1-tuple."""
    return int(value[0] if isinstance(value, (tuple, list)) else value)


@reads("Conv1D")
def _conv1d(layer: Any) -> Layer:
    _channels_last(layer)
    if int(getattr(layer, "groups", 1)) != 1:
        raise UnsupportedModelError(f"layer {layer.name!r}: Conv1D with groups={layer.groups} is not supported")
    weights = {"kernel": _np(layer.kernel)}  # [kernel_size, input channels, filters]
    if layer.use_bias:
        weights["bias"] = _np(layer.bias)
    config = {
        "filters": int(layer.filters),
        "kernel_size": _one(layer.kernel_size),
        "strides": _one(layer.strides),
        "padding": str(layer.padding),
        "dilation_rate": _one(layer.dilation_rate),
        "activation": _activation(layer.activation),
        "use_bias": bool(layer.use_bias),
    }
    return Layer(layer.name, "conv1d", config, weights)


@reads("MaxPooling1D", "AveragePooling1D")
def _pooling1d(layer: Any) -> Layer:
    _channels_last(layer)
    kind = "max_pooling1d" if _known_name(layer) == "MaxPooling1D" else "average_pooling1d"
    config = {"pool_size": _one(layer.pool_size), "strides": _one(layer.strides), "padding": str(layer.padding)}
    return Layer(layer.name, kind, config)


@reads("GlobalMaxPooling1D", "GlobalAveragePooling1D")
def _global_pooling1d(layer: Any) -> Layer:
    _channels_last(layer)
    if getattr(layer, "keepdims", False):
        raise UnsupportedModelError(f"layer {layer.name!r}: keepdims=True is not supported")
    kind = "global_max_pooling1d" if _known_name(layer) == "GlobalMaxPooling1D" else "global_average_pooling1d"
    return Layer(layer.name, kind, {})


@reads("Flatten")
def _flatten(layer: Any) -> Layer:
    _channels_last(layer)
    return Layer(layer.name, "flatten", {})


TEXT_VECTORIZATION_H5 = (
    "Keras cannot restore a TextVectorization layer from .h5 (HDF5 does not hold its vocabulary table): save the "
    "model as .keras (model.save('model.keras')) and convert that"
)


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
    try:
        vocabulary = [str(t) for t in layer.get_vocabulary()]
    except Exception as e:  # TensorFlow's FailedPreconditionError: "Table not initialized"
        if "not initialized" not in str(e):
            raise
        raise UnsupportedModelError(TEXT_VECTORIZATION_H5) from None
    if (
        len(vocabulary) <= 2
    ):  # only '' and '[UNK]': what a .h5 gives back (the call then fails: "Table not initialized")
        raise UnsupportedModelError(f"TextVectorization {layer.name!r} has no vocabulary; {TEXT_VECTORIZATION_H5}")
    return TextVectorizer(
        vocabulary=vocabulary,
        standardize=config["standardize"],
        split=config["split"],
        ngrams=config.get("ngrams"),
        output_sequence_length=config.get("output_sequence_length"),
    )


# --- attention and merging: layers that read several tensors ---


@reads("Attention")
def _attention(layer: Any) -> Layer:
    # dropout acts only in training; use_causal_mask is a call argument, set from the call in read_network
    weights = {}
    if layer.use_scale:
        weights["scale"] = _np(layer.scale)
    if layer.score_mode == "concat":
        weights["concat_score_weight"] = _np(layer.concat_score_weight)
    config = {"use_scale": bool(layer.use_scale), "score_mode": str(layer.score_mode), "use_causal_mask": False}
    return Layer(layer.name, "attention", config, weights)


_MERGE_KINDS = {"Concatenate": "concatenate", "Add": "add", "Average": "average", "Multiply": "multiply"}


@reads(*_MERGE_KINDS)
def _merge(layer: Any) -> Layer:
    kind = _MERGE_KINDS[_known_name(layer)]
    if kind != "concatenate":
        return Layer(layer.name, kind, {})
    ranks = {len(t.shape) for t in (layer.input if isinstance(layer.input, (list, tuple)) else [layer.input])}
    axis = int(layer.axis)
    if axis != -1 and not (len(ranks) == 1 and axis == ranks.pop() - 1):
        raise UnsupportedModelError(
            f"layer {layer.name!r}: Concatenate(axis={axis}) is not supported (only the feature axis, -1)"
        )
    return Layer(layer.name, kind, {"axis": -1})


@dataclass
class _Call:
    """One use of a Keras layer: the operations whose outputs it reads (None = the model's input), in argument
    order, and its non-tensor call arguments (``use_causal_mask``, ...)."""

    layer: Any
    parents: list[Any]
    options: dict[str, Any]


def _tensors(value: Any) -> list[Any]:
    """The symbolic tensors in a call argument (a tensor, or lists/tuples/dicts of them), in order."""
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensors(v)]
    return [value] if hasattr(value, "_keras_history") else []


def _calls(model: Any) -> list[_Call]:
    """The model's layers in topological order with what each one reads (Sequential: the layer before it).

    Keras 3 also records ``keras.ops`` nodes (the Embedding's mask is a ``NotEqual`` node, passed on as the
    ``mask`` argument of the layers that take one); they are not layers and are skipped here, and a layer that
    reads one as data is refused in ``read_network``."""
    if type(model).__name__ == "Sequential":  # a chain by construction (its nodes repeat per build, so don't read them)
        layers = list(model.layers)
        return [_Call(layer, [layers[i - 1] if i else None], {}) for i, layer in enumerate(layers)]
    if not hasattr(model, "operations"):
        raise UnsupportedModelError(
            "a functional model loaded through tf-keras (Keras 2) is not supported (Keras-2 models must be "
            "Sequential); load it with Keras 3 and save it as .keras"
        )
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise UnsupportedModelError(
            f"the model has {len(model.inputs)} inputs and {len(model.outputs)} outputs; edgeclf converts models with "
            "one text (or token id) input and one output"
        )
    import keras

    calls = []
    for op in model.operations:  # topological order (Keras sorts them by depth)
        if type(op).__name__ == "InputLayer" or not isinstance(op, keras.layers.Layer):
            continue
        # the model's own uses of the layer: Keras keys them by id(layer) and node index (ops.function.make_node_key)
        nodes = [n for i, n in enumerate(op._inbound_nodes) if f"{id(op)}_ib-{i}" in model._nodes]
        if len(nodes) != 1:
            raise UnsupportedModelError(
                f"layer {op.name!r} is used {len(nodes)} times in the model: shared layers are not supported"
            )
        (node,) = nodes
        if len(node.output_tensors) != 1:
            count = len(node.output_tensors)
            raise UnsupportedModelError(f"layer {op.name!r} returns {count} tensors; one is supported")
        for key, value in node.arguments.kwargs.items():
            producers = [t._keras_history.operation for t in _tensors(value)]
            if key == "mask" and not any(isinstance(p, keras.layers.Layer) for p in producers):
                continue  # the padding mask Keras passes on by itself: the lowerings carry it their own way
            if producers:
                raise UnsupportedModelError(f"layer {op.name!r} is called with a tensor as {key}=: not supported")
        parents = [t._keras_history.operation for t in _tensors(node.arguments.args)]
        parents = [None if type(p).__name__ == "InputLayer" else p for p in parents]
        options = {k: v for k, v in node.arguments.kwargs.items() if k not in ("mask", "training")}
        calls.append(_Call(op, parents, options))
    return calls


def _apply_call_options(layer: Layer, options: dict[str, Any]) -> None:
    """Record the call arguments that change a layer's result (Keras keeps them out of the layer's config)."""
    if layer.kind == "attention":
        if options.get("return_attention_scores"):
            raise UnsupportedModelError(f"layer {layer.name!r}: return_attention_scores=True is not supported")
        layer.config["use_causal_mask"] = bool(options.get("use_causal_mask", False))


def _keeps_mask(layer: Layer, masked_input: bool) -> bool:
    """Whether Keras's padding mask is on the layer's output (the rules of ``Network.padding_is_noop``, plus the
    kinds that drop it)."""
    masked = bool(layer.config.get("mask_zero", False)) or masked_input
    if layer.kind in RECURRENT_KINDS:
        inner = layer.config["forward"]["config"] if layer.kind == "bidirectional" else layer.config
        return masked and inner["return_sequences"]
    # the padding-sensitive kinds do not support masking: Keras drops the mask there
    return masked and layer.kind not in MASK_CONSUMING_KINDS | PADDING_SENSITIVE_KINDS


def _check_masks_agree(layers: list[Layer]) -> None:
    """A layer reading a masked sequence beside an unmasked one is refused: Keras then drops the mask (Add,
    Multiply...), widens it to every step (Concatenate) or attends to padding, so padding changes the answer."""
    masked = {INPUT: False}
    for layer in layers:
        flags = [masked[source] for source in layer.inputs]
        if len(set(flags)) > 1:
            readers = ", ".join(
                f"{s!r} ({'masked' if f else 'unmasked'})" for s, f in zip(layer.inputs, flags, strict=True)
            )
            raise UnsupportedModelError(
                f"layer {layer.name!r} combines masked and unmasked inputs ({readers}): Keras then drops or widens "
                "the padding mask, which edgeclf does not lower"
            )
        masked[layer.name] = _keeps_mask(layer, any(flags))


def read_network(model: Any) -> tuple[Network, TextVectorizer | None]:
    """Describe a loaded Keras model: its tokenizer (if it has a TextVectorization layer) and its numeric part.

    Sequential and functional models alike: layers in topological order, each with the names of the layers it
    reads (``INPUT`` for the token ids). Identity layers (Dropout, ...) are skipped, their readers reading
    what they read."""
    tokenizer = None
    holder: dict[int, str] = {}  # id(Keras layer) → the name of the Layer (or INPUT) holding its output
    layers: list[Layer] = []
    for call in _calls(model):
        keras_layer = call.layer
        class_name = type(keras_layer).__name__
        inputs = [INPUT if p is None else holder.get(id(p)) for p in call.parents]
        for parent, name in zip(call.parents, inputs, strict=True):
            if name is None:
                raise UnsupportedModelError(
                    f"layer {keras_layer.name!r} reads the result of {type(parent).__name__} {parent.name!r}, "
                    "which edgeclf cannot lower"
                )
        if class_name == "TextVectorization":
            if tokenizer is not None or inputs != [INPUT]:
                raise UnsupportedModelError(
                    f"layer {keras_layer.name!r}: one TextVectorization layer reading the model's input is supported"
                )
            tokenizer = _text_vectorizer(keras_layer)
            holder[id(keras_layer)] = INPUT
            continue
        if class_name in INFERENCE_IDENTITY:
            holder[id(keras_layer)] = inputs[0]
            continue
        reader = READERS.get(class_name) or _custom_reader(keras_layer)
        layer = reader(keras_layer)
        _apply_call_options(layer, call.options)
        layer.inputs = inputs
        layers.append(layer)
        holder[id(keras_layer)] = layer.name

    embeddings = [layer for layer in layers if layer.kind == "embedding"]
    if not embeddings or any(layer.kind != "embedding" for layer in layers if INPUT in layer.inputs):
        raise UnsupportedModelError(
            "no recognisable text input: the model's numeric part must start with an Embedding layer"
        )
    if len({e.config["mask_zero"] for e in embeddings}) > 1:
        raise UnsupportedModelError("the model's Embedding layers disagree on mask_zero; they must all mask or none")
    _check_masks_agree(layers)
    if type(model).__name__ != "Sequential":  # a keras.ops node after the last layer would be silently dropped
        output = model.outputs[0]._keras_history.operation
        if holder.get(id(output)) != layers[-1].name:
            raise UnsupportedModelError(
                f"the model's output is computed by {type(output).__name__} {output.name!r}, which edgeclf cannot lower"
            )
    head_layer = layers[-1]
    activation = head_layer.config.get("activation")
    if head_layer.kind not in ("dense", "activation") or activation not in HEAD_ACTIVATIONS:
        raise UnsupportedModelError(
            f"the last layer {head_layer.name!r} must be a Dense/Activation with sigmoid, softmax or no activation; "
            f"it is {head_layer.kind} with activation {activation!r}"
        )
    units = head_layer.config["units"] if head_layer.kind == "dense" else _last_dense_units(layers)
    sequence_length = tokenizer.output_sequence_length if tokenizer else _static_length(model)
    network = Network(
        layers=layers,
        head=Head(units=units, activation=activation),
        masked=embeddings[0].config["mask_zero"],
        sequence_length=sequence_length,
        vocab_size=min(e.config["input_dim"] for e in embeddings),  # every embedding reads the same ids
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


def numeric_model(model: Any) -> Any:
    """The model without its TextVectorization layer: token ids in, the same outputs (the same layer objects)."""
    import keras

    calls = _calls(model)  # the same walk read_network does (a functional model lists its InputLayer first)
    vectorizer = calls[0].layer if calls else None
    if type(vectorizer).__name__ != "TextVectorization":
        raise UnsupportedModelError("the model has no TextVectorization layer to cut off (it already takes token ids)")
    if type(model).__name__ == "Sequential":
        return keras.Sequential([keras.Input(shape=(None,), dtype="int64"), *model.layers[1:]])
    return keras.Model(vectorizer.output, model.outputs)

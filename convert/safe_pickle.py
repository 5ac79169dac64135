"""An allow-list unpickler for the pickles people ship beside models, read only on ``--allow-pickle``.

It builds plain containers, stand-ins for a few known classes (the legacy Keras Tokenizer, scikit-learn's
LabelEncoder, joblib's array wrapper) that receive their state and have no methods a pickle could call,
and numpy arrays of text only: dtype kinds S/U from raw bytes, and object arrays whose every element is a
str or bytes (TextVectorization.get_weights() returns its vocabulary as one). Any other class, or an object
array holding anything but text, is refused by name. Neither numpy's nor scikit-learn's code is run.
"""

from __future__ import annotations

import io
import pickle
from collections import OrderedDict, defaultdict
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from edgeclf.errors import EdgeclfError

# Module paths under which the legacy Tokenizer class has been pickled over the years.
TOKENIZER_CLASSES = {
    ("keras_preprocessing.text", "Tokenizer"),
    ("keras.preprocessing.text", "Tokenizer"),
    ("keras.src.preprocessing.text", "Tokenizer"),
    ("tf_keras.src.preprocessing.text", "Tokenizer"),
    ("tensorflow.python.keras.preprocessing.text", "Tokenizer"),
    ("keras.legacy.preprocessing.text", "Tokenizer"),
    ("keras.src.legacy.preprocessing.text", "Tokenizer"),
}
LABEL_ENCODER_CLASSES = {
    ("sklearn.preprocessing._label", "LabelEncoder"),
    ("sklearn.preprocessing.label", "LabelEncoder"),
}
PLAIN = {("collections", "OrderedDict"): OrderedDict, ("collections", "defaultdict"): defaultdict,
         ("builtins", "int"): int, ("builtins", "str"): str, ("builtins", "dict"): dict,
         ("builtins", "list"): list, ("builtins", "tuple"): tuple, ("builtins", "set"): set}  # fmt: skip
_NUMPY_MODULES = ("numpy.core.multiarray", "numpy._core.multiarray")
TEXT_KINDS = ("S", "U")


class PickledObject:
    """Receives a pickled object's attributes (a Tokenizer's, a LabelEncoder's); it has no other methods."""

    kind = "object"

    def __init__(self, *args: Any) -> None:
        self.state: dict = {}

    def __setstate__(self, state: Any) -> None:
        self.state = dict(state) if isinstance(state, dict) else {"state": state}


class PickledTokenizer(PickledObject):
    kind = "Keras Tokenizer"


class PickledLabelEncoder(PickledObject):
    kind = "LabelEncoder"


class _NdarrayClass:
    """Stands for numpy.ndarray where a pickle names the class (it is only compared, never called)."""


class _Dtype:
    """numpy.dtype(spec, align, copy) as pickled: a real dtype is made only for the text kinds."""

    def __init__(self, spec: Any, align: Any = False, copy: Any = True) -> None:
        self.spec = str(spec)
        self.byteorder = "|"

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) > 1 and state[1] in ("<", ">", "|", "="):
            self.byteorder = state[1]

    def real(self, where: str) -> np.dtype:
        kind = self.spec[:1]
        if kind == "O":
            return np.dtype(object)
        if kind not in TEXT_KINDS or not self.spec[1:].isdigit():
            raise EdgeclfError(
                f"{where}: refusing a numpy array of dtype {self.spec!r}: only arrays of text (str/bytes)"
            )
        order = "" if self.byteorder in ("|", "=") else self.byteorder
        return np.dtype(f"{order}{self.spec}")


class _Array:
    """numpy's _reconstruct(ndarray, shape, b'b') + __setstate__, rebuilt as text only."""

    where = "pickle"

    def __init__(self, *args: Any) -> None:
        self.value: np.ndarray | list | None = None

    def __setstate__(self, state: Any) -> None:
        _version, shape, dtype, fortran, raw = state
        self.value = _text_array(self.where, shape, dtype, bool(fortran), raw)


def _text_array(where: str, shape: Any, dtype: Any, fortran: bool, raw: Any) -> np.ndarray:
    if not isinstance(dtype, _Dtype):
        raise EdgeclfError(f"{where}: a numpy array without a readable dtype")
    real = dtype.real(where)
    shape = tuple(int(d) for d in shape)
    if real.kind == "O":  # an object array: its elements were unpickled by this allow-list; only text is accepted
        items = list(raw)
        odd = {type(v).__name__ for v in items if not isinstance(v, (str, bytes))}
        if odd:
            raise EdgeclfError(
                f"{where}: refusing a numpy object array holding {', '.join(sorted(odd))}: only arrays of text"
            )
        return np.asarray([v.decode("utf-8") if isinstance(v, bytes) else v for v in items], dtype=str).reshape(shape)
    if not isinstance(raw, (bytes, bytearray)):
        raise EdgeclfError(f"{where}: a numpy array whose data is not raw bytes")
    return np.frombuffer(bytes(raw), dtype=real).reshape(shape, order="F" if fortran else "C").copy()


class _JoblibArray:
    """joblib.numpy_pickle.NumpyArrayWrapper: the array's bytes follow it in the file, outside the pickle stream."""

    def __init__(self, *args: Any) -> None:
        self.state: dict = {}

    def __setstate__(self, state: dict) -> None:
        self.state = dict(state)

    def read(self, file: BinaryIO, where: str) -> np.ndarray:
        dtype = self.state.get("dtype")
        if not isinstance(dtype, _Dtype):
            raise EdgeclfError(f"{where}: a joblib array without a readable dtype")
        real = dtype.real(where)
        if real.kind == "O":  # joblib pickles an object array on its own, right here in the file
            return _AllowListUnpickler(file, where).load()
        if self.state.get("numpy_array_alignment_bytes"):
            padding = file.read(1)
            file.read(int.from_bytes(padding, "little"))
        shape = tuple(int(d) for d in self.state["shape"])
        count = int(np.prod(shape)) if shape else 1
        raw = file.read(count * real.itemsize)
        if len(raw) != count * real.itemsize:
            raise EdgeclfError(f"{where}: a joblib file cut short inside an array")
        order = "F" if self.state.get("order") == "F" else "C"
        return np.frombuffer(raw, dtype=real).reshape(shape, order=order).copy()


def _reconstruct(*args: Any) -> _Array:
    return _Array()


def _scalar(dtype: Any, raw: Any = b"") -> str | bytes:
    """numpy.core.multiarray.scalar: a numpy str_/bytes_ value (np.str_ in a pickled config)."""
    if not isinstance(dtype, _Dtype):
        raise EdgeclfError("pickle: a numpy scalar without a readable dtype")
    value = np.frombuffer(bytes(raw), dtype=dtype.real("pickle"))[0]
    return str(value) if isinstance(value, np.str_) else bytes(value)


class _AllowListUnpickler(pickle._Unpickler):  # the Python implementation, so joblib's BUILD can be extended
    def __init__(self, file: BinaryIO, where: str) -> None:
        super().__init__(file)
        self.where = where
        self.file = file
        # load() reads opcodes through self.dispatch: an instance copy extends BUILD for joblib's arrays
        self.dispatch = dict(pickle._Unpickler.dispatch)
        self.dispatch[pickle.BUILD[0]] = _AllowListUnpickler._load_build

    def _load_build(self) -> None:
        pickle._Unpickler.load_build(self)
        top = self.stack[-1]
        if isinstance(top, _JoblibArray):
            self.stack[-1] = top.read(self.file, self.where)
        elif isinstance(top, _Array):
            self.stack[-1] = top.value

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in TOKENIZER_CLASSES:
            return PickledTokenizer
        if (module, name) in LABEL_ENCODER_CLASSES:
            return PickledLabelEncoder
        if (module, name) in PLAIN:
            return PLAIN[(module, name)]
        if module in _NUMPY_MODULES and name == "_reconstruct":
            return _reconstruct
        if module in _NUMPY_MODULES and name == "scalar":
            return _scalar
        if module == "numpy" and name == "ndarray":
            return _NdarrayClass
        if module == "numpy" and name == "dtype":
            return _Dtype
        if module == "joblib.numpy_pickle" and name == "NumpyArrayWrapper":
            return _JoblibArray
        raise EdgeclfError(
            f"{self.where}: refusing to unpickle {module}.{name}: only a Keras Tokenizer, a LabelEncoder, numpy arrays "
            "of text and plain containers"
        )


COMPRESSED_MAGIC = {b"\x1f\x8b": "gzip", b"\x78\x01": "zlib", b"\x78\x9c": "zlib", b"\x78\xda": "zlib",
                    b"BZ": "bz2", b"\xfd7": "xz", b"\x04\x22": "lz4"}  # fmt: skip


def load_pickle(path: Path, allow_pickle: bool, what: str) -> Any:
    """The objects in a pickle (or uncompressed joblib) file, through the allow-list; only with ``--allow-pickle``."""
    path = Path(path)
    if not allow_pickle:
        raise EdgeclfError(f"{path}: a pickled {what} is never loaded by default (pass --allow-pickle to opt in)")
    data = path.read_bytes()
    zlib_header = len(data) > 1 and data[0] == 0x78 and (data[0] * 256 + data[1]) % 31 == 0
    if data[:2] in COMPRESSED_MAGIC or zlib_header:
        raise EdgeclfError(
            f"{path}: a {COMPRESSED_MAGIC.get(data[:2], 'zlib')}-compressed pickle/joblib file; save it uncompressed "
            "(joblib.dump(obj, path) without compress=) or as JSON"
        )
    try:
        return _AllowListUnpickler(io.BytesIO(data), str(path)).load()
    except EdgeclfError as e:
        message = str(e)
        if message.startswith("pickle:"):  # raised where the path is not known
            raise EdgeclfError(f"{path}:{message[len('pickle:') :]}") from e
        raise
    except (pickle.UnpicklingError, EOFError, AttributeError, ValueError, TypeError, KeyError, IndexError) as e:
        raise EdgeclfError(f"{path}: not a readable pickled {what} ({type(e).__name__}: {e})") from e

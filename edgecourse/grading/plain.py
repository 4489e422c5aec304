"""Plain data between a student's process and the judge: strict encoding and comparison.

A probe child (which ran student code) turns what the student's functions returned into *plain*
values: None, bool, int, float, str, bytes, lists, dicts, numpy arrays and torch tensors (kept
apart by a tag), and exceptions (by class name). It writes them as JSON. The judge decodes that
JSON strictly (no pickle, no objects of the student's classes, size-capped), so nothing the student
defined can run where the verdict is computed, and an object that claims to equal anything
cannot even be written: only these types are.
"""

import base64
import json
import math
from dataclasses import dataclass

import numpy as np

MAX_BYTES = 64 * 2**20
_KINDS = {"b": "bool", "i": "int", "u": "int", "f": "float"}


class NotPlain(TypeError):
    """A value the probe cannot turn into plain data."""


def _array(value: np.ndarray, tag: str) -> dict:
    if value.dtype.kind not in _KINDS or value.dtype.hasobject:
        raise NotPlain(f"an array of dtype {value.dtype} (expected bool, int or float)")
    data = np.ascontiguousarray(value)
    return {"__array__": tag, "dtype": data.dtype.str, "shape": list(data.shape),
            "data": base64.b64encode(data.tobytes()).decode()}


def to_plain(value, depth: int = 0):
    """Return ``value`` as JSON-able plain data (called where the student's code ran)."""
    if depth > 20:
        raise NotPlain("a value nested more than 20 levels deep")
    kind = type(value)
    if value is None or kind in (bool, str):
        return value
    if kind is int:
        return value if abs(value) < 2**53 else {"__bigint__": str(value)}
    if kind is float:
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if kind is bytes:
        return {"__bytes__": base64.b64encode(value).decode()}
    if kind in (list, tuple):
        return [to_plain(v, depth + 1) for v in value]
    if kind is dict:
        return {"__dict__": [[to_plain(k, depth + 1), to_plain(v, depth + 1)]
                             for k, v in value.items()]}
    if kind is np.ndarray:
        return _array(value, "ndarray")
    if isinstance(value, np.generic) and kind.__module__ == "numpy":
        return to_plain(value.item(), depth + 1)
    if kind.__module__ == "torch" and kind.__name__ in ("Tensor", "Parameter"):
        return _array(value.detach().cpu().numpy(), "tensor")
    raise NotPlain(f"a value of type {kind.__module__}.{kind.__qualname__}")


def error(exc: BaseException) -> dict:
    """Return the plain record of an exception: its class and its base classes' names."""
    return {"__raised__": [c.__name__ for c in type(exc).__mro__]}


def dumps(value) -> str:
    """Encode plain data as JSON."""
    return json.dumps(value, allow_nan=False)


def _decode(obj):
    if "__array__" in obj:
        dtype = np.dtype(str(obj["dtype"]))
        if dtype.kind not in _KINDS or dtype.hasobject:
            raise ValueError(f"array dtype {dtype} is not allowed")
        shape = tuple(int(n) for n in obj["shape"])
        raw = base64.b64decode(obj["data"], validate=True)
        return Tensor(np.frombuffer(raw, dtype=dtype).reshape(shape)) \
            if obj["__array__"] == "tensor" else np.frombuffer(raw, dtype=dtype).reshape(shape)
    if "__bytes__" in obj:
        return base64.b64decode(obj["__bytes__"], validate=True)
    if "__bigint__" in obj:
        return int(obj["__bigint__"])
    if "__float__" in obj:
        return float(obj["__float__"])
    if "__dict__" in obj:
        return Mapping(tuple((_freeze(k), v) for k, v in obj["__dict__"]))
    if "__raised__" in obj:
        return Raised(tuple(str(n) for n in obj["__raised__"]))
    return obj  # the child's own record ({"status", "cases"}); compares equal to nothing


def loads(text: str):
    """Decode JSON written by :func:`dumps` (strict: only plain records, at most MAX_BYTES)."""
    if len(text) > MAX_BYTES:
        raise ValueError(f"result of {len(text):,} bytes is over the {MAX_BYTES:,}-byte limit")
    return json.loads(text, object_hook=_decode)


def _freeze(key):
    return tuple(_freeze(k) for k in key) if isinstance(key, list) else key


@dataclass(frozen=True)
class Tensor:
    """A torch tensor's values, kept apart from numpy arrays."""

    array: np.ndarray


@dataclass(frozen=True)
class Mapping:
    """A dict's items, in order."""

    items: tuple


@dataclass(frozen=True)
class Raised:
    """The class names (most derived first) of an exception the call raised."""

    names: tuple


def _describe(value) -> str:
    if isinstance(value, Raised):
        return f"raises {value.names[0]}"
    if isinstance(value, Tensor):
        return "a torch tensor"
    if isinstance(value, np.ndarray):
        return "a numpy array"
    if isinstance(value, Mapping):
        return "a dict"
    return {list: "a list or tuple", bool: "a bool", int: "an int", float: "a float",
            str: "a str", bytes: "bytes", type(None): "None"}.get(type(value), "a value")


def _kind(dtype: np.dtype) -> str:
    return _KINDS[dtype.kind]


def compare(got, want, rtol: float = 1e-6, atol: float = 1e-9, where: str = "") -> str | None:
    """Return why ``got`` (student) differs from ``want`` (reference), or None if it does not."""
    at = f" at {where}" if where else ""
    if isinstance(want, Raised):
        if isinstance(got, Raised) and want.names[0] in got.names:
            return None
        return f"should raise {want.names[0]}{at}, but {_describe(got)}"
    if isinstance(got, Raised):
        return f"raises {got.names[0]}{at}"
    if isinstance(want, Tensor | np.ndarray):
        if type(got) is not type(want):
            return f"returns {_describe(got)}{at} where {_describe(want)} is expected"
        a, b = (got.array, want.array) if isinstance(want, Tensor) else (got, want)
        if a.shape != b.shape:
            return f"has shape {a.shape}{at}; expected {len(b.shape)} dimensions of {b.shape}"
        if _kind(a.dtype) != _kind(b.dtype):
            return f"has dtype {a.dtype}{at}; expected {_kind(b.dtype)} values"
        if _kind(b.dtype) == "float":
            same = np.allclose(a.astype(np.float64), b.astype(np.float64), rtol=rtol, atol=atol,
                               equal_nan=True)
        else:
            same = np.array_equal(a, b)
        return None if same else f"has the wrong values{at}"
    if isinstance(want, Mapping):
        if not isinstance(got, Mapping):
            return f"returns {_describe(got)}{at} where a dict is expected"
        g, w = dict(got.items), dict(want.items)
        if set(g) != set(w):
            missing, extra = sorted(map(str, set(w) - set(g))), sorted(map(str, set(g) - set(w)))
            return (f"has the wrong keys{at}" + (f": missing {missing[:5]}" if missing else "")
                    + (f", unexpected {extra[:5]}" if extra else ""))
        for key, value in w.items():
            why = compare(g[key], value, rtol, atol, f"{where}[{key!r}]")
            if why:
                return why
        return None
    if isinstance(want, list):
        if not isinstance(got, list):
            return f"returns {_describe(got)}{at} where a list or tuple is expected"
        if len(got) != len(want):
            return f"has {len(got)} items{at}; expected {len(want)}"
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            why = compare(g, w, rtol, atol, f"{where}[{i}]")
            if why:
                return why
        return None
    if isinstance(want, bool) or isinstance(got, bool):
        return None if type(got) is type(want) and got == want else \
            f"is {_describe(got)} {got!r}{at}" if type(got) is not type(want) else \
            f"has the wrong truth value{at}"
    if type(want) is float:
        if type(got) not in (int, float):
            return f"returns {_describe(got)}{at} where a number is expected"
        return None if math.isclose(got, want, rel_tol=rtol, abs_tol=atol) or (
            math.isnan(got) and math.isnan(want)) else f"has the wrong value{at}"
    if type(want) is int:
        if type(got) is float and got.is_integer():
            got = int(got)
        if type(got) is not int:
            return f"returns {_describe(got)}{at} where an int is expected"
        return None if got == want else f"has the wrong value{at}"
    if type(got) is not type(want):
        return f"returns {_describe(got)}{at} where {_describe(want)} is expected"
    return None if got == want else f"has the wrong value{at}"

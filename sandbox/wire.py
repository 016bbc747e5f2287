"""The wire format between the grader and the sandbox: plain data only, never pickle.

A frame is a 4-byte big-endian length and that many bytes of UTF-8 JSON. Values inside a frame
are JSON, with these tagged objects:

* ``{"array": <base64 .npy>, "kind": "numpy" | "jax" | "torch" | "scalar"}``: an array, written
  by ``numpy.save`` and read by ``numpy.load(allow_pickle=False)``; "scalar" is a NumPy scalar;
* ``{"tuple": [...]}`` and ``{"list": [...]}``: sequences (the grader tells them apart);
* ``{"probe": name}``: a function of :mod:`sandbox.probes`, passed to student code by name;
* ``{"opaque": type name}``: anything else a student function returned (a dict, a generator...).

Whatever arrives is checked before use: frame size, nesting depth, array dtype. Nothing that
arrives is imported, executed or unpickled.
"""

import base64
import io
import json
import re
import struct

import numpy as np

MAX_FRAME = 256 * 2**20  # bytes; the largest honest frame (a train_nn trajectory) is well under 10 MB
MAX_DEPTH = 12
_HEADER = struct.Struct(">I")


class WireError(Exception):
    """A frame or value that does not follow this format."""


class Opaque:
    """Stands for a value that is not data (its type name is all that crossed)."""

    type_name = "object"

    def __repr__(self):
        return f"<{self.type_name}>"


class Probe:
    """A reference to a function of :mod:`sandbox.probes`, by name."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"Probe({self.name!r})"


def _opaque(type_name):
    name = re.sub(r"[^A-Za-z0-9_]", "_", str(type_name))[:40] or "object"
    return type(name, (Opaque,), {"type_name": name})()


def _array_kind(value):
    module = type(value).__module__.split(".")[0]
    return {"jax": "jax", "jaxlib": "jax", "torch": "torch"}.get(module, "numpy")


def encode(value, depth=0):
    """A JSON-able tree for ``value`` (see the module docstring)."""
    if depth > MAX_DEPTH:
        return {"opaque": "deeply_nested"}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Probe):
        return {"probe": value.name}
    if isinstance(value, tuple):
        return {"tuple": [encode(item, depth + 1) for item in value]}
    if isinstance(value, list):
        return {"list": [encode(item, depth + 1) for item in value]}
    if isinstance(value, np.generic):
        return {"array": _npy(np.asarray(value)), "kind": "scalar"}
    if isinstance(value, np.ndarray) or hasattr(value, "__array__") or hasattr(value, "detach"):
        try:
            kind = _array_kind(value)
            if hasattr(value, "detach"):
                value = value.detach().cpu().numpy()
            array = np.asarray(value)
            if array.dtype == object:
                raise TypeError("object array")
            return {"array": _npy(array), "kind": kind}
        except Exception:  # a tracer, an object array...: not data
            return {"opaque": type(value).__name__}
    return {"opaque": type(value).__name__}


def _npy(array):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def decode(tree, depth=0, probes=None, array_hook=None):
    """The value of an encoded tree.

    ``probes`` maps probe names to functions (sandbox side only); ``array_hook(array, kind)``, when
    given, turns each decoded array into what the receiver wants (e.g. a JAX array for kind "jax").
    """
    if depth > MAX_DEPTH:
        raise WireError("value nested too deeply")
    if tree is None or isinstance(tree, (bool, int, float, str)):
        return tree
    if isinstance(tree, list):  # plain JSON lists are only used inside tagged objects
        raise WireError("untagged list")
    if not isinstance(tree, dict) or len(tree) not in (1, 2):
        raise WireError(f"unexpected value of type {type(tree).__name__}")
    if "tuple" in tree:
        return tuple(decode(item, depth + 1, probes, array_hook) for item in _items(tree["tuple"]))
    if "list" in tree:
        return [decode(item, depth + 1, probes, array_hook) for item in _items(tree["list"])]
    if "array" in tree:
        array = _load_npy(tree["array"])
        if tree.get("kind") == "scalar":
            return array[()]
        return array_hook(array, tree.get("kind")) if array_hook else array
    if "probe" in tree:
        if probes is None or tree["probe"] not in probes:
            raise WireError(f"unknown probe {tree['probe']!r}")
        return probes[tree["probe"]]
    if "opaque" in tree:
        return _opaque(tree["opaque"])
    raise WireError(f"unknown tag {sorted(tree)}")


def _items(value):
    if not isinstance(value, list):
        raise WireError("sequence is not a list")
    return value


def _load_npy(text):
    if not isinstance(text, str):
        raise WireError("array payload is not text")
    try:
        array = np.load(io.BytesIO(base64.b64decode(text, validate=True)), allow_pickle=False)
    except Exception as error:
        raise WireError(f"not an .npy array: {type(error).__name__}") from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "biufc":
        raise WireError(f"array of dtype {getattr(array, 'dtype', '?')} is not numeric")
    return array


# -- frames ------------------------------------------------------------------------------------

def dumps(message):
    """The frame of a message (a dict of plain JSON)."""
    body = json.dumps(message, allow_nan=True).encode("utf-8")
    if len(body) > MAX_FRAME:
        raise WireError(f"frame of {len(body)} bytes is larger than {MAX_FRAME}")
    return _HEADER.pack(len(body)) + body


def loads(body):
    """The message in a frame's body; a WireError unless it is a JSON object."""
    try:
        message = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise WireError(f"frame is not JSON: {type(error).__name__}") from None
    if not isinstance(message, dict):
        raise WireError("frame is not a JSON object")
    return message


def send(sock, message):
    sock.sendall(dumps(message))


def receive(sock):
    """The next message from ``sock``; EOFError when the other side has closed it."""
    header = _read_exactly(sock, _HEADER.size)
    (length,) = _HEADER.unpack(header)
    if length > MAX_FRAME:
        raise WireError(f"frame of {length} bytes announced, more than {MAX_FRAME}")
    return loads(_read_exactly(sock, length))


def _read_exactly(sock, n):
    chunks, left = [], n
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the connection")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)

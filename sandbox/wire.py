"""The wire format between the grader and the sandbox: plain data only, never pickle.

A frame is a 4-byte big-endian length and that many bytes of ASCII JSON (json.dumps escapes any
other character). Values inside a frame are JSON, with these tagged objects:

* ``{"array": <base64 .npy>, "kind": "numpy" | "jax" | "torch" | "scalar"}``: an array, written
  by ``numpy.save`` and read by ``numpy.load(allow_pickle=False)``; "scalar" is a NumPy scalar;
* ``{"tuple": [...]}`` and ``{"list": [...]}``: sequences (the grader tells them apart);
* ``{"probe": name}``: a function of :mod:`sandbox.probes`, passed to student code by name;
* ``{"opaque": type name}``: anything else a student function returned (a dict, a generator...).

Whatever arrives is checked before use, and bounded *before* it is parsed: the frame's bytes, the
number of JSON values in it and how deeply they nest are counted on the raw bytes (at C speed),
so a frame cannot make the parser build more than a bounded number of objects. Then every value
is checked as it is decoded: nesting depth of tagged values, array dtype. Nothing that arrives
is imported, executed or unpickled.

Bounds (the side that receives enforces them; the grader receives the answers of a hostile sandbox):

* ``MAX_FRAME`` bytes per frame. The largest honest frames are train_nn's answers: the
  parameters of every evaluation of the probe loss, up to ``probes.MAX_EVALUATIONS`` (5000)
  records. At the exercise's width (16 hidden units, float64) that is 9.2 MiB and 135 066 items;
  32 evaluations (a correct loop) are 60 kB. MAX_FRAME is 7 times the former (a 5000-record
  answer of a network with 100 hidden units, 35 MiB, still fits). A frame with escapes (``\\n``,
  ``\\u00e9``: text in messages) may have a quarter of MAX_FRAME: one escaped character above
  U+FFFF makes Python store its whole string with 4 bytes per character.
* ``MAX_ITEMS`` JSON values and object keys per frame, 3.9 times the honest maximum above: each
  but the outermost follows a ``[`` ``{`` ``,`` or ``:`` outside the strings, and these bytes are
  counted (base64 has none of them). Brackets, separators and quotes together may be 5 *
  MAX_ITEMS, escapes MAX_ITEMS.
* ``MAX_ARRAYS`` tagged arrays per frame (counted while parsing), 3.3 times the honest maximum
  (4 per evaluation record): each takes a reading of an .npy header, ~0.1 ms.
* ``MAX_NESTING`` brackets open at once: a tagged value needs 2 per level, so the deepest value
  encode() writes (MAX_DEPTH levels, then an opaque) in a request's args needs 29; train_nn's
  answer needs 6.

Worst case for the grader, one answer through ``receive`` and ``Submission``: about 190 MiB
(tracemalloc; tests/test_wire.py asserts < 224 MiB). One array filling a frame costs 2.5 *
MAX_FRAME while it is decoded (the frame's text or its string in the parsed tree, the decoded
.npy bytes, the array); MAX_ITEMS values add up to ~50 MiB. The raw bytes are dropped before the
parse; a refused frame costs at most 2 * MAX_FRAME. Reading a 64 MiB frame takes ~0.3 s.
"""

import base64
import binascii
import io
import json
import re
import socket
import struct
import time

import numpy as np

MAX_FRAME = 64 * 2**20  # bytes (see the module docstring for the measured honest maximum)
MAX_ITEMS = 2**19  # JSON values and object keys in one frame
MAX_ARRAYS = 2**16  # tagged arrays in one frame (reading one .npy takes ~0.1 ms)
MAX_DEPTH = 12  # levels of tagged values (tuples, lists) inside a value
MAX_NESTING = 2 * MAX_DEPTH + 8  # brackets open at once in one frame's JSON
_HEADER = struct.Struct(">I")
_OPAQUE_TYPES = 256  # distinct type names kept for opaque values; later names share "object"


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


_opaque_types = {"object": Opaque}


def _opaque(type_name):
    """An Opaque of a class named ``type_name``; one class per name, and at most _OPAQUE_TYPES of them."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", type_name[:40] if isinstance(type_name, str) else "") or "object"
    if name not in _opaque_types:
        if len(_opaque_types) >= _OPAQUE_TYPES:
            name = "object"
        else:
            _opaque_types[name] = type(name, (Opaque,), {"type_name": name})
    return _opaque_types[name]()


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
        # binascii takes the ASCII text as it is (base64.b64decode would copy it to bytes first).
        array = np.load(io.BytesIO(binascii.a2b_base64(text, strict_mode=True)), allow_pickle=False)
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
    """The message in a frame's body (bytes); a WireError unless it is a JSON object within bounds."""
    return _parse(_checked_text(body))


# What a frame's structure is counted on: brackets, separators and quotes (base64 has none of them).
_NOT_STRUCTURE = bytes(sorted(set(range(256)) - set(b'[]{},:"')))
# An escape (\" \\ \n \u...): once they are gone, the quotes left delimit the strings.
_ESCAPE = re.compile(rb"\\.", re.DOTALL)


def _checked_text(body):
    """The text of a frame's body once its size, items and nesting are within bounds; else a WireError.

    Only C-speed passes over the bytes (counts, bytes.translate, a regular expression over the few
    escapes, then NumPy over the structure alone): nothing is built from them before they pass.
    The structure is read as json.loads reads it up to the first error it would raise, so what it
    builds before it gives up is bounded too.
    """
    if len(body) > MAX_FRAME:
        raise WireError(f"frame of {len(body)} bytes is larger than {MAX_FRAME}")
    if not body.isascii():  # dumps() writes ASCII only (non-ASCII characters are escaped)
        raise WireError("frame is not ASCII JSON")
    structure = body
    if b"\\" in body:
        # Escapes: a few in an honest frame's messages. One escaped character can make Python store
        # its whole string with 4 bytes per character, so such a frame may have a quarter of the bytes.
        if len(body) > MAX_FRAME // 4:
            raise WireError(f"frame of {len(body)} bytes with escapes is larger than {MAX_FRAME // 4}")
        escapes = body.count(b"\\")
        if escapes > MAX_ITEMS:
            raise WireError(f"frame of more than {MAX_ITEMS} escapes ({escapes})")
        structure = _ESCAPE.sub(b"", body)
    structure = structure.translate(None, _NOT_STRUCTURE)
    # Within MAX_ITEMS values: as many closing brackets, two quotes per string; room for some inside strings.
    if len(structure) > 5 * MAX_ITEMS:
        raise WireError(f"frame of more than {MAX_ITEMS} items ({len(structure)} brackets, separators and quotes)")
    items, nesting = _items_and_nesting(structure)
    if items > MAX_ITEMS:
        raise WireError(f"frame of more than {MAX_ITEMS} items ({items})")
    if nesting > MAX_NESTING:
        raise WireError(f"frame nested {nesting} deep, more than {MAX_NESTING}")
    return body.decode("ascii")


def _items_and_nesting(structure):
    """(values and keys, most brackets open at once) of a frame reduced to its [ ] { } , : and quotes.

    Every value but the outermost, and every key, follows a [ { , or : outside the strings.
    """
    codes = np.frombuffer(structure, np.uint8)
    outside = (np.cumsum(codes == ord('"'), dtype=np.int32) & 1) == 0  # odd: after an opening quote
    opening = outside & ((codes == ord("[")) | (codes == ord("{")))
    closing = outside & ((codes == ord("]")) | (codes == ord("}")))
    separators = outside & ((codes == ord(",")) | (codes == ord(":")))
    items = int(np.count_nonzero(opening)) + int(np.count_nonzero(separators))
    levels = np.cumsum(opening.view(np.int8) - closing.view(np.int8), dtype=np.int32)
    return items, int(levels.max(initial=0))


def _parse(text):
    arrays = 0

    def count_arrays(obj):  # called by json.loads for each object, keys unescaped
        nonlocal arrays
        if "array" in obj:
            arrays += 1
            if arrays > MAX_ARRAYS:
                raise WireError(f"frame of more than {MAX_ARRAYS} arrays")
        return obj

    try:
        message = json.loads(text, object_hook=count_arrays)
    except (ValueError, RecursionError) as error:
        raise WireError(f"frame is not JSON: {type(error).__name__}") from None
    if not isinstance(message, dict):
        raise WireError("frame is not a JSON object")
    return message


def send(sock, message, deadline=None):
    """Sends ``message``; with ``deadline`` (a time.monotonic() value), TimeoutError once it has passed."""
    frame = dumps(message)
    if deadline is not None:
        sock.settimeout(_remaining(deadline))
    sock.sendall(frame)  # the socket's time-out bounds all of sendall, not each piece


def receive(sock, deadline=None):
    """The next message from ``sock``; EOFError when the other side has closed it.

    With ``deadline`` (a time.monotonic() value), the whole frame must have arrived by then, else
    TimeoutError (``socket.timeout``), however the bytes trickle in; without one, the socket's own
    time-out applies to each wait.
    """
    header = _read_exactly(sock, _HEADER.size, deadline)
    (length,) = _HEADER.unpack(header)
    if length > MAX_FRAME:
        raise WireError(f"frame of {length} bytes announced, more than {MAX_FRAME}")
    # The raw bytes are dropped once their text exists, before the parse builds objects.
    text = _checked_text(_read_exactly(sock, length, deadline))
    return _parse(text)


def _remaining(deadline):
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise socket.timeout("timed out")  # what the socket itself says
    return remaining


def _read_exactly(sock, n, deadline=None):
    buffer = bytearray(n)  # filled in place: no second copy of a large frame
    view = memoryview(buffer)
    got = 0
    while got < n:
        if deadline is not None:
            sock.settimeout(_remaining(deadline))
        count = sock.recv_into(view[got:], min(n - got, 1 << 20))
        if not count:
            raise EOFError("the other side closed the connection")
        got += count
    view.release()
    return buffer

"""Serves the grader's requests on a student's namespace. Runs inside the sandbox.

The grader (outside) sends requests as :mod:`sandbox.wire` frames; the agent runs the student's
code and answers with plain data. Requests::

    {"op": "call", "name", "args": [...], "replace": {name: probe}, "jit": bool}
    {"op": "vjp", "name", "args": [...], "cotangent", "replace": {...}}
    {"op": "build_module", "name", "args": [...]}           -> {"ok": handle}
    {"op": "module", "handle", "method", "args": [...]}     (parameter_shapes, set_parameters,
                                                            forward, cross_entropy_gradients)
    {"op": "done"}

Answers: ``{"ok": value, "called": [...], "evaluations": [...]}`` or ``{"error": {"kind",
"message", "hint"}}``; ``called`` names the probes the call used, ``evaluations`` are the points
at which ``train_loss`` was evaluated.

Started two ways: in a notebook kernel, by ``serve(address, globals())`` after the student's cells
ran; or as a process that first loads a .py/.ipynb file: ``python -m sandbox.agent ADDRESS PATH``.
"""

import builtins
import contextlib
import dis
import io
import json
import re
import signal
import socket
import sys
import threading

import numpy as np

from sandbox import mlir_context, probes, wire
from sandbox.cell_rules import SKIP_TAG, strip_magics

CALL_TIME_LIMIT = 30.0  # s per call of submitted code; a correct submission needs well under 5
LOAD_TIME_LIMIT = 120.0  # s to run a submitted file before its names are looked up
OUTPUT_LIMIT = 10_000  # characters of the submission's own prints kept per call (then dropped)

# Every time-out message contains this; the batch grader looks for it to report a time-out.
TIMEOUT_MARK = "did not finish within"

# Functions from these packages are the grader's, not the student's work.
_NOT_OWN_CODE = ("reference", "grader_tests", "sandbox", "grading")

# The builtins as they were when the agent was imported (the kernel imports it before any student
# cell), restored while a request runs: `builtins.sum = ...` in a cell cannot break the agent.
_PRISTINE_BUILTINS = dict(vars(builtins))


class _TimeLimit(BaseException):
    """Raised inside submitted code when its time is up (BaseException: `except Exception` can't swallow it)."""


class Failure(Exception):
    """A request could not be answered with a value; ``kind`` says why."""

    def __init__(self, kind, message, hint=None):
        super().__init__(message)
        self.kind, self.hint = kind, hint


@contextlib.contextmanager
def time_limit(seconds):
    """Raises _TimeLimit in the main thread after ``seconds``; a no-op outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(signum, frame):
        raise _TimeLimit()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class _CappedText(io.StringIO):
    def write(self, text):
        room = OUTPUT_LIMIT - self.tell()
        if room > 0:
            super().write(text[:room])
        return len(text)


@contextlib.contextmanager
def _pristine_builtins():
    current = dict(vars(builtins))
    vars(builtins).update(_PRISTINE_BUILTINS)
    try:
        yield
    finally:
        vars(builtins).update(current)


@contextlib.contextmanager
def guarded(what, limit=CALL_TIME_LIMIT, owner=None):
    """Runs submitted code: output captured, time limited, exceptions turned into Failure.

    ``owner``: the name (function or class) the request runs; a NotImplementedError raised by its
    own code (the release's stub, untouched) is the Failure kind "not_implemented": not attempted.
    """
    sink = _CappedText()
    try:
        with time_limit(limit), contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            yield
    except Failure:
        raise
    except probes.ProbeError as error:
        raise Failure("probe", str(error), error.hint) from None
    except _TimeLimit as stop:
        line = _own_line(stop.__traceback__)
        where = f"\n  stopped in your code at {line}" if line else ""
        raise Failure("timeout", f"{what} {TIMEOUT_MARK} {limit:g} s (an endless loop?){where}") from None
    except KeyboardInterrupt:
        raise Failure("timeout", f"{what} {TIMEOUT_MARK} the grader's time limit (interrupted)") from None
    except SystemExit as error:
        raise Failure("raised", f"{what} called exit() ({error})") from None
    except Exception as error:
        kind = "numpy" if _is_numpy_round_trip(error) else "not_implemented" if _stub_of(owner, error) else "raised"
        message = str(error).strip().splitlines()[0] if str(error).strip() else ""
        text = f"{what} raised {type(error).__name__}: {message}"[:380]  # with the line, within the 600 the grader keeps
        line = _own_line(error.__traceback__)
        raise Failure(kind, text + (f"\n  in your code: {line}" if line else "")) from None


def _is_own_frame(frame):
    """Whether ``frame`` runs the submission's own code (a notebook cell, or a file load() exec'ed)."""
    filename = frame.f_code.co_filename
    return bool(_CELL_FILE.search(filename)) or (filename.startswith("<") and frame.f_globals.get("__name__") == "submission")


_RAISE = dis.opmap["RAISE_VARARGS"]


def _stub_of(owner, error):
    """Whether ``error`` is a NotImplementedError raised by ``owner``'s own ``raise`` statement (its stub), not by
    a library it called (Python or C) or by another part's function: the innermost frame must be the
    submission's, in ``owner``, stopped at a raise instruction."""
    if owner is None or not isinstance(error, NotImplementedError):
        return False
    traceback = error.__traceback__
    if traceback is None:
        return False
    while traceback.tb_next is not None:
        traceback = traceback.tb_next
    code = traceback.tb_frame.f_code
    at_raise = 0 <= traceback.tb_lasti < len(code.co_code) and code.co_code[traceback.tb_lasti] == _RAISE
    return at_raise and _is_own_frame(traceback.tb_frame) and getattr(code, "co_qualname", code.co_name).split(".")[0] == owner


# Notebook cells as a kernel compiles them (ipykernel's cell files) or as load() names them.
_CELL_FILE = re.compile(r"(^<cell \d+>$)|(ipykernel_\d+[/\\]\d+\.py$)")


def _own_line(traceback):
    """'line N: <source>' of the innermost frame of ``traceback`` in the submission's own code, or None.

    The submission's frames: notebook cells (``<cell N>`` of load(), ipykernel's cell files) and
    code exec'ed by load() (globals named "submission"). Never the grader's, JAX's or torch's.
    """
    found = None
    while traceback is not None:
        frame = traceback.tb_frame
        if _is_own_frame(frame):
            found = (frame.f_code.co_filename, traceback.tb_lineno)
        traceback = traceback.tb_next
    if found is None:
        return None
    filename, lineno = found
    try:
        source = _own_source_line(filename, lineno)
    except Exception:  # the line's text is a courtesy; its number is enough
        source = ""
    where = filename[1:-1] if filename.startswith("<cell ") else "line"
    where = f"{where}, line {lineno}" if where != "line" else f"line {lineno}"
    return f"{where}: {source[:160]}" if source else where


def _own_source_line(filename, lineno):
    """The text of line ``lineno`` of a submission's file or cell ('' when it cannot be found)."""
    import linecache
    import os

    text = linecache.getline(filename, lineno)
    if not text and filename.startswith("<") and filename.endswith(">"):
        name = filename[1:-1]
        # A file loaded by `python -m sandbox.agent ADDRESS PATH [LABEL]`: the label names the
        # file as the grader knows it; PATH is where it is inside the sandbox.
        paths = [arg for arg in sys.argv[1:] if arg.endswith((".py", ".ipynb")) and os.path.isfile(arg)]
        if name.startswith("cell "):
            for path in (p for p in paths if p.endswith(".ipynb")):
                chunks = dict(code_chunks(path))
                if name in chunks:
                    lines = chunks[name].splitlines()
                    text = lines[lineno - 1] if 0 < lineno <= len(lines) else ""
                    break
        else:
            for path in [name, *(p for p in paths if os.path.basename(p) == os.path.basename(name))]:
                if path.endswith(".py") and os.path.isfile(path):
                    text = linecache.getline(path, lineno)
                    if text:
                        break
    return text.strip()


def _is_numpy_round_trip(error):
    import jax

    return isinstance(error, (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError))


def _as_sent(array, kind):
    """A decoded array as the grader sent it: a JAX array when it was one, else a NumPy array."""
    if kind == "jax":
        import jax.numpy as jnp

        return jnp.asarray(array)
    return array


class Agent:
    """Answers requests on ``namespace`` (a module's or a notebook's globals)."""

    def __init__(self, namespace, load_errors=()):
        self.namespace = namespace
        self.load_errors = list(load_errors)
        self.modules = []
        self._timed_out = {}  # name -> message: a function that hung once is not waited for again

    def handle(self, request):
        """The answer to one request (a dict of plain JSON); never raises."""
        probes.CALLED.clear()
        probes.EVALUATIONS.clear()
        try:
            with _pristine_builtins():
                value = self._dispatch(request)
                answer = {"ok": wire.encode(value)}
        except Failure as failure:
            answer = {"error": {"kind": failure.kind, "message": str(failure), "hint": failure.hint}}
        except wire.WireError as error:
            answer = {"error": {"kind": "protocol", "message": str(error), "hint": None}}
        answer["called"] = sorted(probes.CALLED)
        answer["evaluations"] = [
            {"params": [wire.encode(leaf) for leaf in record["params"]], "rows": record["rows"], "value": record["value"]}
            for record in probes.EVALUATIONS
        ]
        return answer

    # -- requests ----------------------------------------------------------------------------
    def _dispatch(self, request):
        import jax

        op = request.get("op")
        # Decoded under x64, so that float64 inputs stay float64 as JAX arrays.
        with jax.enable_x64(True):
            args = [wire.decode(arg, probes=probes.PROBES, array_hook=_as_sent) for arg in request.get("args", [])]
            cotangent = wire.decode(request["cotangent"], array_hook=_as_sent) if "cotangent" in request else None
        if op == "call":
            return self._call(request["name"], args, request.get("replace") or {}, bool(request.get("jit")))
        if op == "vjp":
            return self._vjp(request["name"], args, cotangent, request.get("replace") or {})
        if op == "build_module":
            return self._build_module(request["name"], args)
        if op == "module":
            return self._module(int(request["handle"]), request["method"], args)
        raise Failure("protocol", f"unknown request {op!r}")

    def _get(self, name):
        if name in self._timed_out:
            raise Failure("timeout", self._timed_out[name] + " (earlier in this part; not run again)")
        value = self.namespace.get(name)
        if value is None:
            reason = f"{name} is not defined"
            if self.load_errors:
                reason += " (while loading the submission: " + "; ".join(self.load_errors)[:400] + ")"
            raise Failure("missing", reason)
        module = getattr(value, "__module__", None) or ""
        if module.split(".")[0] in _NOT_OWN_CODE:
            raise Failure("not_own", f"{name} is taken from the grader's own code, not written in the submission")
        return value

    @contextlib.contextmanager
    def _running(self, name, replace):
        table = {}
        for other, probe in replace.items():
            if probe not in probes.PROBES:
                raise Failure("protocol", f"unknown probe {probe!r}")
            table[other] = probes.PROBES[probe]
        missing = object()
        saved = {other: self.namespace.get(other, missing) for other in table}
        self.namespace.update(table)
        try:
            with guarded(name, owner=name):
                yield
        except Failure as failure:
            if failure.kind == "timeout":
                self._timed_out[name] = str(failure)
            raise
        finally:
            for other, value in saved.items():
                if value is missing:
                    self.namespace.pop(other, None)
                else:
                    self.namespace[other] = value

    def _call(self, name, args, replace, jit):
        import jax

        function = self._get(name)
        with jax.enable_x64(True), self._running(name, replace):
            if jit:
                function = jax.jit(function)
            result = function(*args)
            jax.effects_barrier()  # recorded evaluations of train_loss arrive before the answer
            return result

    def _vjp(self, name, args, cotangent, replace):
        import jax

        function = self._get(name)
        with jax.enable_x64(True), self._running(name, replace):
            out, pullback = jax.vjp(function, *args)
            return out, pullback(cotangent)

    def _build_module(self, name, args):
        import torch

        cls = self._get(name)
        if not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)):
            raise Failure("raised", f"{name} is not a subclass of torch.nn.Module")
        with guarded(f"{name}{tuple(args)}", owner=name):
            module = cls(*args).double()
            # Lazy layers (nn.LazyLinear) get their shapes at the first forward call: make one.
            if any(isinstance(p, torch.nn.parameter.UninitializedParameter) for p in module.parameters()) and args:
                with torch.no_grad():
                    module(torch.zeros((1, int(args[0])), dtype=torch.float64))
        self.modules.append((module, name))
        return len(self.modules) - 1

    def _module(self, handle, method, args):
        import torch

        if not 0 <= handle < len(self.modules):
            raise Failure("protocol", f"no module {handle}")
        module, label = self.modules[handle]
        if method == "parameter_shapes":
            with guarded(f"{label}.parameters()"):
                return [tuple(p.shape) for p in module.parameters()]
        if method == "set_parameters":
            with guarded(f"{label}.parameters()"), torch.no_grad():
                for param, array in zip(module.parameters(), args[0]):
                    param.copy_(torch.as_tensor(np.asarray(array), dtype=param.dtype))
            return None
        if method == "forward":
            with guarded(f"{label}.forward", owner=label), torch.no_grad():
                return module(torch.as_tensor(np.asarray(args[0]), dtype=torch.float64))
        if method == "cross_entropy_gradients":
            X, y = args
            with guarded(f"{label}.forward", owner=label):
                module.zero_grad()
                logits = module(torch.as_tensor(np.asarray(X), dtype=torch.float64))
            if not isinstance(logits, torch.Tensor):
                raise Failure("raised", f"{label}.forward returned a {type(logits).__name__}, expected a tensor")
            loss = torch.nn.functional.cross_entropy(logits, torch.as_tensor(np.asarray(y), dtype=torch.long))
            with guarded(f"backward through {label}"):
                loss.backward()
            return [None if p.grad is None else p.grad.detach().numpy().copy() for p in module.parameters()]
        raise Failure("protocol", f"unknown module method {method!r}")


# -- loading a file ------------------------------------------------------------------------------

def code_chunks(path):
    """(where, source) pairs to run: the whole .py file, or each notebook code cell to run."""
    if not path.endswith(".ipynb"):
        with open(path, encoding="utf-8") as handle:
            return [(path, handle.read())]
    with open(path, encoding="utf-8") as handle:
        notebook = json.load(handle)
    chunks = []
    for index, cell in enumerate(notebook.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        metadata = cell.get("metadata", {})
        nbgrader = metadata.get("nbgrader", {})
        if SKIP_TAG in metadata.get("tags", []) or (nbgrader.get("grade") and not nbgrader.get("solution")):
            continue  # lesson demos, plots and the test cells themselves
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        chunks.append((f"cell {index}", strip_magics(source)))
    return chunks


def load(path, label=None):
    """Runs a .py file or a notebook's code cells in a fresh namespace: (namespace, load errors)."""
    label = label or path
    namespace = {"__name__": "submission", "__builtins__": builtins}
    try:
        chunks = code_chunks(path)
    except Exception as error:
        return namespace, [f"cannot read {label}: {type(error).__name__}: {str(error).replace(path, label)}"]
    errors = []
    for where, source in chunks:
        where = where.replace(path, label)
        try:
            code = compile(source, f"<{where}>", "exec")
        except SyntaxError as error:
            errors.append(f"{where} has a syntax error (line {error.lineno}): {error.msg}")
            continue
        try:
            with guarded(f"running {where}", LOAD_TIME_LIMIT):
                exec(code, namespace)
        except Failure as failure:
            errors.append(str(failure))
    return namespace, errors


# -- serving -----------------------------------------------------------------------------------

def serve(address, namespace, load_errors=(), introduce=None):
    """Connects to the grader at the Unix socket ``address`` and answers until it says done.

    ``introduce``: more of the hello message (which file of a series this is, and its process).
    """
    agent = Agent(namespace, load_errors)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.connect(address)
        wire.send(connection, {"hello": {"load_errors": agent.load_errors, **(introduce or {})}})
        while True:
            try:
                request = wire.receive(connection)
            except EOFError:
                return
            if request.get("op") == "done":
                return
            wire.send(connection, agent.handle(request))


def serve_each(address, cache, files):
    """Loads and serves each ``(path, label)`` of ``files`` in turn, each in a process forked from this one.

    This process imports what every submission imports (NumPy, JAX, PyTorch, matplotlib) once and
    starts nothing (no JAX backend, no thread): each file then runs in a fresh child that begins with
    those imports done and is gone before the next file's child starts. JAX keeps its compilations in
    the directory ``cache``, shared by the children. The files share everything else this process can
    reach: for files of one author only (``python -m grading.check --same-author``).
    """
    import os  # noqa: PLC0415

    import jax  # noqa: PLC0415
    import matplotlib.pyplot  # noqa: F401, PLC0415
    import torch  # noqa: F401, PLC0415

    jax.config.update("jax_compilation_cache_dir", cache)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    for index, (path, label) in enumerate(files):
        child = os.fork()
        if child == 0:
            status = 1
            try:
                os.setpgid(0, 0)  # the grader ends the file's process group when it is done with it
                namespace, errors = load(path, label)
                serve(address, namespace, errors, introduce={"file": index, "pid": os.getpid()})
                status = 0
            finally:
                os._exit(status)  # never returns into this loop, nor runs the parent's exit handlers
        os.waitpid(child, 0)


def main(argv=None):
    """python -m sandbox.agent ADDRESS PATH [LABEL]: load PATH, then serve the grader at ADDRESS.

    python -m sandbox.agent --each ADDRESS CACHE PATH LABEL [PATH LABEL ...]: the same for each PATH
    in turn (see :func:`serve_each`).
    """
    import os

    argv = sys.argv[1:] if argv is None else argv
    mlir_context.install()  # before the submission (or anything) imports JAX
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    os.environ.setdefault("MPLBACKEND", "Agg")
    if argv[0] == "--each":
        address, cache, rest = argv[1], argv[2], argv[3:]
        serve_each(address, cache, list(zip(rest[0::2], rest[1::2])))
        return
    address, path = argv[0], argv[1]
    label = argv[2] if len(argv) > 2 else path
    namespace, errors = load(path, label)
    serve(address, namespace, errors)


if __name__ == "__main__":
    main()

"""The one interface through which the checks reach submitted code.

Every check goes through a :class:`Submission`: call a named function with arrays (optionally with
other parts swapped for the grader's versions), take a vector-Jacobian product through it, or
build a named nn.Module and drive it through a :class:`ModuleHandle`. Arguments and swapped-in
functions are arrays, numbers, tuples and module-level functions of the grader, so the same calls
can later cross into a sandboxed process by pickling. :class:`InProcessSubmission` runs the code
in this process, each submission in its own fresh namespace.
"""

import builtins
import contextlib
import io
import json
import signal
import threading
import types

import numpy as np

from grader_tests.compare import CheckFailure, Hint

CALL_TIME_LIMIT = 30.0  # s per call of submitted code; a correct submission needs well under 5
LOAD_TIME_LIMIT = 120.0  # s to run a submitted file before its names are looked up
OUTPUT_LIMIT = 10_000  # characters of the submission's own prints kept per call

# Every time-out message contains this; the batch grader looks for it to retry a submission alone.
TIMEOUT_MARK = "did not finish within"

# Cells a notebook submission does not need for its graded names (see the exercise notebook).
SKIP_TAG = "skip-when-grading"

NUMPY_HINT = Hint(
    "numpy",
    "the code converts JAX values to NumPy (np.* functions, np.asarray, float()); JAX cannot "
    "trace gradients or jit through NumPy, use jax.numpy (jnp) instead",
)
_NOT_OWN_CODE = ("reference", "grader_tests")


class SubmissionError(CheckFailure):
    """Submitted code raised, timed out, or a name it must define is missing."""


class SubmissionTimeout(SubmissionError):
    """Submitted code ran past its time limit."""


class _TimeLimit(BaseException):
    """Raised inside submitted code when its time is up (BaseException: a bare `except Exception` can't swallow it)."""


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
    """A text sink that keeps the first OUTPUT_LIMIT characters and drops the rest."""

    def write(self, text):
        room = OUTPUT_LIMIT - self.tell()
        if room > 0:
            super().write(text[:room])
        return len(text)


@contextlib.contextmanager
def guarded(what, limit=CALL_TIME_LIMIT):
    """Runs submitted code: output captured, time limited, its exceptions turned into SubmissionError."""
    sink = _CappedText()
    try:
        with time_limit(limit), contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            yield
    except CheckFailure:
        raise  # raised by the grader's own probes inside the call: keep its message and hint
    except _TimeLimit:
        raise SubmissionTimeout(f"{what} {TIMEOUT_MARK} {limit:g} s (an endless loop?)") from None
    except SystemExit as error:
        raise SubmissionError(f"{what} called exit() ({error})") from None
    except Exception as error:
        hint = NUMPY_HINT if _is_numpy_round_trip(error) else None
        message = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise SubmissionError(f"{what} raised {type(error).__name__}: {message}"[:600], hint) from None


def _is_numpy_round_trip(error):
    import jax

    numpy_errors = (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError)
    return isinstance(error, numpy_errors)


class ModuleHandle:
    """A built nn.Module of the submission, in float64."""

    def __init__(self, module, label):
        self._module = module
        self._label = label

    def parameter_shapes(self):
        """Shapes of module.parameters(), in registration order."""
        with guarded(f"{self._label}.parameters()"):
            return [tuple(p.shape) for p in self._module.parameters()]

    def set_parameters(self, arrays):
        """Copies ``arrays`` into module.parameters(), in registration order."""
        import torch

        with guarded(f"{self._label}.parameters()"), torch.no_grad():
            for param, array in zip(self._module.parameters(), arrays):
                param.copy_(torch.as_tensor(np.asarray(array), dtype=param.dtype))

    def forward(self, X):
        """module(X) as a float64 ndarray, without gradients."""
        import torch

        with guarded(f"{self._label}.forward"), torch.no_grad():
            out = self._module(torch.as_tensor(np.asarray(X), dtype=torch.float64))
        return out

    def cross_entropy_gradients(self, X, y):
        """Gradients of nn.CrossEntropyLoss(module(X), y) w.r.t. module.parameters(), in order."""
        import torch

        with guarded(f"{self._label}.forward"):
            self._module.zero_grad()
            logits = self._module(torch.as_tensor(np.asarray(X), dtype=torch.float64))
        if not isinstance(logits, torch.Tensor):
            raise CheckFailure(f"{self._label}.forward returned a {type(logits).__name__}, expected a tensor")
        loss = torch.nn.functional.cross_entropy(logits, torch.as_tensor(np.asarray(y), dtype=torch.long))
        with guarded(f"backward through {self._label}"):
            loss.backward()
        return [None if p.grad is None else p.grad.detach().numpy().copy() for p in self._module.parameters()]


class Submission:
    """What the checks may do with submitted code. See the module docstring."""

    label: str

    def call(self, name, *args, replace=None, jit=False):
        """name(*args); ``replace`` maps other names to grader functions for the call's duration."""
        raise NotImplementedError

    def vjp(self, name, args, cotangent, replace=None):
        """(name(*args), grads w.r.t. every arg) through jax.vjp with ``cotangent``."""
        raise NotImplementedError

    def build_module(self, name, *args):
        """A ModuleHandle of name(*args), converted to float64."""
        raise NotImplementedError


class InProcessSubmission(Submission):
    """Submitted code defined in a namespace of this process."""

    def __init__(self, namespace, label="submission", load_errors=()):
        self.namespace = namespace
        self.label = label
        self.load_errors = list(load_errors)
        self._timed_out = {}  # name -> message: a function that hung once is not waited for again

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_path(cls, path):
        """Runs a .py file or the code cells of an .ipynb notebook in a fresh namespace."""
        path = str(path)
        namespace = {"__name__": "submission", "__builtins__": builtins}
        try:
            chunks = _code_chunks(path)
        except Exception as error:
            return cls(namespace, path, [f"cannot read {path}: {type(error).__name__}: {error}"])
        errors = []
        for where, source in chunks:
            # Compiled outside guarded(): it would turn the SyntaxError into a "raised" SubmissionError.
            try:
                code = compile(source, f"<{where}>", "exec")
            except SyntaxError as error:
                errors.append(f"{where} has a syntax error (line {error.lineno}): {error.msg}")
                continue
            try:
                with guarded(f"running {where}", LOAD_TIME_LIMIT):
                    exec(code, namespace)
            except CheckFailure as error:
                errors.append(str(error))
        return cls(namespace, path, errors)

    # -- lookup ---------------------------------------------------------------------------
    def _get(self, name):
        if name in self._timed_out:
            raise SubmissionError(self._timed_out[name] + " (earlier in this part; not run again)")
        value = self.namespace.get(name)
        if value is None:
            reason = f"{name} is not defined"
            if self.load_errors:
                reason += " (while loading the submission: " + "; ".join(self.load_errors)[:400] + ")"
            raise SubmissionError(reason)
        module = getattr(value, "__module__", None) or ""
        if module.split(".")[0] in _NOT_OWN_CODE:
            raise SubmissionError(f"{name} is taken from the grader's own code, not written in the submission")
        return value

    @contextlib.contextmanager
    def _replaced(self, replace):
        replace = replace or {}
        missing = object()
        saved = {name: self.namespace.get(name, missing) for name in replace}
        self.namespace.update(replace)
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is missing:
                    self.namespace.pop(name, None)
                else:
                    self.namespace[name] = value

    # -- the interface ---------------------------------------------------------------------
    @contextlib.contextmanager
    def _running(self, name, replace=None):
        try:
            with self._replaced(replace), guarded(name):
                yield
        except SubmissionTimeout as error:
            self._timed_out[name] = str(error)
            raise

    def call(self, name, *args, replace=None, jit=False):
        import jax

        function = self._get(name)
        with self._running(name, replace):
            if jit:
                function = jax.jit(function)
            return function(*args)

    def vjp(self, name, args, cotangent, replace=None):
        import jax

        function = self._get(name)
        with self._running(name, replace):
            out, pullback = jax.vjp(function, *args)
            return out, pullback(cotangent)

    def build_module(self, name, *args):
        import torch

        cls = self._get(name)
        if not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)):
            raise SubmissionError(f"{name} is not a subclass of torch.nn.Module")
        with guarded(f"{name}{args}"):
            module = cls(*args).double()
        return ModuleHandle(module, name)


def _code_chunks(path):
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
        # IPython magics and shell escapes mean nothing to plain Python.
        lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
        chunks.append((f"cell {index}", "\n".join(lines)))
    return chunks

"""The one interface through which the checks reach submitted code.

Every check goes through a :class:`Submission`: call a named function with arrays (optionally with
other parts swapped for probes of :mod:`sandbox.probes`), take a vector-Jacobian product through
it, or build a named nn.Module and drive it through a :class:`ModuleHandle`.

The submitted code itself runs in :mod:`sandbox.agent`, reached through a *channel* that carries
plain data (:mod:`sandbox.wire`): :class:`SocketChannel` to an agent in another process (inside
the sandbox), :class:`LocalChannel` to an agent in this process (plain ``nbgrader autograde``,
where the hidden test cell runs in the student's kernel). Both encode every request and answer,
so the checks see exactly the same values either way.
"""

import socket
from dataclasses import dataclass, field

from grader_tests.compare import CheckFailure, Hint
from sandbox import wire
from sandbox.agent import CALL_TIME_LIMIT, TIMEOUT_MARK

NUMPY_HINT = Hint(
    "numpy",
    "the code converts JAX values to NumPy (np.* functions, np.asarray, float()); JAX cannot "
    "trace gradients or jit through NumPy, use jax.numpy (jnp) instead",
)
GRAD_WRT_X = Hint(
    "grad_wrt_X",
    "the gradients handed to update_params do not have the structure of params: differentiate "
    "loss_func with respect to params (its first argument, argnums=0), not X",
)
# Hints the sandbox side may name (by id) in a failed answer; any other id is ignored.
_SANDBOX_HINTS = {NUMPY_HINT.id: NUMPY_HINT, GRAD_WRT_X.id: GRAD_WRT_X}

# The grader waits this much longer than the agent's own per-call limit before it gives up on an
# answer (the agent stops a slow call itself; this catches an agent that no longer answers).
ANSWER_GRACE = 15.0

# Stream text the executor looks for to report that the sandbox stopped answering.
STOPPED_MARK = "the submission's process stopped answering"


class SubmissionError(CheckFailure):
    """Submitted code raised, timed out, or a name it must define is missing."""


class SubmissionTimeout(SubmissionError):
    """Submitted code ran past its time limit."""


class ChannelBroken(Exception):
    """The agent is gone or no longer answers."""


@dataclass
class Trace:
    """What the sandbox reports about one call besides its value."""

    called: list = field(default_factory=list)  # probes the call used
    evaluations: list = field(default_factory=list)  # [{"params": [arrays], "rows": int, "value": float}]


class LocalChannel:
    """An agent in this process, reached through the same encoding as a remote one."""

    def __init__(self, agent):
        self.agent = agent

    def request(self, message):
        answer = self.agent.handle(wire.loads(wire.dumps(message)[4:]))
        return wire.loads(wire.dumps(answer)[4:])

    def close(self):
        pass


class SocketChannel:
    """An agent in another process, connected to a Unix socket of ours."""

    def __init__(self, connection, timeout=CALL_TIME_LIMIT + ANSWER_GRACE):
        self.connection = connection
        self.timeout = timeout
        self.broken = None

    def hello(self, timeout):
        """The agent's first message, sent once it has loaded the code: {"load_errors": [...]}."""
        try:
            self.connection.settimeout(timeout)
            message = wire.receive(self.connection)
        except (socket.timeout, EOFError, OSError, wire.WireError) as error:
            self.broken = f"{STOPPED_MARK} before it was ready ({type(error).__name__}: {error})"
            raise ChannelBroken(self.broken) from None
        hello = message.get("hello")
        return hello if isinstance(hello, dict) else {}

    def request(self, message):
        if self.broken:
            raise ChannelBroken(self.broken)
        try:
            self.connection.settimeout(self.timeout)
            wire.send(self.connection, message)
            return wire.receive(self.connection)
        except socket.timeout:
            self.broken = f"{STOPPED_MARK} (no answer within {self.timeout:g} s)"
        except (EOFError, OSError):
            self.broken = f"{STOPPED_MARK} (it exited or crashed)"
        except wire.WireError as error:
            self.broken = f"{STOPPED_MARK} (it sent malformed data: {error})"
        raise ChannelBroken(self.broken)

    def close(self):
        if not self.broken:
            try:
                self.connection.settimeout(5)
                wire.send(self.connection, {"op": "done"})
            except OSError:
                pass
        self.connection.close()


class ModuleHandle:
    """A built nn.Module of the submission (float64), driven through the channel."""

    def __init__(self, submission, handle, label):
        self._submission = submission
        self._handle = handle
        self._label = label

    def _do(self, method, *args):
        return self._submission._request({"op": "module", "handle": self._handle, "method": method,
                                          "args": [wire.encode(a) for a in args]}, self._label)[0]

    def parameter_shapes(self):
        """Shapes of module.parameters(), in registration order."""
        shapes = self._do("parameter_shapes")
        return [tuple(int(n) for n in shape) for shape in shapes]

    def set_parameters(self, arrays):
        """Copies ``arrays`` into module.parameters(), in registration order."""
        self._do("set_parameters", list(arrays))

    def forward(self, X):
        """module(X) as a float64 array, without gradients."""
        return self._do("forward", X)

    def cross_entropy_gradients(self, X, y):
        """Gradients of nn.CrossEntropyLoss(module(X), y) w.r.t. module.parameters(), in order."""
        return self._do("cross_entropy_gradients", X, y)


class Submission:
    """Submitted code behind a channel; see the module docstring."""

    def __init__(self, channel, label="submission", load_errors=()):
        self.channel = channel
        self.label = label
        self.load_errors = list(load_errors)

    def _request(self, message, what):
        """(value, Trace) of one request; a SubmissionError when the code failed."""
        try:
            answer = self.channel.request(message)
        except ChannelBroken as error:
            raise SubmissionError(f"{what}: {error}") from None
        trace = Trace(called=[str(c) for c in answer.get("called", [])][:20], evaluations=_evaluations(answer))
        if "error" in answer:
            error = answer["error"] if isinstance(answer["error"], dict) else {}
            message = str(error.get("message", "failed"))[:600]
            hint = _SANDBOX_HINTS.get(error.get("hint")) or (NUMPY_HINT if error.get("kind") == "numpy" else None)
            if error.get("kind") == "timeout" and TIMEOUT_MARK in message:
                raise SubmissionTimeout(message, hint)
            raise SubmissionError(message, hint)
        try:
            return wire.decode(answer.get("ok")), trace
        except wire.WireError as error:
            raise SubmissionError(f"{what} returned data the grader cannot read ({error})") from None

    def call_traced(self, name, *args, replace=None, jit=False):
        """(name(*args), Trace); ``replace`` maps other names to probe names for the call's duration."""
        message = {"op": "call", "name": name, "args": [wire.encode(a) for a in args],
                   "replace": dict(replace or {}), "jit": bool(jit)}
        return self._request(message, name)

    def call(self, name, *args, replace=None, jit=False):
        """name(*args); see :meth:`call_traced`."""
        return self.call_traced(name, *args, replace=replace, jit=jit)[0]

    def vjp(self, name, args, cotangent, replace=None):
        """(name(*args), grads w.r.t. every arg) through jax.vjp with ``cotangent``."""
        message = {"op": "vjp", "name": name, "args": [wire.encode(a) for a in args],
                   "cotangent": wire.encode(cotangent), "replace": dict(replace or {})}
        value, _ = self._request(message, name)
        if not (isinstance(value, tuple) and len(value) == 2):
            raise SubmissionError(f"jax.vjp through {name} gave no result")
        return value

    def build_module(self, name, *args):
        """A ModuleHandle of name(*args), converted to float64."""
        handle, _ = self._request({"op": "build_module", "name": name, "args": [wire.encode(a) for a in args]}, name)
        return ModuleHandle(self, int(handle), name)

    def close(self):
        self.channel.close()


def _evaluations(answer):
    records = []
    for record in answer.get("evaluations", [])[:5000]:
        try:
            params = [wire.decode(leaf) for leaf in record["params"]]
            records.append({"params": params, "rows": int(record["rows"]), "value": float(record["value"])})
        except (KeyError, TypeError, ValueError, wire.WireError):
            continue  # a malformed record is simply not evidence
    return records


def in_process(namespace, label="notebook", load_errors=()):
    """A Submission of a namespace of this process (no sandbox)."""
    from sandbox.agent import Agent

    return Submission(LocalChannel(Agent(namespace, load_errors)), label, load_errors)

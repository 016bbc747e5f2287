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
import time
from dataclasses import dataclass, field

from grader_tests.compare import CheckFailure, Hint
from sandbox import wire
from sandbox.agent import CALL_TIME_LIMIT

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

# A time-out the agent reports counts as one only when the grader measured at least this long for
# the request: the agent's timer starts once the request has arrived, the grader's before it is
# sent, so a real one measures CALL_TIME_LIMIT or more here (the tolerance is for timer slack).
CALL_TIME_TOLERANCE = 1.0  # s

# Stream text the executor looks for to report that the sandbox stopped answering.
STOPPED_MARK = "the submission's process stopped answering"

# Why a channel stopped (SocketChannel.stop, ChannelBroken.stop, SubmissionError.stop), set by the
# grader where it happens; the sentences next to them are for people.
NO_ANSWER = "no_answer"  # a request's own time (timeout) passed before the whole answer arrived
PART_DEADLINE = "part_deadline"  # the deadline of the part's checks (the channel's deadline) passed
EXITED = "exited"  # the agent closed the connection, or the connection failed
MALFORMED = "malformed"  # the agent sent a frame the wire format refuses
NOT_STARTED = "not_started"  # there was no agent to talk to
# SubmissionError.stop only: a call of submitted code ran past CALL_TIME_LIMIT, measured here.
CALL_TIMEOUT = "call_timeout"


class SubmissionError(CheckFailure):
    """Submitted code raised, timed out, or a name it must define is missing.

    ``stop`` is None, CALL_TIMEOUT, or the code of why the channel stopped (NO_ANSWER ...);
    ``not_attempted``: the code raised NotImplementedError from its own body (the release's stub).
    """

    def __init__(self, message, hint=None, stop=None, not_attempted=False):
        super().__init__(message, hint)
        self.stop = stop
        self.not_attempted = not_attempted


class SubmissionTimeout(SubmissionError):
    """Submitted code ran past its time limit (as measured by the grader)."""


class ChannelBroken(Exception):
    """The agent is gone or no longer answers; ``stop`` says why (a code), ``str()`` in words."""

    def __init__(self, message, stop=None):
        super().__init__(message)
        self.stop = stop


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
    """An agent in another process, connected to a Unix socket of ours.

    Each request has one deadline for sending it and receiving the whole answer: ``timeout``
    seconds after it starts, or the channel's ``deadline`` (an absolute time.monotonic() value,
    e.g. the end of a part's time budget) when that comes first. Once the channel's deadline has
    passed, every request fails at once. Once the channel has stopped, ``broken`` says why in
    words and ``stop`` as a code (NO_ANSWER, PART_DEADLINE, EXITED, MALFORMED, NOT_STARTED); a
    channel whose ``broken`` was set from outside without a code reports NOT_STARTED.
    """

    def __init__(self, connection, timeout=CALL_TIME_LIMIT + ANSWER_GRACE, deadline=None):
        self.connection = connection
        self.timeout = timeout
        self.broken = None
        self.stop = None
        self.deadline = None
        if deadline is not None:
            self.set_deadline(deadline)

    def set_deadline(self, deadline):
        """Everything the channel does from now on ends by ``deadline`` (a time.monotonic() value)."""
        self.deadline = deadline
        self._budget = max(0.0, deadline - time.monotonic())

    def stopped(self, stop, reason):
        """Marks the channel as stopped: ``stop`` a code (see the class), ``reason`` in words."""
        self.stop, self.broken = stop, reason

    def hello(self, timeout):
        """The agent's first message, sent once it has loaded the code: {"load_errors": [...]}."""
        deadline, stop = self._deadline(timeout)
        try:
            message = wire.receive(self.connection, deadline)
        except (socket.timeout, EOFError, OSError, wire.WireError) as error:
            if isinstance(error, socket.timeout) and stop == PART_DEADLINE:
                self.stopped(PART_DEADLINE, self._out_of_time())
            else:
                stop = NO_ANSWER if isinstance(error, socket.timeout) else MALFORMED if isinstance(error, wire.WireError) else EXITED
                self.stopped(stop, f"{STOPPED_MARK} before it was ready ({type(error).__name__}: {error})")
            raise ChannelBroken(self.broken, self.stop) from None
        hello = message.get("hello")
        return hello if isinstance(hello, dict) else {}

    def request(self, message):
        if self.broken:
            raise ChannelBroken(self.broken, self.stop or NOT_STARTED)
        deadline, stop = self._deadline(self.timeout)
        try:
            wire.send(self.connection, message, deadline)
            return wire.receive(self.connection, deadline)
        except socket.timeout:
            self.stopped(stop, self._out_of_time() if stop == PART_DEADLINE
                         else f"{STOPPED_MARK} (no answer within {self.timeout:g} s)")
        except (EOFError, OSError):
            self.stopped(EXITED, f"{STOPPED_MARK} (it exited or crashed)")
        except wire.WireError as error:
            self.stopped(MALFORMED, f"{STOPPED_MARK} (it sent malformed data: {error})")
        raise ChannelBroken(self.broken, self.stop)

    def _deadline(self, timeout):
        """(deadline, stop code if it passes) of something that may take ``timeout`` seconds from now."""
        deadline = time.monotonic() + timeout
        if self.deadline is not None and self.deadline <= deadline:
            return self.deadline, PART_DEADLINE
        return deadline, NO_ANSWER

    def _out_of_time(self):
        return f"the part's checks ran out of time ({round(self._budget, 1):g} s)"

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
        if not isinstance(shapes, (list, tuple)) or not all(isinstance(shape, (list, tuple)) for shape in shapes):
            raise SubmissionError(f"{self._label}.parameters() gave shapes the grader cannot read")
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
        self._timed_out = set()  # what the grader saw run past CALL_TIME_LIMIT (the agent then refuses it at once)

    def _request(self, message, what):
        """(value, Trace) of one request; a SubmissionError when the code failed."""
        started = time.monotonic()
        try:
            answer = self.channel.request(message)
        except ChannelBroken as error:
            raise SubmissionError(f"{what}: {error}", stop=error.stop) from None
        elapsed = time.monotonic() - started
        called = answer.get("called")
        trace = Trace(called=[str(c)[:100] for c in called[:20]] if isinstance(called, list) else [],
                      evaluations=_evaluations(answer))
        if "error" in answer:
            error = answer["error"] if isinstance(answer["error"], dict) else {}
            message = str(error.get("message", "failed"))[:600]
            hint = error.get("hint")
            hint = (_SANDBOX_HINTS.get(hint) if isinstance(hint, str) else None) or (NUMPY_HINT if error.get("kind") == "numpy" else None)
            # The sandbox's word that it timed out is believed only when the time was measured here.
            if error.get("kind") == "timeout" and (elapsed >= CALL_TIME_LIMIT - CALL_TIME_TOLERANCE or what in self._timed_out):
                self._timed_out.add(what)
                raise SubmissionTimeout(message, hint, stop=CALL_TIMEOUT)
            # The agent's word (kind "not_implemented"): the function's own code raised NotImplementedError, the stub.
            raise SubmissionError(message, hint, not_attempted=error.get("kind") == "not_implemented")
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
    evaluations = answer.get("evaluations")
    for record in evaluations[:5000] if isinstance(evaluations, list) else []:
        try:
            if not isinstance(record["params"], list):  # a long string would become a list of characters
                continue
            params = [wire.decode(leaf) for leaf in record["params"]]
            records.append({"params": params, "rows": int(record["rows"]), "value": float(record["value"])})
        except (KeyError, TypeError, ValueError, wire.WireError):
            continue  # a malformed record is simply not evidence
    return records


def in_process(namespace, label="notebook", load_errors=()):
    """A Submission of a namespace of this process (no sandbox)."""
    from sandbox.agent import Agent

    return Submission(LocalChannel(Agent(namespace, load_errors)), label, load_errors)

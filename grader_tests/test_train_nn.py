"""train_nn(X, Y_true, n_iter, lr, loss_func): full-batch gradient descent on the loss_func it is given.

train_nn runs once on the exercise data (shared by the checks below) with ``sandbox.probes.train_loss``
as its loss_func (a quadratic plus 10, not a cross-entropy) and ``sandbox.probes.train_update`` in
place of the submission's update_params (a step of lr * tanh(grads)). The probe loss records every
point it is evaluated at, also under jit, so the checks judge what the loop did, step by step:

* every step goes from an iterate to ``iterate - lr * grad`` of the given loss on the full batch
  (through update_params, or written out in the loop: both are right);
* ``loss_history[i]`` is the given loss at the i-th iterate, before or after that step;
* the params returned are the last iterate.

Nothing depends on the initialisation or the width the student chose, or on how fast the loss falls.
"""

import numbers
from dataclasses import dataclass

import numpy as np
import pytest

from grader_tests import inputs, tolerances
from grader_tests.compare import CheckFailure, Hint
from grader_tests.submission import Trace
from sandbox import probes
from sandbox.wire import Probe

N_ITER = 30
# Not the notebook's lr (0.5), not 1: a loop that uses a global lr, or no lr, shows.
LR = 0.37

WRONG_ORDER = Hint("wrong_order", "the return values are swapped: return params, loss_history (in that order)")
SPARSE_HISTORY = Hint("sparse_history", "record the loss at every iteration (one entry per step), not every k steps")
IGNORES_LOSS_FUNC = Hint("ignores_loss_func", "the loss minimised is not the loss_func argument: compute and differentiate loss_func(params, X, Y_true), not a global loss")
IGNORES_LR = Hint("ignores_lr", "the lr argument is not used as the step size: each step must be params - lr * grads with the lr passed in; pass lr to update_params")
NEVER_UPDATES = Hint("never_updates", "the parameters never change: assign the result of update_params back to params inside the loop")
UPHILL = Hint("uphill", "the steps go uphill: gradient descent subtracts the gradient, params - lr * grads")
MINI_BATCH = Hint("mini_batch", "the steps use part of the data; train_nn is full-batch gradient descent: evaluate loss_func on all of X and Y_true at every step")
HISTORY_NOT_LOSS = Hint("history_not_loss", "loss_history holds other numbers than the loss: append loss_func(params, X, Y_true) (e.g. float(loss)) once per iteration, nothing else")
RETURNS_INITIAL = Hint("returns_initial", "the params returned are not the trained ones: return the params after the last update")

FULL_ROWS = 300


@dataclass
class Outcome:
    result: object = None
    trace: Trace = None
    error: CheckFailure = None

    def get(self):
        if self.error is not None:
            raise self.error
        return self.result


@pytest.fixture(scope="module")
def trained(submission):
    """One run of the submission's train_nn, shared by the checks of this file."""
    X, Y, _ = inputs.rings()
    try:
        result, trace = submission.call_traced(
            "train_nn", X, Y, N_ITER, LR, Probe("train_loss"), replace={"update_params": "train_update"},
        )
        return Outcome(result=result, trace=trace)
    except CheckFailure as error:
        return Outcome(error=error)


def _looks_like_history(value):
    return isinstance(value, (list, tuple, np.ndarray)) and len(value) > 0 and all(np.ndim(v) == 0 for v in list(value)[:3])


def _unpack(outcome):
    result = outcome.get()
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise CheckFailure(f"train_nn returned a {type(result).__name__}; expected the pair (params, loss_history)")
    params, history = result
    if _looks_like_history(params) and not _looks_like_history(history):
        raise CheckFailure("train_nn returned (loss_history, params)", WRONG_ORDER)
    return params, history


def _leaves(params):
    """The four parameter arrays as float arrays, or a CheckFailure."""
    if not isinstance(params, (tuple, list)) or len(params) != 4:
        raise CheckFailure(f"the params returned by train_nn are a {type(params).__name__}; expected (W_1, b_1, W_2, b_2)")
    leaves = []
    for name, leaf in zip(inputs.PARAM_NAMES, params):
        array = np.asarray(leaf) if isinstance(leaf, (np.ndarray, numbers.Number)) else None
        if array is None or array.dtype.kind not in "fc":
            raise CheckFailure(f"{name} returned by train_nn is a {type(leaf).__name__}; expected a float array")
        leaves.append(array)
    return leaves


def _losses(history):
    if not isinstance(history, (list, tuple, np.ndarray)):
        raise CheckFailure(f"loss_history is a {type(history).__name__}; expected a list of losses")
    values = []
    for i, value in enumerate(list(history)):
        if not (isinstance(value, numbers.Real) or (isinstance(value, np.ndarray) and value.ndim == 0)):
            raise CheckFailure(f"loss_history[{i}] is a {type(value).__name__} of shape {np.shape(value)}; expected a number (float(loss))")
        values.append(float(value))
    return np.array(values)


def _tolerance(leaves):
    dtype = np.result_type(*leaves) if leaves else np.float64
    return tolerances.lookup(tolerances.GRADIENT, dtype)


def _close(a, b, tol):
    return len(a) == len(b) and all(
        np.shape(x) == np.shape(y) and np.allclose(x, y, rtol=tol.rtol, atol=tol.atol) for x, y in zip(a, b)
    )


def _data():
    X, Y, _ = inputs.rings()
    return X, Y


def _steps(leaves):
    """The iterates a correct step can reach from ``leaves``: written out, or through the probe update_params."""
    X, Y = _data()
    grads = probes.train_loss_gradient([np.asarray(leaf, dtype=np.float64) for leaf in leaves], X, Y)
    return [[leaf - LR * g for leaf, g in zip(leaves, grads)],
            [probes.tanh_step(leaf, g, LR) for leaf, g in zip(leaves, grads)]]


def _iterates(trace):
    """The distinct points (in order) at which the loop evaluated the given loss on the full batch."""
    chain = []
    for record in trace.evaluations:
        if record["rows"] != FULL_ROWS:
            continue
        leaves = [np.asarray(leaf) for leaf in record["params"]]
        if not chain or not _close(chain[-1], leaves, tolerances.Tolerance(0.0, 0.0)):
            chain.append(leaves)
    return chain


@dataclass
class Path:
    """The loop's trajectory: iterates theta_0..theta_N (the last one being the params returned)."""

    iterates: list
    steps: int  # how many of the transitions are correct steps


def _trajectory(trained):
    """Checks every transition between evaluated iterates and the returned params; the Path, or a CheckFailure."""
    params, _ = _unpack(trained)
    returned = _leaves(params)
    chain = _iterates(trained.trace)
    if not chain:
        if trained.trace.evaluations:
            rows = sorted({record["rows"] for record in trained.trace.evaluations})
            raise CheckFailure(f"loss_func was only evaluated on {rows} rows of the {FULL_ROWS}", MINI_BATCH)
        raise CheckFailure("train_nn never called the loss_func it was given", IGNORES_LOSS_FUNC)
    tol = _tolerance(returned)
    for k in range(len(chain) - 1):
        if not any(_close(chain[k + 1], option, tol) for option in _steps(chain[k])):
            raise CheckFailure(_bad_step_message(k, chain[k], chain[k + 1]), _bad_step_hint(chain[k], chain[k + 1], trained.trace))
    if [np.shape(leaf) for leaf in returned] != [np.shape(leaf) for leaf in chain[-1]]:
        raise CheckFailure("the params returned have other shapes than the params the loop trained")
    if _close(returned, chain[-1], tol):
        return Path(chain, len(chain) - 1)
    if any(_close(returned, option, tol) for option in _steps(chain[-1])):
        return Path(chain + [returned], len(chain))
    if len(chain) > 1 and _close(returned, chain[0], tol):
        raise CheckFailure("the params returned are the initial ones, not the trained ones", RETURNS_INITIAL)
    raise CheckFailure("the params returned are not the last iterate of the loop (nor one step after it)", RETURNS_INITIAL)


def _bad_step_message(k, before, after):
    X, Y = _data()
    grads = probes.train_loss_gradient([np.asarray(leaf, dtype=np.float64) for leaf in before], X, Y)
    return (f"step {k + 1} is not a gradient-descent step of size lr={LR} on loss_func: the parameters moved by "
            f"{_effective_rate(before, after, grads):.4g} times the gradient instead of -{LR}")


def _effective_rate(before, after, grads):
    """c in after = before + c * grad (least squares)."""
    delta = np.concatenate([np.ravel(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)) for a, b in zip(after, before)])
    g = np.concatenate([np.ravel(gr) for gr in grads])
    return float(delta @ g / max(g @ g, 1e-300))


def _bad_step_hint(before, after, trace):
    if any(record["rows"] != FULL_ROWS for record in trace.evaluations):
        return MINI_BATCH
    X, Y = _data()
    rate = _effective_rate(before, after, probes.train_loss_gradient([np.asarray(leaf, dtype=np.float64) for leaf in before], X, Y))
    if rate > 0:
        return UPHILL
    if abs(rate + LR) > 0.05 * LR:
        return IGNORES_LR
    return None


def test_train_nn_returns_params_and_history(trained):
    """Returns (params, loss_history): four parameter arrays of the right shapes and a sequence of losses."""
    params, history = _unpack(trained)
    W_1, b_1, W_2, b_2 = _leaves(params)
    hidden = W_1.shape[1] if W_1.ndim == 2 else None
    shapes_ok = (W_1.shape[:1] == (2,) and hidden and b_1.size == hidden and W_2.shape == (hidden, 3) and b_2.size == 3)
    if not shapes_ok:
        raise CheckFailure(f"the params have shapes {[W_1.shape, b_1.shape, W_2.shape, b_2.shape]}; expected (2, H), (H,), (H, 3), (3,)")
    _losses(history)


def test_train_nn_one_loss_per_iteration(trained):
    """loss_history has exactly n_iter numbers (Python floats or 0-d arrays)."""
    _, history = _unpack(trained)
    losses = _losses(history)
    if len(losses) != N_ITER:
        hint = SPARSE_HISTORY if 0 < len(losses) < N_ITER else None
        raise CheckFailure(f"loss_history has {len(losses)} entries for n_iter={N_ITER}; expected one per iteration", hint)


def test_train_nn_uses_given_loss_func(trained):
    """train_nn evaluates and differentiates the loss_func passed in, on all the data."""
    _unpack(trained)
    evaluations = trained.trace.evaluations
    if not evaluations:
        raise CheckFailure("train_nn never called the loss_func it was given", IGNORES_LOSS_FUNC)
    if not any(record["rows"] == FULL_ROWS for record in evaluations):
        rows = sorted({record["rows"] for record in evaluations})
        raise CheckFailure(f"loss_func was only evaluated on {rows} rows of the {FULL_ROWS}", MINI_BATCH)


def test_train_nn_takes_gradient_steps(trained):
    """n_iter steps, each params - lr * grad of loss_func on the full batch (the parameters do change)."""
    path = _trajectory(trained)
    if path.steps == 0:
        raise CheckFailure("the parameters never changed during training", NEVER_UPDATES)
    if path.steps != N_ITER:
        # Every step taken from the same point: the loop never assigned the update back to params.
        hint = NEVER_UPDATES if len(path.iterates) == 2 and path.steps == 1 else None
        raise CheckFailure(f"the loop took {path.steps} gradient steps for n_iter={N_ITER}; expected one per iteration", hint)


def test_train_nn_history_is_the_loss(trained):
    """loss_history[i] is loss_func at the i-th iterate (before or after the i-th step)."""
    _, history = _unpack(trained)
    losses = _losses(history)
    path = _trajectory(trained)
    if len(losses) != N_ITER or path.steps != N_ITER:
        raise CheckFailure(f"loss_history cannot be matched to the {path.steps} steps taken: it has {len(losses)} entries for n_iter={N_ITER}")
    X, Y = _data()
    values = np.array([float(probes.train_loss_value([np.asarray(l, dtype=np.float64) for l in theta], X, Y)) for theta in path.iterates])
    tol = tolerances.lookup(tolerances.VALUE, np.result_type(*path.iterates[0]))
    before = np.isclose(losses, values[:-1], rtol=tol.rtol, atol=tol.atol)
    after = np.isclose(losses, values[1:], rtol=tol.rtol, atol=tol.atol)
    wrong = np.flatnonzero(~(before | after))
    if wrong.size:
        i = int(wrong[0])
        hint = IGNORES_LOSS_FUNC if np.all(losses < probes.TRAIN_LOSS_OFFSET) else HISTORY_NOT_LOSS
        raise CheckFailure(
            f"{wrong.size} of {N_ITER} entries of loss_history are not the value of loss_func at that iteration; "
            f"loss_history[{i}] = {losses[i]:.6g}, loss_func gives {values[i]:.6g} before and {values[i + 1]:.6g} after step {i + 1}",
            hint,
        )


def test_train_nn_returns_trained_params(trained):
    """The params returned are those after the last step."""
    _trajectory(trained)

"""train_nn(X, Y_true, n_iter, lr, loss_func): full-batch gradient descent on the loss_func it is given.

train_nn runs once (shared by the checks below), on rings like the exercise's but wider (not the
notebook's data: a loop that reads the notebook's globals shows), with ``sandbox.probes.train_loss``
as its loss_func (not a cross-entropy) and ``sandbox.probes.train_update`` in place of the
submission's update_params (a step of lr * tanh(grads)). The probe loss records every point it is
evaluated at, also under jit, so the checks judge what the loop did, step by step. Its values are
the kind a loop may react to, whatever the initialisation: they fall below 0.1, 1e-3, 1e-6 (to
~2e-14), stay exactly flat for ~10 steps and rise now and then (see sandbox/probes.py):

* every step goes from an iterate to ``iterate - lr * grad`` of the given loss on the full batch
  (through update_params, or written out in the loop: both are right);
* ``loss_history[i]`` is the given loss at the i-th iterate, before or after that step;
* the params returned are the last iterate;
* the initialisation breaks the symmetry of the hidden units (no two start identical: all-zero
  weights never learn distinct units, whatever the loss);
* evidence of a mistake, not the mere shape of the loss curve, picks the hint: the data loss_func
  was evaluated on (rows, and which data the value belongs to), the direction and size of each step;
* exactly n_iter steps with the lr given, whatever the loss does: when the run fails a check,
  train_nn runs a second time with ``sandbox.probes.train_loss_calm``, the same gradient with
  steadily falling values. A loop that passes every check with those values, from the same
  starting point, failed because of the values it saw (it stopped when the loss was small or flat,
  changed its learning rate when the loss rose, returned the params of the lowest loss...): its
  failed checks get the hint ``reacts_to_loss``. Correct submissions run train_nn once.

Nothing else depends on the initialisation or the width the student chose, or on how fast the loss falls.
"""

import itertools
import numbers
from dataclasses import dataclass

import numpy as np
import pytest

from grader_tests import inputs, tolerances
from grader_tests.compare import CheckFailure, Hint, explain_shapes
from grader_tests.submission import Trace
from reference import make_rings, one_hot
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
HISTORY_LENGTH = Hint(
    "history_length",
    "loss_history has one entry too many: record exactly one loss per iteration (n_iter entries), "
    "not, for example, the starting loss in addition to the loss after every step",
)
TRAIN_READS_GLOBAL = Hint(
    "train_reads_global",
    "train_nn trains on the notebook's data instead of its X and Y_true arguments; use the arguments (the grader passes other data)",
)
NOT_PLAIN_GD = Hint(
    "not_plain_gd",
    "the steps go downhill but not along the gradient: train_nn is plain gradient descent, params - lr * grads "
    "at every step (no momentum, Adam or other optimiser)",
)
SYMMETRIC_INIT = Hint(
    "symmetric_init",
    "the weights start equal (e.g. all zero), so every hidden unit computes the same thing and gets the same gradient "
    "forever: draw W_1 and W_2 at random with a PRNG key (jax.random, Xavier scale); the biases may start at zero",
)
REACTS_TO_LOSS = Hint(
    "reacts_to_loss",
    "the loop reacts to the values of the loss: train_nn runs exactly n_iter steps of params - lr * grads with the "
    "lr it is given, whatever loss_func returns (no early stop when the loss is small or stops changing, no change of "
    "the learning rate when it rises), and returns the params of the last step",
)
PARAM_ORDER = Hint(
    "param_order",
    "the params are in another order: train_nn returns them as the tuple (W_1, b_1, W_2, b_2), the order forward_pass unpacks",
)

FULL_ROWS = 300


# The value of each probe loss_func at given parameters and data (sandbox/probes.py).
VALUES = {"train_loss": probes.train_loss_value, "train_loss_calm": probes.calm_loss_value}
_UNKNOWN = object()


@dataclass
class Outcome:
    result: object = None
    trace: Trace = None
    error: CheckFailure = None
    probe: str = "train_loss"  # the loss_func train_nn was given
    reaction: object = _UNKNOWN  # see _reaction

    def get(self):
        if self.error is not None:
            raise self.error
        return self.result

    def value(self, leaves, X, Y):
        """The value of this run's loss_func at ``leaves`` on X, Y."""
        return float(VALUES[self.probe]([np.asarray(leaf, dtype=np.float64) for leaf in leaves], X, Y))


def _train(submission, probe):
    """One run of the submission's train_nn with the probe loss_func ``probe``."""
    X, Y = _data()
    try:
        result, trace = submission.call_traced(
            "train_nn", X, Y, N_ITER, LR, Probe(probe), replace={"update_params": "train_update"},
        )
        return Outcome(result=result, trace=trace, probe=probe)
    except CheckFailure as error:
        return Outcome(error=error.explained(note=explain_shapes(error.message, {
            X.shape: "X (n_samples, n_input)", Y.shape: "Y_true (n_samples, n_classes)",
            (X.shape[0],): "one value per sample",
        })), probe=probe)


class _Later:
    """A run made the first time it is needed (at most once)."""

    def __init__(self, run):
        self._run = run
        self._outcome = None

    def get(self):
        if self._outcome is None:
            self._outcome = self._run()
        return self._outcome


@pytest.fixture(scope="module")
def trained(submission):
    """One run of the submission's train_nn, shared by the checks of this file."""
    return _train(submission, "train_loss")


@pytest.fixture(scope="module")
def calm(submission):
    """A second run with steadily falling loss values, made only when a check fails (see _reaction)."""
    return _Later(lambda: _train(submission, "train_loss_calm"))


def _looks_like_history(value):
    return isinstance(value, (list, tuple, np.ndarray)) and len(value) > 0 and all(np.ndim(v) == 0 for v in value[:3])


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


# More losses than any check's n_iter by far; a longer history is refused before it is looked at
# (a 48 MiB int8 array as a list of NumPy scalars would take ~1.9 GB of the grading process).
MAX_HISTORY = 10**6


def _losses(history):
    if not isinstance(history, (list, tuple, np.ndarray)):
        raise CheckFailure(f"loss_history is a {type(history).__name__}; expected a list of losses")
    if len(history) > MAX_HISTORY:
        raise CheckFailure(f"loss_history has {len(history)} entries; expected one loss per iteration")
    if isinstance(history, np.ndarray) and history.ndim == 1 and history.dtype.kind in "iuf":
        return history.astype(np.float64)
    values = []
    for i, value in enumerate(history):
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
    """The data train_nn is given: 300 points on three rings, wider than the notebook's (seed 1)."""
    X, y = make_rings(seed=1, radii=(0.3, 1.0, 1.7))
    return X, one_hot(y)


def _notebook_data():
    """The notebook's data (its globals X, Y): what a loop that ignores its X and Y_true trains on."""
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


def _data_failure(outcome):
    """A CheckFailure when loss_func was evaluated on 300 rows that are not the X and Y_true given, else None.

    The probe's value depends on the data (a factor of 2.35 for the data given, 2.04 for the
    notebook's), so each record shows what it was evaluated on: the data given, the notebook's
    data (its globals X and Y), or something else. Compared relatively: the values go down to ~1e-14.
    """
    X, Y = _data()
    notebook_X, notebook_Y = _notebook_data()
    for record in [r for r in outcome.trace.evaluations if r["rows"] == FULL_ROWS][:5]:
        tol = tolerances.lookup(tolerances.VALUE, np.result_type(*record["params"]))
        close = lambda value: np.isclose(record["value"], value, rtol=max(tol.rtol, 1e-9), atol=0.0)  # noqa: E731
        if close(outcome.value(record["params"], X, Y)):
            continue
        if close(outcome.value(record["params"], notebook_X, notebook_Y)):
            return CheckFailure("loss_func was evaluated on the notebook's data (its global X and Y), not on the X and "
                                "Y_true given to train_nn (the grader gives other data)", TRAIN_READS_GLOBAL)
        return CheckFailure("loss_func was evaluated on other data than the X and Y_true given to train_nn")
    return None


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
    failure = _data_failure(trained)
    if failure is not None:
        raise failure
    tol = _tolerance(returned)
    for k in range(len(chain) - 1):
        if not any(_close(chain[k + 1], option, tol) for option in _steps(chain[k])):
            raise CheckFailure(_bad_step_message(k, chain[k], chain[k + 1]),
                               _bad_step_hint(chain[k], chain[k + 1], trained.trace, chain[k - 1] if k else None))
    if [np.shape(leaf) for leaf in returned] != [np.shape(leaf) for leaf in chain[-1]]:
        raise CheckFailure("the params returned have other shapes than the params the loop trained")
    if _close(returned, chain[-1], tol):
        return Path(chain, len(chain) - 1)
    if any(_close(returned, option, tol) for option in _steps(chain[-1])):
        return Path(chain + [returned], len(chain))
    earlier = [k for k, theta in enumerate(chain[:-1]) if _close(returned, theta, tol)]
    if earlier:
        which = "the initial ones" if earlier[0] == 0 else f"those of iteration {earlier[0]}"
        raise CheckFailure(f"the params returned are {which}, not the trained ones (the last iterate)", RETURNS_INITIAL)
    # The params changed after the last point at which loss_func was evaluated: judge that move as a step.
    raise CheckFailure(
        "the params returned are not the last point at which the loop evaluated loss_func, nor one step of size "
        f"lr={LR} after it", _bad_step_hint(chain[-1], returned, trained.trace, chain[-2] if len(chain) > 1 else None),
    )


def _bad_step_message(k, before, after):
    X, Y = _data()
    grads = probes.train_loss_gradient([np.asarray(leaf, dtype=np.float64) for leaf in before], X, Y)
    return (f"step {k + 1} is not a gradient-descent step of size lr={LR} on loss_func: the parameters moved by "
            f"{_effective_rate(before, after, grads):.4g} times the gradient instead of -{LR}")


def _flat(leaves):
    return np.concatenate([np.ravel(np.asarray(leaf, dtype=np.float64)) for leaf in leaves])


def _effective_rate(before, after, grads):
    """c in after = before + c * grad (least squares)."""
    delta, g = _flat(after) - _flat(before), _flat(grads)
    return float(delta @ g / max(g @ g, 1e-300))


def _cosine(a, b):
    return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-300))


def _bad_step_hint(before, after, trace, previous=None):
    """The likely mistake of a move before -> after that is not a correct step, from its direction and size.

    A correct step is -lr * grad (written out) or -lr * tanh(grad) (through the probe update_params).
    ``previous`` is the iterate before ``before``, when there is one.
    """
    if any(record["rows"] != FULL_ROWS for record in trace.evaluations):
        return MINI_BATCH
    X, Y = _data()
    grads = probes.train_loss_gradient([np.asarray(leaf, dtype=np.float64) for leaf in before], X, Y)
    delta = _flat(after) - _flat(before)
    if previous is not None and _is_momentum(delta, _flat(before) - _flat(previous), _flat(grads)):
        return NOT_PLAIN_GD
    best = None
    for direction in (_flat(grads), np.tanh(_flat(grads))):
        cosine = _cosine(delta, direction)
        if cosine > 0.999:
            return UPHILL
        if cosine < -0.999:
            rate = float(delta @ direction / max(direction @ direction, 1e-300))
            return IGNORES_LR if abs(rate + LR) > 1e-3 * LR else None
        best = cosine if best is None else min(best, cosine)
    changed = [np.any(np.asarray(a) != np.asarray(b)) for a, b in zip(after, before)]
    if not all(changed):
        return None  # some parameters do not move: no known mistake of train_nn (update_params is a probe)
    if best < -0.3:
        return NOT_PLAIN_GD  # downhill, but not along the gradient: momentum, Adam...
    return IGNORES_LOSS_FUNC  # unrelated to the gradient of loss_func: the steps follow another function


def _is_momentum(delta, last, grads):
    """True when the step is -lr * grad plus a fraction (0 to 1) of the step before: heavy-ball momentum."""
    for direction in (grads, np.tanh(grads)):
        rest = delta + LR * direction
        beta = float(rest @ last / max(last @ last, 1e-300))
        if 0.0 < beta < 1.0 and np.linalg.norm(rest - beta * last) <= 1e-6 * np.linalg.norm(delta):
            return True
    return False


def test_train_nn_returns_params_and_history(trained, calm):
    """Returns (params, loss_history): four parameter arrays of the right shapes and a sequence of losses."""
    _judged(_returns_params_and_history, trained, calm)


def _returns_params_and_history(trained):
    params, history = _unpack(trained)
    W_1, b_1, W_2, b_2 = _leaves(params)
    hidden = W_1.shape[1] if W_1.ndim == 2 else None
    shapes_ok = (W_1.shape[:1] == (2,) and hidden and b_1.size == hidden and W_2.shape == (hidden, 3) and b_2.size == 3)
    if not shapes_ok:
        shapes = [W_1.shape, b_1.shape, W_2.shape, b_2.shape]
        raise CheckFailure(f"the params have shapes {shapes}; expected (2, H), (H,), (H, 3), (3,)", _order_hint(shapes))
    _losses(history)


def _order_hint(shapes):
    """PARAM_ORDER when the four shapes are those of (W_1, b_1, W_2, b_2) in another order."""
    for order in itertools.permutations(range(4)):
        W_1, b_1, W_2, b_2 = (shapes[i] for i in order)
        if len(W_1) == 2 and W_1[0] == 2 and b_1 in ((W_1[1],), (1, W_1[1])) and W_2 == (W_1[1], 3) and b_2 in ((3,), (1, 3)):
            return PARAM_ORDER
    return None


def test_train_nn_one_loss_per_iteration(trained, calm):
    """loss_history has exactly n_iter numbers (Python floats or 0-d arrays)."""
    _judged(_one_loss_per_iteration, trained, calm)


def _one_loss_per_iteration(trained):
    _, history = _unpack(trained)
    losses = _losses(history)
    if len(losses) != N_ITER:
        raise CheckFailure(f"loss_history has {len(losses)} entries for n_iter={N_ITER}; expected one per iteration",
                           _length_hint(losses, trained))


def _length_hint(losses, outcome):
    if 0 < len(losses) < N_ITER:
        # fewer entries than steps: recorded every k steps; as many as the steps, which are fewer
        # than n_iter: the loop stopped early (a reaction to the loss is told by _reaction)
        return None if _stopped_early(outcome) else SPARSE_HISTORY
    if len(losses) == N_ITER + 1:
        return HISTORY_LENGTH
    return None


def _stopped_early(outcome):
    """True when every step of the loop was right but it took fewer than n_iter of them."""
    try:
        return _trajectory(outcome).steps < N_ITER
    except CheckFailure:
        return False


def test_train_nn_uses_given_loss_func(trained, calm):
    """train_nn evaluates and differentiates the loss_func passed in, on all the data."""
    _judged(_uses_given_loss_func, trained, calm)


def _uses_given_loss_func(trained):
    _unpack(trained)
    evaluations = trained.trace.evaluations
    if not evaluations:
        raise CheckFailure("train_nn never called the loss_func it was given", IGNORES_LOSS_FUNC)
    if not any(record["rows"] == FULL_ROWS for record in evaluations):
        rows = sorted({record["rows"] for record in evaluations})
        raise CheckFailure(f"loss_func was only evaluated on {rows} rows of the {FULL_ROWS}", MINI_BATCH)
    failure = _data_failure(trained)
    if failure is not None:
        raise failure


def test_train_nn_takes_gradient_steps(trained, calm):
    """n_iter steps, each params - lr * grad of loss_func on the full batch (the parameters do change)."""
    _judged(_takes_gradient_steps, trained, calm)


def _takes_gradient_steps(trained):
    path = _trajectory(trained)
    if path.steps == 0:
        raise CheckFailure("the parameters never changed during training", NEVER_UPDATES)
    if path.steps != N_ITER:
        raise CheckFailure(f"the loop took {path.steps} gradient steps for n_iter={N_ITER}; expected one per iteration",
                           _too_few_steps_hint(trained, path))


def _too_few_steps_hint(trained, path):
    """NEVER_UPDATES when loss_func was evaluated n_iter times but (almost) always at the same point:
    the loop computes new params and does not carry them on."""
    evaluated = sum(record["rows"] == FULL_ROWS for record in trained.trace.evaluations)
    return NEVER_UPDATES if path.steps <= 1 and evaluated >= N_ITER > len(path.iterates) else None


def test_train_nn_history_is_the_loss(trained, calm):
    """loss_history[i] is loss_func at the i-th iterate (before or after the i-th step)."""
    _judged(_history_is_the_loss, trained, calm)


def _history_is_the_loss(trained):
    _, history = _unpack(trained)
    losses = _losses(history)
    if len(losses) != N_ITER:
        raise CheckFailure(f"loss_history cannot be matched to the iterations: it has {len(losses)} entries for n_iter={N_ITER}",
                           _length_hint(losses, trained))
    evaluations = trained.trace.evaluations
    returned = [record["value"] for record in evaluations]
    # relatively: the values go down to ~1e-14
    if evaluations and not any(np.isclose(loss, returned, rtol=1e-6, atol=0.0).any() for loss in losses):
        if _means_of_batches(losses, evaluations):
            raise CheckFailure(
                f"loss_history[i] is the mean of the losses of the {len(returned) // N_ITER} parts of the data "
                f"loss_func was evaluated on in iteration i, not the loss on all of X and Y_true", MINI_BATCH,
            )
        raise CheckFailure(
            f"no entry of loss_history is a value loss_func returned (loss_history[0] = {losses[0]:.6g}; loss_func "
            f"returned {returned[0]:.6g} first)", HISTORY_NOT_LOSS,
        )
    path = _trajectory(trained)
    if path.steps != N_ITER:
        raise CheckFailure(f"loss_history cannot be matched to the {path.steps} steps taken for n_iter={N_ITER}",
                           _too_few_steps_hint(trained, path))
    X, Y = _data()
    values = np.array([trained.value(theta, X, Y) for theta in path.iterates])
    tol = tolerances.lookup(tolerances.VALUE, np.result_type(*path.iterates[0]))
    before = np.isclose(losses, values[:-1], rtol=tol.rtol, atol=tol.atol)
    after = np.isclose(losses, values[1:], rtol=tol.rtol, atol=tol.atol)
    wrong = np.flatnonzero(~(before | after))
    if wrong.size:
        i = int(wrong[0])
        # the steps follow loss_func (the trajectory is right): what the history holds is the mistake
        raise CheckFailure(
            f"{wrong.size} of {N_ITER} entries of loss_history are not the value of loss_func at that iteration; "
            f"loss_history[{i}] = {losses[i]:.6g}, loss_func gives {values[i]:.6g} before and {values[i + 1]:.6g} after step {i + 1}",
            HISTORY_NOT_LOSS,
        )


def _means_of_batches(losses, evaluations):
    """True when loss_func was evaluated on parts of the data only, k times per iteration, and loss_history[i]
    is the mean of the i-th k values: the epoch loss of a mini-batch loop."""
    values = np.array([record["value"] for record in evaluations])
    if any(record["rows"] == FULL_ROWS for record in evaluations) or len(values) % N_ITER or len(values) == N_ITER:
        return False
    return bool(np.allclose(losses, values.reshape(N_ITER, -1).mean(axis=1), rtol=1e-6, atol=0.0))


def test_train_nn_initialisation_breaks_symmetry(trained, calm):
    """No two hidden units start identical (all-zero or constant weights never learn distinct features)."""
    _judged(_initialisation_breaks_symmetry, trained, calm)


def _initialisation_breaks_symmetry(trained):
    params, _ = _unpack(trained)
    chain = _iterates(trained.trace)
    start = chain[0] if chain else _leaves(params)  # the first point the loop evaluated: its initialisation
    units = _hidden_units(start)
    if units is None:
        return  # shapes the other checks already reject: nothing to judge here
    distinct = len(np.unique(units, axis=0))
    if distinct < len(units):
        raise CheckFailure(
            f"the initial parameters give only {distinct} distinct hidden unit(s) of {len(units)}: units that start with "
            "the same weights (the same column of W_1, entry of b_1 and row of W_2) get the same gradients and stay identical",
            SYMMETRIC_INIT,
        )


def _hidden_units(leaves):
    """One row per hidden unit j: (W_1[:, j], b_1[j], W_2[j, :]); None when the shapes are not the exercise's."""
    try:
        W_1, b_1, W_2, b_2 = (np.asarray(leaf, dtype=np.float64) for leaf in leaves)
        hidden = W_1.shape[1]
        if W_1.ndim != 2 or b_1.size != hidden or W_2.shape[0] != hidden or W_2.ndim != 2:
            return None
        return np.concatenate([W_1.T, b_1.reshape(hidden, 1), W_2], axis=1)
    except Exception:  # noqa: BLE001 - not the exercise's shapes
        return None


def test_train_nn_returns_trained_params(trained, calm):
    """The params returned are those after the last step."""
    _judged(_trajectory, trained, calm)


# -- a loop that reacts to the values of the loss ---------------------------------------------

# What each check asks of a run (the functions above, on an Outcome).
CHECKS = (_returns_params_and_history, _one_loss_per_iteration, _uses_given_loss_func, _takes_gradient_steps,
          _history_is_the_loss, _initialisation_breaks_symmetry, _trajectory)


def _judged(check, trained, calm):
    """Runs ``check`` on the run; a failure that comes from the loss values the loop saw gets REACTS_TO_LOSS."""
    try:
        check(trained)
    except CheckFailure as failure:
        note = _reaction(trained, calm)
        if note is None:
            raise
        raise CheckFailure(f"{failure.message}\n  {note}", REACTS_TO_LOSS) from None


def _reaction(trained, calm):
    """What the loop did differently because of the loss values it saw (a sentence), or None.

    The evidence: the same submission, given a loss_func with the same gradient whose values fall
    steadily (train_loss_calm), passes every check, starting from the same point. The two runs
    differ in nothing but the values loss_func returned, so the failure comes from them. Decided
    once per run; the second run is made only here.
    """
    if trained.reaction is _UNKNOWN:
        trained.reaction = _find_reaction(trained, calm)
    return trained.reaction


def _find_reaction(trained, calm):
    if trained.error is not None:
        return None  # the run raised or timed out: the failure says so, whatever the loss did
    steady = calm.get()
    if steady.error is not None:
        return None
    for check in CHECKS:
        try:
            check(steady)
        except CheckFailure:
            return None
    chain, steady_chain = _iterates(trained.trace), _iterates(steady.trace)
    if not chain or not steady_chain or not _close(chain[0], steady_chain[0], _tolerance(chain[0])):
        return None  # not the same starting point: the runs are not the same loop run twice
    return (f"with the same gradients but steadily falling loss values the loop runs all {N_ITER} steps right; with "
            f"the values of this check (they drop below 1e-6, stay flat and rise now and then) it "
            f"{_what_changed(trained, chain)}")


def _what_changed(trained, chain):
    """How the run with the values of this check left the contract, in words."""
    X, Y = _data()
    values = [trained.value(theta, X, Y) for theta in chain]
    seen = lambda values: ", ".join(f"{value:.3g}" for value in values)  # noqa: E731
    tol = _tolerance(chain[0])
    for k in range(len(chain) - 1):
        if not any(_close(chain[k + 1], option, tol) for option in _steps(chain[k])):
            return f"changed its step at step {k + 1}, after loss_func returned {seen(values[max(0, k - 2):k + 1])}"
    try:
        path = _trajectory(trained)
    except CheckFailure:
        return "did not return the params of its last step"
    if path.steps < N_ITER:
        return f"stopped after {path.steps} steps, when loss_func had returned {seen(values[-3:])}"
    return "did not record the loss of each of its steps"

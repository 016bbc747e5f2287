"""train_nn(X, Y_true, n_iter, lr, loss_func): minimises the loss_func it is given.

train_nn runs once on the exercise data (shared by the checks below) with the grader's
update_params, forward_pass, softmax and cross_entropy_loss in place of the submission's, and
with a loss_func that is the reference cross-entropy plus probes.LOSS_SHIFT.
"""

import numbers
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np
import pytest

from grader_tests import expected, inputs, probes
from grader_tests.compare import CheckFailure, Hint

N_ITER = 60
LR = 0.5
# test_train_nn_loss_decreases: a step goes down if it lowers the loss by more than this (relative)
# rounding margin, and at least this fraction of the steps must go down.
DECREASE_RTOL = 1e-12
MIN_FRACTION_DOWN = 0.9
# test_train_nn_uses_lr: iterations of the lr=0 run.
LR_ZERO_ITER = 5

WRONG_ORDER = Hint("wrong_order", "the return values are swapped: return params, loss_history (in that order)")
SPARSE_HISTORY = Hint("sparse_history", "record the loss at every iteration (one entry per step), not every k steps")
IGNORES_LOSS_FUNC = Hint("ignores_loss_func", "the loss recorded is not the loss_func argument: compute and differentiate loss_func(params, X, Y_true), not a global loss")
IGNORES_LR = Hint("ignores_lr", "the lr argument is not used as the step size: with lr=0 nothing may change; pass lr to update_params")
NEVER_UPDATES = Hint("never_updates", "the loss does not go down: assign the result of update_params back to params inside the loop")


@dataclass
class Outcome:
    result: object = None
    error: CheckFailure = None

    def get(self):
        if self.error is not None:
            raise self.error
        return self.result


def _train(submission, n_iter, lr):
    X, Y, _ = inputs.rings()
    try:
        with _x64():
            result = submission.call(
                "train_nn", jnp.asarray(X), jnp.asarray(Y), n_iter, lr, probes.shifted_loss,
                replace=probes.all_reference_parts_but("train_nn"),
            )
        return Outcome(result=result)
    except CheckFailure as error:
        return Outcome(error=error)


@pytest.fixture(scope="module")
def trained(submission):
    """One run of the submission's train_nn, shared by the checks of this file."""
    return _train(submission, N_ITER, LR)


@pytest.fixture(scope="module")
def trained_with_lr_zero(submission):
    """A short run with lr=0, in which nothing may change."""
    return _train(submission, LR_ZERO_ITER, 0.0)


def _x64():
    import jax

    return jax.enable_x64(True)


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


def _own_losses(history):
    """The recorded losses without probes.LOSS_SHIFT: the plain cross-entropy of each step.

    A history that is not of the given loss_func (already failed in
    test_train_nn_minimises_given_loss_func) is taken as it is, so that it is not failed again here.
    """
    losses = _losses(history)
    return losses - probes.LOSS_SHIFT if np.all(losses >= probes.LOSS_SHIFT) else losses


def _losses(history):
    values = []
    for i, value in enumerate(list(history)):
        if not (isinstance(value, numbers.Real) or np.ndim(value) == 0):
            raise CheckFailure(f"loss_history[{i}] is a {type(value).__name__} of shape {np.shape(value)}; expected a number (float(loss))")
        values.append(float(value))
    return np.array(values)


def test_train_nn_returns_params_and_history(trained):
    """Returns (params, loss_history): four parameter arrays and a sequence of losses."""
    params, history = _unpack(trained)
    if not isinstance(params, (tuple, list)) or len(params) != 4:
        raise CheckFailure(f"the params returned by train_nn are a {type(params).__name__}; expected (W_1, b_1, W_2, b_2)")
    if not isinstance(history, (list, tuple, np.ndarray)) and not hasattr(history, "shape"):
        raise CheckFailure(f"loss_history is a {type(history).__name__}; expected a list of losses")


def test_train_nn_one_loss_per_iteration(trained):
    """loss_history has exactly n_iter numbers (Python floats or 0-d arrays)."""
    _, history = _unpack(trained)
    losses = _losses(history)
    if len(losses) != N_ITER:
        hint = SPARSE_HISTORY if 0 < len(losses) < N_ITER else None
        raise CheckFailure(f"loss_history has {len(losses)} entries for n_iter={N_ITER}; expected one per iteration", hint)


def test_train_nn_minimises_given_loss_func(trained):
    """The recorded losses are values of the loss_func passed in."""
    _, history = _unpack(trained)
    losses = _losses(history)
    if len(losses) == 0:
        raise CheckFailure("loss_history is empty")
    if np.any(losses < probes.LOSS_SHIFT):
        raise CheckFailure(
            f"{int(np.sum(losses < probes.LOSS_SHIFT))} of {len(losses)} recorded losses are not values of the loss_func that train_nn was given",
            IGNORES_LOSS_FUNC,
        )


def test_train_nn_loss_decreases(trained):
    """The loss goes down on the rings data."""
    _, history = _unpack(trained)
    losses = _own_losses(history)
    if len(losses) < 2 or not np.all(np.isfinite(losses)):
        raise CheckFailure(f"loss_history cannot show a decrease: {len(losses)} entries, finite: {bool(np.all(np.isfinite(losses)))}")
    # How much the loss falls in N_ITER steps depends on the initialisation the student chose
    # (Xavier with 64 hidden units: -1%, normal(0, 0.1) weights: -0.2%), but full-batch gradient
    # descent at this lr lowers it at every step, by far more than rounding. Parameters that are
    # never updated (or reset every step) give steps of exactly zero.
    steps_down = np.diff(losses) < -DECREASE_RTOL * np.abs(losses[:-1])
    if not (losses[-1] < losses[0] and np.mean(steps_down) >= MIN_FRACTION_DOWN):
        raise CheckFailure(
            f"the loss went from {losses[0]:.6g} to {losses[-1]:.6g} in {len(losses)} recorded steps with lr={LR}, "
            f"going down in {int(steps_down.sum())} of {len(steps_down)} steps; expected it to go down at (almost) every step",
            NEVER_UPDATES,
        )


def test_train_nn_params_are_trained(trained):
    """The returned params work with forward_pass and fit the data better than the first recorded loss."""
    params, history = _unpack(trained)
    X, Y, _ = inputs.rings()
    try:
        logits = np.asarray(expected.forward_pass(tuple(map(jnp.asarray, params)), jnp.asarray(X)))
    except Exception as error:
        raise CheckFailure(f"the params returned by train_nn do not work with forward_pass: {type(error).__name__}: {error}") from None
    if logits.shape != Y.shape or not np.all(np.isfinite(logits)):
        raise CheckFailure(f"forward_pass with the returned params gives shape {logits.shape} (finite: {bool(np.all(np.isfinite(logits)))}); expected finite logits of shape {Y.shape}")
    final = float(expected.cross_entropy_loss(tuple(map(jnp.asarray, params)), X, Y))
    first = float(_own_losses(history)[0]) if len(history) else np.inf
    if not final < first:
        raise CheckFailure(f"the returned params have a loss of {final:.4f}, not below the first recorded loss {first:.4f}: are the trained params returned?", NEVER_UPDATES)


def test_train_nn_uses_lr(trained_with_lr_zero):
    """With lr=0 the loss stays where it started: the lr argument is the step size."""
    _, history = _unpack(trained_with_lr_zero)
    losses = _losses(history)
    if len(losses) == 0:
        raise CheckFailure("loss_history is empty")
    if not np.allclose(losses, losses[0], rtol=1e-9, atol=0.0):
        raise CheckFailure(f"with lr=0 the loss still went from {losses[0]:.6g} to {losses[-1]:.6g} in {len(losses)} steps", IGNORES_LR)

"""cross_entropy_loss(params, X, Y_true): mean over samples of the categorical cross-entropy.

Checked with probes in place of the submission's forward_pass and softmax (sandbox.probes: a sine
network and normalised sigmoids, neither an answer), so a mistake there costs no points here. The
expected loss is the cross-entropy of what the loss actually called: the probes when it called
forward_pass and softmax, the exercise's network and softmax where it computed them itself
(log_softmax, logsumexp, an inlined network are all correct).
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from grader_tests import expected, inputs, tolerances
from grader_tests.compare import CheckFailure, Hint, Mistake, assert_close, assert_tree_close
from sandbox import probes

SUM_NOT_MEAN = Hint("sum_not_mean", "the loss is summed over the samples; take the mean over samples (divide by N)")
MISSING_MINUS = Hint("missing_minus", "the sign is flipped: cross-entropy is MINUS the sum of y * log(p), so it is >= 0")
MEAN_OVER_ALL = Hint("mean_over_all", "the mean runs over all N*C entries; sum over the classes, then average over the N samples")
BINARY_FORM = Hint("binary_form", "this is the binary cross-entropy (with a (1-y) log(1-p) term); multi-class uses -sum_c y_c log p_c")
READS_GLOBAL = Hint("reads_global", "the loss does not follow its arguments: use the params, X and Y_true passed in, not global variables")

REPLACE = {"forward_pass": "loss_forward", "softmax": "loss_probabilities"}
# Few distinct shapes: eager JAX compiles every operation once per shape.
CASES = {"small": 5, "rings_sized": 300}


def _args(params, X, Y):
    return tuple(map(jnp.asarray, params)), jnp.asarray(X), jnp.asarray(Y)


@functools.partial(jax.jit, static_argnums=(3, 4))
def _loss(params, X, Y, forward, probabilities):
    logits = forward(params, X)
    log_p = jax.nn.log_softmax(logits, axis=-1) if probabilities is None else jnp.log(probabilities(logits))
    return -jnp.mean(jnp.sum(Y * log_p, axis=-1))


_loss_grad = jax.jit(jax.grad(_loss), static_argnums=(3, 4))


def candidates(called):
    """(forward, probabilities) pairs a correct loss computes, given the probes it called; first = most likely."""
    forward = probes.sine_network if "loss_forward" in called else expected.forward_pass
    if "loss_probabilities" in called:
        return [(forward, probes.normalised_sigmoids), (forward, None)]
    return [(forward, None)]


def expected_loss(params, X, Y, candidate):
    return float(_loss(*_args(params, X, Y), *candidate))


def matching(got, params, X, Y, called):
    """The candidate whose loss ``got`` equals (or the most likely one when none does)."""
    options = candidates(called)
    for candidate in options:
        tol = tolerances.lookup(tolerances.loss_value_table(p_true(params, X, Y, candidate)), np.asarray(got).dtype)
        if np.isclose(float(np.asarray(got, dtype=np.float64)), expected_loss(params, X, Y, candidate), rtol=tol.rtol, atol=tol.atol):
            return candidate
    return options[0]


def p_true(params, X, Y, candidate):
    """The probability each sample's true class gets under ``candidate``."""
    forward, probabilities = candidate
    logits = forward(*_args(params, X, Y)[:2])
    probs = np.asarray(expected.softmax(logits) if probabilities is None else probabilities(logits))
    return (probs * np.asarray(Y)).sum(axis=1)


def mistakes(params, X, Y, candidate):
    forward, probabilities = candidate
    logits = forward(*_args(params, X, Y)[:2])
    probs = np.asarray(expected.softmax(logits) if probabilities is None else probabilities(logits))
    per_sample = -(Y * np.log(probs)).sum(axis=1)
    bce = -(Y * np.log(probs) + (1 - Y) * np.log(1 - probs))
    return [
        Mistake(SUM_NOT_MEAN, lambda: per_sample.sum()),
        Mistake(MISSING_MINUS, lambda: -per_sample.mean()),
        Mistake(MEAN_OVER_ALL, lambda: per_sample.mean() / Y.shape[1]),
        Mistake(BINARY_FORM, lambda: bce.mean()),
        Mistake(BINARY_FORM, lambda: bce.sum(axis=1).mean()),
    ]


def scalar(value, what):
    """The loss as a float64 0-d array; a size-1 array is accepted, anything else fails."""
    array = np.asarray(value.detach() if hasattr(value, "detach") else value)
    if array.size != 1:
        raise CheckFailure(f"{what} has shape {array.shape}; the loss is a single number (the mean over samples)", MEAN_OVER_ALL if array.ndim else None)
    return array.reshape(())


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_cross_entropy_loss_value(submission, case):
    """The loss equals the reference's on random parameters, inputs and one-hot targets."""
    n = CASES[case]
    params = inputs.params(f"loss_value_{case}")
    X, Y = inputs.features(f"loss_value_{case}_X", n), inputs.targets(f"loss_value_{case}_Y", n)
    got, trace = submission.call_traced("cross_entropy_loss", *_args(params, X, Y), replace=REPLACE)
    what = f"cross_entropy_loss for {n} samples"
    got = scalar(got, what)
    candidate = matching(got, params, X, Y, trace.called)
    assert_close(got, expected_loss(params, X, Y, candidate), what=what, mistakes=mistakes(params, X, Y, candidate),
                 table=tolerances.loss_value_table(p_true(params, X, Y, candidate)))


def test_cross_entropy_loss_gradient(submission):
    """jax.grad of the loss w.r.t. every parameter equals the reference's."""
    params = inputs.params("loss_gradient")
    X, Y = inputs.features("loss_gradient_X", 300), inputs.targets("loss_gradient_Y", 300)
    args = _args(params, X, Y)
    got_loss, trace = submission.call_traced("cross_entropy_loss", *args, replace=REPLACE)
    candidate = matching(scalar(got_loss, "cross_entropy_loss"), params, X, Y, trace.called)
    _, (got_grads, _, _) = submission.vjp("cross_entropy_loss", args, jnp.ones(()), replace=REPLACE)
    want = _loss_grad(*args, *candidate)
    hint_for = lambda i: [Mistake(h, lambda i=i, m=m: np.asarray(want[i]) * m) for h, m in ((SUM_NOT_MEAN, 300.0), (MISSING_MINUS, -1.0), (MEAN_OVER_ALL, 1 / 3))]
    assert_tree_close(
        tuple(got_grads) if isinstance(got_grads, list) else got_grads, want,
        what="gradient of cross_entropy_loss w.r.t.", names=inputs.PARAM_NAMES,
        table=tolerances.loss_gradient_table(p_true(params, X, Y, candidate)), mistakes_for=hint_for,
    )


def test_cross_entropy_loss_uses_its_arguments(submission):
    """The loss follows the params, X and Y_true it is given (on inputs shaped like the exercise data)."""
    X, Y, _ = inputs.rings()
    params = inputs.params("loss_uses_arguments")
    other_X = inputs.features("loss_uses_arguments_X", X.shape[0])
    other_Y = inputs.targets("loss_uses_arguments_Y", X.shape[0])
    other_params = inputs.params("loss_uses_arguments_other")
    for label, (p, x, y) in {
        "the exercise data": (params, X, Y),
        "other X": (params, other_X, Y),
        "other Y_true": (params, X, other_Y),
        "other params": (other_params, X, Y),
    }.items():
        got, trace = submission.call_traced("cross_entropy_loss", *_args(p, x, y), replace=REPLACE)
        what = f"cross_entropy_loss with {label}"
        got = scalar(got, what)
        candidate = matching(got, p, x, y, trace.called)
        # Globals can only explain a loss that is right on the exercise data and wrong on the others.
        hint = None if label == "the exercise data" else READS_GLOBAL
        assert_close(got, expected_loss(p, x, y, candidate), what=what, mistakes=mistakes(p, x, y, candidate), hint=hint,
                     table=tolerances.loss_value_table(p_true(p, x, y, candidate)))


def test_cross_entropy_loss_finite_differences(submission):
    """The loss's own gradient agrees with central differences of its values (a second opinion)."""
    params = tuple(map(jnp.asarray, inputs.params("loss_finite_differences")))
    X, Y = inputs.features("loss_fd_X", 5), inputs.targets("loss_fd_Y", 5)
    direction = tuple(jnp.asarray(d) for d in inputs.params("loss_fd_direction"))
    h = tolerances.FINITE_DIFFERENCE_STEP

    def loss_at(step):
        moved = tuple(p + step * d for p, d in zip(params, direction))
        return float(scalar(submission.call("cross_entropy_loss", moved, jnp.asarray(X), jnp.asarray(Y), replace=REPLACE), "cross_entropy_loss"))

    numeric = (loss_at(h) - loss_at(-h)) / (2 * h)
    _, (grads, _, _) = submission.vjp("cross_entropy_loss", (params, jnp.asarray(X), jnp.asarray(Y)), jnp.ones(()), replace=REPLACE)
    analytic = sum(float(jnp.vdot(g, d)) for g, d in zip(grads, direction))
    tol = tolerances.FINITE_DIFFERENCE
    if not np.isclose(analytic, numeric, rtol=tol.rtol, atol=tol.atol):
        raise CheckFailure(
            f"the gradient of cross_entropy_loss along a random direction is {analytic:.6g}, but its "
            f"values change at a rate of {numeric:.6g}: something blocks or alters the gradient "
            "(stop_gradient, a NumPy round trip, a custom derivative)"
        )

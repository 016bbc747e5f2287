"""cross_entropy_loss(params, X, Y_true): mean over samples of the categorical cross-entropy.

Checked with the grader's forward_pass and softmax in place of the submission's.
"""

import jax.numpy as jnp
import numpy as np
import pytest

from grader_tests import expected, inputs, tolerances
from grader_tests.compare import CheckFailure, Hint, Mistake, assert_close, assert_tree_close
from grader_tests.probes import all_reference_parts_but

SUM_NOT_MEAN = Hint("sum_not_mean", "the loss is summed over the samples; take the mean over samples (divide by N)")
MISSING_MINUS = Hint("missing_minus", "the sign is flipped: cross-entropy is MINUS the sum of y * log(p), so it is >= 0")
MEAN_OVER_ALL = Hint("mean_over_all", "the mean runs over all N*C entries; sum over the classes, then average over the N samples")
BINARY_FORM = Hint("binary_form", "this is the binary cross-entropy (with a (1-y) log(1-p) term); multi-class uses -sum_c y_c log p_c")
READS_GLOBAL = Hint("reads_global", "the loss does not follow its arguments: use the params, X and Y_true passed in, not global variables")

REPLACE = all_reference_parts_but("cross_entropy_loss")
# Few distinct shapes: eager JAX compiles every operation once per shape.
CASES = {"small": 5, "rings_sized": 300}


def _args(params, X, Y):
    return tuple(map(jnp.asarray, params)), jnp.asarray(X), jnp.asarray(Y)


def mistakes(params, X, Y):
    probs = np.asarray(expected.softmax(expected.forward_pass(params, X)))
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
    got = submission.call("cross_entropy_loss", *_args(params, X, Y), replace=REPLACE)
    what = f"cross_entropy_loss for {n} samples"
    assert_close(scalar(got, what), expected.cross_entropy_loss(params, X, Y), what=what, mistakes=mistakes(params, X, Y))


def test_cross_entropy_loss_gradient(submission):
    """jax.grad of the loss w.r.t. every parameter equals the reference's."""
    params = inputs.params("loss_gradient")
    X, Y = inputs.features("loss_gradient_X", 300), inputs.targets("loss_gradient_Y", 300)
    args = _args(params, X, Y)
    got_loss, (got_grads, _, _) = submission.vjp("cross_entropy_loss", args, jnp.ones(()), replace=REPLACE)
    scalar(got_loss, "cross_entropy_loss")
    want = expected.cross_entropy_loss_grad(*args)
    hint_for = lambda i: [Mistake(h, lambda i=i, m=m: np.asarray(want[i]) * m) for h, m in ((SUM_NOT_MEAN, 300.0), (MISSING_MINUS, -1.0), (MEAN_OVER_ALL, 1 / 3))]
    assert_tree_close(
        tuple(got_grads) if isinstance(got_grads, list) else got_grads, want,
        what="gradient of cross_entropy_loss w.r.t.", names=inputs.PARAM_NAMES, table=tolerances.GRADIENT, mistakes_for=hint_for,
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
        got = submission.call("cross_entropy_loss", *_args(p, x, y), replace=REPLACE)
        what = f"cross_entropy_loss with {label}"
        # Globals can only explain a loss that is right on the exercise data and wrong on the others.
        hint = None if label == "the exercise data" else READS_GLOBAL
        assert_close(scalar(got, what), expected.cross_entropy_loss(p, x, y), what=what, mistakes=mistakes(p, x, y), hint=hint)


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

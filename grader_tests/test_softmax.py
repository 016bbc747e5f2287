"""softmax(z): row-wise probabilities, numerically stable, differentiable and jit-able in JAX."""

import jax.numpy as jnp
import numpy as np
import pytest

from grader_tests import expected, tolerances
from grader_tests.compare import CheckFailure, Hint, Mistake, assert_close, diagnose, explain_shapes, shapes_in
from grader_tests.seeds import rng
from grader_tests.submission import NUMPY_HINT

WRONG_AXIS = Hint("wrong_axis", "the normalisation runs down the columns (axis 0); the classes are along the last axis (axis=-1 or axis=1)")
WHOLE_ARRAY = Hint(
    "whole_array",
    "the max and the sum run over the whole array; each row (sample) must be normalised on its own: "
    "subtract each row's max (jnp.max(z, axis=-1, keepdims=True)) and divide by each row's sum (jnp.sum(e, axis=-1, keepdims=True))",
)
UNSTABLE = Hint(
    "unstable",
    "exp() overflows (or underflows to 0/0) for large logits; subtract each row's own maximum before exp(), "
    "jnp.max(z, axis=-1, keepdims=True), not the maximum of the whole array (it does not change the result)",
)
NO_KEEPDIMS = Hint(
    "no_keepdims",
    "a row's max or sum loses its axis: an (N, C) array minus or divided by an (N,) array does not work row by row; "
    "use keepdims=True in jnp.max and jnp.sum (or add [:, None]) so that each row gets its own max and sum",
)
LOG_PROBS = Hint("log_probs", "the result looks like log-probabilities (log_softmax); softmax returns the probabilities themselves")

CASES = {"small": (4, 3), "batch": (64, 5)}


def logits(name, shape, scale=3.0):
    return scale * rng(name).normal(size=shape)


def _normalised(shifted, axis):
    e = np.exp(shifted)
    return e / e.sum(axis=axis, keepdims=axis is not None)


def mistakes(z):
    z = np.asarray(z)
    return [
        # shifted by the max (of a column, of the whole array) as such code often is: then the
        # candidates are finite on large logits too
        Mistake(WRONG_AXIS, lambda: _normalised(z - z.max(axis=0, keepdims=True), axis=0)),
        Mistake(WHOLE_ARRAY, lambda: _normalised(z - z.max(), axis=None)),
        Mistake(LOG_PROBS, lambda: np.asarray(expected.log_softmax(z))),
    ]


def _explained(error, z):
    """A failed call of softmax, with the likely mistake named when the error shows it."""
    n, c = z.shape
    shapes = shapes_in(error.message)
    hint = NO_KEEPDIMS if z.shape in shapes and (n,) in shapes else None
    note = explain_shapes(error.message, {(n, c): "z (samples, classes)", (n,): "one number per row (a max or sum without keepdims)",
                                          (c,): "one number per class (a sum over axis 0)"})
    return error.explained(hint, note)


def call(submission, z, **kwargs):
    try:
        return submission.call("softmax", jnp.asarray(z), **kwargs)
    except CheckFailure as error:
        raise _explained(error, z) from None


def vjp(submission, z, cotangent):
    try:
        return submission.vjp("softmax", (jnp.asarray(z),), jnp.asarray(cotangent))
    except CheckFailure as error:
        raise _explained(error, z) from None


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_softmax_values(submission, case):
    """Probabilities equal the reference's on random logits."""
    z = logits(f"softmax_values_{case}", CASES[case])
    got = call(submission, z)
    assert_close(got, expected.softmax(z), what=f"softmax(z) for z of shape {z.shape}", mistakes=mistakes(z))


def test_softmax_rows_sum_to_one(submission):
    """Every row is a probability distribution over the classes."""
    z = logits("softmax_rows_sum_to_one", (64, 5))
    got = call(submission, z)
    row_sums = np.asarray(got, dtype=np.float64).sum(axis=-1) if np.ndim(got) == 2 else got
    assert_close(
        row_sums, np.ones(64), what="the row sums of softmax(z)", mistakes=[
            Mistake(WRONG_AXIS, lambda: np.asarray(expected.softmax(z.T)).T.sum(axis=-1)),
            Mistake(WHOLE_ARRAY, lambda: np.exp(z).sum(axis=1) / np.exp(z).sum()),
            Mistake(LOG_PROBS, lambda: np.asarray(expected.log_softmax(z)).sum(axis=-1)),
        ],
    )
    if np.any(np.asarray(got) < 0):
        raise CheckFailure("softmax(z) has negative entries; probabilities are >= 0", LOG_PROBS)


def test_softmax_large_logits(submission):
    """Logits of magnitude up to 1000 give finite, correct probabilities."""
    z = np.array([[1000.0, 0.0, -1000.0], [999.0, 1000.0, 998.0], [-1000.0, -999.0, -1000.0], [0.5, 0.0, -0.5]])
    got = call(submission, z)
    if not np.all(np.isfinite(np.asarray(got, dtype=np.float64))):
        # inf or nan is the overflow itself, whatever else the code does (a nan matches any formula's nan)
        assert_close(got, expected.softmax(z), what="softmax(z) for logits up to +-1000", hint=UNSTABLE)
    assert_close(got, expected.softmax(z), what="softmax(z) for logits up to +-1000", mistakes=mistakes(z))


def test_softmax_gradient(submission):
    """jax.vjp through softmax gives the reference's gradient (no NumPy round trip)."""
    z = logits("softmax_gradient", (4, 3))
    cotangent = rng("softmax_gradient_cotangent").normal(size=(4, 3))
    out, (grad,) = vjp(submission, z, cotangent)
    want = expected.softmax_vjp(jnp.asarray(z), jnp.asarray(cotangent))
    assert_close(grad, want, what="the gradient of softmax (vjp)", table=tolerances.GRADIENT, hint=_hint_from_values(out, z))


def test_softmax_jit(submission):
    """softmax works under jax.jit."""
    z = logits("softmax_jit", (4, 3))
    got = call(submission, z, jit=True)
    assert_close(got, expected.softmax(z), what="jax.jit(softmax)(z)", hint=_hint_from_values(got, z))


def _hint_from_values(values, z):
    """The hint for a wrong gradient or jit result: the values' own mistake when they are wrong too.

    Correct values with a wrong gradient or jit result point to a NumPy round trip; wrong values
    are the mistake of the values checks (e.g. wrong_axis), not a NumPy one.
    """
    try:
        got = np.asarray(values)
        tol = tolerances.lookup(tolerances.VALUE, got.dtype)
        got = got.astype(np.float64)
        if got.shape == z.shape and np.allclose(got, expected.softmax(z), rtol=tol.rtol, atol=tol.atol):
            return NUMPY_HINT
        return diagnose(got, mistakes(z))
    except Exception:
        return None

"""softmax(z): row-wise probabilities, numerically stable, differentiable and jit-able in JAX."""

import jax.numpy as jnp
import numpy as np
import pytest

from grader_tests import expected, tolerances
from grader_tests.compare import CheckFailure, Hint, Mistake, assert_close, diagnose
from grader_tests.seeds import rng
from grader_tests.submission import NUMPY_HINT

WRONG_AXIS = Hint("wrong_axis", "the normalisation runs down the columns (axis 0); the classes are along the last axis (axis=-1 or axis=1)")
WHOLE_ARRAY = Hint("whole_array", "the sum runs over the whole array; each row (sample) must be normalised on its own: sum over axis=-1 with keepdims=True")
UNSTABLE = Hint("unstable", "exp() overflows for large logits; subtract each row's maximum before exp() (it does not change the result)")
LOG_PROBS = Hint("log_probs", "the result looks like log-probabilities (log_softmax); softmax returns the probabilities themselves")

CASES = {"small": (4, 3), "batch": (64, 5)}


def logits(name, shape, scale=3.0):
    return scale * rng(name).normal(size=shape)


def mistakes(z):
    z = np.asarray(z)
    return [
        Mistake(WRONG_AXIS, lambda: np.exp(z) / np.exp(z).sum(axis=0, keepdims=True)),
        Mistake(WHOLE_ARRAY, lambda: np.exp(z) / np.exp(z).sum()),
        Mistake(LOG_PROBS, lambda: np.asarray(expected.log_softmax(z))),
    ]


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_softmax_values(submission, case):
    """Probabilities equal the reference's on random logits."""
    z = logits(f"softmax_values_{case}", CASES[case])
    got = submission.call("softmax", jnp.asarray(z))
    assert_close(got, expected.softmax(z), what=f"softmax(z) for z of shape {z.shape}", mistakes=mistakes(z))


def test_softmax_rows_sum_to_one(submission):
    """Every row is a probability distribution over the classes."""
    z = logits("softmax_rows_sum_to_one", (64, 5))
    got = submission.call("softmax", jnp.asarray(z))
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
    got = submission.call("softmax", jnp.asarray(z))
    hint = UNSTABLE if not np.all(np.isfinite(np.asarray(got, dtype=np.float64))) else None
    assert_close(got, expected.softmax(z), what="softmax(z) for logits up to +-1000", mistakes=mistakes(z)[:1], hint=hint)


def test_softmax_gradient(submission):
    """jax.vjp through softmax gives the reference's gradient (no NumPy round trip)."""
    z = logits("softmax_gradient", (4, 3))
    cotangent = rng("softmax_gradient_cotangent").normal(size=(4, 3))
    out, (grad,) = submission.vjp("softmax", (jnp.asarray(z),), jnp.asarray(cotangent))
    want = expected.softmax_vjp(jnp.asarray(z), jnp.asarray(cotangent))
    assert_close(grad, want, what="the gradient of softmax (vjp)", table=tolerances.GRADIENT, hint=_hint_from_values(out, z))


def test_softmax_jit(submission):
    """softmax works under jax.jit."""
    z = logits("softmax_jit", (4, 3))
    got = submission.call("softmax", jnp.asarray(z), jit=True)
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

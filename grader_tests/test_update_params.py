"""update_params(params, grads, lr): params - lr * grads on every leaf, same structure, jit-able."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from grader_tests import inputs
from grader_tests.compare import CheckFailure, Hint, Mistake, assert_close

WRONG_SIGN = Hint("wrong_sign", "the step goes uphill: gradient DEscent subtracts, params - lr * grads")
NO_LR = Hint("no_lr", "the learning rate is not applied: params - lr * grads")
RETURNS_OLD = Hint("returns_old", "the parameters come back unchanged: return the updated values")
PARTIAL = Hint("partial_update", "not every parameter is updated: apply the step to W_1, b_1, W_2 and b_2")

LEARNING_RATES = {"lr_0.1": 0.1, "lr_0.7": 0.7}


def _pair(name):
    params = inputs.params(f"{name}_params")
    grads = inputs.params(f"{name}_grads")
    return params, grads


def _check(got, params, grads, lr, what):
    if not isinstance(got, (tuple, list)) or len(got) != len(params):
        kind = f"a {type(got).__name__}" + (f" of {len(got)} items" if isinstance(got, (tuple, list)) else "")
        raise CheckFailure(f"{what} returned {kind}; expected a tuple (W_1, b_1, W_2, b_2) like params")
    for name, g, p, d in zip(inputs.PARAM_NAMES, got, params, grads):
        assert_close(
            g, p - lr * d, what=f"{what}: {name}", mistakes=[
                Mistake(WRONG_SIGN, lambda p=p, d=d: p + lr * d),
                Mistake(NO_LR, lambda p=p, d=d: p - d),
                Mistake(RETURNS_OLD if all(np.allclose(np.asarray(x, dtype=np.float64), y) for x, y in zip(got, params)) else PARTIAL, lambda p=p: p),
            ],
        )


@pytest.mark.parametrize("lr", LEARNING_RATES.values(), ids=list(LEARNING_RATES))
def test_update_params_values(submission, lr):
    """Every parameter becomes params - lr * grads."""
    params, grads = _pair(f"update_values_{lr}")
    got = submission.call("update_params", tuple(map(jnp.asarray, params)), tuple(map(jnp.asarray, grads)), lr)
    _check(got, params, grads, lr, f"update_params with lr={lr}")


def test_update_params_structure(submission):
    """The result has the structure of params: four arrays of the same shapes."""
    params, grads = _pair("update_structure")
    params = tuple(map(jnp.asarray, params))
    got = submission.call("update_params", params, tuple(map(jnp.asarray, grads)), 0.1)
    as_tuple = tuple(got) if isinstance(got, list) else got
    want = jax.tree_util.tree_structure(params)
    try:
        have = jax.tree_util.tree_structure(as_tuple)
        shapes = [tuple(np.shape(leaf)) for leaf in jax.tree_util.tree_leaves(as_tuple)]
    except Exception as error:
        raise CheckFailure(f"update_params returned something that is not a tuple of arrays: {error}") from None
    expected_shapes = [p.shape for p in params]
    if have != want or shapes != expected_shapes:
        raise CheckFailure(f"update_params returned {have} with shapes {shapes}; expected {want} with shapes {expected_shapes}")


def test_update_params_jit(submission):
    """update_params works under jax.jit (lr passed as a traced value)."""
    params, grads = _pair("update_jit")
    got = submission.call("update_params", tuple(map(jnp.asarray, params)), tuple(map(jnp.asarray, grads)), jnp.asarray(0.3), jit=True)
    _check(got, params, grads, 0.3, "jax.jit(update_params)")

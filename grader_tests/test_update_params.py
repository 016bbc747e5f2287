"""update_params(params, grads, lr): params - lr * grads on every leaf, same structure, jit-able."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from grader_tests import inputs
from grader_tests.compare import CheckFailure, Hint, Mistake, assert_close, explain_shapes
from sandbox.wire import Opaque

WRONG_SIGN = Hint("wrong_sign", "the step goes uphill: gradient DEscent subtracts, params - lr * grads")
NO_LR = Hint("no_lr", "the learning rate is not applied: params - lr * grads")
RETURNS_OLD = Hint("returns_old", "the parameters come back unchanged: return the updated values")
PARTIAL = Hint("partial_update", "not every parameter is updated: apply the step to W_1, b_1, W_2 and b_2")
RETURNS_NONE = Hint(
    "returns_none",
    "update_params returns nothing (None): JAX arrays are not changed in place (p -= lr * g only rebinds a local "
    "name), so build the new parameters and return them: return tuple(p - lr * g for p, g in zip(params, grads))",
)
IN_PLACE = Hint(
    "in_place",
    "params is a tuple and JAX arrays are immutable, so params[i] = ... (or -=) cannot change them in place; build "
    "the new parameters and return them: return tuple(p - lr * g for p, g in zip(params, grads))",
)
NOT_A_TUPLE = Hint(
    "not_a_tuple",
    "update_params returns a generator (a comprehension in round brackets), not the parameters: wrap it in "
    "tuple(...), e.g. return tuple(p - lr * g for p, g in zip(params, grads))",
)

LEARNING_RATES = {"lr_0.1": 0.1, "lr_0.7": 0.7}


def _pair(name):
    params = inputs.params(f"{name}_params")
    grads = inputs.params(f"{name}_grads")
    return params, grads


def _known_shapes(params):
    return {np.shape(p): f"{name} (and its gradient)" for name, p in zip(inputs.PARAM_NAMES, params)}


def call(submission, params, grads, lr, jit=False):
    """update_params(params, grads, lr); a failure names the likely mistake where its error shows one."""
    try:
        return submission.call("update_params", tuple(map(jnp.asarray, params)), tuple(map(jnp.asarray, grads)), lr, jit=jit)
    except CheckFailure as error:
        in_place = "does not support item assignment" in error.message or "arrays are immutable" in error.message
        if "generator" in error.message:
            raise error.explained(NOT_A_TUPLE) from None
        raise error.explained(IN_PLACE if in_place else None, explain_shapes(error.message, _known_shapes(params))) from None


def _not_a_tuple(got, what):
    """A CheckFailure for a result that is not a sequence of parameters, with its likely cause."""
    if got is None:
        return CheckFailure(f"{what} returned None; expected a tuple (W_1, b_1, W_2, b_2) like params", RETURNS_NONE)
    kind = f"a {type(got).__name__}" + (f" of {len(got)} items" if isinstance(got, (tuple, list)) else "")
    generator = isinstance(got, Opaque) and got.type_name == "generator"
    return CheckFailure(f"{what} returned {kind}; expected a tuple (W_1, b_1, W_2, b_2) like params", NOT_A_TUPLE if generator else None)


def _check(got, params, grads, lr, what):
    if not isinstance(got, (tuple, list)) or len(got) != len(params):
        raise _not_a_tuple(got, what)
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
    got = call(submission, params, grads, lr)
    _check(got, params, grads, lr, f"update_params with lr={lr}")


def test_update_params_structure(submission):
    """The result has the structure of params: four arrays of the same shapes."""
    params, grads = _pair("update_structure")
    got = call(submission, params, grads, 0.1)
    params = tuple(map(jnp.asarray, params))
    if not isinstance(got, (tuple, list)):
        raise _not_a_tuple(got, "update_params")
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
    got = call(submission, params, grads, jnp.asarray(0.3), jit=True)
    _check(got, params, grads, 0.3, "jax.jit(update_params)")

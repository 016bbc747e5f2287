"""forward_pass(params, X): tanh hidden layer, linear output, logits out, biases used."""

import jax.numpy as jnp
import numpy as np
import pytest

from grader_tests import expected, inputs, tolerances
from grader_tests.compare import Hint, Mistake, assert_close, assert_tree_close
from grader_tests.seeds import rng

NO_BIAS = Hint("no_bias", "the biases b_1 and/or b_2 are not added: z_1 = X @ W_1 + b_1, logits = h @ W_2 + b_2")
WRONG_ACTIVATION = Hint("wrong_activation", "the hidden layer uses another activation; this network uses tanh (jnp.tanh)")
NO_ACTIVATION = Hint("no_activation", "the hidden layer has no activation: without tanh the network is linear")
RETURNS_PROBS = Hint("returns_probs", "the output is already softmax-ed; forward_pass returns the logits (the loss applies softmax)")
OUTPUT_ACTIVATION = Hint("output_activation", "an activation is applied to the output layer; the logits are h @ W_2 + b_2 with nothing on top")

CASES = {"small": 4, "batch": 50}


def mistakes(params, X):
    W_1, b_1, W_2, b_2 = params

    def net(activation, bias_1=b_1, bias_2=b_2):
        return activation(X @ W_1 + bias_1) @ W_2 + bias_2

    logits = net(np.tanh)
    return [
        Mistake(NO_BIAS, lambda: net(np.tanh, 0.0, 0.0)),
        Mistake(NO_BIAS, lambda: net(np.tanh, 0.0, b_2)),
        Mistake(NO_BIAS, lambda: net(np.tanh, b_1, 0.0)),
        Mistake(WRONG_ACTIVATION, lambda: net(lambda a: np.maximum(a, 0.0))),
        Mistake(WRONG_ACTIVATION, lambda: net(lambda a: 1.0 / (1.0 + np.exp(-a)))),
        Mistake(NO_ACTIVATION, lambda: net(lambda a: a)),
        Mistake(RETURNS_PROBS, lambda: np.asarray(expected.softmax(logits))),
        Mistake(OUTPUT_ACTIVATION, lambda: np.tanh(logits)),
        Mistake(OUTPUT_ACTIVATION, lambda: 1.0 / (1.0 + np.exp(-logits))),
    ]


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_forward_pass_values(submission, case):
    """Logits equal the reference's for random parameters and inputs."""
    params = inputs.params(f"forward_pass_values_{case}")
    X = inputs.features(f"forward_pass_values_{case}_X", CASES[case])
    got = submission.call("forward_pass", tuple(map(jnp.asarray, params)), jnp.asarray(X))
    assert_close(got, expected.forward_pass(params, X), what=f"forward_pass(params, X) for X of shape {X.shape}", mistakes=mistakes(params, X))


def test_forward_pass_uses_biases(submission):
    """Adding a constant to b_2 shifts every logit by it; changing b_1 changes the logits."""
    params = inputs.params("forward_pass_uses_biases")
    X = inputs.features("forward_pass_uses_biases_X", 4)
    W_1, b_1, W_2, b_2 = map(jnp.asarray, params)
    base = np.asarray(submission.call("forward_pass", (W_1, b_1, W_2, b_2), jnp.asarray(X)), dtype=np.float64)
    shifted_params = (W_1, b_1, W_2, b_2 + 1.5)
    shifted = submission.call("forward_pass", shifted_params, jnp.asarray(X))
    # A wrong output layer (softmax or tanh on top) does not shift either: name it, not the biases.
    assert_close(
        shifted, base + 1.5, what="forward_pass with b_2 increased by 1.5 (should shift the logits by 1.5)",
        mistakes=mistakes(tuple(map(np.asarray, shifted_params)), X), hint=NO_BIAS,
    )
    moved_params = (W_1, b_1 + 1.0, W_2, b_2)
    moved = np.asarray(submission.call("forward_pass", moved_params, jnp.asarray(X)), dtype=np.float64)
    expected_moved = expected.forward_pass(moved_params, X)
    assert_close(
        moved, expected_moved, what="forward_pass with b_1 increased by 1.0",
        mistakes=mistakes(tuple(map(np.asarray, moved_params)), X), hint=NO_BIAS,
    )


def test_forward_pass_gradient(submission):
    """jax.vjp through forward_pass gives the reference's gradients w.r.t. every parameter and X."""
    params = tuple(map(jnp.asarray, inputs.params("forward_pass_gradient")))
    X = jnp.asarray(inputs.features("forward_pass_gradient_X", 4))
    cotangent = jnp.asarray(rng("forward_pass_gradient_cotangent").normal(size=(4, 3)))
    _, (grad_params, grad_X) = submission.vjp("forward_pass", (params, X), cotangent)
    expected_params, expected_X = expected.forward_pass_vjp(params, X, cotangent)
    assert_tree_close(
        tuple(grad_params) if isinstance(grad_params, (list, tuple)) else grad_params,
        expected_params, what="gradient of forward_pass w.r.t.", names=inputs.PARAM_NAMES, table=tolerances.GRADIENT,
    )
    assert_close(grad_X, expected_X, what="gradient of forward_pass w.r.t. X", table=tolerances.GRADIENT)

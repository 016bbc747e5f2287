"""forward_pass(params, X): tanh hidden layer, linear output, logits out, biases used."""

import itertools

import jax.numpy as jnp
import numpy as np
import pytest

from grader_tests import expected, inputs, tolerances
from grader_tests.compare import CheckFailure, Hint, Mistake, assert_close, assert_tree_close, diagnose, explain_shapes
from grader_tests.seeds import rng

NO_BIAS = Hint("no_bias", "the biases b_1 and/or b_2 are not added: z_1 = X @ W_1 + b_1, logits = h @ W_2 + b_2")
WRONG_ACTIVATION = Hint("wrong_activation", "the hidden layer uses another activation; this network uses tanh (jnp.tanh)")
NO_ACTIVATION = Hint("no_activation", "the hidden layer has no activation: without tanh the network is linear")
RETURNS_PROBS = Hint("returns_probs", "the output is already softmax-ed; forward_pass returns the logits (the loss applies softmax)")
RETURNS_LOG_PROBS = Hint(
    "returns_log_probs",
    "the output looks like log-probabilities (log_softmax, or logits - logsumexp(logits)); forward_pass returns "
    "the raw logits h @ W_2 + b_2 and the loss normalises them",
)
OUTPUT_ACTIVATION = Hint("output_activation", "an activation is applied to the output layer; the logits are h @ W_2 + b_2 with nothing on top")
PARAM_ORDER = Hint(
    "param_order",
    "the parameters are taken from params in the wrong order: params is (W_1, b_1, W_2, b_2), so write "
    "W_1, b_1, W_2, b_2 = params (params[0] is W_1, params[1] is b_1, params[2] is W_2, params[3] is b_2)",
)

BIAS_INDEX = Hint(
    "bias_index",
    "a bias is taken from the wrong index of params (W_1, b_1, W_2, b_2): the hidden layer adds b_1 = params[1] "
    "(n_hidden values), tanh(X @ W_1 + b_1), and the output layer adds b_2 = params[3] (n_output values), h @ W_2 + b_2",
)

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
        Mistake(RETURNS_LOG_PROBS, lambda: np.asarray(expected.log_softmax(logits))),
        Mistake(OUTPUT_ACTIVATION, lambda: np.tanh(logits)),
        Mistake(OUTPUT_ACTIVATION, lambda: 1.0 / (1.0 + np.exp(-logits))),
    ]


# -- parameters read in another order ------------------------------------------------------------

_ORDERS = {}  # id(submission) -> (submission, the order its forward_pass reads params in, or None)


def reading_order(submission):
    """The permutation p such that forward_pass is right when handed (params[p[0]], ..., params[p[3]]).

    Evidence for "params unpacked in the wrong order": the submission's own code gives the expected
    logits once the tuple is rearranged. None when no rearrangement helps (or the order is right).
    Asked once per submission, and only after a check failed.
    """
    key = id(submission)
    if key not in _ORDERS or _ORDERS[key][0] is not submission:
        params = inputs.params("forward_pass_order")
        X = inputs.features("forward_pass_order_X", 4)
        want = expected.forward_pass(params, X)
        found = None
        for order in itertools.permutations(range(4)):
            if order == (0, 1, 2, 3):
                continue
            try:
                got = submission.call("forward_pass", tuple(jnp.asarray(params[i]) for i in order), jnp.asarray(X))
                got = np.asarray(got, dtype=np.float64)
            except Exception:  # noqa: BLE001 - a rearrangement that fails is just not the one
                continue
            if got.shape == want.shape and np.allclose(got, want, rtol=1e-6, atol=1e-9):
                found = order
                break
        _ORDERS[key] = (submission, found)
    return _ORDERS[key][1]


_BIASES = {}  # id(submission) -> (submission, (index of the hidden layer's bias, of the output's), or None)

# Where each layer's bias is in params.
_HIDDEN_BIAS, _OUTPUT_BIAS = 1, 3


def bias_reading(submission):
    """(i, j): forward_pass adds params[i] in the hidden layer and params[j] in the output layer.

    Evidence for "a bias taken from the wrong index": with n_hidden == n_output both biases fit
    either layer, and the submission's logits are those of the exercise's network with params[i]
    and params[j] as its biases, (i, j) not (1, 3). None when no such pair gives its logits (or the
    biases are right). Asked once per submission, and only after a check failed and the order of
    params did not explain it.
    """
    key = id(submission)
    if key not in _BIASES or _BIASES[key][0] is not submission:
        params = inputs.params("forward_pass_bias_index", n_hidden=3, n_output=3)
        X = inputs.features("forward_pass_bias_index_X", 4)
        W_1, _, W_2, _ = params
        found = None
        try:
            got = submission.call("forward_pass", tuple(map(jnp.asarray, params)), jnp.asarray(X))
            got = np.asarray(got, dtype=np.float64)
            for pair in ((_HIDDEN_BIAS, _HIDDEN_BIAS), (_OUTPUT_BIAS, _OUTPUT_BIAS), (_OUTPUT_BIAS, _HIDDEN_BIAS)):
                want = np.tanh(X @ W_1 + params[pair[0]]) @ W_2 + params[pair[1]]
                if got.shape == want.shape and np.allclose(got, want, rtol=1e-6, atol=1e-9):
                    found = pair
                    break
        except Exception:  # noqa: BLE001 - a call that fails is no evidence
            found = None
        _BIASES[key] = (submission, found)
    return _BIASES[key][1]


def _bias_failure(submission):
    """A CheckFailure naming the bias forward_pass takes from the wrong index, or None."""
    pair = bias_reading(submission)
    if pair is None:
        return None
    names = inputs.PARAM_NAMES
    layers = (("hidden", pair[0], _HIDDEN_BIAS), ("output", pair[1], _OUTPUT_BIAS))
    wrong = [f"the {layer} layer adds params[{got}] ({names[got]}) where {names[right]} = params[{right}] belongs"
             for layer, got, right in layers if got != right]
    return CheckFailure(
        f"with n_hidden == n_output (both biases then fit either layer), forward_pass computes "
        f"tanh(X @ W_1 + {names[pair[0]]}) @ W_2 + {names[pair[1]]}: {'; '.join(wrong)}", BIAS_INDEX,
    )


def _order_failure(submission):
    """A CheckFailure naming the order forward_pass reads params in, or the bias it takes from the wrong index; or None."""
    order = reading_order(submission)
    if order is None:
        return _bias_failure(submission)
    names = inputs.PARAM_NAMES
    reads = ", ".join(f"params[{k}] as {names[i]}" for k, i in enumerate(order) if i != k)
    return CheckFailure(
        f"forward_pass gives the expected logits only when params is handed over as "
        f"({', '.join(names[i] for i in order)}): it reads {reads}", PARAM_ORDER,
    )


def _known_shapes(params, X):
    W_1, b_1, W_2, b_2 = (np.shape(p) for p in params)
    n = np.shape(X)[0]
    return {
        np.shape(X): "X (n_samples, n_input)", W_1: "W_1 (n_input, n_hidden)", b_1: "b_1 (n_hidden,)",
        W_2: "W_2 (n_hidden, n_output)", b_2: "b_2 (n_output,)", (n, W_1[1]): "X @ W_1, the hidden layer (n_samples, n_hidden)",
        (n, W_2[1]): "the logits (n_samples, n_output)",
    }


def _explained(error, submission, params, X):
    """A failed call: the order mistake when the evidence shows it, else the error with its shapes named."""
    explained = error.explained(note=explain_shapes(error.message, _known_shapes(params, X)))
    if error.hint is None:
        order = _order_failure(submission)
        if order is not None:
            return CheckFailure(f"{explained.message}\n  {order.message}", order.hint)
    return explained


def call(submission, params, X):
    try:
        return submission.call("forward_pass", tuple(map(jnp.asarray, params)), jnp.asarray(X))
    except CheckFailure as error:
        raise _explained(error, submission, params, X) from None


def check_close(submission, got, want, *, what, params, X, hint=None):
    """assert_close with the forward_pass mistakes, then the parameter order, as diagnoses."""
    try:
        assert_close(got, want, what=what, mistakes=mistakes(tuple(map(np.asarray, params)), np.asarray(X)), hint=hint)
    except CheckFailure as failure:
        if failure.hint is None or failure.hint is hint:
            order = _order_failure(submission)
            if order is not None:
                raise CheckFailure(f"{failure.message}\n  {order.message}", order.hint) from None
        raise


# -- the checks ----------------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_forward_pass_values(submission, case):
    """Logits equal the reference's for random parameters and inputs."""
    params = inputs.params(f"forward_pass_values_{case}")
    X = inputs.features(f"forward_pass_values_{case}_X", CASES[case])
    got = call(submission, params, X)
    check_close(submission, got, expected.forward_pass(params, X), what=f"forward_pass(params, X) for X of shape {X.shape}", params=params, X=X)


def test_forward_pass_uses_biases(submission):
    """Adding a constant to b_2 shifts every logit by it; changing b_1 changes the logits."""
    params = inputs.params("forward_pass_uses_biases")
    X = inputs.features("forward_pass_uses_biases_X", 4)
    W_1, b_1, W_2, b_2 = params
    base = np.asarray(call(submission, params, X), dtype=np.float64)
    shifted_params = (W_1, b_1, W_2, b_2 + 1.5)
    shifted = call(submission, shifted_params, X)
    # A wrong output layer (softmax or tanh on top) does not shift either: name it, not the biases.
    check_close(
        submission, shifted, base + 1.5, what="forward_pass with b_2 increased by 1.5 (should shift the logits by 1.5)",
        params=shifted_params, X=X, hint=NO_BIAS if _bias_ignored(base, shifted) else None,
    )
    moved_params = (W_1, b_1 + 1.0, W_2, b_2)
    moved = np.asarray(call(submission, moved_params, X), dtype=np.float64)
    check_close(
        submission, moved, expected.forward_pass(moved_params, X), what="forward_pass with b_1 increased by 1.0",
        params=moved_params, X=X, hint=NO_BIAS if _bias_ignored(base, moved) else None,
    )


def _bias_ignored(before, after):
    """The evidence for a missing bias: changing it changed nothing."""
    after = np.asarray(after, dtype=np.float64)
    return after.shape == before.shape and np.allclose(after, before, rtol=1e-12, atol=1e-12)


def test_forward_pass_gradient(submission):
    """jax.vjp through forward_pass gives the reference's gradients w.r.t. every parameter and X."""
    raw = inputs.params("forward_pass_gradient")
    params = tuple(map(jnp.asarray, raw))
    X = jnp.asarray(inputs.features("forward_pass_gradient_X", 4))
    cotangent = jnp.asarray(rng("forward_pass_gradient_cotangent").normal(size=(4, 3)))
    try:
        out, (grad_params, grad_X) = submission.vjp("forward_pass", (params, X), cotangent)
    except CheckFailure as error:
        raise _explained(error, submission, raw, X) from None
    expected_params, expected_X = expected.forward_pass_vjp(params, X, cotangent)
    hint = _hint_from_values(submission, out, raw, np.asarray(X))
    assert_tree_close(
        tuple(grad_params) if isinstance(grad_params, (list, tuple)) else grad_params,
        expected_params, what="gradient of forward_pass w.r.t.", names=inputs.PARAM_NAMES, table=tolerances.GRADIENT,
        hint=hint,
    )
    assert_close(grad_X, expected_X, what="gradient of forward_pass w.r.t. X", table=tolerances.GRADIENT, hint=hint)


def _hint_from_values(submission, values, params, X):
    """The hint for a wrong gradient: the mistake of the values themselves, when they are wrong too."""
    try:
        got = np.asarray(values, dtype=np.float64)
        want = expected.forward_pass(params, X)
        if got.shape == want.shape and np.allclose(got, want, rtol=1e-6, atol=1e-9):
            return None  # right values, wrong gradient: no known mistake explains it
        if (found := diagnose(got, mistakes(params, X))) is not None:
            return found
        order = _order_failure(submission)
        return order.hint if order is not None else None
    except Exception:  # noqa: BLE001 - no diagnosis is no hint
        return None

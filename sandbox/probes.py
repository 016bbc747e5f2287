"""Functions the grader hands to student code in place of other parts while one part is checked.

A mistake must cost points only in its own part, so the loss is checked without the student's
forward_pass and softmax, and train_nn without the student's update_params. What is handed over
runs next to student code, so none of it may be an answer: each probe is a *different* function
with the same signature, and the grader computes what correct code does with it.

* ``loss_forward`` stands in for forward_pass: a network with a SINE hidden layer (the exercise's
  has tanh);
* ``loss_probabilities`` stands in for softmax: normalised sigmoids (rows are positive and sum
  to one, but it is not a softmax);
* ``train_loss`` is the loss_func given to train_nn: a quadratic in the parameters, plus 10 (not
  a cross-entropy), that records every point it is evaluated at (also under jit);
* ``train_update`` stands in for update_params: a step of ``lr * tanh(grads)`` (the exercise's
  step is ``lr * grads``).

The pure maths of each probe is also used by the grader (outside the sandbox) to compute the
expected results; the recording is only done here.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

TRAIN_LOSS_OFFSET = 10.0  # keeps the probe loss far from any cross-entropy value (~0-3)
TRAIN_LOSS_CENTRE = 0.25  # the minimiser of every parameter entry
MAX_EVALUATIONS = 5000  # recorded evaluations of train_loss per request; more are dropped

# What the current request did with the probes; the agent clears both before each request.
CALLED = set()
EVALUATIONS = []


class ProbeError(Exception):
    """A probe was called with arguments that show a known mistake; ``hint`` names it."""

    def __init__(self, hint, message):
        super().__init__(message)
        self.hint = hint


# -- the maths (no recording) --------------------------------------------------------------------

def sine_network(params, X):
    W_1, b_1, W_2, b_2 = params
    return jnp.sin(X @ W_1 + b_1) @ W_2 + b_2


def normalised_sigmoids(z):
    s = jax.nn.sigmoid(z)
    return s / jnp.sum(s, axis=-1, keepdims=True)


def _data_factor(xp, X, Y_true):
    weights = xp.arange(1, Y_true.shape[-1] + 1, dtype=Y_true.dtype)
    return 1.0 + xp.mean(X**2) + xp.mean(Y_true * weights)


def train_loss_value(leaves, X, Y_true, xp=np):
    """The probe loss at parameters ``leaves`` (a flat list of arrays)."""
    data = _data_factor(xp, X, Y_true)
    return TRAIN_LOSS_OFFSET + data * sum(xp.mean((leaf - TRAIN_LOSS_CENTRE) ** 2) for leaf in leaves)


def train_loss_gradient(leaves, X, Y_true):
    """The gradient of :func:`train_loss_value` w.r.t. each leaf (NumPy)."""
    data = _data_factor(np, X, Y_true)
    return [data * 2.0 * (leaf - TRAIN_LOSS_CENTRE) / leaf.size for leaf in leaves]


def tanh_step(leaf, grad, lr):
    return leaf - lr * np.tanh(grad)


# -- the probes --------------------------------------------------------------------------------

def loss_forward(params, X):
    """Stands in for forward_pass while cross_entropy_loss is checked (sine hidden layer)."""
    CALLED.add("loss_forward")
    return sine_network(params, X)


def loss_probabilities(z):
    """Stands in for softmax while cross_entropy_loss is checked (normalised sigmoids)."""
    CALLED.add("loss_probabilities")
    return normalised_sigmoids(z)


def _record(rows, leaves, value):
    if len(EVALUATIONS) < MAX_EVALUATIONS:
        EVALUATIONS.append({"params": [np.array(leaf) for leaf in leaves], "rows": rows, "value": float(value)})


def train_loss(params, X, Y_true):
    """The loss_func given to train_nn; records the parameters of every evaluation."""
    CALLED.add("train_loss")
    leaves = jax.tree_util.tree_leaves(params)
    value = train_loss_value(leaves, X, Y_true, xp=jnp)
    jax.debug.callback(functools.partial(_record, int(np.shape(X)[0])), leaves, value)
    return value


def train_update(params, grads, lr):
    """Stands in for update_params while train_nn is checked: params - lr * tanh(grads)."""
    CALLED.add("train_update")
    as_tuple = lambda tree: tuple(tree) if isinstance(tree, list) else tree
    params, grads = as_tuple(params), as_tuple(grads)
    params_shape = jax.tree_util.tree_map(lambda leaf: tuple(np.shape(leaf)), params)
    grads_shape = jax.tree_util.tree_map(lambda leaf: tuple(np.shape(leaf)), grads)
    if params_shape != grads_shape:
        raise ProbeError("grad_wrt_X", f"update_params received grads shaped {grads_shape} for params shaped {params_shape}")
    return jax.tree_util.tree_map(lambda p, g: p - lr * jnp.tanh(g), params, grads)


PROBES = {f.__name__: f for f in (loss_forward, loss_probabilities, train_loss, train_update)}

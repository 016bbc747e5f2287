"""Functions the grader hands to student code in place of other parts while one part is checked.

A mistake must cost points only in its own part, so the loss is checked without the student's
forward_pass and softmax, and train_nn without the student's update_params. What is handed over
runs next to student code, so none of it may be an answer: each probe is a *different* function
with the same signature, and the grader computes what correct code does with it.

* ``loss_forward`` stands in for forward_pass: a network with a SINE hidden layer (the exercise's
  has tanh);
* ``loss_probabilities`` stands in for softmax: normalised sigmoids (rows are positive and sum
  to one, but it is not a softmax);
* ``train_loss`` is the loss_func given to train_nn (not a cross-entropy). It records every point
  it is evaluated at (also under jit). Its gradient and its values are two separate functions of
  the parameters (the value carries no gradient, a potential carries no value), so that the
  values a training loop sees can be the ones a loop may react to:

  - the gradient is that of a quadratic bowl in every parameter array but the last (b_2), and a
    constant ``TRAIN_CLOCK_SLOPE`` for every entry of the last one: whatever the initialisation,
    each gradient step moves b_2 by the same amount, a clock;
  - the value depends on the data and, periodically, on that clock: in every ~20 steps it falls
    from ~20 to ~2e-14 (through 0.1, 1e-3, 1e-6...), stays exactly there for ~10 steps and rises
    back, so a loop sees small losses, long flat stretches and rises, whatever it started from;

* ``train_loss_calm`` has the same gradient and steadily falling values (~3 % a step, far above
  any cross-entropy value): a loop that runs n_iter correct steps with it but not with
  ``train_loss`` reacts to the values of the loss;
* ``train_update`` stands in for update_params: a step of ``lr * tanh(grads)`` (the exercise's
  step is ``lr * grads``).

The pure maths of each probe is also used by the grader (outside the sandbox) to compute the
expected results; the recording is only done here.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

TRAIN_LOSS_CENTRE = 0.25  # the minimiser of every entry of the quadratic bowl (all arrays but the last)
# The gradient of every entry of the last parameter array (b_2): a step of lr = 0.37 moves b_2 by
# 0.37 * 0.4 (written out) or 0.37 * tanh(0.4) (through train_update), from any starting point.
TRAIN_CLOCK_SLOPE = -0.4
# train_loss's values repeat each time the mean of the last array grows by this: every 20 steps of
# 0.37 * tanh(0.4), 19 of 0.37 * 0.4.
TRAIN_LOSS_PERIOD = 2.8
# log10(value / data factor) along one period: falls from 1 to -14 in its first quarter, stays at -14,
# rises back to 1 in its last quarter (continuous, so that a rounding difference in the clock never
# moves the value by more than rounding).
TRAIN_LOSS_TOP, TRAIN_LOSS_FLOOR, TRAIN_LOSS_FALL = 1.0, -14.0, 0.25
# train_loss_calm: data factor * 20 * exp(-mean(b_2) / 4.7), ~3 % less at every step (~50 at b_2 = 0).
CALM_LOSS_SCALE = 20.0
CALM_LOSS_LENGTH = 4.7
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


def train_potential(leaves, X, Y_true, xp=np, data=None):
    """What the gradient of the probe losses is the gradient of (its value is never shown).

    ``data``: the data factor of X, Y_true when it is already known.
    """
    data = _data_factor(xp, X, Y_true) if data is None else data
    *bowl, clock = leaves
    return data * sum(xp.mean((leaf - TRAIN_LOSS_CENTRE) ** 2) for leaf in bowl) + TRAIN_CLOCK_SLOPE * xp.sum(clock)


def train_loss_gradient(leaves, X, Y_true):
    """The gradient of both probe losses w.r.t. each leaf (NumPy)."""
    data = _data_factor(np, X, Y_true)
    *bowl, clock = leaves
    bowl_gradient = [data * 2.0 * (leaf - TRAIN_LOSS_CENTRE) / leaf.size for leaf in bowl]
    return bowl_gradient + [np.full(np.shape(clock), TRAIN_CLOCK_SLOPE)]


def train_loss_value(leaves, X, Y_true, xp=np, data=None):
    """The value of ``train_loss`` at parameters ``leaves`` (a flat list of arrays)."""
    data = _data_factor(xp, X, Y_true) if data is None else data
    turns = xp.mean(leaves[-1]) / TRAIN_LOSS_PERIOD
    phase = turns - xp.floor(turns)
    slope = (TRAIN_LOSS_TOP - TRAIN_LOSS_FLOOR) / TRAIN_LOSS_FALL
    exponent = xp.maximum(TRAIN_LOSS_FLOOR, TRAIN_LOSS_TOP - slope * xp.minimum(phase, 1.0 - phase))
    return data * xp.exp(exponent * np.log(10.0))


def calm_loss_value(leaves, X, Y_true, xp=np, data=None):
    """The value of ``train_loss_calm`` at parameters ``leaves``."""
    data = _data_factor(xp, X, Y_true) if data is None else data
    return data * CALM_LOSS_SCALE * xp.exp(-xp.mean(leaves[-1]) / CALM_LOSS_LENGTH)


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


# jax.debug.callback hands its arguments over with jax.device_put, which follows the x64 setting of
# the thread the callback runs on: on one of XLA's own threads (outside the agent's enable_x64),
# float64 would arrive as float32, now and then. Their bits, as unsigned words of at most 32 bits,
# arrive unchanged; _record puts the numbers back together.
def _words(x):
    """``x`` as unsigned words of its bits (or ``x`` itself, for dtypes that have no such words)."""
    x = jnp.asarray(x)
    word = {1: jnp.uint8, 2: jnp.uint16, 4: jnp.uint32, 8: jnp.uint32}.get(x.dtype.itemsize)
    if word is None or x.dtype.kind not in "fiu":
        return x
    return jax.lax.bitcast_convert_type(x, word)


def _unwords(words, dtype, shape):
    words = np.ascontiguousarray(words)
    if np.dtype(dtype).kind not in "fiu" or words.dtype.kind != "u":
        return np.array(words)
    return words.view(dtype).reshape(shape)


def _record(rows, kinds, leaves, value):
    if len(EVALUATIONS) < MAX_EVALUATIONS:
        *leaves, value = (_unwords(words, dtype, shape) for words, (dtype, shape) in zip([*leaves, value], kinds))
        EVALUATIONS.append({"params": leaves, "rows": rows, "value": float(value)})


def _probe_loss(name, shown, params, X, Y_true):
    """``shown`` as the value, the gradient of train_potential as the gradient; records the evaluation."""
    CALLED.add(name)
    return _evaluate(shown, jax.tree_util.tree_leaves(params), X, Y_true)


# One compiled function (inlined where the caller jits): a loop that runs eagerly pays for one
# compilation, not for one per operation.
@functools.partial(jax.jit, static_argnums=0)
def _evaluate(shown, leaves, X, Y_true):
    data = _data_factor(jnp, X, Y_true)
    potential = train_potential(leaves, X, Y_true, xp=jnp, data=data)
    # computed from constants (no gradient to trace), then shown + 0, exactly, whose gradient is the potential's
    shown_value = shown(jax.lax.stop_gradient(leaves), X, Y_true, xp=jnp, data=jax.lax.stop_gradient(data))
    value = shown_value + (potential - jax.lax.stop_gradient(potential))
    kinds = tuple((np.dtype(x.dtype), tuple(np.shape(x))) for x in [*leaves, value])
    record = functools.partial(_record, int(np.shape(X)[0]), kinds)
    jax.debug.callback(record, [_words(leaf) for leaf in leaves], _words(value))
    return value


def train_loss(params, X, Y_true):
    """The loss_func given to train_nn; records the parameters of every evaluation."""
    return _probe_loss("train_loss", train_loss_value, params, X, Y_true)


def train_loss_calm(params, X, Y_true):
    """The same gradient as train_loss, with steadily falling values; records every evaluation."""
    return _probe_loss("train_loss_calm", calm_loss_value, params, X, Y_true)


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


PROBES = {f.__name__: f for f in (loss_forward, loss_probabilities, train_loss, train_loss_calm, train_update)}

"""One-hidden-layer MLP for multi-class classification, in JAX.

Conventions shared with the exercise: params = (W_1, b_1, W_2, b_2) with
W_1: (D, H), b_1: (H,), W_2: (H, C), b_2: (C,); X: (N, D); one-hot Y: (N, C).
"""

import jax
import jax.numpy as jnp

DEFAULT_HIDDEN = 16


def softmax(z):
    """Row-wise softmax, stable for large logits.

    Args:
        z: (N, C) logits.

    Returns:
        (N, C) probabilities; every row sums to one.
    """
    # Subtracting the row maximum changes nothing mathematically but keeps exp() finite.
    shifted = z - jnp.max(z, axis=-1, keepdims=True)
    e = jnp.exp(shifted)
    return e / jnp.sum(e, axis=-1, keepdims=True)


def forward_pass(params, X):
    """Logits of the network: tanh hidden layer, linear output layer.

    Args:
        params: (W_1, b_1, W_2, b_2), shapes (D, H), (H,), (H, C), (C,).
        X: (N, D) inputs.

    Returns:
        (N, C) logits (not probabilities).
    """
    W_1, b_1, W_2, b_2 = params
    hidden = jnp.tanh(X @ W_1 + b_1)
    return hidden @ W_2 + b_2


def cross_entropy_loss(params, X, Y_true):
    """Mean over samples of the categorical cross-entropy.

    Args:
        params: (W_1, b_1, W_2, b_2).
        X: (N, D) inputs.
        Y_true: (N, C) one-hot targets.

    Returns:
        0-d array, -1/N * sum_n sum_c Y[n, c] * log softmax(logits)[n, c].
    """
    logits = forward_pass(params, X)
    # log_softmax is the stable form of log(softmax(.)).
    log_probs = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.mean(jnp.sum(Y_true * log_probs, axis=-1))


def update_params(params, grads, lr):
    """One gradient-descent step on every leaf.

    Args:
        params: pytree of arrays.
        grads: pytree of the same structure.
        lr: learning rate (float).

    Returns:
        pytree of the same structure, params - lr * grads.
    """
    return jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)


def init_params(key, n_input, n_hidden, n_output):
    """Xavier-uniform weights, zero biases.

    Each weight matrix of shape (n_in, n_out) is drawn from U(-a, a) with
    a = sqrt(6 / (n_in + n_out)).

    Args:
        key: jax.random key.
        n_input, n_hidden, n_output: layer widths D, H, C.

    Returns:
        (W_1, b_1, W_2, b_2) with shapes (D, H), (H,), (H, C), (C,).
    """
    k_1, k_2 = jax.random.split(key)

    def xavier(k, n_in, n_out):
        limit = jnp.sqrt(6.0 / (n_in + n_out))
        return jax.random.uniform(k, (n_in, n_out), minval=-limit, maxval=limit)

    return (
        xavier(k_1, n_input, n_hidden),
        jnp.zeros(n_hidden),
        xavier(k_2, n_hidden, n_output),
        jnp.zeros(n_output),
    )


def train_nn(X, Y_true, n_iter, lr, loss_func, n_hidden=DEFAULT_HIDDEN, seed=0):
    """Full-batch gradient descent on loss_func.

    Args:
        X: (N, D) inputs.
        Y_true: (N, C) one-hot targets.
        n_iter: number of gradient steps.
        lr: learning rate.
        loss_func: loss_func(params, X, Y_true) -> scalar; the function that is minimised.
        n_hidden: hidden width H.
        seed: seed of the PRNG key used for the initialisation.

    Returns:
        params: the trained (W_1, b_1, W_2, b_2).
        loss_history: list of n_iter floats, the loss before each step.
    """
    params = init_params(jax.random.PRNGKey(seed), X.shape[1], n_hidden, Y_true.shape[1])
    loss_and_grads = jax.jit(jax.value_and_grad(loss_func))
    loss_history = []
    for _ in range(n_iter):
        loss, grads = loss_and_grads(params, X, Y_true)
        params = update_params(params, grads, lr)
        loss_history.append(float(loss))
    return params, loss_history

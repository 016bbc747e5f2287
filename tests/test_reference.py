"""The references check each other: JAX and PyTorch agree in float64, Xavier follows its formula."""

import jax
import jax.numpy as jnp
import numpy as np
import torch

import reference


def _weights(n_input=2, n_hidden=6, n_output=3, seed=7):
    g = np.random.default_rng(seed)
    return (
        g.normal(size=(n_input, n_hidden)),
        g.normal(size=(n_hidden,)),
        g.normal(size=(n_hidden, n_output)),
        g.normal(size=(n_output,)),
    )


def test_jax_and_torch_references_agree_in_float64():
    X, y = reference.make_rings(seed=3)
    Y = reference.one_hot(y)
    params = _weights()
    net = reference.MultiClassNet(2, 6, 3).double()
    with torch.no_grad():
        for param, value in zip(net.parameters(), (params[0].T, params[1], params[2].T, params[3])):
            param.copy_(torch.as_tensor(value))
    with jax.enable_x64(True):
        logits = np.asarray(reference.forward_pass(tuple(map(jnp.asarray, params)), jnp.asarray(X)))
        loss = float(reference.cross_entropy_loss(params, X, Y))
        grads = jax.grad(reference.cross_entropy_loss)(tuple(map(jnp.asarray, params)), X, Y)
    torch_logits = net(torch.as_tensor(X))
    torch_loss = torch.nn.functional.cross_entropy(torch_logits, torch.as_tensor(y))
    torch_loss.backward()
    np.testing.assert_allclose(logits, torch_logits.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(loss, torch_loss.item(), rtol=1e-12)
    torch_grads = [p.grad.numpy() for p in net.parameters()]
    for jax_grad, torch_grad in zip(grads, (torch_grads[0].T, torch_grads[1], torch_grads[2].T, torch_grads[3])):
        np.testing.assert_allclose(np.asarray(jax_grad), torch_grad, rtol=1e-10, atol=1e-12)


def test_softmax_is_stable_and_normalised():
    z = jnp.array([[1000.0, 0.0, -1000.0], [3.0, 1.0, 2.0]])
    p = np.asarray(reference.softmax(z))
    assert np.all(np.isfinite(p))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(p[0], [1.0, 0.0, 0.0], atol=1e-7)


def test_xavier_init_is_uniform_within_its_limit():
    W_1, b_1, W_2, b_2 = reference.init_params(jax.random.PRNGKey(0), 200, 100, 50)
    for W, (n_in, n_out) in ((W_1, (200, 100)), (W_2, (100, 50))):
        limit = np.sqrt(6.0 / (n_in + n_out))
        W = np.asarray(W)
        assert W.shape == (n_in, n_out)
        assert np.abs(W).max() <= limit
        assert np.abs(W).max() > 0.95 * limit  # fills the interval, not a narrower normal
        np.testing.assert_allclose(W.var(), limit**2 / 3, rtol=0.05)  # variance of U(-a, a)
    assert not np.any(b_1) and not np.any(b_2)


def test_rings_data_matches_the_lesson():
    X, y = reference.make_rings(seed=0)
    assert X.shape == (300, 2) and y.shape == (300,)
    assert np.array_equal(np.bincount(y), [100, 100, 100])
    radii = np.linalg.norm(X, axis=1)
    for label, radius in enumerate((0.2, 0.7, 1.2)):
        assert abs(np.median(radii[y == label]) - radius) < 0.1
    again, _ = reference.make_rings(seed=0)
    assert np.array_equal(X, again)


def test_reference_training_separates_the_rings():
    X, y = reference.make_rings(seed=0)
    params, history = reference.train_nn(X, reference.one_hot(y), 1500, 0.5, reference.cross_entropy_loss)
    assert len(history) == 1500 and history[-1] < 0.5 * history[0]
    accuracy = np.mean(np.argmax(np.asarray(reference.forward_pass(params, X)), axis=1) == y)
    assert accuracy > 0.85


def test_torch_reference_training_reduces_the_loss():
    X, y = reference.make_rings(seed=0)
    torch.manual_seed(0)
    history = reference.train_multiclass_net(
        reference.MultiClassNet(), torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y), 300, 0.5
    )
    assert len(history) == 300 and history[-1] < 0.8 * history[0]

"""MultiClassNet(n_input, n_hidden, n_output): one hidden layer of n_hidden tanh units, logits out.

The reference's weights are copied into the submission's module by parameter shape (and order
among equal shapes), then logits and nn.CrossEntropyLoss gradients are compared in float64.
"""

import re

import numpy as np
import pytest
import torch

import reference
from grader_tests import expected, inputs, tolerances
from grader_tests.compare import CheckFailure, Hint, Mistake, assert_close, diagnose
from grader_tests.seeds import rng

RETURNS_PROBS = Hint("returns_probs", "forward returns probabilities; return the logits, nn.CrossEntropyLoss applies the softmax itself")
WRONG_ACTIVATION = Hint("wrong_activation", "the hidden layer uses another activation; this network uses tanh (torch.tanh or nn.Tanh)")
NO_ACTIVATION = Hint("no_activation", "there is no activation between the two linear layers, so the network is linear; add tanh")
RETURNS_LOG_PROBS = Hint(
    "returns_log_probs",
    "forward returns log-probabilities (log_softmax or nn.LogSoftmax at the end); return the logits of the last "
    "nn.Linear, nn.CrossEntropyLoss normalises them itself",
)
OUTPUT_IN_FEATURES = Hint(
    "output_in_features",
    "the output layer does not take the hidden layer's output: its input size must be n_hidden, nn.Linear(n_hidden, n_output)",
)
OUTPUT_ACTIVATION = Hint("output_activation", "an activation is applied to the output layer; the logits come straight from the last nn.Linear")
IGNORES_N_HIDDEN = Hint("ignores_n_hidden", "the hidden layer does not have n_hidden units: use the n_hidden argument, not a fixed number")
TWO_HIDDEN = Hint("two_hidden_layers", "there is more than one hidden layer; this network has exactly one: Linear(n_input, n_hidden) -> tanh -> Linear(n_hidden, n_output)")

SIZES = {"2-5-3": (2, 5, 3), "4-7-2": (4, 7, 2)}


def expected_shapes(n_input, n_hidden, n_output):
    return [(n_hidden, n_input), (n_hidden,), (n_output, n_hidden), (n_output,)]


def _shape_hint(shapes, n_input, n_hidden, n_output):
    weights = [s for s in shapes if len(s) == 2]
    if len(weights) > 2:
        return TWO_HIDDEN
    # nn.Linear(in, out) stores its weight as (out, in); the layers may be registered in any order
    hidden = next((w for w in weights if w[1] == n_input), weights[0] if weights else None)
    output = next((w for w in weights if w is not hidden and w[0] == n_output), None)
    if hidden is not None and hidden[0] != n_hidden:
        return IGNORES_N_HIDDEN
    if hidden is not None and output is not None and output[1] != n_hidden:
        return OUTPUT_IN_FEATURES
    return None


def _explained(error, sizes):
    """A failed call into the module, with the layer sizes of a shape error said in the exercise's terms."""
    n_input, n_hidden, n_output = sizes
    notes, hint = [], None
    for match in re.finditer(r"\((\d+)x(\d+) and (\d+)x(\d+)\)", error.message):
        rows, features, fan_in, fan_out = map(int, match.groups())
        notes.append(f"an nn.Linear({fan_in}, {fan_out}) received inputs with {features} features "
                     f"(n_input={n_input}, n_hidden={n_hidden}, n_output={n_output})")
        if features == n_hidden and fan_out == n_output and fan_in != n_hidden:
            hint = OUTPUT_IN_FEATURES
    return error.explained(hint, "; ".join(notes) or None)


def build(submission, sizes):
    """The submission's module for ``sizes`` and the reference weights matched to its parameters."""
    try:
        module = submission.build_module("MultiClassNet", *sizes)
        shapes = module.parameter_shapes()
    except CheckFailure as error:
        raise _explained(error, sizes) from None
    want = expected_shapes(*sizes)
    if sorted(shapes) != sorted(want):
        raise CheckFailure(
            f"MultiClassNet{sizes} has parameters of shapes {shapes}; one hidden layer needs {want} "
            "(nn.Linear stores weight as (out, in))",
            _shape_hint(shapes, *sizes),
        )
    ref = reference.MultiClassNet(*sizes).double()
    g = rng(f"multiclassnet_weights_{sizes}")
    ref_arrays = [g.normal(size=s) for s in want]
    with torch.no_grad():
        for param, array in zip(ref.parameters(), ref_arrays):
            param.copy_(torch.as_tensor(array))
    unused = list(range(len(want)))
    matched = []
    for shape in shapes:  # by shape, and by order among equal shapes
        i = next(i for i in unused if want[i] == shape)
        unused.remove(i)
        matched.append(i)
    module.set_parameters([ref_arrays[i] for i in matched])
    return module, ref, matched


def forward(module, X, sizes):
    try:
        return module.forward(X)
    except CheckFailure as error:
        raise _explained(error, sizes) from None


def mistakes(ref, X):
    W_1, b_1 = ref.hidden.weight.detach().numpy(), ref.hidden.bias.detach().numpy()
    W_2, b_2 = ref.output.weight.detach().numpy(), ref.output.bias.detach().numpy()

    def net(activation):
        return activation(X @ W_1.T + b_1) @ W_2.T + b_2

    logits = net(np.tanh)
    return [
        Mistake(RETURNS_PROBS, lambda: np.asarray(expected.softmax(logits))),
        Mistake(RETURNS_LOG_PROBS, lambda: np.asarray(expected.log_softmax(logits))),
        Mistake(WRONG_ACTIVATION, lambda: net(lambda a: np.maximum(a, 0.0))),
        Mistake(WRONG_ACTIVATION, lambda: net(lambda a: 1.0 / (1.0 + np.exp(-a)))),
        Mistake(NO_ACTIVATION, lambda: net(lambda a: a)),
        Mistake(OUTPUT_ACTIVATION, lambda: np.tanh(logits)),
        Mistake(OUTPUT_ACTIVATION, lambda: 1.0 / (1.0 + np.exp(-logits))),
    ]


@pytest.mark.parametrize("sizes", SIZES.values(), ids=list(SIZES))
def test_multiclassnet_layers(submission, sizes):
    """An nn.Module with exactly one hidden layer of n_hidden units, mapping (N, n_input) to (N, n_output)."""
    module, _, _ = build(submission, sizes)
    X = inputs.features(f"multiclassnet_layers_{sizes}", 6, sizes[0])
    out = forward(module, X, sizes)
    if tuple(out.shape) != (6, sizes[2]):
        raise CheckFailure(f"MultiClassNet{sizes} maps {X.shape} to {tuple(out.shape)}; expected (6, {sizes[2]})")


def test_multiclassnet_logits(submission):
    """With the same weights, the outputs equal the reference's logits."""
    sizes = (2, 5, 3)
    module, ref, _ = build(submission, sizes)
    X = inputs.features("multiclassnet_logits", 20)
    with torch.no_grad():
        expected = ref(torch.as_tensor(X)).numpy()
    assert_close(forward(module, X, sizes), expected, what="MultiClassNet.forward(X)", mistakes=mistakes(ref, X))


def test_multiclassnet_gradients(submission):
    """With the same weights, nn.CrossEntropyLoss gradients equal the reference's for every parameter."""
    sizes = (3, 6, 4)
    module, ref, matched = build(submission, sizes)
    X = inputs.features("multiclassnet_gradients", 16, 3)
    y = rng("multiclassnet_gradients_y").integers(0, 4, size=16)
    try:
        got = module.cross_entropy_gradients(X, y)
    except CheckFailure as error:
        raise _explained(error, sizes) from None
    loss = torch.nn.functional.cross_entropy(ref(torch.as_tensor(X)), torch.as_tensor(y))
    expected = [g.numpy() for g in torch.autograd.grad(loss, list(ref.parameters()))]
    names = ["hidden weight", "hidden bias", "output weight", "output bias"]
    for grad, i in zip(got, matched):
        if grad is None:
            raise CheckFailure(f"the {names[i]} gets no gradient: is it used in forward?")
        try:
            assert_close(grad, expected[i], what=f"gradient of the cross-entropy w.r.t. the {names[i]}", table=tolerances.GRADIENT)
        except CheckFailure as failure:
            raise failure.explained(_hint_from_values(module, ref, X)) from None


def _hint_from_values(module, ref, X):
    """The hint for wrong gradients: the mistake of the module's outputs, when they are wrong too."""
    try:
        got = np.asarray(module.forward(X), dtype=np.float64)
        with torch.no_grad():
            want = ref(torch.as_tensor(X)).numpy()
        if got.shape == want.shape and np.allclose(got, want, rtol=1e-6, atol=1e-9):
            return None
        return diagnose(got, mistakes(ref, X))
    except Exception:  # noqa: BLE001 - no diagnosis is no hint
        return None

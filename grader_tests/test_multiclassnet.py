"""MultiClassNet(n_input, n_hidden, n_output): one hidden layer of n_hidden tanh units, logits out.

The reference's weights are copied into the submission's module, then logits and
nn.CrossEntropyLoss gradients are compared in float64. Whatever holds the weights (nn.Linear,
nn.Sequential, F.linear calls, nn.Parameter layers of the submission's own, torch.addmm or
X @ W + b) counts: each parameter is matched to a reference parameter by its shape, a weight
stored either as nn.Linear stores it, (out, in), or transposed, (in, out), and a bias either as
(n,) or as a row or column (1, n) / (n, 1). Where shapes leave the match open (square weights,
biases of equal size), the match under which the module computes the reference's logits is taken:
the network is judged by the function it computes.
"""

import itertools
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


def _ways(shape, target):
    """How a parameter of ``shape`` can hold a reference parameter of shape ``target``: transposed or not."""
    shape = tuple(shape)
    if len(target) == 2:
        return [flag for flag, fits in ((False, shape == target), (True, shape == target[::-1])) if fits]
    # a bias: (n,), or a row or column (1, n) / (n, 1) that broadcasts the same way
    fits = 1 <= len(shape) <= 2 and max(shape) == target[0] and int(np.prod(shape)) == target[0]
    return [False] if fits else []


def matchings(shapes, want):
    """Every way to hold the reference's parameters ``want`` in parameters of ``shapes``, most likely first.

    A matching is one (reference index, transposed) pair per parameter of the module, in its
    registration order. First the nn.Linear layout (weights (out, in)), then both weights
    transposed, then mixed; among equal shapes, registration order follows the reference's order.
    """
    if len(shapes) != len(want):
        return []
    found = []
    for roles in itertools.permutations(range(len(want))):
        ways = [_ways(shape, want[role]) for shape, role in zip(shapes, roles)]
        for flags in itertools.product(*ways):
            found.append(tuple(zip(roles, flags)))

    def likelihood(matching):
        flags = [flag for role, flag in matching if len(want[role]) == 2]
        return (len(set(flags)) > 1, sum(flags), [role for role, _ in matching])

    return sorted(found, key=likelihood)


def _loaded(matching, shapes, arrays):
    """The reference ``arrays`` laid out as the module's parameters of ``shapes`` hold them."""
    return [(arrays[role].T if flag else arrays[role]).reshape(shape) for (role, flag), shape in zip(matching, shapes)]


def _as_reference(grad, role, flag, want):
    """A gradient of one of the module's parameters in the layout of the reference's parameter ``role``."""
    grad = np.asarray(grad)
    grad = grad.T if flag else grad
    return grad.reshape(want[role]) if grad.size == int(np.prod(want[role])) else grad


def _shape_hint(shapes, n_input, n_hidden, n_output):
    weights = [s for s in shapes if len(s) == 2 and 1 not in s]
    if len(weights) > 2:
        return TWO_HIDDEN
    # nn.Linear(in, out) stores its weight as (out, in), weights of one's own may be (in, out);
    # the layers may be registered in any order
    if not any(w[1] == n_input for w in weights) and any(w[0] == n_input for w in weights):
        weights = [w[::-1] for w in weights]
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
    """The submission's module for ``sizes``, the reference, and the matching of their parameters.

    The matching (see :func:`matchings`) gives, for each of the module's parameters in order, the
    index of the reference parameter it holds and whether it holds it transposed.
    """
    try:
        module = submission.build_module("MultiClassNet", *sizes)
        shapes = module.parameter_shapes()
    except CheckFailure as error:
        raise _explained(error, sizes) from None
    want = expected_shapes(*sizes)
    options = matchings(shapes, want)
    if not options:
        raise CheckFailure(
            f"MultiClassNet{sizes} has parameters of shapes {shapes}; one hidden layer needs {want} "
            "(nn.Linear stores weight as (out, in); a weight of your own may also be (in, out))",
            _shape_hint(shapes, *sizes),
        )
    ref = reference.MultiClassNet(*sizes).double()
    g = rng(f"multiclassnet_weights_{sizes}")
    ref_arrays = [g.normal(size=s) for s in want]
    with torch.no_grad():
        for param, array in zip(ref.parameters(), ref_arrays):
            param.copy_(torch.as_tensor(array))
    matched = _computing_reference(module, ref, options, shapes, ref_arrays, sizes)
    module.set_parameters(_loaded(matched, shapes, ref_arrays))
    return module, ref, matched


def _computing_reference(module, ref, options, shapes, arrays, sizes):
    """The matching under which the module computes the reference's logits.

    Shapes decide alone when only one matching fits them; otherwise (square weights, biases of
    equal size) each is tried on a few inputs, and the module is judged by what it computes. When
    no matching gives the reference's logits, the first one under which the module makes a known
    mistake (so that the checks can name it), else the likeliest.
    """
    if len(options) == 1:
        return options[0]
    X = inputs.features(f"multiclassnet_matching_{sizes}", 8, sizes[0])
    with torch.no_grad():
        want = ref(torch.as_tensor(X)).numpy()
    outputs = []
    for matching in options:
        try:
            module.set_parameters(_loaded(matching, shapes, arrays))
            got = np.asarray(module.forward(X), dtype=np.float64)
        except CheckFailure as error:  # a failing forward is reported by the checks themselves
            if error.stop is not None:  # timed out, or the process stopped: trying more would only wait
                break
            continue
        except (TypeError, ValueError):  # an answer that is no array is reported by the checks too
            continue
        if got.shape == want.shape and np.allclose(got, want, rtol=1e-7, atol=1e-10):
            return matching
        outputs.append((matching, got))
    known = mistakes(ref, X)
    return next((matching for matching, got in outputs if diagnose(got, known) is not None), options[0])


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
    want = expected_shapes(*sizes)
    for grad, (i, transposed) in zip(got, matched):
        if grad is None:
            raise CheckFailure(f"the {names[i]} gets no gradient: is it used in forward?")
        try:
            assert_close(_as_reference(grad, i, transposed, want), expected[i],
                         what=f"gradient of the cross-entropy w.r.t. the {names[i]}", table=tolerances.GRADIENT)
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

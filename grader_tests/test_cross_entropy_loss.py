"""cross_entropy_loss(params, X, Y_true): mean over samples of the categorical cross-entropy.

Checked with probes in place of the submission's forward_pass and softmax (sandbox.probes: a sine
network and normalised sigmoids, neither an answer), so a mistake there costs no points here. The
expected loss is the cross-entropy of what the loss actually called: the probes when it called
forward_pass and softmax, the exercise's network and softmax where it computed them itself
(log_softmax, logsumexp, an inlined network are all correct).
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from grader_tests import expected, inputs, tolerances
from grader_tests.compare import CheckFailure, Hint, Mistake, assert_close, assert_tree_close, diagnose, explain_shapes, shapes_in
from sandbox import probes

SUM_NOT_MEAN = Hint("sum_not_mean", "the loss is summed over the samples; take the mean over samples (divide by N)")
MISSING_MINUS = Hint("missing_minus", "the sign is flipped: cross-entropy is MINUS the sum of y * log(p), so it is >= 0")
MEAN_OVER_ALL = Hint("mean_over_all", "the mean runs over all N*C entries; sum over the classes, then average over the N samples")
BINARY_FORM = Hint("binary_form", "this is the binary cross-entropy (with a (1-y) log(1-p) term); multi-class uses -sum_c y_c log p_c")
READS_GLOBAL = Hint("reads_global", "the loss does not follow its arguments: use the params, X and Y_true passed in, not global variables")
LOG_BASE = Hint("log_base", "the logarithm has the wrong base (log2 or log10); cross-entropy uses the natural log, jnp.log")
DOUBLE_SOFTMAX = Hint(
    "double_softmax",
    "softmax is applied twice: the probabilities are normalised again (softmax or log_softmax of softmax(logits)); "
    "apply softmax (or log_softmax) once, to the logits",
)
NO_LOG = Hint(
    "no_log",
    "the loss uses the probabilities themselves; cross-entropy takes their logarithm: -mean(sum(Y_true * log(p), axis=1))",
)
RAW_LOGITS = Hint(
    "raw_logits",
    "the cross-entropy is computed on the raw logits; turn them into probabilities first: log(softmax(logits)) "
    "(or jax.nn.log_softmax(logits))",
)
MSE = Hint(
    "mse",
    "this is a squared error between the probabilities and Y_true; the exercise asks for the cross-entropy "
    "-mean(sum(Y_true * log(softmax(logits)), axis=1))",
)
REGULARIZATION = Hint(
    "regularization",
    "the loss adds a term that depends only on the parameters (a weight penalty, L2 regularisation); return the "
    "plain mean cross-entropy, without extra terms",
)
NOT_REDUCED = Hint(
    "not_reduced",
    "the loss is an array, not one number: sum over the classes (axis=1), then take the mean over the samples",
)

# Samples of the exercise data (the notebook's globals X, Y, y); no check passes this many except on purpose.
RINGS_SAMPLES = 300

REPLACE = {"forward_pass": "loss_forward", "softmax": "loss_probabilities"}
# Few distinct shapes: eager JAX compiles every operation once per shape.
CASES = {"small": 5, "rings_sized": 300}


def _args(params, X, Y):
    return tuple(map(jnp.asarray, params)), jnp.asarray(X), jnp.asarray(Y)


@functools.partial(jax.jit, static_argnums=(3, 4))
def _loss(params, X, Y, forward, probabilities):
    logits = forward(params, X)
    log_p = jax.nn.log_softmax(logits, axis=-1) if probabilities is None else jnp.log(probabilities(logits))
    return -jnp.mean(jnp.sum(Y * log_p, axis=-1))


_loss_grad = jax.jit(jax.grad(_loss), static_argnums=(3, 4))


def candidates(called):
    """(forward, probabilities) pairs a correct loss computes, given the probes it called; first = most likely."""
    forward = probes.sine_network if "loss_forward" in called else expected.forward_pass
    if "loss_probabilities" in called:
        return [(forward, probes.normalised_sigmoids), (forward, None)]
    return [(forward, None)]


def expected_loss(params, X, Y, candidate):
    return float(_loss(*_args(params, X, Y), *candidate))


def matching(got, params, X, Y, called):
    """The candidate whose loss ``got`` equals (or the most likely one when none does)."""
    options = candidates(called)
    for candidate in options:
        tol = tolerances.lookup(tolerances.loss_value_table(p_true(params, X, Y, candidate)), np.asarray(got).dtype)
        if np.isclose(float(np.asarray(got, dtype=np.float64)), expected_loss(params, X, Y, candidate), rtol=tol.rtol, atol=tol.atol):
            return candidate
    return options[0]


def p_true(params, X, Y, candidate):
    """The probability each sample's true class gets under ``candidate``."""
    forward, probabilities = candidate
    logits = forward(*_args(params, X, Y)[:2])
    probs = np.asarray(expected.softmax(logits) if probabilities is None else probabilities(logits))
    return (probs * np.asarray(Y)).sum(axis=1)


def sensitivity(params, X, Y, candidate):
    """max over parameter entries of mean_n |d log p_n / d theta| / p_n (see tolerances.loss_gradient_table)."""
    return float(_sensitivity(*_args(params, X, Y), *candidate))


@functools.partial(jax.jit, static_argnums=(3, 4))
def _sensitivity(params, X, Y, forward, probabilities):
    # Jitted: eager jax.jacrev of the network traced and compiled each operation on its own, 4 s of
    # the first student's checks on a worker; compiled whole it is 1 s, the same value to the bit.
    def log_p(params):
        logits = forward(params, X)
        log_probs = jax.nn.log_softmax(logits, axis=-1) if probabilities is None else jnp.log(probabilities(logits))
        return jnp.sum(Y * log_probs, axis=-1)

    p = jnp.exp(log_p(params))
    jacobians = jax.jacrev(log_p)(params)
    return jnp.max(jnp.stack([jnp.max(jnp.mean(jnp.abs(j) / p.reshape((-1,) + (1,) * (j.ndim - 1)), axis=0)) for j in jacobians]))


def mistakes(params, X, Y, candidate):
    """What known mistakes compute on these inputs, given what the loss called (``candidate``)."""
    forward, probabilities = candidate
    Y = np.asarray(Y, dtype=np.float64)
    logits = np.asarray(forward(*_args(params, X, Y)[:2]), dtype=np.float64)
    probs = np.asarray(expected.softmax(logits) if probabilities is None else probabilities(logits), dtype=np.float64)
    with np.errstate(all="ignore"):
        per_sample = -(Y * np.log(probs)).sum(axis=1)
        bce = -(Y * np.log(probs) + (1 - Y) * np.log(1 - probs))
        p_right = (Y * probs).sum(axis=1)
        twice = [np.asarray(expected.softmax(probs))]  # softmax (or log_softmax) of the probabilities
        if probabilities is not None:
            twice.append(np.asarray(probabilities(probs)))
        squared = (probs - Y) ** 2
    mean = lambda values: values.sum(axis=1).mean()  # noqa: E731 - sum over classes, mean over samples
    return [
        Mistake(SUM_NOT_MEAN, lambda: per_sample.sum()),
        Mistake(MISSING_MINUS, lambda: -per_sample.mean()),
        Mistake(MEAN_OVER_ALL, lambda: per_sample.mean() / Y.shape[1]),
        Mistake(BINARY_FORM, lambda: bce.mean()),
        Mistake(BINARY_FORM, lambda: bce.sum(axis=1).mean()),
        Mistake(LOG_BASE, lambda: per_sample.mean() / np.log(2.0)),
        Mistake(LOG_BASE, lambda: per_sample.mean() / np.log(10.0)),
        *(Mistake(DOUBLE_SOFTMAX, lambda q=q: -mean(Y * np.log(q))) for q in twice),
        Mistake(NO_LOG, lambda: -p_right.mean()),
        Mistake(NO_LOG, lambda: (1.0 - p_right).mean()),
        Mistake(RAW_LOGITS, lambda: -mean(Y * logits)),
        Mistake(RAW_LOGITS, lambda: -(Y * logits).mean()),
        Mistake(MSE, lambda: mean(squared)),
        Mistake(MSE, lambda: 0.5 * mean(squared)),
        Mistake(MSE, lambda: squared.mean()),
        Mistake(MSE, lambda: squared.sum()),
        Mistake(MSE, lambda: 0.5 * squared.sum()),
    ]


def exercise_data_mistakes(params, X, Y, candidate):
    """The loss of the notebook's data (its globals X and Y) instead of the arguments."""
    rings_X, rings_Y, _ = inputs.rings()
    found = [Mistake(READS_GLOBAL, lambda: expected_loss(params, rings_X, rings_Y, candidate))]
    if np.shape(X) == rings_X.shape:  # the passed X with the notebook's Y
        found.append(Mistake(READS_GLOBAL, lambda: expected_loss(params, X, rings_Y, candidate)))
    return found


def scalar(value, what):
    """The loss as a float64 0-d array; a size-1 array is accepted, anything else fails."""
    array = np.asarray(value.detach() if hasattr(value, "detach") else value)
    if array.size != 1:
        raise CheckFailure(f"{what} has shape {array.shape}; the loss is a single number (the mean over samples)", NOT_REDUCED if array.ndim else None)
    return array.reshape(())


def call(submission, params, X, Y, what):
    """(loss as a 0-d array, Trace); a failed call names the likely mistake where its error shows one."""
    try:
        got, trace = submission.call_traced("cross_entropy_loss", *_args(params, X, Y), replace=REPLACE)
    except CheckFailure as error:
        raise explained(error, params, X, Y, submission) from None
    return scalar(got, what), trace


def explained(error, params, X, Y, submission=None):
    """A failed call: an array of the exercise's 300 samples in it, when none was passed, is a global's.

    When the message names none, the evidence of :func:`notebook_targets` (asked of ``submission``)
    may still show that the loss takes its targets from the notebook's data.
    """
    n = np.shape(X)[0]
    shapes = shapes_in(error.message)
    rings = RINGS_SAMPLES
    hint = READS_GLOBAL if n != rings and any(rings in shape for shape in shapes) else None
    known = {np.shape(X): "X (n_samples, n_input)", np.shape(Y): "Y_true (n_samples, n_classes)", (n,): "one value per sample"}
    if n != rings:
        known.update({(rings, np.shape(Y)[1]): f"the notebook's one-hot Y ({rings} samples): a global, not the Y_true argument",
                      (rings,): f"the notebook's {rings} labels: a global, not the Y_true argument",
                      (rings, np.shape(X)[1]): f"the notebook's X ({rings} samples): a global, not the X argument"})
    failure = error.explained(hint, explain_shapes(error.message, known))
    if failure.hint is None and submission is not None and error.stop is None:  # a time-out is not run again
        note = notebook_targets(submission)
        if note is not None:
            failure = failure.explained(READS_GLOBAL, note)
    return failure


_NOTEBOOK_TARGETS = {}  # id(submission) -> (submission, the line of evidence, or None)


def notebook_targets(submission):
    """A line of evidence that the loss takes its targets from the notebook's data, not Y_true; or None.

    One call on as many samples as the exercise data, with random inputs and random one-hot
    targets: a loss that gives the cross-entropy of the notebook's one-hot Y there, and not of the
    Y_true it was handed, reads its targets from a global (Y, Y_onehot or y), whatever form the
    rest of it has (an index with the notebook's labels, a slice of Y...). Asked once per
    submission, and only after a check failed that nothing else explains.
    """
    key = id(submission)
    if key not in _NOTEBOOK_TARGETS or _NOTEBOOK_TARGETS[key][0] is not submission:
        rings_X, rings_Y, _ = inputs.rings()
        params = inputs.params("loss_notebook_targets")
        X = inputs.features("loss_notebook_targets_X", RINGS_SAMPLES)
        Y = inputs.targets("loss_notebook_targets_Y", RINGS_SAMPLES)
        found = None
        try:
            got, trace = submission.call_traced("cross_entropy_loss", *_args(params, X, Y), replace=REPLACE)
            got = float(scalar(got, "cross_entropy_loss"))
            close = lambda value: np.isclose(got, value, rtol=1e-6, atol=1e-9)  # noqa: E731
            for candidate in candidates(trace.called):
                if close(expected_loss(params, X, Y, candidate)):
                    break  # it follows Y_true
                if close(expected_loss(params, X, rings_Y, candidate)):
                    found = "the notebook's one-hot Y: it reads the targets from a global, not from its Y_true argument"
                elif close(expected_loss(params, rings_X, rings_Y, candidate)):
                    found = ("the notebook's X and one-hot Y: it reads the inputs and the targets from globals, not from "
                             "its X and Y_true arguments")
                if found:
                    found = (f"with {RINGS_SAMPLES} random samples and random targets as X and Y_true, cross_entropy_loss "
                             f"gives {got:.6g}, the cross-entropy of {found}")
                    break
        except Exception:  # noqa: BLE001 - a call that fails is no evidence
            found = None
        _NOTEBOOK_TARGETS[key] = (submission, found)
    return _NOTEBOOK_TARGETS[key][1]


def explained_value(failure, submission, got, params, X, Y, candidate):
    """A wrong loss value with its likely mistake (see :func:`value_hint`), or the evidence of reading the notebook's targets."""
    hint = value_hint(submission, got, params, X, Y, candidate)
    if hint is None:
        note = notebook_targets(submission)
        if note is not None:
            return failure.explained(READS_GLOBAL, note)
    return failure.explained(hint)


def value_hint(submission, got, params, X, Y, candidate):
    """The likely mistake of a wrong loss value: a known formula, the notebook's data, or a weight penalty."""
    found = diagnose(np.asarray(got, dtype=np.float64), [*mistakes(params, X, Y, candidate), *exercise_data_mistakes(params, X, Y, candidate)])
    return found or penalty_hint(submission, got, params, X, Y, candidate)


def penalty_hint(submission, got, params, X, Y, candidate):
    """REGULARIZATION when the extra loss depends only on the parameters and grows with them.

    Evidence from two more calls: the same params with other data (the difference to the expected
    loss stays the same), and twice the params (the difference grows, as a penalty does).
    """
    try:
        extra = float(got) - expected_loss(params, X, Y, candidate)
        if not extra > 1e-9:
            return None
        n = np.shape(X)[0]
        other_X, other_Y = inputs.features("loss_penalty_X", n), inputs.targets("loss_penalty_Y", n)
        got_other, _ = submission.call_traced("cross_entropy_loss", *_args(params, other_X, other_Y), replace=REPLACE)
        extra_other = float(scalar(got_other, "")) - expected_loss(params, other_X, other_Y, candidate)
        doubled = tuple(2.0 * np.asarray(p) for p in params)
        got_doubled, _ = submission.call_traced("cross_entropy_loss", *_args(doubled, X, Y), replace=REPLACE)
        extra_doubled = float(scalar(got_doubled, "")) - expected_loss(doubled, X, Y, candidate)
    except Exception:  # noqa: BLE001 - no evidence, no hint
        return None
    if np.isclose(extra_other, extra, rtol=1e-6, atol=1e-12) and extra_doubled > 1.5 * extra:
        return REGULARIZATION
    return None


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_cross_entropy_loss_value(submission, case):
    """The loss equals the reference's on random parameters, inputs and one-hot targets."""
    n = CASES[case]
    params = inputs.params(f"loss_value_{case}")
    X, Y = inputs.features(f"loss_value_{case}_X", n), inputs.targets(f"loss_value_{case}_Y", n)
    what = f"cross_entropy_loss for {n} samples"
    got, trace = call(submission, params, X, Y, what)
    candidate = matching(got, params, X, Y, trace.called)
    try:
        assert_close(got, expected_loss(params, X, Y, candidate), what=what,
                     table=tolerances.loss_value_table(p_true(params, X, Y, candidate)))
    except CheckFailure as failure:
        raise explained_value(failure, submission, got, params, X, Y, candidate) from None


def test_cross_entropy_loss_gradient(submission):
    """jax.grad of the loss w.r.t. every parameter equals the reference's."""
    params = inputs.params("loss_gradient")
    X, Y = inputs.features("loss_gradient_X", 300), inputs.targets("loss_gradient_Y", 300)
    args = _args(params, X, Y)
    got_loss, trace = call(submission, params, X, Y, "cross_entropy_loss")
    candidate = matching(got_loss, params, X, Y, trace.called)
    try:
        _, (got_grads, _, _) = submission.vjp("cross_entropy_loss", args, jnp.ones(()), replace=REPLACE)
    except CheckFailure as error:
        raise explained(error, params, X, Y, submission) from None
    want = _loss_grad(*args, *candidate)
    table = tolerances.loss_gradient_table(p_true(params, X, Y, candidate), sensitivity(params, X, Y, candidate))
    factors = ((SUM_NOT_MEAN, 300.0), (MISSING_MINUS, -1.0), (MEAN_OVER_ALL, 1 / 3), (LOG_BASE, 1 / np.log(2.0)), (LOG_BASE, 1 / np.log(10.0)))
    hint_for = lambda i: [Mistake(h, lambda i=i, m=m: np.asarray(want[i]) * m) for h, m in factors]  # noqa: E731
    value_tol = tolerances.lookup(tolerances.loss_value_table(p_true(params, X, Y, candidate)), got_loss.dtype)
    value_ok = np.isclose(float(got_loss), expected_loss(params, X, Y, candidate), rtol=value_tol.rtol, atol=value_tol.atol)
    try:
        assert_tree_close(
            tuple(got_grads) if isinstance(got_grads, list) else got_grads, want,
            what="gradient of cross_entropy_loss w.r.t.", names=inputs.PARAM_NAMES, table=table, mistakes_for=hint_for,
        )
    except CheckFailure as failure:
        # the gradient of a wrong loss is wrong in the loss's own way
        if value_ok:
            raise failure.explained(None) from None
        raise explained_value(failure, submission, got_loss, params, X, Y, candidate) from None


def test_cross_entropy_loss_uses_its_arguments(submission):
    """The loss follows the params, X and Y_true it is given (on inputs shaped like the exercise data)."""
    X, Y, _ = inputs.rings()
    params = inputs.params("loss_uses_arguments")
    other_X = inputs.features("loss_uses_arguments_X", X.shape[0])
    other_Y = inputs.targets("loss_uses_arguments_Y", X.shape[0])
    other_params = inputs.params("loss_uses_arguments_other")
    for label, (p, x, y) in {
        "the exercise data": (params, X, Y),
        "other X": (params, other_X, Y),
        "other Y_true": (params, X, other_Y),
        "other params": (other_params, X, Y),
    }.items():
        what = f"cross_entropy_loss with {label}"
        got, trace = call(submission, p, x, y, what)
        candidate = matching(got, p, x, y, trace.called)
        try:
            assert_close(got, expected_loss(p, x, y, candidate), what=what,
                         table=tolerances.loss_value_table(p_true(p, x, y, candidate)))
        except CheckFailure as failure:
            # Globals can only explain a loss that is right on the exercise data and wrong on the others.
            if label == "the exercise data":
                raise explained_value(failure, submission, got, p, x, y, candidate) from None
            raise failure.explained(READS_GLOBAL) from None


def test_cross_entropy_loss_finite_differences(submission):
    """The loss's own gradient agrees with central differences of its values (a second opinion)."""
    params = tuple(map(jnp.asarray, inputs.params("loss_finite_differences")))
    X, Y = inputs.features("loss_fd_X", 5), inputs.targets("loss_fd_Y", 5)
    direction = tuple(jnp.asarray(d) for d in inputs.params("loss_fd_direction"))
    h = tolerances.FINITE_DIFFERENCE_STEP

    def loss_at(step):
        moved = tuple(p + step * d for p, d in zip(params, direction))
        return float(call(submission, moved, X, Y, "cross_entropy_loss")[0])

    numeric = (loss_at(h) - loss_at(-h)) / (2 * h)
    try:
        _, (grads, _, _) = submission.vjp("cross_entropy_loss", (params, jnp.asarray(X), jnp.asarray(Y)), jnp.ones(()), replace=REPLACE)
    except CheckFailure as error:
        raise explained(error, params, X, Y, submission) from None
    analytic = sum(float(jnp.vdot(g, d)) for g, d in zip(grads, direction))
    tol = tolerances.FINITE_DIFFERENCE
    if not np.isclose(analytic, numeric, rtol=tol.rtol, atol=tol.atol):
        found = (f"the gradient of cross_entropy_loss along a random direction is {analytic:.6g}, but its "
                 f"values change at a rate of {numeric:.6g}")
        # e.g. rows picked with the notebook's 300 labels from a 5-sample batch: JAX clamps the
        # indices for the values, and drops them for the gradient
        note = notebook_targets(submission)
        if note is not None:
            raise CheckFailure(f"{found}\n  {note}", READS_GLOBAL)
        raise CheckFailure(
            f"{found}: something blocks or alters the gradient (stop_gradient, a NumPy round trip, a custom derivative)"
        )

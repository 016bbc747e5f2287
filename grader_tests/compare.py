"""Comparing a submission's results with the reference, with messages a student can act on."""

import re
from dataclasses import dataclass
from typing import Callable

import numpy as np

from grader_tests import tolerances


class CheckFailure(AssertionError):
    """A check failed. ``str()`` is the student-facing message; ``hint`` names the likely mistake."""

    stop = None  # why the submission's process stopped, when that failed the check (grader_tests.submission)
    not_attempted = False  # the submission's function is the release's stub, untouched (it raised NotImplementedError)

    def __init__(self, message, hint=None):
        self.hint = hint
        self.message = message
        text = message if hint is None else f"{message}\nHint: {hint.text}"
        super().__init__(text)

    def explained(self, hint=None, note=None):
        """The same failure with ``note`` (a line of explanation) added and ``hint`` when it had none."""
        message = self.message if not note else f"{self.message}\n  {note}"
        failure = CheckFailure(message, self.hint or hint)
        failure.stop, failure.not_attempted = self.stop, self.not_attempted
        return failure


@dataclass(frozen=True)
class Hint:
    """A known mistake: an id for the grader's own tests and a sentence for the student."""

    id: str
    text: str


@dataclass(frozen=True)
class Mistake:
    """A known mistake and what it would produce on the check's inputs."""

    hint: Hint
    produce: Callable[[], object]


def diagnose(actual, mistakes, tolerance=tolerances.Tolerance(rtol=1e-5, atol=1e-7)):
    """The hint of the first mistake whose output ``actual`` matches, or None."""
    for mistake in mistakes:
        try:
            candidate = np.asarray(mistake.produce(), dtype=np.float64)
            if candidate.shape != actual.shape:
                continue
            if np.allclose(actual, candidate, rtol=tolerance.rtol, atol=tolerance.atol, equal_nan=True):
                return mistake.hint
        except Exception:  # a candidate that cannot be formed on these inputs just does not match
            continue
    return None


_SHAPE = re.compile(r"\((\d+(?:\s*,\s*\d+)*)?\s*,?\s*\)|\b(\d+)x(\d+)\b")


def shapes_in(text):
    """The array shapes a message names, in order: "(4, 5)", "(5,)", torch's "6x5"."""
    shapes = []
    for match in _SHAPE.finditer(text):
        if match.group(2) is not None:
            shape = (int(match.group(2)), int(match.group(3)))
        elif match.group(1) is not None:
            shape = tuple(int(n) for n in match.group(1).split(","))
        else:
            continue  # "()" is too common in messages to be evidence
        if shape not in shapes:
            shapes.append(shape)
    return shapes


def explain_shapes(text, known):
    """A line naming the shapes of a (shape-related) error message, e.g. "(5, 3) is W_2 (H, C)".

    Args:
        text: the message of the submission's error.
        known: {shape: what has this shape in the check}, e.g. {(5, 3): "W_2, shape (n_hidden, n_output)"}.

    Returns the line, or None when the message names no shape the check knows.
    """
    if "contracting dimension" in text:
        return None  # its tuples are the sizes of the summed axes, not shapes of arrays
    named = [f"{shape} is {known[shape]}" for shape in shapes_in(text) if shape in known]
    return "the shapes in this error: " + "; ".join(named) if named else None


def as_float_array(value, what):
    """``value`` as a float ndarray (a JAX array, torch tensor, number...), or a CheckFailure."""
    if value is None:
        raise CheckFailure(f"{what} is None: did the function forget to `return` its result?")
    if hasattr(value, "detach"):  # torch tensor
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value)
    except Exception as error:
        raise CheckFailure(f"{what} is a {type(value).__name__}, which is not an array: {error}") from None
    if array.dtype == object or not np.issubdtype(array.dtype, np.number):
        raise CheckFailure(f"{what} is a {type(value).__name__} of {array.dtype}, expected a float array")
    if not np.issubdtype(array.dtype, np.floating):
        raise CheckFailure(f"{what} has dtype {array.dtype}, expected a floating-point array")
    return array


def _index(flat_index, shape):
    return tuple(int(i) for i in np.unravel_index(flat_index, shape)) if shape else ()


def assert_close(actual, expected, *, what, table=tolerances.VALUE, mistakes=(), hint=None):
    """Fails with a readable report unless ``actual`` matches ``expected`` within the table's tolerance.

    Args:
        actual: the submission's result (array-like).
        expected: the reference result (array-like).
        what: what is compared, e.g. "softmax(z)"; starts every message.
        table: tolerances.VALUE or tolerances.GRADIENT.
        mistakes: Mistake candidates; the first one ``actual`` matches becomes the hint.
        hint: the hint to give when no mistake matches.
    """
    actual = as_float_array(actual, what)
    expected = np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape:
        found = diagnose(actual.astype(np.float64), mistakes) or hint
        raise CheckFailure(f"{what} has shape {actual.shape}, expected {expected.shape}", found)
    tol = tolerances.lookup(table, actual.dtype)
    got = actual.astype(np.float64)
    close = np.isclose(got, expected, rtol=tol.rtol, atol=tol.atol)
    if close.all():
        return
    lines = [f"{what} differs from the expected values (dtype {actual.dtype}, shape {actual.shape})"]
    n_bad, n_all = int((~close).sum()), close.size
    lines.append(f"  mismatched elements: {n_bad} / {n_all} ({100.0 * n_bad / n_all:.1f}%)")
    non_finite = int((~np.isfinite(got)).sum())
    if non_finite:
        lines.append(f"  non-finite values (nan or inf): {non_finite}")
    with np.errstate(invalid="ignore", over="ignore"):
        abs_diff = np.where(np.isfinite(got), np.abs(got - expected), np.inf)
        rel_diff = abs_diff / np.maximum(np.abs(expected), np.finfo(np.float64).tiny)
    worst_abs, worst_rel = int(np.argmax(abs_diff)), int(np.argmax(rel_diff))
    lines.append(
        f"  greatest absolute difference: {abs_diff.flat[worst_abs]:.3g} at index "
        f"{_index(worst_abs, got.shape)} (up to {tol.atol:g} allowed)"
    )
    lines.append(
        f"  greatest relative difference: {rel_diff.flat[worst_rel]:.3g} at index "
        f"{_index(worst_rel, got.shape)} (up to {tol.rtol:g} allowed)"
    )
    raise CheckFailure("\n".join(lines), diagnose(got, mistakes) or hint)


def assert_tree_close(actual, expected, *, what, names, table=tolerances.VALUE, mistakes_for=None, hint=None):
    """assert_close on each leaf of a flat sequence (e.g. the four parameters), leaf names in messages."""
    if not isinstance(actual, (tuple, list)) or len(actual) != len(expected):
        kind = type(actual).__name__
        size = len(actual) if isinstance(actual, (tuple, list)) else "?"
        raise CheckFailure(f"{what} is a {kind} of {size} items, expected a tuple of {len(expected)}: {', '.join(names)}", hint)
    for i, (got, want, name) in enumerate(zip(actual, expected, names)):
        mistakes = mistakes_for(i) if mistakes_for else ()
        assert_close(got, want, what=f"{what}: {name}", table=table, mistakes=mistakes, hint=hint)

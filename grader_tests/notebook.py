"""Entry point of the hidden block in each test cell of the exercise notebook.

``grade_part("softmax", globals())`` runs that part's checks against the notebook's own namespace,
prints each check's result and hint (never the checks' code or inputs), and returns the part's
score, which nbgrader reads as the cell's partial credit.
"""

import builtins
import contextlib

from grader_tests.report import format_part
from grader_tests.runner import run_checks
from grader_tests.submission import InProcessSubmission


# The builtins as they were when the grader was first imported (make grade imports it before any
# student cell runs), so that `builtins.sum = ...` in a student cell cannot change a score.
_PRISTINE_BUILTINS = dict(vars(builtins))


@contextlib.contextmanager
def _pristine_builtins():
    current = dict(vars(builtins))
    vars(builtins).update(_PRISTINE_BUILTINS)
    try:
        yield
    finally:
        vars(builtins).update(current)


def grade_part(part, namespace):
    """Runs the checks of ``part`` on ``namespace``; prints the results, returns the score."""
    with _pristine_builtins():
        result = run_checks(InProcessSubmission(namespace, label="notebook"), parts=(part,))[part]
    print(format_part(part, result))
    return result["score"]

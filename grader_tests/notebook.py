"""Entry point of the hidden block in each test cell of the exercise notebook.

``grade_part("softmax", globals())`` runs that part's checks against the notebook's own namespace,
prints each check's result and hint (never the checks' code or inputs), and returns the part's
score, which nbgrader reads as the cell's partial credit.
"""

from grader_tests.report import format_part
from grader_tests.runner import run_checks
from grader_tests.submission import InProcessSubmission


def grade_part(part, namespace):
    result = run_checks(InProcessSubmission(namespace, label="notebook"), parts=(part,))[part]
    print(format_part(part, result))
    return result["score"]

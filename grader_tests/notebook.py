"""Entry point of the hidden block in each test cell, for plain ``nbgrader autograde``.

``grade_part("softmax", globals())`` runs that part's checks against the notebook's namespace in
the student's own kernel (no sandbox: plain nbgrader runs the hidden block there), prints each
check's result and hint (never the checks' code or inputs), and returns the part's score, which
nbgrader reads as the cell's partial credit. ``make grade`` does not run this block: it runs the
same checks outside a sandboxed kernel (grading.execute).
"""

from grader_tests.report import format_part
from grader_tests.runner import run_checks
from grader_tests.submission import in_process


def grade_part(part, namespace):
    """Runs the checks of ``part`` on ``namespace``; prints the results, returns the score."""
    result = run_checks(in_process(namespace, label="notebook"), parts=(part,))[part]
    print(format_part(part, result))
    return result["score"]

"""The cells of the exercise notebook, as grading reads them: test cells, answer cells, skipped cells.

One copy of each rule; the agent behind the wall reads notebooks by the same tag and magic rule
(sandbox.cell_rules, where they are defined, since nothing of the course is there).
"""

from nbgrader import utils

from grader_tests.points import PARTS
from sandbox.cell_rules import SKIP_TAG, strip_magics  # noqa: F401 - one copy, shared with the agent

# grade_id of each graded part's test cell and of its answer cell in the exercise notebook.
GRADE_ID_OF_PART = {part: f"{part}_checks" for part in PARTS}
PART_OF_GRADE_ID = {grade_id: part for part, grade_id in GRADE_ID_OF_PART.items()}
ANSWER_ID_OF_PART = {part: f"{part}_code" for part in PARTS}
PART_OF_ANSWER_ID = {answer_id: part for part, answer_id in ANSWER_ID_OF_PART.items()}


def is_test_cell(cell):
    """A graded cell that is not an answer: nbgrader's test cell (autograder tests)."""
    return utils.is_grade(cell) and not utils.is_solution(cell)


def part_of_test_cell(cell):
    """The part whose checks ``cell`` runs, or None."""
    if not is_test_cell(cell):
        return None
    return PART_OF_GRADE_ID.get(cell.metadata.get("nbgrader", {}).get("grade_id"))

"""Fixtures shared by the checks: the submission under test and float64 everywhere."""

import jax
import pytest


def pytest_addoption(parser):
    parser.addoption("--submission", default=None, help="a .py or .ipynb file defining the six graded names")


@pytest.fixture(scope="session")
def submission(request):
    """The code under test: given by the runner (python -m grading.check, make grade, grade_part)."""
    given = getattr(request.config, "grader_submission", None)
    if given is None:
        raise pytest.UsageError("grader_tests checks a submission: run python -m grading.check PATH")
    return given


@pytest.fixture(autouse=True)
def float64():
    """Checks compare in float64; the flag is scoped to the check and restored afterwards."""
    with jax.enable_x64(True):
        yield

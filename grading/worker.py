"""Grading one student, inside a long-lived worker process (nbgrader is imported once per worker)."""

import ctypes
import json
import logging
import os
import re
import signal
import time

import nbformat

from grading.course import (
    ASSIGNMENT, AUTOGRADED, CHECKS, LOGS, NOTEBOOK, PART_OF_GRADE_ID, ROOT, SUBMITTED, nbgrader_config,
)
from grading.execute import KERNEL_DIED_MARK
from grading.intake import take_in
from grader_tests.points import MAX_TOTAL, PARTS
from sandbox.agent import TIMEOUT_MARK

_api = None
_db_url = None
_sandboxed = True

# Text in a test cell's output (written by the grader, never by the kernel) that names a problem.
MARKS = {TIMEOUT_MARK: "timed out", KERNEL_DIED_MARK: "kernel died"}

# Error names in a cell's output that mean the grader stopped the cell, not that the code raised.
STOPPED = {
    "CellTimeoutError": "timed out",
    "DeadKernelError": "kernel died",
    "SubmissionTimeLimit": "out of time",
}


def quiet():
    """Silences nbgrader's known noise (SQLAlchemy 2.1 SAWarnings, checksum notices) in this process."""
    import warnings

    from sqlalchemy.exc import SAWarning

    warnings.filterwarnings("ignore", category=SAWarning)
    logging.getLogger("traitlets").setLevel(logging.ERROR)


def die_with_parent():
    """Linux: this process gets SIGKILL when the process that started it dies (and its sandboxes with it)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def start_worker(sandboxed=True):
    """Pool initializer: one nbgrader API object per worker process."""
    global _api, _db_url, _sandboxed
    die_with_parent()
    os.chdir(ROOT)
    quiet()
    from nbgrader.apps import NbGraderAPI

    _sandboxed = sandboxed
    config = nbgrader_config(sandbox=sandboxed)
    _api = NbGraderAPI(config=config)
    _api.log.setLevel(logging.ERROR)
    _db_url = _api.coursedir.db_url


def _scores(student_id):
    from nbgrader.api import Gradebook

    scores = dict.fromkeys(PARTS, 0.0)
    with Gradebook(_db_url) as gradebook:
        notebook = gradebook.find_submission_notebook(NOTEBOOK.removesuffix(".ipynb"), ASSIGNMENT, student_id)
        for grade in notebook.grades:
            if grade.name in PART_OF_GRADE_ID:
                scores[PART_OF_GRADE_ID[grade.name]] = float(grade.score or 0.0)
    return scores


def _part_of(cell):
    grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
    for part in PARTS:
        if grade_id.startswith(f"{part}_"):
            return part
    return None


def cell_problems(notebook_path):
    """Sentences for cells the grader had to stop: 'timed out in cell 14 (softmax)'.

    A cell is stopped by nbgrader's cell time-out (an error output), or one of the checks in a
    test cell stopped a call of the student's code (SubmissionTimeout, reported in the output).
    """
    problems = []
    nb = nbformat.read(str(notebook_path), as_version=4)
    for index, cell in enumerate(nb.cells):
        part = _part_of(cell)
        where = f"cell {index}" + (f" ({part})" if part else "")
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and output.get("ename") in STOPPED:
                problem = f"{STOPPED[output['ename']]} in {where}"
            elif output.get("output_type") == "stream" and part and any(mark in output.get("text", "") for mark in MARKS):
                text = output.get("text", "")
                problem = f"{next(MARKS[mark] for mark in MARKS if mark in text)} in {where}"
            else:
                continue
            if problem not in problems:
                problems.append(problem)
    return problems


def _save_log(student_id, outcome):
    LOGS.mkdir(parents=True, exist_ok=True)
    (LOGS / f"{student_id}.log").write_text((outcome.get("log") or "") + "\n" + (outcome.get("error") or ""))


def _first_error(outcome):
    """The most specific line of a failed nbgrader run: the last exception message before its summary."""
    lines = [line.strip() for line in ((outcome.get("log") or "") + "\n" + (outcome.get("error") or "")).splitlines()]
    causes = [line for line in lines if re.match(r"^[\w.]+(Error|Exception|Exit|Interrupt)\b.*:", line) and "Please see" not in line]
    return (causes[0] if causes else (lines[-1] if lines else "unknown error"))[:300]


def result(student_id, scores=None, status="graded", seconds=0.0, retried=False, checks=None):
    scores = scores or dict.fromkeys(PARTS, 0.0)
    if not _sandboxed:
        status += " [unsandboxed]"
    return {
        "student_id": student_id,
        "scores": scores,
        "total": round(sum(scores.values()), 2),
        "max_total": MAX_TOTAL,
        "status": status,
        "seconds": round(seconds, 2),
        "retried": retried,
        "checks": checks or {},
        "sandboxed": _sandboxed,
    }


def _checks(student_id):
    """{part: [check results]} the executor measured for this student's last autograde."""
    path = CHECKS / f"{student_id}.json"
    try:
        parts = json.loads(path.read_text(encoding="utf-8")).get("parts", {})
        path.unlink()
    except (OSError, ValueError):
        return {}
    return {part: parts[part]["checks"] for part in PARTS if part in parts}


def grade_student(student_id):
    """Intake, autograde, feedback for one student; never raises."""
    started = time.monotonic()
    try:
        intake = take_in(SUBMITTED / student_id)
        if intake.problem:
            return result(student_id, status=intake.problem, seconds=time.monotonic() - started)
        (CHECKS / f"{student_id}.json").unlink(missing_ok=True)  # a stale file must not pass for this run's
        outcome = _api.autograde(ASSIGNMENT, student_id, force=True, create=True)
        _save_log(student_id, outcome)
        if not outcome["success"]:
            return result(student_id, status=f"autograde failed: {_first_error(outcome)} (log: {LOGS.name}/{student_id}.log)",
                          seconds=time.monotonic() - started)
        scores = _scores(student_id)
        checks = _checks(student_id)
        problems = cell_problems(AUTOGRADED / student_id / ASSIGNMENT / NOTEBOOK)
        feedback = _api.generate_feedback(ASSIGNMENT, student_id, force=True)
        if not feedback["success"]:
            problems.append("feedback could not be generated")
        status = "; ".join(problems) if problems else "graded"
        if intake.notes:
            status += " (" + "; ".join(intake.notes) + ")"
        return result(student_id, scores, status, time.monotonic() - started, checks=checks)
    except Exception as error:  # a grader bug must cost one row's status, never the batch
        return result(student_id, status=f"grading error: {type(error).__name__}: {error}", seconds=time.monotonic() - started)

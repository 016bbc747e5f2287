"""Feedback pages that show the scores a TA set by hand (grading.manual), as grades.csv does.

A worker writes a student's feedback page when it grades them, with the checks' scores. A score
set by hand later (formgrader, overrides.csv) is laid over the row whenever the tables are written;
:func:`refresh` then makes the page of every student whose scores set by hand are not the ones
their page shows again, here in the coordinator: nbgrader's generate_feedback on the stored
autograded notebook and the course's gradebook, with the scores set by hand handed to
grading.feedback.FeedbackLayout (which puts them in place of the checks' and says so). Nothing of
the student's runs: generate_feedback only renders the autograded notebook, sanitised as always.

Which scores a page shows is kept in .grading/feedback_marks/<student>.json with the page's hash:
a page a regrade wrote anew (another hash) shows the checks' scores again, so it is made again if
scores set by hand remain, and a page made with scores since taken back is made without them.
"""

import glob
import hashlib
import json
import logging

from grading.atomic import write_atomically
from grading.course import ASSIGNMENT, FEEDBACK, NOTEBOOK, STATE, nbgrader_config

MARKS = STATE / "feedback_marks"


def _page(student_id):
    return FEEDBACK / student_id / ASSIGNMENT / NOTEBOOK.replace(".ipynb", ".html")


def _digest(path):
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def shown(student_id):
    """The scores set by hand that ``student_id``'s feedback page shows now ({part: mark}; {} for a page a worker wrote)."""
    try:
        kept = json.loads((MARKS / f"{student_id}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return kept.get("marks", {}) if kept.get("page") == _digest(_page(student_id)) else {}


def refresh(results):
    """Makes again the feedback page of each graded student in ``results`` (rows after grading.manual.apply) whose
    scores set by hand differ from those their page shows. Returns sentences about pages that could not be made."""
    problems = []
    for res in results:
        student_id = res["student_id"]
        marks = {part: {key: mark[key] for key in ("score", "reason", "source", "auto")} for part, mark in (res.get("manual") or {}).items()}
        page = _page(student_id)
        if not page.is_file() or marks == shown(student_id):
            continue
        problem = _generate(student_id, marks)
        if problem:
            problems.append(f"the feedback page of {student_id} still shows the checks' scores: {problem}")
            continue
        write_atomically(MARKS / f"{student_id}.json", json.dumps({"page": _digest(page), "marks": marks}))
    return problems


def _generate(student_id, marks):
    """nbgrader generate_feedback of one student with ``marks`` set by hand; None, or why it failed (the old page kept)."""
    from nbgrader.apps import NbGraderAPI

    from grading.store import keep_submission_secret

    page = _page(student_id)
    before = page.read_bytes()
    config = nbgrader_config()
    config.FeedbackLayout.manual = marks
    api = NbGraderAPI(config=config)
    api.log.setLevel(logging.ERROR)
    # nbgrader reads a student id as a glob pattern: escaped, it matches this student's folder only.
    outcome = api.generate_feedback(ASSIGNMENT, glob.escape(student_id), force=True)
    if not outcome["success"] or not page.is_file():
        write_atomically(page, before)
        return (outcome.get("error") or outcome.get("log") or "nbgrader generate_feedback failed").strip().splitlines()[-1][:300]
    keep_submission_secret(student_id)  # generate_feedback made the folder anew
    return None

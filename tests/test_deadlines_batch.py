"""Deadlines end to end: one make grade batch of three students (late, on time, a malformed timestamp.txt),
and plain `nbgrader autograde` of the late one applying the same penalty."""

import csv
import datetime
import html
import re
import shutil
import sys

import pytest

from tests.course_copy import ROOT, copy_course, grade, run

pytestmark = pytest.mark.slow  # a grading batch and a plain nbgrader autograde (minutes)

LATE_BY = datetime.timedelta(days=1, hours=2)  # two started days
MALFORMED = b"handed in on time, promise!\n"


def _policy_and_due():
    from grading.deadlines import Deadlines
    from grading.late_policy import LatePenalty
    from grading.settings import load_course_config

    config = load_course_config()
    return LatePenalty(config=config), Deadlines(config=config).due()


def _class(course):
    """submitted/ of ``course``: three copies of the demo's correct notebook (alice's), with their timestamps."""
    _, due = _policy_and_due()
    assert due is not None, "nbgrader_config.py states no due date"
    notebook = (ROOT / "submitted" / "alice" / "perceptrons" / "perceptrons.ipynb").read_bytes()
    shutil.rmtree(course / "submitted")
    stamps = {"late": f"{due + LATE_BY:%Y-%m-%d %H:%M:%S.%f} UTC".encode(),
              "ontime": f"{due - datetime.timedelta(hours=1):%Y-%m-%d %H:%M:%S.%f} UTC".encode(),
              "malformed": MALFORMED}
    for student, stamp in stamps.items():
        folder = course / "submitted" / student / "perceptrons"
        folder.mkdir(parents=True)
        (folder / "perceptrons.ipynb").write_bytes(notebook)
        (folder / "timestamp.txt").write_bytes(stamp)
    return course


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = _class(copy_course(tmp_path_factory.mktemp("deadlines")))
    completed = grade(course)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    with open(course / "grades.csv", newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    return course, completed, rows


def _expected_penalty():
    policy, _ = _policy_and_due()
    return policy.penalty(12, LATE_BY.total_seconds())


def test_the_late_student_loses_exactly_the_policys_points(graded):
    _, completed, rows = graded
    penalty = _expected_penalty()
    assert penalty > 0
    late = rows["late"]
    assert late["status"] == "graded"
    assert float(late["penalty"]) == pytest.approx(penalty)
    assert float(late["total"]) == pytest.approx(12 - penalty)
    assert float(late["late_by_hours"]) == pytest.approx(LATE_BY.total_seconds() / 3600)
    assert "1 late submission(s)" in completed.stdout


def test_the_on_time_student_keeps_full_marks(graded):
    _, _, rows = graded
    ontime = rows["ontime"]
    assert (ontime["status"], float(ontime["total"]), float(ontime["penalty"]), float(ontime["late_by_hours"])) == ("graded", 12, 0, 0)


def test_a_malformed_timestamp_is_graded_as_time_unknown_with_a_note(graded):
    _, completed, rows = graded
    row = rows["malformed"]
    assert float(row["total"]) == 12 and float(row["penalty"]) == 0 and row["submitted_at"] == "unknown"
    assert row["status"] == "graded (timestamp.txt ignored (not a time nbgrader can read: 'handed in on time, promise!'): " \
                            "submission time unknown)"
    assert "malformed: graded (timestamp.txt ignored" in completed.stdout


def _visible_text(path):
    page = re.sub(r"<(style|script)\b.*?</\1>", "", path.read_text(encoding="utf-8"), flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_the_feedback_names_the_penalty_and_why(graded):
    course, _, _ = graded
    penalty = _expected_penalty()
    late = " ".join(_visible_text(course / "feedback" / "late" / "perceptrons" / "perceptrons.html").split())
    assert f"Score: {12 - penalty:g} / 12" in late
    assert f"Late submission penalty (Score: -{penalty:g})" in late
    assert f"Late by 1 day 2 h: late penalty {penalty:g} point(s)" in late
    assert "Due: " in late and "Submitted: " in late and "per started day late" in late
    ontime = " ".join(_visible_text(course / "feedback" / "ontime" / "perceptrons" / "perceptrons.html").split())
    assert "On time: no late penalty." in ontime and "Late submission penalty" not in ontime
    malformed = " ".join(_visible_text(course / "feedback" / "malformed" / "perceptrons" / "perceptrons.html").split())
    assert "time unknown" in malformed and "promise" not in malformed


def test_the_coordinators_gradebook_holds_the_penalty(graded):
    from nbgrader.api import Gradebook

    course, _, _ = graded
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        late = gradebook.find_submission("perceptrons", "late")
        assert late.total_seconds_late == pytest.approx(LATE_BY.total_seconds())
        assert late.late_submission_penalty == pytest.approx(_expected_penalty())
        assert late.score == 12  # nbgrader's raw score; nbgrader export's score is raw_score - late_submission_penalty
        assert gradebook.find_submission("perceptrons", "ontime").late_submission_penalty == 0


def test_plain_nbgrader_autograde_applies_the_same_penalty(graded, tmp_path):
    """The same course graded by nbgrader's own commands: its gradebook holds the same penalty and score."""
    from nbgrader.api import Gradebook

    course = _class(copy_course(tmp_path / "plain"))
    nbgrader = [sys.executable, "-m", "nbgrader"]
    for args in (["generate_assignment", "perceptrons", "--force"], ["autograde", "perceptrons", "--student", "late", "--force"]):
        completed = run(nbgrader + args, cwd=course)
        assert completed.returncode == 0, completed.stderr[-3000:]
    _, _, rows = graded
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        late = gradebook.find_submission("perceptrons", "late")
        assert late.total_seconds_late == pytest.approx(LATE_BY.total_seconds())
        assert late.late_submission_penalty == pytest.approx(float(rows["late"]["penalty"]))
        assert late.score - late.late_submission_penalty == pytest.approx(float(rows["late"]["total"]))

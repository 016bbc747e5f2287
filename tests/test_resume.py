"""An interrupted batch continues where it stopped; a rerun loses nothing already graded."""

import csv
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.course_copy import copy_course, environment, grade
from tests.test_course import EXPECTED, PARTS

pytestmark = pytest.mark.slow  # a whole class graded end to end (minutes)


def test_an_interrupted_batch_resumes_without_regrading_finished_students(tmp_path):
    course = copy_course(tmp_path / "course")
    results = course / ".grading" / "results"
    batch = subprocess.Popen([sys.executable, "-m", "grading", "--workers", "1"], cwd=course, env=environment(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 600
    while not list(results.glob("*.json")) and time.monotonic() < deadline and batch.poll() is None:
        time.sleep(0.5)
    os.killpg(batch.pid, signal.SIGKILL)  # the TA's laptop dies mid-batch
    batch.wait()
    finished = {path.name: path.read_bytes() for path in results.glob("*.json")}
    assert 1 <= len(finished) < len(EXPECTED)
    assert not (course / "grades.csv").exists() or (course / "grades.csv").stat().st_size > 0

    completed = grade(course)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert f"{len(finished)} unchanged and already graded: kept" in completed.stdout
    for name, content in finished.items():  # finished students were not graded again
        assert (results / name).read_bytes() == content
    with open(course / "grades.csv", newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    for student, (scores, status) in EXPECTED.items():
        assert [float(rows[student][part]) for part in PARTS] == pytest.approx(scores), student
        assert rows[student]["status"] == status

    # Nothing that can change a grade changed (the class report, the progress bar and the file
    # command are not the grader): everything kept, same grades.
    for name in ("class_report/page.py", "progress.py", "check.py"):
        with open(course / "grading" / name, "a", encoding="utf-8") as handle:
            handle.write("\n# restyled\n")
    again = grade(course)
    assert f"{len(EXPECTED)} unchanged and already graded: kept" in again.stdout
    assert "regrading" not in again.stdout
    assert "nothing to grade" in again.stdout and "LocalCluster" not in again.stdout  # no cluster started for nothing
    with open(course / "grades.csv", newline="") as handle:
        assert {row["student_id"]: row for row in csv.DictReader(handle)} == rows

    # A setting of the course changed: the first line says so before anyone is regraded.
    with open(course / "nbgrader_config.py", "a", encoding="utf-8") as handle:
        handle.write("\n# a late policy, say\n")
    changed = grade(course, "--student", "alice")
    assert changed.returncode == 0, changed.stderr[-3000:]
    assert "nbgrader_config.py changed: regrading 1 student(s) graded before" in changed.stdout

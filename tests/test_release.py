"""The release is made once per grader (grading.release): the course's, and the workers' gradebook of it."""

import json
import sqlite3
import sys

import pytest

from tests.course_copy import copy_course, run

PROBE = """
import json, os, sys
from grading import release
done = release.release_course(sys.argv[1])
print(json.dumps({"released": done, "mtime": os.stat(release.RELEASED).st_mtime_ns}))
"""


@pytest.fixture
def course(tmp_path):
    return copy_course(tmp_path / "course", include=["nbgrader_config.py", "source", "grader_tests", "reference", "grading",
                                                     "sandbox"])


def release_course(course, grader):
    completed = run([sys.executable, "-c", PROBE, grader], cwd=course)
    assert completed.returncode == 0, completed.stderr[-2000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def rows(gradebook, table):
    with sqlite3.connect(gradebook) as db:
        return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_the_course_is_released_again_only_when_the_grader_changed_or_the_release_is_gone(course):
    first = release_course(course, "a" * 64)
    assert first["released"] and (course / "release" / "perceptrons" / "perceptrons.ipynb").is_file()
    again = release_course(course, "a" * 64)
    assert again == {"released": False, "mtime": first["mtime"]}, "the same grader: nothing made again"
    assert release_course(course, "b" * 64)["released"], "another grader: released"
    (course / "release" / "perceptrons" / "perceptrons.ipynb").unlink()
    assert release_course(course, "b" * 64)["released"], "release/ lost its notebook: released"
    (course / "gradebook.db").unlink()
    assert release_course(course, "b" * 64)["released"], "the gradebook is gone: released"
    assert rows(course / "gradebook.db", "assignment") == 1


def test_the_workers_gradebook_holds_the_release_alone_and_is_made_once(course):
    make = ("import sys; from grading import release; data = release.release_gradebook(sys.argv[1]); "
            "sys.stdout.write(str(len(data)))")
    completed = run([sys.executable, "-c", make, "c" * 64], cwd=course)
    assert completed.returncode == 0, completed.stderr[-2000:]
    kept = list((course / ".grading" / "releases").glob("*.db"))
    assert len(kept) == 1 and kept[0].stat().st_size == int(completed.stdout)
    assert rows(kept[0], "assignment") == 1 and rows(kept[0], "grade_cells") == 6
    assert rows(kept[0], "student") == 0, "no student in a gradebook that goes to every worker"
    assert not (course / "gradebook.db").exists() and not (course / "release").exists(), "made aside, not in the course"
    made = kept[0].stat().st_mtime_ns
    completed = run([sys.executable, "-c", make, "c" * 64], cwd=course)
    assert completed.returncode == 0 and kept[0].stat().st_mtime_ns == made, "the same grader: kept, not made again"
    completed = run([sys.executable, "-c", make, "d" * 64], cwd=course)
    assert completed.returncode == 0
    assert [p.name[:1] for p in (course / ".grading" / "releases").glob("*.db")] == ["d"], "one grader's at a time"

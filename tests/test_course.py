"""The course end to end: source -> release -> autograde -> feedback -> grades.csv, on the demo class."""

import csv
import html
import json
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

from tests.course_copy import ROOT, copy_course, grade, run
from tests.test_class_report import requires_browser, verify_report

PARTS = ["softmax", "forward_pass", "cross_entropy_loss", "update_params", "train_nn", "MultiClassNet"]

# Exact per-part scores of the demo submissions (see tools/demo_class.py for what each one does).
EXPECTED = {
    "alice": ([2, 2, 2, 1, 3, 2], "graded"),
    "bob": ([0, 2, 0.4, 1, 3, 1], "graded"),  # softmax on axis 0, loss summed, ReLU in MultiClassNet
    "carol": ([0, 0, 0, 0, 0, 0], "graded"),  # the untouched release
    "dave": ([0, 2, 2, 1, 0, 2], "timed out in cell 56 (train_nn)"),  # softmax raises, train_nn loops forever
}

pytestmark = pytest.mark.slow  # a whole class graded end to end (minutes)


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    course = copy_course(tmp_path_factory.mktemp("course"))
    completed = grade(course)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return course, completed


def read_grades(course):
    with open(course / "grades.csv", newline="") as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}


def test_grades_csv_has_exact_scores_for_the_demo_class(graded_course):
    course, _ = graded_course
    rows = read_grades(course)
    assert sorted(rows) == sorted(EXPECTED)
    for student, (scores, status) in EXPECTED.items():
        row = rows[student]
        assert [float(row[part]) for part in PARTS] == pytest.approx(scores), student
        assert float(row["total"]) == pytest.approx(sum(scores))
        assert float(row["max_total"]) == 12
        assert row["status"] == status


def test_grades_csv_columns(graded_course):
    course, _ = graded_course
    with open(course / "grades.csv", newline="") as handle:
        header = next(csv.reader(handle))
    assert header[:10] == ["student_id", *PARTS, "total", "max_total", "status"]


def test_summary_is_printed(graded_course):
    _, completed = graded_course
    for part in PARTS:
        assert part in completed.stdout
    assert "dave: timed out in cell 56 (train_nn)" in completed.stdout


def test_progress_moves_within_a_student(graded_course):
    """The bar hears of each part as a worker checks it (a Dask event), not only of whole students."""
    _, completed = graded_course
    heard = set(re.findall(r"(alice|bob|carol|dave): (\w+) checked", completed.stderr))
    assert {part for _, part in heard} >= set(PARTS[:3]), completed.stderr[-2000:]


def _lines_outside(nb, region):
    """Stripped lines of every cell of ``nb`` outside its ``### BEGIN/END <region>`` blocks."""
    pattern = re.compile(rf"### BEGIN {region}\n.*?### END {region}", re.S)
    return {line.strip() for cell in nb.cells for line in pattern.sub("", cell.source).splitlines()}


def _visible_text(path):
    """What a reader of the HTML sees: styles, scripts and tags removed, entities decoded."""
    page = re.sub(r"<(style|script)\b.*?</\1>", "", path.read_text(encoding="utf-8"), flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def _feedback_files(course):
    return sorted((course / "feedback").glob("*/perceptrons/*.html"))


def test_feedback_exists_for_every_student(graded_course):
    course, _ = graded_course
    assert sorted(p.parts[-3] for p in _feedback_files(course)) == sorted(EXPECTED)


def test_feedback_shows_results_and_hints(graded_course):
    course, _ = graded_course
    bob = _visible_text(course / "feedback" / "bob" / "perceptrons" / "perceptrons.html")
    assert "softmax: 0 / 2 points" in bob
    assert "Hint: the normalisation runs down the columns" in bob
    assert "Hint: the loss is summed over the samples" in bob
    assert "MultiClassNet: 1 / 2 points" in bob


def test_feedback_never_shows_hidden_tests_or_grader_code(graded_course):
    course, _ = graded_course
    grader_lines = set()
    for module in [*(ROOT / "grader_tests").glob("*.py"), *(ROOT / "reference").glob("*.py")]:
        for line in module.read_text().splitlines():
            line = line.strip()
            if len(line) > 25 and not line.startswith(("#", '"""', "import ", "from ")):
                grader_lines.add(line)
    source = nbformat.read(str(ROOT / "source" / "perceptrons" / "perceptrons.ipynb"), as_version=4)
    for cell in source.cells:
        hidden = re.search(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", cell.source, re.S)
        if hidden:
            grader_lines.update(line.strip() for line in hidden.group(1).splitlines() if line.strip())
    assert len(grader_lines) > 200
    # What the release shows anyway (lesson code and text, visible checks) may contain a grader
    # line by coincidence; so may the student's own answers. Neither is a leak.
    release_text = "\n".join(_lines_outside(source, "HIDDEN TESTS"))
    for path in _feedback_files(course):
        text = _visible_text(path)
        for marker in ("HIDDEN TESTS", "grade_part", "grader_tests", "Traceback"):
            assert marker not in text, (path, marker)
        submitted = nbformat.read(str(course / "submitted" / path.parts[-3] / "perceptrons" / "perceptrons.ipynb"), as_version=4)
        allowed = release_text + "\n".join(cell.source for cell in submitted.cells)
        leaked = [line for line in grader_lines if line in text and line not in allowed]
        assert not leaked, (path, leaked[:3])


def test_release_matches_what_source_generates(graded_course):
    """make grade regenerated release/ in the copy from source/: it must equal the committed one."""
    course, _ = graded_course
    regenerated = nbformat.read(str(course / "release" / "perceptrons" / "perceptrons.ipynb"), as_version=4)
    committed = nbformat.read(str(ROOT / "release" / "perceptrons" / "perceptrons.ipynb"), as_version=4)
    assert regenerated == committed, "release/ is stale: run make grade (or nbgrader generate_assignment) and commit release/"
    assert sorted(p.name for p in (ROOT / "release").rglob("*") if p.is_file()) == ["perceptrons.ipynb"]


def test_regrading_keeps_results_and_regrades_one_student(graded_course):
    course, _ = graded_course
    before = read_grades(course)
    completed = grade(course, "--student", "alice")
    assert completed.returncode == 0, completed.stderr[-2000:]
    after = read_grades(course)
    assert {k: {c: v for c, v in row.items() if c != "seconds"} for k, row in after.items()} == \
        {k: {c: v for c, v in row.items() if c != "seconds"} for k, row in before.items()}
    assert "grading 1 submission(s) of 'perceptrons' on LocalCluster, 1 worker" in completed.stdout


def test_plain_nbgrader_autograde_gives_the_same_scores(graded_course, tmp_path):
    """A TA may use nbgrader's own commands; they grade with the same config and get the same scores."""
    course = copy_course(tmp_path / "plain")
    nbgrader = [sys.executable, "-m", "nbgrader"]
    for args in (["generate_assignment", "perceptrons", "--force"], ["autograde", "perceptrons", "--student", "bob", "--force"],
                 ["export", "--to", str(tmp_path / "plain.csv")]):
        completed = run(nbgrader + args, cwd=course)
        assert completed.returncode == 0, completed.stderr[-3000:]
    with open(tmp_path / "plain.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    bob = next(row for row in rows if row["student_id"] == "bob")
    assert float(bob["raw_score"]) == pytest.approx(sum(EXPECTED["bob"][0]))


def test_release_contains_no_solutions_or_hidden_tests():
    release = nbformat.read(str(ROOT / "release" / "perceptrons" / "perceptrons.ipynb"), as_version=4)
    text = nbformat.writes(release)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "grade_part", "grader_tests", "import reference", "from reference"):
        assert marker not in text, marker
    source = nbformat.read(str(ROOT / "source" / "perceptrons" / "perceptrons.ipynb"), as_version=4)
    solution_lines = set()
    for cell in source.cells:
        for region in re.findall(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", cell.source, re.S):
            solution_lines.update(line.strip() for line in region.splitlines() if len(line.strip()) > 30)
    assert solution_lines
    lesson_text = "\n".join(_lines_outside(source, "SOLUTION"))
    leaked = [line for line in solution_lines if line in text and line not in lesson_text]  # lesson lines are no leak
    assert not leaked, leaked[:3]
    answers = [c for c in release.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert len(answers) == 7
    assert all("raise NotImplementedError()" in c.source for c in answers)


def test_source_notebook_passes_nbgrader_validate(tmp_path):
    """The instructor's notebook runs top to bottom and every test cell passes (nbgrader validate)."""
    course = copy_course(tmp_path, include=["nbgrader_config.py", "source", "grader_tests", "reference", "grading"])
    completed = run([sys.executable, "-m", "nbgrader", "validate", "source/perceptrons/perceptrons.ipynb"], cwd=course)
    assert "Success! Your notebook passes all the tests." in completed.stdout, completed.stdout[-3000:] + completed.stderr[-3000:]


def test_demo_submissions_match_the_release(tmp_path):
    """submitted/ holds what tools/demo_class.py makes from the current release (rerun it after changing source/)."""
    from tools.demo_class import write_demo_class

    write_demo_class(tmp_path)
    for student in EXPECTED:
        made = nbformat.read(str(tmp_path / student / "perceptrons" / "perceptrons.ipynb"), as_version=4)
        committed = nbformat.read(str(ROOT / "submitted" / student / "perceptrons" / "perceptrons.ipynb"), as_version=4)
        assert made == committed, f"submitted/{student} is stale: run .venv/bin/python tools/demo_class.py"


@requires_browser
def test_class_report_of_the_demo_class_renders_and_matches_grades_csv(graded_course, tmp_path):
    """make grade wrote class_report.html and checks.csv; the page renders in Chromium and its numbers match grades.csv."""
    course, _ = graded_course
    assert (course / "class_report.html").is_file() and (course / "checks.csv").is_file()
    verify_report(course, tmp_path)


def test_results_record_each_check_and_the_sandbox(graded_course):
    course, _ = graded_course
    alice = json.loads((course / ".grading" / "results" / "alice.json").read_text())
    assert alice["sandboxed"] is True
    assert sorted(alice["checks"]) == sorted(PARTS)
    assert all(check["passed"] for checks in alice["checks"].values() for check in checks)
    run = json.loads((course / ".grading" / "run.json").read_text())
    # the last run of the module's batches may be a one-student regrade (test_regrading_...)
    assert run["sandboxed"] is True and 1 <= run["students"] <= len(EXPECTED) and run["elapsed"] > 0
    # make grade's default: Dask on this machine, one worker per core (GRADING_WORKERS=2 here), but
    # never more workers than students to grade
    assert run["cluster"] == ("LocalCluster, 2 workers" if run["students"] > 1 else "LocalCluster, 1 worker")


def test_the_coordinators_gradebook_has_the_grades_of_grades_csv(graded_course, tmp_path):
    """Workers grade in gradebooks of their own; the course's gradebook.db gets the scores (nbgrader export reads it)."""
    course, _ = graded_course
    completed = run([sys.executable, "-m", "nbgrader", "export", "--to", str(tmp_path / "export.csv")], cwd=course)
    assert completed.returncode == 0, completed.stderr[-3000:]
    with open(tmp_path / "export.csv", newline="") as handle:
        exported = {row["student_id"]: float(row["raw_score"]) for row in csv.DictReader(handle)}
    assert exported == pytest.approx({student: float(row["total"]) for student, row in read_grades(course).items()})


def _table(course, name="grades.csv"):
    with open(course / name, newline="") as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}


def _feedback_text(course, student):
    page = (course / "feedback" / student / "perceptrons" / "perceptrons.html").read_text(encoding="utf-8")
    page = re.sub(r"<(style|script)\b.*?</\1>", "", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _overrides(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_a_manual_score_survives_a_regrade_and_plain_nbgrader_export_agrees(graded_course, tmp_path):
    """Carol handed in the release untouched; the TA grades one part by hand, adds an override, regrades her."""
    from nbgrader.api import Gradebook

    from grader_tests.points import PARTS as GRADED_PARTS

    # A copy of the graded demo class (this module's batch), so that the other tests keep theirs.
    graded_dir, graded = graded_course
    course = tmp_path / "course"
    shutil.copytree(graded_dir, course, symlinks=True)
    carol = _table(course)["carol"]
    assert carol["status"] == "graded" and carol["not_attempted"] == " ".join(GRADED_PARTS) and float(carol["total"]) == 0
    assert "1 submission(s) attempted no part" in graded.stdout
    report = (course / "class_report.html").read_text()
    assert 'data-key="attempted-nothing-count">1<' in report

    # The TA grades softmax by hand in formgrader: what it saves in gradebook.db.
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        gb.find_grade("softmax_checks", "perceptrons", "perceptrons", "carol").manual_score = 1.5
        gb.find_comment("softmax_code", "perceptrons", "perceptrons", "carol").manual_comment = "answered on paper"
        gb.db.commit()
    again = grade(course)
    assert again.returncode == 0 and "nothing to grade" in again.stdout, again.stderr[-3000:]
    carol = _table(course)["carol"]
    assert (carol["softmax"], carol["total"], carol["manual"]) == ("1.5", "1.5", "softmax")
    assert "carol: softmax 1.5 (checks gave 0; formgrader: answered on paper)" in again.stdout
    # ...and on her feedback page (made again, the rest of it as before), not anyone else's.
    page = _feedback_text(course, "carol")
    assert "Total: 1.5 / 12 points" in page and "set by hand (the checks gave 0): answered on paper" in page
    assert (course / "feedback" / "bob" / "perceptrons" / "perceptrons.html").read_bytes() == \
        (graded_dir / "feedback" / "bob" / "perceptrons" / "perceptrons.html").read_bytes()

    # Plain nbgrader's export writes its own file (nbgrader_config.py) and agrees; grades.csv is left alone.
    before = (course / "grades.csv").read_bytes()
    exported = run([str(Path(sys.executable).parent / "nbgrader"), "export"], cwd=course)
    assert exported.returncode == 0, exported.stdout[-2000:] + exported.stderr[-2000:]
    assert (course / "grades.csv").read_bytes() == before
    assert float(_table(course, "nbgrader_grades.csv")["carol"]["score"]) == 1.5

    # An override on top, then carol regraded: both scores set by hand still count.
    _overrides(course / "overrides.csv", "student_id,part,score,reason\ncarol,train_nn,1,regrade request 3\n"
                                         "carol,train_nn,2,twice\n")
    regraded = grade(course, "--student", "carol")
    assert regraded.returncode == 0, regraded.stdout[-3000:] + regraded.stderr[-3000:]
    assert "overrides.csv line 3: a second score for carol's train_nn (line 2 has one); left out" in regraded.stderr
    carol = _table(course)["carol"]
    assert (carol["softmax"], carol["train_nn"], carol["total"], carol["manual"]) == ("1.5", "1", "2.5", "softmax train_nn")
    assert carol["not_attempted"] == " ".join(GRADED_PARTS)
    page = _feedback_text(course, "carol")  # the regrade wrote her page anew: both scores set by hand are on it again
    assert "Total: 2.5 / 12 points" in page and "regrade request 3" in page and "answered on paper" in page
    report = run([sys.executable, "-m", "grading.class_report"], cwd=course)
    assert report.returncode == 0 and "differ" not in report.stderr, report.stderr
    page = (course / "class_report.html").read_text()
    assert "regrade request 3" in page and "answered on paper" in page

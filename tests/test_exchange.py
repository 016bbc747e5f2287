"""nbgrader's exchange end to end on this machine, as a JupyterHub course runs it (README, TAs, "From nbgrader's exchange").

One flow, on a copy of the course, with three students who are real Linux users:
- the instructor (root) runs `nbgrader generate_assignment` and `release_assignment`;
- student 1 fetches and submits through the Assignments panel of JupyterLab running as that user,
  driven in headless Chromium by Playwright; students 2 and 3 use `nbgrader fetch_assignment` and
  `nbgrader submit`; student 2 submits again after the TA's first collect (a different notebook);
- the TA runs `nbgrader collect`, then `collect --update`, then `python -m grading` (make grade);
- `nbgrader release_feedback`, and each student's `nbgrader fetch_feedback`.
The due date (in the copy's nbgrader_config.py) lies two hours before the test: students 1 and 2
have an extension, student 3 is late. The small tests below each check one fact of that flow.
"""

import csv
import datetime
import html
import os
import re
import shutil
import time

import pytest

from tests import exchange as ex
from tests.browser import CHROMIUM, HAVE_CHROMIUM, requires_browser
from tests.course_copy import ROOT, copy_course, grade

pytestmark = [pytest.mark.slow,  # a grading batch, a JupyterLab and a browser (about two minutes)
              pytest.mark.skipif(ex.missing() is not None, reason=str(ex.missing()))]

SOLVED = (ROOT / "submitted" / "alice" / "perceptrons" / "perceptrons.ipynb").read_bytes()  # full marks in the demo class
PARTLY_WRONG = (ROOT / "submitted" / "bob" / "perceptrons" / "perceptrons.ipynb").read_bytes()
DUE_BEFORE_START = datetime.timedelta(hours=2)
NOTEBOOK = f"{ex.ASSIGNMENT}.ipynb"


def _policy():
    from grading.late_policy import LatePenalty
    from grading.settings import load_course_config

    return LatePenalty(config=load_course_config())


def _check(completed, what):
    assert completed.returncode == 0, f"{what} failed ({completed.returncode}):\n{completed.stdout[-2000:]}\n{completed.stderr[-3000:]}"
    return completed


def _timestamp(user):
    """The times of ``user``'s submissions as nbgrader submit wrote them in their cache, oldest first."""
    cache = ex.home(user) / ".local" / "share" / "jupyter" / "nbgrader_cache" / ex.COURSE_ID
    return sorted((folder / "timestamp.txt").read_text() for folder in cache.glob(f"{user}+{ex.ASSIGNMENT}+*"))


def _utc(text):
    return datetime.datetime.strptime(text.removesuffix(" UTC"), "%Y-%m-%d %H:%M:%S.%f")


@pytest.fixture(scope="module")
def linux_users(request):
    users = ex.Users()
    request.addfinalizer(users.remove)  # also when the flow fails half-way
    return users


@pytest.fixture(scope="module")
def flow(linux_users):
    """Runs the whole flow once; returns what the tests check."""
    if not HAVE_CHROMIUM:
        pytest.fail(f"{CHROMIUM} is missing: the exchange flow drives the Assignments panel in it (apt-get install chromium)")
    where = ex.shared_directory("exchange-test-")
    labs = []
    started = last = time.monotonic()
    seconds = {}  # per step, printed at the end (pytest -rP shows it): where the test's time goes

    def step(name):
        nonlocal last
        now = time.monotonic()
        seconds[name], last = round(now - last, 1), now

    try:
        facts = {"where": where}
        venv = ex.student_venv(where)
        step("students' Jupyter environment")
        exchange = facts["exchange"] = ex.exchange_root(where)
        course = facts["course"] = copy_course(where / "course")
        shutil.rmtree(course / "submitted")  # this class has only what the exchange brings, not the demo's
        due = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) - DUE_BEFORE_START
        panel, cli, late = (linux_users.add(label) for label in ("panel", "cli", "late"))
        facts.update(due=due.replace(tzinfo=None), panel=panel, cli=cli, late=late)
        with open(course / "nbgrader_config.py", "a") as config:  # this copy's exchange, due date and extensions
            config.write(f"\nc.Exchange.root = {str(exchange)!r}\nc.Deadlines.duedate = '{due:%Y-%m-%d %H:%M:%S} UTC'\n"
                         f"c.Deadlines.extensions = {{{panel!r}: 48, {cli!r}: 48}}\n")
        # the instructor
        _check(ex.nbgrader_in(course, "generate_assignment", ex.ASSIGNMENT, "--force"), "generate_assignment")
        _check(ex.nbgrader_in(course, "release_assignment", ex.ASSIGNMENT, "--force"), "release_assignment")
        for user in (panel, cli, late):
            ex.configure_student(user, venv, exchange)
        step("course copy, users, generate and release")
        # student 1: the Assignments panel of their own JupyterLab
        lab = ex.Lab(panel, venv, where / "lab.log")
        labs.append(lab)
        facts["panel_list"] = ex.fetch_and_submit_in_lab(lab, panel, venv, SOLVED, where / "screenshots")
        lab.stop()
        labs.clear()
        step("JupyterLab and the Assignments panel")
        # students 2 and 3: the command line
        for user in (cli, late):
            _check(ex.nbgrader_as(user, venv, "fetch_assignment", ex.ASSIGNMENT), f"{user}: fetch_assignment")
            ex.write_as(user, ex.home(user) / ex.ASSIGNMENT / NOTEBOOK, SOLVED)
            _check(ex.nbgrader_as(user, venv, "submit", ex.ASSIGNMENT), f"{user}: submit")
        facts["inbound"] = {path.name: path.stat() for path in (exchange / ex.COURSE_ID / "inbound").iterdir()}
        # the TA collects; then student 2 submits again, and collect --update takes the newer one
        facts["collect"] = _check(ex.nbgrader_in(course, "collect", ex.ASSIGNMENT), "collect")
        facts["first_collected"] = (course / "submitted" / cli / ex.ASSIGNMENT / NOTEBOOK).read_bytes()
        ex.write_as(cli, ex.home(cli) / ex.ASSIGNMENT / NOTEBOOK, PARTLY_WRONG)
        _check(ex.nbgrader_as(cli, venv, "submit", ex.ASSIGNMENT), f"{cli}: second submit")
        facts["update"] = _check(ex.nbgrader_in(course, "collect", ex.ASSIGNMENT, "--update"), "collect --update")
        facts["timestamps"] = {user: _timestamp(user) for user in (panel, cli, late)}
        step("CLI fetch and submit, collect, resubmit, collect --update")
        # make grade
        facts["grade"] = graded = grade(course)
        assert graded.returncode == 0, graded.stdout[-3000:] + graded.stderr[-3000:]
        with open(course / "grades.csv", newline="") as handle:
            facts["rows"] = {row["student_id"]: row for row in csv.DictReader(handle)}
        step("make grade")
        # feedback back to the students
        facts["release"] = _check(ex.nbgrader_in(course, "release_feedback", ex.ASSIGNMENT), "release_feedback")
        facts["fetched"] = {}
        for user in (panel, cli, late):
            _check(ex.nbgrader_as(user, venv, "fetch_feedback", ex.ASSIGNMENT), f"{user}: fetch_feedback")
            facts["fetched"][user] = sorted((ex.home(user) / ex.ASSIGNMENT / "feedback").rglob("*.html"))
        step("release_feedback and fetch_feedback")
        print(f"exchange flow: {time.monotonic() - started:.1f} s:", seconds)
        yield facts
    finally:
        for lab in labs:
            lab.stop()
        shutil.rmtree(where, ignore_errors=True)


def test_the_exchange_has_nbgraders_permissions(flow):
    exchange = flow["exchange"]
    assert exchange.stat().st_mode & 0o7777 == 0o1777  # anyone may write, no one may remove another's entries
    inbound = exchange / ex.COURSE_ID / "inbound"
    assert inbound.stat().st_mode & 0o777 == 0o733  # students may drop submissions in, but not list others'
    assert (exchange / ex.COURSE_ID / "outbound" / ex.ASSIGNMENT / NOTEBOOK).is_file()


@requires_browser
def test_the_panel_fetched_and_submitted_as_its_user(flow):
    panel = flow["panel"]
    (stamp,) = flow["timestamps"][panel]
    assert stamp.removesuffix(" UTC") in flow["panel_list"]  # the panel lists the submission with its time
    mine = [name for name in flow["inbound"] if name.startswith(f"{panel}+{ex.ASSIGNMENT}+")]
    assert len(mine) == 1
    assert flow["inbound"][mine[0]].st_uid == ex.pwd.getpwnam(panel).pw_uid  # written by the student's own process
    assert (flow["course"] / "submitted" / panel / ex.ASSIGNMENT / NOTEBOOK).read_bytes() == SOLVED


def test_every_submission_is_collected_with_its_time(flow):
    for user in (flow["panel"], flow["cli"], flow["late"]):
        collected = flow["course"] / "submitted" / user / ex.ASSIGNMENT / "timestamp.txt"
        assert collected.read_text() == flow["timestamps"][user][-1]


def test_a_second_submission_replaces_the_first_on_collect_update(flow):
    cli, course = flow["cli"], flow["course"]
    assert len(flow["timestamps"][cli]) == 2 and flow["first_collected"] == SOLVED
    assert (course / "submitted" / cli / ex.ASSIGNMENT / NOTEBOOK).read_bytes() == PARTLY_WRONG
    assert f"Updating submission: {cli} {ex.ASSIGNMENT}" in flow["update"].stderr


def test_grades_are_of_the_last_submission(flow):
    rows = flow["rows"]
    assert set(rows) == {flow["panel"], flow["cli"], flow["late"]}
    said = flow["grade"].stdout[-3000:] + flow["grade"].stderr[-3000:]
    assert all(row["status"] == "graded" for row in rows.values()), ({u: (r["status"], r["submitted_at"]) for u, r in rows.items()},
                                                                     said)
    assert float(rows[flow["panel"]]["total"]) == float(rows[flow["panel"]]["max_total"]) == 12
    # the first submission of cli was the full-marks notebook; the last, partly wrong, is what counts
    assert float(rows[flow["cli"]]["total"]) < 12


def test_grades_carry_the_submission_times(flow):
    for user, row in flow["rows"].items():
        submitted = _utc(flow["timestamps"][user][-1])
        assert row["submitted_at"] == f"{submitted:%Y-%m-%d %H:%M:%S} UTC", (user, row["status"])


def test_the_late_submission_loses_the_policys_points_and_extensions_hold(flow):
    rows, due = flow["rows"], flow["due"]
    late_by = (_utc(flow["timestamps"][flow["late"]][-1]) - due).total_seconds()
    assert late_by > 0
    penalty = _policy().penalty(12, late_by)
    assert penalty > 0
    late = rows[flow["late"]]
    assert float(late["penalty"]) == pytest.approx(penalty)
    assert float(late["total"]) == pytest.approx(12 - penalty)
    assert float(late["late_by_hours"]) == pytest.approx(late_by / 3600, abs=1e-3)
    for user in (flow["panel"], flow["cli"]):  # submitted after the due date, within their 48 h extension
        assert (float(rows[user]["penalty"]), float(rows[user]["late_by_hours"])) == (0, 0)
    assert "1 late submission(s)" in flow["grade"].stdout


def _text(path):
    page = re.sub(r"<(style|script)\b.*?</\1>", "", path.read_text(encoding="utf-8"), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_each_student_fetches_their_own_feedback(flow):
    for user in (flow["panel"], flow["cli"], flow["late"]):
        pages = flow["fetched"][user]
        last = flow["timestamps"][user][-1]
        # one page, in the folder of the last submission's time (nbgrader's fetch_feedback layout)
        assert [(page.parent.name, page.name) for page in pages] == [(last, NOTEBOOK.replace(".ipynb", ".html"))], pages
        assert pages[0].stat().st_uid == ex.pwd.getpwnam(user).pw_uid
        text = _text(pages[0])
        row = flow["rows"][user]
        scores = {float(score) for score in re.findall(r"Score: (-?[0-9.]+) / 12(?:\.0)?\b", text)}
        assert float(row["total"]) in scores, (user, row["total"], scores)  # their own total (the others' differ)
        assert f"Submitted: {row['submitted_at']}" in text or row["submitted_at"].removesuffix(" UTC") in text
    late = _text(flow["fetched"][flow["late"]][0])
    assert f"late penalty {float(flow['rows'][flow['late']]['penalty']):g} point(s)" in late


def test_feedback_is_released_under_the_submissions_secret_only(flow):
    course = flow["course"]
    released = sorted(p.name for p in (flow["exchange"] / ex.COURSE_ID / "feedback").iterdir())
    assert len(released) == 3, released  # one page per student, named by a hash no other student can compute
    for user in (flow["panel"], flow["cli"], flow["late"]):
        secret = course / "feedback" / user / ex.ASSIGNMENT / "submission_secret.txt"
        assert secret.read_bytes() == (course / "submitted" / user / ex.ASSIGNMENT / "submission_secret.txt").read_bytes()
    assert os.stat(flow["exchange"] / ex.COURSE_ID / "feedback").st_mode & 0o777 == 0o711  # no listing

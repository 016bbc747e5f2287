"""Autograding never loses a submission: every kind of bad input gets its row and costs nothing else.

One class of problem submissions is graded in a single `python -m grading` run (2 workers, like
make grade); each test then checks one student's row of grades.csv.
"""

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from tools.demo_class import MISTAKES, answers_for, student_notebook
from tests.course_copy import copy_course, grade

FULL = [2, 2, 2, 1, 3, 2]
NOTEBOOK = "perceptrons/perceptrons.ipynb"
# A plain cell inserted right after the exercise's setup cell.
AFTER_SETUP = "exercise_setup"
CHILD_MARK = "sleep 987654"

pytestmark = pytest.mark.slow  # a whole class graded end to end (minutes)


def correct():
    return student_notebook(answers_for(True, []))


def index_of(nb, grade_id):
    return next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def with_cell(source, after=AFTER_SETUP):
    nb = correct()
    nb.cells.insert(index_of(nb, after) + 1, new_code_cell(source))
    return nb


def without(grade_id):
    nb = correct()
    del nb.cells[index_of(nb, grade_id)]
    return nb


def duplicated(grade_id):
    nb = correct()
    i = index_of(nb, grade_id)
    nb.cells.insert(i + 1, nbformat.from_dict(json.loads(json.dumps(nb.cells[i]))))
    return nb


def moved_above_answer(part):
    nb = correct()
    cell = nb.cells.pop(index_of(nb, f"{part}_checks"))
    nb.cells.insert(index_of(nb, f"{part}_code"), cell)
    return nb


def edited_test_cell():
    nb = student_notebook({})  # nothing answered...
    nb.cells[index_of(nb, "train_nn_checks")].source = "3  # ...but the test cell now just outputs full points"
    return nb


def answer_replaced(grade_id, source):
    nb = correct()
    nb.cells[index_of(nb, grade_id)].source = source
    return nb


def text(nb):
    return nbformat.writes(nb)


CROWDED_LOOP = """import os, subprocess, sys
everywhere = os.sched_getaffinity(0)
os.sched_setaffinity(0, {min(everywhere)})
crowd = [subprocess.Popen([sys.executable, '-c', 'while True: pass']) for _ in range(3)]
try:
    while True:
        pass
finally:
    for child in crowd:
        child.kill()
    os.sched_setaffinity(0, everywhere)
"""
# Graded once more, alone: the time-outs and deaths that load may have caused. A loop crowded by
# its own children always waited for its CPU; the plain loops (and, on a busy machine, any long
# cell) may have waited too, depending on what else ran at that moment, so they are not asserted.
RETRIED = {"loop_beside_busy_children"}
# Dead by their own doing (an exit, a segfault, a crash inside a part): final, never graded again.
FINAL = {"kernel_exits", "kernel_segfaults", "crash_inside_part"}

SOLUTION_SOFTMAX = answers_for(True, [])["softmax_code"]

# student id -> (files to write: {relative path: str | bytes}, expected scores, expected status)
CASES = {
    "invalid_json": ({NOTEBOOK: "{this is not json"}, [0] * 6, "notebook is not valid JSON"),
    "truncated_json": ({NOTEBOOK: text(correct())[:5000]}, [0] * 6, "notebook is not valid JSON"),
    "empty_file": ({NOTEBOOK: ""}, [0] * 6, "notebook file is empty"),
    "not_utf8": ({NOTEBOOK: b"\xff\xfe{\x00\x00 cells"}, [0] * 6, "notebook is not UTF-8 text"),
    "no_notebook": ({"perceptrons/notes.txt": "I forgot"}, [0] * 6, "no notebook named perceptrons/perceptrons.ipynb"),
    "wrong_name": ({"perceptrons/Perceptrons (1).ipynb": text(correct())}, FULL, "graded (graded perceptrons/Perceptrons (1).ipynb: no notebook named perceptrons/perceptrons.ipynb)"),
    "extra_notebook": ({NOTEBOOK: text(correct()), "perceptrons/scratch.ipynb": text(correct())}, FULL, "graded (ignored extra notebook(s): perceptrons/scratch.ipynb)"),
    "deleted_test_cell": ({NOTEBOOK: text(without("softmax_checks"))}, FULL, "graded"),
    "duplicated_test_cell": ({NOTEBOOK: text(duplicated("forward_pass_checks"))}, FULL, "graded (duplicate test cells removed: forward_pass)"),
    "reordered_test_cell": ({NOTEBOOK: text(moved_above_answer("update_params"))}, FULL, "graded (test cells moved back below their answers: update_params)"),
    "edited_test_cell": ({NOTEBOOK: text(edited_test_cell())}, [0] * 6, "graded"),
    "renamed_function": ({NOTEBOOK: text(answer_replaced("softmax_code", SOLUTION_SOFTMAX.replace("def softmax(", "def soft_max(")))}, [0, 2, 2, 1, 3, 2], "graded"),
    "syntax_error": ({NOTEBOOK: text(answer_replaced("forward_pass_code", "def forward_pass(params, X)\n    return X\n"))}, [2, 0, 2, 1, 3, 2], "graded"),
    "raises_at_import": ({NOTEBOOK: text(with_cell("import a_module_that_does_not_exist"))}, FULL, "graded"),
    "loop_in_graded_function": ({NOTEBOOK: text(answer_replaced("update_params_code", "def update_params(params, grads, lr):\n    while True:\n        pass\n"))}, [2, 2, 2, 0, 3, 2], "timed out in cell 53 (update_params)"),
    "loop_in_plain_cell": ({NOTEBOOK: text(with_cell("while True:\n    pass"))}, FULL, "timed out in cell 38"),
    # Spinning children pinned to the loop's own CPU: to the grader this looks like load (the loop
    # waited for its CPU), so it earns one more run alone, and no more than that.
    "loop_beside_busy_children": ({NOTEBOOK: text(with_cell(CROWDED_LOOP))}, FULL, "timed out in cell 38"),
    "loop_ignoring_sigint": ({NOTEBOOK: text(with_cell("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"))}, FULL, "timed out in cell 38"),
    "kernel_exits": ({NOTEBOOK: text(with_cell("import os\nos._exit(3)"))}, FULL, "kernel died in cell 38"),
    "kernel_segfaults": ({NOTEBOOK: text(with_cell("import ctypes\nctypes.string_at(0)"))}, FULL, "kernel died in cell 38"),
    "crash_inside_part": ({NOTEBOOK: text(answer_replaced("softmax_code", "import os\n\ndef softmax(z):\n    os._exit(1)\n"))}, [0, 2, 2, 1, 3, 2], "kernel died in cell 44 (softmax)"),
    "memory_hog": ({NOTEBOOK: text(with_cell("hog = bytearray(16 * 2**30)"))}, FULL, "graded"),
    "output_flood": ({NOTEBOOK: text(with_cell("for i in range(2_000_000):\n    print(i)"))}, FULL, "graded"),
    "leaves_child_process": ({NOTEBOOK: text(with_cell(f"import subprocess\nchild = subprocess.Popen(['sh', '-c', '{CHILD_MARK}'])"))}, FULL, "graded"),
    "overwrites_names": ({NOTEBOOK: text(with_cell(
        "import builtins\nX = Y = y = Y_onehot = 'overwritten'\nnp = None\nbuiltins.sum = lambda *args, **kwargs: 0\n"
        "builtins.round = lambda *args, **kwargs: 0"))}, FULL, "graded"),
    "warns_in_part": ({NOTEBOOK: text(answer_replaced("softmax_code", "import warnings\n\n" + SOLUTION_SOFTMAX.replace(
        '    """', '    warnings.warn("softmax: a warning on stderr")\n    """', 1)))}, FULL, "graded"),
    "slow_but_correct": ({NOTEBOOK: text(answer_replaced("train_nn_code", answers_for(True, [])["train_nn_code"].replace(
        "loss_history.append(float(loss))", "loss_history.append(float(loss))\n        __import__('time').sleep(0.15)")))}, FULL, "graded"),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = copy_course(tmp_path_factory.mktemp("bad_input"), include=["nbgrader_config.py", "source", "grader_tests", "reference", "grading", "sandbox"])
    for student, (files, _, _) in CASES.items():
        for relative, content in files.items():
            path = course / "submitted" / student / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
    # A shorter cell time-out than the course's 120 s keeps this test's endless loops cheap: 20 s
    # is still four times the slowest answered cell here (slow_but_correct's train_nn checks).
    completed = grade(course, GRADING_CELL_TIMEOUT="20")
    with open(course / "grades.csv", newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    return course, completed, rows


def test_the_batch_finishes_and_lists_everyone(graded):
    _, completed, rows = graded
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert sorted(rows) == sorted(CASES)


@pytest.mark.parametrize("student", CASES, ids=list(CASES))
def test_row(graded, student):
    _, _, rows = graded
    _, scores, status = CASES[student]
    row = rows[student]
    parts = ["softmax", "forward_pass", "cross_entropy_loss", "update_params", "train_nn", "MultiClassNet"]
    assert [float(row[p]) for p in parts] == pytest.approx(scores), row
    assert row["status"].startswith(status), row


@pytest.mark.parametrize("student", sorted(CASES))
def test_only_what_load_may_have_caused_is_graded_again(graded, student):
    """A dead kernel that exited or crashed by itself is final; a loop that waited for its CPU is not.

    Whatever else is graded again was, in its first run, a time-out or a kill during which the
    machine was busy (on a loaded machine a long cell may be): the batch's line says so.
    """
    course, completed, _ = graded
    result = json.loads((course / ".grading" / "results" / f"{student}.json").read_text(encoding="utf-8"))
    said = re.search(rf"regrading {re.escape(student)} alone after: (.*)", completed.stdout + completed.stderr)
    assert result["retried"] is bool(said), result["problems"]
    if student in RETRIED:
        assert said, "the crowded loop waited for its CPU: it is graded once more, alone"
    if student in FINAL:
        assert not said, f"{student} ended by its own doing: final"
    if said:
        assert said.group(1).startswith(("timed out", "kernel died")), said.group(0)


def _processes_under(course):
    """Pids of running processes whose working directory lies in ``course`` or in a worker's private
    course directory (grading.cluster's grader kit; kernels run in the notebook's folder there) that
    this checkout's Python runs: another checkout's batch on the same machine is not this one's."""
    ours = str(Path(sys.executable).parent) + os.sep
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cwd = Path(os.readlink(proc / "cwd"))
                command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                if cwd.is_relative_to(course) or (any(part.startswith("grader-kit-") for part in cwd.parts) and command.startswith(ours)):
                    found.append((int(proc.name), command[:120]))
            except OSError:
                continue
    return found


def test_no_kernel_or_student_process_outlives_the_batch(graded):
    course, _, _ = graded
    found = subprocess.run(["pgrep", "-f", CHILD_MARK], capture_output=True, text=True)
    assert found.stdout.strip() == "", "a process started by a student is still running"
    assert _processes_under(course) == []


def test_feedback_stays_small_after_an_output_flood(graded):
    course, _, _ = graded
    feedback = course / "feedback" / "output_flood" / "perceptrons" / "perceptrons.html"
    assert feedback.stat().st_size < 2_000_000

"""The student notebook (release/) as a student runs it, in a fresh Jupyter kernel.

* With the instructor's solution in every answer cell, the whole notebook runs top to bottom
  without a cell error and every visible check prints `ok`; the run time is printed (not asserted:
  bench/bench_notebook.py measures it too).
* The same where the platform has no SIGALRM and no signal.alarm (native Windows): the check
  helper runs the checks without a time limit instead of raising.
* The checks fail once and clearly: an answer cell that raises gives ONE `FAILED` line in its test
  cell and the checks that need its result say `skipped`; a train_nn that ignores its loss_func is
  caught by a visible check.

The runs without the lesson cells execute only what grading executes (cells tagged
skip-when-grading left out), which keeps them well under a minute each.
"""

import copy
import os
import re
import tempfile
import time
from datetime import datetime

import nbformat
import psutil
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell

from tools.demo_class import answers_for, student_notebook

pytestmark = pytest.mark.slow  # six runs of the notebook in a fresh kernel (a few minutes)

SKIP_TAG = "skip-when-grading"
CHECK_LINE = re.compile(r"^(ok {6}|FAILED {2}|skipped )")
PARTS = ["softmax", "forward_pass", "cross_entropy_loss", "update_params", "train_nn", "MultiClassNet"]

# Makes this kernel look like native Windows to the check helper: no SIGALRM, no alarm().
NO_ALARM = "import signal\ndel signal.SIGALRM\ndel signal.alarm"
# Shows, from inside a visible check, whether the helper set a time limit (SIGALRM is signal 14 on
# Linux; the module attribute may be gone, the signal itself is not).
PROBE = (
    "import signal as _signal\n"
    "check('probe: a time limit is set', lambda: _signal.getsignal(14) not in (_signal.SIG_DFL, _signal.SIG_IGN, None))\n"
    "check('probe: SIGALRM and alarm exist', lambda: hasattr(_signal, 'SIGALRM') and hasattr(_signal, 'alarm'))\n"
)


def solved_release():
    """The release notebook with the instructor's solution in every answer cell."""
    return student_notebook(answers_for(True, []))


def grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def index_of(nb, wanted):
    return next(i for i, cell in enumerate(nb.cells) if grade_id(cell) == wanted)


def without_lesson_cells(nb):
    """Only the cells grading runs: the ones not tagged skip-when-grading."""
    nb = copy.deepcopy(nb)
    nb.cells = [cell for cell in nb.cells if SKIP_TAG not in cell.metadata.get("tags", [])]
    return nb


def _seconds(cell):
    timing = cell.metadata.get("execution", {})
    try:
        start = datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return 0.0
    return (end - start).total_seconds()


def run_notebook(nb, timeout=300):
    """Runs ``nb`` in a fresh kernel like Run All on a laptop (inline plots, CPU JAX).

    Returns the executed notebook, the wall time in seconds (kernel start included), the seconds
    of every code cell by index, and the CPU seconds the kernel process used (on a shared machine
    the wall time also counts the waits for a free core; the CPU time does not).
    """
    nb = copy.deepcopy(nb)
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    env.pop("MPLBACKEND", None)  # the kernel's own default: inline figures, as in Jupyter
    cpu = {"seconds": 0.0}

    def kernel_cpu(**_):
        try:
            times = psutil.Process(client.km.provisioner.process.pid).cpu_times()
            cpu["seconds"] = times.user + times.system
        except (AttributeError, psutil.Error):
            pass

    with tempfile.TemporaryDirectory() as workdir:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                                resources={"metadata": {"path": workdir}}, on_cell_executed=kernel_cpu)
        started = time.monotonic()
        client.execute(env=env, cwd=workdir)
        seconds = time.monotonic() - started
    cell_seconds = {i: _seconds(cell) for i, cell in enumerate(nb.cells) if cell.cell_type == "code"}
    return nb, seconds, cell_seconds, cpu["seconds"]


def text_of(cell):
    return "".join(out.get("text", "") for out in cell.get("outputs", []) if out.get("output_type") == "stream")


def errors_of(cell):
    return [f"{out['ename']}: {out['evalue']}" for out in cell.get("outputs", []) if out.get("output_type") == "error"]


def stderr_of(cell):
    return "".join(out.get("text", "") for out in cell.get("outputs", []) if out.get("name") == "stderr")


def check_lines(nb, wanted=None):
    """The ok / FAILED / skipped lines printed by the test cells (of one grade id, if ``wanted``)."""
    return [line for cell in nb.cells if grade_id(cell) and grade_id(cell).endswith("_checks")
            and (wanted is None or grade_id(cell) == wanted)
            for line in text_of(cell).splitlines() if CHECK_LINE.match(line)]


def assert_all_ok(nb):
    problems = [(i, errors_of(cell)) for i, cell in enumerate(nb.cells) if errors_of(cell)]
    assert not problems, problems
    stderr = [(i, stderr_of(cell)[:300]) for i, cell in enumerate(nb.cells) if stderr_of(cell)]
    assert not stderr, stderr
    for part in PARTS:
        lines = check_lines(nb, f"{part}_checks")
        assert len(lines) >= 2, (part, lines)
        assert all(line.startswith("ok") for line in lines), (part, lines)


def test_solved_release_runs_top_to_bottom_and_every_check_is_ok(capsys):
    nb, seconds, cell_seconds, cpu_seconds = run_notebook(solved_release())
    assert_all_ok(nb)
    helper_output = text_of(nb.cells[index_of(nb, "check_helper")])  # the helper cell prints nothing
    assert helper_output == "", helper_output
    slowest = sorted(cell_seconds.items(), key=lambda item: -item[1])[:5]
    with capsys.disabled():
        print(f"\nrelease notebook with the solution, top to bottom: {seconds:.1f} s wall, {cpu_seconds:.1f} s CPU of "
              f"the kernel (slowest cells: {', '.join(f'{i}: {s:.1f} s' for i, s in slowest)})")


def test_without_sigalrm_every_check_is_ok_and_runs_without_a_time_limit():
    """Native Windows has neither signal.SIGALRM nor signal.alarm: the helper must not need them."""
    nb = solved_release()
    nb.cells.insert(0, new_code_cell(NO_ALARM))
    nb.cells.insert(index_of(nb, "check_helper") + 1, new_code_cell(PROBE))
    nb, *_ = run_notebook(nb)
    probe = text_of(nb.cells[index_of(nb, "check_helper") + 1]).splitlines()
    # The attributes are really gone in the kernel, and no handler for signal 14 was installed.
    assert probe == ["FAILED  probe: a time limit is set", "FAILED  probe: SIGALRM and alarm exist"], probe
    del nb.cells[index_of(nb, "check_helper") + 1]
    assert_all_ok(nb)


def test_with_sigalrm_a_check_has_a_time_limit():
    nb = without_lesson_cells(solved_release())
    loop = "def _forever():\n    while True:\n        pass\n\n\ncheck('an endless loop', _forever, seconds=1)"
    nb.cells.insert(index_of(nb, "check_helper") + 1, new_code_cell(PROBE + loop))
    nb.cells = nb.cells[:index_of(nb, "check_helper") + 2]
    nb, *_ = run_notebook(nb)
    lines = text_of(nb.cells[-1]).splitlines()
    assert lines[:2] == ["ok      probe: a time limit is set", "ok      probe: SIGALRM and alarm exist"], lines
    assert lines[2].startswith("FAILED  an endless loop: TimeoutError: no answer within 1 s"), lines
    assert not errors_of(nb.cells[-1])


def _part_lines(nb):
    return {part: check_lines(nb, f"{part}_checks") for part in PARTS}


def test_untouched_release_fails_once_per_part_and_skips_the_rest():
    """Every answer still raises NotImplementedError: one FAILED line per part, no error cascade.

    A part whose checks call parts that failed above is not judged: one `skipped` line names them.
    """
    nb, *_ = run_notebook(without_lesson_cells(student_notebook({})))
    waits_for = {"cross_entropy_loss": "softmax and forward_pass", "train_nn": "update_params"}
    for part, lines in _part_lines(nb).items():
        if part in waits_for:
            assert len(lines) == 1 and lines[0].startswith(f"skipped the checks of this cell ({waits_for[part]} failed above"), (part, lines)
            continue
        # The first check calls the function and fails; the others need its result and say so.
        assert len(lines) == 2, (part, lines)
        function = "MultiClassNet.__init__" if part == "MultiClassNet" else part
        assert lines[0].startswith("FAILED  ") and lines[0].endswith(f": NotImplementedError (raised in {function})"), (part, lines)
        assert lines[1] == f"skipped the other checks of this cell ({part} failed above)", (part, lines)
    test_cells = [cell for cell in nb.cells if (grade_id(cell) or "").endswith("_checks")]
    assert len(test_cells) == len(PARTS)
    for cell in test_cells:
        assert not errors_of(cell), (grade_id(cell), errors_of(cell))
        assert "KeyError" not in text_of(cell), text_of(cell)


def test_train_nn_that_raises_gives_one_failure_and_skips_what_needs_it():
    answers = answers_for(True, [])
    answers["train_nn_code"] = ("def train_nn(X, Y_true, n_iter, lr, loss_func):\n"
                                "    raise ValueError('shapes do not fit')\n")
    nb, *_ = run_notebook(without_lesson_cells(student_notebook(answers)))
    lines = check_lines(nb, "train_nn_checks")
    assert len(lines) == 2, lines
    assert lines[0].startswith("FAILED  ") and "ValueError: shapes do not fit (raised in train_nn)" in lines[0], lines
    assert lines[1] == "skipped the other checks of this cell (train_nn failed above)", lines
    cell = nb.cells[index_of(nb, "train_nn_checks")]
    assert not errors_of(cell) and "KeyError" not in text_of(cell)
    for part in PARTS:
        if part != "train_nn":
            assert all(line.startswith("ok") for line in check_lines(nb, f"{part}_checks")), part


def test_train_nn_checks_show_the_losses_and_catch_an_ignored_loss_func():
    answers = answers_for(True, [])
    # Trains on the global cross_entropy_loss whatever loss_func it is given.
    answers["train_nn_code"] = answers["train_nn_code"].replace("jax.value_and_grad(loss_func)", "jax.value_and_grad(cross_entropy_loss)")
    assert "value_and_grad(cross_entropy_loss)" in answers["train_nn_code"]
    nb, *_ = run_notebook(without_lesson_cells(student_notebook(answers)))
    lines = check_lines(nb, "train_nn_checks")
    failed = [line for line in lines if line.startswith("FAILED")]
    assert len(failed) == 1 and "loss_func" in failed[0], lines
    assert re.search(r"first 1\.\d{4}, last \d\.\d{4}", "\n".join(lines)), lines  # the judged numbers are shown

"""The sandbox's kernel as the executor drives it: a time-out interrupts the kernel, not the sandbox."""

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from grading.execute import GradingExecute



def _run(tmp_path, *sources, timeout=3):
    nb = new_notebook(cells=[new_code_cell(source) for source in sources])
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    executor = GradingExecute(timeout=timeout, sandbox=True, responsive_within=5)
    out, _ = executor.preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    return out.cells, executor.record


def _errors(cell):
    return [output["ename"] for output in cell.outputs if output["output_type"] == "error"]


def test_a_time_out_interrupts_the_kernel_and_keeps_it(tmp_path):
    # jupyter_client signals the group of the process it started, bwrap: it used to die of it, and
    # the kernel with it (a new kernel and a replay per time-out, misread as a dropped message).
    cells, record = _run(tmp_path, "x = 41", "while True:\n    pass", "print('x is', x + 1)")
    assert _errors(cells[1])[0] == "KeyboardInterrupt"
    assert "UnresponsiveKernel" not in _errors(cells[1])
    assert cells[2].outputs[0]["text"] == "x is 42\n"
    assert [problem.code for problem in record.problems] == ["timed_out"]


def test_a_kernel_that_dies_when_interrupted_is_replaced_and_not_blamed_on_a_message(tmp_path):
    dies = "import os, signal\nsignal.signal(signal.SIGINT, lambda *args: os._exit(0))\nwhile True:\n    pass"
    cells, record = _run(tmp_path, "x = 41", dies, "print('x is', x + 1)")
    assert "DeadKernelError" in _errors(cells[1])
    assert not any("dropped" in output.get("text", "") for output in cells[1].outputs)
    assert cells[2].outputs[0]["text"] == "x is 42\n"  # the replacement kernel replayed x = 41
    assert [problem.code for problem in record.problems] == ["timed_out"]


def test_a_kernel_that_ignores_the_interrupt_is_replaced(tmp_path):
    ignores = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"
    cells, record = _run(tmp_path, "x = 41", ignores, "print('x is', x + 1)")
    assert "UnresponsiveKernel" in _errors(cells[1])
    assert cells[2].outputs[0]["text"] == "x is 42\n"
    assert [problem.code for problem in record.problems] == ["timed_out"]

"""The notebook executor of `make grade`: nbgrader's Execute, made safe for untrusted notebooks.

On top of nbgrader's Execute (per-cell time-out, errors allowed):
- cells tagged ``skip-when-grading`` (lesson demos, plots) are not run, unless a running cell
  may need a name that only they define;
- the kernel runs under a memory limit (RLIMIT_AS): a memory hog gets a MemoryError in its own cell;
- a cell's stored output is capped while it runs, so a print loop cannot flood memory or feedback;
- a kernel that dies (os._exit, segfault) or ignores the interrupt after a time-out is replaced by a
  fresh one, the cells that ran before are replayed silently, and grading goes on with the next
  cell: only the part whose cell broke loses points;
- the whole submission has a time budget; cells past it are not run and say so;
- when the notebook is done, the kernel's whole process group is killed (no student process lives on).
"""

import ast
import builtins
import copy
import os
import resource
import signal
import time
from queue import Empty

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync
from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.preprocessors import Execute
from traitlets import Float, Integer, Unicode

SKIP_TAG = "skip-when-grading"


def _bound_and_read(source):
    """Names a cell binds and names it reads; None if it cannot be parsed."""
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    bound, read = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return bound, read


def cells_to_skip(nb, tag=SKIP_TAG):
    """Indices of the code cells tagged ``tag``, or none when a cell that runs may need one of them.

    The lesson's demonstrations and the plots are tagged: the graded exercise does not use them.
    Should a submission's running cells read a name that only a tagged cell defines (a student
    calling a lesson helper from an answer), nothing is skipped, so the grade never depends on
    the shortcut.
    """
    tagged, kept = [], []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            (tagged if tag in cell.metadata.get("tags", []) else kept).append(index)
    kept_bound, kept_read, tagged_bound = set(), set(), set()
    for index in kept:
        names = _bound_and_read(nb.cells[index].source)
        if names is not None:
            kept_bound |= names[0]
            kept_read |= names[1]
    for index in tagged:
        names = _bound_and_read(nb.cells[index].source)
        if names is not None:
            tagged_bound |= names[0]
    needed = (kept_read - kept_bound - set(dir(builtins))) & tagged_bound
    return set() if needed else set(tagged)


def _error(ename, evalue):
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def _is_test_cell(cell):
    return utils.is_grade(cell) and not utils.is_solution(cell)


class GradingExecute(Execute):
    """Runs an untrusted submission; see the module docstring."""

    skip_tag = Unicode(SKIP_TAG, help="cells with this tag are not run when grading").tag(config=True)
    memory_limit = Integer(4 * 2**30, help="address-space limit of the kernel, bytes (RLIMIT_AS)").tag(config=True)
    output_limit = Integer(200_000, help="characters of stream output kept per cell while it runs").tag(config=True)
    submission_budget = Float(600.0, help="seconds for the whole notebook; later cells are not run").tag(config=True)
    kernel_log = Unicode("", help="file that receives the kernel process's stderr ('' keeps it)").tag(config=True)
    responsive_within = Float(10.0, help="seconds an interrupted kernel has to answer before it is replaced").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._skipped = cells_to_skip(nb, self.skip_tag)
        self._replayable = []  # cells whose definitions a replacement kernel needs
        self._output_chars = {}
        self._started = time.monotonic()
        self._pgids = set()
        try:
            return super().preprocess(nb, resources, km)
        finally:
            self._kill_process_groups()

    # -- the kernel -------------------------------------------------------------------------
    async def async_start_new_kernel(self, **kwargs):
        limit = self.memory_limit

        def limit_memory():  # runs in the kernel process, before Python starts
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

        kwargs.setdefault("preexec_fn", limit_memory)
        # The kernel process's own log lines (start-up warnings) go to a file, not the TA's terminal;
        # what student code prints still reaches the notebook through the kernel's messages.
        log = None
        if self.kernel_log:
            os.makedirs(os.path.dirname(self.kernel_log), exist_ok=True)
            log = open(self.kernel_log, "a")  # noqa: SIM115 - the kernel inherits a copy; ours closes below
            kwargs.setdefault("stderr", log)
        try:
            await super().async_start_new_kernel(**kwargs)
        finally:
            if log is not None:
                log.close()
        pgid = getattr(self.km.provisioner, "pgid", None)
        if pgid:
            self._pgids.add(pgid)

    # nbclient binds the synchronous names to its own coroutines: rebind them to the overrides.
    start_new_kernel = run_sync(async_start_new_kernel)

    async def async_start_new_kernel_client(self):
        kc = await super().async_start_new_kernel_client()
        # Before any student code: the grader snapshots the builtins, which a student cell could
        # otherwise overwrite before the checks import (grader_tests.notebook).
        kc.execute("import grader_tests.notebook", silent=True, store_history=False)
        return kc

    start_new_kernel_client = run_sync(async_start_new_kernel_client)

    def _kill_process_groups(self):
        """SIGKILL every process group a kernel of this notebook led: children the student left running die too."""
        for pgid in self._pgids:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except OSError:
                pass

    def _responds(self):
        """Does the kernel answer a kernel_info request within ``responsive_within`` seconds?"""
        try:
            msg_id = self.kc.kernel_info()
            deadline = time.monotonic() + self.responsive_within
            while (left := deadline - time.monotonic()) > 0:
                msg = run_sync(self.kc.shell_channel.get_msg)(timeout=left)
                if msg["parent_header"].get("msg_id") == msg_id:
                    return True
        except (Empty, DeadKernelError, RuntimeError):
            return False
        return False

    def _replace_kernel(self):
        """A fresh kernel with the definitions of every cell that ran before (outputs discarded)."""
        self._kill_process_groups()
        self._cleanup_kernel()
        self.km = self.create_kernel_manager()
        self.start_new_kernel(cwd=self.resources.get("metadata", {}).get("path") or None)
        self.start_new_kernel_client()
        for index in self._replayable:
            replay = copy.deepcopy(self.nb.cells[index])
            try:
                super().preprocess_cell(replay, self.resources, index)
            except DeadKernelError:
                return False
            if any(out.get("ename") == "CellTimeoutError" for out in replay.get("outputs", [])):
                return False
        return True

    # -- cells ------------------------------------------------------------------------------
    def _get_timeout(self, cell):
        timeout = super()._get_timeout(cell)
        left = self.submission_budget - (time.monotonic() - self._started)
        return max(1, int(min(timeout or left, left)))

    def output(self, outs, msg, display_id, cell_index):
        if msg["msg_type"] == "stream":
            used = self._output_chars.get(cell_index, 0)
            text = msg["content"].get("text", "")
            if used >= self.output_limit:
                return None
            if used + len(text) > self.output_limit:
                msg = copy.deepcopy(msg)
                msg["content"]["text"] = text[: self.output_limit - used] + "\n[output truncated by the grader]\n"
            self._output_chars[cell_index] = used + len(text)
        return super().output(outs, msg, display_id, cell_index)

    def preprocess_cell(self, cell, resources, index):
        if index in self._skipped or cell.cell_type != "code":
            return cell, resources
        if time.monotonic() - self._started >= self.submission_budget:
            cell.outputs = [_error("SubmissionTimeLimit", f"not run: the notebook used up its {self.submission_budget:g} s")]
            return cell, resources
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            cell.outputs.append(_error("DeadKernelError", "the kernel died while running this cell (os._exit, a crash, or too much memory)"))
            self._replace_kernel()
            return cell, resources
        except CellTimeoutError:  # the kernel stayed busy after the interrupt (no IOPub idle)
            cell.outputs.append(_error("CellTimeoutError", f"the cell did not finish within {self._get_timeout(cell)} s"))
        timed_out = any(out.get("ename") == "CellTimeoutError" for out in cell.get("outputs", []))
        if timed_out and not self._responds():
            cell.outputs.append(_error("UnresponsiveKernel", "the kernel ignored the interrupt after the time-out and was restarted"))
            self._replace_kernel()
        elif not timed_out and not _is_test_cell(cell):
            self._replayable.append(index)
        return cell, resources

"""The notebook executor of `make grade`: nbgrader's Execute, made safe for untrusted notebooks.

The student's kernel runs in a sandbox (grading.wall); the hidden checks run here, outside it.
A test cell (grade id ``<part>_checks``) is run in two steps: its visible checks in the kernel,
then the part's hidden checks in this process (grader_tests.runner), which reach the student's
functions through an agent the kernel starts on a Unix socket (sandbox.agent; plain data only).
The cell's outputs are then what the grader wrote: the visible checks' text (errors and stderr
turned into plain text), the checks' report, and the score as the cell's result, which nbgrader
saves as the part's grade. Nothing the kernel prints can set a score.

On top of nbgrader's Execute (per-cell time-out, errors allowed):
- cells tagged ``skip-when-grading`` (lesson demos, plots) are not run, unless a running cell
  may need a name that only they define;
- the kernel runs under memory, process and file-size limits: a memory hog gets a MemoryError in its own cell;
- every output the kernel sends (stream, display data, results, errors, widget messages) is
  capped in bytes per cell and per submission as it is received, and each message by the size
  the kernel client's sockets accept, so no output can flood memory, the notebook or feedback;
- a kernel that dies (os._exit, segfault) or ignores the interrupt after a time-out is replaced by a
  fresh one, the cells that ran before are replayed silently, and grading goes on with the next
  cell: only the part whose cell broke loses points;
- the whole submission has a time budget; cells past it are not run and say so, and the checks
  of a part have a deadline of their own (the cell time-out, within that budget);
- when the notebook is done, the kernel's sandbox is killed with every process in it.

What happened is recorded as data where it happens, in a grading.record.Record (scores, checks,
and problems as codes), which the worker takes when nbgrader is done: no status is ever read
back from text the kernel wrote.
"""

import ast
import builtins
import copy
import json
import os
import re
import signal
import socket
import time
from queue import Empty

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Bool, Float, Unicode, default

from grader_tests.points import PARTS
from grader_tests.report import format_part
from grader_tests.runner import run_checks
from grader_tests.submission import CALL_TIMEOUT, NO_ANSWER, NOT_STARTED, PART_DEADLINE, SocketChannel, Submission
from grading import record as grading_record
from grading import settings as grading_settings
from grading.cells import SKIP_TAG, is_test_cell, part_of_test_cell, strip_magics
from grading.load import Meter, load_suspected
from grading.wall import Sandbox, environment, kernel_manager

def _bound_and_read(source):
    """Names a cell binds and names it reads; None if it cannot be parsed."""
    code = strip_magics(source)
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


# Why a check stopped (grader_tests.submission: measured by the grader) that counts as a time-out.
TIMED_OUT_STOPS = {CALL_TIMEOUT, NO_ANSWER, PART_DEADLINE}
# Messages of the kernel whose content becomes part of the notebook or of the client's state.
_OUTPUT_MESSAGES = {"stream", "display_data", "execute_result", "error", "update_display_data"}


def _content_bytes(msg):
    """Bytes an output message would add to the notebook (its content as JSON)."""
    content = msg.get("content") or {}
    if msg["msg_type"] == "stream":
        return len(str(content.get("text", "")).encode("utf-8", "replace"))
    return len(json.dumps(content, default=str))


def _part_of_cell(cell):
    grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
    return next((part for part in PARTS if grade_id.startswith(f"{part}_")), None)


_HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[ \t]*\n?", re.S | re.M)


def visible_part(source):
    """A test cell's source without its hidden block (which make grade replaces by the checks run here)."""
    return _HIDDEN.sub("", source)


def _as_plain_text(outputs):
    """Outputs of the visible checks as stdout text only: an error or stderr there must not set the grade."""
    plain = []
    for output in outputs:
        if output.get("output_type") == "stream":
            plain.append(new_output("stream", name="stdout", text=output.get("text", "")))
        elif output.get("output_type") == "error":
            text = f"the visible checks stopped: {output.get('ename', 'Error')}: {output.get('evalue', '')}\n"
            plain.append(new_output("stream", name="stdout", text=text))
        elif output.get("output_type") == "display_data":
            plain.append(output)
    return plain


class GradingExecute(Execute):
    """Runs an untrusted submission; see the module docstring."""

    skip_tag = Unicode(SKIP_TAG, help="cells with this tag are not run when grading").tag(config=True)
    sandbox = Bool(True, help="run the kernel in the bubblewrap sandbox (grading.wall)").tag(config=True)
    kernel_log = Unicode("", help="file that receives the kernel process's stderr ('' keeps it)").tag(config=True)
    responsive_within = Float(10.0, help="seconds an interrupted kernel has to answer before it is replaced").tag(config=True)
    agent_start_within = Float(60.0, help="seconds the kernel has to connect its agent for a part's checks").tag(config=True)
    compile_cache = Unicode("", help="JAX compilations made by the grader (grading.compile_cache), read-only to the kernel; '' for none").tag(config=True)
    compile_cache_writable = Bool(False, help="the kernel may add to compile_cache (only when the grader builds it)").tag(config=True)

    @default("shutdown_kernel")
    def _kill_when_done(self):
        # A graceful shutdown waits about 1 s a student for the kernel to exit (atexit handlers of
        # JAX, torch and the student's own): nothing it could still do counts, and its sandbox is
        # killed whole afterwards (_kill_process_groups), so the kernel is killed at once.
        return "immediate"

    def preprocess(self, nb, resources=None, km=None):
        # The limits (grading.settings): of the course's configuration as nbgrader passes it, or of
        # nbgrader_config.py for an executor made without one.
        self.limits = grading_settings.current(self.config if "GradingSettings" in self.config else None)
        self._skipped = cells_to_skip(nb, self.skip_tag)
        self._replayable = []  # cells whose definitions a replacement kernel needs
        self._output_bytes = {}  # bytes of output kept, per cell index
        self._capped = set()  # cells whose output passed a cap (noted once)
        self._started = time.monotonic()
        self._pgids = set()
        self._sandboxes = []
        self._timed_out = False  # set by nbclient's time-out handling of the running cell
        # The CPU this process and its kernel got since the running cell began: a time-out in
        # which they mostly waited for a CPU may be load (grading.load), and is retried.
        self._meter = Meter()
        self.record = grading_record.Record(sandboxed=self.sandbox)
        try:
            return super().preprocess(nb, resources, km)
        finally:
            self._kill_process_groups()
            for box in self._sandboxes:
                box.cleanup()
            student = ((resources or {}).get("nbgrader") or {}).get("student")
            if student:
                grading_record.publish(student, self.record)

    def _budget_left(self):
        return self.limits.submission_budget - (time.monotonic() - self._started)

    # -- the kernel -------------------------------------------------------------------------
    def create_kernel_manager(self):
        notebook_dir = self.resources.get("metadata", {}).get("path") or os.getcwd()
        inside_dir = "/home/student/" + os.path.basename(os.path.normpath(notebook_dir))
        files = {}
        for name in os.listdir(notebook_dir):  # the student's own (staged) files, read-only
            path = os.path.join(notebook_dir, name)
            if os.path.isfile(path):
                files[f"{inside_dir}/{name}"] = path
        box = Sandbox(files=files, cwd=inside_dir, enabled=self.sandbox, settings=self.limits, compile_cache=self.compile_cache,
                      compile_cache_writable=self.compile_cache_writable)
        self._sandboxes.append(box)
        self._box = box
        kernel_name = self.kernel_name or self.nb.metadata.get("kernelspec", {}).get("name") or "python3"
        self.km = kernel_manager(box, kernel_name=kernel_name, config=self.config)
        self.km.client_class = "grading.wall.CappedKernelClient"  # each message's size is bounded as it arrives
        return self.km

    async def async_start_new_kernel(self, **kwargs):
        if self.sandbox:  # bwrap itself (PID 1 inside, whose /proc/1/environ is visible) gets no TA variable either
            kwargs.setdefault("env", environment())
        # The kernel process's own log lines (start-up warnings) go to a file, not the TA's terminal;
        # what student code prints still reaches the notebook through the kernel's messages.
        log = None
        if self.kernel_log:
            os.makedirs(os.path.dirname(self.kernel_log), exist_ok=True)
            log = open(self.kernel_log, "a")  # noqa: SIM115 - the kernel inherits a copy; ours closes below
            kwargs.setdefault("stderr", log)
            kwargs.setdefault("stdout", log)  # ipykernel's start-up banner, and C-level prints
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
        self._box.close_to_sandbox()  # its sockets are bound: from now on it can create nothing there
        # Before any student cell: the agent snapshots the builtins, which a cell could overwrite.
        kc.execute("import sandbox.agent", silent=True, store_history=False)
        return kc

    start_new_kernel_client = run_sync(async_start_new_kernel_client)

    def _kill_process_groups(self):
        """SIGKILL every kernel's sandbox: bwrap leads the group, its PID namespace dies with it."""
        for pgid in self._pgids:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except OSError:
                pass

    def _responds(self):
        """Does the kernel answer a kernel_info request within ``responsive_within`` seconds?"""
        try:
            msg_id = self.kc.kernel_info()
            return self._await_reply(msg_id, self.responsive_within) is not None
        except (DeadKernelError, RuntimeError):
            return False

    def _await_reply(self, msg_id, seconds):
        """The shell reply to ``msg_id`` within ``seconds``, or None."""
        deadline = time.monotonic() + seconds
        try:
            while (left := deadline - time.monotonic()) > 0:
                msg = run_sync(self.kc.shell_channel.get_msg)(timeout=left)
                if msg["parent_header"].get("msg_id") == msg_id:
                    return msg
        except Empty:
            return None
        return None

    def _alive(self):
        try:
            return bool(run_sync(self.km.is_alive)())
        except Exception:
            return False

    def _load_suspected(self):
        """May load have caused what stopped the running cell (a time-out)?"""
        return load_suspected(self._meter.spent())

    def _killed_from_outside(self):
        """Did the kernel that died get SIGKILL (the kernel's OOM killer, another process), not end by its own doing?

        bwrap exits with 128 + the signal that ended the command; unsandboxed, the process itself has -9.
        """
        process = getattr(self.km.provisioner, "process", None) if self.km is not None else None
        code = process.poll() if process is not None else None
        return code in (128 + signal.SIGKILL, -signal.SIGKILL)

    def _replace_kernel(self):
        """A fresh kernel with the definitions of every cell that ran before (outputs discarded)."""
        self._kill_process_groups()
        self._cleanup_kernel()
        self.km = self.create_kernel_manager()
        self.start_new_kernel(cwd=self.resources.get("metadata", {}).get("path") or None)
        self.start_new_kernel_client()
        for index in self._replayable:
            if self._budget_left() <= 0:  # a replay never extends the submission's budget
                return False
            replay = copy.deepcopy(self.nb.cells[index])
            self._timed_out = False
            try:
                super().preprocess_cell(replay, self.resources, index)
            except (DeadKernelError, CellTimeoutError):
                return False
            if self._timed_out:
                return False
        return True

    # -- cells ------------------------------------------------------------------------------
    def _get_timeout(self, cell):
        timeout = super()._get_timeout(cell)
        left = self._budget_left()
        return max(1, int(min(timeout or left, left)))

    async def _async_handle_timeout(self, timeout, cell=None):
        self._timed_out = True  # the grader's own fact: no text of the kernel's can set it
        return await super()._async_handle_timeout(timeout, cell)

    def process_message(self, msg, cell, cell_index):
        """nbclient's handling of a kernel message, after the output caps (see the class's limits)."""
        msg_type = msg["msg_type"]
        if msg_type in _OUTPUT_MESSAGES or msg_type.startswith("comm"):
            size = _content_bytes(msg)
            used = self._output_bytes.get(cell_index, 0)
            room = min(self.limits.cell_output_limit - used, self.limits.submission_output_limit - self.record.output_bytes)
            if size > room:
                note = ""
                if cell_index not in self._capped:
                    self._capped.add(cell_index)
                    self.record.add("output_capped", cell_index, _part_of_cell(cell))
                    note = (f"\n[output truncated by the grader: outputs are capped at {self.limits.cell_output_limit // 2**10} KiB "
                            f"a cell and {self.limits.submission_output_limit // 2**20} MiB a submission]\n")
                if msg_type == "stream" and room > 0:
                    text = str(msg["content"].get("text", "")).encode("utf-8", "replace")[:room].decode("utf-8", "ignore")
                    msg = {**msg, "content": {**msg["content"], "text": text + note}}
                    size = room
                elif note:
                    cell.outputs.append(new_output("stream", name="stdout", text=note.lstrip("\n")))
                    return None
                else:
                    return None
            self._output_bytes[cell_index] = used + size
            self.record.output_bytes += size
        return super().process_message(msg, cell, cell_index)

    def preprocess_cell(self, cell, resources, index):
        if index in self._skipped or cell.cell_type != "code":
            return cell, resources
        if self._budget_left() <= 0:
            cell.outputs = [_error("SubmissionTimeLimit", f"not run: the notebook used up its {self.limits.submission_budget:g} s")]
            self.record.add("out_of_time", index, _part_of_cell(cell))
            return cell, resources
        part = part_of_test_cell(cell)
        if part is not None:
            return self._run_test_cell(cell, resources, index, part)
        return self._run_code_cell(cell, resources, index)

    def _run_code_cell(self, cell, resources, index):
        self._timed_out = False
        part = _part_of_cell(cell)
        no_idle = False
        self._meter.start(os.getpid())
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            cell.outputs.append(_error("DeadKernelError", "the kernel died while running this cell (os._exit, a crash, or too much memory)"))
            self.record.add("kernel_died", index, part, maybe_load=self._killed_from_outside())
            self._replace_kernel()
            return cell, resources
        except CellTimeoutError:  # no IOPub idle: the kernel stayed busy after the interrupt, or its IOPub connection was dropped
            no_idle = True
        alive = self._alive()  # a dead kernel's sockets disconnect too: that is no dropped message
        if alive and self._after_dropped_messages(cell, index, part):
            no_idle = False  # the idle was lost with the dropped connection: not a time-out
        if no_idle:
            self._timed_out = True
            cell.outputs.append(_error("CellTimeoutError", f"the cell did not finish within {self._get_timeout(cell)} s"))
        timed_out = self._timed_out
        if timed_out:
            self.record.add("timed_out", index, part, maybe_load=self._load_suspected())
        if timed_out and not alive:
            cell.outputs.append(_error("DeadKernelError", "the kernel died when it was interrupted after the time-out, and was restarted"))
            self._replace_kernel()
        elif timed_out and not self._responds():
            cell.outputs.append(_error("UnresponsiveKernel", "the kernel ignored the interrupt after the time-out and was restarted"))
            self._replace_kernel()
        elif not timed_out and not is_test_cell(cell):
            self._replayable.append(index)
        return cell, resources

    def _after_dropped_messages(self, cell, index, part):
        """When ZeroMQ dropped a connection to the kernel (a message over the size limit), notes it and reconnects.

        Returns whether it did.
        """
        dropped = self.kc.dropped() if hasattr(self.kc, "dropped") else []
        if not dropped:
            return False
        self.record.add("output_capped", index, part)
        cell.outputs.append(new_output("stream", name="stdout", text=(
            f"[a message of more than {self.limits.kernel_message_limit // 2**20} MiB from the kernel was dropped by the grader, "
            "with what the cell sent after it]\n")))
        self.kc.reconnect(dropped)
        for _ in range(20):  # until the new iopub socket hears the kernel (a subscription takes a moment)
            msg_id = self.kc.kernel_info()
            if self._await_reply(msg_id, self.responsive_within) is None:
                break
            try:
                while True:
                    msg = run_sync(self.kc.iopub_channel.get_msg)(timeout=0.25)
                    if msg["parent_header"].get("msg_id") == msg_id:
                        return True
            except Empty:
                continue
        return True

    def _run_test_cell(self, cell, resources, index, part):
        """The visible checks in the kernel, then the part's hidden checks here; the grader writes the outputs."""
        source = cell.source
        cell.source = visible_part(source)
        try:
            cell, resources = self._run_code_cell(cell, resources, index)
        finally:
            cell.source = source
        visible = _as_plain_text(cell.get("outputs", []))
        began = time.monotonic()
        self._meter.start(os.getpid())
        result, note = self._check_part(part, index)
        self.record.parts[part] = grading_record.PartRecord(
            score=float(result["score"]), max=int(result["max"]), checks=result["checks"], seconds=round(time.monotonic() - began, 2))
        if any(check.get("stop") in TIMED_OUT_STOPS for check in result["checks"]):
            self.record.add("timed_out", index, part, maybe_load=self._load_suspected())
        grading_record.part_checked(part)
        report = format_part(part, result) + "\n" + (f"[{note}]\n" if note else "")
        cell.outputs = visible + [
            new_output("stream", name="stdout", text=report),
            new_output("execute_result", data={"text/plain": repr(float(result["score"]))}, execution_count=cell.get("execution_count")),
        ]
        return cell, resources

    def _check_part(self, part, index):
        """(results of run_checks for ``part``, a note for the TA or None), talking to the kernel's agent.

        The checks have one deadline for everything they ask of the agent: the cell time-out,
        and no later than the submission's budget.
        """
        deadline = time.monotonic() + max(1.0, min(float(self.timeout or self.limits.submission_budget), self._budget_left()))
        address = str(self._box.runtime / f"grader-{part}.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(address)
        listener.listen(1)
        self._box.close_to_sandbox()
        msg_id = self.kc.execute(f"__import__('sandbox.agent').agent.serve({address!r}, globals())",
                                 silent=True, store_history=False, allow_stdin=False)
        def start_within():  # for the agent to connect, then to say hello: never past the part's deadline
            return max(0.1, min(self.agent_start_within, deadline - time.monotonic()))

        listener.settimeout(start_within())
        connection = None
        try:
            connection, _ = listener.accept()
            channel = SocketChannel(connection, deadline=deadline)
            channel.hello(timeout=start_within())
        except (OSError, socket.timeout) as error:
            channel = SocketChannel(socket.socket(socket.AF_UNIX), deadline=deadline)
            channel.stopped(NOT_STARTED, f"the kernel did not start the grader's agent ({type(error).__name__})")
        except Exception:  # ChannelBroken from hello()
            pass
        finally:
            listener.close()
            os.unlink(address)
        try:
            result = run_checks(Submission(channel, "notebook"), parts=(part,))[part]
        finally:
            channel.close()
        return result, self._after_checks(msg_id, index, part)

    def _after_checks(self, msg_id, index, part):
        """Makes sure the kernel is back and idle after a part's checks; a note when it was not."""
        if self._await_reply(msg_id, self.responsive_within) is not None:
            return None
        if not self._alive():
            self.record.add("kernel_died", index, part, maybe_load=self._killed_from_outside())
            self._replace_kernel()
            return "the kernel died while the grader's checks ran (os._exit, a crash, or too much memory)"
        run_sync(self.km.interrupt_kernel)()
        if self._await_reply(msg_id, self.responsive_within) is None:
            self.record.add("kernel_restarted", index, part)
            self._replace_kernel()
            return "the kernel stopped answering while the grader's checks ran and was restarted"
        return None

"""The wall around student code: a bubblewrap sandbox, and the process limits around it.

(What runs behind the wall, next to student code, is the top-level ``sandbox`` package.)

Every run of student code goes through :class:`Sandbox`: the notebook kernel of ``make grade``
(:class:`SandboxedKernelManager`, used by grading.execute) and the agent process of ``python -m
grading.check PATH`` (:func:`start_agent`). Inside, the code sees (README, "Security model"):

* the Python environment and the system's /usr, read-only; the ``sandbox`` package (the agent,
  the wire format, the probes), read-only; its own notebook or file, read-only;
* a private, size-limited HOME, /tmp and /dev/shm; a minimal /dev and its own /proc;
* a runtime directory holding only the kernel's sockets, or the grader's socket;
* a scrubbed environment; its own PID, network, IPC and UTS namespaces (no network at all);
* as root: another user id (one per grading process); otherwise the TA's id in a user namespace.

It does not see the course directory (reference/, grader_tests/, source/, release/, other
students, gradebook.db, .grading/, feedback/), the TA's HOME or environment. Limits: address
space, processes, file size, open files; time is limited per call (the agent) and per cell and
submission (grading.execute), and every process of the sandbox dies with it (PID namespace,
--die-with-parent).
"""

import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from traitlets import Any, Integer

from grading import XLA_FLAGS
from grading.proctree import children, descendants, namespace_pid
from grading.settings import current as current_settings
from sandbox.kernel import LIFELINE_OPTION

ROOT = Path(__file__).resolve().parent.parent
SANDBOX_PACKAGE = ROOT / "sandbox"
INSIDE_PACKAGES = "/opt/grader"  # PYTHONPATH inside: holds the sandbox package only
INSIDE_HOME = "/home/student"
MPLCONFIGDIR_INSIDE = "/tmp/matplotlib"  # matplotlib's config and cache directory inside (on the private /tmp)

SANDBOX_UID_BASE = 200_000  # as root, sandboxes run as uid SANDBOX_UID_BASE + (pid % 50000)


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot start here; str() is one sentence for the TA."""


def _privileged():
    return os.geteuid() == 0


def sandbox_uid():
    """The user id a sandbox of this process runs as (root only): one per grading process."""
    return SANDBOX_UID_BASE + os.getpid() % 50_000


def _system_binds():
    """bwrap arguments for the read-only system: /usr, the merged-/usr links, the libraries' config."""
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "lib", "lib64", "sbin", "lib32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for path in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives", "/etc/localtime", "/etc/fonts"):
        args += ["--ro-bind-try", path, path]
    return args


def _with_parent_directories(mounts):
    """``mounts`` with ``--perms 0755 --dir`` before each mount whose parent directories do not exist yet.

    bwrap creates missing parents with mode 0700, which the sandbox's user (as root: another uid)
    could not traverse. A tmpfs hides what was made below its mount point, so that is made again.
    """
    arity = {"--ro-bind": 2, "--bind": 2, "--ro-bind-try": 2, "--symlink": 2, "--tmpfs": 1, "--proc": 1, "--dev": 1,
             "--dir": 1, "--size": 1, "--perms": 1}
    made, out, i = set(), [], 0
    while i < len(mounts):
        option = mounts[i]
        n = arity[option]
        chunk = mounts[i:i + 1 + n]
        i += 1 + n
        if option in ("--size", "--perms"):  # modifiers of the next mount: keep them next to it
            out.extend(chunk)
            continue
        target = chunk[-1]
        parents = [str(p) for p in reversed(Path(target).parents) if str(p) != "/" and str(p) not in made]
        modifiers = []
        while out and out[-2] in ("--size", "--perms") and len(out) >= 2:
            modifiers = out[-2:] + modifiers
            del out[-2:]
        for parent in parents:
            out += ["--perms", "0755", "--dir", parent]
            made.add(parent)
        out += modifiers + chunk
        if option == "--tmpfs":
            made = {p for p in made if not p.startswith(target + "/")}
        made.add(target)
    return out


def _python_binds():
    """The Python environment (venv and the interpreter it was made from), read-only at the same paths."""
    paths = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}
    paths.add(os.path.dirname(os.path.realpath(sys.executable)))
    args = []
    for path in sorted(paths):
        if not path.startswith("/usr"):
            args += ["--ro-bind", path, path]
    if os.path.realpath(sys.prefix) != sys.prefix:  # the venv reached through a symlink
        args += ["--ro-bind", sys.prefix, sys.prefix]
    return args


def environment(extra=None):
    """The environment inside: nothing of the TA's beyond what Python, JAX and matplotlib need."""
    env = {
        "HOME": INSIDE_HOME, "USER": "student", "LOGNAME": "student", "TMPDIR": "/tmp",
        "PATH": f"{os.path.dirname(sys.executable)}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PYTHONPATH": INSIDE_PACKAGES, "PYTHONDONTWRITEBYTECODE": "1",
        "JAX_PLATFORMS": "cpu", "MPLBACKEND": "Agg", "MPLCONFIGDIR": MPLCONFIGDIR_INSIDE,
        "XLA_FLAGS": os.environ.get("XLA_FLAGS", XLA_FLAGS),
    }
    env.update(extra or {})
    return env


COMPILE_CACHE_INSIDE = "/opt/compile-cache"
COMPILE_CACHE_COMPLETE = "complete"  # written last by grading.compile_cache: a directory without it is never used
FONT_LISTS = "matplotlib"  # the compile cache's subdirectory of matplotlib's font lists (fontlist-v*.json)
READ_ONLY_MIN_COMPILE_SECONDS = 10**9  # JAX writes a compilation only if it took longer: a cache's readers write nothing


def compile_cache_usable(path):
    """Is ``path`` a complete compile cache (grading.compile_cache)?"""
    return bool(path) and (Path(path) / COMPILE_CACHE_COMPLETE).is_file()


def compile_cache_environment(path, writable=False):
    """JAX's settings for a compile cache at ``path``: read by every kernel, written only by the grader's build.

    A reader never writes: JAX writes only compilations that took longer than the minimum time
    (READ_ONLY_MIN_COMPILE_SECONDS); so nothing fails, and no warning reaches a student's output. The build's
    kernel also leaves matplotlib's font list there (its MPLCONFIGDIR is the cache's FONT_LISTS).
    """
    env = {"JAX_COMPILATION_CACHE_DIR": path, "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0" if writable else str(READ_ONLY_MIN_COMPILE_SECONDS),
           "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0"}
    if writable:
        env["MPLCONFIGDIR"] = f"{path}/{FONT_LISTS}"
    return env


def font_lists(cache):
    """The font lists of a complete compile cache that every kernel may read as its own: [] if none.

    matplotlib finds the system's fonts and reads every one of them the first time a process
    imports pyplot (about 0.1 s of CPU), then keeps the list in its cache directory, which a
    sandbox has fresh each time. The build's kernel made this one inside the same walls, so it
    names the fonts a kernel sees. One that names a font file no longer there (fonts removed
    since) is not used: matplotlib would make its own again, and fail to save it.
    """
    folder = Path(cache) / FONT_LISTS
    if not compile_cache_usable(cache) or not folder.is_dir() or folder.is_symlink():
        return []
    usable = []
    for path in sorted(folder.glob("fontlist-v*.json")):
        if path.is_file() and not path.is_symlink() and _fonts_present(str(path), path.stat().st_mtime_ns):
            usable.append(path)
    return usable


@functools.lru_cache(maxsize=16)
def _fonts_present(path, mtime_ns):
    """Does every font file the list at ``path`` names by absolute path exist? (Relative names are matplotlib's
    own fonts, in the environment whose matplotlib version the cache's key holds.)"""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        names = [font["fname"] for key in ("ttflist", "afmlist") for font in data.get(key, [])]
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return False
    return all(isinstance(name, str) and (not os.path.isabs(name) or os.path.isfile(name)) for name in names)


class Sandbox:
    """One sandboxed run: its runtime directory, the files it may read, its command line and limits."""

    def __init__(self, files=None, cwd=INSIDE_HOME, enabled=True, settings=None, compile_cache=None, compile_cache_writable=False):
        """``files`` maps paths inside to host files bound read-only; ``enabled=False`` runs unsandboxed;
        ``settings``: the GradingSettings whose limits apply (the course's by default);
        ``compile_cache``: a directory of JAX compilations made by the grader (grading.compile_cache),
        bound read-only once complete (writable only while the grader builds it), or None."""
        self.enabled = enabled
        bound = compile_cache and (compile_cache_writable or compile_cache_usable(compile_cache))
        self.compile_cache = str(compile_cache) if bound else None
        self.compile_cache_writable = compile_cache_writable
        self.settings = settings or current_settings()
        self.files = dict(files or {})
        self.cwd = cwd
        self.uid = sandbox_uid() if enabled and _privileged() else None
        self.runtime = Path(tempfile.mkdtemp(prefix="perceptrons-sandbox-"))
        os.chmod(self.runtime, 0o700)

    # -- the runtime directory --------------------------------------------------------------
    def open_to_sandbox(self):
        """Lets the sandbox create its sockets in the runtime directory (a kernel binds its own),
        and its compilations in a compile cache the grader is building."""
        if self.uid is not None:
            for path in [self.runtime, *self.runtime.iterdir()]:
                os.chown(path, self.uid, self.uid)
            if self.compile_cache and self.compile_cache_writable:
                os.chown(self.compile_cache, self.uid, self.uid)

    def close_to_sandbox(self):
        """From now on the sandbox can use the sockets there but create nothing (no disk to fill)."""
        if self.uid is not None:
            os.chown(self.runtime, 0, 0)
            os.chmod(self.runtime, 0o711)
            for path in self.runtime.iterdir():
                if path.is_socket():
                    os.chmod(path, 0o666)

    def cleanup(self):
        shutil.rmtree(self.runtime, ignore_errors=True)

    # -- the command ------------------------------------------------------------------------
    def wrap(self, command, env=None):
        """The command line that runs ``command`` (a list) in this sandbox."""
        if not self.enabled:
            return self.limits() + list(command)
        bwrap = shutil.which("bwrap")
        if bwrap is None:
            raise SandboxUnavailable(
                "bubblewrap (bwrap) is not installed: run 'sudo apt-get install bubblewrap', or grade with --no-sandbox")
        args = [bwrap, "--die-with-parent", "--new-session", "--unshare-ipc", "--unshare-pid", "--unshare-net",
                "--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox"]
        if not _privileged():
            args += ["--unshare-user", "--disable-userns"]
        # The private filesystems first: what is bound afterwards stays visible on top of them
        # (a venv or a course under /tmp, as in a CI checkout there).
        mounts = ["--proc", "/proc", "--dev", "/dev"]
        for path, size in self.tmpfs_sizes().items():
            mounts += ["--size", str(size), "--perms", "1777", "--tmpfs", path]
        mounts += _system_binds() + _python_binds()
        if self.cwd.startswith(INSIDE_HOME + "/"):  # the notebook's folder: writable, like a student's own
            mounts += ["--perms", "1777", "--dir", self.cwd]
        mounts += ["--ro-bind", str(SANDBOX_PACKAGE), f"{INSIDE_PACKAGES}/sandbox"]
        mounts += ["--bind", str(self.runtime), str(self.runtime)]
        for inside, outside in self.files.items():
            mounts += ["--ro-bind", str(outside), inside]
        env = dict(env or {})
        if self.compile_cache:
            mounts += ["--bind" if self.compile_cache_writable else "--ro-bind", self.compile_cache, COMPILE_CACHE_INSIDE]
            env.update(compile_cache_environment(COMPILE_CACHE_INSIDE, self.compile_cache_writable))
            if not self.compile_cache_writable and (lists := font_lists(self.compile_cache)):
                # matplotlib's directory stays the kernel's own (writable); only the font list is the grader's, read-only
                mounts += ["--perms", "1777", "--dir", MPLCONFIGDIR_INSIDE]
                for path in lists:
                    mounts += ["--ro-bind", str(path), f"{MPLCONFIGDIR_INSIDE}/{path.name}"]
        args += _with_parent_directories(mounts)
        args += ["--chdir", self.cwd, "--clearenv"]
        for key, value in environment(env).items():
            args += ["--setenv", key, value]
        args.append("--")
        if self.uid is not None:  # root: drop to an unprivileged user of this sandbox's own
            args += [shutil.which("setpriv") or "/usr/bin/setpriv", f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups",
                     "--bounding-set=-all", "--inh-caps=-all", "--no-new-privs"]
        return self.limits() + args + list(command)

    def tmpfs_sizes(self):
        """{path inside: bytes} of the sandbox's private, size-limited filesystems."""
        return {"/tmp": self.settings.kernel_tmp, INSIDE_HOME: self.settings.kernel_home, "/dev/shm": self.settings.kernel_shm}

    def limits(self):
        """``prlimit --as=... --`` : the resource limits, set by util-linux's prlimit, which then runs bwrap.

        Not a Popen preexec_fn: with one, Python must fork the grading process (JAX and Dask threads
        running) and run Python code in the child before exec, which is not thread-safe.
        """
        enabled = self.enabled
        limit = self.settings
        processes = limit.kernel_processes if (_privileged() or not enabled) else limit.kernel_processes + _own_process_count()
        prlimit = shutil.which("prlimit")
        if prlimit is None:
            if enabled:
                raise SandboxUnavailable("util-linux's prlimit is not installed: run 'sudo apt-get install util-linux', "
                                         "or grade with --no-sandbox")
            return []  # unsandboxed on a system without util-linux: no limits, as without the sandbox anyway
        args = [prlimit, f"--as={limit.kernel_memory}", "--core=0"]
        if enabled:
            args += [f"--nproc={processes}", f"--fsize={limit.kernel_file_size}", f"--nofile={limit.kernel_open_files}"]
        return args + ["--"]


def _own_process_count():
    """Processes and threads of this user now (RLIMIT_NPROC counts them all when we are not root)."""
    uid, count = os.getuid(), 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry.name}/task"))
            except OSError:
                continue
    return count


def check_available():
    """Raises SandboxUnavailable (one sentence) unless a sandbox can start here."""
    sandbox = Sandbox()
    try:
        command = sandbox.wrap([sys.executable, "-c", "import sandbox.wire"])
        completed = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SandboxUnavailable(f"the sandbox cannot start here ({error}); grade with --no-sandbox to grade anyway, unprotected") from None
    finally:
        sandbox.cleanup()
    if completed.returncode != 0:
        reason = (completed.stderr.strip().splitlines() or ["unknown error"])[-1][:200]
        raise SandboxUnavailable(
            f"the sandbox cannot start here (bwrap: {reason}; it needs user namespaces, Linux only); "
            "grade with --no-sandbox to grade anyway, unprotected")


RECONNECT_MS = 10  # how soon a kernel client's socket tries again to reach a kernel still starting
EXIT_POLL_SECONDS = 0.005  # how often a killed kernel is looked at until it is gone (SandboxedKernelManager._async_wait)


class CappedKernelClient(AsyncKernelClient):
    """A kernel client whose sockets refuse any message frame over ``message_limit`` bytes (ZMQ_MAXMSGSIZE).

    ZeroMQ drops such a frame, and with it the connection, before anything of it is held here;
    the executor's per-cell and per-submission caps bound what is kept of smaller ones. ZeroMQ
    does not reconnect after this (a protocol error ends the session), so each socket has a
    monitor: :meth:`dropped` tells which channels lost their connection, :meth:`reconnect` makes
    them anew.
    """

    _monitored = ("shell", "iopub")
    message_limit = Integer(help="bytes per message frame (GradingSettings.kernel_message_limit, given by the kernel manager)")

    def _create_connected_socket(self, channel, identity=None):
        # jupyter_client's own, with the limit set before connect() (libzmq reads it then); these
        # kernels speak over ipc sockets without CURVE keys.
        import zmq
        from jupyter_client.connect import channel_socket_types

        sock = self.context.socket(channel_socket_types[channel])
        sock.linger = 1000
        sock.maxmsgsize = self.message_limit
        # The client connects before the kernel has bound its sockets; ZeroMQ tries again every
        # 100 ms by default, so the iopub channel joined up to 100 ms after the kernel could answer,
        # and nbclient waited for it (its kernel_info handshake waits for an iopub message).
        sock.reconnect_ivl = RECONNECT_MS
        if identity:
            sock.identity = identity
        if channel in self._monitored:
            if not hasattr(self, "_monitors"):
                self._monitors = {}
            self._monitors[channel] = sock.get_monitor_socket(zmq.EVENT_DISCONNECTED)
        sock.connect(self._make_url(channel))
        return sock

    def dropped(self):
        """The channels whose connection to the kernel ZeroMQ has dropped (a message over ``message_limit``)."""
        import zmq

        return [channel for channel, monitor in getattr(self, "_monitors", {}).items()
                if not monitor.closed and monitor.getsockopt(zmq.EVENTS) & zmq.POLLIN]

    async def wait_for_ready(self, timeout=None):
        """jupyter_client's handshake (a kernel_info reply, then any iopub message: both channels are
        connected), after which what iopub holds is dropped without waiting for more.

        jupyter_client (8.x) ends it by reading iopub until it has been silent for 0.2 s: 0.2 s in
        which neither the kernel nor the worker does anything, for every kernel started (a
        student's, a replacement). Those start-up messages (statuses, streams) are dropped as far as
        they are there; one that comes later is ignored as any stray message is: nbclient reads only
        what answers its own requests.
        """
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply":
                try:
                    await self.iopub_channel.get_msg(timeout=0.2)
                except Empty:
                    pass
                else:
                    self._handle_kernel_info_reply(reply)
                    break
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")
        while True:
            try:
                await self.iopub_channel.get_msg(timeout=0)
            except Empty:
                return

    def reconnect(self, channels):
        """New sockets for ``channels`` (what was in flight on the old ones is lost)."""
        for channel in channels:
            old = getattr(self, f"_{channel}_channel")
            setattr(self, f"_{channel}_channel", None)
            monitor = self._monitors.pop(channel, None)
            if monitor is not None:
                monitor.close(linger=0)
            if old is not None:
                old.close()
            getattr(self, f"{channel}_channel").start()


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel runs in a :class:`Sandbox` and talks over Unix sockets."""

    sandbox = Any(None, help="the Sandbox of this kernel (set by grading.execute)")

    def client(self, **kwargs):
        kwargs.setdefault("message_limit", self.sandbox.settings.kernel_message_limit)
        return super().client(**kwargs)

    def format_kernel_cmd(self, extra_arguments=None):
        command = super().format_kernel_cmd(extra_arguments)
        # ipykernel, started by sandbox.kernel: JAX's lowerings there share their MLIR context, and
        # it ends when its lifeline closes (see _async_launch_kernel)
        self._close_lifeline()
        if "ipykernel_launcher" in command:
            self._lifeline_read, self._lifeline = os.pipe()  # neither is inherited by any other process
            at = command.index("ipykernel_launcher")
            command = [*command[:at], "sandbox.kernel", LIFELINE_OPTION, str(self._lifeline_read), *command[at + 1:]]
        self.sandbox.open_to_sandbox()  # the connection file exists now; the kernel binds its sockets here
        return self.sandbox.wrap(command)

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        """Starts the kernel with the read end of its lifeline, a pipe whose write end only this process holds.

        When this process dies, however it dies, the kernel reads the end of the pipe and exits, and
        its sandbox with it. bwrap's --die-with-parent alone leaves a gap: bwrap arms the parent's
        death signal only once it runs, so a grading process killed while a kernel was starting
        (the batch killed whole: a TA's Ctrl-C, a laptop closing) left that sandbox running.
        """
        read_end, self._lifeline_read = self._lifeline_read, None
        if read_end is None:  # a kernel that is not ipykernel's launcher: started as it is
            return await super()._async_launch_kernel(kernel_cmd, **kw)
        try:
            return await super()._async_launch_kernel(kernel_cmd, pass_fds=(read_end,), **kw)
        finally:
            os.close(read_end)

    _launch_kernel = run_sync(_async_launch_kernel)

    async def _async_cleanup_resources(self, restart=False):
        self._close_lifeline()  # the kernel is gone or going: nothing left to keep alive
        await super()._async_cleanup_resources(restart=restart)

    cleanup_resources = run_sync(_async_cleanup_resources)

    async def _async_wait(self, pollinterval=0.1):
        """Until the kernel's process is gone. jupyter_client looks every 0.1 s, and a killed sandbox is gone within
        milliseconds: each student's kernel shutdown kept its worker waiting about 80 ms in which nothing ran
        (12 students' worth of a core per batch of 12, measured 2026-12-04)."""
        await super()._async_wait(pollinterval=min(pollinterval, EXIT_POLL_SECONDS))

    def _close_lifeline(self):
        for name in ("_lifeline", "_lifeline_read"):
            fd = getattr(self, name, None)
            setattr(self, name, None)
            if fd is not None:
                os.close(fd)

    async def _async_interrupt_kernel(self):
        """SIGINT to the kernel itself, inside its sandbox.

        jupyter_client signals the process group of the process it started, which here is bwrap:
        bwrap dies of it, and the kernel with it (--die-with-parent), so every time-out cost a new
        kernel and a replay. The kernel is found from outside instead, as the command that the
        sandbox's init (PID 1 of its namespace) runs.
        """
        process = getattr(self.provisioner, "process", None)
        if not self.sandbox.enabled or process is None:
            return await super()._async_interrupt_kernel()
        for pid in sandboxed_commands(process.pid):
            try:
                os.kill(pid, signal.SIGINT)
            except OSError:  # gone already
                pass

    interrupt_kernel = _async_interrupt_kernel


def sandboxed_commands(pid):
    """The processes that the sandbox started by ``pid`` (bwrap) runs under its init: its kernel or agent."""
    for process in descendants(pid):
        if namespace_pid(process) == 1:
            return children(process)
    return []


def kernel_manager(sandbox, **kwargs):
    """A SandboxedKernelManager for ``sandbox``: ipc transport, connection file in its runtime directory."""
    km = SandboxedKernelManager(transport="ipc", ip=str(sandbox.runtime / "kernel"),
                                connection_file=str(sandbox.runtime / "kernel.json"), **kwargs)
    km.sandbox = sandbox
    return km


# -- the agent of `python -m grading.check PATH` --------------------------------------------------

class AgentProcess:
    """A sandboxed agent process that loads one submitted file and then serves the grader's checks."""

    def __init__(self, path, enabled=True, compile_cache=None):
        """Starts the process (it imports, loads and connects in the background); see :meth:`connect`.
        ``compile_cache``: the grader's compilations (grading.compile_cache), read-only inside, used when complete."""
        self.path = Path(path).resolve()
        inside = f"{INSIDE_HOME}/submission/{self.path.name}" if enabled else str(self.path)
        self._launch({inside: self.path}, enabled, lambda address: [address, inside, str(path)], compile_cache)

    def _launch(self, files, enabled, arguments, compile_cache=None):
        """Starts ``python -m sandbox.agent ADDRESS *arguments(ADDRESS)`` with ``files`` ({inside: host path}) bound."""
        files = {inside: outside for inside, outside in files.items() if enabled and outside.is_file()}
        self.sandbox = Sandbox(files=files, enabled=enabled, compile_cache=compile_cache)
        address = str(self.sandbox.runtime / "grader.sock")
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(address)
        self.listener.listen(1)
        self.sandbox.close_to_sandbox()
        command = [sys.executable, "-m", "sandbox.agent", *arguments(address)]
        # bwrap itself (PID 1 inside, whose /proc/1/environ is visible) gets no TA variable either
        env = environment() if enabled else {**os.environ, "PYTHONPATH": str(ROOT)}
        self.errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop()
        self.process = subprocess.Popen(self.sandbox.wrap(command), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=self.errors, env=env, start_new_session=True)

    def connect(self, timeout=180):
        """The connection to the agent; TimeoutError (with what it said) when it never connects."""
        try:
            return self._accept(timeout, f"the sandboxed process for {self.path} did not start")
        finally:
            self.listener.close()

    def _accept(self, timeout, failed):
        self.listener.settimeout(timeout)
        try:
            connection, _ = self.listener.accept()
            return connection
        except OSError:
            self.errors.seek(0)
            said = self.errors.read()[-500:].decode("utf-8", "replace").strip()
            raise TimeoutError(f"{failed} within {timeout} s ({said or 'no message'})") from None

    def stop(self):
        """Kills the agent's whole sandbox (its PID namespace goes with bwrap) and removes its runtime directory."""
        try:
            os.killpg(self.process.pid, 9)
        except OSError:
            pass
        self.process.wait()
        self.listener.close()
        self.errors.close()
        self.sandbox.cleanup()


class AgentSeries(AgentProcess):
    """Several files of ONE author in one sandbox: a warm agent process forks a fresh child for each in turn.

    Each file's child starts with NumPy, JAX, PyTorch and matplotlib imported, and JAX's
    compilations are cached across the files (sandbox.agent.serve_each). The machine stays walled
    off from the files as with :class:`AgentProcess`; the files are not walled off from one another.
    """

    CACHE = "/tmp/jax-compilation-cache"  # inside the sandbox's private /tmp

    def __init__(self, paths, enabled=True):
        self.paths = [Path(path).resolve() for path in paths]
        inside = [f"{INSIDE_HOME}/submission/{i}/{path.name}" if enabled else str(path) for i, path in enumerate(self.paths)]
        labels = [str(path) for path in paths]
        pairs = [item for pair in zip(inside, labels) for item in pair]

        def arguments(address):
            cache = self.CACHE if enabled else str(Path(address).parent / "jax-compilation-cache")
            return ["--each", address, cache, *pairs]

        self._launch(dict(zip(inside, self.paths)), enabled, arguments)

    def connect(self, timeout=180):
        """The connection of the next file's process (its hello says which file it is)."""
        return self._accept(timeout, "no file's process connected")

    def end(self, pid_inside):
        """Kills the process group of the file whose process is ``pid_inside`` (the pid in its hello), if still there."""
        for pid in descendants(self.process.pid)[1:]:
            if namespace_pid(pid) == pid_inside:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except OSError:
                    pass
                return

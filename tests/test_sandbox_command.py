"""grading.wall's command line: bwrap's namespaces, mounts and environment, the limits and the user it drops to.

Most tests read the argument list :meth:`Sandbox.wrap` builds; the last ones run it (bwrap starts
in well under a second) and look from inside.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grading import wall
from grading.wall import (INSIDE_HOME, INSIDE_PACKAGES, ROOT, SANDBOX_PACKAGE, SANDBOX_UID_BASE, Sandbox,
                             SandboxUnavailable, _with_parent_directories, check_available, environment)
from grading.settings import GiB, GradingSettings, MiB

COMMAND = [sys.executable, "-c", "pass"]
# Limits unlike the defaults, so that a test sees them applied rather than some default.
SETTINGS = GradingSettings(kernel_memory=3 * GiB, kernel_processes=300, kernel_file_size=32 * MiB, kernel_open_files=512,
                           kernel_tmp=96 * MiB, kernel_home=48 * MiB, kernel_shm=16 * MiB)
TMPFS = {"/tmp": 96 * MiB, INSIDE_HOME: 48 * MiB, "/dev/shm": 16 * MiB}
CANARY = ("PERCEPTRONS_TEST_CANARY", "ta-secret-4711")
# bwrap's options as used here: how many arguments each takes.
ARITY = {"--die-with-parent": 0, "--new-session": 0, "--unshare-ipc": 0, "--unshare-pid": 0, "--unshare-net": 0,
         "--unshare-uts": 0, "--unshare-cgroup-try": 0, "--unshare-user": 0, "--disable-userns": 0, "--clearenv": 0,
         "--hostname": 1, "--chdir": 1, "--setenv": 2, "--size": 1, "--perms": 1,
         "--proc": 1, "--dev": 1, "--tmpfs": 1, "--dir": 1, "--ro-bind": 2, "--ro-bind-try": 2, "--bind": 2, "--symlink": 2}
MODIFIERS = ("--size", "--perms")
MOUNTS = ("--proc", "--dev", "--tmpfs", "--dir", "--ro-bind", "--ro-bind-try", "--bind", "--symlink")
BINDS = ("--ro-bind", "--ro-bind-try", "--bind")


def _parse(command):
    """(the limits before bwrap, [(option, args, {modifier: value})] of bwrap, what bwrap runs after its '--')."""
    start = command.index(shutil.which("bwrap"))
    options, i, pending = [], start + 1, {}
    while command[i] != "--":
        option = command[i]
        args = tuple(command[i + 1:i + 1 + ARITY[option]])  # KeyError: an option this file does not know yet
        i += 1 + ARITY[option]
        if option in MODIFIERS:
            pending[option] = args[0]
            continue
        options.append((option, args, pending))
        pending = {}
    assert not pending, "a --size or --perms modifies no mount"
    return command[:start], options, command[i + 1:]


def _mounts(options):
    return [(option, args, modifiers) for option, args, modifiers in options if option in MOUNTS]


def _binds(options):
    """[(option, source on the host, destination inside)] of every bind."""
    return [(option, *args) for option, args, _ in options if option in BINDS]


def _parse_of(box):
    try:
        return _parse(box.wrap(COMMAND)), box
    finally:
        box.cleanup()


def _wrapped(**kwargs):
    return _parse_of(Sandbox(settings=SETTINGS, **kwargs))


@pytest.fixture
def notebook(tmp_path):
    path = tmp_path / "alice" / "perceptrons.ipynb"
    path.parent.mkdir()
    path.write_text('{"cells": []}')
    return path


# -- namespaces, session, environment ------------------------------------------------------------

def test_the_sandbox_has_its_own_pid_net_ipc_and_uts_namespaces_and_dies_with_its_parent():
    (_, options, _), _ = _wrapped()
    flags = [option for option, args, _ in options if not args]
    for flag in ("--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--die-with-parent", "--new-session"):
        assert flag in flags
    assert ("--hostname", ("sandbox",), {}) in options


def test_only_the_sandbox_environment_is_set_inside(monkeypatch):
    monkeypatch.setenv(*CANARY)
    box = Sandbox()
    try:
        command = box.wrap(COMMAND, env={"EXTRA": "given by the caller"})
    finally:
        box.cleanup()
    _, options, _ = _parse(command)
    names = [option for option, _, _ in options]
    assert "--clearenv" in names
    setenv = [i for i, name in enumerate(names) if name == "--setenv"]
    assert setenv and min(setenv) > names.index("--clearenv")  # set after the clearing, not cleared by it
    assert dict(args for option, args, _ in options if option == "--setenv") == {**environment(), "EXTRA": "given by the caller"}
    assert not any(CANARY[0] in arg or CANARY[1] in arg for arg in command)
    assert environment()["HOME"] == INSIDE_HOME and environment()["PYTHONPATH"] == INSIDE_PACKAGES
    assert CANARY[0] not in environment()


# -- what is mounted -----------------------------------------------------------------------------

def test_the_course_directory_is_bound_nowhere(notebook):
    (_, options, _), _ = _wrapped(files={f"{INSIDE_HOME}/perceptrons/perceptrons.ipynb": notebook})
    secret = [ROOT / name for name in ("reference", "grader_tests", "source", "release", "submitted", ".grading",
                                       "feedback", "autograded", "gradebook.db", "nbgrader_config.py")]
    sources = [Path(source).resolve() for _, source, _ in _binds(options)]
    for source in sources:
        assert not ROOT.is_relative_to(source), f"{source} holds the course directory"
        for path in secret:
            assert not path.is_relative_to(source) and not source.is_relative_to(path), (source, path)
    # Of the course directory only the sandbox package and the Python environment (a venv kept there) are seen.
    assert {s for s in sources if s.is_relative_to(ROOT)} <= {SANDBOX_PACKAGE, Path(sys.prefix).resolve()}
    assert SANDBOX_PACKAGE in sources


def test_the_sandbox_package_and_the_students_files_are_bound_read_only(notebook):
    inside = f"{INSIDE_HOME}/perceptrons/perceptrons.ipynb"
    (_, options, _), box = _wrapped(files={inside: notebook}, cwd=f"{INSIDE_HOME}/perceptrons")
    binds = _binds(options)
    assert ("--ro-bind", str(SANDBOX_PACKAGE), f"{INSIDE_PACKAGES}/sandbox") in binds
    assert ("--ro-bind", str(notebook), inside) in binds
    # The one writable bind is the runtime directory (the kernel's sockets).
    assert [bind for bind in binds if bind[0] == "--bind"] == [("--bind", str(box.runtime), str(box.runtime))]
    # The notebook's folder is made writable in the private HOME, and the command starts there.
    assert ("--dir", (f"{INSIDE_HOME}/perceptrons",), {"--perms": "1777"}) in options
    assert ("--chdir", (f"{INSIDE_HOME}/perceptrons",), {}) in options


def test_the_private_filesystems_have_their_size_limits():
    (_, options, _), _ = _wrapped()
    tmpfs = {args[0]: modifiers for option, args, modifiers in options if option == "--tmpfs"}
    assert tmpfs == {path: {"--size": str(size), "--perms": "1777"} for path, size in TMPFS.items()}
    mounts = [(option, args[-1]) for option, args, _ in _mounts(options)]
    assert ("--proc", "/proc") in mounts and ("--dev", "/dev") in mounts


def test_every_mount_point_lies_in_a_directory_made_before_it(notebook):
    """Each parent of a mount point was mounted or made earlier (and not hidden by a later tmpfs since)."""
    inside = f"{INSIDE_HOME}/perceptrons/perceptrons.ipynb"
    (_, options, _), _ = _wrapped(files={inside: notebook}, cwd=f"{INSIDE_HOME}/perceptrons")
    made = set()  # what bwrap made so far, as seen now
    for option, args, modifiers in _mounts(options):
        target = args[-1]
        for parent in Path(target).parents:
            if str(parent) != "/":
                assert str(parent) in made or any(parent.is_relative_to(b[2]) for b in _binds(options)
                                                  if b[2] in made and b[0] != "--ro-bind-try"), (option, target)
        if option == "--dir" and target != f"{INSIDE_HOME}/perceptrons":
            assert modifiers == {"--perms": "0755"}, target  # not bwrap's 0700: the sandbox's uid traverses it
        if option == "--tmpfs":
            made = {path for path in made if not path.startswith(target + "/")}
        made.add(target)


def test_a_python_environment_under_tmp_is_bound_on_top_of_the_private_tmp(monkeypatch):
    """A venv in a CI checkout under /tmp: bound after the private /tmp is mounted, so not hidden by it."""
    monkeypatch.setattr(wall, "_python_binds", lambda: ["--ro-bind", "/tmp/ci/checkout/.venv", "/tmp/ci/checkout/.venv"])
    (_, options, _), _ = _wrapped()
    mounts = [(option, args[-1]) for option, args, _ in _mounts(options)]
    venv = mounts.index(("--ro-bind", "/tmp/ci/checkout/.venv"))
    assert mounts.index(("--tmpfs", "/tmp")) < mounts.index(("--dir", "/tmp/ci")) < venv
    for position, (option, target) in enumerate(mounts):  # and so is every other bind below a private tmpfs
        if option in BINDS:
            assert all(mounts.index(("--tmpfs", path)) < position for path in TMPFS if target.startswith(path + "/"))


def test_missing_parent_directories_are_made_once_and_traversable():
    mounts = ["--ro-bind", "/host/a", "/x/y/a", "--ro-bind", "/host/b", "/x/y/b", "--dir", "/x/z"]
    assert _with_parent_directories(mounts) == [
        "--perms", "0755", "--dir", "/x", "--perms", "0755", "--dir", "/x/y", "--ro-bind", "/host/a", "/x/y/a",
        "--ro-bind", "/host/b", "/x/y/b", "--dir", "/x/z",
    ]
    at_the_root = ["--proc", "/proc", "--symlink", "usr/bin", "/bin"]
    assert _with_parent_directories(at_the_root) == at_the_root


def test_size_and_perms_stay_next_to_the_mount_they_modify():
    mounts = ["--size", "1024", "--perms", "1777", "--tmpfs", "/home/student", "--perms", "0700", "--dir", "/a/b"]
    assert _with_parent_directories(mounts) == [
        "--perms", "0755", "--dir", "/home", "--size", "1024", "--perms", "1777", "--tmpfs", "/home/student",
        "--perms", "0755", "--dir", "/a", "--perms", "0700", "--dir", "/a/b",
    ]


def test_a_tmpfs_hides_what_was_made_below_it_so_it_is_made_again():
    mounts = ["--ro-bind", "/host/f", "/h/s/f", "--tmpfs", "/h", "--ro-bind", "/host/g", "/h/s/g"]
    assert _with_parent_directories(mounts) == [
        "--perms", "0755", "--dir", "/h", "--perms", "0755", "--dir", "/h/s", "--ro-bind", "/host/f", "/h/s/f",
        "--tmpfs", "/h", "--perms", "0755", "--dir", "/h/s", "--ro-bind", "/host/g", "/h/s/g",
    ]


# -- limits and user -----------------------------------------------------------------------------

def test_prlimit_comes_first_with_the_memory_process_and_file_limits(monkeypatch):
    monkeypatch.setattr(wall, "_own_process_count", lambda: 0)  # not root: the TA's own processes are added
    (limits, _, _), _ = _wrapped()
    assert limits == [shutil.which("prlimit"), f"--as={3 * GiB}", "--core=0", "--nproc=300", f"--fsize={32 * MiB}",
                      "--nofile=512", "--"]


def test_as_root_the_command_drops_to_the_sandbox_uid_without_capabilities(monkeypatch):
    monkeypatch.setattr(wall, "_privileged", lambda: True)
    (_, options, after), box = _wrapped()
    uid = wall.sandbox_uid()
    assert box.uid == uid and SANDBOX_UID_BASE <= uid < SANDBOX_UID_BASE + 50_000
    assert after == [shutil.which("setpriv") or "/usr/bin/setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                     "--bounding-set=-all", "--inh-caps=-all", "--no-new-privs", *COMMAND]
    assert "--unshare-user" not in [option for option, _, _ in options]


def test_without_root_a_user_namespace_takes_the_place_of_another_uid(monkeypatch):
    monkeypatch.setattr(wall, "_privileged", lambda: False)
    monkeypatch.setattr(wall, "_own_process_count", lambda: 7)
    (limits, options, after), box = _wrapped()
    assert box.uid is None
    assert after == COMMAND  # no setpriv
    flags = [option for option, args, _ in options if not args]
    assert "--unshare-user" in flags and "--disable-userns" in flags
    assert "--nproc=307" in limits  # RLIMIT_NPROC counts the TA's own processes too


def test_unsandboxed_it_is_only_the_limits_and_the_command():
    box = Sandbox(enabled=False, settings=SETTINGS)
    try:
        assert box.uid is None
        assert box.wrap(COMMAND) == [shutil.which("prlimit"), f"--as={3 * GiB}", "--core=0", "--", *COMMAND]
    finally:
        box.cleanup()


def test_without_settings_given_the_limits_of_nbgrader_config_apply(monkeypatch):
    from traitlets.config import Config

    from grading import settings

    config = Config()
    config.GradingSettings.kernel_memory = 5 * GiB
    config.GradingSettings.kernel_tmp = 40 * MiB
    monkeypatch.setattr(settings, "_course_config", lambda: config)
    (limits, options, _), _ = _parse_of(Sandbox())
    assert f"--as={5 * GiB}" in limits
    assert ("--tmpfs", ("/tmp",), {"--size": str(40 * MiB), "--perms": "1777"}) in options


def _without(monkeypatch, program):
    which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *args, **kwargs: None if name == program else which(name, *args, **kwargs))


def test_without_bwrap_the_sandbox_is_unavailable_in_one_sentence(monkeypatch):
    _without(monkeypatch, "bwrap")
    box = Sandbox()
    try:
        with pytest.raises(SandboxUnavailable, match="bubblewrap.*--no-sandbox"):
            box.wrap(COMMAND)
    finally:
        box.cleanup()


def test_without_prlimit_only_an_unsandboxed_run_goes_ahead(monkeypatch):
    _without(monkeypatch, "prlimit")
    box, unsandboxed = Sandbox(), Sandbox(enabled=False)
    try:
        with pytest.raises(SandboxUnavailable, match="prlimit.*--no-sandbox"):
            box.wrap(COMMAND)
        assert unsandboxed.wrap(COMMAND) == COMMAND
    finally:
        box.cleanup()
        unsandboxed.cleanup()


def test_check_available_passes_here_and_leaves_no_runtime_directory(monkeypatch, tmp_path):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    check_available()
    assert list(tmp_path.iterdir()) == []


def test_check_available_tells_why_bwrap_failed(monkeypatch, tmp_path):
    fake = tmp_path / "bin" / "bwrap"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n")
    fake.chmod(0o755)
    which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: str(fake) if name == "bwrap" else which(name, *a, **k))
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    with pytest.raises(SandboxUnavailable, match=r"bwrap: setting up uid map: Permission denied.*--no-sandbox"):
        check_available()
    assert [path.name for path in tmp_path.iterdir()] == ["bin"]  # its runtime directory removed


# -- from inside ---------------------------------------------------------------------------------

def _inside(code, env=None, **kwargs):
    """What ``code`` (which prints one JSON value) prints when run through wrap() (bwrap gets ``env``, or ours)."""
    box = Sandbox(settings=SETTINGS, **kwargs)
    try:
        completed = subprocess.run(box.wrap([sys.executable, "-c", code]), capture_output=True, text=True, env=env, timeout=60)
    finally:
        box.cleanup()
    assert completed.returncode == 0, completed.stderr[-2000:]
    return json.loads(completed.stdout)


def test_sandboxed_code_cannot_read_or_import_the_course_directory():
    secrets = [ROOT / "reference" / "__init__.py", ROOT / "grader_tests" / "__init__.py",
               ROOT / "source" / "perceptrons" / "perceptrons.ipynb", ROOT / "nbgrader_config.py", SANDBOX_PACKAGE / "wire.py"]
    assert all(path.is_file() for path in secrets)
    paths = [f"{INSIDE_PACKAGES}/sandbox/wire.py", *map(str, secrets)]  # the first: the last one, where the sandbox has it
    code = f"""
import importlib, json
def read(path):
    try:
        with open(path) as handle:
            return handle.read()
    except OSError as error:
        return type(error).__name__
def load(name):  # the venv's .pth puts the course directory on sys.path
    try:
        importlib.import_module(name)
        return "imported"
    except ImportError as error:
        return type(error).__name__
print(json.dumps([[read(path) for path in {paths!r}], [load(name) for name in ("reference", "grader_tests", "grading", "sandbox.wire")]]))
"""
    read, imported = _inside(code)
    assert read[0] == (SANDBOX_PACKAGE / "wire.py").read_text()
    assert read[1:] == ["FileNotFoundError"] * len(secrets)
    assert imported == ["ModuleNotFoundError"] * 3 + ["imported"]


def test_the_students_file_is_readable_and_read_only_inside(notebook):
    notebook.chmod(0o666)  # writable by anyone: only the read-only bind keeps it as it is
    inside = f"{INSIDE_HOME}/perceptrons/perceptrons.ipynb"
    code = f"""
import errno, json
with open({inside!r}) as handle:
    text = handle.read()
try:
    open({inside!r}, "a").close()
    written = "written"
except OSError as error:
    written = errno.errorcode[error.errno]
with open("mine.txt", "w") as handle:  # the notebook's folder is the student's own
    handle.write("x")
print(json.dumps([text, written]))
"""
    assert _inside(code, files={inside: notebook}, cwd=f"{INSIDE_HOME}/perceptrons") == ['{"cells": []}', "EROFS"]
    assert notebook.read_text() == '{"cells": []}'


def test_sandboxed_code_has_no_network_and_fails_at_once():
    code = """
import errno, json, socket
try:
    socket.create_connection(("1.1.1.1", 53), timeout=30).close()
    outcome = "connected"
except socket.timeout:
    outcome = "timed out"
except OSError as error:
    outcome = errno.errorcode.get(error.errno, str(error))
print(json.dumps([outcome, [name for _, name in socket.if_nameindex()], socket.gethostname()]))
"""
    # unreachable at once (no route, no interface but lo), not a time-out of a filtered network
    assert _inside(code) == ["ENETUNREACH", ["lo"], "sandbox"]


def test_sandboxed_code_runs_in_its_own_pid_namespace():
    code = """
import json, os
print(json.dumps([os.readlink("/proc/self/ns/pid"), os.getpid(), sorted(int(p) for p in os.listdir("/proc") if p.isdigit())]))
"""
    namespace, pid, pids = _inside(code)
    assert namespace != os.readlink("/proc/self/ns/pid")
    assert pid == 2 and pids == [1, 2]  # bwrap's init, and the command


def test_sandboxed_code_sees_no_variable_of_the_callers_environment(monkeypatch):
    monkeypatch.setenv(*CANARY)
    code = """
import json, os
print(json.dumps(dict(os.environ)))
"""
    inside = _inside(code)  # bwrap itself gets the caller's environment here, canary included
    assert CANARY[0] not in inside and CANARY[1] not in json.dumps(inside)
    assert {key: value for key, value in inside.items() if key != "PWD"} == environment()


@pytest.mark.skipif(os.geteuid() != 0, reason="as root only")
def test_sandboxed_code_runs_as_the_sandbox_uid_with_no_privileges_and_its_limits():
    code = """
import json, os, resource
status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines())
names = ("RLIMIT_AS", "RLIMIT_NPROC", "RLIMIT_FSIZE", "RLIMIT_NOFILE", "RLIMIT_CORE")
limits = [resource.getrlimit(getattr(resource, name))[0] for name in names]
sizes = {path: os.statvfs(path).f_blocks * os.statvfs(path).f_frsize for path in ("/tmp", "/home/student", "/dev/shm")}
try:
    init = open("/proc/1/environ", "rb").read().decode(errors="replace")  # bwrap's: the caller's environment
except OSError as error:
    init = type(error).__name__
privileges = {key: status[key].strip() for key in ("CapEff", "CapPrm", "CapBnd", "NoNewPrivs")}
print(json.dumps([os.getuid(), os.getgid(), os.getgroups(), privileges, limits, sizes, init]))
"""
    uid, gid, groups, status, limits, sizes, init = _inside(code, env={**os.environ, CANARY[0]: CANARY[1]})
    assert uid == gid == wall.sandbox_uid() and groups == []
    assert status == {"CapEff": "0" * 16, "CapPrm": "0" * 16, "CapBnd": "0" * 16, "NoNewPrivs": "1"}
    assert limits == [3 * GiB, 300, 32 * MiB, 512, 0]
    assert sizes == TMPFS
    assert init == "PermissionError"  # another user's process


def test_make_grade_stops_with_the_sentence_when_the_sandbox_cannot_start(monkeypatch):
    # Before any student: the sentence (not an error of make grade's own), and the cluster closed.
    from types import SimpleNamespace

    from grading import __main__ as make_grade

    _without(monkeypatch, "bwrap")
    closed = []
    plan = SimpleNamespace(sandboxed=True, todo=["alice"])
    with pytest.raises(SystemExit, match="make grade: bubblewrap.*--no-sandbox"):
        make_grade._grade(plan, SimpleNamespace(scheduler=None), 1, SimpleNamespace(close=lambda: closed.append(True)))
    assert closed == [True]


# -- matplotlib's fonts ----------------------------------------------------------------------------

_FONTS = """
import json, logging, os, sys
logging.basicConfig(level=logging.DEBUG, format="%(message)s", stream=sys.stdout)
import matplotlib.font_manager
lists = sorted(name for name in os.listdir("/tmp/matplotlib") if name.startswith("fontlist-"))
try:
    open("/tmp/matplotlib/" + lists[0], "a").close()
    list_writable = True
except OSError:
    list_writable = False
print(json.dumps({"lists": lists, "list_writable": list_writable, "dir_writable": os.access("/tmp/matplotlib", os.W_OK)}))
"""


def _fonts_inside(cache):
    """matplotlib's font list inside a sandbox with the compile cache ``cache``: (what _FONTS saw, its log, stderr)."""
    box = Sandbox(settings=SETTINGS, compile_cache=cache)
    try:
        done = subprocess.run(box.wrap([sys.executable, "-c", _FONTS]), capture_output=True, text=True, timeout=60)
    finally:
        box.cleanup()
    assert done.returncode == 0, done.stderr[-2000:]
    *log, seen = done.stdout.splitlines()
    return json.loads(seen), "\n".join(log), done.stderr


def _cache_with_font_list(folder, font_file):
    """A complete compile cache whose font list names ``font_file`` (an absolute path) and one of matplotlib's own fonts."""
    import matplotlib.font_manager as fm  # noqa: PLC0415

    folder.chmod(0o755)
    (folder / "complete").write_text("0 entries\n")
    fonts = folder / wall.FONT_LISTS
    fonts.mkdir(mode=0o755)
    manager = fm.FontManager.__new__(fm.FontManager)
    manager.__dict__.update(vars(fm.fontManager))
    manager.ttflist = [fm.FontEntry(fname=str(font_file), name="Listed"), fm.fontManager.ttflist[0]]
    path = fonts / f"fontlist-v{fm.FontManager.__version__}.json"
    fm.json_dump(manager, path)
    path.chmod(0o644)
    return path


def test_matplotlib_finds_the_systems_fonts_without_an_error_on_stderr():
    # Without /etc/fonts, fontconfig printed an error into every graded notebook's set-up cell (and its feedback page).
    seen, log, stderr = _fonts_inside(None)
    assert "Fontconfig error" not in stderr + log, stderr
    assert seen["dir_writable"] and seen["list_writable"]  # matplotlib's own directory, its own list, made now
    assert "generated new fontManager" in log


def test_the_compile_caches_font_list_is_read_and_read_only_inside(tmp_path):
    font = Path(wall.__file__)  # any file there is: the list only needs it to exist
    listed = _cache_with_font_list(tmp_path, font)
    before = listed.read_bytes()
    seen, log, stderr = _fonts_inside(tmp_path)
    assert seen == {"lists": [listed.name], "list_writable": False, "dir_writable": True}, (seen, stderr)
    assert f"Using fontManager instance from /tmp/matplotlib/{listed.name}" in log
    assert "generated new fontManager" not in log
    assert listed.read_bytes() == before


def test_a_font_list_naming_a_font_no_longer_there_is_not_used(tmp_path):
    _cache_with_font_list(tmp_path, tmp_path / "removed-since.ttf")
    assert wall.font_lists(tmp_path) == []
    seen, log, _ = _fonts_inside(tmp_path)
    assert "generated new fontManager" in log and seen["list_writable"]  # the kernel's own, as without a cache

"""nbgrader's exchange on this machine as a JupyterHub course runs it, for tests/test_exchange.py.

Every student is a Linux user of their own (``useradd``, removed with ``userdel -r`` afterwards),
working in their own home with their own Jupyter, as JupyterHub's local spawner starts it. The
exchange is a directory every user may write to (nbgrader's docs, "Setting up the exchange":
https://nbgrader.readthedocs.io/en/stable/user_guide/managing_assignment_files.html), with the
sticky bit so that no user can remove another's entries.

Students cannot run the project's .venv: its interpreter lies under root's home (pyenv), which
other users may not enter. They get a Jupyter environment of their own (``student_venv``), made
from Debian's Python with the same pinned nbgrader and JupyterLab, as a Hub's single-user image
would hold; uv links it from its cache in a few seconds.
"""

import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from tests.course_copy import ROOT

COURSE_ID = "perceptrons-course"  # nbgrader_config.py's c.CourseDirectory.course_id
ASSIGNMENT = "perceptrons"
STUDENT_PYTHON = os.environ.get("STUDENT_PYTHON", "/usr/bin/python3")  # Debian's, outside root's home
UV = ROOT / ".venv" / ".uv" / "bin" / "uv"  # tools/install_requirements.py puts uv there


def missing():
    """Why the exchange cannot be set up here (a sentence), or None."""
    if os.geteuid() != 0:
        return "the exchange test creates Linux users: it must run as root (CI does)"
    for tool in ("useradd", "userdel", "runuser"):
        if shutil.which(tool) is None:
            return f"{tool} is missing (Debian's passwd / util-linux)"
    if not os.access(STUDENT_PYTHON, os.X_OK):
        return f"{STUDENT_PYTHON} is missing: students' Jupyter needs a Python that every user may run"
    return None


def shared_directory(prefix):
    """A new directory under /tmp that every user may enter (pytest's own tmp_path is root's alone)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    return path


def exchange_root(where):
    """The exchange: writable by all, sticky (nbgrader's release_assignment checks the 0o777 and keeps the sticky bit)."""
    root = Path(where) / "exchange"
    root.mkdir()
    root.chmod(0o1777)
    return root


def student_venv(where):
    """A Jupyter environment every user can run: Debian's Python, nbgrader and JupyterLab at requirements.txt's pins."""
    venv = Path(where) / "student-venv"
    constraints = Path(where) / "constraints.txt"
    constraints.write_text("".join(line.split("#", 1)[0].strip() + "\n" for line in (ROOT / "requirements.txt").read_text().splitlines()))
    uv = str(UV) if UV.exists() else shutil.which("uv")
    if uv:
        subprocess.run([uv, "venv", "-q", "--python", STUDENT_PYTHON, str(venv)], check=True, capture_output=True)
        done = subprocess.run([uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), "-c", str(constraints),
                               "nbgrader", "jupyterlab"], capture_output=True, text=True)
    else:
        subprocess.run([STUDENT_PYTHON, "-m", "venv", str(venv)], check=True, capture_output=True)
        done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "-c", str(constraints),
                               "nbgrader", "jupyterlab"], capture_output=True, text=True)
    assert done.returncode == 0, "installing the students' Jupyter failed:\n" + done.stderr[-3000:]
    return venv


class Users:
    """Linux users made for one test run, each with a home; ``remove()`` deletes them all (``userdel -r``)."""

    def __init__(self):
        self.tag = secrets.token_hex(3)
        self.names = []

    def add(self, label):
        name = f"nbx{label}{self.tag}"  # unique per run; nbgrader splits names at '+', so none in them
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", "--user-group", name], check=True, capture_output=True)
        self.names.append(name)
        return name

    def remove(self):
        for name in self.names:
            subprocess.run(["userdel", "-r", "-f", name], capture_output=True)
        self.names = []


def home(user):
    return Path(pwd.getpwnam(user).pw_dir)


def user_environment(user, venv):
    """A clean environment, as a Hub's spawner gives: the user's home, their Jupyter first on PATH."""
    return {"HOME": str(home(user)), "USER": user, "LOGNAME": user, "LANG": "C.UTF-8",
            "PATH": f"{venv}/bin:/usr/local/bin:/usr/bin:/bin"}


def as_user(user, venv, args, timeout=300, **popen):
    """Runs ``args`` as ``user`` in their home, with their environment only; returns the CompletedProcess."""
    env = user_environment(user, venv)
    command = ["runuser", "-u", user, "--", "env", "-i", *(f"{k}={v}" for k, v in env.items()), *map(str, args)]
    return subprocess.run(command, cwd=home(user), capture_output=True, text=True, timeout=timeout, **popen)


def write_as(user, path, data):
    """Writes ``data`` (bytes) to ``path`` as ``user`` (so the file is theirs, as if they had saved it)."""
    return subprocess.run(["runuser", "-u", user, "--", "tee", str(path)], input=data, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, check=True, cwd=home(user))


def configure_student(user, venv, exchange):
    """~/.jupyter/nbgrader_config.py: the course and the exchange (what a Hub's image or the instructor sets)."""
    config = home(user) / ".jupyter" / "nbgrader_config.py"
    text = (f"c = get_config()\nc.CourseDirectory.course_id = {COURSE_ID!r}\nc.Exchange.root = {str(exchange)!r}\n")
    done = as_user(user, venv, ["sh", "-c", f'mkdir -p "$HOME/.jupyter" && cat > "$HOME/.jupyter/nbgrader_config.py"'],
                   input=text)
    assert done.returncode == 0, done.stderr
    return config


def nbgrader_as(user, venv, *args):
    """`nbgrader <args>` as ``user`` in their home; returns the CompletedProcess."""
    return as_user(user, venv, [Path(venv) / "bin" / "nbgrader", *args])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """JupyterLab running as ``user`` on 127.0.0.1, as a Hub's single-user server; ``stop()`` ends its process group."""

    def __init__(self, user, venv, log_path):
        self.port, self.token = free_port(), secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}/lab?token={self.token}"
        env = user_environment(user, venv)
        self.log = open(log_path, "wb")
        self.process = subprocess.Popen(
            ["runuser", "-u", user, "--", "env", "-i", *(f"{k}={v}" for k, v in env.items()), f"{venv}/bin/jupyter", "lab",
             "--no-browser", "--ip", "127.0.0.1", f"--port={self.port}", f"--IdentityProvider.token={self.token}",
             f"--ServerApp.root_dir={home(user)}", "--ServerApp.port_retries=0"],
            cwd=home(user), stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self._wait()

    def _wait(self, timeout=120):
        deadline = time.monotonic() + timeout
        api = f"http://127.0.0.1:{self.port}/api/status?token={self.token}"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.process.returncode}: see {self.log.name}")
            try:
                with urllib.request.urlopen(api, timeout=5):
                    return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"jupyter lab did not answer within {timeout} s: see {self.log.name}")

    def stop(self):
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.log.close()


def nbgrader_in(course, *args):
    """`nbgrader <args>` as the instructor (root) in the course copy, with the project's .venv."""
    from tests.course_copy import run

    return run([sys.executable, "-m", "nbgrader", *args], cwd=course)


def fetch_and_submit_in_lab(lab, user, venv, notebook, screenshots):
    """As ``user`` in their JupyterLab (headless Chromium): Nbgrader > Assignment List, Fetch, then the solved
    ``notebook`` (bytes) saved over the fetched one, then Submit. Returns the text of the submitted list.

    Screenshots of each step go to ``screenshots`` (a folder), for a failure's post-mortem.
    """
    from playwright.sync_api import expect, sync_playwright

    from tests.browser import CHROMIUM

    screenshots = Path(screenshots)
    screenshots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(90_000)
            try:
                page.goto(lab.url)
                page.get_by_role("menuitem", name="Nbgrader").click()
                page.get_by_role("menuitem", name="Assignment List").click()
                released = page.locator("#released_assignments_list")
                expect(released).to_contain_text(ASSIGNMENT)
                released.get_by_role("button", name="Fetch").click()
                fetched = page.locator("#fetched_assignments_list")
                expect(fetched.get_by_role("button", name="Submit")).to_be_visible()
                page.screenshot(path=screenshots / "1-fetched.png")
                # the student's work, saved in the fetched notebook (as they would from the editor)
                write_as(user, home(user) / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", notebook)
                fetched.get_by_role("button", name="Submit").click()
                submitted = page.locator("#submitted_assignments_list")
                expect(submitted).to_contain_text(ASSIGNMENT)
                page.screenshot(path=screenshots / "2-submitted.png")
                return submitted.inner_text()
            except Exception:
                page.screenshot(path=screenshots / "failed.png")
                raise
        finally:
            browser.close()

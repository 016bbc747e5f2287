"""grading.compile_cache: JAX's own operations only, made by the grader, read-only to every kernel, grades unchanged."""

import ast
import json
import os
import subprocess
import sys
import time

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from grading import compile_cache
from grading.course import SOURCE_NOTEBOOK
from grading.execute import GradingExecute
from grading.wall import COMPILE_CACHE_INSIDE, FONT_LISTS, Sandbox, font_lists

HEX = "0" * 64


def test_entry_names_are_read_from_jax_file_names():
    assert compile_cache.entry_name(f"jit_exp-{HEX}-cache") == "exp"
    assert compile_cache.entry_name(f"jit__reduce_max-{HEX}-cache") == "_reduce_max"
    assert compile_cache.entry_name(f"jit_exp-{HEX}-atime") is None
    assert compile_cache.entry_name("jit_exp-abc-cache") is None
    assert compile_cache.entry_name(f"exp-{HEX}-cache") is None


def test_only_jax_operations_without_a_body_are_kept(tmp_path):
    kept = [f"jit_exp-{HEX}-cache", f"jit_dot_general-{HEX}-cache", f"jit__mean-{HEX}-cache"]
    removed = [f"jit_update_params-{HEX}-cache", f"jit_loss_and_grads-{HEX}-cache", f"jit_scan-{HEX}-cache",
               f"jit_while-{HEX}-cache", f"jit_cond-{HEX}-cache", f"jit_custom_jvp_call-{HEX}-cache", "notes.txt"]
    for name in kept + removed:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "folder").mkdir()
    (tmp_path / f"jit_add-{HEX}-cache").symlink_to(tmp_path / "notes.txt")
    assert compile_cache.prune(tmp_path) == len(kept)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    parent = tmp_path_factory.mktemp("caches")
    for name, age in ((".building-killed", 7200), (".building-running", 60)):  # builds killed long ago, or still running
        (parent / name).mkdir()
        os.utime(parent / name, (time.time() - age, time.time() - age))
    cache = compile_cache.build(parent / "cache")
    assert sorted(path.name for path in parent.iterdir()) == [".building-running", "cache"]
    return cache


def _solution_names():
    """Every function and class the source notebook defines (the model solution's and the lesson's)."""
    names = set()
    for cell in nbformat.read(str(SOURCE_NOTEBOOK), as_version=4).cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        names.update(node.name for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.ClassDef)))
    return names


@pytest.mark.slow
def test_the_cache_holds_jax_operations_and_nothing_of_the_solution(built):
    assert compile_cache.usable(built)
    entries = [path.name for path in built.iterdir() if path.name not in (compile_cache.COMPLETE, FONT_LISTS)]
    assert len(entries) > 50  # the exercise's operations at the checks' shapes
    names = {compile_cache.entry_name(entry) for entry in entries}
    known = compile_cache.jax_names()
    assert all(compile_cache.allowed(name, known) for name in names), sorted(names)
    solution = _solution_names() - known
    assert not names & solution, sorted(names & solution)
    assert {"update_params", "train_nn", "forward_pass", "cross_entropy_loss"} <= solution
    assert all(oct(path.stat().st_mode)[-3:] == "644" and path.stat().st_uid == os.geteuid()
               for path in built.iterdir() if path.name != FONT_LISTS)


@pytest.mark.slow
def test_the_cache_holds_the_font_list_the_builds_kernel_made_and_kernels_read_it(built):
    folder = built / FONT_LISTS
    [listed] = font_lists(built)
    assert sorted(path.name for path in folder.iterdir()) == [listed.name]  # nothing else the kernel left there
    assert oct(folder.stat().st_mode)[-3:] == "755" and oct(listed.stat().st_mode)[-3:] == "644"
    assert folder.stat().st_uid == listed.stat().st_uid == os.geteuid()
    fonts = json.loads(listed.read_text())
    assert any(font["fname"].endswith("DejaVuSans.ttf") for font in fonts["ttflist"])
    probe = ("import logging, sys; logging.basicConfig(level=logging.DEBUG, format='%(message)s', stream=sys.stdout); "
             "import matplotlib.pyplot")
    box = Sandbox(compile_cache=built)
    try:
        out = subprocess.run(box.wrap([sys.executable, "-c", probe]), capture_output=True, text=True, timeout=60)
    finally:
        box.cleanup()
    assert f"Using fontManager instance from /tmp/matplotlib/{listed.name}" in out.stdout, out.stdout[-2000:] + out.stderr


@pytest.mark.slow
def test_a_kernel_cannot_write_to_the_cache(built):
    before = _contents(built)
    victim = next(name for name in before if name.endswith("-cache"))
    attack = (
        "import os, sys\n"
        f"d = {COMPILE_CACHE_INSIDE!r}\n"
        "print(os.environ['JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS'])\n"
        "for how in ('new', 'old'):\n"
        "    try:\n"
        f"        open(os.path.join(d, 'jit_exp-{HEX}-cache' if how == 'new' else {victim!r}), 'wb').write(b'poison')\n"
        "        print(how, 'written')\n"
        "    except OSError as error:\n"
        "        print(how, 'refused', error.errno)\n"
    )
    box = Sandbox(compile_cache=built)
    try:
        out = subprocess.run(box.wrap([sys.executable, "-c", attack]), capture_output=True, text=True, timeout=60)
    finally:
        box.cleanup()
    assert out.stdout.split("\n")[0] == "1000000000", out.stdout + out.stderr  # JAX never tries to write
    assert "new refused" in out.stdout and "old refused" in out.stdout, out.stdout + out.stderr
    assert _contents(built) == before


def _contents(cache):
    """{path in the cache: its bytes} of every file, the font list's included."""
    return {str(path.relative_to(cache)): path.read_bytes() for path in cache.rglob("*") if path.is_file()}


def _checked(cache):
    """The grading record of the source notebook's solution (the cells grading runs, visible and hidden checks)."""
    nb = nbformat.read(str(SOURCE_NOTEBOOK), as_version=4)
    executor = GradingExecute(timeout=120, compile_cache=str(cache or ""), kernel_name="python3")
    executor.preprocess(nb, {"metadata": {"path": str(SOURCE_NOTEBOOK.parent)}})
    return {part: (result.score, [(c["name"], c["passed"], c["message"]) for c in result.checks])
            for part, result in executor.record.parts.items()}, [p.code for p in executor.record.problems]


@pytest.mark.slow
def test_the_same_grades_with_and_without_the_cache(built):
    with_cache, without = _checked(built), _checked(None)
    assert with_cache == without
    assert with_cache[1] == [] and len(with_cache[0]) == 6


def test_an_incomplete_cache_is_not_used(tmp_path):
    (tmp_path / f"jit_exp-{HEX}-cache").write_bytes(b"x")
    assert not compile_cache.usable(tmp_path)
    nb = new_notebook(cells=[new_code_cell("import os; print(os.environ.get('JAX_COMPILATION_CACHE_DIR'), os.path.exists('/opt/compile-cache'))")])
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    out, _ = GradingExecute(timeout=60, compile_cache=str(tmp_path)).preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    assert out.cells[0].outputs[0]["text"] == "None False\n"


def test_a_complete_cache_is_bound_read_only_for_reading(tmp_path):
    tmp_path.chmod(0o755)  # as a build leaves it: readable by the sandbox's user
    (tmp_path / f"jit_exp-{HEX}-cache").write_bytes(b"x")
    (tmp_path / compile_cache.COMPLETE).write_text("1 entries\n")
    probe = ("import os; d = os.environ['JAX_COMPILATION_CACHE_DIR']; "
             "print(d, sorted(os.listdir(d)), os.access(d, os.W_OK), os.environ['JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS'])")
    nb = new_notebook(cells=[new_code_cell(probe)])
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    out, _ = GradingExecute(timeout=60, compile_cache=str(tmp_path)).preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    entries = sorted([compile_cache.COMPLETE, f"jit_exp-{HEX}-cache"])
    assert out.cells[0].outputs[0]["text"] == f"{COMPILE_CACHE_INSIDE} {entries} False 1000000000\n"


@pytest.mark.slow
def test_the_check_command_makes_a_missing_cache_without_a_word_on_its_json_stdout(tmp_path):
    # The cache's kernel used to print ipykernel's start-up note on `python -m grading.check --json`'s stdout.
    correct = compile_cache.ROOT / "tests" / "submissions" / "correct.py"
    env = dict(os.environ, JAX_PLATFORMS="cpu", MPLBACKEND="Agg", GRADING_COMPILE_CACHES=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "grading.check", "--json", str(correct)], cwd=compile_cache.ROOT, env=env,
                          capture_output=True, text=True, timeout=900, check=True)
    [result] = json.loads(done.stdout)
    assert result["score"] == result["max"]
    assert compile_cache.usable(tmp_path / compile_cache.key())


READER = """\
import json, sys
from grading.compile_cache import read_compilations
assert read_compilations(sys.argv[1])
import jax
events = []
jax.monitoring.register_event_listener(lambda event, **kwargs: events.append(event))
from tests.test_compile_cache import _checked
record = _checked(None)
print(json.dumps({"record": record, "requests": events.count("/jax/compilation_cache/compile_requests_use_cache"),
                  "hits": events.count("/jax/compilation_cache/cache_hits")}))
"""


@pytest.mark.slow
def test_the_graders_own_cache_is_read_by_its_checks_never_written_and_never_seen_by_a_kernel(tmp_path):
    """python -m grading.compile_cache also keeps what the checks compile on the grader's side (the reference's programs)
    beside the kernels' cache: only the grader's user can read it, no sandbox sees it, a process that reads it (a
    worker) finds its compilations there, writes nothing to it, and grades exactly as without it."""
    tmp_path.chmod(0o755)  # as .grading/compile-cache: the sandbox's user reaches the kernels' cache through it
    env = {**os.environ, "GRADING_COMPILE_CACHES": str(tmp_path)}
    made = subprocess.run([sys.executable, "-m", "grading.compile_cache"], env=env, capture_output=True, text=True, timeout=600)
    assert made.returncode == 0, made.stdout[-2000:] + made.stderr[-2000:]
    [kernels] = [path for path in tmp_path.iterdir() if not path.name.endswith(".grader")]
    grader = compile_cache.grader_location(kernels)
    assert compile_cache.usable(kernels) and compile_cache.usable(grader)
    assert oct(grader.stat().st_mode)[-3:] == "700" and grader.stat().st_uid == os.geteuid()
    names = {compile_cache.entry_name(path.name) for path in grader.iterdir()} - {None}
    assert {"_loss", "_sensitivity"} <= names  # the checks' own jitted functions: never in the kernels' cache
    assert not names & {compile_cache.entry_name(path.name) for path in kernels.iterdir()} - compile_cache.jax_names()

    probe = f"import os; print(os.path.exists({str(grader)!r}), os.path.exists({str(tmp_path)!r}), sorted(os.listdir('/opt/compile-cache')) == {sorted(p.name for p in kernels.iterdir())!r})"
    box = Sandbox(compile_cache=kernels)
    try:
        seen = subprocess.run(box.wrap([sys.executable, "-c", probe]), capture_output=True, text=True, timeout=60)
    finally:
        box.cleanup()
    assert seen.stdout == "False False True\n", seen.stdout + seen.stderr

    before = _contents(grader)
    read = subprocess.run([sys.executable, "-c", READER, str(grader)], cwd=compile_cache.ROOT, capture_output=True, text=True,
                          timeout=600)
    assert read.returncode == 0, read.stdout[-2000:] + read.stderr[-3000:]
    found = json.loads(read.stdout.strip().splitlines()[-1])
    assert found["hits"] >= len(before) - 1 > 10, found  # every entry the build wrote is read again (not the marker)
    assert _contents(grader) == before
    record, problems = found["record"]
    assert problems == [] and len(record) == 6
    assert found["record"] == json.loads(json.dumps(_checked(None)))


def test_a_change_of_the_reference_makes_new_caches(tmp_path, monkeypatch):
    """The grader's cache holds the reference's compiled programs: the key covers reference/ as it covers the checks."""
    import shutil

    for folder in ("grader_tests", "reference", "sandbox"):
        shutil.copytree(compile_cache.ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(compile_cache, "ROOT", tmp_path)
    before = compile_cache.key()
    assert compile_cache.key() == before
    with open(tmp_path / "reference" / "jax_mlp.py", "a", encoding="utf-8") as handle:
        handle.write("\n# a changed reference\n")
    assert compile_cache.key() != before

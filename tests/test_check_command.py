"""The contract of `python -m grading.check [--json] PATH...`.

* --json prints a JSON array, one object per PATH in PATH order, with exactly the documented keys;
* without --json a text report names every part and the total;
* a PATH that cannot be loaded (syntax error, raising at import, a missing name, no such file)
  gets zeros in the parts it cannot provide, with the reason in the messages, and never stops
  the PATHs after it;
* a notebook is graded from its code cells, without the cells tagged "skip-when-grading" and
  without nbgrader's test cells;
* the exit code is 0;
* --same-author (one sandbox per job, a forked process per file) gives each file the result it
  gets in a sandbox of its own, in PATH order, even around a file whose process ends, and no file
  inherits what the one before it changed.

Three grader runs in all (--json, --same-author, and one without --json), each a fresh process.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grader_tests.points import MAX_TOTAL, PARTS, POINTS

ROOT = Path(__file__).resolve().parent.parent
CORRECT = ROOT / "tests" / "submissions" / "correct.py"
CORRECT_SOURCE = CORRECT.read_text(encoding="utf-8")

RESULT_KEYS = {"submission", "parts", "score", "max", "load_errors"}
PART_KEYS = {"score", "max", "checks", "not_attempted"}
CHECK_KEYS = {"name", "passed", "message", "hint", "stop", "not_attempted"}
# Why the submission's process stopped, when that failed a check (grader_tests.submission).
STOP_CODES = {None, "call_timeout", "no_answer", "part_deadline", "exited", "malformed", "not_started"}
IMPORT_ERROR = "the data file rings.csv was not found"

pytestmark = pytest.mark.slow  # sandboxed grading processes, one per file (over a minute in all)
SYNTAX_ERROR_SOURCE = CORRECT_SOURCE + "\n\ndef plot_losses(history:\n    pass\n"
SYNTAX_ERROR_LINE = SYNTAX_ERROR_SOURCE.splitlines().index("def plot_losses(history:") + 1


def run_grader(*args):
    env = dict(os.environ, JAX_PLATFORMS="cpu", MPLBACKEND="Agg")
    return subprocess.run(
        [sys.executable, "-m", "grading.check", *map(str, args)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )


def _split_before(source, marker):
    index = source.index(marker)
    return source[:index], source[index:]


def _notebook(path):
    """correct.py as a notebook: a few code cells, plus cells the grader must skip (they would break it)."""
    chunks = CORRECT_SOURCE.split("\n\n\n")  # top-level definitions are two blank lines apart
    assert len(chunks) >= 5
    code = nbformat.v4.new_code_cell
    cells = [nbformat.v4.new_markdown_cell("# Exercise: multi-class classification")]
    cells.append(code("%matplotlib inline\n" + chunks[0]))
    cells.extend(code(chunk) for chunk in chunks[1:3])
    # A lesson cell: run by the student, never by the grader. Executed, it would break softmax.
    skipped = code("def softmax(z):\n    return z\n\nraise RuntimeError('plotting cell: must not run when grading')")
    skipped.metadata["tags"] = ["skip-when-grading"]
    cells.append(skipped)
    cells.extend(code(chunk) for chunk in chunks[3:])
    # nbgrader's visible test cell of a part (read-only, graded): never run as part of the submission.
    test_cell = code("train_nn = None\nassert False, 'the test cell must not run when grading'")
    test_cell.metadata["nbgrader"] = {
        "grade": True, "solution": False, "locked": True, "points": 3,
        "grade_id": "train_nn_checks", "schema_version": 3, "task": False,
    }
    cells.append(test_cell)
    notebook = nbformat.v4.new_notebook(cells=cells)
    nbformat.validate(notebook)
    nbformat.write(notebook, str(path))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The PATHs of the --json run, in order; the correct one comes after every broken one."""
    directory = tmp_path_factory.mktemp("cli")
    paths = {
        "syntax_error": directory / "syntax_error.py",
        "raises_at_import": directory / "raises_at_import.py",
        "missing_train_nn": directory / "missing_train_nn.py",
        "nonexistent": directory / "no_such_submission.py",
        "notebook": directory / "submission.ipynb",
        "correct": CORRECT,
    }
    paths["syntax_error"].write_text(SYNTAX_ERROR_SOURCE, encoding="utf-8")
    head, tail = _split_before(CORRECT_SOURCE, "@jit\ndef update_params")
    paths["raises_at_import"].write_text(f"{head}raise FileNotFoundError({IMPORT_ERROR!r})\n\n\n{tail}", encoding="utf-8")
    paths["missing_train_nn"].write_text(CORRECT_SOURCE + "\n\ndel train_nn\n", encoding="utf-8")
    _notebook(paths["notebook"])
    return paths


@pytest.fixture(scope="module")
def json_run(files):
    completed = run_grader("--json", *files.values())
    try:
        results = json.loads(completed.stdout)
    except json.JSONDecodeError as error:
        pytest.fail(f"--json output is not JSON ({error}):\n{completed.stdout[:2000]}\n{completed.stderr[-2000:]}")
    return completed, dict(zip(files, results)), results


# --same-author: a file that ends its process while loading, and one that breaks a library for every
# file after it in a shared process (each file's process is fresh, so nothing carries over).
CRASH_SOURCE = "import os\n\nos._exit(3)\n"
POISON_SOURCE = CORRECT_SOURCE + "\n\nimport jax.numpy\n\njax.numpy.exp = lambda x: 0 * x\n"


@pytest.fixture(scope="module")
def same_author_run(files, tmp_path_factory):
    """--same-author --jobs 2 on the PATHs of the --json run, a crash and a poisoner; {key: result} in PATH order."""
    directory = tmp_path_factory.mktemp("same_author")
    (directory / "crash.py").write_text(CRASH_SOURCE, encoding="utf-8")
    (directory / "poison.py").write_text(POISON_SOURCE, encoding="utf-8")
    # --jobs 2 gives every other file to the same process: the poisoner and "after_poison" share one
    order = {"crash": directory / "crash.py", **files, "poison": directory / "poison.py", "between": files["notebook"],
             "after_poison": CORRECT}
    completed = run_grader("--json", "--same-author", "--jobs", "2", *order.values())
    assert completed.returncode == 0, completed.stderr[-2000:]
    results = json.loads(completed.stdout)
    assert [result["submission"] for result in results] == [str(path) for path in order.values()]
    return dict(zip(order, results))


@pytest.fixture(scope="module")
def text_run(files):
    return run_grader(files["missing_train_nn"], files["correct"])


def _all_checks(result, parts=PARTS):
    return [check for part in parts for check in result["parts"][part]["checks"]]


def _assert_zero_with_reason(result, parts, *reasons):
    for part in parts:
        got = result["parts"][part]
        assert got["score"] == 0, f"{part} should get 0, got {got['score']}"
        assert got["checks"], f"{part} reports no checks"
        for check in got["checks"]:
            assert not check["passed"]
            for reason in reasons:
                assert reason in check["message"], f"{part}/{check['name']}: {reason!r} not in {check['message']!r}"


def _assert_full(result, parts):
    for part in parts:
        got = result["parts"][part]
        failed = [f"{c['name']}: {c['message'][:200]}" for c in got["checks"] if not c["passed"]]
        assert got["score"] == got["max"] == POINTS[part], f"{part}: {failed}"


# -- --json -------------------------------------------------------------------------------------

def test_json_exit_code_is_zero(json_run):
    completed, _, _ = json_run
    assert completed.returncode == 0, completed.stderr[-2000:]


def test_json_is_an_array_in_path_order(json_run, files):
    _, _, results = json_run
    assert isinstance(results, list)
    assert [result["submission"] for result in results] == [str(path) for path in files.values()]


def test_json_has_exactly_the_documented_keys(json_run):
    _, _, results = json_run
    for result in results:
        assert set(result) == RESULT_KEYS
        assert list(result["parts"]) == list(PARTS)  # the six parts, in the exercise's order
        assert result["max"] == MAX_TOTAL == 12
        assert isinstance(result["load_errors"], list) and all(isinstance(e, str) for e in result["load_errors"])
        assert result["score"] == pytest.approx(round(sum(p["score"] for p in result["parts"].values()), 2))
        for part, got in result["parts"].items():
            assert set(got) == PART_KEYS and isinstance(got["not_attempted"], bool)
            assert got["max"] == POINTS[part] and 0 <= got["score"] <= got["max"]
            for check in got["checks"]:
                assert set(check) == CHECK_KEYS
                assert isinstance(check["name"], str) and isinstance(check["passed"], bool)
                assert isinstance(check["message"], str) and (check["hint"] is None or isinstance(check["hint"], str))
                assert check["stop"] in STOP_CODES and isinstance(check["not_attempted"], bool)
                if check["passed"]:
                    assert check["message"] == "" and check["hint"] is None and check["stop"] is None
                else:
                    assert check["message"], "a failed check tells the student why"


def test_the_grader_never_trips_on_its_own_code(json_run):
    _, _, results = json_run
    for result in results:
        for check in _all_checks(result):
            assert check["hint"] != "grader_error", f"{result['submission']}: {check['name']}: {check['message']}"


def test_syntax_error_gets_zero_everywhere_with_the_reason(json_run):
    _, result, _ = json_run
    result = result["syntax_error"]
    assert result["score"] == 0
    assert len(result["load_errors"]) == 1
    assert f"has a syntax error (line {SYNTAX_ERROR_LINE})" in result["load_errors"][0]  # the unclosed "("
    _assert_zero_with_reason(result, PARTS, "is not defined", "syntax error")


def test_import_error_costs_only_the_parts_it_prevents(json_run):
    _, result, _ = json_run
    result = result["raises_at_import"]
    assert len(result["load_errors"]) == 1 and "FileNotFoundError" in result["load_errors"][0]
    _assert_full(result, ("softmax", "forward_pass", "cross_entropy_loss"))  # defined before the error
    _assert_zero_with_reason(
        result, ("update_params", "train_nn", "MultiClassNet"), "is not defined", "FileNotFoundError", IMPORT_ERROR
    )
    assert result["score"] == 6


def test_missing_name_costs_only_its_part(json_run):
    _, result, _ = json_run
    result = result["missing_train_nn"]
    assert result["load_errors"] == []
    _assert_zero_with_reason(result, ("train_nn",), "train_nn is not defined")
    _assert_full(result, [part for part in PARTS if part != "train_nn"])
    assert result["score"] == MAX_TOTAL - POINTS["train_nn"]


def test_nonexistent_path_gets_zero_everywhere_with_the_reason(json_run, files):
    _, result, _ = json_run
    result = result["nonexistent"]
    assert result["score"] == 0
    assert len(result["load_errors"]) == 1 and "cannot read" in result["load_errors"][0]
    assert str(files["nonexistent"]) in result["load_errors"][0]
    _assert_zero_with_reason(result, PARTS, "cannot read")


def test_notebook_skips_lesson_and_test_cells(json_run):
    _, result, _ = json_run
    result = result["notebook"]
    assert result["load_errors"] == []  # neither raising cell ran
    _assert_full(result, PARTS)  # and neither replaced softmax or train_nn
    assert result["score"] == 12


def test_a_correct_path_after_broken_ones_gets_full_marks(json_run):
    _, result, _ = json_run
    result = result["correct"]
    assert result["load_errors"] == []
    _assert_full(result, PARTS)
    assert result["score"] == 12


# -- --same-author ------------------------------------------------------------------------------

def test_same_author_gives_every_file_its_own_result(same_author_run, json_run):
    """The same results as one sandbox per file, in PATH order, around a file whose process ended."""
    _, walled, _ = json_run
    for key, result in walled.items():
        assert same_author_run[key] == result, key


def test_same_author_file_that_ends_its_process_gets_zero_with_the_reason(same_author_run):
    result = same_author_run["crash"]
    assert result["score"] == 0 and result["load_errors"] == ["the process of this file ended before it could be checked"]


def test_same_author_files_start_fresh(same_author_run):
    """A file that replaced jax.numpy.exp loses its softmax points; the next file of its process does not."""
    assert same_author_run["poison"]["parts"]["softmax"]["score"] < POINTS["softmax"]
    assert same_author_run["after_poison"]["score"] == MAX_TOTAL


# -- the text report ------------------------------------------------------------------------------

def test_text_report_names_every_part_and_the_total(text_run, files):
    assert text_run.returncode == 0, text_run.stderr[-2000:]
    reports = text_run.stdout.split("== ")[1:]
    assert len(reports) == 2
    for report, path, total in zip(reports, (files["missing_train_nn"], files["correct"]), (9, 12)):
        assert report.startswith(str(path))
        for part in PARTS:
            assert f"\n{part}: " in report, f"{part} missing from the report of {path}"
        assert f"total: {total:g} / {MAX_TOTAL}" in report
    assert "train_nn is not defined" in reports[0]
    assert "FAIL" in reports[0] and "FAIL" not in reports[1]

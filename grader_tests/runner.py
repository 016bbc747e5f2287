"""Runs the checks on a submission and turns pytest's reports into per-part scores."""

import contextlib
import io
import warnings
from pathlib import Path

import pytest

from grader_tests.compare import CheckFailure
from grader_tests.points import MODULE_OF_PART, PART_OF_MODULE, PARTS, POINTS, part_score
from grader_tests.report import not_attempted

HERE = Path(__file__).resolve().parent
UNUSED_PLUGINS = ("logging", "doctest", "junitxml", "pastebin", "faulthandler", "legacypath", "setuponly", "setupplan",
                  "stepwise", "tmpdir", "monkeypatch", "recwarn", "threadexception", "debugging", "unittest", "warnings",
                  "subtests")


class _Collector:
    """A pytest plugin: hands the submission to the fixtures and records every check's outcome."""

    def __init__(self, submission):
        self.submission = submission
        self.checks = {part: [] for part in PARTS}

    def pytest_configure(self, config):
        config.grader_submission = self.submission

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(self, item, call):
        if call.when == "call" or (call.when == "setup" and call.excinfo is not None):
            part = PART_OF_MODULE[item.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")]
            self.checks[part].append(_check_result(item.name.removeprefix("test_"), call.excinfo))


def _check_result(name, excinfo):
    """One check's record; ``stop`` is None, or why the submission's process stopped (a code of grader_tests.submission);
    ``not_attempted`` is true when the check failed on the release's stub, untouched (NotImplementedError, as data)."""
    if excinfo is None:
        return {"name": name, "passed": True, "message": "", "hint": None, "stop": None, "not_attempted": False}
    error = excinfo.value
    if isinstance(error, CheckFailure):
        hint = error.hint.id if error.hint else None
        return {"name": name, "passed": False, "message": str(error), "hint": hint, "stop": error.stop,
                "not_attempted": bool(error.not_attempted)}
    # Not a check's verdict: the grader itself tripped on what came back. Still a fail, clearly labelled.
    message = f"the check could not evaluate the result ({type(error).__name__}: {error})"
    return {"name": name, "passed": False, "message": message[:600], "hint": "grader_error", "stop": None, "not_attempted": False}


def run_checks(submission, parts=PARTS):
    """Runs the checks of ``parts`` against ``submission``.

    Returns:
        {part: {"score": float, "max": int, "not_attempted": bool,
                "checks": [{"name", "passed", "message", "hint", "stop", "not_attempted"}]}}
    """
    collector = _Collector(submission)
    files = [str(HERE / f"test_{MODULE_OF_PART[part]}.py") for part in parts]
    # no:unraisableexception: that plugin runs a full gc.collect() twice per session, 0.35 s each in a
    # grading process holding jax, torch and Dask (17 s of a worker's 45 s in bench/bench_cluster.py's
    # profile); the checks never look at unraisable exceptions (warnings are ignored below).
    # --disable-plugin-autoload: no installed package's plugin joins the checks (and pytest does not scan
    # every distribution's entry points each session). --tb=native: a failed check's report is never
    # read (its CheckFailure is, above), and pytest's own format parses each test module's source again
    # for every failure (together about 0.3 s of a worker's CPU per submission, py-spy on the bench class).
    # The other builtin plugins below serve what the checks never use (logging capture, doctests, junit
    # XML, tmp_path, monkeypatch, recwarn, pdb, unittest classes, warning capture: warnings are ignored
    # below, and nothing of pytest's own reporting is read); with --assert=plain no check module is
    # rewritten (the checks raise CheckFailure, no bare assert). A session costs about 40 % less
    # (a submission has one per graded part; 26 -> 16 ms of CPU each, 2026-12-04).
    args = [*files, "-c", str(HERE / "pytest.ini"), "--rootdir", str(HERE), "-q", "-p", "no:cacheprovider",
            "-p", "no:unraisableexception", "--disable-plugin-autoload", "--tb=native", "--assert=plain",
            *[arg for plugin in UNUSED_PLUGINS for arg in ("-p", f"no:{plugin}")]]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exit_code = pytest.main(args, plugins=[collector])
    if exit_code == pytest.ExitCode.INTERRUPTED:
        # Ctrl-C, or nbgrader interrupting a cell that ran past its time-out: a partial set of
        # checks must not be scored as if it were complete.
        raise KeyboardInterrupt("grading was interrupted")
    results = {}
    for part in parts:
        checks = collector.checks[part]
        passed = sum(check["passed"] for check in checks)
        results[part] = {"score": part_score(part, passed, len(checks)), "max": POINTS[part], "checks": checks,
                         "not_attempted": not_attempted(checks)}
    return results


"""Grading one student on a Dask worker, in the worker's private course directory.

The worker's course directory is the grader kit grading.cluster.GraderKit wrote (this module is
imported from it): the coordinator's grader, a release and a gradebook of the worker's own. A
task (grading.cluster.grade, then :func:`grade_submission`) brings one student's notebooks as bytes and returns what the
grade is made of (:func:`grade_submission` says what); the worker keeps nothing of the student.
Student code runs in the sandbox here, as it did on the TA's machine.
"""

import gc
import logging
import os
import re
import shutil
import signal
import sys
import threading
import time
from dataclasses import asdict

from grading.course import (
    ASSIGNMENT, AUTOGRADED, FEEDBACK, LOGS, NOTEBOOK, ROOT, STAGED, SUBMITTED, nbgrader_config,
    quicker_gradebook_creation,
)
from grading import grades, record as grading_record
from grading.cells import GRADE_ID_OF_PART
from grading.intake import take_in
from grading.names import printable
from grading.settings import current as current_settings
from grader_tests.points import PARTS

_api = None
_db_url = None
_sandboxed = True
_version = None  # the grader version of the kit this process grades with
# nbgrader's API is not thread-safe: a worker started with several threads grades one student at a time.
_one_at_a_time = threading.Lock()

# The name every student is graded under on a worker (one at a time): a student id is any text (a
# directory name), and nbgrader reads the ids it is given as glob patterns ("[2J" is a character class).
ALIAS = "student"


def quiet():
    """Silences nbgrader's known noise (SQLAlchemy 2.1 SAWarnings, checksum notices) in this process."""
    import warnings

    from sqlalchemy.exc import SAWarning

    warnings.filterwarnings("ignore", category=SAWarning)
    logging.getLogger("traitlets").setLevel(logging.ERROR)


def _first_error(outcome):
    """The most specific line of a failed nbgrader run: the last exception message before its summary."""
    lines = [line.strip() for line in ((outcome.get("log") or "") + "\n" + (outcome.get("error") or "")).splitlines()]
    causes = [line for line in lines if re.match(r"^[\w.]+(Error|Exception|Exit|Interrupt)\b.*:", line) and "Please see" not in line]
    return (causes[0] if causes else (lines[-1] if lines else "unknown error"))[:300]


def result(student_id, scores=None, status="graded", seconds=0.0, retried=False, checks=None, problems=None, late=None):
    """A row (grading.grades.result) graded the way this worker grades (sandboxed or not)."""
    return grades.result(student_id, scores, status, seconds, retried, checks, sandboxed=_sandboxed, problems=problems, late=late)


def _grant_extension(student_id):
    """The real student's extension (nbgrader_config.py, grading.deadlines) on ALIAS's submission, before autograde."""
    from nbgrader.api import Gradebook

    from grading.deadlines import Deadlines, apply

    with Gradebook(_db_url) as gradebook:
        apply(gradebook, ASSIGNMENT, ALIAS, Deadlines(config=_api.config), extension_of=student_id)


def _late_facts():
    """grading.deadlines.late_facts of ALIAS's autograded submission (what AssignLatePenalties decided)."""
    from nbgrader.api import Gradebook

    from grading.deadlines import late_facts

    with Gradebook(_db_url) as gradebook:
        return late_facts(gradebook, ASSIGNMENT, ALIAS, NOTEBOOK.removesuffix(".ipynb"))


def _grade(student_id):
    """(result, nbgrader's log) of intake, autograde and feedback of the submission in SUBMITTED/ALIAS; never raises."""
    started = time.monotonic()
    log = ""
    try:
        intake = take_in(SUBMITTED / ALIAS)
        if intake.problem:
            return result(student_id, status=intake.problem, seconds=time.monotonic() - started), log
        grading_record.take(ALIAS)  # a record left by an earlier, failed run must not pass for this one's
        _grant_extension(student_id)
        outcome = _api.autograde(ASSIGNMENT, ALIAS, force=True, create=True)
        log = (outcome.get("log") or "") + "\n" + (outcome.get("error") or "")
        record = grading_record.take(ALIAS)
        if not outcome["success"] or record is None:
            why = _first_error(outcome) if not outcome["success"] else "the executor left no grading record"
            return result(student_id, status=f"autograde failed: {why} (log: {LOGS.name}/{printable(student_id)}.log)",
                          seconds=time.monotonic() - started), log
        scores = {part: record.parts[part].score if part in record.parts else 0.0 for part in PARTS}
        checks = {part: record.parts[part].checks for part in PARTS if part in record.parts}
        words = [described] if (described := grading_record.describe(record.problems)) else []
        feedback = _api.generate_feedback(ASSIGNMENT, ALIAS, force=True)
        if not feedback["success"]:
            words.append("feedback could not be generated")
        notes = [*intake.notes, *grading_record.notes(record.problems)]
        status = "; ".join(words) if words else "graded"
        if notes:
            status += " (" + "; ".join(notes) + ")"
        problems = [asdict(problem) for problem in record.problems]
        return result(student_id, scores, status, time.monotonic() - started, checks=checks, problems=problems,
                      late=_late_facts()), log
    except Exception as error:  # a grader bug must cost one row's status, never the batch
        return result(student_id, status=f"grading error: {type(error).__name__}: {error}", seconds=time.monotonic() - started), log


def prepare(version, settings):
    """Makes this worker process ready to grade with the kit of ``version`` (called by the kit's plugin).

    ``settings``: {"sandboxed": bool, "cell_timeout": seconds or None, "released": whether the kit
    brought the release's gradebook, "compile_cache": the directory of grading.compile_cache on this
    machine or None (kernels use it once it is complete), "grader_compile_cache": the grader's own beside it or None
    (this process reads it when it is complete)}. Without one, releases the assignment into this course
    directory's own gradebook. Raises (and so stops the coordinator's
    registration of the kit, with the reason) when this worker cannot grade.
    """
    global _api, _db_url, _sandboxed, _version
    # nbgrader creates the gradebook by running `alembic` from PATH: the environment's own.
    bin_dir = os.path.dirname(sys.executable)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    os.environ.setdefault("MPLBACKEND", "Agg")
    if settings.get("cell_timeout"):  # read by grading.course.nbgrader_config
        os.environ["GRADING_CELL_TIMEOUT"] = str(settings["cell_timeout"])
    else:
        os.environ.pop("GRADING_CELL_TIMEOUT", None)
    quiet()
    _sandboxed = bool(settings.get("sandboxed", True))
    if not _sandboxed:  # an unsandboxed kernel inherits this environment: it imports `sandbox` from the kit
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    if _sandboxed:
        from grading.wall import check_available

        check_available()  # SandboxUnavailable: one sentence, shown by the coordinator
    from nbgrader.apps import NbGraderAPI

    quicker_gradebook_creation()
    api = NbGraderAPI(config=nbgrader_config(sandbox=_sandboxed, compile_cache=settings.get("compile_cache") if _sandboxed else None))
    api.log.setLevel(logging.ERROR)
    # "released": the kit brought a gradebook with the release (grading.release), else this worker releases.
    outcome = {"success": True} if settings.get("released") else api.generate_assignment(ASSIGNMENT, force=True, create=True)
    if not outcome["success"]:
        raise RuntimeError(f"releasing the assignment in this worker's course directory {ROOT} failed: "
                           f"{(outcome.get('error') or outcome.get('log') or '')[-1000:]}")
    _api, _db_url, _version = api, api.coursedir.db_url, version
    # What the checks compile here, read from the grader's own compile cache when it is complete (never written here).
    from grading.compile_cache import read_compilations  # noqa: PLC0415

    read_compilations(settings.get("grader_compile_cache"))
    # The hidden checks' imports (the reference with PyTorch and JAX, the jitted expected values), now
    # rather than in the first student's checks, so that the freeze below covers them too.
    import grader_tests.expected  # noqa: F401, PLC0415

    # What is loaded now (jax, torch, nbgrader, Dask: ~450,000 objects) lives as long as the worker:
    # out of the garbage collector's sight, a full collection no longer walks it (0.35 s each; with
    # PyTorch loaded later, a worker's six full collections of a 12-student batch took 0.7 s, now
    # four take 0.2 s).
    gc.collect()
    gc.freeze()


def _gradebook_entries(student_id, res):
    """The gradebook rows of this autograde: {"notebook", "grades": {cell: auto_score}, "comments": {cell: auto_comment},
    "late": grading.deadlines.late_facts (timestamp, extension, penalty)}.

    The cells nbgrader saved, with each graded part's score taken from the grading record (the
    row ``res``), so the gradebook holds the same numbers as grades.csv. None when autograde did
    not save the submission.
    """
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(_db_url) as gradebook:
        try:
            notebook = gradebook.find_submission_notebook(NOTEBOOK.removesuffix(".ipynb"), ASSIGNMENT, student_id)
        except MissingEntry:
            return None
        grades_of_cells = {grade.name: grade.auto_score for grade in notebook.grades}
        for part, grade_id in GRADE_ID_OF_PART.items():
            if grade_id in grades_of_cells:
                grades_of_cells[grade_id] = res["scores"][part]
        return {"notebook": notebook.name, "grades": grades_of_cells,
                "comments": {comment.name: comment.auto_comment for comment in notebook.comments},
                "late": res.get("late")}


def _tail(path, limit):
    """The last ``limit`` bytes of the text file ``path`` ('' when there is none)."""
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - limit))
            data = handle.read()
    except OSError:
        return ""
    return (f"[{size - limit} earlier bytes left out]\n" if size > limit else "") + data.decode("utf-8", "replace")


def _files_under(folder, base):
    return {str(path.relative_to(base)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def _forget(student_id):
    """Removes everything of ``student_id`` from this worker: files and gradebook rows."""
    for folder in (SUBMITTED, STAGED, AUTOGRADED, FEEDBACK):
        shutil.rmtree(folder / student_id, ignore_errors=True)
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(_db_url) as gradebook:
        try:
            gradebook.remove_student(student_id)
        except MissingEntry:
            pass


def kit_version():
    """The grader version of the kit this process grades with (None before :func:`prepare`)."""
    return _version


def grade_submission(student_id, files):
    """Grades one student whose notebooks are ``files`` ({path in submitted/<student>/: bytes}).

    Returns plain data only: {"result": the row of grading.batch (scores per part, per-check
    results, status, seconds), "log": nbgrader's log, "kernel_log": the kernels' stderr,
    "gradebook": what autograde saved (None when it did not run), "files": {path in the course
    directory: bytes} (the autograded notebook, the feedback HTML)}. The Dask task around it is
    grading.cluster.grade, which first checks that this is the coordinator's grader.
    """
    with _one_at_a_time:
        _forget(ALIAS)
        folder = SUBMITTED / ALIAS
        folder.mkdir(parents=True)
        for relative, data in files.items():
            path = (folder / relative).resolve()
            if folder.resolve() not in path.parents:
                raise ValueError(f"a submitted file lies outside the student's folder: {relative}")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        kernel_log = LOGS / "kernels.log"
        kernel_log.unlink(missing_ok=True)
        res, log = _grade(student_id)
        outcome = {
            "result": res,
            "log": log,
            "kernel_log": _tail(kernel_log, current_settings().kernel_log_limit),  # the kernels' own stderr
            "gradebook": _gradebook_entries(ALIAS, res),
            "files": {f"{folder.name}/{student_id}/{relative}": data
                      for folder in (AUTOGRADED, FEEDBACK) for relative, data in _files_under(folder / ALIAS, folder / ALIAS).items()},
        }
        _forget(ALIAS)
        return outcome

"""Grading every student: Dask tasks, progress, retries, resumable results.

Each student is one task (grading.worker.grade_submission) on the cluster that grading.cluster
connects to; the task carries the student's notebooks and returns what the grade is made of.
Here, on the coordinator, results are kept as they come (grading.store, .grading/results/). A
worker that dies costs nothing: the scheduler gives its tasks to other workers (up to
distributed's allowed-failures; then the row says so). A lost scheduler stops the batch
(SchedulerLost) with every result so far saved, so the next make grade continues.
"""

import itertools
import json
import os
import time
import uuid
from concurrent.futures import CancelledError

from tqdm import tqdm

from grading import cluster, grades, inbox, record, store
from grading.course import RESULTS, ROOT, SOURCE_NOTEBOOK, SUBMITTED
from grading.names import printable

# Everything a grade depends on besides the submission itself: the grader kit each worker gets.
GRADER_INPUTS = [SOURCE_NOTEBOOK, ROOT / "nbgrader_config.py", ROOT / "grader_tests" / "pytest.ini",
                 *sorted((ROOT / "grader_tests").glob("*.py")), *sorted((ROOT / "reference").glob("*.py")),
                 *sorted((ROOT / "grading").glob("*.py")), *sorted((ROOT / "grading" / "templates").rglob("*.*")),
                 *sorted((ROOT / "sandbox").glob("*.py"))]
# Tasks queued on the cluster per worker thread: a worker never waits for its next student, and
# the coordinator never holds every submission's bytes at once.
QUEUED_PER_THREAD = 2


class SchedulerLost(RuntimeError):
    """The connection to the Dask scheduler is gone."""


def student_ids():
    """Every student in submitted/, sorted: its folders, and links in their place (refused when read)."""
    return inbox.student_ids(SUBMITTED)


def grader_kit():
    """{path relative to the course directory: bytes} of GRADER_INPUTS, in order."""
    return {str(path.relative_to(ROOT)): path.read_bytes() for path in GRADER_INPUTS if path.is_file()}


def grader_version():
    """Hash of the grader's own files (checks, reference, tooling, sandbox side, source notebook)."""
    return cluster.digest(grader_kit().values())


def read_submission(student_id):
    """The student's notebooks as bytes and what was refused (grading.inbox: regular files only, no links)."""
    return inbox.read_submission(SUBMITTED, student_id)


def fingerprinter(sandboxed=True):
    """fingerprint(submission): hash of what is graded of it, the grader and the sandbox mode.

    Equal fingerprints give equal grades; a grade made without the sandbox is never kept for a
    sandboxed run (nor the other way round).
    """
    grader = f"{grader_version()} sandboxed={sandboxed}"
    return lambda submission: submission.fingerprint(grader)


def _with_refusals(outcome, submission):
    """The task's outcome with what the coordinator refused to read noted in its row's status."""
    if submission.refused:
        res = outcome["result"]
        note = "refused " + "; ".join(submission.refused) + " (only regular files are read)"
        base, sep, unsandboxed = res["status"].partition(" [unsandboxed]")
        if base.endswith(")"):
            base = base[:-1] + "; " + note + ")"
        else:
            base += f" ({note})"
        res["status"] = base + sep + unsandboxed
    return outcome


def _refused_outcome(submission, sandboxed):
    """The outcome of a student of whom nothing can be graded (a link instead of a folder, only refused notebooks)."""
    status = submission.problem or (f"no notebook to grade: refused {'; '.join(submission.refused)} "
                                    "(only regular files are read)")
    return {"result": grades.result(submission.student_id, status=status, sandboxed=sandboxed), "log": "",
            "kernel_log": "", "gradebook": None, "files": {}}


def load_result(student_id):
    try:
        return json.loads((RESULTS / f"{student_id}.json").read_text())
    except (OSError, ValueError):
        return None


def save_result(res):
    RESULTS.mkdir(parents=True, exist_ok=True)
    target = RESULTS / f"{res['student_id']}.json"
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(res, indent=1))
    os.replace(tmp, target)


def _needs_retry(res):
    return record.needs_retry(record.problems_of(res.get("problems")))


def _outcome(future, student_id, sandboxed):
    """The task's outcome, or one with a row saying why there is none; SchedulerLost when the scheduler is gone."""
    from distributed import KilledWorker

    if future.status == "cancelled":
        raise SchedulerLost("lost the connection to the Dask scheduler")
    try:
        return future.result()
    except CancelledError:
        raise SchedulerLost("lost the connection to the Dask scheduler") from None
    except cluster.KitMismatch:
        raise
    except KilledWorker:  # its worker died allowed-failures + 1 times: a crash of the grading process, not the code
        status = "grading process crashed on every worker it was given to; not graded"
    except Exception as error:
        status = f"grading error on the worker: {type(error).__name__}: {error}"[:400]
    return {"result": grades.result(student_id, status=status, sandboxed=sandboxed), "log": "", "kernel_log": "",
            "gradebook": None, "files": {}}


def _run(client, ids, on_done, version, sandboxed, at_once=None):
    """Grades ``ids`` as tasks on ``client``, at most ``at_once`` queued (default: by the cluster's threads).

    ``on_done(outcome, submission)`` gets each student's outcome with the Submission it graded.
    """
    from distributed import as_completed

    batch = uuid.uuid4().hex[:8]
    pending = list(reversed(ids))
    graded = {}  # task key -> Submission
    numbers = itertools.count()

    def submit():
        """The next student's task; students with nothing to grade are done at once (None)."""
        while pending:
            sid = pending.pop()
            submission = read_submission(sid)
            if submission.problem or (submission.refused and not submission.files):
                on_done(_refused_outcome(submission, sandboxed), submission)
                continue
            key = f"grade/{next(numbers)}/{batch}"  # not the student id: that is any text
            graded[key] = submission
            return client.submit(cluster.grade, sid, submission.files, version, key=key, pure=False)
        return None

    def limit():
        return at_once or QUEUED_PER_THREAD * max(1, cluster.worker_threads(client))

    running = as_completed([f for f in (submit() for _ in range(limit())) if f is not None])
    for future in running:
        submission = graded.pop(future.key)
        outcome = _outcome(future, submission.student_id, sandboxed)
        future.release()
        on_done(_with_refusals(outcome, submission), submission)
        wanted = limit()
        while pending and running.count() < wanted:
            nxt = submit()
            if nxt is None:
                break
            running.add(nxt)


def grade_all(ids, client, force=False, sandboxed=True):
    """Grades the students in ``ids`` on ``client`` (skipping unchanged, already graded ones unless ``force``).

    Returns (the results of every student in ``ids``, seconds, the coordinator's seconds per
    graded student spent keeping results). SchedulerLost when the scheduler goes away (every
    result so far is saved).
    """
    from nbgrader.api import Gradebook

    from grading.course import nbgrader_config

    version = grader_version()
    fingerprint_of = fingerprinter(sandboxed)
    results, todo = {}, []
    for sid in ids:
        previous = load_result(sid)
        if not force and previous and previous.get("fingerprint") == fingerprint_of(read_submission(sid)):
            results[sid] = previous
        else:
            todo.append(sid)
    if len(todo) < len(ids):
        print(f"{len(ids) - len(todo)} unchanged and already graded: kept (--force regrades them)", flush=True)
    started = time.monotonic()
    failures = 0
    keeping = 0.0  # seconds this process spends keeping results (files, logs, gradebook, result file)
    bar = tqdm(total=len(ids), initial=len(ids) - len(todo), unit="student", dynamic_ncols=True,
               bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}]{postfix}")
    gradebook = Gradebook(nbgrader_config().CourseDirectory.db_url)

    def kept(outcome, submission, retried=False):
        nonlocal keeping
        began = time.monotonic()
        res = outcome["result"]
        res["retried"] = retried
        res["fingerprint"] = fingerprint_of(submission)
        store.keep(outcome, gradebook)
        results[res["student_id"]] = res
        if retried or not _needs_retry(res):
            save_result(res)
        keeping += time.monotonic() - began

    def done(outcome, submission):
        nonlocal failures
        kept(outcome, submission)
        failures += outcome["result"]["status"] != "graded"
        bar.set_postfix_str(f"not cleanly graded: {failures}")
        bar.update(1)

    try:
        _run(client, todo, done, version, sandboxed)
        bar.close()
        # A time-out or dead kernel that load may have caused (grading.load): once more, alone. The rest is final.
        retry = [sid for sid in todo if _needs_retry(results[sid])]
        for sid in retry:
            tqdm.write(f"regrading {printable(sid)} alone after: {printable(results[sid]['status'])}")
            _run(client, [sid], lambda outcome, submission: kept(outcome, submission, retried=True), version, sandboxed, at_once=1)
    finally:
        bar.close()
        gradebook.close()
    elapsed = time.monotonic() - started
    return [results[sid] for sid in ids], elapsed, keeping / max(1, len(todo))

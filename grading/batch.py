"""Grading every student: Dask tasks, progress, retries, resumable results.

Each student is one task (grading.worker.grade_submission) on the cluster that grading.cluster
connects to; the task carries the student's notebooks and returns what the grade is made of.
Here, on the coordinator, results are kept as they come (grading.store, .grading/results/). A
worker that dies costs nothing: the scheduler gives its tasks to other workers (up to
distributed's allowed-failures; then the row says so). A lost scheduler stops the batch
(SchedulerLost) with every result so far saved, so the next make grade continues.
"""

import hashlib
import itertools
import json
import os
import re
import statistics
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from concurrent.futures import CancelledError

from tqdm import tqdm

from grading import cluster, grades, inbox, record, store
from grading.atomic import write_atomically
from grading.course import RESULTS, ROOT, SOURCE_NOTEBOOK, SUBMITTED
from grading.names import printable
from grading.progress import ClassProgress
from grading.settings import GRADE_ENVIRONMENT

# Modules of grading/ that never reach a grade or a feedback page: the coordinator's progress bar,
# the class report, the command line that grades files without nbgrader, the scores set by hand
# (laid over the stored rows when tables are written). Left out of the kit, so changing them regrades no one.
NOT_GRADING = {"check.py", "class_report", "manual.py", "manual_feedback.py", "progress.py"}  # names in grading/: modules and packages
# Everything a grade depends on besides the submission itself: the grader kit each worker gets.
GRADER_INPUTS = [SOURCE_NOTEBOOK, ROOT / "nbgrader_config.py", ROOT / "grader_tests" / "pytest.ini",
                 *sorted((ROOT / "grader_tests").glob("*.py")), *sorted((ROOT / "reference").glob("*.py")),
                 *sorted(p for p in (ROOT / "grading").rglob("*.py") if p.relative_to(ROOT / "grading").parts[0] not in NOT_GRADING),
                 *sorted((ROOT / "grading" / "templates").rglob("*.*")), *sorted((ROOT / "sandbox").glob("*.py"))]
# The manifest of each grader that graded here (graders/<grader id>.json): what changed, when students are regraded.
GRADERS = RESULTS.parent / "graders"
# Tasks on the cluster per worker thread: one, so a student is handed to the worker that is free
# when it is submitted. With two, Dask placed each new task on a worker at once, and near a batch's
# end both last students could wait on one worker while the other idled (seen: 11 s alone). The
# cost: a worker waits for the coordinator's reply between students (milliseconds). The coordinator
# never holds every submission's bytes at once.
QUEUED_PER_THREAD = 1


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


def grader_manifest(sandboxed=True):
    """{what a grade depends on: its hash or value}: each file of the kit, the sandbox mode, GRADE_ENVIRONMENT."""
    manifest = {path: hashlib.sha256(data).hexdigest()[:16] for path, data in grader_kit().items()}
    manifest["sandboxed"] = str(bool(sandboxed))
    manifest.update({name: os.environ.get(name) or "(not set)" for name in GRADE_ENVIRONMENT})
    return manifest


def grader_id(manifest):
    return cluster.digest([json.dumps(manifest, sort_keys=True).encode()])


def fingerprinter(grader):
    """fingerprint(submission): hash of what is graded of it and of ``grader`` (grader_id of the manifest).

    Equal fingerprints give equal grades; a grade made without the sandbox, or with another cell
    time-out, is never kept for this run.
    """
    return lambda submission: submission.fingerprint(grader)


def _manifest_of(grader):
    """The manifest GRADERS holds for ``grader`` (an id), or None."""
    if not re.fullmatch(r"[0-9a-f]{64}", grader or ""):
        return None
    try:
        return json.loads((GRADERS / f"{grader}.json").read_text())
    except (OSError, ValueError):
        return None


def what_changed(before, now):
    """'nbgrader_config.py changed', from two grader manifests (``before`` None: not recorded)."""
    if not isinstance(before, dict):
        return "the grader changed"
    changed = sorted(key for key in set(before) | set(now) if before.get(key) != now.get(key))
    if not changed:
        return "the grader changed"
    shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
    return f"{shown} changed"


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
    write_atomically(RESULTS / f"{res['student_id']}.json", json.dumps(res, indent=1))


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


def _run(client, ids, on_done, version, sandboxed, at_once=None, on_part=None, on_idle=None):
    """Grades ``ids`` as tasks on ``client``, at most ``at_once`` queued (default: by the cluster's threads).

    ``on_done(outcome, submission)`` gets each student's outcome with the Submission it graded;
    ``on_part(student_id, part)`` hears of each part checked on the way (the workers' Dask events);
    ``on_idle()`` is called once, when a worker is left with no student to grade.
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
            if submission.problem or (submission.refused and not submission.notebooks()):
                on_done(_refused_outcome(submission, sandboxed), submission)
                continue
            key = f"grade/{next(numbers)}/{batch}"  # not the student id: that is any text
            graded[key] = submission
            return client.submit(cluster.grade, sid, submission.files, version, key=key, pure=False)
        return None

    def limit():
        return at_once or QUEUED_PER_THREAD * max(1, cluster.worker_threads(client))

    def heard(event):  # in the client's event loop thread
        _, message = event
        submission = graded.get(message.get("key")) if isinstance(message, dict) else None
        if submission is not None and on_part is not None:
            on_part(submission.student_id, message.get("part"))

    client.subscribe_topic(cluster.PROGRESS_TOPIC, heard)
    try:
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
            if on_idle is not None and not pending and running.count() < wanted:
                on_idle()
                on_idle = None
    finally:
        client.unsubscribe_topic(cluster.PROGRESS_TOPIC)


@dataclass
class Plan:
    """What a batch does before anything starts: whom it keeps, whom it grades, with which grader."""

    ids: list  # every student asked for, in order
    kept: dict  # student id -> the stored result kept (unchanged since graded by this grader)
    todo: list  # the students to grade now
    grader: str  # grader_id of the manifest
    manifest: dict
    sandboxed: bool


def longest_first(todo, previous):
    """``todo`` in the order to grade it: the longest to grade first, by each student's last grading time.

    A batch's last submission runs alone while the other workers are idle, so the short ones belong at
    the end (an endless loop's time-out first, not last). A student never graded before counts as the
    median of those graded; without any, the order is kept. Only the order changes, never a grade.
    """
    seconds = {sid: float(res["seconds"]) for sid, res in previous.items()
               if res and isinstance(res.get("seconds"), (int, float)) and res["seconds"] > 0}
    if not seconds:
        return list(todo)
    typical = statistics.median(seconds.values())
    return sorted(todo, key=lambda sid: -seconds.get(sid, typical))


def plan(ids, force=False, sandboxed=True):
    """The Plan for ``ids``: an unchanged student already graded by this grader is kept unless ``force``.

    Says on stdout what changed for the students graded before, and how many are kept; records
    the grader's manifest in GRADERS.
    """
    manifest = grader_manifest(sandboxed)
    grader = grader_id(manifest)
    fingerprint_of = fingerprinter(grader)
    kept, before, stale = {}, {}, Counter()  # before: {student to grade now: earlier result}; stale: {its grader: students}
    for sid in ids:
        previous = load_result(sid)
        if not force and previous and previous.get("fingerprint") == fingerprint_of(read_submission(sid)):
            kept[sid] = previous
        else:
            before[sid] = previous
            if previous and previous.get("grader") != grader:
                stale[str(previous.get("grader"))] += 1
    todo = longest_first(list(before), before)
    for earlier, count in stale.most_common():
        print(f"{what_changed(_manifest_of(earlier), manifest)}: regrading {count} student(s) graded before", flush=True)
    GRADERS.mkdir(parents=True, exist_ok=True)
    (GRADERS / f"{grader}.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
    if kept:
        print(f"{len(kept)} unchanged and already graded: kept (--force regrades them)", flush=True)
    return Plan(list(ids), kept, todo, grader, manifest, sandboxed)


def grade_all(plan, client, on_idle=None):
    """Grades ``plan.todo`` on ``client``; ``on_idle()`` is called once a worker has no student left to grade.

    Returns (the results of every student in ``plan.ids``, seconds, the coordinator's seconds per
    graded student spent keeping results). SchedulerLost when the scheduler goes away (every
    result so far is saved).
    """
    from nbgrader.api import Gradebook

    from grading.course import gradebook_url

    version = grader_version()
    grader, sandboxed, todo = plan.grader, plan.sandboxed, plan.todo
    fingerprint_of = fingerprinter(grader)
    results = dict(plan.kept)
    ids = plan.ids
    started = time.monotonic()
    keeping = 0.0  # seconds this process spends keeping results (files, logs, gradebook, result file)
    bar = ClassProgress(total=len(ids), already_graded=len(ids) - len(todo))
    gradebook = Gradebook(gradebook_url())

    def kept(outcome, submission, retried=False):
        nonlocal keeping
        began = time.monotonic()
        res = outcome["result"]
        res["retried"] = retried
        res["fingerprint"] = fingerprint_of(submission)
        res["grader"] = grader
        store.keep(outcome, gradebook)
        results[res["student_id"]] = res
        if retried or not _needs_retry(res):
            save_result(res)
        keeping += time.monotonic() - began

    def done(outcome, submission):
        kept(outcome, submission)
        bar.student_done(submission.student_id, clean=not grades.needs_a_look(outcome["result"]))

    try:
        _run(client, todo, done, version, sandboxed, on_part=bar.part_checked, on_idle=on_idle)
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

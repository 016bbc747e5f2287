"""Grading every student: parallel workers, progress, retries, resumable results."""

import hashlib
import json
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool

from tqdm import tqdm

from grading import worker
from grading.course import RESULTS, ROOT, SOURCE_NOTEBOOK, SUBMITTED

# Everything a grade depends on besides the submission itself.
GRADER_INPUTS = [SOURCE_NOTEBOOK, ROOT / "nbgrader_config.py",
                 *sorted((ROOT / "grader_tests").glob("*.py")), *sorted((ROOT / "reference").glob("*.py")),
                 *sorted((ROOT / "grading").glob("*.py")), *sorted((ROOT / "sandbox").glob("*.py"))]
# A pool that keeps breaking (a worker process dies) is given up after this many fresh starts.
MAX_POOL_STARTS = 3


def student_ids():
    """Every student directory in submitted/, sorted."""
    if not SUBMITTED.is_dir():
        return []
    return sorted(p.name for p in SUBMITTED.iterdir() if p.is_dir() and not p.name.startswith("."))


def grader_version():
    """Hash of the grader's own files (checks, reference, tooling, sandbox side, source notebook)."""
    digest = hashlib.sha256()
    for path in GRADER_INPUTS:
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def fingerprinter(sandboxed=True):
    """fingerprint(student_id): hash of the student's files, the grader and the sandbox mode.

    Equal fingerprints give equal grades; a grade made without the sandbox is never kept for a
    sandboxed run (nor the other way round).
    """
    grader = f"{grader_version()} sandboxed={sandboxed}".encode()

    def fingerprint(student_id):
        digest = hashlib.sha256(grader)
        student_dir = SUBMITTED / student_id
        for path in sorted(p for p in student_dir.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(student_dir)).encode())
            digest.update(path.read_bytes())
        return digest.hexdigest()

    return fingerprint


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
    return "timed out" in res["status"] or "kernel died" in res["status"]


def _run_pool(ids, workers, on_done, sandboxed=True):
    """Grades ``ids`` in a pool; a crashed worker process costs only a retry of the unfinished students."""
    pending = list(ids)
    for _ in range(MAX_POOL_STARTS):
        if not pending:
            return
        context = multiprocessing.get_context("spawn")
        try:
            with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=worker.start_worker,
                                     initargs=(sandboxed,)) as pool:
                futures = {pool.submit(worker.grade_student, sid): sid for sid in pending}
                for future in as_completed(futures):
                    res = future.result()
                    pending.remove(futures[future])
                    on_done(res)
        except BrokenProcessPool:
            continue  # the students still pending go to a fresh pool
    for sid in pending:  # never silently dropped: a row that says what happened
        on_done(worker.result(sid, status=f"grading process crashed {MAX_POOL_STARTS} times; not graded"))


def grade_all(ids, workers, force=False, sandboxed=True):
    """Grades the students in ``ids`` (skipping unchanged, already graded ones unless ``force``).

    Returns the results of every student in ``ids``.
    """
    fingerprint_of = fingerprinter(sandboxed)
    results, todo = {}, []
    for sid in ids:
        previous = load_result(sid)
        if not force and previous and previous.get("fingerprint") == fingerprint_of(sid):
            results[sid] = previous
        else:
            todo.append(sid)
    if len(todo) < len(ids):
        print(f"{len(ids) - len(todo)} unchanged and already graded: kept (--force regrades them)", flush=True)
    started = time.monotonic()
    failures = 0
    bar = tqdm(total=len(ids), initial=len(ids) - len(todo), unit="student", dynamic_ncols=True,
               bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}]{postfix}")

    def done(res):
        nonlocal failures
        res["fingerprint"] = fingerprint_of(res["student_id"])
        results[res["student_id"]] = res
        if not _needs_retry(res):
            save_result(res)
        failures += res["status"] != "graded"
        bar.set_postfix_str(f"not cleanly graded: {failures}")
        bar.update(1)

    _run_pool(todo, workers, done, sandboxed)
    bar.close()
    # A time-out or dead kernel under load may be the machine, not the code: once more, alone.
    retry = [sid for sid in todo if _needs_retry(results[sid])]
    for sid in retry:
        tqdm.write(f"regrading {sid} alone after: {results[sid]['status']}")
    if retry:
        def redone(res):
            res["retried"] = True
            res["fingerprint"] = fingerprint_of(res["student_id"])
            results[res["student_id"]] = res
            save_result(res)
        _run_pool(retry, 1, redone, sandboxed)
    elapsed = time.monotonic() - started
    return [results[sid] for sid in ids], elapsed

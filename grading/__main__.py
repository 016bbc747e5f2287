"""python -m grading: release, autograde every submission in parallel, feedback, grades.csv.

This is `make grade`. Students are graded as Dask tasks: on a LocalCluster of this machine by
default, or on a running cluster with --scheduler (make grade SCHEDULER=tcp://host:8786).
Limits and defaults: grading/settings.py (python -m grading.settings lists them).
"""

import argparse
import datetime
import json
import logging
import os
import sys

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("MPLBACKEND", "Agg")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m grading", description=__doc__)
    parser.add_argument("--student", action="append", metavar="ID", help="grade only this student (repeatable)")
    parser.add_argument("--workers", type=int,
                        help="parallel workers of the local cluster (default: GradingSettings.workers, GRADING_WORKERS; else one per core)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="grade on the Dask cluster of this scheduler (tcp://host:8786) instead of on this machine")
    parser.add_argument("--force", action="store_true", help="regrade students whose submission and grader did not change")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run student code without the sandbox (where it cannot start); every row says [unsandboxed]")
    args = parser.parse_args(argv)

    from grading import batch, course, grades
    from grading import settings as grading_settings

    os.chdir(course.ROOT)
    everyone = batch.student_ids()
    chosen = everyone if not args.student else args.student
    unknown = sorted(set(chosen) - set(everyone))
    if unknown:
        parser.error(f"no such student directory in submitted/: {', '.join(unknown)}")
    sandboxed = not args.no_sandbox
    plan = batch.plan(chosen, force=args.force or bool(args.student), sandboxed=sandboxed)
    # The local cluster starts now, while the course's configuration loads (nbgrader's imports, about 0.4 s of a
    # core while the other idled) and is checked: with the workers the command line, GRADING_WORKERS or the cores
    # give (one student: one). Should nbgrader_config.py set another number, it is started again below.
    early_workers = _early_workers(plan, args)
    early = _connect(plan, args, workers=early_workers) if early_workers else None
    try:
        try:
            limits = grading_settings.current()
        except ValueError as error:  # an environment variable that is no valid setting
            parser.error(str(error))
        from grading.deadlines import Deadlines

        try:
            Deadlines(config=grading_settings.load_course_config()).due()
        except ValueError as error:  # a due date nbgrader cannot read: say so before grading anyone
            parser.error(str(error))
    except BaseException:
        if early is not None:
            early.close()
        raise
    workers = _workers(args, limits.workers)
    if early is not None and min(workers, len(plan.todo)) != early_workers:
        early.close()
        early = None

    if plan.todo:
        started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        results, elapsed, keeping, where, workers, closing = _grade(plan, args, max(1, workers), early)
        from grading.release import ReleaseFailed, release_gradebook

        try:  # made once per grader, while the cluster closes: the next batch's workers do not release again
            release_gradebook(batch.grader_version())
        except ReleaseFailed as error:
            print(f"warning: the release-only gradebook for the workers could not be made (they release themselves): {error}",
                  file=sys.stderr)
        write_run_info(course.RUN_INFO, started=started, elapsed=round(elapsed, 2), workers=workers, cluster=where,
                       students=len(results), grader_version=batch.grader_version()[:12], sandboxed=sandboxed,
                       coordinator_seconds_per_student=round(keeping, 4))
    else:  # nothing changed: no cluster, no release; .grading/run.json still tells of the last batch that ran
        results, elapsed, closing = [plan.kept[sid] for sid in chosen], 0.0, None
        print("nothing to grade: every submission asked for is unchanged and graded by this grader", flush=True)
    # grades.csv always lists every student directory, also when only some were (re)graded now.
    every_result = {r["student_id"]: r for r in (batch.load_result(s) for s in everyone) if r}
    every_result.update({r["student_id"]: r for r in results})
    missing = [s for s in everyone if s not in every_result]
    for sid in missing:  # never graded yet (only others were asked for): say so instead of a silent 0
        every_result[sid] = grades.result(sid, status="not graded yet (run make grade)", sandboxed=sandboxed)
    # Scores set by hand (formgrader's in gradebook.db, overrides.csv) count over the checks' in every table.
    from grading import manual

    by_hand, left_out = manual.load(course.ROOT, everyone)
    for sentence in left_out:
        print(f"warning: {sentence}", file=sys.stderr)
    every_result = {sid: manual.apply(res, by_hand.get(sid)) for sid, res in every_result.items()}
    results = [every_result[r["student_id"]] for r in results]
    grades.write_grades_csv(list(every_result.values()), course.GRADES_CSV)
    # ...and on the feedback pages: a page whose scores set by hand changed is made again (grading.manual_feedback).
    from grading.manual_feedback import refresh

    for sentence in refresh(list(every_result.values())):
        print(f"warning: {sentence}", file=sys.stderr)
    from grading.class_report import write_reports

    run_info = json.loads(course.RUN_INFO.read_text()) if course.RUN_INFO.is_file() else None
    write_reports(list(every_result.values()), run_info, course.ROOT)
    print(grades.summary(results))
    if closing is not None:  # the cluster shut down while the tables were written
        closing.join()
    print(f"\n{len(results)} submission(s) in {elapsed:.1f} s; grades: {course.GRADES_CSV.relative_to(course.ROOT)}, "
          f"feedback: {course.FEEDBACK.relative_to(course.ROOT)}/, class report: class_report.html, checks.csv")
    return 0


def _early_workers(plan, args):
    """The local cluster's workers as known before nbgrader_config.py is read (the command line, GRADING_WORKERS, the
    cores), at most one per student; 0 when there is nothing to grade here or the number waits for the configuration."""
    from traitlets.config import Config

    from grading import settings as grading_settings

    if not plan.todo or args.scheduler:
        return 0
    try:
        configured = grading_settings.current(Config()).workers  # the defaults and the environment's variables
    except ValueError:  # not a valid number: said once the settings are read
        return 0
    return min(len(plan.todo), _workers(args, configured))


def _workers(args, configured):
    """The workers of this run: the command line's, else the settings' (``configured``; 0: not set), else one per core."""
    return args.workers or configured or os.cpu_count() or 1


def _connect(plan, args, workers):
    """The cluster's Connection (grading.cluster), starting in the background, with this run's grader kit."""
    from grading import batch, cluster, compile_cache
    from grading.release import kept_gradebook

    # The compile caches of this machine (grading.compile_cache): the kernels' and the grader's own beside it.
    cache = compile_cache.location() if plan.sandboxed and not args.scheduler else None
    settings = {"sandboxed": plan.sandboxed, "cell_timeout": os.environ.get("GRADING_CELL_TIMEOUT"),
                "compile_cache": cache and str(cache), "grader_compile_cache": cache and str(compile_cache.grader_location(cache))}
    version = batch.grader_version()
    # The release's gradebook made for this grader before (grading.release): the workers do not release again.
    kit = cluster.GraderKit(batch.grader_kit(), version, settings, gradebook=kept_gradebook(version))
    return cluster.Connection(kit, scheduler=args.scheduler, workers=workers)


def _grade(plan, args, workers, connection=None):
    """Grades ``plan.todo`` on a cluster: (results, seconds, keeping seconds, the cluster's name, its workers,
    the thread closing the cluster).

    A LocalCluster gets no more workers than there are students to grade: one student, one worker
    (each one costs seconds of start-up and its grader kit). ``connection``: one already starting.
    """
    from grading import batch, cluster, compile_cache
    from grading.course import ASSIGNMENT, RESULTS, ROOT

    sandboxed = plan.sandboxed
    if not args.scheduler:
        workers = min(workers, len(plan.todo))
    if connection is None:
        connection = _connect(plan, args, workers)
    building = None  # the compile cache's process, once started
    try:
        try:
            from grading.wall import SandboxUnavailable, check_available
            from grading.worker import quiet

            quiet()
            if sandboxed and not args.scheduler:  # a cluster's workers check their own (grading.worker.prepare)
                try:
                    check_available()
                except SandboxUnavailable as error:
                    sys.exit(f"make grade: {error}")
            elif not sandboxed:
                print("grading WITHOUT the sandbox: student code can read and change the workers' files", flush=True)
            release_assignment(batch.grader_version())
            # JAX's compilations for the kernels on this machine, made beside the batch unless they are there
            building = compile_cache.start() if sandboxed and not args.scheduler else None
            client = connection.client()
            where, workers = cluster.describe(client), cluster.worker_count(client)
            print(f"grading {len(plan.todo)} submission(s) of '{ASSIGNMENT}' on {where}", flush=True)
            results, elapsed, keeping = batch.grade_all(plan, client, on_idle=_load_report_plots)
            finish_compile_cache(building)
        except BaseException:
            if building is not None:
                building.kill()
            connection.close()
            raise
    except batch.SchedulerLost:
        sys.exit(f"make grade: lost the connection to the Dask scheduler{' at ' + args.scheduler if args.scheduler else ''}; "
                 f"every student graded so far is saved in {RESULTS.relative_to(ROOT)}/: run make grade again to continue")
    except (OSError, TimeoutError) as error:
        if not args.scheduler:
            raise
        sys.exit(f"make grade: cannot reach the Dask scheduler at {args.scheduler} ({error})")
    except Exception as error:
        from grading.wall import SandboxUnavailable

        if not isinstance(error, (cluster.KitMismatch, SandboxUnavailable)):
            raise
        sys.exit(f"make grade: a worker cannot grade: {error}")
    return results, elapsed, keeping, where, workers, connection.close_in_background()


def _load_report_plots():
    """The class report's imports (matplotlib), in a thread while the batch's last students are graded: a core is free
    then, and the report, written after the batch, no longer waits for them (about 0.8 s)."""
    import threading

    from grading.class_report import plots

    threading.Thread(target=plots.load, name="grading-report-imports", daemon=True).start()


def write_run_info(path, **info):
    """.grading/run.json: when and how the last batch ran (read by the class report)."""
    from grading.atomic import write_atomically

    write_atomically(path, json.dumps(info, indent=1))


def finish_compile_cache(process):
    """Waits for the cache's process (the next batch needs it whole); a failure is a warning: grading never depends on it."""
    if process is None:
        return
    if process.wait() != 0:
        from grading.course import LOGS, ROOT

        print(f"warning: the compile cache could not be made (grading is slower, grades the same): "
              f"{(LOGS / 'compile-cache.log').relative_to(ROOT)}", file=sys.stderr, flush=True)


def release_assignment(version):
    """source/ -> release/ and the assignment's cells in gradebook.db, unless done for this grader (grading.release)."""
    from grading.release import ReleaseFailed, release_course

    try:
        release_course(version)
    except ReleaseFailed as error:
        sys.exit(f"generating the release failed:\n{error}")


if __name__ == "__main__":
    code = main()
    # Everything is written and closed. What the batch loaded (nbgrader, Dask, matplotlib: 200,000-300,000 objects) is
    # left to the OS instead of to the collections CPython runs at exit: they took 0.25-0.4 s after the last line.
    import gc

    gc.freeze()
    sys.exit(code)

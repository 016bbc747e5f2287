"""python -m grading.check [--json] [--no-sandbox] [--same-author] [--jobs N] PATH [PATH ...]: grade .py/.ipynb files without nbgrader.

Each PATH is loaded and run in its own sandboxed agent process (grading.wall); the hidden
checks (grader_tests) run here, outside it, and talk to the agent over a socket. With
--same-author the files share one sandbox per job and each runs in a process forked from a warm
one: for files that need no wall between them (one author's), several times faster.
"""

import argparse
import json
import os
import sys

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("MPLBACKEND", "Agg")
import grading  # noqa: E402,F401 - first: its XLA flags hold only if set before JAX is imported

from grader_tests.points import MAX_TOTAL, PARTS, POINTS  # noqa: E402
from grader_tests.report import format_report  # noqa: E402
from grader_tests.runner import run_checks  # noqa: E402
from grader_tests.submission import ChannelBroken, SocketChannel, Submission  # noqa: E402
from grading.names import printable  # noqa: E402
from grading.proctree import die_with_parent  # noqa: E402
from sandbox.agent import LOAD_TIME_LIMIT  # noqa: E402


def _compile_cache():
    """The course's compile cache (grading.compile_cache), made now if make grade has not made it; None if it cannot be."""
    from grading import compile_cache  # noqa: PLC0415 - JAX and jupyter_client load after the flags

    process = compile_cache.start()  # its own process: its kernel's output must not reach --json's stdout
    if process is not None and process.wait() != 0:  # a saving, never a reason not to check: checked without it
        return None
    location = compile_cache.location()
    return location if compile_cache.usable(location) else None


def grade_paths(paths, sandbox=True):
    """Yields the result of each .py or .ipynb file in ``paths``: the JSON object of ``--json``.

    Each file's code runs in its own agent process (sandboxed unless ``sandbox`` is False); the
    next one is started while the checks of the current one run.
    """
    from grading.wall import AgentProcess  # noqa: PLC0415 - JAX and jupyter_client load after the flags

    paths = list(paths)
    cache = _compile_cache() if sandbox and paths else None
    upcoming = AgentProcess(paths[0], enabled=sandbox, compile_cache=cache) if paths else None
    for i, path in enumerate(paths):
        agent, upcoming = upcoming, (AgentProcess(paths[i + 1], enabled=sandbox, compile_cache=cache) if i + 1 < len(paths) else None)
        try:
            yield _grade_agent(path, agent)
        finally:
            agent.stop()


def grade_series(paths, sandbox=True):
    """Yields the result of each file in ``paths``, all of ONE author: one sandbox, a fresh forked process per file.

    Faster than :func:`grade_paths` (imports once, JAX compilations cached across files), and as
    walled off from the machine, but not from one another (``--same-author``).
    """
    from grading.wall import AgentSeries  # noqa: PLC0415 - JAX and jupyter_client load after the flags

    paths = list(paths)
    if not paths:
        return
    series = AgentSeries(paths, enabled=sandbox)
    index = 0
    try:
        while index < len(paths):
            try:
                channel = SocketChannel(series.connect(timeout=LOAD_TIME_LIMIT + 60))
                hello = channel.hello(timeout=LOAD_TIME_LIMIT + 60)
            except (TimeoutError, ChannelBroken) as error:
                yield from (_not_started(path, str(error)) for path in paths[index:])
                return
            file = hello.get("file")
            file = file if isinstance(file, int) and index <= file < len(paths) else index
            for skipped in paths[index:file]:  # their process ended before it connected (a crash while loading)
                yield _not_started(skipped, "the process of this file ended before it could be checked")
            try:
                yield _grade_channel(paths[file], channel, hello)
            finally:
                if isinstance(hello.get("pid"), int):
                    series.end(hello["pid"])
            index = file + 1
    finally:
        series.stop()


def grade_one(path, sandbox=True):
    """The result of one file, in a grading process of --jobs N (it dies with its parent)."""
    die_with_parent()
    return next(grade_paths([path], sandbox=sandbox))


def _not_started(path, why):
    """The result of a file whose code never answered: no check ran, 0 points, ``why`` as its load error."""
    parts = {part: {"score": 0.0, "max": POINTS[part], "checks": []} for part in PARTS}
    return {"submission": str(path), "parts": parts, "score": 0.0, "max": MAX_TOTAL, "load_errors": [why]}


def _grade_agent(path, agent):
    try:
        connection = agent.connect()
    except TimeoutError as error:
        return _not_started(path, str(error))
    channel = SocketChannel(connection)
    try:
        hello = channel.hello(timeout=LOAD_TIME_LIMIT + 60)
    except ChannelBroken as error:
        hello = {"load_errors": [str(error)]}
    return _grade_channel(path, channel, hello)


def _grade_channel(path, channel, hello):
    """Runs every check on the submission behind ``channel`` (its ``hello`` already received)."""
    errors = hello.get("load_errors", [])
    load_errors = [str(e)[:600] for e in (errors if isinstance(errors, list) else [errors])][:50]
    submission = Submission(channel, str(path), load_errors)
    try:
        parts = run_checks(submission)
    finally:
        submission.close()
    return {
        "submission": str(path),
        "parts": parts,
        "score": round(sum(part["score"] for part in parts.values()), 2),
        "max": MAX_TOTAL,
        "load_errors": load_errors,
    }


def grade_share(paths, sandbox=True):
    """All results of ``paths`` as a list (a --same-author share of --jobs N, in a grading process that dies with its parent)."""
    die_with_parent()
    return list(grade_series(paths, sandbox=sandbox))


def _graded(paths, sandbox, jobs, same_author=False):
    """The results in PATH order; with jobs > 1, several grading processes (each checks one file at a time).

    ``same_author``: the files share a sandbox (one per grading process), see :func:`grade_series`.
    """
    if jobs == 1:
        yield from (grade_series if same_author else grade_paths)(paths, sandbox=sandbox)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        if not same_author:
            yield from pool.map(grade_one, paths, [sandbox] * len(paths))
            return
        shares = [paths[i::jobs] for i in range(jobs)]  # every jobs-th file: similar files spread evenly
        results = list(pool.map(grade_share, shares, [sandbox] * jobs))
        for i in range(len(paths)):
            yield results[i % jobs][i // jobs]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m grading.check", description=__doc__)
    parser.add_argument("paths", nargs="+", metavar="PATH", help=".py file or .ipynb notebook defining the six graded names")
    parser.add_argument("--json", action="store_true", help="print a JSON array, one object per PATH, in order")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run the submitted code in a plain process (no isolation: only for code you trust)")
    parser.add_argument("--same-author", action="store_true",
                        help="the files are all of one author (e.g. your own variants): they share one sandbox per "
                             "job, each file in a fresh process forked from one that has imported JAX and torch, "
                             "with JAX's compilations cached; as walled off from the machine, not from one another")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="submissions graded at once, each by its own grading process (default: one per core)")
    args = parser.parse_args(argv)
    if not args.no_sandbox:
        from grading.wall import SandboxUnavailable, check_available

        try:
            check_available()
        except SandboxUnavailable as error:
            print(f"python -m grading.check: {error}", file=sys.stderr)
            return 2
    results = []
    for result in _graded(args.paths, not args.no_sandbox, max(1, min(args.jobs, len(args.paths))), args.same_author):
        results.append(result)
        if not args.json:  # messages quote what student code raised: shown escaped, never as terminal commands
            print("\n".join(printable(line) for line in format_report(result).split("\n")), flush=True)
    if args.json:
        json.dump(results, sys.stdout, indent=1)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

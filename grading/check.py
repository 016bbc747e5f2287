"""python -m grading.check [--json] [--no-sandbox] [--jobs N] PATH [PATH ...]: grade .py/.ipynb files without nbgrader.

Each PATH is loaded and run in its own sandboxed agent process (grading.wall); the hidden
checks (grader_tests) run here, outside it, and talk to the agent over a socket.
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


def grade_paths(paths, sandbox=True):
    """Yields the result of each .py or .ipynb file in ``paths``: the JSON object of ``--json``.

    Each file's code runs in its own agent process (sandboxed unless ``sandbox`` is False); the
    next one is started while the checks of the current one run.
    """
    from grading.wall import AgentProcess  # noqa: PLC0415 - JAX and jupyter_client load after the flags

    paths = list(paths)
    upcoming = AgentProcess(paths[0], enabled=sandbox) if paths else None
    for i, path in enumerate(paths):
        agent, upcoming = upcoming, (AgentProcess(paths[i + 1], enabled=sandbox) if i + 1 < len(paths) else None)
        try:
            yield _grade_agent(path, agent)
        finally:
            agent.stop()


def grade_one(path, sandbox=True):
    """The result of one file, in a grading process of --jobs N (it dies with its parent)."""
    die_with_parent()
    return next(grade_paths([path], sandbox=sandbox))


def _grade_agent(path, agent):
    try:
        connection = agent.connect()
    except TimeoutError as error:
        parts = {part: {"score": 0.0, "max": POINTS[part], "checks": []} for part in PARTS}
        return {"submission": str(path), "parts": parts, "score": 0.0, "max": MAX_TOTAL, "load_errors": [str(error)]}
    channel = SocketChannel(connection)
    try:
        hello = channel.hello(timeout=LOAD_TIME_LIMIT + 60)
        load_errors = [str(e)[:600] for e in hello.get("load_errors", [])][:50]
    except ChannelBroken as error:
        load_errors = [str(error)]
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


def _graded(paths, sandbox, jobs):
    """The results in PATH order; with jobs > 1, several grading processes (each checks one file at a time)."""
    if jobs == 1:
        yield from grade_paths(paths, sandbox=sandbox)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield from pool.map(grade_one, paths, [sandbox] * len(paths))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m grading.check", description=__doc__)
    parser.add_argument("paths", nargs="+", metavar="PATH", help=".py file or .ipynb notebook defining the six graded names")
    parser.add_argument("--json", action="store_true", help="print a JSON array, one object per PATH, in order")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run the submitted code in a plain process (no isolation: only for code you trust)")
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
    for result in _graded(args.paths, not args.no_sandbox, max(1, min(args.jobs, len(args.paths)))):
        results.append(result)
        if not args.json:  # messages quote what student code raised: shown escaped, never as terminal commands
            print("\n".join(printable(line) for line in format_report(result).split("\n")), flush=True)
    if args.json:
        json.dump(results, sys.stdout, indent=1)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""python -m grader_tests [--json] [--no-sandbox] PATH [PATH ...]: grade .py/.ipynb submissions without nbgrader.

Each PATH is loaded and run in its own sandboxed process (grading.sandbox); the checks run here.
"""

import argparse
import json
import os
import sys

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("MPLBACKEND", "Agg")
import grading  # noqa: E402,F401 - first: its XLA flags hold only if set before JAX is imported

from grader_tests.report import format_report  # noqa: E402
from grading.names import printable  # noqa: E402
from grader_tests.runner import grade_one, grade_paths  # noqa: E402


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
    parser = argparse.ArgumentParser(prog="python -m grader_tests", description=__doc__)
    parser.add_argument("paths", nargs="+", metavar="PATH", help=".py file or .ipynb notebook defining the six graded names")
    parser.add_argument("--json", action="store_true", help="print a JSON array, one object per PATH, in order")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run the submitted code in a plain process (no isolation: only for code you trust)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="submissions graded at once, each by its own grading process (default: one per core)")
    args = parser.parse_args(argv)
    if not args.no_sandbox:
        from grading.sandbox import SandboxUnavailable, check_available

        try:
            check_available()
        except SandboxUnavailable as error:
            print(f"python -m grader_tests: {error}", file=sys.stderr)
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

"""python -m grader_tests [--json] PATH [PATH ...]: grade .py/.ipynb submissions without nbgrader."""

import argparse
import json
import os
import sys

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("MPLBACKEND", "Agg")

from grader_tests.report import format_report  # noqa: E402
from grader_tests.runner import grade_path  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m grader_tests", description=__doc__)
    parser.add_argument("paths", nargs="+", metavar="PATH", help=".py file or .ipynb notebook defining the six graded names")
    parser.add_argument("--json", action="store_true", help="print a JSON array, one object per PATH, in order")
    args = parser.parse_args(argv)
    results = []
    for path in args.paths:
        result = grade_path(path)
        results.append(result)
        if not args.json:
            print(format_report(result), flush=True)
    if args.json:
        json.dump(results, sys.stdout, indent=1)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

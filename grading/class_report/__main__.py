"""``python -m grading.class_report [--course DIR] [--threshold 0.5]``: rebuilds class_report.html and
checks.csv from the stored results, without regrading."""

import argparse
import sys
from pathlib import Path

from grading import class_report
from grading.class_report.files import write_reports
from grading.class_report.results import GRADES_CSV, RESULTS_DIR, load_class


def main(argv=None):
    from grading.course import ROOT

    description = class_report.__doc__.split("\n\n")[0]  # the first paragraph of the package's docstring
    parser = argparse.ArgumentParser(prog="python -m grading.class_report", description=description)
    parser.add_argument("--threshold", type=float, default=0.5,
                        help="list students whose total is below this fraction of the maximum (default 0.5)")
    parser.add_argument("--course", type=Path, default=ROOT, help="the course directory (default: this checkout)")
    args = parser.parse_args(argv)
    if not 0 <= args.threshold <= 1:
        parser.error("--threshold is a fraction of the maximum total, between 0 and 1")
    results, run_info, warnings = load_class(args.course)
    if not results:
        print(f"no results in {args.course / RESULTS_DIR} and no {GRADES_CSV}: run make grade first", file=sys.stderr)
        return 1
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    html_path, csv_path = write_reports(results, run_info, args.course, args.threshold, warnings)
    print(f"class report of {len(results)} student(s): {html_path}, {csv_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

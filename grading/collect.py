"""python -m grading.collect: an LMS's submissions download into submitted/ (make collect).

    make collect FROM=path/to/download.zip ROSTER=path/to/roster.csv [LMS=canvas|moodle|blackboard]
                 [TIMEZONE=Europe/Berlin] [ID_COLUMN="SIS User ID"]

The zip's layout and the roster's LMS are recognised from their names and columns (LMS= says
it). Every entry of the zip gets a line in the report: taken, kept (an earlier attempt or another
notebook, in .grading/collected/), skipped or refused, and why; it is printed and written to
.grading/collect_report.csv. See grading/lms_import.py and grading/roster.py.
"""

import argparse
import sys

from grading.course import ROOT, STATE, SUBMITTED
from grading.lms_import import CollectError, collect
from grading.names import printable
from grading.roster import LMS_NAMES, RosterError, read_roster


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m grading.collect", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from", dest="source", default="", metavar="ZIP", help="the LMS's submissions download (make collect FROM=)")
    parser.add_argument("--roster", default="", metavar="CSV", help="the LMS's gradebook export (make collect ROSTER=)")
    parser.add_argument("--lms", default="", help=f"the LMS, when its names do not say it: {', '.join(LMS_NAMES)}")
    parser.add_argument("--timezone", default="UTC", help="the time zone of Blackboard's attempt dates (default UTC)")
    parser.add_argument("--id-column", default="", help="the roster column that holds the student id (default: per LMS, see README)")
    args = parser.parse_args(argv)
    if not args.source or not args.roster:
        print("make collect needs the download and the roster: make collect FROM=path/to/download.zip ROSTER=path/to/roster.csv",
              file=sys.stderr)
        return 2
    lms = args.lms.strip().lower() or None
    if lms and lms not in LMS_NAMES:
        print(f"LMS={printable(args.lms)} is not one of {', '.join(LMS_NAMES)}", file=sys.stderr)
        return 2
    try:
        roster = read_roster(args.roster, lms=lms, id_column=args.id_column or None)
        report = collect(args.source, roster, SUBMITTED, STATE, lms=lms, zone=args.timezone)
    except (RosterError, CollectError) as error:
        print(f"{error}", file=sys.stderr)
        return 1
    print(report.text())
    shown_path = report.report_path.relative_to(ROOT) if report.report_path.is_relative_to(ROOT) else report.report_path
    print(f"{report.summary()}; report: {printable(shown_path)}")
    if report.warning:
        print(report.warning, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

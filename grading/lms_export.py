"""grades.csv out to an LMS: exports/<lms>_grades.csv in the layout its gradebook import reads (make export).

The roster (grading.roster, the same gradebook export that make collect reads) says who is in the
class and under which LMS ids; grades.csv (make grade) says each student's total, after the late
penalty and with whatever else grades.csv counts. Every roster student gets a row:

- Canvas, Grades > Import (https://community.canvaslms.com/t5/Instructor-Guide/How-do-I-import-grades-in-the-Gradebook/ta-p/807):
  the columns ``Student``, ``ID``, ``SIS User ID``, ``SIS Login ID``, ``Section`` as exported, and
  one assignment column whose header is the gradebook's own (``Perceptrons (5501)``: the name and
  Canvas's assignment id, which is how Canvas finds the assignment). A student without a
  submission gets an empty cell (Canvas leaves an empty cell ungraded).
- Moodle, the assignment's "Upload grading worksheet"
  (https://docs.moodle.org/en/Assignment_settings#Offline_grading_worksheet): the worksheet as
  downloaded, with ``Grade`` filled and ``Feedback comments`` saying a penalty or a missing
  submission; Moodle matches rows by ``Identifier`` ("Participant 1234"), so the roster must be the
  worksheet (the participants export has no identifiers).

Totals are scaled to the LMS's maximum when it states one that is not the course's (Canvas's
"Points Possible" row, Moodle's ``Maximum Grade``), and the export says so. Students of grades.csv
who are not in the roster are left out and listed.
"""

import argparse
import csv
import io
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from grading import lms_feedback
from grading.atomic import write_atomically
from grading.course import ASSIGNMENT, FEEDBACK, GRADES_CSV, ROOT, STATE
from grading.names import printable, spreadsheet_cell
from grading.roster import RosterError, read_roster

EXPORTABLE = ("canvas", "moodle")
CANVAS_FIXED = ("Student", "ID", "SIS User ID", "SIS Login ID", "Integration ID", "Root Account", "Section")
GRADES_NEEDED = ("student_id", "total", "max_total", "status")
NOT_GRADED_YET = "not graded yet"


class ExportError(ValueError):
    """The export cannot be made; the message is one sentence, and nothing was written."""


@dataclass
class Export:
    """What was written, and what a TA should know about it."""

    path: Path | None = None
    rows: list = field(default_factory=list)  # the rows written (dicts of the output's columns)
    notes: list = field(default_factory=list)  # sentences: scaling, students left out, not graded
    graded: int = 0
    without_grade: list = field(default_factory=list)  # student ids exported without a grade


def read_grades(path):
    """{student id: grades.csv row} of make grade's grades.csv. Raises ExportError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ExportError(f"there is no {printable(path.name)} to export: run make grade first") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ExportError(f"{printable(path.name)} cannot be read ({printable(getattr(error, 'strerror', None) or error)})") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [column for column in GRADES_NEEDED if column not in (reader.fieldnames or [])]
    if missing:
        raise ExportError(f"{printable(path.name)} has no column {', '.join(missing)}: it is not make grade's grades.csv "
                          "(plain nbgrader export writes another layout); run make grade")
    rows = {}
    for row in reader:
        student_id = row["student_id"].removeprefix("'")  # grades.csv guards cells a spreadsheet reads as formulas
        rows[student_id] = row
    return rows


def _number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _grade(total, course_max, lms_max):
    value = total * lms_max / course_max if lms_max and course_max and lms_max != course_max else total
    return f"{round(value, 2):g}"


def assignment_column(roster, column=None):
    """The Canvas gradebook column of the assignment: ``column`` if given, else the one named like the course's."""
    extra = [name for name in roster.header if name not in CANVAS_FIXED]
    if column:
        if column not in roster.header:
            raise ExportError(f"the roster has no column {printable(column)!r} (its columns: {printable(', '.join(roster.header))})")
        return column
    found = [name for name in extra if name.lower().startswith(ASSIGNMENT.lower()) and re.search(r"\(\d+\)$", name)]
    if len(found) != 1:
        raise ExportError(f"the roster has {'no' if not found else 'several'} Canvas assignment column(s) named "
                          f"'{ASSIGNMENT.capitalize()} (<id>)': say which with COLUMN=\"<name> (<id>)\"")
    return found[0]


def export(roster, grades_path, out_dir, column=None):
    """Writes ``out_dir``/<lms>_grades.csv for ``roster`` from the grades.csv at ``grades_path``; the Export."""
    if roster.lms not in EXPORTABLE:
        raise ExportError(f"export to {roster.lms.capitalize()} is not made yet: only {', '.join(EXPORTABLE)}")
    grades = read_grades(grades_path)
    result = Export()
    if roster.lms == "canvas":
        header, rows = _canvas(roster, grades, column, result)
    else:
        header, rows = _moodle(roster, grades, result)
    known = {entry.student_id for entry in roster.entries}
    strangers = sorted(set(grades) - known)
    if strangers:
        result.notes.append(f"{len(strangers)} student(s) of grades.csv not in the roster, left out: "
                            f"{printable(', '.join(strangers[:10]))}{' ...' if len(strangers) > 10 else ''}")
    if roster.problems:
        result.notes.append(f"{len(roster.problems)} roster row(s) could not be used (see make collect's report or fix the roster)")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    result.path = Path(out_dir) / f"{roster.lms}_grades.csv"
    result.rows = rows
    write_atomically(result.path, buffer.getvalue())
    return result


def _outcome(entry, grades, result, course_max, lms_max):
    """(grade text or '', comment) of one roster student."""
    row = grades.get(entry.student_id)
    if row is None:
        result.without_grade.append(entry.student_id)
        return "", "no submission"
    status = row["status"].removeprefix("'")
    total = _number(row["total"])
    if status.startswith(NOT_GRADED_YET) or total is None:
        result.without_grade.append(entry.student_id)
        return "", "not graded yet"
    result.graded += 1
    comment = []
    penalty = _number(row.get("penalty"))
    if penalty:
        comment.append(f"late by {row.get('late_by_hours')} h: {penalty:g} point(s) of late penalty")
    if status != "graded":
        comment.append(status)
    return _grade(total, course_max, lms_max), "; ".join(comment)


def _course_max(grades):
    values = {_number(row["max_total"]) for row in grades.values()} - {None}
    return max(values) if values else None


def _scaled_note(result, course_max, lms_max, where):
    if lms_max and course_max and lms_max != course_max:
        result.notes.append(f"totals scaled from the course's {course_max:g} points to the {lms_max:g} of {where}")


def _canvas(roster, grades, column, result):
    column = assignment_column(roster, column)
    course_max = _course_max(grades)
    lms_max = _number(roster.points_possible.get(column))
    _scaled_note(result, course_max, lms_max, f"Canvas's Points Possible for {printable(column)}")
    header = [name for name in CANVAS_FIXED if name in roster.header] + [column]
    rows = []
    for entry in roster.entries:
        cells = dict(entry.columns)
        grade, _ = _outcome(entry, grades, result, course_max, lms_max)
        row = {name: cells.get(name, "") for name in header}
        row["Student"] = spreadsheet_cell(row["Student"])
        row[column] = grade
        rows.append(row)
    return header, rows


def _moodle(roster, grades, result):
    if "Identifier" not in roster.header:
        raise ExportError("Moodle's grade upload matches rows by Identifier: give its grading worksheet as ROSTER= "
                          "(assignment > View all submissions > Download grading worksheet), not the participants export")
    course_max = _course_max(grades)
    header = list(roster.header)
    for needed in ("Grade", "Feedback comments"):
        if needed not in header:
            header.append(needed)
    rows, maxima = [], set()
    for entry in roster.entries:
        cells = dict(entry.columns)
        lms_max = _number(cells.get("Maximum Grade"))
        maxima.add(lms_max)
        grade, comment = _outcome(entry, grades, result, course_max, lms_max)
        row = {name: cells.get(name, "") for name in header}
        for name in ("Full name", "Email address"):
            if name in row:
                row[name] = spreadsheet_cell(row[name])
        row["Grade"] = grade
        row["Feedback comments"] = spreadsheet_cell(comment)
        rows.append(row)
    for lms_max in sorted(maxima - {None}):
        _scaled_note(result, course_max, lms_max, "Moodle's Maximum Grade")
    return header, rows


def main(argv=None):
    """make export: python -m grading.lms_export --roster CSV [--lms canvas|moodle] [--column NAME]."""
    parser = argparse.ArgumentParser(prog="python -m grading.lms_export", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--roster", default="", metavar="CSV", help="the LMS's gradebook export (make export ROSTER=)")
    parser.add_argument("--lms", default="", help=f"the LMS, when the roster's columns do not say it: {', '.join(EXPORTABLE)}")
    parser.add_argument("--column", default="", help="Canvas: the gradebook column of the assignment (default: 'Perceptrons (<id>)')")
    parser.add_argument("--id-column", default="", help="the roster column that holds the student id (as for make collect)")
    parser.add_argument("--grades", default=str(GRADES_CSV), help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(ROOT / "exports"), help=argparse.SUPPRESS)
    parser.add_argument("--feedback", default=str(FEEDBACK), help=argparse.SUPPRESS)
    parser.add_argument("--collect-report", default=str(STATE / lms_feedback.COLLECT_REPORT), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.roster:
        print("make export needs the roster: make export LMS=canvas|moodle ROSTER=path/to/gradebook.csv", file=sys.stderr)
        return 2
    lms = args.lms.strip().lower() or None
    if lms and lms not in EXPORTABLE:
        print(f"LMS={printable(args.lms)} cannot be exported to: only {', '.join(EXPORTABLE)}", file=sys.stderr)
        return 2
    try:
        roster = read_roster(args.roster, lms=lms, id_column=args.id_column or None)
        result = export(roster, args.grades, args.out, column=args.column or None)
    except (RosterError, ExportError) as error:
        print(f"{error}", file=sys.stderr)
        return 1
    for note in result.notes:
        print(note)
    if result.without_grade:
        print(f"{len(result.without_grade)} roster student(s) exported without a grade (no submission, or not graded yet): "
              f"{printable(', '.join(result.without_grade[:10]))}{' ...' if len(result.without_grade) > 10 else ''}")
    shown_path = result.path.relative_to(ROOT) if result.path.is_relative_to(ROOT) else result.path
    print(f"{result.graded} grade(s) for {roster.lms.capitalize()} written to {printable(shown_path)}")
    # The feedback pages, next to the grades: exports/<lms>_feedback.zip (grading.lms_feedback).
    pages = lms_feedback.write_feedback_zip(roster, args.feedback, args.out, collect_report=args.collect_report)
    for line in pages.notes + lms_feedback.summary(pages):
        print(line)
    if pages.path:
        shown_path = pages.path.relative_to(ROOT) if pages.path.is_relative_to(ROOT) else pages.path
        print(f"{len(pages.entries)} feedback page(s) for {roster.lms.capitalize()}'s bulk feedback upload written to "
              f"{printable(shown_path)} ({pages.size / 2**20:.1f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

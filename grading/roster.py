"""A class roster as an LMS exports its gradebook, read as untrusted text.

One roster row becomes one :class:`RosterEntry`: the course's student id (the nbgrader student id,
the folder name in ``submitted/``) and the LMS's own ids and names, which its downloads use
(grading.lms_import matches zip entries with them) and its grade imports will want back.

The exports read (the columns named are the ones used; every other column is kept in
``RosterEntry.columns`` so an export back to the LMS can repeat them):

- Canvas, Grades > Export ("Export Entire Gradebook"), documented at
  https://community.canvaslms.com/t5/Instructor-Guide/How-do-I-export-grades-in-the-Gradebook/ta-p/809 :
  ``Student`` ("Last, First"), ``ID`` (Canvas user id, in the submissions download's names),
  ``SIS User ID``, ``SIS Login ID``, ``Section``; a second row ``Points Possible`` (and on some
  instances a ``Manual Posting`` row) that is not a student. Student id: ``SIS Login ID``.
- Moodle, the assignment's grading worksheet ("Download grading worksheet",
  https://docs.moodle.org/en/Assignment_settings#Offline_grading_worksheet): ``Identifier``
  ("Participant 1234": the participant number of the "Download all submissions" names),
  ``Full name``, ``Email address`` (and ``ID number`` when the site shows it). Or the
  participants page's export (https://docs.moodle.org/en/Participants): ``First name``,
  ``Last name``, ``Email address``, without participant numbers (submissions are then matched
  by full name). Student id: the part of the email address before ``@``.
- Blackboard, Grade Center > Work Offline > Download
  (https://help.blackboard.com/Learn/Instructor/Original/Grade/Grading_Tasks/Work_Offline_With_Grade_Data):
  ``Last Name``, ``First Name``, ``Username`` (in the "Assignment File Download" names),
  ``Student ID``. Blackboard's ``.xls`` is tab-separated UTF-16 text: read as such. Student id:
  ``Username``.

``id_column`` chooses another column as the student id (e.g. Canvas ``SIS User ID``).

Untrusted input: a byte-order mark, UTF-16 or a non-UTF-8 file, commas, semicolons or tabs,
missing columns, rows without an id, ids that cannot be a folder name, the same id twice. A file
that cannot be a roster raises :class:`RosterError` (one sentence); a row that cannot be used is
left out and said in ``Roster.problems``; an id that two rows claim is left out for both rows
(which one is meant cannot be known), and said.
"""

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from grading.names import printable

LMS_NAMES = ("canvas", "moodle", "blackboard")
ROSTER_LIMIT = 20 * 2**20  # bytes: a 10,000-student gradebook with 100 columns is about 10 MB
# A safe folder name and a plain nbgrader id (an email-like SIS login, alice@uni.edu, is one too).
STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+@-]{0,99}")
MOODLE_PARTICIPANT = re.compile(r"participant\s*(\d+)", re.IGNORECASE)
# The columns each export must have (any of each tuple), by LMS.
REQUIRED = {
    "canvas": (("Student",), ("ID",)),
    "moodle": (("Full name", "First name"), ("Email address",)),
    "blackboard": (("Last Name",), ("First Name",), ("Username",)),
}
DEFAULT_ID_COLUMN = {"canvas": "SIS Login ID", "moodle": "Email address", "blackboard": "Username"}


class RosterError(ValueError):
    """The file cannot be read as a roster; the message is one sentence for the TA."""


@dataclass(frozen=True)
class RosterEntry:
    """One student of the roster.

    ``student_id``: the nbgrader student id (submitted/<student_id>). ``lms_user_id``: what the
    LMS's submissions download names the student by (Canvas user id, Moodle participant number
    or "" in a participants export, Blackboard username). ``name``: as people read it ("First
    Last"); ``sortable_name``: "Last, First" where the LMS has one. ``row``: the line in the file.
    """

    student_id: str
    name: str
    lms_user_id: str
    lms: str
    row: int
    sortable_name: str = ""
    email: str = ""
    sis_id: str = ""  # Canvas SIS User ID, Blackboard Student ID, Moodle ID number
    section: str = ""
    columns: tuple = ()  # (column, value) of the whole row, as read


@dataclass
class Roster:
    """The usable rows of a roster file, and what was left out and why."""

    lms: str
    id_column: str
    entries: list = field(default_factory=list)
    problems: list = field(default_factory=list)  # sentences, one per row or id left out
    header: tuple = ()  # the file's columns, in order
    source: str = ""
    points_possible: dict = field(default_factory=dict)  # Canvas's "Points Possible" row: {column: points}

    def by_student_id(self, student_id):
        return next((entry for entry in self.entries if entry.student_id == student_id), None)

    def by_lms_user_id(self, lms_user_id):
        return next((entry for entry in self.entries if entry.lms_user_id and entry.lms_user_id == lms_user_id), None)

    def by_name(self, name):
        """The entry whose name is ``name`` (compared without case and extra spaces), if exactly one."""
        wanted = _fold(name)
        found = [entry for entry in self.entries if _fold(entry.name) == wanted]
        return found[0] if len(found) == 1 else None


def _fold(text):
    return " ".join(text.split()).casefold()


def decode(data):
    """The text of ``data``: UTF-8 or UTF-16 by their byte-order marks, else UTF-8, else Windows-1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise RosterError("the roster starts as UTF-16 text but is not UTF-16: export it again as CSV") from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")  # Excel's "CSV" on Windows; names may show a replacement mark


def detect_lms(header):
    """The LMS whose gradebook export has these columns, or None."""
    columns = {column.strip() for column in header}
    if {"SIS Login ID", "SIS User ID"} & columns or {"Student", "ID"} <= columns:
        return "canvas"
    if "Identifier" in columns or ("Email address" in columns and {"Full name", "First name"} & columns):
        return "moodle"
    if {"Username", "Last Name", "First Name"} <= columns:
        return "blackboard"
    return None


def _rows(text):
    sample = text[:4096].splitlines()[0] if text.strip() else ""
    delimiter = max(",;\t", key=sample.count) if sample else ","
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def read_roster(path, lms=None, id_column=None):
    """The Roster of the CSV file ``path`` (the LMS recognised from its columns unless ``lms`` says it).

    ``id_column``: the column holding the student id (default: DEFAULT_ID_COLUMN of the LMS).
    Raises RosterError when the file cannot be a roster of that LMS.
    """
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(ROSTER_LIMIT + 1)
    except OSError as error:
        raise RosterError(f"the roster {printable(path)} cannot be read ({error.strerror})") from None
    if len(data) > ROSTER_LIMIT:
        raise RosterError(f"the roster {printable(path)} is over {ROSTER_LIMIT // 2**20} MiB: is it a roster?")
    if b"\0" in data and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise RosterError(f"the roster {printable(path)} is not text (it holds NUL bytes): export the gradebook as CSV")
    try:
        rows = _rows(decode(data))
    except csv.Error as error:
        raise RosterError(f"the roster {printable(path)} is not CSV a reader can follow ({error})") from None
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise RosterError(f"the roster {printable(path)} is empty")
    header = tuple(cell.strip() for cell in rows[0])
    found = detect_lms(header)
    if lms is None:
        if found is None:
            raise RosterError(f"the roster {printable(path)} has none of the columns of a Canvas, Moodle or Blackboard "
                              f"gradebook export (it has: {printable(', '.join(header[:6]))}): export the gradebook as CSV, or say LMS=")
        lms = found
    if lms not in LMS_NAMES:
        raise RosterError(f"LMS={printable(lms)} is not one of {', '.join(LMS_NAMES)}")
    for choices in REQUIRED[lms]:
        if not set(choices) & set(header):
            raise RosterError(f"the roster {printable(path)} has no column {' or '.join(repr(c) for c in choices)}, "
                              f"which a {lms.capitalize()} gradebook export has: is it one?")
    id_column = id_column or DEFAULT_ID_COLUMN[lms]
    if id_column not in header:
        raise RosterError(f"the roster {printable(path)} has no column {printable(id_column)!r} for the student id "
                          f"(its columns: {printable(', '.join(header[:12]))}): name the column that holds it with "
                          "ID_COLUMN= (a Canvas export made without SIS permission has no SIS columns: ID_COLUMN=ID)")
    roster = Roster(lms=lms, id_column=id_column, header=header, source=str(path))
    candidates = []
    for number, row in enumerate(rows[1:], start=2):
        cells = dict(zip(header, (cell.strip() for cell in row)))
        if lms == "canvas" and cells.get("Student", "").lower().startswith("points possible"):
            roster.points_possible = cells
        entry, problem = _entry(lms, cells, id_column, number)
        if problem:
            roster.problems.append(f"roster line {number}: {problem}")
        if entry:
            candidates.append(entry)
    _keep_unique(roster, candidates)
    return roster


def _entry(lms, cells, id_column, number):
    """(RosterEntry or None, problem sentence or None) for one row."""
    get = lambda column: cells.get(column, "")
    if lms == "canvas":
        student = get("Student")
        if student.lower().startswith(("points possible", "manual posting", "muted")) or not get("ID"):
            return None, None  # Canvas's rows that are not students
        if student == "Student, Test":
            return None, None  # Canvas's Test Student (Student View)
        last, _, first = student.partition(",")
        name = f"{first.strip()} {last.strip()}".strip() if first else student
        lms_id = get("ID")
        sortable = student
        extra = {"sis_id": get("SIS User ID"), "section": get("Section"), "email": ""}
    elif lms == "moodle":
        lms_id = ""
        if get("Identifier"):
            match = MOODLE_PARTICIPANT.fullmatch(get("Identifier")) or re.fullmatch(r"(\d+)", get("Identifier"))
            if not match:
                return None, f"Identifier {printable(get('Identifier'))!r} is not 'Participant <number>': row left out"
            lms_id = match.group(1)
        name = get("Full name") or f"{get('First name')} {get('Last name')}".strip()
        sortable = f"{get('Last name')}, {get('First name')}" if get("Last name") else ""
        extra = {"sis_id": get("ID number"), "section": get("Groups"), "email": get("Email address")}
    else:
        lms_id = get("Username")
        name = f"{get('First Name')} {get('Last Name')}".strip()
        sortable = f"{get('Last Name')}, {get('First Name')}"
        extra = {"sis_id": get("Student ID"), "section": "", "email": get("Email") or get("Email Address")}
    raw_id = get(id_column)
    if id_column == "Email address" and lms == "moodle":
        raw_id = raw_id.partition("@")[0] if "@" in raw_id else ""
    who = printable(name or lms_id or "?")
    if not raw_id:
        return None, f"{who} has no {id_column}: left out (choose another column with ID_COLUMN=)"
    if not STUDENT_ID.fullmatch(raw_id):
        return None, (f"{who}'s {id_column} {printable(raw_id)!r} cannot be a student id (letters, digits, . _ + - @; "
                      "at most 100; not starting with . or -): left out")
    return RosterEntry(student_id=raw_id, name=name, lms_user_id=lms_id, lms=lms, row=number, sortable_name=sortable,
                       columns=tuple(cells.items()), **extra), None


def _keep_unique(roster, candidates):
    """Entries whose student id and LMS id are each claimed by one row only; the others said in problems."""
    for key, what in (("student_id", "student id"), ("lms_user_id", "LMS id")):
        counts = {}
        for entry in candidates:
            value = getattr(entry, key)
            if value:
                counts.setdefault(value, []).append(entry.row)
        for value, lines in counts.items():
            if len(lines) > 1:
                roster.problems.append(f"the {what} {printable(value)!r} is on lines {', '.join(map(str, lines))}: "
                                       "all of them left out (which one is meant?)")
        candidates = [entry for entry in candidates if not getattr(entry, key) or len(counts[getattr(entry, key)]) == 1]
    roster.entries = candidates

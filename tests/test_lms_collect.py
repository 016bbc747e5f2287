"""make collect: rosters and submission downloads as Canvas, Moodle and Blackboard make them.

The fixture zips and rosters are built here, following each LMS's documented naming:
- Canvas "Download Submissions":
  https://community.canvaslms.com/t5/Instructor-Guide/How-do-I-download-all-student-submissions-for-an-assignment/ta-p/907
  (files ``<sortablename>_[late_]<userid>_<fileid>_<filename>``; Canvas renames a re-uploaded file ``name-1.ext``);
  gradebook export: https://community.canvaslms.com/t5/Instructor-Guide/How-do-I-export-grades-in-the-Gradebook/ta-p/809
- Moodle "Download all submissions": https://docs.moodle.org/en/Assignment_settings
  (``Full Name_<participant>_assignsubmission_file_/<file>`` in folders, ``..._assignsubmission_file_<file>`` flat);
  grading worksheet ("Participant 1234"): https://docs.moodle.org/en/Assignment_settings#Offline_grading_worksheet
- Blackboard "Assignment File Download":
  https://help.blackboard.com/Learn/Instructor/Original/Assignments/Download_Assignments
  (``<Assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_<file>`` and the receipt ``..._attempt_<date>.txt``);
  Grade Center download (tab-separated UTF-16 .xls):
  https://help.blackboard.com/Learn/Instructor/Original/Grade/Grading_Tasks/Work_Offline_With_Grade_Data
"""

import csv
import hashlib
import json
import os
import stat
import struct
import warnings
import zipfile
from datetime import datetime
from pathlib import Path

import nbformat
import pytest

from grading import collect as collect_command
from grading import inbox, intake, lms_import
from grading.lms_import import CollectError, collect
from grading.roster import DEFAULT_ID_COLUMN, RosterError, read_roster
from grading.settings import GradingSettings
from grading.timestamps import parse as parse_timestamp


def _notebook(marker):
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(f"answer = {marker!r}"))
    return nbformat.writes(nb).encode()


def _zip(path, entries):
    """entries: {name: bytes} or (name, bytes, ZipInfo changes) tuples."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are written on purpose
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for item in entries:
                name, data, changes = item if len(item) == 3 else (*item, {})
                info = zipfile.ZipInfo(name, date_time=(2026, 12, 11, 12, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                for key, value in changes.items():
                    setattr(info, key, value)
                archive.writestr(info, data)
    return path


def _write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


CANVAS_ROSTER = (
    "\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,Perceptrons (5501)\n"
    "    Points Possible,,,,,100\n"
    '"Smith, Alice",1001,S-1,alice,Section A,\n'
    '"Jones, Bob",1002,S-2,bob,Section A,\n'
    '"Lee, Carol",1003,S-3,carol,Section B,\n'
    '"Student, Test",1999,,,Section A,\n'
)
MOODLE_WORKSHEET = (
    "Identifier,Full name,Email address,Status,Grade,Maximum Grade,Grade can be changed,"
    "Last modified (submission),Last modified (grade),Feedback comments\n"
    "Participant 2001,Alice Smith,alice@uni.example,Submitted for grading,,100.00,Yes,\"Friday, 11 December 2026, 4:00 PM\",-,\n"
    "Participant 2002,Bob Jones,bob@uni.example,Submitted for grading,,100.00,Yes,-,-,\n"
)
MOODLE_PARTICIPANTS = (
    "First name,Last name,Email address,Roles,Groups,Last access to course\n"
    "Alice,Smith,alice@uni.example,Student,,now\n"
    "Bob,Jones,bob@uni.example,Student,,now\n"
)
BLACKBOARD_GRADES = (
    '"Last Name"\t"First Name"\t"Username"\t"Student ID"\t"Last Access"\t"Availability"\t"Perceptrons [Total Pts: 100 Score] |7001"\n'
    '"Smith"\t"Alice"\t"asmith"\t"S-1"\t"2026-12-11"\t"Available"\t""\n'
    '"Jones"\t"Bob"\t"bob_j"\t"S-2"\t"2026-12-11"\t"Available"\t""\n'
)


@pytest.fixture
def course(tmp_path):
    (tmp_path / "submitted").mkdir()
    return tmp_path


def _run(course, zip_path, roster_path, **options):
    roster = read_roster(roster_path, lms=options.pop("roster_lms", None))
    return collect(zip_path, roster, course / "submitted", course / ".grading", **options)


def _lines(report, action):
    return {line.student_id: line for line in report.lines if line.action == action}


def _graded(course, student):
    return (course / "submitted" / student / "perceptrons" / "perceptrons.ipynb").read_bytes()


def _timestamp(course, student):
    path = course / "submitted" / student / "perceptrons" / "timestamp.txt"
    return path.read_text() if path.exists() else None


def _aside(when, data, name="perceptrons.ipynb"):
    """The name make collect gives a notebook it keeps aside (grading.lms_import.Collector.keep_aside)."""
    return f"{when}_{hashlib.sha256(data).hexdigest()[:12]}_{name}"


def _tree(root):
    return sorted((str(p.relative_to(root)), p.read_bytes() if p.is_file() else None) for p in root.rglob("*"))


# --- rosters ----------------------------------------------------------------------------------


def test_a_canvas_gradebook_export_maps_sis_login_ids(tmp_path):
    roster = read_roster(_write(tmp_path / "grades.csv", CANVAS_ROSTER))
    assert roster.lms == "canvas" and roster.id_column == "SIS Login ID"
    assert [(e.student_id, e.lms_user_id, e.name, e.sis_id, e.section) for e in roster.entries] == [
        ("alice", "1001", "Alice Smith", "S-1", "Section A"),
        ("bob", "1002", "Bob Jones", "S-2", "Section A"),
        ("carol", "1003", "Carol Lee", "S-3", "Section B"),
    ]  # the Points Possible row and the Test Student are not students
    assert roster.problems == []
    assert dict(roster.entries[0].columns)["Perceptrons (5501)"] == ""  # kept for an export back
    assert read_roster(tmp_path / "grades.csv", id_column="SIS User ID").by_lms_user_id("1002").student_id == "S-2"


def test_moodle_worksheet_and_participants_exports(tmp_path):
    worksheet = read_roster(_write(tmp_path / "worksheet.csv", MOODLE_WORKSHEET))
    assert worksheet.lms == "moodle"
    assert [(e.student_id, e.lms_user_id, e.name, e.email) for e in worksheet.entries] == [
        ("alice", "2001", "Alice Smith", "alice@uni.example"), ("bob", "2002", "Bob Jones", "bob@uni.example")]
    participants = read_roster(_write(tmp_path / "participants.csv", MOODLE_PARTICIPANTS.replace(",", ";")))
    assert [(e.student_id, e.lms_user_id, e.name) for e in participants.entries] == [("alice", "", "Alice Smith"), ("bob", "", "Bob Jones")]


def test_a_blackboard_download_in_utf16_with_tabs(tmp_path):
    roster = read_roster(_write(tmp_path / "gc.xls", BLACKBOARD_GRADES, "utf-16"))
    assert roster.lms == "blackboard"
    assert [(e.student_id, e.lms_user_id, e.sortable_name, e.sis_id) for e in roster.entries] == [
        ("asmith", "asmith", "Smith, Alice", "S-1"), ("bob_j", "bob_j", "Jones, Bob", "S-2")]


def test_a_roster_in_windows_1252_keeps_its_names(tmp_path):
    text = CANVAS_ROSTER.replace("\ufeff", "").replace("Lee, Carol", "Lée, Carol")
    roster = read_roster(_write(tmp_path / "grades.csv", text, "cp1252"))
    assert roster.by_student_id("carol").name == "Carol Lée"


def test_duplicate_and_unusable_ids_leave_out_their_rows_with_a_reason(tmp_path):
    text = CANVAS_ROSTER + ('"Smith, Alicia",1004,S-4,alice,Section B,\n"Evil, Eve",1005,S-5,../eve,A,\n"Nobody, Ned",1006,S-6,,A,\n'
                            '"Mail, Mo",1007,S-7,mo@uni.example,A,\n"Mark, Up",1008,S-8,<b>up,A,\n')
    roster = read_roster(_write(tmp_path / "grades.csv", text))
    assert [e.student_id for e in roster.entries] == ["bob", "carol", "mo@uni.example"]
    problems = " | ".join(roster.problems)
    assert "'alice' is on lines 3, 7" in problems
    assert "'../eve' cannot be a student id" in problems
    assert "Ned Nobody has no SIS Login ID" in problems
    assert "'<b>up' cannot be a student id" in problems


@pytest.mark.parametrize("text, words", [
    ("Name,Mark\nAlice,3\n", "none of the columns"),
    ("", "is empty"),
    ("Student,SIS Login ID\n\"Smith, Alice\",alice\n", "no column 'ID'"),
    ("Student,ID,Section\n\"Smith, Alice\",1001,A\n", "no column 'SIS Login ID' for the student id .*ID_COLUMN=ID"),
], ids=["unknown_columns", "empty", "canvas_without_id", "canvas_without_sis"])
def test_a_file_that_is_not_a_roster_is_one_sentence(tmp_path, text, words):
    with pytest.raises(RosterError, match=words) as error:
        read_roster(_write(tmp_path / "r.csv", text))
    assert "\n" not in str(error.value)


def test_a_binary_file_or_a_missing_one_is_not_a_roster(tmp_path):
    (tmp_path / "r.xlsx").write_bytes(b"PK\x03\x04\0\0\0binary")
    with pytest.raises(RosterError, match="not text"):
        read_roster(tmp_path / "r.xlsx")
    with pytest.raises(RosterError, match="cannot be read"):
        read_roster(tmp_path / "missing.csv")


# --- Canvas -----------------------------------------------------------------------------------


def test_canvas_download_late_flags_renamed_files_and_strangers(course):
    old, new, bob = _notebook("alice old"), _notebook("alice new"), _notebook("bob")
    zip_path = _zip(course / "submissions.zip", [
        ("smithalice_1001_70001_perceptrons.ipynb", old),
        ("smithalice_1001_70020_perceptrons-1.ipynb", new),  # uploaded again: Canvas renamed it
        ("smithalice_1001_70021_notes.pdf", b"%PDF"),
        ("jonesbob_late_1002_70010_perceptrons (2).ipynb", bob),  # renamed by the browser, and late
        ("strangersam_1777_70030_perceptrons.ipynb", _notebook("sam")),
    ])
    report = _run(course, zip_path, _write(course / "grades.csv", CANVAS_ROSTER))
    assert report.lms == "canvas"
    assert _graded(course, "alice") == new and _graded(course, "bob") == bob
    assert _timestamp(course, "alice") is None and _timestamp(course, "bob") is None  # Canvas's names hold no time
    taken = _lines(report, "taken")
    assert set(taken) == {"alice", "bob"}
    assert "the LMS named it perceptrons-1.ipynb" in taken["alice"].reason
    assert "Canvas marked it late" in taken["bob"].reason
    kept = [line for line in report.lines if line.action == "kept"]
    assert [line.student_id for line in kept] == ["alice"]
    assert (course / ".grading" / "collected" / "alice" / _aside("70001", old)).read_bytes() == old
    skipped = {line.entry: line.reason for line in report.lines if line.action == "skipped"}
    assert skipped["smithalice_1001_70021_notes.pdf"] == "not a notebook (.ipynb)"
    assert "Canvas user 1777 (strangersam) is not in the roster" in skipped["strangersam_1777_70030_perceptrons.ipynb"]
    assert _lines(report, "missing")["carol"].reason == "no notebook of this student in the download"
    assert not (course / "submitted" / "carol").exists()
    with open(course / ".grading" / "collect_report.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {(row["student_id"], row["action"]) for row in rows} >= {("alice", "taken"), ("bob", "taken"), ("carol", "missing")}


def test_a_download_unpacked_and_zipped_again_in_a_folder_is_read(course):
    zip_path = _zip(course / "again.zip", [("submissions/", b""), ("submissions/jonesbob_1002_70010_perceptrons.ipynb", _notebook("b")),
                                           ("__MACOSX/submissions/._jonesbob_1002_70010_perceptrons.ipynb", b"\0\5\26\7")])
    report = _run(course, zip_path, _write(course / "grades.csv", CANVAS_ROSTER))
    assert report.lms == "canvas" and set(_lines(report, "taken")) == {"bob"}
    assert "does not follow Canvas's naming" in _lines(report, "skipped")[""].reason  # macOS's resource fork


def test_a_collected_canvas_notebook_is_a_normal_submission(course, monkeypatch):
    zip_path = _zip(course / "submissions.zip", [("leecarol_1003_70002_perceptrons.ipynb", _notebook("carol"))])
    _run(course, zip_path, _write(course / "grades.csv", CANVAS_ROSTER))
    submission = inbox.read_submission(course / "submitted", "carol")
    assert submission.notebooks() == ["perceptrons/perceptrons.ipynb"] and not submission.refused


# --- Moodle -----------------------------------------------------------------------------------


@pytest.mark.parametrize("separator", ["/", ""], ids=["folders", "flat"])
def test_moodle_download_in_folders_or_flat(course, separator):
    alice, bob = _notebook("alice"), _notebook("bob")
    zip_path = _zip(course / "moodle.zip", [
        (f"Alice Smith_2001_assignsubmission_file_{separator}perceptrons.ipynb", alice),
        (f"Bob Jones_2002_assignsubmission_file_{separator}perceptrons (1).ipynb", bob),
        ("Bob Jones_2002_assignsubmission_onlinetext_/onlinetext.html", b"<p>hi</p>"),
        (f"Carl Unknown_2099_assignsubmission_file_{separator}perceptrons.ipynb", _notebook("carl")),
    ])
    report = _run(course, zip_path, _write(course / "worksheet.csv", MOODLE_WORKSHEET))
    assert report.lms == "moodle"
    assert _graded(course, "alice") == alice and _graded(course, "bob") == bob
    assert _timestamp(course, "alice") is None
    reasons = {line.entry: line.reason for line in report.lines if line.action == "skipped"}
    assert reasons["Bob Jones_2002_assignsubmission_onlinetext_/onlinetext.html"] == "a Moodle onlinetext submission, not a file"
    assert "Moodle participant 2099 (Carl Unknown) is not in the roster" in reasons[
        f"Carl Unknown_2099_assignsubmission_file_{separator}perceptrons.ipynb"]


def test_the_same_file_twice_in_moodle_is_taken_once_and_two_different_ones_are_refused(course):
    same, one, other = _notebook("alice"), _notebook("bob 1"), _notebook("bob 2")
    zip_path = _zip(course / "moodle.zip", [
        ("Alice Smith_2001_assignsubmission_file_/perceptrons.ipynb", same),
        ("Alice Smith_2001_assignsubmission_file_perceptrons.ipynb", same),
        ("Bob Jones_2002_assignsubmission_file_/perceptrons.ipynb", one),
        ("Bob Jones_2002_assignsubmission_file_perceptrons.ipynb", other),  # the flat name of the same file: both kept
    ])
    report = _run(course, zip_path, _write(course / "worksheet.csv", MOODLE_WORKSHEET))
    assert _graded(course, "alice") == same
    assert not (course / "submitted" / "bob").exists()
    bob = [line for line in report.lines if line.student_id == "bob"]
    assert [line.action for line in bob] == ["refused", "refused", "missing"]
    assert "2 different notebooks could each be the submission, so none is taken" in bob[1].reason
    kept = sorted(p.read_bytes() for p in (course / ".grading" / "collected" / "bob").iterdir())
    assert kept == sorted([one, other])


def test_moodle_with_a_participants_export_matches_full_names(course):
    zip_path = _zip(course / "moodle.zip", [("Alice Smith_2001_assignsubmission_file_/perceptrons.ipynb", _notebook("a"))])
    report = _run(course, zip_path, _write(course / "participants.csv", MOODLE_PARTICIPANTS))
    assert set(_lines(report, "taken")) == {"alice"} and set(_lines(report, "missing")) == {"bob"}


# --- Blackboard -------------------------------------------------------------------------------

def _receipt(username, date):
    return (f"Name: Someone ({username})\nAssignment: Perceptrons\nDate Submitted: {date}\nCurrent Grade: Needs Grading\n"
            "\nFiles:\n\tOriginal filename: perceptrons.ipynb\n").encode()


def test_blackboard_attempts_the_latest_counts_with_its_time(course):
    first, second = _notebook("first"), _notebook("second")
    zip_path = _zip(course / "gradebook.zip", [
        ("Perceptrons_asmith_attempt_2026-12-10-09-00-00_perceptrons.ipynb", first),
        ("Perceptrons_asmith_attempt_2026-12-10-09-00-00.txt", _receipt("asmith", "Thursday, 10 December 2026 09:00:00")),
        ("Perceptrons_asmith_attempt_2026-12-11-18-30-05_perceptrons.ipynb", second),
        ("Perceptrons_asmith_attempt_2026-12-11-18-30-05.txt", _receipt("asmith", "Friday, 11 December 2026 18:30:05")),
        ("Perceptrons_bob_j_attempt_2026-12-11-16-00-00_Perceptrons.ipynb", _notebook("bob")),  # a username with _
    ])
    report = _run(course, zip_path, _write(course / "gc.xls", BLACKBOARD_GRADES, "utf-16"), zone="Europe/Berlin")
    assert report.lms == "blackboard"
    assert _graded(course, "asmith") == second
    # Berlin is UTC+1 in December: the attempt dates are the server's local time.
    assert parse_timestamp(_timestamp(course, "asmith").encode()).when == datetime(2026, 12, 11, 17, 30, 5)
    assert _timestamp(course, "bob_j").strip() == "2026-12-11 15:00:00 UTC"
    kept = [line for line in report.lines if line.action == "kept"]
    assert len(kept) == 1 and "an earlier attempt" in kept[0].reason
    assert (course / ".grading" / "collected" / "asmith" / _aside("2026-12-10T08-00-00", first)).read_bytes() == first
    receipts = [line for line in report.lines if line.entry.endswith(".txt")]
    assert len(receipts) == 2 and all(line.action == "skipped" for line in receipts)


def test_a_collected_blackboard_attempt_is_graded_with_its_time(course, monkeypatch):
    zip_path = _zip(course / "gradebook.zip", [("Perceptrons_asmith_attempt_2026-12-11-17-00-01_perceptrons.ipynb", _notebook("a"))])
    _run(course, zip_path, _write(course / "gc.xls", BLACKBOARD_GRADES, "utf-16"))
    monkeypatch.setattr(intake, "STAGED", course / ".grading" / "submitted")
    taken = intake.take_in(course / "submitted" / "asmith")
    assert taken.problem is None and taken.staged.is_file()
    assert taken.submitted_at == datetime(2026, 12, 11, 17, 0, 1)
    assert inbox.read_submission(course / "submitted", "asmith").files["perceptrons/timestamp.txt"]


# --- which LMS ----------------------------------------------------------------------------------


def test_a_roster_that_matches_no_one_is_said_in_one_sentence(course):
    zip_path = _zip(course / "s.zip", [("smithalice_9001_1_perceptrons.ipynb", _notebook("a")),
                                       ("jonesbob_9002_2_perceptrons.ipynb", _notebook("b"))])
    report = _run(course, zip_path, _write(course / "grades.csv", CANVAS_ROSTER))
    assert report.warning.startswith("none of the 2 file(s) of the download belongs to a student of the roster (3 student(s))")
    assert not any((course / "submitted").iterdir())


def test_the_lms_is_recognised_or_forced_or_one_sentence(course):
    roster = _write(course / "grades.csv", CANVAS_ROSTER)
    odd = _zip(course / "odd.zip", [("alice/perceptrons.ipynb", _notebook("a"))])
    with pytest.raises(CollectError, match="say which LMS it came from with LMS=") as error:
        _run(course, odd, roster)
    assert "\n" not in str(error.value)
    canvas = _zip(course / "canvas.zip", [("smithalice_1001_7_perceptrons.ipynb", _notebook("a"))])
    with pytest.raises(CollectError, match="the roster is a Moodle export but the download is Canvas's"):
        _run(course, canvas, _write(course / "w.csv", MOODLE_WORKSHEET))
    forced = _run(course, odd, roster, lms="canvas")  # forced: every name is then judged by Canvas's naming
    assert all(line.action in ("skipped", "missing") for line in forced.lines)
    assert not any((course / "submitted").iterdir())


def test_a_file_that_is_not_a_zip_changes_nothing(course):
    (course / "submitted" / "alice" / "perceptrons").mkdir(parents=True)
    (course / "submitted" / "alice" / "perceptrons" / "perceptrons.ipynb").write_bytes(b"{}")
    before = _tree(course / "submitted")
    (course / "download.zip").write_text("<html>Session expired</html>")
    with pytest.raises(CollectError, match="is not a zip file") as error:
        _run(course, course / "download.zip", _write(course / "grades.csv", CANVAS_ROSTER))
    assert "\n" not in str(error.value)
    assert _tree(course / "submitted") == before and not (course / ".grading").exists()


# --- hostile entries ----------------------------------------------------------------------------

# Where a field lies in a zip's local file header and central directory header (PKWARE APPNOTE.TXT 4.3.7, 4.3.12:
# https://pkware.cachefly.net/webdocs/casestudies/APPNOTE.TXT): (format, offset in the local header, in the central one).
HEADER_FIELDS = {"flags": ("<H", 6, 8), "file_size": ("<I", 22, 24)}


def _patch(path, name, field, value):
    """Sets ``field`` of the entry ``name`` to ``value`` in both of its headers: what a hand-made zip can say."""
    data = bytearray(path.read_bytes())
    encoded = name.encode()
    fmt, local, central = HEADER_FIELDS[field]
    for signature, offset, name_at in ((b"PK\x03\x04", local, 30), (b"PK\x01\x02", central, 46)):
        start = data.find(signature)
        while start != -1:
            if data[start + name_at:start + name_at + len(encoded)] == encoded:
                struct.pack_into(fmt, data, start + offset, value)
            start = data.find(signature, start + 4)
    path.write_bytes(bytes(data))


def test_hostile_entries_are_refused_one_by_one(course):
    good = _notebook("bob")
    link = {"create_system": 3, "external_attr": (stat.S_IFLNK | 0o777) << 16}
    entries = [
        ("../smithalice_1001_1_perceptrons.ipynb", _notebook("climb")),
        ("/etc/smithalice_1001_2_perceptrons.ipynb", _notebook("absolute")),
        ("smithalice_1001_3_perceptrons.ipynb", b"/etc/passwd", link),
        ("smithalice_1001_4_perceptrons\x1b[2J.ipynb", _notebook("escape")),
        ("smithalice_1001_5_perceptrons.ipynb", b"\0" * 300_000),  # declares more than a notebook may be
        ("leecarol_1003_6_perceptrons.ipynb", _notebook("carol") + b" " * 2000),  # will declare less than it holds
        ("smithalice_1001_7_..\\..\\evil.ipynb", _notebook("backslash")),
        ("jonesbob_1002_8_perceptrons.ipynb", good),
        ("jonesbob_1002_8_perceptrons.ipynb", _notebook("again")),
    ]
    zip_path = _zip(course / "hostile.zip", entries)
    _patch(zip_path, "leecarol_1003_6_perceptrons.ipynb", "file_size", 100)
    report = _run(course, zip_path, _write(course / "grades.csv", CANVAS_ROSTER),
                  limits=GradingSettings(notebook_limit=200_000))
    refused = [(line.entry, line.reason) for line in report.lines if line.action == "refused"]
    reasons = dict(refused)
    assert reasons["../smithalice_1001_1_perceptrons.ipynb"] == "a path that climbs out (..)"
    assert reasons["/etc/smithalice_1001_2_perceptrons.ipynb"] == "an absolute path"
    assert reasons["smithalice_1001_3_perceptrons.ipynb"] == "a symbolic link"
    assert reasons["smithalice_1001_4_perceptrons\\x1b[2J.ipynb"] == "a name with control characters"
    assert "over the limit of 200000 bytes" in reasons["smithalice_1001_5_perceptrons.ipynb"]
    # zipfile stops at the declared size, and the CRC then tells the rest was left unread
    assert reasons["leecarol_1003_6_perceptrons.ipynb"].startswith("damaged or unreadable (Bad CRC-32")
    assert "backslash" in reasons["smithalice_1001_7_..\\..\\evil.ipynb"]
    assert [reason for entry, reason in refused if entry == "jonesbob_1002_8_perceptrons.ipynb"] == ["the zip holds this name twice"]
    assert len(refused) == 8
    assert _graded(course, "bob") == good  # the first copy, and nothing else, from bob
    assert sorted(os.listdir(course / "submitted")) == ["bob"]
    assert not (course / "etc").exists() and not (course.parent / "smithalice_1001_1_perceptrons.ipynb").exists()


def test_a_bomb_stops_at_the_limit(course):
    zip_path = _zip(course / "bomb.zip", [("smithalice_1001_1_perceptrons.ipynb", b"0" * 3_000_000)])
    assert zip_path.stat().st_size < 20_000
    report = _run(course, zip_path, _write(course / "grades.csv", CANVAS_ROSTER), limits=GradingSettings(notebook_limit=1_000_000))
    assert [line.action for line in report.lines if line.student_id == "alice"] == ["refused", "missing"]


def test_a_refused_latest_attempt_leaves_the_one_before_graded_and_said(course):
    earlier = _notebook("earlier")
    zip_path = _zip(course / "gradebook.zip", [
        ("Perceptrons_asmith_attempt_2026-12-10-09-00-00_perceptrons.ipynb", earlier),
        ("Perceptrons_asmith_attempt_2026-12-11-09-00-00_perceptrons.ipynb", b"0" * 3_000_000),
        ("Perceptrons_bob_j_attempt_2026-12-11-09-00-00_perceptrons.ipynb", b"secret"),
    ])
    _patch(zip_path, "Perceptrons_bob_j_attempt_2026-12-11-09-00-00_perceptrons.ipynb", "flags", 0x1)  # encrypted
    report = _run(course, zip_path, _write(course / "gc.xls", BLACKBOARD_GRADES, "utf-16"),
                  limits=GradingSettings(notebook_limit=1_000_000))
    assert _graded(course, "asmith") == earlier and _timestamp(course, "asmith").startswith("2026-12-10 09:00:00")
    assert "1 notebook(s) of this student that would come first were refused" in _lines(report, "taken")["asmith"].reason
    assert _lines(report, "refused")["bob_j"].reason == "encrypted"
    assert _lines(report, "missing")["bob_j"].reason.startswith("none of this student's notebooks could be taken")


def test_a_notebook_that_is_not_json_is_collected_with_a_note(course):
    zip_path = _zip(course / "s.zip", [("smithalice_1001_1_perceptrons.ipynb", b'{"cells": [')])
    report = _run(course, zip_path, _write(course / "grades.csv", CANVAS_ROSTER))
    assert _graded(course, "alice") == b'{"cells": ['
    assert "not valid JSON: collected anyway" in _lines(report, "taken")["alice"].reason


def test_nothing_is_written_through_a_link_in_submitted(course, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    (course / "submitted" / "alice").symlink_to(outside, target_is_directory=True)
    (course / "submitted" / "bob" / "perceptrons").mkdir(parents=True)
    (course / "submitted" / "bob" / "perceptrons" / "perceptrons.ipynb").symlink_to(outside / "target")
    zip_path = _zip(course / "s.zip", [("smithalice_1001_1_perceptrons.ipynb", _notebook("a")),
                                       ("jonesbob_1002_2_perceptrons.ipynb", _notebook("b"))])
    report = _run(course, zip_path, _write(course / "grades.csv", CANVAS_ROSTER))
    refused = {line.student_id: line.reason for line in report.lines if line.action == "refused"}
    assert "submitted/alice is a symbolic link: nothing written there" in refused["alice"]
    assert "holds a symbolic link: nothing replaced there" in refused["bob"]
    assert list(outside.iterdir()) == []


# --- importing again ----------------------------------------------------------------------------


def test_importing_again_never_loses_a_submission(course):
    roster = _write(course / "gc.xls", BLACKBOARD_GRADES, "utf-16")
    late, early, latest = _notebook("late"), _notebook("early"), _notebook("latest")
    name = "Perceptrons_asmith_attempt_{}_perceptrons.ipynb"
    first = _zip(course / "1.zip", [(name.format("2026-12-11-12-00-00"), late)])
    _run(course, first, roster, stamp="one")
    # An older download: the newer submission in submitted/ stays, the older one is kept aside.
    older = _zip(course / "0.zip", [(name.format("2026-12-09-12-00-00"), early)])
    report = _run(course, older, roster, stamp="two")
    assert _graded(course, "asmith") == late and _timestamp(course, "asmith").startswith("2026-12-11 12:00:00")
    assert "older (2026-12-09 12:00:00 UTC)" in _lines(report, "kept aside")["asmith"].reason
    assert (course / ".grading" / "collected" / "asmith" / _aside("2026-12-09T12-00-00", early)).read_bytes() == early
    # The same download again changes nothing.
    assert set(_lines(_run(course, first, roster, stamp="three"), "unchanged")) == {"asmith"}
    assert not (course / ".grading" / "collect_backup").exists()
    # A newer one replaces it, and the replaced one is backed up with its time.
    newer = _zip(course / "2.zip", [(name.format("2026-12-12-08-00-00"), latest)])
    report = _run(course, newer, roster, stamp="four")
    assert _graded(course, "asmith") == latest and _timestamp(course, "asmith").startswith("2026-12-12 08:00:00")
    backup = course / ".grading" / "collect_backup" / "four" / "asmith" / "perceptrons"
    assert (backup / "perceptrons.ipynb").read_bytes() == late
    assert (backup / "timestamp.txt").read_text().startswith("2026-12-11 12:00:00")
    assert "collect_backup/four/asmith/" in _lines(report, "taken")["asmith"].reason


def test_a_download_without_times_replaces_a_timed_one_only_with_a_backup(course):
    folder = course / "submitted" / "alice" / "perceptrons"
    folder.mkdir(parents=True)
    (folder / "perceptrons.ipynb").write_bytes(b"hand-made")
    (folder / "timestamp.txt").write_text("2026-12-11 10:00:00 UTC\n")
    canvas = _notebook("canvas")
    zip_path = _zip(course / "s.zip", [("smithalice_1001_1_perceptrons.ipynb", canvas)])
    _run(course, zip_path, _write(course / "grades.csv", CANVAS_ROSTER), stamp="x")
    assert _graded(course, "alice") == canvas and _timestamp(course, "alice") is None  # no stale time left
    backup = course / ".grading" / "collect_backup" / "x" / "alice" / "perceptrons"
    assert (backup / "perceptrons.ipynb").read_bytes() == b"hand-made"
    assert (backup / "timestamp.txt").read_text() == "2026-12-11 10:00:00 UTC\n"
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]
    # A time the TA writes by hand stays when the same download is collected again.
    (folder / "timestamp.txt").write_text("2026-12-12 10:00:00 UTC\n")
    report = _run(course, zip_path, _write(course / "grades.csv", CANVAS_ROSTER), stamp="y")
    assert set(_lines(report, "unchanged")) == {"alice"} and _timestamp(course, "alice") == "2026-12-12 10:00:00 UTC\n"


def test_the_readme_names_the_layouts_and_the_id_columns():
    readme = " ".join((Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8").split())
    section = readme[readme.index("**From an LMS download:**"):readme.index("**Plain nbgrader works too**")]
    for lms in ("canvas", "blackboard"):
        assert lms_import.NAMING[lms] in section
    for lms, column in DEFAULT_ID_COLUMN.items():
        assert f"`{column}`" in section, lms
    assert f"({GradingSettings().notebook_limit // 2**20} MiB;" in section
    assert ".grading/collect_report.csv" in section and "make collect FROM=" in section


# --- the command line ---------------------------------------------------------------------------


def test_the_command_prints_the_report_and_errors_in_one_sentence(course, monkeypatch, capsys):
    monkeypatch.setattr(collect_command, "SUBMITTED", course / "submitted")
    monkeypatch.setattr(collect_command, "STATE", course / ".grading")
    monkeypatch.setattr(collect_command, "ROOT", course)
    roster = _write(course / "grades.csv", CANVAS_ROSTER)
    assert collect_command.main([]) == 2
    assert "make collect FROM=" in capsys.readouterr().err
    (course / "x.zip").write_bytes(b"not a zip")
    assert collect_command.main(["--from", str(course / "x.zip"), "--roster", str(roster)]) == 1
    assert capsys.readouterr().err.count("\n") == 1
    zip_path = _zip(course / "s.zip", [("=cmd|calc_1001_1_perceptrons.ipynb", _notebook("a"))])
    assert collect_command.main(["--from", str(zip_path), "--roster", str(roster), "--lms", "Canvas"]) == 0
    out = capsys.readouterr().out
    assert "1 submission(s) collected into submitted/ from a Canvas download" in out
    assert "report: .grading/collect_report.csv" in out
    report_text = (course / ".grading" / "collect_report.csv").read_text()
    assert "'=cmd|calc_1001_1_perceptrons.ipynb" in report_text  # a spreadsheet never reads it as a formula
    assert "".join(json.loads(_graded(course, "alice"))["cells"][0]["source"]) == "answer = 'a'"

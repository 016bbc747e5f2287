"""make export's feedback zip: exports/<lms>_feedback.zip, named for the LMS's bulk feedback upload.

The names are checked by reading them back the way each LMS's upload reads them:
- Moodle, "Upload multiple feedback files in a zip" (https://docs.moodle.org/en/Assignment_settings#Feedback_types;
  its importer, moodle/moodle mod/assign/feedback/file/importziplib.php is_valid_filename_for_import):
  the name split at "_" into at most 5 parts: full name, participant id, plugin type, plugin name, file name;
  names starting with "." or "~" are skipped.
- Canvas, "Re-Upload Submissions" of a "Download Submissions" zip
  (https://community.canvaslms.com/t5/Instructor-Guide/How-do-I-download-all-student-submissions-for-an-assignment/ta-p/907;
  instructure/canvas-lms app/models/assignment.rb infer_comment_context_from_filename): the base name split
  at "_", the first two all-digit parts are the user id and the id of a file of that user's submission.
"""

import os
import zipfile

import pytest

from grading import lms_export, lms_feedback
from grading.lms_feedback import write_feedback_zip
from grading.roster import read_roster
from tests.test_lms_export import CANVAS_ROSTER, GRADES, MOODLE_WORKSHEET


def _page(student_id):
    return f"<html><body>feedback of {student_id}</body></html>".encode()


def _course(tmp_path, roster_text, students):
    """A roster file and feedback/<student>/perceptrons/perceptrons.html for each of ``students``."""
    (tmp_path / "roster.csv").write_text(roster_text, encoding="utf-8")
    for student_id in students:
        folder = tmp_path / "feedback" / student_id / "perceptrons"
        folder.mkdir(parents=True)
        (folder / "perceptrons.html").write_bytes(_page(student_id))
    return read_roster(tmp_path / "roster.csv"), tmp_path / "feedback"


def _collect_report(tmp_path, lines):
    path = tmp_path / "collect_report.csv"
    path.write_text("entry,student_id,action,reason\n" + "".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def _moodle_reads(name):
    """(participant id, plugin, file name) as Moodle's importer takes them from an entry name, or None (skipped)."""
    if name.startswith((".", "~")):
        return None
    parts = name.split("_", 4)
    if len(parts) < 4 or not parts[1].isdigit():
        return None
    return parts[1], f"{parts[2]}_{parts[3]}", parts[4] if len(parts) == 5 else ""


def _canvas_reads(name):
    """(user id, file id) as Canvas's re-upload takes them from an entry's base name, or None (ignored)."""
    ids = [part for part in name.rsplit("/", 1)[-1].split("_") if part.isdigit()][:2]
    return tuple(ids) if len(ids) == 2 else None


def _entries(path):
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def test_moodle_zip_one_page_per_student_named_by_participant(tmp_path):
    roster, feedback = _course(tmp_path, MOODLE_WORKSHEET, ["alice", "bob", "dave"])
    result = write_feedback_zip(roster, feedback, tmp_path / "exports")
    assert result.path == tmp_path / "exports" / "moodle_feedback.zip"
    entries = _entries(result.path)
    assert sorted(entries) == ["Alice Smith_2001_assignsubmission_file_perceptrons-feedback.html",
                               "Bob Jones_2002_assignsubmission_file_perceptrons-feedback.html",
                               "Dave Hall_2004_assignsubmission_file_perceptrons-feedback.html"]
    participants = {entry.lms_user_id: entry.student_id for entry in roster.entries}
    for name, data in entries.items():
        participant, plugin, filename = _moodle_reads(name)
        assert plugin == "assignsubmission_file" and filename == "perceptrons-feedback.html"
        assert data == _page(participants[participant])  # each student gets their own page
    assert result.missing == [("carol", "no feedback page (no submission, or make grade has not run for it)")]
    assert "1 roster student(s) without feedback in the zip, no feedback page" in lms_feedback.summary(result)[0]


def test_moodle_needs_participant_numbers(tmp_path):
    roster, feedback = _course(tmp_path, "First name,Last name,Email address\nAlice,Smith,alice@uni.example\n", ["alice"])
    result = write_feedback_zip(roster, feedback, tmp_path / "exports")
    assert result.path is None and not (tmp_path / "exports" / "moodle_feedback.zip").exists()
    assert result.missing == [("alice", "no participant number (the roster must be Moodle's grading worksheet)")]


def test_canvas_zip_names_the_user_and_the_submitted_file(tmp_path):
    roster, feedback = _course(tmp_path, CANVAS_ROSTER, ["alice", "bob", "eve"])
    report = _collect_report(tmp_path, [
        "smithalice_late_1001_9001_perceptrons-1.ipynb,alice,taken,",
        "download/jonesbob_1002_9002_perceptrons.ipynb,bob,unchanged,the same notebook is in submitted/ already",
        "jonesbob_1002_8000_old.ipynb,bob,kept,an earlier upload",  # not the submission's file: not used
        "leecarol_1003_9003_perceptrons.ipynb,carol,taken,",
    ])
    result = write_feedback_zip(roster, feedback, tmp_path / "exports", collect_report=report)
    entries = _entries(result.path)
    assert sorted(entries) == ["jonesbob_1002_9002_perceptrons-feedback.html", "smithalice_1001_9001_perceptrons-feedback.html"]
    assert {_canvas_reads(name): data for name, data in entries.items()} == {("1001", "9001"): _page("alice"),
                                                                           ("1002", "9002"): _page("bob")}
    missing = dict(result.missing)
    assert missing["carol"].startswith("no feedback page")
    assert missing["eve"].startswith("no Canvas file id")  # a page, but nothing of hers Canvas could attach it to


def test_hostile_names_make_safe_entry_names(tmp_path):
    worksheet = (
        "Identifier,Full name,Email address,Status,Grade,Maximum Grade\n"
        'Participant 3001,"../../etc/x_7_assignfeedback_file_evil\x1b[31m",a1@uni.example,,,12\n'
        "Participant 3002,.hidden ~me,a2@uni.example,,,12\n"
        "Participant 3003,\u202eevil\u200b/..\\name,a3@uni.example,,,12\n"
        "Participant 3004,_,a4@uni.example,,,12\n"
    )
    roster, feedback = _course(tmp_path, worksheet, ["a1", "a2", "a3", "a4"])
    entries = _entries(write_feedback_zip(roster, feedback, tmp_path / "exports").path)
    assert len(entries) == 4
    for name in entries:
        assert "/" not in name and "\\" not in name and ".." not in name
        assert name.isprintable() and not name.startswith((".", "~"))
    assert sorted(_moodle_reads(name)[0] for name in entries) == ["3001", "3002", "3003", "3004"]
    assert "Participant_3004_assignsubmission_file_perceptrons-feedback.html" in entries
    assert all(_moodle_reads(name)[1] == "assignsubmission_file" for name in entries)
    # Canvas: a sortable name of digits would be read as the user id; one of other scripts has no letters to keep.
    canvas = ("Student,ID,SIS User ID,SIS Login ID,Section,Perceptrons (5501)\n"
              '"1234, 5678",1001,S-1,alice,A,\n'
              '"Ñúñez_9_, Zoë/..",1002,S-2,bob,A,\n'
              '"李, 小龍",1003,S-3,carol,A,\n')
    (tmp_path / "canvas").mkdir()
    roster, feedback = _course(tmp_path / "canvas", canvas, ["alice", "bob", "carol"])
    report = _collect_report(tmp_path, ["x_1001_11_p.ipynb,alice,taken,", "x_1002_12_p.ipynb,bob,taken,", "x_1003_13_p.ipynb,carol,taken,"])
    entries = _entries(write_feedback_zip(roster, feedback, tmp_path / "exports", collect_report=report).path)
    assert sorted(entries) == ["nunezzoe_1002_12_perceptrons-feedback.html", "student_1001_11_perceptrons-feedback.html",
                               "student_1003_13_perceptrons-feedback.html"]
    assert sorted(_canvas_reads(name) for name in entries) == [("1001", "11"), ("1002", "12"), ("1003", "13")]


def test_links_in_feedback_are_refused(tmp_path):
    roster, feedback = _course(tmp_path, MOODLE_WORKSHEET, ["alice"])
    secret = tmp_path / "secret"
    (secret / "perceptrons").mkdir(parents=True)
    (secret / "perceptrons" / "perceptrons.html").write_bytes(b"SECRET")
    os.symlink(secret, feedback / "bob")  # the student's folder is a link
    (feedback / "carol").mkdir()
    os.symlink(secret / "perceptrons", feedback / "carol" / "perceptrons")  # the assignment's folder is a link
    (feedback / "dave" / "perceptrons").mkdir(parents=True)
    os.symlink(secret / "perceptrons" / "perceptrons.html", feedback / "dave" / "perceptrons" / "perceptrons.html")
    result = write_feedback_zip(roster, feedback, tmp_path / "exports")
    assert list(_entries(result.path).values()) == [_page("alice")]
    assert b"SECRET" not in result.path.read_bytes()
    missing = dict(result.missing)
    assert missing["bob"] == "feedback page refused: feedback/.../bob is a symbolic link"
    assert missing["carol"] == "feedback page refused: feedback/.../perceptrons is a symbolic link"
    assert missing["dave"] == "feedback page refused: perceptrons.html is a symbolic link"
    for hostile in ("../secret", "..", ".hidden", ""):  # roster ids are checked already; this reader checks again
        with pytest.raises(ValueError, match="not a student id"):
            lms_feedback.read_page(feedback, hostile)


def test_pages_that_are_not_files_or_too_big_are_refused(tmp_path, monkeypatch):
    roster, feedback = _course(tmp_path, MOODLE_WORKSHEET, ["alice", "bob"])
    (feedback / "bob" / "perceptrons" / "perceptrons.html").write_bytes(b"x" * 2000)
    (feedback / "carol" / "perceptrons").mkdir(parents=True)
    os.mkfifo(feedback / "carol" / "perceptrons" / "perceptrons.html")  # never blocks the export
    monkeypatch.setattr(lms_feedback, "FEEDBACK_LIMIT", 1000)
    result = write_feedback_zip(roster, feedback, tmp_path / "exports")
    assert list(result.entries.values()) == ["alice"]
    missing = dict(result.missing)
    assert missing["bob"] == "feedback page refused: perceptrons.html is 2,000 bytes, over the limit of 1,000 bytes a page"
    assert missing["carol"] == "feedback page refused: perceptrons.html is not a regular file"


def test_the_same_pages_give_the_same_zip_bytes(tmp_path):
    roster, feedback = _course(tmp_path, MOODLE_WORKSHEET, ["dave", "bob", "alice"])
    first = write_feedback_zip(roster, feedback, tmp_path / "one").path.read_bytes()
    for page in feedback.glob("*/perceptrons/perceptrons.html"):
        os.utime(page, (1_000_000_000, 1_000_000_000))  # other file times, the same contents
    second = write_feedback_zip(roster, feedback, tmp_path / "two").path.read_bytes()
    assert first == second
    with zipfile.ZipFile(tmp_path / "one" / "moodle_feedback.zip") as archive:
        names = archive.namelist()
        assert names == sorted(names) and archive.testzip() is None
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    (feedback / "bob" / "perceptrons" / "perceptrons.html").write_bytes(b"regraded")
    assert write_feedback_zip(roster, feedback, tmp_path / "two").path.read_bytes() != first
    assert not list((tmp_path / "two").glob("*.tmp"))


def test_make_export_writes_the_zip_next_to_the_grades(tmp_path, capsys):
    roster, feedback = _course(tmp_path, MOODLE_WORKSHEET, ["alice", "bob"])
    (tmp_path / "grades.csv").write_text(GRADES, encoding="utf-8")
    args = ["--roster", str(tmp_path / "roster.csv"), "--grades", str(tmp_path / "grades.csv"),
            "--out", str(tmp_path / "out"), "--feedback", str(feedback), "--collect-report", str(tmp_path / "none.csv")]
    assert lms_export.main(args) == 0
    out = capsys.readouterr().out
    assert "2 feedback page(s) for Moodle's bulk feedback upload written to" in out
    assert "2 roster student(s) without feedback in the zip, no feedback page" in out and "carol, dave" in out
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["moodle_feedback.zip", "moodle_grades.csv"]
    for student_id in ("alice", "bob"):  # feedback of an earlier grading that is gone now
        (feedback / student_id / "perceptrons" / "perceptrons.html").unlink()
    assert lms_export.main(args) == 0
    assert "no feedback zip written" in capsys.readouterr().out
    assert not (tmp_path / "out" / "moodle_feedback.zip").exists()  # never a stale zip beside new grades

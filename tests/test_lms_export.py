"""make export: grades.csv into the layout of Canvas's gradebook import and Moodle's grading worksheet upload.

The documented layouts the exports follow:
- Canvas, "How do I import grades in the Gradebook?":
  https://community.canvaslms.com/t5/Instructor-Guide/How-do-I-import-grades-in-the-Gradebook/ta-p/807
  (the export's Student, ID, SIS User ID, SIS Login ID, Section columns, then "<Assignment> (<assignment id>)").
- Moodle, "Offline grading worksheet" (download, fill Grade and Feedback comments, upload):
  https://docs.moodle.org/en/Assignment_settings#Offline_grading_worksheet (rows matched by "Participant <n>").
"""

import csv
import io

import pytest

from grading import lms_export
from grading.lms_export import ExportError, export
from grading.roster import read_roster

CANVAS_ROSTER = (
    "\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,Homework 1 (5500),Perceptrons (5501)\n"
    "    Points Possible,,,,,10,100\n"
    '"Smith, Alice",1001,S-1,alice,Section A,9,\n'
    '"Jones, Bob",1002,S-2,bob,Section A,8,\n'
    '"Lee, Carol",1003,S-3,carol,Section B,7,\n'
    '"=Evil, Eve",1004,S-4,eve,Section B,7,\n'
)
MOODLE_WORKSHEET = (
    "Identifier,Full name,Email address,Status,Grade,Maximum Grade,Grade can be changed,"
    "Last modified (submission),Last modified (grade),Feedback comments\n"
    "Participant 2001,Alice Smith,alice@uni.example,Submitted for grading,,12.00,Yes,-,-,\n"
    "Participant 2002,Bob Jones,bob@uni.example,Submitted for grading,,12.00,Yes,-,-,\n"
    "Participant 2003,Carol Lee,carol@uni.example,No submission,,12.00,Yes,-,-,\n"
    "Participant 2004,Dave Hall,dave@uni.example,Submitted for grading,,12.00,Yes,-,-,\n"
)
# make grade's grades.csv (grading/grades.py COLUMNS): bob late with a penalty, dave's notebook broken, zed not in the roster.
GRADES = (
    "student_id,softmax,forward_pass,cross_entropy_loss,update_params,train_nn,MultiClassNet,total,max_total,status,"
    "submitted_at,late_by_hours,penalty,seconds\n"
    "alice,2,2,2,2,3,1,12,12,graded,2026-12-11 16:00:00,0,0,50\n"
    "bob,0,2,0.4,1,3,1,6.2,12,graded,2026-12-12 18:00:00,25,1.2,50\n"
    "dave,0,0,0,0,0,0,0,12,\"notebook is not valid JSON (line 1, column 2: x)\",,,0,1\n"
    "eve,1,1,1,1,1,1,6,12,graded,unknown,,0,50\n"
    "zed,1,1,1,1,1,1,6,12,graded,unknown,,0,50\n"
)


def _files(tmp_path, roster_text, grades_text=GRADES):
    (tmp_path / "roster.csv").write_text(roster_text, encoding="utf-8")
    (tmp_path / "grades.csv").write_text(grades_text, encoding="utf-8")
    return tmp_path / "roster.csv", tmp_path / "grades.csv"


def _read(path):
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def test_canvas_export_fills_the_assignment_column_scaled_to_its_points(tmp_path):
    roster_path, grades = _files(tmp_path, CANVAS_ROSTER)
    result = export(read_roster(roster_path), grades, tmp_path / "exports")
    assert result.path == tmp_path / "exports" / "canvas_grades.csv"
    rows = _read(result.path)
    assert list(rows[0]) == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Perceptrons (5501)"]
    by_id = {row["ID"]: row for row in rows}
    assert by_id["1001"]["Perceptrons (5501)"] == "100"  # 12 of 12 is Canvas's 100 points
    assert by_id["1002"]["Perceptrons (5501)"] == "51.67"  # after the late penalty: 6.2 / 12 * 100
    assert by_id["1003"]["Perceptrons (5501)"] == ""  # no submission: left ungraded
    assert by_id["1004"]["Student"] == "'=Evil, Eve"  # never a formula in a spreadsheet
    assert result.without_grade == ["carol"] and result.graded == 3
    notes = " ".join(result.notes)
    assert "scaled from the course's 12 points to the 100" in notes
    assert "2 student(s) of grades.csv not in the roster, left out: dave, zed" in notes


def test_canvas_needs_to_know_the_assignment_column(tmp_path):
    roster_path, grades = _files(tmp_path, CANVAS_ROSTER.replace("Perceptrons (5501)", "Project (5501)"))
    with pytest.raises(ExportError, match=r"say which with COLUMN="):
        export(read_roster(roster_path), grades, tmp_path / "exports")
    result = export(read_roster(roster_path), grades, tmp_path / "exports", column="Project (5501)")
    assert _read(result.path)[0]["Project (5501)"] == "100"
    assert not (tmp_path / "exports" / "canvas_grades.csv.tmp").exists()


def test_moodle_export_is_the_worksheet_with_grades_and_comments(tmp_path):
    roster_path, grades = _files(tmp_path, MOODLE_WORKSHEET)
    result = export(read_roster(roster_path), grades, tmp_path / "exports")
    rows = _read(result.path)
    assert list(rows[0]) == ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade", "Grade can be changed",
                             "Last modified (submission)", "Last modified (grade)", "Feedback comments"]
    by_id = {row["Identifier"]: row for row in rows}
    assert (by_id["Participant 2001"]["Grade"], by_id["Participant 2001"]["Feedback comments"]) == ("12", "")
    assert by_id["Participant 2002"]["Grade"] == "6.2"
    assert by_id["Participant 2002"]["Feedback comments"] == "late by 25 h: 1.2 point(s) of late penalty"
    assert (by_id["Participant 2003"]["Grade"], by_id["Participant 2003"]["Feedback comments"]) == ("", "no submission")
    assert by_id["Participant 2004"]["Grade"] == "0"
    assert by_id["Participant 2004"]["Feedback comments"].startswith("notebook is not valid JSON")
    assert not [note for note in result.notes if "scaled" in note]  # Moodle's maximum is the course's 12


def test_moodle_needs_the_worksheet_not_the_participants_export(tmp_path):
    roster_path, grades = _files(tmp_path, "First name,Last name,Email address\nAlice,Smith,alice@uni.example\n")
    with pytest.raises(ExportError, match="give its grading worksheet as ROSTER="):
        export(read_roster(roster_path), grades, tmp_path / "exports")
    assert not (tmp_path / "exports").exists()


def test_a_grades_file_that_is_not_make_grades_is_one_sentence(tmp_path):
    roster_path, grades = _files(tmp_path, MOODLE_WORKSHEET, "assignment,duedate,student_id,score\nperceptrons,,alice,12\n")
    with pytest.raises(ExportError, match="it is not make grade's grades.csv") as error:
        export(read_roster(roster_path), grades, tmp_path / "exports")
    assert "\n" not in str(error.value)
    with pytest.raises(ExportError, match="run make grade first"):
        export(read_roster(roster_path), tmp_path / "missing.csv", tmp_path / "exports")


def test_the_command_line(tmp_path, capsys):
    roster_path, grades = _files(tmp_path, CANVAS_ROSTER)
    assert lms_export.main([]) == 2
    assert "make export needs the roster" in capsys.readouterr().err
    assert lms_export.main(["--roster", str(roster_path), "--lms", "blackboard"]) == 2
    # Its own (empty) feedback/ and collect report: the course's real ones are no business of this test.
    args = ["--roster", str(roster_path), "--grades", str(grades), "--out", str(tmp_path / "out"),
            "--feedback", str(tmp_path / "feedback"), "--collect-report", str(tmp_path / "collect_report.csv")]
    assert lms_export.main(args) == 0
    out = capsys.readouterr().out
    assert "3 grade(s) for Canvas written to" in out and "exported without a grade" in out and "carol" in out
    assert (tmp_path / "out" / "canvas_grades.csv").is_file()
    assert lms_export.main([*args, "--lms", "moodle"]) == 1
    assert capsys.readouterr().err.count("\n") == 1

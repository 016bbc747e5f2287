"""Deadlines: the late policy (grading.late_policy), timestamp.txt read as untrusted text (grading.timestamps,
grading.inbox, grading.intake), the due date and extensions in nbgrader's gradebook (grading.deadlines),
and what grades.csv and the summary say (grading.grades)."""

import csv
import re
import datetime
import os
import threading

import pytest
from nbgrader.api import Gradebook
from traitlets.config import Config

from grading import deadlines, grades, inbox, intake, timestamps
from grading.late_policy import LatePenalty
from grading.timestamps import TIMESTAMP_LIMIT

DAY = 86400
TIMESTAMP = "perceptrons/timestamp.txt"
NOTEBOOK = "perceptrons/perceptrons.ipynb"


# -- the policy ------------------------------------------------------------------------------------

@pytest.fixture
def policy():
    """The defaults: 10% of 12 points per started day, at most 50%, everything after 7 days."""
    return LatePenalty(max_score=12)


def test_on_time_costs_nothing(policy):
    assert policy.penalty(12, 0) == 0 and policy.late_submission_penalty("a", 12, 0) == 0


def test_one_second_late_is_one_started_day(policy):
    assert policy.penalty(12, 1) == pytest.approx(1.2)


def test_exactly_n_days_late_is_n_days_and_one_more_second_is_the_next(policy):
    assert policy.penalty(12, 2 * DAY) == pytest.approx(2.4)
    assert policy.penalty(12, 2 * DAY + 1) == pytest.approx(3.6)


def test_the_cap_holds_beyond_five_days_and_everything_goes_after_seven(policy):
    assert policy.penalty(12, 6 * DAY) == pytest.approx(6.0)  # 60% capped at 50%
    assert policy.penalty(12, 7 * DAY) == pytest.approx(6.0)  # exactly 7 days: not more than 7
    assert policy.penalty(9.5, 7 * DAY + 1) == pytest.approx(9.5)  # the whole score


def test_the_policy_is_configured_by_traits():
    hourly = LatePenalty(config=Config({"LatePenalty": {"period": "hour", "percent_per_period": 1, "max_percent": 100,
                                                        "zero_after_days": 0, "max_score": 10}}))
    assert hourly.penalty(10, 3600 * 5 + 1) == pytest.approx(0.6)
    assert hourly.penalty(10, 400 * DAY) == pytest.approx(10)  # capped at 100%, never zeroed
    assert "per started hour" in hourly.describe()


def test_the_course_configures_this_policy_for_nbgrader():
    from grading.settings import load_course_config

    config = load_course_config()
    assert config.AssignLatePenalties.plugin_class is LatePenalty
    assert "ApplyDeadlines" in [p.__name__ for p in config.Autograde.autograde_preprocessors]
    names = [p.__name__ for p in config.Autograde.autograde_preprocessors]
    assert names.index("ApplyDeadlines") < names.index("AssignLatePenalties")


# -- due date and extensions in nbgrader's gradebook -------------------------------------------------

@pytest.fixture
def gradebook(tmp_path):
    from grading.course import quicker_gradebook_creation

    quicker_gradebook_creation()
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gb:
        gb.add_assignment("perceptrons")
        gb.add_student("bob")
        yield gb


def _deadlines(**traits):
    return deadlines.Deadlines(config=Config({"Deadlines": traits}))


def test_the_due_date_and_an_extension_reach_nbgraders_lateness(gradebook):
    due = _deadlines(duedate="2026-12-11 17:00:00 UTC", extensions={"bob": 24})
    gradebook.add_submission("perceptrons", "bob", timestamp="2026-12-12 10:00:00 UTC")
    deadlines.apply(gradebook, "perceptrons", "bob", due)
    submission = gradebook.find_submission("perceptrons", "bob")
    assert submission.assignment.duedate == datetime.datetime(2026, 12, 11, 17)
    assert submission.total_seconds_late == 0  # 17 h late, 24 h extension granted
    deadlines.apply(gradebook, "perceptrons", "bob", _deadlines(duedate="2026-12-11 17:00:00 UTC"))
    assert submission.total_seconds_late == 0  # no extension here: the gradebook's own is kept
    gradebook.grant_extension("perceptrons", "bob")  # removed
    assert submission.total_seconds_late == 17 * 3600


def test_no_due_date_and_no_timestamp_are_never_late(gradebook):
    gradebook.add_submission("perceptrons", "bob")
    deadlines.apply(gradebook, "perceptrons", "bob", _deadlines(duedate="2026-12-11 17:00:00 UTC"))
    assert gradebook.find_submission("perceptrons", "bob").total_seconds_late == 0


def test_an_extension_under_an_alias_is_the_real_students(gradebook):
    """make grade's workers grade everyone as "student": the extension is looked up by the real id."""
    gradebook.add_student("student")
    deadlines.apply(gradebook, "perceptrons", "student", _deadlines(extensions={"bob": 48}), extension_of="bob")
    assert gradebook.find_submission("perceptrons", "student").extension == datetime.timedelta(hours=48)


def test_the_feedback_sentences_name_due_date_time_lateness_penalty_and_policy():
    facts = {"due": "2026-12-11 17:00:00 UTC", "submitted_at": "2026-12-12 19:00:05 UTC", "extension_hours": 0,
             "seconds_late": 26 * 3600 + 5, "penalty": 2.4}
    text = " ".join(deadlines.sentences(facts, LatePenalty(max_score=12).describe()))
    assert "Due: 2026-12-11 17:00:00 UTC" in text and "Submitted: 2026-12-12 19:00:05 UTC" in text
    assert "Late by 1 day 2 h 5 s: late penalty 2.4 point(s)" in text
    assert "10% of the maximum score (12 points) per started day late, at most 50%" in text
    unknown = deadlines.sentences({**facts, "submitted_at": None}, "")
    assert "time unknown" in " ".join(unknown) and "penalty" not in " ".join(unknown)
    assert deadlines.sentences({**facts, "due": None}, "") == []


# -- timestamp.txt ------------------------------------------------------------------------------------

def test_a_good_timestamp_is_parsed_as_nbgrader_parses_it():
    from nbgrader.utils import parse_utc

    for text in ("2026-12-01 17:03:12.345678 UTC", "2026-12-01 18:03:12 Europe/Berlin", "2026-12-01T17:03:12+00:00"):
        stamp = timestamps.parse(text.encode() + b"\n")
        assert stamp.note is None and stamp.when == parse_utc(text)
        assert parse_utc(timestamps.staged_text(stamp.when)) == stamp.when  # what autograde reads back


@pytest.mark.parametrize("data, words", [
    (b"", "empty"), (b"next friday-ish", "not a time nbgrader can read: 'next friday-ish'"),
    (b"2026-12-01 17:03:12 UTC\n2020-01-01 UTC", "2 lines, not one"), (b"\xff\xfe", "not UTF-8"),
    (b"2026-12-01 " + b"9" * 300, "over 256"), (b"\x1b[2J2026", "\\x1b[2J2026"),
])
def test_a_malformed_timestamp_is_time_unknown_with_a_note(data, words):
    stamp = timestamps.parse(data)
    assert stamp.when is None and words in stamp.note and "submission time unknown" in stamp.note
    assert len(stamp.note) < 200


def test_a_missing_timestamp_is_time_unknown_without_a_note(tmp_path):
    assert intake.read_timestamp(tmp_path / "timestamp.txt") == timestamps.Timestamp()


def _student(submitted, files):
    for relative, data in files.items():
        (submitted / "alice" / relative).parent.mkdir(parents=True, exist_ok=True)
        (submitted / "alice" / relative).write_bytes(data)
    return submitted / "alice"


def test_the_inbox_reads_the_timestamp_with_the_notebooks(tmp_path):
    _student(tmp_path, {NOTEBOOK: b"{}", TIMESTAMP: b"2026-12-01 17:03:12 UTC", "timestamp.txt": b"x"})
    submission = inbox.read_submission(tmp_path, "alice")
    assert submission.files == {NOTEBOOK: b"{}", TIMESTAMP: b"2026-12-01 17:03:12 UTC"}  # only <assignment>/timestamp.txt
    assert submission.notebooks() == [NOTEBOOK] and submission.refused == []


def test_an_oversized_timestamp_is_refused_in_words(tmp_path):
    _student(tmp_path, {NOTEBOOK: b"{}", TIMESTAMP: b"2" * (TIMESTAMP_LIMIT + 1)})
    submission = inbox.read_submission(tmp_path, "alice")
    assert TIMESTAMP not in submission.files
    assert submission.refused == [f"{TIMESTAMP} ({TIMESTAMP_LIMIT + 1} bytes: over {TIMESTAMP_LIMIT} bytes; submission time unknown)"]


def test_a_linked_timestamp_is_refused_and_never_read(tmp_path):
    folder = _student(tmp_path, {NOTEBOOK: b"{}"})
    (tmp_path / "elsewhere").write_text("2020-01-01 00:00:00 UTC")
    (folder / TIMESTAMP).symlink_to(tmp_path / "elsewhere")
    submission = inbox.read_submission(tmp_path, "alice")
    assert TIMESTAMP not in submission.files
    assert submission.refused == [f"{TIMESTAMP} (a symbolic link; submission time unknown)"]
    assert "a symbolic link" in intake.read_timestamp(folder / TIMESTAMP).note


def test_a_fifo_timestamp_is_refused_without_blocking(tmp_path):
    folder = _student(tmp_path, {NOTEBOOK: b"{}"})
    os.mkfifo(folder / TIMESTAMP)
    result = {}
    reader = threading.Thread(target=lambda: result.update(s=inbox.read_submission(tmp_path, "alice"),
                                                           t=intake.read_timestamp(folder / TIMESTAMP)), daemon=True)
    reader.start()
    reader.join(10)
    assert not reader.is_alive(), "reading a FIFO blocked"
    assert result["s"].refused == [f"{TIMESTAMP} (a FIFO; submission time unknown)"]
    assert result["t"].when is None and "a FIFO" in result["t"].note


@pytest.fixture
def staged(tmp_path, monkeypatch):
    monkeypatch.setattr(intake, "STAGED", tmp_path / "staged")
    return tmp_path / "staged"


@pytest.fixture(scope="module")
def correct():
    import nbformat
    from tools.demo_class import answers_for, student_notebook

    return nbformat.writes(student_notebook(answers_for(True, []))).encode()


def test_intake_stages_a_good_timestamp_in_nbgraders_format(tmp_path, staged, correct):
    folder = _student(tmp_path / "submitted", {NOTEBOOK: correct, TIMESTAMP: b"  2026-12-01 18:03:12 +3600 \n"})
    taken = intake.take_in(folder)
    assert taken.problem is None and taken.notes == []
    assert taken.submitted_at == datetime.datetime(2026, 12, 1, 17, 3, 12)
    assert (staged / "alice" / TIMESTAMP).read_text() == "2026-12-01 17:03:12.000000 UTC\n"


def test_intake_grades_a_malformed_timestamp_as_time_unknown_with_a_note(tmp_path, staged, correct):
    folder = _student(tmp_path / "submitted", {NOTEBOOK: correct, TIMESTAMP: b"<script>alert(1)</script>"})
    taken = intake.take_in(folder)
    assert taken.problem is None and taken.staged is not None and taken.submitted_at is None
    assert taken.notes == ["timestamp.txt ignored (not a time nbgrader can read: '<script>alert(1)</script>'): submission time unknown"]
    assert not (staged / "alice" / TIMESTAMP).exists()


def test_intake_without_a_timestamp_stages_none(tmp_path, staged, correct):
    taken = intake.take_in(_student(tmp_path / "submitted", {NOTEBOOK: correct}))
    assert taken.notes == [] and taken.submitted_at is None and not (staged / "alice" / TIMESTAMP).exists()


# -- grades.csv and the summary ---------------------------------------------------------------------------

def test_grades_csv_shows_time_lateness_and_penalty_with_the_total_after_it(tmp_path):
    scores = {"softmax": 2, "forward_pass": 2, "cross_entropy_loss": 2, "update_params": 1, "train_nn": 3, "MultiClassNet": 2}
    due = "2026-12-11 17:00:00 UTC"
    late = grades.result("late", dict(scores), late={"due": due, "submitted_at": "2026-12-12 19:00:00 UTC",
                                                     "seconds_late": 26 * 3600, "penalty": 2.4})
    ontime = grades.result("ontime", dict(scores), late={"due": due, "submitted_at": "2026-12-10 19:00:00 UTC",
                                                         "seconds_late": 0.0, "penalty": 0.0})
    unknown = grades.result("unknown", dict(scores), late={"due": due, "submitted_at": None, "seconds_late": 0.0, "penalty": 0.0})
    broken = grades.result("broken", status="notebook file is empty")
    grades.write_grades_csv([late, ontime, unknown, broken], tmp_path / "grades.csv")
    with open(tmp_path / "grades.csv", newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert (rows["late"]["total"], rows["late"]["penalty"], rows["late"]["late_by_hours"]) == ("9.6", "2.4", "26")
    assert rows["late"]["submitted_at"] == "2026-12-12 19:00:00 UTC"
    assert (rows["ontime"]["total"], rows["ontime"]["penalty"], rows["ontime"]["late_by_hours"]) == ("12", "0", "0")
    assert (rows["unknown"]["total"], rows["unknown"]["submitted_at"], rows["unknown"]["late_by_hours"]) == ("12", "unknown", "")
    assert (rows["broken"]["submitted_at"], rows["broken"]["penalty"]) == ("", "0")
    for row in rows.values():  # the raw score stays derivable
        raw = sum(float(row[part]) for part in scores)
        assert float(row["total"]) == pytest.approx(raw - float(row["penalty"]))
    text = grades.summary([late, ontime, unknown, broken])
    assert "1 late submission(s), 2.4 point(s) of late penalties in all" in text
    assert "1 submission(s) without a submission time (no timestamp.txt): not counted late" in text


# -- the README says what the code does --------------------------------------------------------------------

def _readme():
    from tests.course_copy import ROOT

    return " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())


def test_the_readme_lists_the_columns_of_grades_csv():


    from grader_tests.points import PARTS

    match = re.search(r"\*\*Read `grades.csv`:\*\* one row per directory in `submitted/`, columns (.*?)\. ", _readme())
    assert match, "README: the grades.csv bullet is gone"
    listed = re.findall(r"`(\w+)`", match.group(1).replace("the six parts", " ".join(f"`{p}`" for p in PARTS)))
    assert listed == grades.COLUMNS


def test_the_readme_names_every_policy_setting_with_its_default():
    text = _readme()
    for name, trait in LatePenalty.class_traits(config=True).items():
        if name in ("penalty_method", "max_score"):  # nbgrader's own; the course's maximum by default
            continue
        assert f"`c.LatePenalty.{name}`" in text, name
        default = trait.default_value
        shown = f'"{default}"' if isinstance(default, str) else f"{default:g}"
        assert re.search(rf"`c\.LatePenalty\.{name}` \([^)]*{re.escape(shown.strip(chr(34)))}", text), (name, shown)


def test_a_due_date_nbgrader_cannot_read_is_one_sentence():
    with pytest.raises(ValueError, match=r"c.Deadlines.duedate = 'next friday' in nbgrader_config.py is not a time"):
        _deadlines(duedate="next friday").due()

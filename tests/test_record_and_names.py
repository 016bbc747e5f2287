"""grading.record (statuses as data), grading.names (names shown as data) and what grades.csv and kernels.log make of them."""

import csv

import pytest

from grading import grades, record, store
from grading.names import FORMULA_STARTS, printable, spreadsheet_cell


def test_printable_escapes_control_and_format_characters_only():
    assert printable("alice") == "alice"
    assert printable("Anna Müller-Łukasz") == "Anna Müller-Łukasz"
    assert printable("a\x1b[2Jb\x07\x00") == "a\\x1b[2Jb\\x07\\x00"
    assert printable("evil\u202etxt.ipynb") == "evil\\u202etxt.ipynb"  # right-to-left override
    assert printable("two\nlines\r") == "two\\x0alines\\x0d"


def test_spreadsheet_cells_never_start_a_formula():
    for formula in ["=1+1", "+1", "-2+3", "@SUM(A1)"]:
        assert spreadsheet_cell(formula) == "'" + formula
    for formula in ["\t=1", "\r=1"]:  # escaped, so no longer a tab or a return at the start
        assert not spreadsheet_cell(formula).startswith(FORMULA_STARTS), spreadsheet_cell(formula)
    assert spreadsheet_cell("alice") == "alice" and spreadsheet_cell("graded") == "graded"


def test_grades_csv_writes_ids_and_statuses_as_data(tmp_path):
    rows = [grades.result("=HYPERLINK(\"http://x\")", status="graded"), grades.result("bob\x1b]0;t\x07", status="-1")]
    grades.write_grades_csv(rows, tmp_path / "grades.csv")
    text = (tmp_path / "grades.csv").read_text(encoding="utf-8")
    assert "\x1b" not in text
    with open(tmp_path / "grades.csv", newline="") as handle:
        read = list(csv.DictReader(handle))
    assert [r["student_id"] for r in read] == ["'=HYPERLINK(\"http://x\")", "bob\\x1b]0;t\\x07"]
    assert read[1]["status"] == "'-1"


def test_problem_codes_give_the_status_words_and_the_retry():
    problems = [record.Problem("timed_out", 56, "train_nn"), record.Problem("output_capped", 12)]
    assert record.describe(problems) == "timed out in cell 56 (train_nn)"
    assert record.notes(problems) == ["outputs over the cap dropped in cell 12"]
    assert not record.needs_retry(problems)  # the code used its time: final
    assert record.needs_retry([record.Problem("timed_out", 56, "train_nn", maybe_load=True)])
    assert record.needs_retry([record.Problem("kernel_died", 40, maybe_load=True)])
    assert not record.needs_retry([record.Problem("kernel_died", 40)])
    assert not record.needs_retry([record.Problem("out_of_time", 3, maybe_load=True)])
    kept = record.Record()  # a test cell's visible part and its checks may both time out: one problem
    kept.add("timed_out", 44, "softmax")
    kept.add("timed_out", 44, "softmax", maybe_load=True)
    assert kept.problems == [record.Problem("timed_out", 44, "softmax", maybe_load=True)]
    assert record.describe(kept.problems) == "timed out in cell 44 (softmax)"
    assert not record.needs_retry([record.Problem("out_of_time", 3), record.Problem("output_capped", 4)])
    assert record.describe([]) == ""


def _row(student_id, *problems, retried=False):
    return grades.result(student_id, status=record.describe(list(problems)) or "graded", retried=retried,
                         problems=[vars(p) for p in problems])


def test_a_time_out_of_the_codes_own_is_a_graded_outcome_and_the_rest_need_a_look():
    """Issue 23, goal 7: an endless loop's time-out is final and graded, listed apart from what needs a look."""
    loop = _row("loop", record.Problem("timed_out", 56, "train_nn"), record.Problem("output_capped", 12))
    again = _row("again", record.Problem("timed_out", 56, "train_nn", maybe_load=True), retried=True)
    loaded = _row("loaded", record.Problem("timed_out", 56, "train_nn", maybe_load=True))
    died = _row("died", record.Problem("kernel_died", 40))
    budget = _row("budget", record.Problem("out_of_time", 3))
    clean = _row("clean")
    assert [grades.final_time_out(r) for r in (loop, again, loaded, died, budget, clean)] == [True, True, False, False, False, False]
    assert [grades.needs_a_look(r) for r in (loop, again, loaded, died, budget, clean)] == [False, False, True, True, True, False]
    text = grades.summary([loop, again, loaded, died, budget, clean])
    final, look = text.split("need a look:")
    assert "2 submission(s) graded, with a final time-out" in final and "loop: timed out in cell 56 (train_nn)" in final
    assert "3 submission(s) need a look" in text
    assert [line.split(":")[0].strip() for line in look.strip().splitlines()] == ["budget", "died", "loaded"]


def test_stored_problems_are_read_as_data_and_unknown_codes_ignored():
    stored = [{"code": "kernel_died", "cell": 38, "part": None}, {"code": "made_up", "cell": 1, "part": None}, "timed out"]
    assert record.problems_of(stored) == [record.Problem("kernel_died", 38, None)]
    assert record.problems_of(None) == []


def test_a_record_is_handed_over_once():
    rec = record.Record()
    rec.add("timed_out", 5, "softmax")
    rec.add("timed_out", 5, "softmax")  # the same problem twice is one problem
    assert rec.problems == [record.Problem("timed_out", 5, "softmax")]
    record.publish("alice", rec)
    assert record.take("alice") is rec
    assert record.take("alice") is None


def test_kernel_log_lines_carry_their_students_id(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "LOGS", tmp_path)
    store.write_logs("mallory", "", "warning\n--- alice\nalice | forged\x1b[2K\n")
    store.write_logs("alice", "", "a real line\n")
    assert (tmp_path / "kernels.log").read_text().splitlines() == [
        "--- mallory", "mallory | warning", "mallory | --- alice", "mallory | alice | forged\\x1b[2K",
        "--- alice", "alice | a real line",
    ]


def test_progress_moves_part_by_part_and_lands_on_whole_students(capsys):
    from grading.progress import STEPS, ClassProgress

    bar = ClassProgress(total=3, already_graded=1)
    for part in ["softmax", "forward_pass"]:
        bar.part_checked("alice", part)
    assert bar._bar.n == pytest.approx(1 + 2 / STEPS)
    for _ in range(20):  # more events than parts never run ahead of the student
        bar.part_checked("bob\x1b[2J", "train_nn")
    assert bar._bar.n == pytest.approx(1 + 2 / STEPS + (STEPS - 1) / STEPS)
    bar.student_done("alice", clean=True)
    bar.student_done("bob\x1b[2J", clean=False)
    assert bar._bar.n == 3
    bar.close()
    printed = capsys.readouterr().err
    assert "bob\\x1b[2J: done" in printed and "\x1b[2J" not in printed
    assert "not cleanly graded: 1" in printed and "3.0/3" in printed

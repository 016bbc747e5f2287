"""Scores set by hand (grading.manual) and parts not attempted, in grades.csv, the summary and the class report.

These tests build result rows and course directories by hand. The end-to-end test (a manual score
set through nbgrader's Gradebook API as formgrader does, overrides.csv, a regrade, plain ``nbgrader
export``) is in tests/test_course.py, on a copy of the demo class it grades anyway.
"""

import csv

import pytest

from grader_tests.points import PARTS, POINTS
from grading import grades, manual
from grading.class_report import build_html, load_class, normalise
from grading.class_report.stats import check_stats, mistake_stats, part_stats


def _check(name, passed, hint=None, not_attempted=False):
    return {"name": name, "passed": passed, "message": "" if passed else f"{name} failed", "hint": hint, "stop": None,
            "not_attempted": not_attempted}


def _stub_checks():
    """Every part's checks as the release's stubs fail them (two checks a part)."""
    return {part: [_check(f"{part}_a", False, not_attempted=True), _check(f"{part}_b", False, not_attempted=True)]
            for part in PARTS}


def _row(sid, scores=None, checks=None, penalty=0.0):
    late = {"penalty": penalty, "seconds_late": 3600.0 if penalty else 0.0, "submitted_at": "2026-12-12 10:00:00 UTC",
            "due": "2026-12-11 17:00:00 UTC"} if penalty else None
    return grades.result(sid, scores or dict.fromkeys(PARTS, 0.0), checks=checks or {}, late=late)


def _wrong_softmax():
    """A student who tried everything and got softmax wrong (a known mistake) and nothing else."""
    checks = {part: [_check(f"{part}_a", True), _check(f"{part}_b", True)] for part in PARTS}
    checks["softmax"] = [_check("softmax_a", False, hint="axis0"), _check("softmax_b", True)]
    return _row("wrong", {**POINTS, "softmax": 1.0}, checks)


# -- not attempted -------------------------------------------------------------------------------------

def test_a_part_is_not_attempted_only_when_no_check_passed_and_one_failed_on_the_stub():
    from grader_tests.report import not_attempted

    assert not_attempted([_check("a", False, not_attempted=True), _check("b", False)])
    assert not not_attempted([_check("a", False, not_attempted=True), _check("b", True)])  # some credit: attempted
    assert not not_attempted([_check("a", False), _check("b", False)])  # failed: a mistake
    assert not not_attempted([])
    assert not not_attempted([{"passed": False, "not_attempted": "yes"}])  # only a real true counts


@pytest.fixture
def agent():
    from sandbox.agent import Agent

    namespace = {"__name__": "submission"}
    source = (
        "def softmax(z):\n    raise NotImplementedError()\n"
        "def forward_pass(params, X):\n    return softmax(X)\n"  # attempted; it calls a stub of another part
        "def cross_entropy_loss(params, X, Y):\n    raise NotImplementedError('no batches yet') if X is None else None\n"
        "import torch\n"
        "class MultiClassNet(torch.nn.Module):\n    def __init__(self, *args):\n        super().__init__()\n"
        "        raise NotImplementedError()\n"
        "import datetime\n"
        "def update_params(params, grads, lr):\n    return datetime.tzinfo().utcoffset(None)\n"  # raised in C, not a stub
    )
    exec(compile(source, "<cell 7>", "exec"), namespace)

    def library_raises(params, grads, lr):  # a NotImplementedError from below the student's code: not a stub
        raise NotImplementedError("not in this library")

    namespace["train_nn"] = library_raises
    return Agent(namespace)


def test_the_agent_names_the_stub_and_nothing_else(agent):
    def kind(request):
        return agent.handle(request).get("error", {}).get("kind")

    assert kind({"op": "call", "name": "softmax", "args": []}) == "raised"  # wrong arguments: a TypeError
    assert kind({"op": "call", "name": "softmax", "args": [1.0]}) == "not_implemented"
    assert kind({"op": "call", "name": "softmax", "args": [1.0], "jit": True}) == "not_implemented"
    assert kind({"op": "call", "name": "forward_pass", "args": [1.0, 2.0]}) == "raised"  # softmax's stub, not its own
    assert kind({"op": "build_module", "name": "MultiClassNet", "args": [2, 5, 3]}) == "not_implemented"
    assert kind({"op": "call", "name": "train_nn", "args": [1.0, 2.0, 3.0]}) == "raised"  # not the submission's code
    assert kind({"op": "call", "name": "update_params", "args": [1.0, 2.0, 3.0]}) == "raised"


def test_the_submission_carries_not_attempted_to_the_checks_record(agent):
    from grader_tests.compare import CheckFailure
    from grader_tests.runner import _check_result
    from grader_tests.submission import LocalChannel, Submission, SubmissionError

    submission = Submission(LocalChannel(agent))

    class ExcInfo:
        def __init__(self, value):
            self.value = value

    with pytest.raises(SubmissionError) as stub:
        submission.call("softmax", 1.0)
    with pytest.raises(SubmissionError) as other:
        submission.call("forward_pass", 1.0, 2.0)
    assert stub.value.not_attempted and not other.value.not_attempted
    assert stub.value.explained(note="on a batch").not_attempted  # a check that adds a line keeps the fact
    assert _check_result("softmax_values", ExcInfo(stub.value))["not_attempted"] is True
    assert _check_result("forward_pass_values", ExcInfo(other.value))["not_attempted"] is False
    assert _check_result("softmax_values", ExcInfo(CheckFailure("wrong")))["not_attempted"] is False


def test_grades_csv_and_the_summary_say_not_attempted_apart_from_mistakes(tmp_path):
    untouched = _row("carol", checks=_stub_checks())
    half = _row("half", {**dict.fromkeys(PARTS, 0.0), "softmax": 2.0},
                {**_stub_checks(), "softmax": [_check("softmax_a", True), _check("softmax_b", True)]})
    rows = [untouched, half, _wrong_softmax()]
    grades.write_grades_csv(rows, tmp_path / "grades.csv")
    with open(tmp_path / "grades.csv", newline="") as handle:
        table = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert table["carol"]["not_attempted"] == " ".join(PARTS) and table["carol"]["status"] == "graded"
    assert table["half"]["not_attempted"] == " ".join(PARTS[1:])
    assert table["wrong"]["not_attempted"] == "" and table["wrong"]["manual"] == ""
    text = grades.summary(rows)
    assert "1 submission(s) attempted no part" in text and "carol" in text.split("attempted no part")[1]
    softmax_line = next(line for line in text.splitlines() if line.startswith("softmax"))
    assert softmax_line.split()[-3:] == ["1", "/", "3"]  # not attempted by carol only
    assert not grades.needs_a_look(untouched)


def test_the_class_report_separates_not_attempted_from_mistakes():
    rows = [normalise(r) for r in (_row("carol", checks=_stub_checks()), _wrong_softmax())]
    mistakes = mistake_stats(rows)
    assert [(m["hint"], m["students"]) for m in mistakes["softmax"]["mistakes"]] == [("axis0", 1)]
    assert mistakes["softmax"]["ran"] == 1  # carol did not attempt it
    assert all(not mistakes[part]["mistakes"] for part in PARTS[1:])  # her stubs are no "no hint" mistakes
    assert {(r["check"], r["ran"], r["failed"]) for r in check_stats(rows) if r["part"] == "softmax"} == {
        ("softmax_a", 1, 1), ("softmax_b", 1, 0)}
    assert part_stats(rows)["train_nn"]["not_attempted"] == 0.5
    page = build_html(rows)
    assert 'data-key="attempted-nothing-count">1<' in page and 'data-key="some-not-attempted">1<' in page
    assert 'id="not-attempted-students"' in page and "all parts" in page


# -- scores set by hand -----------------------------------------------------------------------------

def _overrides(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_overrides_are_read_row_by_row_and_a_bad_row_costs_only_itself(tmp_path):
    path = _overrides(tmp_path / "overrides.csv", "\ufeffstudent_id,part,score,reason\n"
                      "bob,train_nn,3,regrade request 12\n"
                      "bob,softmax,5,too generous\n"
                      "bbo,softmax,1,a typo\n"
                      "bob,sofmax,1,a typo\n"
                      "bob,forward_pass,one,words\n"
                      "bob,forward_pass,nan,not a number\n"
                      "alice,update_params,1,\n"
                      "bob,train_nn,2,twice\n"
                      "alice,softmax,1.5,\x1b[2Jhand graded\n"
                      "alice,softmax\n")
    found, errors = manual.read_overrides(path, {"alice", "bob"})
    assert found == {"bob": {"train_nn": manual.Manual(3.0, "regrade request 12", "overrides.csv line 2")},
                     "alice": {"softmax": manual.Manual(1.5, "\x1b[2Jhand graded", "overrides.csv line 10")}}
    assert errors == [
        "overrides.csv line 3: the score 5 is outside 0 to 2, the points of softmax; left out",
        "overrides.csv line 4: there is no student 'bbo' in submitted/; left out",
        f"overrides.csv line 5: the part 'sofmax' is none of {', '.join(PARTS)}; left out",
        "overrides.csv line 6: the score 'one' is not a number; left out",
        "overrides.csv line 7: the score nan is outside 0 to 2, the points of forward_pass; left out",
        "overrides.csv line 8: the reason is empty (say why the score is set by hand); left out",
        "overrides.csv line 9: a second score for bob's train_nn (line 2 has one); left out",
        "overrides.csv line 11: it does not have exactly the 4 columns student_id,part,score,reason; left out",
    ]
    assert all("\x1b" not in error for error in errors)


@pytest.mark.parametrize("content, why", [
    (b"id,part,points\nbob,softmax,1\n", "must have the columns student_id,part,score,reason (it has id,part,points)"),
    (b"student_id,part,score,reason\nbob,softmax,1,\xff\n", "is not UTF-8 text (byte 43)"),
    (b"", "must have the columns student_id,part,score,reason (it has none)"),
], ids=["columns", "encoding", "empty"])
def test_an_overrides_file_that_is_not_one_counts_for_nothing_with_one_sentence(tmp_path, content, why):
    (tmp_path / "overrides.csv").write_bytes(content)
    assert manual.read_overrides(tmp_path / "overrides.csv") == ({}, [f"overrides.csv {why}: no override counts"])


def test_an_overrides_link_is_not_followed(tmp_path):
    target = _overrides(tmp_path / "elsewhere.csv", "student_id,part,score,reason\nbob,softmax,2,x\n")
    (tmp_path / "overrides.csv").symlink_to(target)
    assert manual.read_overrides(tmp_path / "overrides.csv") == ({}, ["overrides.csv is not a regular file: no override counts"])
    assert manual.read_overrides(tmp_path / "missing.csv") == ({}, [])


def test_a_manual_score_counts_in_the_row_the_table_the_summary_and_the_report(tmp_path):
    late = _row("bob", {**POINTS, "softmax": 0.0, "train_nn": 1.0}, penalty=1.2)
    assert late["total"] == pytest.approx(12 - 2 - 2 - 1.2)
    marks = {"train_nn": manual.Manual(3.0, "machine was slow", "overrides.csv line 2"),
             "softmax": manual.Manual(2.0, "", manual.FORMGRADER)}
    row = manual.apply(late, marks)
    assert late["scores"]["train_nn"] == 1.0  # the stored row is left as graded
    assert row["scores"]["train_nn"] == 3.0 and row["auto_scores"]["train_nn"] == 1.0
    assert row["total"] == pytest.approx(12 - 1.2)  # the late penalty still counts
    assert manual.apply(row, {})["total"] == late["total"]  # a score no longer set by hand goes back to the checks'
    assert manual.apply(manual.apply(late, marks), marks) == row
    grades.write_grades_csv([row], tmp_path / "grades.csv")
    with open(tmp_path / "grades.csv", newline="") as handle:
        table = next(csv.DictReader(handle))
    assert (table["manual"], table["train_nn"], table["total"]) == ("softmax train_nn", "3", f"{12 - 1.2:g}")
    text = grades.summary([row])
    assert "2 score(s) set by hand" in text and "bob: train_nn 3 (checks gave 1; overrides.csv line 2: machine was slow)" in text
    assert "bob: softmax 2 (checks gave 0; formgrader: no reason given)" in text
    page = build_html([normalise(row)])
    assert 'data-key="manual-count">1<' in page and 'data-key="manual:train_nn">3<' in page and "machine was slow" in page


def _graded_course(course, rows):
    results = course / ".grading" / "results"
    results.mkdir(parents=True)
    for row in rows:
        (results / f"{row['student_id']}.json").write_text(__import__("json").dumps(row))
    grades.write_grades_csv(rows, course / "grades.csv")
    return course


def test_make_report_counts_overrides_and_says_when_grades_csv_is_not_ours(tmp_path):
    course = _graded_course(tmp_path, [_row("bob", {**POINTS, "train_nn": 1.0}), _row("carol", checks=_stub_checks())])
    _overrides(course / "overrides.csv", "student_id,part,score,reason\nbob,train_nn,3,regrade request\nnobody,softmax,1,x\n")
    results, _, warnings = load_class(course)
    assert {r["student_id"]: r["total"] for r in results} == {"bob": 12.0, "carol": 0.0}
    assert warnings == ["overrides.csv line 3: there is no student 'nobody' in submitted/; left out",
                        "bob: grades.csv and the result file differ (run make grade)"]  # grades.csv was written before
    # plain `nbgrader export` wrote its own table over grades.csv: one sentence, the result files still count
    (course / "grades.csv").write_text("assignment,duedate,timestamp,student_id,last_name,first_name,email,raw_score,"
                                       "late_submission_penalty,score,max_score\nperceptrons,,,bob,,,,12,0,12,12\n")
    results, _, warnings = load_class(course)
    assert sorted(r["student_id"] for r in results) == ["bob", "carol"]
    assert any(w.startswith("grades.csv is not the table make grade writes") for w in warnings)
    from grading.class_report.__main__ import main

    assert main(["--course", str(course)]) == 0 and (course / "class_report.html").is_file()


@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")  # nbgrader's own, when it creates a submission
def test_the_gradebooks_manual_scores_and_comments_are_read(tmp_path, monkeypatch):
    import nbgrader.api
    from nbgrader.api import Gradebook

    from grading import store
    from grading.cells import ANSWER_ID_OF_PART, GRADE_ID_OF_PART
    from grading.course import ASSIGNMENT, quicker_gradebook_creation

    monkeypatch.setattr(nbgrader.api, "get_alembic_version", nbgrader.api.get_alembic_version)  # put back afterwards
    quicker_gradebook_creation()
    path = tmp_path / "gradebook.db"
    with Gradebook(f"sqlite:///{path}") as gb:
        gb.update_or_create_assignment(ASSIGNMENT)
        gb.update_or_create_notebook(ASSIGNMENT, ASSIGNMENT)
        for part in ("softmax", "train_nn"):
            gb.update_or_create_grade_cell(GRADE_ID_OF_PART[part], ASSIGNMENT, ASSIGNMENT, max_score=POINTS[part], cell_type="code")
            gb.update_or_create_solution_cell(ANSWER_ID_OF_PART[part], ASSIGNMENT, ASSIGNMENT)
        entries = {"notebook": ASSIGNMENT, "grades": {"softmax_checks": 0.5, "train_nn_checks": 1.0},
                   "comments": {"softmax_code": None, "train_nn_code": None}}
        store.record_grades(gb, "bob", entries)
        store.record_grades(gb, "alice", entries)
        gb.find_grade("train_nn_checks", ASSIGNMENT, ASSIGNMENT, "bob").manual_score = 3.0  # as formgrader saves it
        gb.find_comment("train_nn_code", ASSIGNMENT, ASSIGNMENT, "bob").manual_comment = "loop is right"
        gb.find_grade("softmax_checks", ASSIGNMENT, ASSIGNMENT, "alice").manual_score = 2.0
        gb.db.commit()
        store.record_grades(gb, "bob", entries)  # a regrade sets the automatic score only
        # another assignment's manual score, in cells of the same names, is not this one's
        gb.update_or_create_assignment("other")
        gb.update_or_create_notebook(ASSIGNMENT, "other")
        gb.update_or_create_grade_cell("softmax_checks", ASSIGNMENT, "other", max_score=2, cell_type="code")
        gb.update_or_create_student("carol")
        gb.update_or_create_submission("other", "carol")
        gb.find_grade("softmax_checks", ASSIGNMENT, "other", "carol").manual_score = 1.0
        gb.db.commit()
    assert manual.from_gradebook(path) == {"bob": {"train_nn": manual.Manual(3.0, "loop is right", "formgrader")},
                                           "alice": {"softmax": manual.Manual(2.0, "", "formgrader")}}
    _overrides(tmp_path / "overrides.csv", "student_id,part,score,reason\nbob,train_nn,2.5,second look\n")
    found, errors = manual.load(tmp_path, {"alice", "bob"})
    assert found["bob"]["train_nn"].score == 2.5 and found["alice"]["softmax"].score == 2.0 and not errors
    assert manual.from_gradebook(tmp_path / "none.db") == {} and not (tmp_path / "none.db").exists()

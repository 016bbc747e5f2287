"""grading.store: what the coordinator keeps of a graded student (files, logs, gradebook rows), in a course of tmp_path."""

import errno

import pytest

from grading import atomic, store
from grading.atomic import write_atomically
from grading.course import ASSIGNMENT

NOTEBOOK = f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
AUTOGRADED = f"autograded/alice/{NOTEBOOK}"
FEEDBACK = f"feedback/alice/{ASSIGNMENT}/{ASSIGNMENT}.html"


@pytest.fixture
def course(tmp_path, monkeypatch):
    """An empty course directory that store writes to."""
    monkeypatch.setattr(store, "ROOT", tmp_path)
    monkeypatch.setattr(store, "LOGS", tmp_path / ".grading" / "logs")
    return tmp_path


def _files(course):
    """{path relative to the course: bytes} of every file in it."""
    return {str(path.relative_to(course)): path.read_bytes() for path in sorted(course.rglob("*")) if path.is_file()}


def _put(course, files):
    for relative, data in files.items():
        (course / relative).parent.mkdir(parents=True, exist_ok=True)
        (course / relative).write_bytes(data)


def _full_disk(monkeypatch):
    """Every file grading.atomic writes from now on gets half its data, then fails as on a full disk."""
    real_open = open

    class HalfWriter:
        def __init__(self, handle):
            self.handle = handle

        def write(self, data):
            self.handle.write(data[:len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device", self.handle.name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

    monkeypatch.setattr(atomic, "open", lambda *args, **kwargs: HalfWriter(real_open(*args, **kwargs)), raising=False)


# -- files ---------------------------------------------------------------------------------------

def test_the_files_of_a_student_read_back_as_written_and_nothing_else(course):
    files = {AUTOGRADED: b'{"cells": ["\\u00e9"]}\x00\xff', FEEDBACK: b"<html>feedback</html>"}
    store.write_files("alice", files)
    assert _files(course) == files  # no temporary file left beside them


def test_new_files_replace_all_of_the_students_old_ones_and_no_one_elses(course):
    bob = {f"autograded/bob/{NOTEBOOK}": b"bob's", f"feedback/bob/{ASSIGNMENT}/{ASSIGNMENT}.html": b"bob's"}
    _put(course, {**bob, f"autograded/alice/{ASSIGNMENT}/old.ipynb": b"old", FEEDBACK: b"old", "gradebook.db": b"db"})
    store.write_files("alice", {AUTOGRADED: b"new"})
    assert _files(course) == {**bob, AUTOGRADED: b"new", "gradebook.db": b"db"}


@pytest.mark.parametrize("relative", [
    f"autograded/bob/{NOTEBOOK}",  # another student's folder
    f"autograded/alice/../bob/{NOTEBOOK}",
    f"feedback/alice/{ASSIGNMENT}/../../bob/x.html",
    f"submitted/alice/{NOTEBOOK}",  # not a folder of grading output
    ".grading/results/alice.json",
    "gradebook.db",
    "autograded/alice",  # the folder itself
    "{outside}/autograded/alice/x.ipynb",  # not a path in the course
    "../autograded/alice/x.ipynb",
])
def test_a_file_outside_the_students_own_folders_is_refused_and_not_written(course, relative):
    bob = {f"autograded/bob/{NOTEBOOK}": b"bob's", "gradebook.db": b"db"}
    _put(course, bob)
    outside = course.parent / f"{course.name}-outside"
    with pytest.raises(ValueError, match="outside alice's folders"):
        store.write_files("alice", {relative.format(outside=outside): b"forged"})
    assert _files(course) == bob
    assert not (course.parent / "autograded").exists() and not outside.exists()


def test_a_forged_path_costs_the_student_none_of_the_earlier_files(course):
    """Every path is checked before anything is removed or written: the earlier feedback stays whole."""
    earlier = {f"autograded/alice/{NOTEBOOK}": b"earlier", "feedback/alice/perceptrons/perceptrons.html": b"earlier page"}
    _put(course, earlier)
    with pytest.raises(ValueError, match="outside alice's folders"):
        store.write_files("alice", {f"autograded/alice/{NOTEBOOK}": b"new", "feedback/bob/x.html": b"forged"})
    assert _files(course) == earlier


def test_a_failed_write_leaves_no_partial_file_under_the_final_name(course, monkeypatch):
    _full_disk(monkeypatch)
    with pytest.raises(OSError, match="No space left"):
        store.write_files("alice", {AUTOGRADED: b"0123456789"})
    assert not (course / AUTOGRADED).exists()
    assert not list(course.rglob("*.tmp"))  # nor half a file under a temporary name


def test_a_file_is_replaced_whole_or_not_at_all(course, monkeypatch):
    """Written to a temporary name, then renamed: a failed write keeps the earlier file as it was."""
    target = course / "autograded" / "alice" / "result.ipynb"
    write_atomically(target, b"earlier result")
    with monkeypatch.context() as patched:
        _full_disk(patched)
        with pytest.raises(OSError):
            write_atomically(target, b"a later, longer result")
    assert target.read_bytes() == b"earlier result"
    write_atomically(target, b"the later result")
    assert target.read_bytes() == b"the later result"
    assert [path.name for path in target.parent.iterdir()] == ["result.ipynb"]  # the temporary name renamed away


# -- logs ----------------------------------------------------------------------------------------

def test_a_students_log_is_replaced_by_the_last_grading(course):
    store.write_logs("alice", "first grading", "")
    store.write_logs("alice", "second grading", "")
    store.write_logs("bob", None, "")
    logs = course / ".grading" / "logs"
    assert (logs / "alice.log").read_text() == "second grading"
    assert (logs / "bob.log").read_text() == ""
    assert not (logs / "kernels.log").exists()  # no kernel line, no "--- alice" header either


def test_kernel_lines_are_appended_below_an_escaped_student_id(course):
    store.write_logs("alice", "", "first\n")
    store.write_logs("bob\x1b]0;pwned\x07", "", "second\r\nthird\x1b[2K")
    store.write_logs("alice", "", "fourth")
    assert (course / ".grading" / "logs" / "kernels.log").read_text(encoding="utf-8").splitlines() == [
        "--- alice", "alice | first",
        "--- bob\\x1b]0;pwned\\x07", "bob\\x1b]0;pwned\\x07 | second", "bob\\x1b]0;pwned\\x07 | third\\x1b[2K",
        "--- alice", "alice | fourth",
    ]


# -- the gradebook, and keep() -------------------------------------------------------------------

@pytest.fixture
def gradebook(tmp_path, monkeypatch):
    """A gradebook that knows the assignment: a code cell graded automatically, a markdown one by hand, two solution cells."""
    import nbgrader.api
    from nbgrader.api import Gradebook

    from grading.course import quicker_gradebook_creation

    monkeypatch.setattr(nbgrader.api, "get_alembic_version", nbgrader.api.get_alembic_version)  # put back afterwards
    quicker_gradebook_creation()

    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gb:
        gb.update_or_create_assignment(ASSIGNMENT)
        gb.update_or_create_notebook(ASSIGNMENT, ASSIGNMENT)
        gb.update_or_create_grade_cell("softmax_checks", ASSIGNMENT, ASSIGNMENT, max_score=2, cell_type="code")
        gb.update_or_create_grade_cell("essay", ASSIGNMENT, ASSIGNMENT, max_score=1, cell_type="markdown")
        gb.update_or_create_solution_cell("softmax", ASSIGNMENT, ASSIGNMENT)
        gb.update_or_create_solution_cell("essay", ASSIGNMENT, ASSIGNMENT)
        yield gb


def _saved(tmp_path, student_id):
    """{cell: (auto_score, needs_manual_grade)} and {cell: auto_comment} as a new connection reads them."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gb:
        notebook = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student_id)
        return ({grade.name: (grade.auto_score, grade.needs_manual_grade) for grade in notebook.grades},
                {comment.name: comment.auto_comment for comment in notebook.comments})


def _entries(softmax_checks, essay=None):
    return {"notebook": ASSIGNMENT, "grades": {"softmax_checks": softmax_checks, "essay": essay},
            "comments": {"softmax": "No response.", "essay": None}}


@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")  # nbgrader's own, when it creates a submission
def test_grades_are_committed_as_autograde_would_save_them(tmp_path, gradebook):
    store.record_grades(gradebook, "alice", _entries(1.5))
    assert _saved(tmp_path, "alice") == ({"softmax_checks": (1.5, False), "essay": (None, True)},
                                         {"softmax": "No response.", "essay": None})
    # A grade given by hand still needs a look when the automatic one changes.
    gradebook.find_grade("softmax_checks", ASSIGNMENT, ASSIGNMENT, "alice").manual_score = 2.0
    gradebook.db.commit()
    store.record_grades(gradebook, "alice", _entries(0.5, essay=1.0))
    assert _saved(tmp_path, "alice")[0] == {"softmax_checks": (0.5, True), "essay": (1.0, False)}


@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")
def test_keep_writes_the_files_the_logs_and_the_grades_of_an_outcome(course, gradebook):
    outcome = {"result": {"student_id": "alice", "status": "graded"}, "files": {AUTOGRADED: b"{}", FEEDBACK: b"<html>"},
               "log": "autograded", "kernel_log": "a warning", "gradebook": _entries(2.0)}
    store.keep(outcome, gradebook)
    assert _files(course)[AUTOGRADED] == b"{}" and _files(course)[FEEDBACK] == b"<html>"
    assert (course / ".grading" / "logs" / "alice.log").read_text() == "autograded"
    assert (course / ".grading" / "logs" / "kernels.log").read_text() == "--- alice\nalice | a warning\n"
    assert _saved(course, "alice")[0]["softmax_checks"] == (2.0, False)
    assert not (course / ".grading" / "results").exists()  # the result row is grading.batch's to save


class Untouchable:
    def __getattr__(self, name):
        raise AssertionError(f"the gradebook was used ({name})")


def test_an_outcome_without_gradebook_rows_leaves_the_gradebook_alone(course):
    outcome = {"result": {"student_id": "alice"}, "files": {}, "log": "autograde did not run", "kernel_log": "",
               "gradebook": None}
    store.keep(outcome, Untouchable())
    assert _files(course) == {".grading/logs/alice.log": b"autograde did not run"}


def test_an_outcome_with_a_forged_file_keeps_no_log_and_no_grade(course):
    outcome = {"result": {"student_id": "alice"}, "files": {f"autograded/bob/{NOTEBOOK}": b"forged"}, "log": "log",
               "kernel_log": "line", "gradebook": _entries(2.0)}
    with pytest.raises(ValueError, match="outside alice's folders"):
        store.keep(outcome, Untouchable())
    assert _files(course) == {}


# -- the submission's secret (nbgrader release_feedback) ---------------------------------------------

SECRET = f"submitted/alice/{ASSIGNMENT}/submission_secret.txt"
KEPT_SECRET = f"feedback/alice/{ASSIGNMENT}/submission_secret.txt"


def test_the_submissions_secret_goes_beside_its_feedback(course):
    secret = b"0123456789abcdef" * 8  # as nbgrader submit writes it: secrets.token_hex(64)
    _put(course, {FEEDBACK: b"<html></html>", SECRET: secret})
    assert store.keep_submission_secret("alice")
    assert (course / KEPT_SECRET).read_bytes() == secret


@pytest.mark.parametrize("secret", [b"", b"not hex at all, " * 4, b"0123456789abcdef" * 8 + b"\n<script>", b"ab" * 300],
                         ids=["empty", "words", "hex_then_markup", "oversized"])
def test_a_secret_that_is_not_nbgraders_hex_is_not_kept(course, secret):
    _put(course, {FEEDBACK: b"<html></html>", SECRET: secret})
    assert not store.keep_submission_secret("alice")
    assert not (course / KEPT_SECRET).exists()


def test_a_linked_secret_is_not_followed(course, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "secret"
    elsewhere.write_bytes(b"0123456789abcdef" * 8)
    _put(course, {FEEDBACK: b"<html></html>"})
    (course / SECRET).parent.mkdir(parents=True)
    (course / SECRET).symlink_to(elsewhere)
    assert not store.keep_submission_secret("alice")
    assert not (course / KEPT_SECRET).exists()


def test_no_secret_is_written_where_there_is_no_feedback(course):
    _put(course, {SECRET: b"0123456789abcdef" * 8})
    assert not store.keep_submission_secret("alice")
    assert not (course / "feedback").exists()

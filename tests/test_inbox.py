"""grading.inbox: what the coordinator reads of submitted/ (regular files only, never through a link)."""

import os
import threading

import pytest

from grading import inbox
from grading.settings import GradingSettings

NOTEBOOK = "perceptrons/perceptrons.ipynb"


def _student(submitted, student_id, files):
    for relative, data in files.items():
        path = submitted / student_id / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return submitted / student_id


def test_reads_the_notebooks_of_a_plain_folder(tmp_path):
    _student(tmp_path, "alice", {NOTEBOOK: b"{}", "perceptrons/notes.txt": b"hi", "perceptrons/more/extra.ipynb": b"[]"})
    submission = inbox.read_submission(tmp_path, "alice")
    assert submission.files == {NOTEBOOK: b"{}", "perceptrons/more/extra.ipynb": b"[]"}
    assert submission.refused == [] and submission.problem is None


def test_checkpoints_and_hidden_folders_are_not_the_submission(tmp_path):
    _student(tmp_path, "alice", {NOTEBOOK: b"{}", "perceptrons/.ipynb_checkpoints/perceptrons-checkpoint.ipynb": b"old",
                                 ".git/objects/x.ipynb": b"blob"})
    assert list(inbox.read_submission(tmp_path, "alice").files) == [NOTEBOOK]


def test_a_linked_notebook_is_refused_and_never_read(tmp_path):
    secret = tmp_path / "source.ipynb"
    secret.write_text("### BEGIN SOLUTION")
    folder = _student(tmp_path / "submitted", "mallory", {"perceptrons/other.txt": b""})
    (folder / NOTEBOOK).symlink_to(secret)
    submission = inbox.read_submission(tmp_path / "submitted", "mallory")
    assert submission.files == {}
    assert submission.refused == [f"{NOTEBOOK} (a symbolic link)"]


def test_a_linked_folder_is_not_entered(tmp_path):
    other = _student(tmp_path / "submitted", "bob", {NOTEBOOK: b"bob's"})
    folder = tmp_path / "submitted" / "mallory"
    folder.mkdir()
    (folder / "perceptrons").symlink_to(other / "perceptrons")
    submission = inbox.read_submission(tmp_path / "submitted", "mallory")
    assert submission.files == {} and submission.refused == ["perceptrons (a symbolic link)"]


def test_a_student_that_is_a_link_is_listed_and_refused(tmp_path):
    _student(tmp_path, "bob", {NOTEBOOK: b"bob's"})
    (tmp_path / "mallory").symlink_to(tmp_path / "bob")
    (tmp_path / "loose.zip").write_bytes(b"PK")
    assert inbox.student_ids(tmp_path) == ["bob", "mallory"]
    submission = inbox.read_submission(tmp_path, "mallory")
    assert submission.files == {} and submission.problem == "submitted/mallory is a symbolic link, not a folder: not graded"


def test_a_fifo_never_blocks_and_a_device_link_is_refused(tmp_path):
    folder = _student(tmp_path, "mallory", {"perceptrons/keep.txt": b""})
    os.mkfifo(folder / NOTEBOOK)
    (folder / "perceptrons" / "zero.ipynb").symlink_to("/dev/zero")
    done = []
    reader = threading.Thread(target=lambda: done.append(inbox.read_submission(tmp_path, "mallory")), daemon=True)
    reader.start()
    reader.join(10)
    assert done, "reading a FIFO blocked"
    assert done[0].files == {}
    assert done[0].refused == [f"{NOTEBOOK} (a FIFO)", "perceptrons/zero.ipynb (a symbolic link)"]


def test_read_regular_refuses_what_is_not_a_regular_file(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "link").symlink_to("/proc/self/environ")
    with pytest.raises(ValueError, match="a FIFO"):
        inbox.read_regular(tmp_path / "fifo", 100)
    with pytest.raises(ValueError, match="a symbolic link"):
        inbox.read_regular(tmp_path / "link", 100)
    with pytest.raises(ValueError, match="cannot be read"):
        inbox.read_regular(tmp_path / "missing", 100)


def test_notebooks_over_the_size_limits_are_refused(tmp_path):
    _student(tmp_path, "alice", {"a.ipynb": b"x" * 8, "b.ipynb": b"y" * 8, "c.ipynb": b"z" * 11})
    submission = inbox.read_submission(tmp_path, "alice", GradingSettings(notebook_limit=10, submission_limit=15))
    assert submission.files == {"a.ipynb": b"x" * 8}
    assert [line.split(" (")[0] for line in submission.refused] == ["b.ipynb", "c.ipynb"]
    assert all("over the size limit" in line for line in submission.refused)


def test_names_in_refusals_are_escaped(tmp_path):
    folder = _student(tmp_path, "mallory", {"keep.txt": b""})
    (folder / "\x1b[2Kx.ipynb").symlink_to("/etc/passwd")
    assert inbox.read_submission(tmp_path, "mallory").refused == ["\\x1b[2Kx.ipynb (a symbolic link)"]


def test_the_fingerprint_follows_what_is_graded(tmp_path):
    _student(tmp_path, "alice", {NOTEBOOK: b"{}", "perceptrons/notes.txt": b"one"})
    first = inbox.read_submission(tmp_path, "alice").fingerprint("grader")
    (tmp_path / "alice" / "perceptrons" / "notes.txt").write_bytes(b"two")  # not graded: same grade
    assert inbox.read_submission(tmp_path, "alice").fingerprint("grader") == first
    (tmp_path / "alice" / NOTEBOOK).write_bytes(b"{ }")
    assert inbox.read_submission(tmp_path, "alice").fingerprint("grader") != first
    assert inbox.read_submission(tmp_path, "alice").fingerprint("other grader") != first


def test_a_student_id_that_is_markup_is_never_graded(tmp_path):
    student_id = "<img src=x onerror=alert(1)>"
    _student(tmp_path, student_id, {NOTEBOOK: b"{}"})
    submission = inbox.read_submission(tmp_path, student_id)
    assert submission.files == {} and "holds characters a web page reads as markup" in submission.problem
    assert "rename the folder" in submission.problem

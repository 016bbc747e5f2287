"""What the coordinator keeps of a graded student: files, logs and nbgrader's gradebook rows.

A worker's task (grading.worker.grade_submission) returns plain data; only the coordinator
writes the course directory. The gradebook gets the same grades autograde would have saved in
it, so nbgrader's own tools (export, formgrader) show what grades.csv shows.
"""

import re
from pathlib import Path

from grading.atomic import write_atomically
from grading.course import ASSIGNMENT, AUTOGRADED, FEEDBACK, LOGS, ROOT, SUBMITTED
from grading.names import printable

# What `nbgrader submit` writes next to the notebook (secrets.token_hex(64)); `nbgrader release_feedback`
# reads it from feedback/<student>/<assignment>/ and names the released page by a hash of it, which the
# student's `fetch_feedback` recomputes from their own copy (nbgrader.exchange.default.release_feedback).
SECRET = "submission_secret.txt"
SECRET_FORM = re.compile(rb"[0-9a-f]{32,256}")

# Where a worker's files may go, below the course directory: <folder>/<student>/...
FILE_FOLDERS = (AUTOGRADED.name, FEEDBACK.name)


def write_files(student_id, files):
    """Replaces the student's autograded/ and feedback/ folders by ``files`` ({path in the course: bytes})."""
    import shutil

    for relative in files:  # every path checked before anything of the student's is removed or written
        parts = Path(relative).parts
        if len(parts) < 3 or parts[0] not in FILE_FOLDERS or parts[1] != student_id or ".." in parts:
            raise ValueError(f"a worker returned a file outside {student_id}'s folders: {relative}")
    for folder in FILE_FOLDERS:
        shutil.rmtree(ROOT / folder / student_id, ignore_errors=True)
    for relative, data in files.items():
        write_atomically(ROOT / relative, data)


def write_logs(student_id, log, kernel_log):
    """nbgrader's log of this autograde (.grading/logs/<student>.log); kernels' stderr appended to kernels.log.

    In kernels.log every line a kernel wrote is prefixed with its student's id ("alice | ...") and
    escaped (grading.names.printable), below a "--- alice" line only the grader writes: no student
    can write a line that passes for another's, or a terminal escape into a TA's `cat`.
    """
    LOGS.mkdir(parents=True, exist_ok=True)
    (LOGS / f"{student_id}.log").write_text(log or "")
    if kernel_log:
        shown = printable(student_id)
        with open(LOGS / "kernels.log", "a", encoding="utf-8") as handle:
            handle.write(f"--- {shown}\n" + "".join(f"{shown} | {printable(line)}\n" for line in kernel_log.splitlines()))


def record_grades(gradebook, student_id, entries):
    """Sets the student's grades in ``gradebook`` (an open nbgrader.api.Gradebook) as autograde does, with its
    submission time, extension and late penalty."""
    gradebook.update_or_create_student(student_id)
    gradebook.update_or_create_submission(ASSIGNMENT, student_id)
    for name, auto_score in entries["grades"].items():
        grade = gradebook.find_grade(name, entries["notebook"], ASSIGNMENT, student_id)
        grade.auto_score = auto_score
        # as nbgrader's SaveAutoGrades: a manual grade (or no automatic one) needs a look again
        grade.needs_manual_grade = grade.manual_score is not None or auto_score is None
    for name, auto_comment in entries["comments"].items():
        gradebook.find_comment(name, entries["notebook"], ASSIGNMENT, student_id).auto_comment = auto_comment
    gradebook.db.commit()
    if entries.get("late"):  # the submission time, extension and penalty as AssignLatePenalties left them
        from grading.deadlines import copy_into

        copy_into(gradebook, ASSIGNMENT, student_id, entries["notebook"], entries["late"])


def keep_submission_secret(student_id):
    """Copies submitted/<student>/<assignment>/submission_secret.txt into the student's new feedback folder,
    so that `nbgrader release_feedback` can release it; True when copied.

    The file comes from the student (through the exchange): a link, a special file, or anything but
    the hex text nbgrader writes is not copied (release_feedback then finds no secret for this student).
    """
    from grading.inbox import read_regular

    feedback = ROOT / FEEDBACK.name / student_id / ASSIGNMENT
    if not feedback.is_dir():
        return False
    try:
        secret = read_regular(ROOT / SUBMITTED.name / student_id / ASSIGNMENT / SECRET, 512)
    except ValueError:
        return False
    if not SECRET_FORM.fullmatch(secret):
        return False
    write_atomically(feedback / SECRET, secret)
    return True


def keep(outcome, gradebook):
    """Writes everything of one task's ``outcome`` but the result row (grading.batch saves that)."""
    student_id = outcome["result"]["student_id"]
    write_files(student_id, outcome["files"])
    keep_submission_secret(student_id)
    write_logs(student_id, outcome["log"], outcome["kernel_log"])
    if outcome["gradebook"] is not None:
        record_grades(gradebook, student_id, outcome["gradebook"])

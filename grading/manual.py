"""Scores a TA gives by hand: formgrader's manual grades (nbgrader's gradebook) and overrides.csv.

A grading run's rows (grading.grades.result, .grading/results/) hold what the checks measured;
the scores a person set are kept apart, where they were set, and laid over those rows whenever a
table is written (grades.csv, the summary, the class report). So a regrade (make grade, make grade
STUDENT=x) never erases them: it replaces the automatic score, never the manual one.

Two sources, read at each writing:

- ``gradebook.db``: ``Grade.manual_score`` of a part's test cell (``<part>_checks``), as
  formgrader's manual grading sets it (nbgrader.api.Gradebook). The reason is the comment the TA
  wrote on the part's answer cell (``<part>_code``, ``Comment.manual_comment``), if any. The
  coordinator only ever sets ``auto_score`` there (grading.store.record_grades).
- ``overrides.csv`` in the course directory: ``student_id,part,score,reason``, one row per score
  set by hand; it wins over the gradebook. Every row is checked; a bad row is left out with one
  sentence saying why, the others still count.

``total`` stays the sum of the parts minus the late penalty nbgrader's policy took (the penalty
is not recomputed for a manual score), as nbgrader's own ``score``.
"""

import csv
import io
import math
from dataclasses import asdict, dataclass
from pathlib import Path

from grader_tests.points import PARTS, POINTS
from grading.names import printable

OVERRIDES = "overrides.csv"
OVERRIDE_COLUMNS = ["student_id", "part", "score", "reason"]
GRADEBOOK = "gradebook.db"
FORMGRADER = "formgrader"
# overrides.csv is a TA's table: a few hundred rows. Larger is not one (and is not read whole).
MAX_OVERRIDES_BYTES = 1_000_000
MAX_REASON = 500  # characters of a reason kept


@dataclass(frozen=True)
class Manual:
    """A score set by hand for one part of one student."""

    score: float
    reason: str  # why, in the TA's words ('' when formgrader's comment was left empty)
    source: str  # "formgrader", or "overrides.csv line N"


def from_gradebook(path, assignment="perceptrons", notebook="perceptrons"):
    """{student id: {part: Manual}} of the manual scores in the nbgrader gradebook at ``path`` ({} without one).

    Two queries in all, whatever the class's size: the queries of one submission after another took
    about 6 ms a student (a class of 12: 70 ms, now 7 ms), some 12 s after every batch of 2,000."""
    path = Path(path)
    if not path.is_file():
        return {}
    from nbgrader.api import Comment, Grade, Gradebook

    from grading.cells import PART_OF_ANSWER_ID, PART_OF_GRADE_ID

    with Gradebook(f"sqlite:///{path}") as gradebook:
        found = {}
        for student_id, cell, score in _by_cell(gradebook, Grade, Grade.manual_score, assignment, notebook):
            if cell in PART_OF_GRADE_ID:
                found.setdefault(student_id, {})[PART_OF_GRADE_ID[cell]] = float(score)
        reasons = {}
        for student_id, cell, comment in _by_cell(gradebook, Comment, Comment.manual_comment, assignment, notebook):
            if cell in PART_OF_ANSWER_ID and student_id in found:
                reasons[student_id, PART_OF_ANSWER_ID[cell]] = comment.strip()[:MAX_REASON]
    return {student_id: {part: Manual(score, reasons.get((student_id, part), ""), FORMGRADER)
                         for part, score in scored.items()}
            for student_id, scored in found.items()}


def _by_cell(gradebook, model, column, assignment, notebook):
    """The query of (student id, cell name, ``column``) of every ``model`` row (nbgrader's Grade or Comment)
    of the submitted ``notebook`` of ``assignment`` in which ``column`` (a score or comment set by hand) is set."""
    from nbgrader.api import Assignment, BaseCell, Notebook, SubmittedAssignment, SubmittedNotebook

    return (gradebook.db.query(SubmittedAssignment.student_id, BaseCell.name, column)
            .select_from(model)
            .join(SubmittedNotebook, model.notebook_id == SubmittedNotebook.id)
            .join(Notebook, SubmittedNotebook.notebook_id == Notebook.id)
            .join(SubmittedAssignment, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
            .join(Assignment, SubmittedAssignment.assignment_id == Assignment.id)
            .join(BaseCell, model.cell_id == BaseCell.id)
            .filter(Assignment.name == assignment, Notebook.name == notebook, column.isnot(None)))


def read_overrides(path, students=None):
    """({student id: {part: Manual}}, [one sentence per row left out]) of the overrides file at ``path``.

    ``students``: the known student ids (None: any); a row for another id is left out. A file that
    cannot be read as a whole (not a regular file, too large, not UTF-8, wrong columns) gives one
    sentence and no overrides.
    """
    path = Path(path)
    name = path.name
    if not path.exists() and not path.is_symlink():
        return {}, []
    if path.is_symlink() or not path.is_file():
        return {}, [f"{name} is not a regular file: no override counts"]
    if path.stat().st_size > MAX_OVERRIDES_BYTES:
        return {}, [f"{name} is larger than {MAX_OVERRIDES_BYTES:,} bytes: no override counts"]
    try:
        text = path.read_bytes().decode("utf-8-sig")  # a spreadsheet's UTF-8 export may start with a BOM
    except UnicodeDecodeError as error:
        return {}, [f"{name} is not UTF-8 text (byte {error.start}): no override counts"]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [column.strip() for column in reader.fieldnames or []]
    if header != OVERRIDE_COLUMNS:
        return {}, [f"{name} must have the columns {','.join(OVERRIDE_COLUMNS)} (it has {printable(','.join(header)) or 'none'}): "
                    "no override counts"]
    reader.fieldnames = header
    known = set(students) if students is not None else None
    found, errors, where = {}, [], {}
    for row in reader:
        line = reader.line_num
        problem, manual = _override(row, known, f"{name} line {line}")
        if problem is None:
            sid, part = row["student_id"].strip(), row["part"].strip()
            if (sid, part) in where:
                problem = f"a second score for {printable(sid)}'s {part} (line {where[(sid, part)]} has one)"
            else:
                where[(sid, part)] = line
                found.setdefault(sid, {})[part] = manual
        if problem is not None:
            errors.append(f"{name} line {line}: {problem}; left out")
    return found, errors


def _override(row, known, source):
    """(None, Manual) of one overrides row, or (why it is left out, None)."""
    if None in row or any(value is None for value in row.values()):
        return "it does not have exactly the 4 columns student_id,part,score,reason", None
    sid, part, score, reason = (row[c].strip() for c in OVERRIDE_COLUMNS)
    if not sid:
        return "the student_id is empty", None
    if known is not None and sid not in known:
        return f"there is no student {printable(sid)!r} in submitted/", None
    if part not in POINTS:
        return f"the part {printable(part)!r} is none of {', '.join(PARTS)}", None
    try:
        value = float(score)
    except ValueError:
        return f"the score {printable(score)!r} is not a number", None
    if not math.isfinite(value) or not 0 <= value <= POINTS[part]:
        return f"the score {printable(score)} is outside 0 to {POINTS[part]}, the points of {part}", None
    if not reason:
        return "the reason is empty (say why the score is set by hand)", None
    return None, Manual(value, reason[:MAX_REASON], source)


def load(course_dir, students=None):
    """({student id: {part: Manual}}, [sentences about overrides left out]): the gradebook's manual scores with
    overrides.csv's laid over them, both in ``course_dir``."""
    course_dir = Path(course_dir)
    manual = from_gradebook(course_dir / GRADEBOOK)
    overrides, errors = read_overrides(course_dir / OVERRIDES, students)
    for sid, parts in overrides.items():
        manual.setdefault(sid, {}).update(parts)
    return manual, errors


def apply(res, manual):
    """The result row ``res`` (grading.grades.result) with the scores set by hand in ``manual`` ({part: Manual});
    ``res`` itself is left as it was.

    The row gets "auto_scores" (what the checks gave), "scores" (what counts), "manual" ({part:
    {"score", "auto", "reason", "source"}}) and its total again (parts - penalty).
    """
    out = dict(res)
    if not manual:  # nothing set by hand: the row as graded (also an older row without auto_scores)
        out["manual"] = {}
        if "auto_scores" in res:
            out.update(scores=dict(res["auto_scores"]), total=round(sum(res["auto_scores"].values()) - float(res.get("penalty") or 0.0), 2))
        return out
    auto = dict(res.get("auto_scores") or res.get("scores") or {})
    scores = dict(auto)
    marks = {}
    for part in PARTS:
        if part in (manual or {}):
            given = manual[part]
            scores[part] = given.score
            marks[part] = {**asdict(given), "auto": float(auto.get(part) or 0.0)}
    penalty = float(res.get("penalty") or 0.0)
    out.update(auto_scores=auto, scores=scores, manual=marks, total=round(sum(float(v or 0.0) for v in scores.values()) - penalty, 2))
    return out

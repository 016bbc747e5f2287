"""Taking in one student's submission: find the notebook, check it is readable, stage a copy.

submitted/ is never modified: make grade grades staged copies under .grading/submitted/. A
submission that cannot be graded gets a status a TA can act on instead of a silent zero.

The submission's timestamp.txt, if any, is read as untrusted text (grading.timestamps) and staged
next to the notebook in nbgrader's own format, where nbgrader's autograde reads it: a file that
cannot be read or parsed is left out (time unknown, never late) and noted.
"""

import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import nbformat

from grading.cells import ANSWER_ID_OF_PART, GRADE_ID_OF_PART, PART_OF_GRADE_ID
from grading.course import ASSIGNMENT, NOTEBOOK, STAGED
from grading.inbox import read_regular
from grading.names import printable
from grading.timestamps import TIMESTAMP, TIMESTAMP_LIMIT, Timestamp, parse as parse_timestamp, staged_text


@dataclass
class Intake:
    student_id: str
    staged: Path | None = None  # the copy to grade; None when nothing can be graded
    problem: str | None = None  # why nothing can be graded
    notes: list = field(default_factory=list)  # graded, but worth a TA's attention
    submitted_at: datetime | None = None  # from timestamp.txt (naive UTC); None: unknown


def _notebooks(folder):
    return sorted(p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def _choose(student_dir):
    """(notebook to grade, notes) or (None, problem)."""
    folder = student_dir / ASSIGNMENT
    expected = folder / NOTEBOOK
    found = _notebooks(student_dir)
    others = [p for p in found if p != expected]
    names = ", ".join(printable(p.relative_to(student_dir)) for p in others)
    if expected.is_file():
        return expected, [f"ignored extra notebook(s): {names}"] if others else []
    if len(others) == 1:
        return others[0], [f"graded {names}: no notebook named {ASSIGNMENT}/{NOTEBOOK}"]
    if not others:
        return None, f"no notebook named {ASSIGNMENT}/{NOTEBOOK}"
    return None, f"no notebook named {ASSIGNMENT}/{NOTEBOOK} (found several: {names})"


def _read(path):
    """The notebook as an nbformat node, or a problem sentence."""
    data = path.read_bytes()
    if not data.strip():
        return None, "notebook file is empty"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        return None, f"notebook is not UTF-8 text (bad byte at offset {error.start})"
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        return None, f"notebook is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg}; truncated or edited by hand?)"
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        return None, "notebook is valid JSON but not a Jupyter notebook (no list of cells)"
    try:
        return nbformat.reads(text, as_version=4), None
    except Exception as error:
        return None, f"notebook cannot be read by nbformat: {type(error).__name__}: {error}"


def _repair_cell_ids(nb):
    """Copied cells repeat their cell id, which nbformat (and so nbgrader) refuses: give copies new ids."""
    seen = set()
    for cell in nb.cells:
        if cell.get("id") in seen:
            cell["id"] = uuid.uuid4().hex[:8]
        seen.add(cell.get("id"))


def _drop_duplicate_test_cells(nb):
    """Keeps the first copy of each test cell (a pasted copy would run the checks twice); returns the parts."""
    seen, kept, dropped = set(), [], []
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in seen and grade_id in PART_OF_GRADE_ID:
            dropped.append(PART_OF_GRADE_ID[grade_id])
            continue
        seen.add(grade_id)
        kept.append(cell)
    nb.cells = kept
    return dropped


def _restore_test_cell_order(nb):
    """Moves a part's test cell back behind its answer cell if the student moved it above; returns moved parts."""
    moved = []
    for part, test_id in GRADE_ID_OF_PART.items():
        ids = [cell.metadata.get("nbgrader", {}).get("grade_id") for cell in nb.cells]
        answer_id = ANSWER_ID_OF_PART[part]
        if test_id in ids and answer_id in ids and ids.index(test_id) < ids.index(answer_id):
            cell = nb.cells.pop(ids.index(test_id))
            nb.cells.insert(ids.index(answer_id), cell)  # the answer moved up by one after the pop
            moved.append(part)
    return moved


def read_timestamp(path):
    """The Timestamp (grading.timestamps) of the file ``path``: Timestamp() when there is none, a note when refused."""
    if not os.path.lexists(path):
        return Timestamp()
    try:
        data = read_regular(path, TIMESTAMP_LIMIT, too_big=f"over {TIMESTAMP_LIMIT} bytes")
    except ValueError as reason:
        return Timestamp(note=f"{TIMESTAMP} refused ({reason}): submission time unknown")
    return parse_timestamp(data)


def take_in(student_dir):
    """Checks and stages ``student_dir`` (submitted/<student_id>)."""
    student_dir = Path(student_dir)
    intake = Intake(student_dir.name)
    chosen, notes = _choose(student_dir)
    if chosen is None:
        intake.problem = notes
        return intake
    intake.notes.extend(notes)
    try:
        nb, problem = _read(chosen)
    except OSError as error:
        nb, problem = None, f"notebook cannot be read: {error.strerror}"
    if problem:
        intake.problem = problem
        return intake
    _repair_cell_ids(nb)
    dropped = _drop_duplicate_test_cells(nb)
    if dropped:
        intake.notes.append("duplicate test cells removed: " + ", ".join(dropped))
    moved = _restore_test_cell_order(nb)
    if moved:
        intake.notes.append("test cells moved back below their answers: " + ", ".join(moved))
    target_dir = STAGED / intake.student_id / ASSIGNMENT
    shutil.rmtree(target_dir, ignore_errors=True)
    target_dir.mkdir(parents=True)
    nbformat.write(nb, str(target_dir / NOTEBOOK))
    intake.staged = target_dir / NOTEBOOK
    timestamp = read_timestamp(student_dir / ASSIGNMENT / TIMESTAMP)
    if timestamp.note:
        intake.notes.append(timestamp.note)
    if timestamp.when is not None:
        intake.submitted_at = timestamp.when
        (target_dir / TIMESTAMP).write_text(staged_text(timestamp.when) + "\n", encoding="utf-8")
    return intake

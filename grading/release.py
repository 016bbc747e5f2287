"""The release (source/ -> release/, and the assignment's cells in a gradebook), made once per grader.

nbgrader's generate_assignment costs about 1.5 s and nbgrader's imports. make grade needs a release
in two places: the course itself (release/ for the students, gradebook.db for formgrader and the
feedback pages), and every worker's private course directory (the gradebook its autograde reads
the source cells from). Both depend only on the grader (the source notebook, nbgrader_config.py,
the grading code: grading.batch.grader_version) and on nbgrader's version, so:

- the coordinator releases into the course when either changed since its last release, or when
  release/ or gradebook.db lost it (:func:`release_course`; the stamp is .grading/released.json);
- a worker gets a gradebook holding the release alone (no student in it), made once per grader in a
  scratch directory and kept in .grading/releases/ (:func:`release_gradebook`), and releases
  itself only when there is none yet (the first batch after a change: the coordinator makes it then).
"""

import importlib.metadata
import json
import logging
import shutil
import sqlite3
import tempfile
from pathlib import Path

from grading.atomic import write_atomically
from grading.course import ASSIGNMENT, NOTEBOOK, ROOT, SOURCE_NOTEBOOK, STATE

RELEASED = ROOT / "release" / ASSIGNMENT / NOTEBOOK
STAMP = STATE / "released.json"
GRADEBOOKS = STATE / "releases"


class ReleaseFailed(RuntimeError):
    """generate_assignment did not succeed (its error or log is the message)."""


def generate(root=ROOT, sandbox=True):
    """nbgrader's generate_assignment of the course's source notebook in the course directory ``root``."""
    from nbgrader.apps import NbGraderAPI  # noqa: PLC0415 - seconds of imports, only when a release is made

    from grading.course import nbgrader_config, quicker_gradebook_creation  # noqa: PLC0415

    quicker_gradebook_creation()
    config = nbgrader_config(sandbox=sandbox)
    if Path(root) != ROOT:
        config.CourseDirectory.root = str(root)
        config.CourseDirectory.db_url = f"sqlite:///{Path(root) / 'gradebook.db'}?timeout=60"
    api = NbGraderAPI(config=config)
    api.log.setLevel(logging.ERROR)
    outcome = api.generate_assignment(ASSIGNMENT, force=True, create=True)
    if not outcome["success"]:
        raise ReleaseFailed((outcome.get("error") or outcome.get("log") or "")[-1000:])


def _stamp(grader):
    return {"grader": grader, "nbgrader": importlib.metadata.version("nbgrader")}


def _holds_release(gradebook):
    """Whether the SQLite file ``gradebook`` has the assignment and its notebook (read-only, no SQLAlchemy)."""
    if not Path(gradebook).is_file():
        return False
    try:
        with sqlite3.connect(f"file:{gradebook}?mode=ro", uri=True) as db:
            return db.execute("SELECT 1 FROM notebook JOIN assignment ON notebook.assignment_id = assignment.id "
                              "WHERE assignment.name = ? AND notebook.name = ?",
                              (ASSIGNMENT, NOTEBOOK.removesuffix(".ipynb"))).fetchone() is not None
    except sqlite3.Error:
        return False


def release_course(grader):
    """release/ and gradebook.db of the course for ``grader``: generate_assignment unless this grader's release is there.

    Returns whether it released. Raises ReleaseFailed.
    """
    try:
        done = json.loads(STAMP.read_text())
    except (OSError, ValueError):
        done = None
    if done == _stamp(grader) and RELEASED.is_file() and _holds_release(ROOT / "gradebook.db"):
        return False
    STAMP.unlink(missing_ok=True)
    generate(ROOT)
    STATE.mkdir(parents=True, exist_ok=True)
    write_atomically(STAMP, json.dumps(_stamp(grader)))
    return True


def _gradebook_path(grader):
    return GRADEBOOKS / f"{grader[:32]}-nbgrader-{_stamp(grader)['nbgrader']}.db"


def kept_gradebook(grader):
    """The bytes of the release-only gradebook of ``grader``, if one was made (else None)."""
    path = _gradebook_path(grader)
    return path.read_bytes() if _holds_release(path) else None


def release_gradebook(grader):
    """The bytes of a gradebook holding the release of ``grader`` alone, made in a scratch directory once and kept."""
    kept = kept_gradebook(grader)
    if kept is not None:
        return kept
    with tempfile.TemporaryDirectory(prefix="release-") as scratch:
        shutil.copytree(SOURCE_NOTEBOOK.parent, Path(scratch) / "source" / ASSIGNMENT)
        generate(scratch)
        data = (Path(scratch) / "gradebook.db").read_bytes()
    GRADEBOOKS.mkdir(parents=True, exist_ok=True)
    for old in GRADEBOOKS.glob("*.db"):  # one grader's at a time
        old.unlink(missing_ok=True)
    write_atomically(_gradebook_path(grader), data)
    return data

"""Where things are in the course directory, and the nbgrader configuration used to grade it."""

from pathlib import Path

from traitlets.config import Config

from grading import settings

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "perceptrons"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
SOURCE_NOTEBOOK = ROOT / "source" / ASSIGNMENT / NOTEBOOK
SUBMITTED = ROOT / "submitted"
AUTOGRADED = ROOT / "autograded"
FEEDBACK = ROOT / "feedback"
GRADES_CSV = ROOT / "grades.csv"
# make grade's own state: staged copies of the submissions and one result file per student.
STATE = ROOT / ".grading"
STAGED = STATE / "submitted"
RESULTS = STATE / "results"
LOGS = STATE / "logs"  # nbgrader's log of each student's last autograde
RUN_INFO = STATE / "run.json"  # when and how the last batch ran


def nbgrader_config(sandbox=True, compile_cache=None):
    """The course's nbgrader_config.py, plus what `make grade` changes.

    make grade reads submissions from the staged copies (so submitted/ is never modified) and
    runs notebooks with grading.execute.GradingExecute instead of nbgrader's Execute: the kernel
    in a sandbox (unless ``sandbox`` is False), the hidden checks outside it; ``compile_cache``:
    the directory of grading.compile_cache its kernels read, or None.
    """
    config = settings.load_course_config()
    from grading.execute import GradingExecute  # noqa: PLC0415 - keeps this module light to import
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import AssignLatePenalties, CheckCellMetadata, IgnorePattern, LimitOutput, SaveAutoGrades

    overlay = Config()
    overlay.CourseDirectory.submitted_directory = str(STAGED.relative_to(ROOT))
    overlay.Autograde.autograde_preprocessors = [
        GradingExecute, "grading.sanitize.SanitizeStudentContent", IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
        "grading.deadlines.ApplyDeadlines", AssignLatePenalties, CheckCellMetadata,
    ]
    # Workers grade everyone under one alias: they write the real student's extension themselves (grading.worker).
    overlay.ApplyDeadlines.extensions_by_student_id = False
    overlay.GradingExecute.kernel_log = str(LOGS / "kernels.log")
    overlay.GradingExecute.sandbox = sandbox
    overlay.GradingExecute.compile_cache = str(compile_cache or "")
    overlay.GradingExecute.timeout = settings.current(config).cell_timeout  # GRADING_CELL_TIMEOUT overrides the file
    config.merge(overlay)
    return config


def gradebook_url():
    """The course gradebook's address, as nbgrader reads it from nbgrader_config.py.

    Without :func:`nbgrader_config`'s overlay, whose executor (and the checks' pytest, nbclient)
    the coordinator does not need: their imports took half a second while the workers, ready,
    waited for their first students.
    """
    from nbgrader.coursedir import CourseDirectory  # noqa: PLC0415

    return CourseDirectory(config=settings.load_course_config()).db_url


def quicker_gradebook_creation():
    """nbgrader stamps a new gradebook with the alembic head it learns by running `alembic heads` in
    a subprocess (~4 s: a Python start and alembic's imports, once per worker); the same answer, in-process."""
    import nbgrader.api
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    def alembic_head():
        with nbgrader.api._temp_alembic_ini("sqlite:////tmp/gradebook.db") as alembic_ini:
            return ScriptDirectory.from_config(AlembicConfig(alembic_ini)).get_current_head()

    nbgrader.api.get_alembic_version = alembic_head

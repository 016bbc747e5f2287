"""nbgrader configuration, read by every nbgrader command run in this directory (and by `make grade`)."""

import os

import nbgrader
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, ClearHiddenTests, Execute, GetGrades, IgnorePattern,
                                    LimitOutput, SaveAutoGrades)

from grading.deadlines import ApplyDeadlines, ExplainDeadline
from grading.feedback import FeedbackExporter, FeedbackLayout, HideGraderTracebacks
from grading.late_policy import LatePenalty
from grading.sanitize import SanitizeStudentContent

c = get_config()  # noqa: F821 - injected by traitlets when it loads this file

ROOT = os.path.dirname(os.path.abspath(__file__))

# --- The perceptrons course ---------------------------------------------------------------
# Course id, shown in nbgrader's UI and used by its exchange.
c.CourseDirectory.course_id = "perceptrons-course"
# nbgrader's exchange (README, TAs, "From nbgrader's exchange"): nbgrader 0.9.6's default directory is
# /usr/local/share/nbgrader/exchange; another must be named here and in every student's nbgrader_config.py:
# c.Exchange.root = "/srv/nbgrader/exchange"
# Paths are relative to this file, so every command works from a fresh clone wherever it lies.
c.CourseDirectory.root = ROOT
# SQLite gradebook at the root. timeout=60: parallel graders wait for the write lock instead of
# failing with "database is locked" (each write holds it for milliseconds).
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(ROOT, "gradebook.db") + "?timeout=60"
# --- Deadlines -----------------------------------------------------------------------------
# The one place for the due date, the extensions and the late policy (README, "Deadlines").
# nbgrader reads a submission's time from the timestamp.txt `nbgrader collect` writes; no file:
# time unknown, never counted late. The due date, in nbgrader's timestamp format (empty: none):
c.Deadlines.duedate = "2026-12-11 17:00:00 UTC"
# Extensions, in hours, per student id (nbgrader's SubmittedAssignment.extension), e.g. {"bob": 48}:
c.Deadlines.extensions = {}
# The late policy, an nbgrader LateSubmissionPlugin (grading/late_policy.py): 10% of the maximum
# score per started day late, at most 50%; more than 7 days late: the whole score.
c.AssignLatePenalties.plugin_class = LatePenalty
c.LatePenalty.percent_per_period = 10.0
c.LatePenalty.period = "day"
c.LatePenalty.max_percent = 50.0
c.LatePenalty.zero_after_days = 7.0
# nbgrader's own autograde steps, with ApplyDeadlines (the dates above into the gradebook) before
# AssignLatePenalties, so plain `nbgrader autograde` applies them too (make grade: grading/course.py).
c.Autograde.autograde_preprocessors = [Execute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
                                       ApplyDeadlines, AssignLatePenalties, CheckCellMetadata]
# --- Grading's limits ----------------------------------------------------------------------
# Every limit of make grade is a GradingSettings option, with its default, unit and reason in
# grading/settings.py (`.venv/bin/python -m grading.settings` prints them all). Set one here, e.g.
# c.GradingSettings.submission_budget = 900
# Per-cell limit while autograding. A hidden test cell runs a part's checks (1-5 s on this
# 2-core machine; each call of student code is itself limited to 30 s by the grader); 120 s
# leaves room for slow but correct code and a loaded machine, and stops an endless loop.
c.GradingSettings.cell_timeout = 120
c.Execute.timeout = c.GradingSettings.cell_timeout  # plain `nbgrader autograde` too
# A kernel that needs longer than this to start is broken, not slow.
c.Execute.startup_timeout = 60
# Keep stored outputs small: a print loop must not bloat the autograded notebook or feedback.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 40
# Feedback shows each check's result and hint, never the hidden test source, the grader's code
# or tracebacks that pass through them (nbgrader's default shows hidden tests verbatim).
# Student markdown and outputs are cleaned (grading/sanitize.py: nbconvert's SanitizeHTML; make grade
# already cleans the autograded notebook, plain `nbgrader autograde` does not), and the page is
# grading/templates/feedback_safe: nbgrader's feedback page with a Content-Security-Policy that
# allows no script at all. Scoped to GenerateFeedback: formgrader keeps its own template.
# FeedbackLayout: the summary at the top (total, penalty, per part score, checks and hints) and the order of the
# page (grading/feedback.py); math becomes MathML in SanitizeStudentContent (no MathJax, no network).
c.GenerateFeedback.preprocessors = [GetGrades, ExplainDeadline, ClearHiddenTests, HideGraderTracebacks, FeedbackLayout,
                                    SanitizeStudentContent, CSSHTMLHeaderPreprocessor]
FORMGRADER = os.path.join(os.path.dirname(nbgrader.__file__), "server_extensions", "formgrader")
c.GenerateFeedback.HTMLExporter.template_name = "feedback_safe"
# The page as the template makes it, without nbconvert's BeautifulSoup pass over it (grading.feedback.FeedbackExporter).
c.GenerateFeedback.exporter_class = FeedbackExporter
c.GenerateFeedback.HTMLExporter.extra_template_basedirs = [os.path.join(ROOT, "grading", "templates"),
                                                           os.path.join(FORMGRADER, "templates")]
# nbgrader's own paths (bootstrap's CSS), plus its templates, where feedback_safe finds the page it extends.
c.GenerateFeedback.HTMLExporter.extra_template_paths = [
    os.path.join(FORMGRADER, "static", "node_modules", "bootstrap", "dist", "css"), os.path.join(FORMGRADER, "templates")]
# A student who deleted a test cell gets it back from the gradebook instead of losing the part.
c.OverwriteCells.add_missing_cells = True
# Kernels log only errors: their start-up warnings would otherwise bury the grader's own messages.
c.Execute.extra_arguments = ["--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=ERROR"]

# `nbgrader export` writes its own table here, never over make grade's grades.csv (README, "Plain nbgrader").
c.ExportPlugin.to = os.path.join(ROOT, "nbgrader_grades.csv")

"""The due date and the extensions, stated once in nbgrader_config.py, written where nbgrader reads them.

nbgrader computes lateness from its gradebook: a submission's ``timestamp`` (autograde reads it
from timestamp.txt), the assignment's ``duedate`` and the submission's ``extension``
(``SubmittedAssignment.total_seconds_late``); AssignLatePenalties then asks the late policy
(grading.late_policy) for the penalty. nbgrader 0.9.6 has no configuration option for either
date, so the course states them here::

    c.Deadlines.duedate = "2026-12-11 17:00:00 UTC"    # nbgrader's timestamp format
    c.Deadlines.extensions = {"bob": 48}                # hours, per student id

and :class:`ApplyDeadlines`, an autograde preprocessor placed before AssignLatePenalties (in
nbgrader_config.py, so plain ``nbgrader autograde`` runs it too), writes them into the gradebook
for the student being graded. A due date left unset keeps whatever the gradebook holds (none:
nothing is late); so does a student without an extension here.

:class:`ExplainDeadline`, a feedback preprocessor, tells the student the due date, their
submission time, how late it was, the penalty and the policy.
"""

import datetime

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Dict, Float, Unicode
from traitlets.config import Configurable


class Deadlines(Configurable):
    """The assignment's due date and the per-student extensions (nbgrader_config.py)."""

    duedate = Unicode("", help="the due date, in nbgrader's timestamp format ('2026-12-11 17:00:00 UTC'); empty: none").tag(config=True)
    extensions = Dict(value_trait=Float(), help="hours of extension per student id ({'bob': 48})").tag(config=True)

    def due(self):
        """The due date as a naive UTC datetime, or None. ValueError (one sentence) when it is no time."""
        from nbgrader.utils import parse_utc

        if not self.duedate.strip():
            return None
        try:
            return parse_utc(self.duedate.strip())
        except (ValueError, OverflowError) as error:
            raise ValueError(f"c.Deadlines.duedate = {self.duedate!r} in nbgrader_config.py is not a time nbgrader can read "
                             f"({error}); write it as '2026-12-11 17:00:00 UTC'") from None

    def extension(self, student_id):
        """The student's extension as a timedelta; None when they have none here."""
        hours = self.extensions.get(student_id)
        return datetime.timedelta(hours=hours) if hours else None


def apply(gradebook, assignment_id, student_id, deadlines, extension_of=None):
    """Writes ``deadlines`` into ``gradebook`` (an open nbgrader Gradebook) for ``student_id``'s submission.

    ``extension_of``: the id the extension is looked up by (``student_id`` by default; make grade's
    workers grade everyone under one alias). The submission is created if it does not exist yet.
    """
    due = deadlines.due()
    if due is not None:
        gradebook.find_assignment(assignment_id).duedate = due
    extension = deadlines.extension(extension_of or student_id)
    if extension is not None:
        gradebook.update_or_create_student(student_id)
        gradebook.update_or_create_submission(assignment_id, student_id).extension = extension
    gradebook.db.commit()


class ApplyDeadlines(NbGraderPreprocessor):
    """Autograde: the configured due date and the student's extension into the gradebook, before AssignLatePenalties."""

    extensions_by_student_id = Bool(True, help=(
        "look the extension up by the id autograde grades under; make grade's workers grade everyone under one "
        "alias and write the real student's extension themselves (grading.worker)")).tag(config=True)

    def preprocess(self, nb, resources):
        from nbgrader.api import Gradebook

        info = resources["nbgrader"]
        deadlines = Deadlines(parent=self)
        if not self.extensions_by_student_id:
            deadlines.extensions = {}
        with Gradebook(info["db_url"]) as gradebook:
            apply(gradebook, info["assignment"], info["student"], deadlines)
        return nb, resources

    def preprocess_cell(self, cell, resources, cell_index):
        return cell, resources


def late_facts(gradebook, assignment_id, student_id, notebook_id):
    """{"submitted_at", "due", "timestamp_iso", "assignment_due_iso", "extension_hours", "seconds_late", "penalty"}
    of a graded submission, as plain data.

    ``submitted_at`` and ``due`` (with the extension) are 'YYYY-MM-DD HH:MM:SS UTC' or None
    (unknown / no due date); the two ``_iso`` are exact, for copying into another gradebook.
    """
    from grading.timestamps import shown

    submission = gradebook.find_submission(assignment_id, student_id)
    notebook = gradebook.find_submission_notebook(notebook_id, assignment_id, student_id)
    due = submission.duedate
    return {
        "submitted_at": shown(submission.timestamp) if submission.timestamp else None,
        "due": shown(due) if due else None,
        "timestamp_iso": submission.timestamp.isoformat() if submission.timestamp else None,  # naive UTC, exact
        "assignment_due_iso": submission.assignment.duedate.isoformat() if submission.assignment.duedate else None,
        "extension_hours": submission.extension.total_seconds() / 3600 if submission.extension else 0.0,
        "seconds_late": float(submission.total_seconds_late),
        "penalty": float(notebook.late_submission_penalty or 0.0),
    }


def duration(seconds):
    """'1 day 2 h 3 min 4 s' (the largest units first; '0 s' for nothing)."""
    seconds = int(round(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    words = [f"{days} day{'s' if days != 1 else ''}" if days else "", f"{hours} h" if hours else "",
             f"{minutes} min" if minutes else "", f"{secs} s" if secs else ""]
    return " ".join(w for w in words if w) or "0 s"


def policy_description(parent):
    """The configured late policy in words (its ``describe()``, or its class name)."""
    from nbgrader.preprocessors import AssignLatePenalties

    plugin = AssignLatePenalties(parent=parent).plugin_class(parent=parent)
    describe = getattr(plugin, "describe", None)
    return describe() if describe else f"{type(plugin).__name__} ({getattr(plugin, 'penalty_method', '')})"


def sentences(facts, policy):
    """What the feedback page says of the deadline: a list of sentences (plain text, to be escaped)."""
    if facts["due"] is None:
        return []
    extension = f" (with an extension of {duration(facts['extension_hours'] * 3600)})" if facts["extension_hours"] else ""
    lines = [f"Due: {facts['due']}{extension}."]
    if facts["submitted_at"] is None:
        lines.append("Submitted: time unknown (no timestamp): not counted late.")
        return lines
    lines.append(f"Submitted: {facts['submitted_at']}.")
    if facts["seconds_late"] > 0:
        lines.append(f"Late by {duration(facts['seconds_late'])}: late penalty {facts['penalty']:g} point(s) "
                     f"(late policy: {policy}).")
    else:
        lines.append("On time: no late penalty.")
    return lines


class ExplainDeadline(NbGraderPreprocessor):
    """Feedback: resources["nbgrader"]["deadline"], the sentences of :func:`sentences` (the template shows them)."""

    def preprocess(self, nb, resources):
        from nbgrader.api import Gradebook, MissingEntry

        info = resources["nbgrader"]
        try:
            with Gradebook(info["db_url"]) as gradebook:
                facts = late_facts(gradebook, info["assignment"], info["student"], info["notebook"])
        except MissingEntry:
            facts = {"due": None}
        info["deadline"] = sentences(facts, policy_description(self))
        return nb, resources

    def preprocess_cell(self, cell, resources, cell_index):
        return cell, resources


def copy_into(gradebook, assignment_id, student_id, notebook_id, facts):
    """Writes ``facts`` (:func:`late_facts` of a worker's gradebook) into ``gradebook`` (the coordinator's)."""
    from nbgrader.utils import parse_utc

    if facts.get("assignment_due_iso"):
        gradebook.find_assignment(assignment_id).duedate = parse_utc(facts["assignment_due_iso"])
    submission = gradebook.update_or_create_submission(assignment_id, student_id)
    submission.timestamp = parse_utc(facts["timestamp_iso"]) if facts.get("timestamp_iso") else None
    hours = facts.get("extension_hours") or 0.0
    submission.extension = datetime.timedelta(hours=hours) if hours else None
    notebook = gradebook.find_submission_notebook(notebook_id, assignment_id, student_id)
    notebook.late_submission_penalty = facts.get("penalty") or None
    gradebook.db.commit()

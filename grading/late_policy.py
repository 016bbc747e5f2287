"""The course's late policy: an nbgrader LateSubmissionPlugin (``c.AssignLatePenalties.plugin_class``).

nbgrader's AssignLatePenalties calls it for a submission whose gradebook row is late (its
timestamp after the assignment's duedate plus the student's extension) and stores what it
returns, capped at the notebook's score, as the notebook's ``late_submission_penalty``; the
notebook's score, nbgrader export's ``score`` and the feedback page's score are after it. The
same plugin runs in ``make grade`` and in plain ``nbgrader autograde``.

The policy, set in nbgrader_config.py (every trait has a default):

- ``percent_per_period`` of the maximum score for every *started* period late (1 s late is one
  period; exactly one period late is one period);
- ``period``: "day" or "hour";
- ``max_percent``: the cap, as a percentage of the maximum score;
- ``zero_after_days``: more than this many days late loses everything (0: never).
"""

import math

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Enum, Float

PERIOD_SECONDS = {"day": 86400, "hour": 3600}


class LatePenalty(LateSubmissionPlugin):
    """A percentage of the maximum score per started period late, capped; everything after N days."""

    percent_per_period = Float(10.0, help="percent of the maximum score lost per started period late").tag(config=True)
    period = Enum(("day", "hour"), default_value="day", help="the period the percentage is counted in").tag(config=True)
    max_percent = Float(50.0, help="the most a late submission loses, in percent of the maximum score").tag(config=True)
    zero_after_days = Float(7.0, help="more than this many days late loses the whole score (0: never)").tag(config=True)
    max_score = Float(0.0, help="the maximum score the percentages are of (0: the course's, grader_tests.points.MAX_TOTAL)").tag(config=True)

    def maximum(self):
        if self.max_score > 0:
            return self.max_score
        from grader_tests.points import MAX_TOTAL

        return float(MAX_TOTAL)

    def periods_late(self, seconds_late):
        """Started periods in ``seconds_late`` (0 when not late)."""
        return math.ceil(seconds_late / PERIOD_SECONDS[self.period]) if seconds_late > 0 else 0

    def penalty(self, score, seconds_late):
        """Points lost by a submission of ``score`` ``seconds_late`` late (before nbgrader caps it at the score)."""
        if seconds_late <= 0:
            return 0.0
        if self.zero_after_days > 0 and seconds_late > self.zero_after_days * 86400:
            return float(score)
        percent = min(self.max_percent, self.percent_per_period * self.periods_late(seconds_late))
        return round(self.maximum() * percent / 100.0, 4)

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        return self.penalty(score, total_seconds_late)

    def describe(self):
        """The policy in one sentence, for the feedback page and the README."""
        zero = (f"; more than {self.zero_after_days:g} days late: the whole score" if self.zero_after_days > 0 else "")
        return (f"{self.percent_per_period:g}% of the maximum score ({self.maximum():g} points) per started {self.period} late, "
                f"at most {self.max_percent:g}%{zero}")

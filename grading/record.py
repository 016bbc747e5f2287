"""The grading record: what the executor measured while grading one submission, as data.

The executor (grading.execute) writes it where things happen: per part the score, every check's
result and the time the checks took; per cell each problem as a code (a time-out, a dead kernel,
the budget used up, outputs over the cap). Everything downstream reads these fields: the
worker's row and gradebook entries, the retry of the batch, grades.csv's status, the class
report. Nothing is read back from text a kernel wrote, so nothing a student prints can set a
status.

nbgrader's API returns no per-notebook data, so the executor, which nbgrader runs inside the
worker's own process, hands its record over in this process: :func:`publish` and :func:`take`.
"""

from dataclasses import dataclass, field

# Problem codes, the words grades.csv shows for them, and which of them earn a retry alone.
WORDS = {
    "timed_out": "timed out",  # a cell ran past its time-out, or a call of the student's code inside a check did
    "kernel_died": "kernel died",  # the kernel process died (os._exit, a crash, too much memory)
    "kernel_restarted": "kernel stopped answering",  # it ignored an interrupt and was replaced
    "out_of_time": "out of time",  # the submission's budget was used up; later cells were not run
    "output_capped": "outputs over the cap dropped",  # the cell's or the submission's output cap was reached
}
# A time-out or a dead kernel may be the machine's doing, not the code's: when the executor saw a
# sign of that (grading.load: the kernel waited for a CPU; a kernel killed from outside), the
# student is graded once more, alone, before it counts. Otherwise the outcome is final.
RETRIED = {"timed_out", "kernel_died"}
# Problems that leave the grade as it is: worth a TA's look, not a regrade.
NOTES = {"output_capped"}
# A time-out that was the code's own (no sign of load, or seen again when graded alone) is a graded
# outcome: the part that timed out keeps the credit of the checks it passed, nothing is left to look at.
FINAL = {"timed_out"}


@dataclass
class Problem:
    code: str  # a key of WORDS
    cell: int  # index of the cell in the notebook
    part: str | None = None  # the graded part whose cell it is
    maybe_load: bool = False  # the machine may have caused it (see RETRIED)

    def words(self):
        return f"{WORDS[self.code]} in cell {self.cell}" + (f" ({self.part})" if self.part else "")


@dataclass
class PartRecord:
    score: float
    max: int
    checks: list  # [{"name", "passed", "message", "hint", "stop"}] as grader_tests.runner reports them
    seconds: float = 0.0


@dataclass
class Record:
    sandboxed: bool = True
    parts: dict = field(default_factory=dict)  # {part: PartRecord}
    problems: list = field(default_factory=list)  # [Problem], in the order they happened
    output_bytes: int = 0  # bytes of output the kernel sent that were kept

    def add(self, code, cell, part=None, maybe_load=False):
        """Records a problem once per code and cell; a sign of load seen either time is kept."""
        for problem in self.problems:
            if (problem.code, problem.cell, problem.part) == (code, cell, part):
                problem.maybe_load = problem.maybe_load or maybe_load
                return
        self.problems.append(Problem(code, cell, part, maybe_load))


def problems_of(data):
    """[Problem] of a stored list of dicts (a result row's "problems")."""
    return [Problem(**p) for p in data or [] if isinstance(p, dict) and p.get("code") in WORDS]


def final(problems, retried=False):
    """True when ``problems`` (besides notes) are only time-outs that were the code's own: a final grade, not one to look at."""
    serious = [p for p in problems if p.code not in NOTES]
    return bool(serious) and all(p.code in FINAL and (retried or not p.maybe_load) for p in serious)


def describe(problems):
    """The status words of ``problems`` (a list of Problem): 'timed out in cell 56 (train_nn)'; '' when none."""
    return "; ".join(p.words() for p in problems if p.code not in NOTES)


def notes(problems):
    return [p.words() for p in problems if p.code in NOTES]


def needs_retry(problems):
    return any(p.code in RETRIED and p.maybe_load for p in problems)


_published = {}


def publish(student_id, record):
    """Hands ``record`` to whoever grades ``student_id`` in this process (the worker)."""
    _published[student_id] = record


def take(student_id):
    """The record the executor published for ``student_id``, or None; it is handed over once."""
    return _published.pop(student_id, None)


_on_part_checked = None


def on_part_checked(callback):
    """Who hears of each part's checks as they finish in this process: ``callback(part)``, or None."""
    global _on_part_checked
    _on_part_checked = callback


def part_checked(part):
    """The executor has checked ``part`` of the submission it grades (progress only: never a grade)."""
    if _on_part_checked is not None:
        try:
            _on_part_checked(part)
        except Exception:  # progress is a courtesy: it never costs a grade
            pass

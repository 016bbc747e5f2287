"""How grading reads a notebook's code cells: the tag of the cells it leaves out, and the magics it
drops from a cell's source.

One copy of each rule, read by the agent inside the sandbox (:mod:`sandbox.agent`) and by the grader
outside (:mod:`grading.cells`). It imports nothing, so the grading coordinator, which reads these
rules while it loads the course's configuration, does not import JAX (the agent's probes do) on its
way to starting the batch.
"""

# Cells a notebook submission does not need for its graded names (see the exercise notebook).
SKIP_TAG = "skip-when-grading"


def strip_magics(source):
    """The source without IPython magics and shell escapes, which mean nothing to plain Python."""
    return "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))

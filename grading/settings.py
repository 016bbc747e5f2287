"""Every limit of grading a TA or instructor may change, in one place: its default, unit and why.

Set one in nbgrader_config.py (``c.GradingSettings.cell_timeout = 90``); the environment variable
named beside a setting overrides the file for one run (``GRADING_CELL_TIMEOUT=40 make grade``).
Whatever enforces a limit asks :func:`current` for it. The README's limits table is printed from
this module (``python -m grading.settings``), and a test keeps the two the same.

A few limits are fixed in the code that enforces them, where no setting reaches: the agent next to
student code, the wire format between it and the checks, the notebook's own visible checks; and
a few are nbgrader's own options, set in nbgrader_config.py. Both are listed here too
(:func:`fixed_limits`, :data:`NBGRADER_OPTIONS`), so that this is the one index.

Settings that can change a grade are part of the grader's identity: nbgrader_config.py is in the
grader kit, and the variables of ``GRADE_ENVIRONMENT`` are in its manifest (grading.batch).
"""

import functools
import os
import sys
from pathlib import Path

from traitlets import Float, Integer, TraitError, TraitType
from traitlets.config import Configurable
from traitlets.config.loader import PyFileConfigLoader

COURSE_CONFIG = Path(__file__).resolve().parent.parent / "nbgrader_config.py"
KiB, MiB, GiB = 2**10, 2**20, 2**30


def _setting(trait, unit, why, env=None):
    return trait.tag(config=True, unit=unit, why=why, env=env)


class GradingSettings(Configurable):
    """The limits of make grade (and of python -m grading.check where they apply)."""

    cell_timeout = _setting(Integer(120, help="one cell while autograding; a test cell's hidden checks share it, within the submission's budget"),
                            "s", "a test cell's checks take 1–5 s; room for slow but correct code on a loaded machine",
                            env="GRADING_CELL_TIMEOUT")
    submission_budget = _setting(Float(600.0, help="one submission: cells past it are not run, and say so"),
                                 "s", "a kernel replayed after a death or a hang replays only while budget is left")
    cell_output_limit = _setting(Integer(512 * KiB, help="output kept per cell, every output type, as received"),
                                 "bytes", "a print loop or a flood of images cannot fill memory, the notebook or the feedback")
    submission_output_limit = _setting(Integer(4 * MiB, help="output kept per submission, every output type"),
                                       "bytes", "the same, for a whole notebook")
    kernel_message_limit = _setting(Integer(16 * MiB, help="one frame of a kernel message"),
                                    "bytes", "ZeroMQ drops a bigger one before the grading process holds it")
    kernel_memory = _setting(Integer(4 * GiB, help="address space of the sandbox's processes"),
                             "bytes", "a hog gets a MemoryError in its own cell; a correct run peaks at ~2.3 GiB of address space")
    kernel_processes = _setting(Integer(512, help="processes and threads in the sandbox"),
                                "count", "JAX and torch start dozens; a fork bomb stops in its own sandbox")
    kernel_file_size = _setting(Integer(64 * MiB, help="one file written in the sandbox"),
                                "bytes", "a disk filler stops in its own sandbox")
    kernel_open_files = _setting(Integer(1024, help="files open at once in the sandbox"), "count", "the system's usual soft limit")
    kernel_tmp = _setting(Integer(256 * MiB, help="the sandbox's private /tmp"), "bytes", "scratch space; gone with the sandbox")
    kernel_home = _setting(Integer(128 * MiB, help="the sandbox's private HOME (the notebook's folder lies in it)"),
                           "bytes", "matplotlib's and JAX's caches; gone with the sandbox")
    kernel_shm = _setting(Integer(64 * MiB, help="the sandbox's private /dev/shm"), "bytes", "torch's shared memory")
    notebook_limit = _setting(Integer(10 * MiB, help="one notebook file read from submitted/"),
                              "bytes", "the exercise notebook is 0.1 MB (about 2 MB with every plot of the lesson in it)")
    submission_limit = _setting(Integer(30 * MiB, help="notebooks read from one student's folder"), "bytes", "three full notebooks")
    entry_limit = _setting(Integer(10_000, help="directory entries looked at in one student's folder"),
                           "count", "a zip bomb of empty files stops here")
    kernel_log_limit = _setting(Integer(256 * KiB, help="the kernels' own stderr kept per student (the last bytes)"),
                                "bytes", "start-up warnings are a few KB")
    workers = _setting(Integer(0, help="worker processes of the local cluster (0: one per core)"),
                       "count", "make grade WORKERS=N and --workers N say it for one run", env="GRADING_WORKERS")


# nbgrader's own options that limit grading: (option, what, why), their values read from nbgrader_config.py.
NBGRADER_OPTIONS = [
    ("Execute.startup_timeout", "a kernel's start", "a kernel that needs longer is broken, not slow"),
    ("LimitOutput.max_lines", "lines of one output stream stored", "the autograded notebook and the feedback stay readable"),
    ("LimitOutput.max_traceback", "lines of one traceback stored", "the same, for errors"),
]
# Variables that change a grade when set (the grader's manifest records them, grading.batch).
GRADE_ENVIRONMENT = ("GRADING_CELL_TIMEOUT", "XLA_FLAGS")


def load_course_config():
    """A fresh traitlets Config of the course's nbgrader_config.py (nbgrader's settings and GradingSettings)."""
    return PyFileConfigLoader(COURSE_CONFIG.name, path=str(COURSE_CONFIG.parent)).load_config()


@functools.lru_cache(maxsize=1)
def _course_config():
    return load_course_config()


def current(config=None):
    """The GradingSettings in force: from ``config`` (an nbgrader Config), else from nbgrader_config.py,
    then each setting's environment variable if it is set. Raises ValueError (one sentence) for a
    variable that is not a valid value."""
    settings = GradingSettings(config=_course_config() if config is None else config)
    for name, trait in settings.traits(env=lambda env: env is not None).items():
        variable = trait.metadata["env"]
        text = os.environ.get(variable, "").strip()
        if text:
            try:
                setattr(settings, name, trait.from_string(text))
            except (TraitError, ValueError):
                raise ValueError(f"{variable}={text!r} is not a valid {name} (a number of {trait.metadata['unit']})") from None
    return settings


def fixed_limits():
    """(limit, value, where, why) of the limits fixed in code; see the module docstring."""
    from grader_tests.submission import ANSWER_GRACE  # noqa: PLC0415 - the checks' floor, read for the index only
    from sandbox import wire  # noqa: PLC0415
    from sandbox.agent import CALL_TIME_LIMIT, LOAD_TIME_LIMIT  # noqa: PLC0415

    return [
        ("one call of student code inside a check", f"{CALL_TIME_LIMIT:g} s, and the grader waits {ANSWER_GRACE:g} s more for the whole answer",
         "`sandbox/agent.py`, `grader_tests/submission.py`",
         "correct code needs < 5 s; a hang fails that check, and later calls of the same function fail at once"),
        ("loading a submitted file (`python -m grading.check`)", f"{LOAD_TIME_LIMIT:g} s", "`sandbox/agent.py`",
         "running the notebook's code, before its names are looked up"),
        ("one answer from the sandbox", f"{wire.MAX_FRAME // MiB} MiB a frame, {wire.MAX_ITEMS:,} items, {wire.MAX_ARRAYS:,} arrays, "
         f"{wire.MAX_NESTING} levels of nesting, checked before parsing", "`sandbox/wire.py`",
         "the largest honest answer is 9.2 MiB, 135,066 items, 29 levels; about 190 MiB of the grading process at most"),
        ("one visible check in the student's notebook", "10 s", "the notebook's `check` helper (`source/`)",
         "students see `FAILED` instead of a hung notebook"),
    ]


def declared():
    """(name, trait) of every setting, in the order of the class (the table's order)."""
    return [(name, trait) for name, trait in vars(GradingSettings).items() if isinstance(trait, TraitType)]


def _amount(value, unit):
    if unit == "bytes":
        for size, name in ((GiB, "GiB"), (MiB, "MiB"), (KiB, "KiB")):
            if value >= size and value % size == 0:
                return f"{value // size} {name}"
        return f"{value} bytes"
    if unit == "s":
        return f"{value:g} s"
    return f"{value:,}"


def table():
    """The README's limits table (Markdown): the settings with their defaults, then the fixed limits."""
    lines = ["| limit | default | set with | why |", "|---|---|---|---|"]
    for name, trait in declared():
        where = f"`c.GradingSettings.{name}`" + (f", `{trait.metadata['env']}`" if trait.metadata["env"] else "")
        lines.append(f"| {trait.help} | {_amount(trait.default_value, trait.metadata['unit'])} | {where} | {trait.metadata['why']} |")
    config = _course_config()
    for option, what, why in NBGRADER_OPTIONS:
        section, name = option.split(".")
        value = config[section][name]
        lines.append(f"| {what} | {_amount(value, 's') if 'timeout' in name else value} | `c.{option}` (nbgrader's) | {why} |")
    for limit, value, where, why in fixed_limits():
        lines.append(f"| {limit} | {value} | fixed: {where} | {why} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(table())

"""The batch's progress bar: students graded, moving part by part, with a clock that keeps running.

A student counts as ``len(PARTS) + 1`` steps: one per part as its checks finish on a worker (Dask
events, grading.batch), the last when the result is kept. On a terminal the bar is redrawn every
second, so its clock runs while a long cell does.
"""

import sys
import threading

from tqdm import tqdm

from grader_tests.points import PARTS
from grading.names import printable

STEPS = len(PARTS) + 1
TICK = 1.0  # s between redraws on a terminal


class ClassProgress:
    def __init__(self, total, already_graded):
        self._bar = tqdm(total=total, initial=already_graded, unit="student", dynamic_ncols=True,
                         bar_format="{l_bar}{bar}| {n:.1f}/{total_fmt} [{elapsed}<{remaining}]{postfix}")
        self._lock = threading.Lock()
        self._steps = already_graded * STEPS  # counted in steps, shown in students: no rounding error adds up
        self._parts = {}  # student id -> parts shown as checked so far
        self._failures = 0
        self._stop = threading.Event()
        if sys.stderr.isatty():
            threading.Thread(target=self._tick, name="grading-progress", daemon=True).start()

    def _tick(self):
        while not self._stop.wait(TICK):
            self._bar.refresh()

    def _show(self, steps, last):
        self._steps += steps
        self._bar.set_postfix_str(f"{last} | not cleanly graded: {self._failures}", refresh=False)
        self._bar.n = self._steps / STEPS
        self._bar.update(0)

    def part_checked(self, student_id, part):
        """A worker has checked ``part`` of ``student_id`` (any thread)."""
        with self._lock:
            shown = self._parts.get(student_id, 0)
            if shown < STEPS - 1:  # more events than parts never run ahead of the student
                self._parts[student_id] = shown + 1
                self._show(1, f"{printable(student_id)}: {part} checked")

    def student_done(self, student_id, clean):
        with self._lock:
            self._failures += not clean
            self._show(STEPS - self._parts.pop(student_id, 0), f"{printable(student_id)}: done")

    def close(self):
        self._stop.set()
        self._bar.close()

"""Benchmark: `make grade STUDENT=x` on a class already graded (issue 23, goal 1: at most 30 s wall).

    .venv/bin/python bench/bench_one_student.py [--rounds 3] [--students alice,bob,carol]

Copies the course with the demo class (submitted/), grades the whole class once (not timed:
the "already graded" state a TA regrades one student in), then runs `python -m grading --student
x` (what `make grade STUDENT=x` runs) for each student, round after round, and prints each run's
wall time (the process, start-up to exit, as the TA waits for it), the batch's own seconds from
.grading/run.json (the rest is start-up and the tables), and per student the median.
Not part of the tests (timings depend on the machine); the README records its numbers.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.course_copy import copy_course, environment  # noqa: E402


def run(args, cwd):
    """Wall seconds of ``python -m grading args`` in ``cwd``; stops the benchmark when it fails."""
    started = time.monotonic()
    completed = subprocess.run([sys.executable, "-m", "grading", *args], cwd=cwd, env=environment(),
                               capture_output=True, text=True)
    elapsed = time.monotonic() - started
    if completed.returncode != 0:
        sys.exit(f"python -m grading {' '.join(args)} failed:\n{completed.stdout[-2000:]}\n{completed.stderr[-2000:]}")
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--students", default="alice,bob,carol",
                        help="comma-separated ids of the demo class (dave's endless loop waits for its time-out by design)")
    args = parser.parse_args()
    students = [s for s in args.students.split(",") if s]
    with open("/proc/loadavg") as handle:
        load_before = handle.read().split()[0]

    with tempfile.TemporaryDirectory() as tmp:
        course = copy_course(Path(tmp) / "course")
        whole = run([], course)
        walls = {sid: [] for sid in students}
        batches = {sid: [] for sid in students}
        for _ in range(args.rounds):
            for sid in students:
                walls[sid].append(run(["--student", sid], course))
                batches[sid].append(json.loads((course / ".grading" / "run.json").read_text())["elapsed"])

    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"load average before: {load_before}")
    print(f"the demo class graded whole first (not counted): {whole:.1f} s")
    print("make grade STUDENT=x (python -m grading --student x), wall of each run; in brackets the batch's own seconds:")
    for sid in students:
        runs = ", ".join(f"{w:.1f} ({b:.1f})" for w, b in zip(walls[sid], batches[sid]))
        print(f"  {sid:6s} median {statistics.median(walls[sid]):5.1f} s   runs: {runs}")
    every = [w for runs in walls.values() for w in runs]
    print(f"all runs: median {statistics.median(every):.1f} s, max {max(every):.1f} s (goal: at most 30 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: make grade against plain serial `nbgrader autograde` on a generated class.

    .venv/bin/python bench/bench_grading.py [--students 12] [--workers 2] [--rounds 1]

Builds a class of N submissions (correct ones and typical mistakes, no endless loops), grades it
with `python -m grading` (what make grade runs) and with plain serial `nbgrader autograde` under
the same nbgrader_config.py, checks that every student gets the same total, and prints both
times, the speed-up, and the floor: executing one submission's notebook once with nbclient.
make grade runs twice on the class: its first run (which makes grading.compile_cache beside the
batch) and a second with --force (everyone again, the cache in place, as every later batch of a
course); the speed-up and floor ratios are of the second, the first's are printed beside it.
--rounds N measures the floors and make grade N times, each time on a fresh copy of the class
(round after round), and counts their medians: on a virtual machine one run can be 5 s off.
Plain serial nbgrader runs once (minutes); with --plain-every-round, once in each round, between
two runs of make grade --force (before and after it), and each round's own ratio is printed: plain
nbgrader's time over the mean of the two, so that a machine whose speed drifts during plain
nbgrader's minutes slows (or speeds) both sides alike (it can drift by half within an hour).
Not part of the tests (timings depend on the machine); the README records its numbers.
"""

import argparse
import csv
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.demo_class import MISTAKES, write_student  # noqa: E402
from grading.execute import cells_to_skip  # noqa: E402
from tests.course_copy import copy_course, environment  # noqa: E402

# Mistakes that finish quickly (the benchmark measures throughput, not time-outs).
QUICK_MISTAKES = [name for name in MISTAKES if name != "train_hangs"]


def make_class(submitted, n):
    """Every third student is correct; the others carry one or two typical mistakes; one is untouched."""
    students = {}
    for i in range(n):
        sid = f"student{i:03d}"
        if i == n - 1:
            plan = (False, [])
        elif i % 3 == 0:
            plan = (True, [])
        else:
            first = QUICK_MISTAKES[i % len(QUICK_MISTAKES)]
            second = QUICK_MISTAKES[(i * 7) % len(QUICK_MISTAKES)]
            parts = {MISTAKES[first][0]: first, MISTAKES[second][0]: second}  # at most one mistake per cell
            plan = (True, sorted(parts.values()))
        write_student(submitted, sid, *plan)
        students[sid] = plan
    return students


def timed(args, cwd, **env):
    started = time.monotonic()
    completed = subprocess.run(args, cwd=cwd, env={**environment(), **env}, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    if completed.returncode != 0:
        sys.exit(f"{' '.join(map(str, args))} failed:\n{completed.stdout[-2000:]}\n{completed.stderr[-2000:]}")
    return elapsed


def floor_seconds(notebook_path, cwd, exercise_only=False):
    """Executing the notebook once (kernel start included): every cell as 'Run All' does, or
    only the cells grading needs (the exercise; lesson demos and plots left out)."""
    nb = nbformat.read(str(notebook_path), as_version=4)
    if exercise_only:
        skipped = cells_to_skip(nb)
        nb.cells = [cell for i, cell in enumerate(nb.cells) if i not in skipped]
    started = time.monotonic()
    NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True, resources={"metadata": {"path": str(cwd)}}).execute()
    return time.monotonic() - started


def totals_from_grades_csv(path):
    with open(path, newline="") as handle:
        return {row["student_id"]: float(row["total"]) for row in csv.DictReader(handle)}


def totals_from_export(path):
    with open(path, newline="") as handle:
        return {row["student_id"]: float(row["raw_score"]) for row in csv.DictReader(handle) if row["assignment"] == "perceptrons"}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=12)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rounds", type=int, default=1, help="floors and make grade measured N times (medians count)")
    parser.add_argument("--plain-every-round", action="store_true",
                        help="plain nbgrader autograde in every round too, between two runs of make grade --force: the speed-up "
                             "is the median of each round's own ratio, plain over the mean of the two (a machine whose "
                             "speed drifts within minutes)")
    args = parser.parse_args()
    os.environ.update(JAX_PLATFORMS="cpu", MPLBACKEND="Agg")

    with tempfile.TemporaryDirectory() as tmp:
        ours = copy_course(Path(tmp) / "ours", include=["nbgrader_config.py", "source", "release", "grader_tests", "reference", "grading", "sandbox"])
        make_class(ours / "submitted", args.students)
        plain = copy_course(Path(tmp) / "plain", include=["nbgrader_config.py", "source", "release", "grader_tests", "reference", "grading", "sandbox"])
        make_class(plain / "submitted", args.students)

        pristine = shutil.copytree(ours, Path(tmp) / "pristine", symlinks=True)
        nbgrader = [sys.executable, "-m", "nbgrader"]
        t_release = timed(nbgrader + ["generate_assignment", "perceptrons", "--force"], plain)
        plains = []  # plain nbgrader's time in each round (--plain-every-round)
        afters = []  # make grade --force again right after plain nbgrader, in each round (--plain-every-round)
        runs = []  # (floor of Run All, floor of the grading cells, make grade), one per round
        first_totals = None  # the totals of the first make grade --force: every later one must give the same
        make_grade = [sys.executable, "-m", "grading", "--workers", str(args.workers)]

        def regrade(course, caches):
            """make grade --force in ``course``, timed; its totals are checked against the first such run's."""
            nonlocal first_totals
            seconds = timed(make_grade + ["--force"], course, GRADING_COMPILE_CACHES=caches)
            totals = totals_from_grades_csv(course / "grades.csv")
            first_totals = first_totals or totals
            if totals != first_totals:
                sys.exit("make grade --force gave other totals than its first run: the same class must get the same grades")
            return seconds

        for round_ in range(max(1, args.rounds)):
            course = ours if round_ == 0 else shutil.copytree(pristine, Path(tmp) / f"ours{round_}", symlinks=True)
            one = course / "submitted" / "student000" / "perceptrons" / "perceptrons.ipynb"
            # The class's first make grade makes the compile cache (grading.compile_cache) beside the batch, in
            # a parent of this round's own; the second (--force: everyone again) finds it, as a course's later batches do.
            caches = str(Path(tmp) / f"compile-cache{round_}")
            runs.append((floor_seconds(one, course), floor_seconds(one, course, exercise_only=True),
                         timed(make_grade, course, GRADING_COMPILE_CACHES=caches), regrade(course, caches)))
            if args.plain_every_round:
                plains.append(timed(nbgrader + ["autograde", "perceptrons", "--force"], plain))
                afters.append(regrade(course, caches))
        floor_full, floor_exercise, t_first, _ = (statistics.median(column) for column in zip(*runs))
        t_ours = statistics.median([run[3] for run in runs] + afters)  # every make grade --force
        t_plain = statistics.median(plains) if plains else timed(nbgrader + ["autograde", "perceptrons", "--force"], plain)
        timed(nbgrader + ["export", "--to", str(plain / "plain.csv")], plain)

        ours_totals = totals_from_grades_csv(ours / "grades.csv")
        with open(ours / "grades.csv", newline="") as handle:
            latencies = [float(row["seconds"]) for row in csv.DictReader(handle)]
        plain_totals = totals_from_export(plain / "plain.csv")
        differ = {s: (ours_totals.get(s), plain_totals.get(s)) for s in sorted(set(ours_totals) | set(plain_totals))
                  if ours_totals.get(s) != plain_totals.get(s)}
        zeros = [s for s, (use_solution, _) in make_class(Path(tmp) / "again", args.students).items() if use_solution and ours_totals[s] == 0]

    n = args.students
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"class: {n} generated submissions; workers: {args.workers}")
    if len(runs) > 1:
        print(f"{len(runs)} rounds (Run All floor, grading-cells floor, first make grade, make grade --force): "
              + "; ".join(f"{a:.1f}, {b:.1f}, {c:.1f}, {d:.1f} s" for a, b, c, d in runs) + " - the medians below; totals the same in every round")
    print(f"first make grade of the class (python -m grading; release, compile cache made beside the batch, feedback): "
          f"{t_first:7.1f} s  ({t_first / n:.1f} s per submission; {t_plain / t_first:.2f}x plain nbgrader, "
          f"{t_first / n / floor_exercise:.2f} of the grading-cells floor)")
    print(f"make grade --force, the compile cache in place (every later batch): {t_ours:7.1f} s  ({t_ours / n:.1f} s per submission"
          + (f"; median of {len(runs) + len(afters)} runs, before and after plain nbgrader: "
             + "; ".join(f"{run[3]:.1f}, {after:.1f}" for run, after in zip(runs, afters)) if afters else "") + ")")
    print(f"plain serial nbgrader autograde: {t_plain:7.1f} s  ({t_plain / n:.1f} s per submission; + {t_release:.1f} s generate_assignment)")
    if plains:
        ratios = [p / ((run[3] + after) / 2) for p, run, after in zip(plains, runs, afters)]
        print(f"plain nbgrader in each round: {', '.join(f'{p:.1f}' for p in plains)} s; each round's speed-up "
              f"(over the mean of its make grade --force before and after): "
              f"{', '.join(f'{r:.2f}x' for r in ratios)}; median {statistics.median(ratios):.2f}x")
    print(f"speed-up (throughput): {t_plain / t_ours:.2f}x{' (of the medians)' if plains else ''}")
    print(f"floor: executing one submission notebook once, all cells (Run All): {floor_full:.1f} s; "
          f"only the cells grading needs: {floor_exercise:.1f} s")
    print(f"make grade time per submission / floor: {t_ours / n / floor_full:.2f} (all cells), "
          f"{t_ours / n / floor_exercise:.2f} (grading cells)")
    print(f"one student's own grading time in the batch (mean, max): {sum(latencies) / n:.1f} s, {max(latencies):.1f} s")
    print(f"same total for every student: {'yes' if not differ else 'NO: ' + str(differ)}")
    print(f"false zeros among answered submissions: {len(zeros)}")
    return 1 if differ or zeros else 0


if __name__ == "__main__":
    sys.exit(main())

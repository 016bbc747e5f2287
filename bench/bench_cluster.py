"""Benchmark: make grade on Dask (LocalCluster) against the process pool it replaced, and 1 vs 2 workers.

    .venv/bin/python bench/bench_cluster.py [--students 12] [--baseline 6bd78d2]
                                            [--baseline-plus grader_tests/runner.py grading/__init__.py]

Builds one generated class (bench_grading.make_class: correct submissions and typical
mistakes, no endless loops) and grades it three times, each in a fresh course copy:
  1. `python -m grading --workers 2` of the commit --baseline (the hand-made process pool),
  2. `python -m grading --workers 2` of this tree (the LocalCluster default),
  3. `python -m grading --workers 1` of this tree.
With --baseline-plus FILE..., also the pool with these files of this tree put over the baseline's
(fixes made after the merge that the pool would have had too: a like-for-like comparison).
Prints the times, whether every student got the same total in every run, the throughput from 1
to 2 workers, the coordinator's own cost per student (writing files, logs, gradebook and result:
.grading/run.json), the load average before and after, and the 2,000-student model of the README
(time = start-up + students * (core-seconds per student / cores + coordinator's seconds per student)).
Not part of the tests (timings depend on the machine).
"""

import argparse
import csv
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_grading import make_class  # noqa: E402
from tests.course_copy import environment  # noqa: E402

PLUS = "pool+, 2 workers"  # the run of --baseline-plus
COURSE = ["nbgrader_config.py", "source", "release", "grader_tests", "reference", "grading", "sandbox"]


def course_from(tree, target):
    """A course directory at ``target`` made of ``tree``'s files (a checkout or an exported commit)."""
    target.mkdir(parents=True)
    for name in COURSE:
        src = tree / name
        if src.is_dir():
            shutil.copytree(src, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, target / name)
    return target


def export_commit(commit, target):
    """The files of ``commit`` of this repository in ``target`` (git archive; the repository is not touched)."""
    data = subprocess.run(["git", "-C", str(ROOT), "archive", commit], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        archive.extractall(target, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    return target


def grade(course, workers):
    started = time.monotonic()
    completed = subprocess.run([sys.executable, "-m", "grading", "--workers", str(workers)], cwd=course,
                               env=environment(), capture_output=True, text=True)
    elapsed = time.monotonic() - started
    if completed.returncode != 0:
        sys.exit(f"grading {course} failed:\n{completed.stdout[-2000:]}\n{completed.stderr[-2000:]}")
    with open(course / "grades.csv", newline="") as handle:
        totals = {row["student_id"]: float(row["total"]) for row in csv.DictReader(handle)}
    run = json.loads((course / ".grading" / "run.json").read_text())
    return elapsed, totals, run


def load():
    return os.getloadavg()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=12)
    parser.add_argument("--baseline", default="6bd78d2",
                        help="commit with the process pool (the last before Dask); 'none': only this tree, 1 and 2 workers")
    parser.add_argument("--baseline-plus", nargs="+", default=[], metavar="FILE",
                        help="also grade with the pool plus these files of this tree (paths in the repository)")
    args = parser.parse_args()
    n = args.students
    load_before = load()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        plan = [("dask, 2 workers", ROOT, 2), ("dask, 1 worker", ROOT, 1)]
        if args.baseline != "none":
            plan.insert(0, ("pool, 2 workers", export_commit(args.baseline, tmp / "baseline-tree"), 2))
        if args.baseline_plus and args.baseline != "none":
            plus_tree = export_commit(args.baseline, tmp / "baseline-plus-tree")
            for relative in args.baseline_plus:
                shutil.copy2(ROOT / relative, plus_tree / relative)
            plan.insert(1, (PLUS, plus_tree, 2))
        runs = {}
        for label, tree, workers in plan:
            course = course_from(tree, tmp / label.replace(", ", "-").replace(" ", ""))
            make_class(course / "submitted", n)
            runs[label] = grade(course, workers)
            print(f"{label:<16} {runs[label][0]:7.1f} s  (load average now {load()[0]:.2f})", flush=True)
    load_after = load()
    pool, dask2, dask1 = (runs.get(k) for k in ("pool, 2 workers", "dask, 2 workers", "dask, 1 worker"))
    plus = runs.get(PLUS)
    same = all(run[1] == dask2[1] for run in runs.values())
    overhead = dask2[2].get("coordinator_seconds_per_student", 0.0)
    # One core-second figure per student: the 1-worker batch's grading time (start-up excluded) per student.
    startup1 = dask1[0] - dask1[2]["elapsed"]
    per_student = dask1[2]["elapsed"] / n
    print(f"\nmachine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"load average (1, 5, 15 min) before: {', '.join(f'{x:.2f}' for x in load_before)}; "
          f"after: {', '.join(f'{x:.2f}' for x in load_after)}")
    print(f"class: {n} generated submissions; same total for every student in all runs: {'yes' if same else 'NO'}")
    if pool:
        print(f"process pool (baseline {args.baseline}), 2 workers: {pool[0]:7.1f} s")
    if plus:
        print(f"process pool + {' '.join(args.baseline_plus)}, 2 workers: {plus[0]:7.1f} s")
    print(f"Dask LocalCluster, 2 workers:                 {dask2[0]:7.1f} s"
          + (f"  ({(dask2[0] / pool[0] - 1) * 100:+.1f}% vs the pool" if pool else "")
          + (f", {(dask2[0] / plus[0] - 1) * 100:+.1f}% vs the pool with those files)" if plus else ")" if pool else ""))
    print(f"Dask LocalCluster, 1 worker:                  {dask1[0]:7.1f} s")
    print("grading phase alone (.grading/run.json elapsed): "
          + ", ".join(f"{label} {run[2]['elapsed']:.1f} s" for label, run in runs.items()))
    print(f"throughput 1 -> 2 workers: {n / dask1[0] * 60:.1f} -> {n / dask2[0] * 60:.1f} students/min "
          f"(x{dask1[0] / dask2[0]:.2f}; grading phase only: x{dask1[2]['elapsed'] / dask2[2]['elapsed']:.2f})")
    print(f"per student, 1 worker: {per_student:.2f} core-seconds; start-up (release, cluster, kit): {startup1:.1f} s; "
          f"coordinator keeping a result: {overhead * 1000:.0f} ms")
    print("\nmodel for 2,000 students: start-up + 2000 * (core-seconds per student / cores + coordinator per student);"
          "\n  overlapped: start-up + 2000 * max(core-seconds per student / cores, coordinator per student)"
          "\n  (the coordinator keeps each result while the workers grade the tasks queued for them)")
    # Core-seconds per student measured two ways: one worker (its kernel and the other core's slack help it), and
    # every core busy (2 workers on this machine's 2 cores: the cost a full cluster pays per core).
    saturated = (os.cpu_count() or 1) * dask2[2]["elapsed"] / n if dask2[2].get("workers") == os.cpu_count() else None
    for label, cost in (("1 worker", per_student), ("every core busy", saturated)):
        if cost is None:
            continue
        print(f"  with {cost:.2f} core-seconds per student ({label}):")
        for cores in (2, 16, 64):
            seconds = startup1 + 2000 * (cost / cores + overhead)
            overlapped = startup1 + 2000 * max(cost / cores, overhead)
            print(f"    {cores:>3} cores: {seconds / 60:7.1f} min; overlapped: {overlapped / 60:7.1f} min")
    print(f"  measured here, 2 workers, scaled to 2,000: {dask2[2]['elapsed'] / n * 2000 / 60:.1f} min "
          f"+ {dask2[0] - dask2[2]['elapsed']:.0f} s start-up")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: make grade of this tree against make grade of an earlier commit, in alternating rounds.

    .venv/bin/python bench/bench_against.py --commit 01cb38f [--students 8] [--rounds 2] [--workers 2]

Builds one generated class (bench_grading.make_class) and grades it with the commit's grader and
with this tree's, each run in a fresh course copy, alternating (commit, tree, commit, tree...) so
that a drift of the machine's speed falls on both sides. Prints every run's wall time and grading
phase (.grading/run.json), the medians, the change in per cent, and whether every student got the
same total in every run. Not part of the tests (timings depend on the machine).
"""

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from bench_cluster import course_from, export_commit, grade  # noqa: E402
from bench_grading import make_class  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commit", required=True, help="the grader to compare with (a commit of this repository)")
    parser.add_argument("--students", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    runs = {"commit": [], "tree": []}
    totals = []
    print(f"load average before: {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        trees = {"commit": export_commit(args.commit, tmp / "commit-tree"), "tree": ROOT}
        for round_ in range(args.rounds):
            for side, tree in trees.items():
                course = course_from(tree, tmp / f"{side}-{round_}")
                make_class(course / "submitted", args.students)
                elapsed, graded, run = grade(course, args.workers)
                runs[side].append((elapsed, run["elapsed"]))
                totals.append(graded)
                print(f"round {round_ + 1} {side:<6} {elapsed:7.1f} s wall, {run['elapsed']:7.1f} s grading phase "
                      f"(load average now {os.getloadavg()[0]:.2f})", flush=True)
    same = all(t == totals[0] for t in totals)
    wall = {side: statistics.median(r[0] for r in rs) for side, rs in runs.items()}
    phase = {side: statistics.median(r[1] for r in rs) for side, rs in runs.items()}
    print(f"\n{args.students} students, {args.workers} workers, {args.rounds} rounds; same total for every student "
          f"in every run: {'yes' if same else 'NO'}")
    print(f"median wall: commit {args.commit} {wall['commit']:.1f} s, this tree {wall['tree']:.1f} s "
          f"({(wall['tree'] / wall['commit'] - 1) * 100:+.1f} %)")
    print(f"median grading phase: commit {phase['commit']:.1f} s, this tree {phase['tree']:.1f} s "
          f"({(phase['tree'] / phase['commit'] - 1) * 100:+.1f} %)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())

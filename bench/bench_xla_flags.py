"""Benchmark: the CPU time of checking submissions with grading's XLA flags against XLA's defaults.

    .venv/bin/python bench/bench_xla_flags.py [--rounds 2] [--files 2] [--sandbox]

Runs `python -m grading.check --jobs 1` on the correct submission (``--files`` copies, one process
each as always) with ``XLA_FLAGS`` set to grading.XLA_FLAGS and to "" (XLA's defaults),
alternating, and prints each run's wall and CPU seconds (the grader and its agents), the medians
and the scores (they must be the same). Without ``--sandbox`` the agents run unsandboxed, so that
their CPU time is counted too. Not part of the tests; the README records its numbers.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grading import XLA_FLAGS  # noqa: E402

CORRECT = ROOT / "tests" / "submissions" / "correct.py"


def run(flags, files, sandbox):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.monotonic()
    command = [sys.executable, "-m", "grading.check", "--json", "--jobs", "1", *([] if sandbox else ["--no-sandbox"]),
               *[str(CORRECT)] * files]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True,
                          env={**os.environ, "JAX_PLATFORMS": "cpu", "XLA_FLAGS": flags})
    wall = time.monotonic() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, [result["score"] for result in json.loads(done.stdout)]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--files", type=int, default=2)
    parser.add_argument("--sandbox", action="store_true", help="sandboxed agents (their CPU time is not counted)")
    args = parser.parse_args()
    settings = {"grading's flags": XLA_FLAGS, "XLA's defaults": ""}
    measured = {name: [] for name in settings}
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    for round_ in range(args.rounds):
        for name, flags in settings.items():
            wall, cpu, scores = run(flags, args.files, args.sandbox)
            measured[name].append((wall, cpu))
            print(f"round {round_ + 1}, {name}: {wall:.1f} s wall, {cpu:.1f} s CPU, scores {scores}", flush=True)
    medians = {name: (statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs))
               for name, runs in measured.items()}
    (ours_wall, ours_cpu), (base_wall, base_cpu) = medians["grading's flags"], medians["XLA's defaults"]
    print(f"median per file: flags {ours_wall / args.files:.1f} s wall, {ours_cpu / args.files:.1f} s CPU; "
          f"defaults {base_wall / args.files:.1f} s wall, {base_cpu / args.files:.1f} s CPU "
          f"({100 * (ours_cpu / base_cpu - 1):+.1f} % CPU, {100 * (ours_wall / base_wall - 1):+.1f} % wall)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

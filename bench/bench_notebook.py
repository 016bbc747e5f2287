"""Benchmark: the student notebook (release/) with the instructor's solution, run top to bottom.

    .venv/bin/python bench/bench_notebook.py [--repeat N]

Runs release/perceptrons/perceptrons.ipynb with every answer cell filled with the solution in a
fresh Jupyter kernel (nbclient, like Run All on a laptop), and prints the wall time (kernel start
included), the slowest cells, and every visible-check line that is not `ok`. Not part of the
tests; the goal is under 30 s on a laptop CPU.
"""

import argparse
import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("MPLBACKEND", "Agg")

from tests.test_student_notebook import check_lines, run_notebook, solved_release  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs (the fastest and slowest are printed)")
    args = parser.parse_args()
    print(f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    times = []
    for _ in range(args.repeat):
        nb, seconds, cell_seconds, cpu_seconds = run_notebook(solved_release())
        times.append(seconds)
        errors = [(i, out["ename"]) for i, cell in enumerate(nb.cells) for out in cell.get("outputs", [])
                  if out.get("output_type") == "error"]
        not_ok = [line for line in check_lines(nb) if not line.startswith("ok")]
        print(f"run top to bottom: {seconds:.1f} s wall ({cpu_seconds:.1f} s CPU of the kernel, load {os.getloadavg()[0]:.1f}), cell errors: {errors or 'none'}, "
              f"visible checks: {len(check_lines(nb))} lines, not ok: {not_ok or 'none'}")
    slowest = sorted(cell_seconds.items(), key=lambda item: -item[1])[:8]
    print("slowest cells (index: seconds):", ", ".join(f"{i}: {s:.1f}" for i, s in slowest))
    if len(times) > 1:
        print(f"fastest {min(times):.1f} s, slowest {max(times):.1f} s over {len(times)} runs")


if __name__ == "__main__":
    main()

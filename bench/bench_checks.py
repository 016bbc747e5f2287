"""Benchmark: how long the hidden checks take to grade one submission (all six parts).

    .venv/bin/python bench/bench_checks.py

Prints (1) a cold run, `python -m grading.check` on the correct submission in a fresh process
(imports, JAX compilation, everything), and (2) warm runs in one process: the correct
submission again and every mutant and alternative of the test catalogue, with the mean and the
slowest. Also counts false verdicts (a correct variant below full marks, a mutant at full marks in
its own part). Not part of the tests; the README records its numbers.
"""

import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("JAX_PLATFORMS", "cpu")

from grading.check import grade_paths  # noqa: E402
from tests.submissions.variants import ALTERNATIVES, MUTANTS, build  # noqa: E402

CORRECT = ROOT / "tests" / "submissions" / "correct.py"


def main():
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "grading.check", "--json", str(CORRECT)], check=True, capture_output=True, cwd=ROOT)
    cold = time.monotonic() - started

    timings, false_verdicts = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for variant in [None, *MUTANTS, *ALTERNATIVES]:
            path = CORRECT if variant is None else Path(tmp) / f"{variant.id}.py"
            if variant is not None:
                path.write_text(build(variant))
            started = time.monotonic()
            result = next(grade_paths([path]))
            timings.append((time.monotonic() - started, path.stem))
            if variant in ALTERNATIVES or variant is None:
                if result["score"] != result["max"]:
                    false_verdicts.append(path.stem)
            elif result["parts"][variant.part]["score"] >= result["parts"][variant.part]["max"]:
                false_verdicts.append(path.stem)

    warm = [t for t, _ in timings]
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"cold: python -m grading.check on one correct submission: {cold:.1f} s (process start and imports included)")
    print(f"warm: {len(warm)} submissions, each in its own sandbox, checks in one process: mean {sum(warm) / len(warm):.2f} s, slowest {max(timings)[0]:.2f} s ({max(timings)[1]})")
    print(f"false verdicts: {len(false_verdicts)} {false_verdicts if false_verdicts else ''}")
    return 1 if false_verdicts else 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: how long `python -m grading.check` takes per file, walled one by one and --same-author.

    .venv/bin/python bench/bench_checks.py [--walled 12] [--jobs 1]

Prints (1) a cold run on the correct submission (a fresh process: imports, JAX compilation,
everything); (2) the first --walled files of the test catalogue, each in a sandbox of its own (as a
TA grades a class's files), one call; (3) the same files with --same-author (one sandbox, a fresh
forked process per file, JAX's compilations cached); (4) every file of the catalogue (correct.py,
every mutant and alternative) with --same-author, counting false verdicts (a correct variant
below full marks, a mutant at full marks in its own part); --no-catalogue counts them among the
walled files instead. Walled files use the course's compile cache (grading.compile_cache), made
first if missing. Not part of the tests; the README
records its numbers.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.test_mistake_catalogue import ALTERNATIVES, MUTANTS  # noqa: E402
from tests.submissions.variants import build  # noqa: E402

CORRECT = ROOT / "tests" / "submissions" / "correct.py"


def check(paths, *options):
    """(wall seconds, results) of one `python -m grading.check --json` call."""
    env = dict(os.environ, JAX_PLATFORMS="cpu", MPLBACKEND="Agg")
    started = time.monotonic()
    completed = subprocess.run([sys.executable, "-m", "grading.check", "--json", *options, *map(str, paths)],
                               check=True, capture_output=True, text=True, cwd=ROOT, env=env)
    return time.monotonic() - started, json.loads(completed.stdout)


def false_verdicts(variants, results):
    wrong = []
    for variant, result in zip(variants, results):
        if variant is None or variant in ALTERNATIVES:
            if result["score"] != result["max"]:
                wrong.append(variant.id if variant else "correct")
        elif result["parts"][variant.part]["score"] >= result["parts"][variant.part]["max"]:
            wrong.append(variant.id)
    return wrong


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--walled", type=int, default=12, help="files graded walled one by one (about 13 s each)")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--no-catalogue", action="store_true", help="leave out (4): the whole catalogue (minutes)")
    args = parser.parse_args()
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average before: {os.getloadavg()[0]:.2f}")
    cold, _ = check([CORRECT])
    print(f"cold: one correct submission in a fresh process: {cold:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        variants = [None, *MUTANTS, *ALTERNATIVES]
        paths = []
        for variant in variants:
            path = CORRECT if variant is None else Path(tmp) / f"{variant.id}.py"
            if variant is not None:
                path.write_text(build(variant), encoding="utf-8")
            paths.append(path)
        jobs = ["--jobs", str(args.jobs)]
        few = paths[: args.walled]
        walled, walled_results = check(few, *jobs)
        shared, _ = check(few, "--same-author", *jobs)
        print(f"{len(few)} files, --jobs {args.jobs}: walled one by one {walled:.1f} s ({walled / len(few):.2f} s a file); "
              f"--same-author {shared:.1f} s ({shared / len(few):.2f} s a file)")
        if args.no_catalogue:
            wrong = false_verdicts(variants[: len(few)], walled_results)
            print(f"false verdicts among the {len(few)} walled files: {len(wrong)} {wrong if wrong else ''}")
            return 1 if wrong else 0
        every, results = check(paths, "--same-author", *jobs)
        print(f"the whole catalogue, {len(paths)} files, --same-author --jobs {args.jobs}: {every:.1f} s "
              f"({every / len(paths):.2f} s a file)")
        wrong = false_verdicts(variants, results)
        print(f"false verdicts: {len(wrong)} {wrong if wrong else ''}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())

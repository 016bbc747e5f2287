"""Times the instructor's class report on a synthetic class (no notebook is executed).

    .venv/bin/python bench/bench_class_report.py [--students 2000] [--out bench/out/class_report]

Generates ``--students`` result files shaped like make grade's (.grading/results/<id>.json,
grades.csv, .grading/run.json) with the grader's real check names and hint ids, then times
``write_reports`` in-process and ``python -m grading.class_report`` as a fresh process, and
prints the sizes of class_report.html and checks.csv. ``synthetic_class`` is also used by
tests/test_class_report.py.
"""

import argparse
import ast
import json
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from grader_tests.points import MAX_TOTAL, MODULE_OF_PART, PARTS, part_score  # noqa: E402

GRADER_TESTS = ROOT / "grader_tests"


def _grader_module(part):
    """(check names, {hint id: hint sentence}) of a part, read from its test file (never imported)."""
    tree = ast.parse((GRADER_TESTS / f"test_{MODULE_OF_PART[part]}.py").read_text())
    dicts, hints, names = {}, {}, []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name):
            keys = [k.value for k in node.value.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)]
            dicts[node.targets[0].id] = keys
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Hint" and len(node.args) == 2 \
                and all(isinstance(a, ast.Constant) for a in node.args):
            hints[node.args[0].value] = node.args[1].value
    for node in tree.body:
        if not (isinstance(node, ast.FunctionDef) and node.name.startswith("test_")):
            continue
        ids = None
        for deco in node.decorator_list:
            for kw in getattr(deco, "keywords", []):
                # ids=list(CASES): the keys of the module-level dict CASES
                if kw.arg == "ids" and isinstance(kw.value, ast.Call) and kw.value.args \
                        and isinstance(kw.value.args[0], ast.Name):
                    ids = dicts.get(kw.value.args[0].id)
            if ids is None and isinstance(deco, ast.Call) and getattr(deco.func, "attr", "") == "parametrize":
                ids = ["a", "b"]
        base = node.name.removeprefix("test_")
        names.extend([f"{base}[{i}]" for i in ids] if ids else [base])
    return names, hints


def check_catalogue():
    """{part: (check names, {hint id: sentence})} of the current grader."""
    return {part: _grader_module(part) for part in PARTS}


STATUSES = [
    "notebook is not valid JSON (line 1, column 2: Expecting property name enclosed in double quotes)",
    "no notebook named perceptrons/perceptrons.ipynb",
    "timed out in cell 45 (train_nn)",
    "kernel died in cell 36",
    "autograde failed: RuntimeError: the kernel could not start (log: logs/{sid}.log)",
]


def _message(sid, name, hint_text, rng):
    what = name.split("[", 1)[0].replace("_", " ")
    if rng.random() < 0.1:  # an exception in student code, with a path naming the student
        text = f"{what} raised ValueError: cannot reshape array (file submitted/{sid}/perceptrons/perceptrons.ipynb)"
    else:
        total = rng.choice([12, 50, 64, 300, 320])
        bad = rng.randint(1, total)
        text = (f"{what} differs from the expected values (dtype float64, shape ({total},))\n"
                f"  mismatched elements: {bad} / {total} ({100 * bad / total:.1f}%)\n"
                f"  greatest absolute difference: {rng.uniform(0.01, 5):.3g} at index ({rng.randrange(total)},) "
                "(up to 1e-10 allowed)")
    return text + (f"\nHint: {hint_text}" if hint_text else "")


def synthetic_result(sid, rng, catalogue, p_clean=0.95, sandboxed=True):
    """One student's result: most parts right, typical mistakes, some submissions not gradable."""
    res = {"student_id": sid, "scores": dict.fromkeys(PARTS, 0.0), "total": 0.0, "max_total": MAX_TOTAL,
           "status": "graded", "seconds": round(rng.uniform(8, 14) + (rng.random() < 0.02) * rng.uniform(10, 60), 2),
           "retried": False, "fingerprint": f"{rng.getrandbits(128):032x}", "checks": {}, "sandboxed": sandboxed}
    if rng.random() > p_clean:
        status = rng.choice(STATUSES).format(sid=sid)
        res["status"] = status
        # the grading record's problems, as the executor writes them: the endless loop is final (no
        # sign of load), the dead kernel was graded again alone
        if "timed out" in status:
            res["problems"] = [{"code": "timed_out", "cell": 45, "part": "train_nn", "maybe_load": False}]
        elif "kernel died" in status:
            res["retried"] = True
            res["problems"] = [{"code": "kernel_died", "cell": 36, "part": None, "maybe_load": True}]
        else:
            return res  # nothing could run: no checks at all
    ability = rng.random()
    for index, part in enumerate(PARTS):
        if "timed out" in res["status"] and part == "train_nn":
            continue  # that part's cell was stopped: no checks
        names, hints = catalogue[part]
        # Weaker students fail more; later parts are harder.
        p_wrong = max(0.0, 0.55 - ability * 0.6 + 0.05 * index)
        checks = []
        if rng.random() < p_wrong:
            hint = rng.choice([*sorted(hints), None]) if hints else None
            failing = set(rng.sample(names, rng.randint(1, len(names))))
            for name in names:
                failed = name in failing
                checks.append({"name": name, "passed": not failed,
                               "message": _message(sid, name, hints.get(hint) if hint else None, rng) if failed else "",
                               "hint": hint if failed else None})
        else:
            checks = [{"name": name, "passed": True, "message": "", "hint": None} for name in names]
        res["checks"][part] = checks
        res["scores"][part] = part_score(part, sum(c["passed"] for c in checks), len(checks))
    res["total"] = round(sum(res["scores"].values()), 2)
    return res


def synthetic_class(n, seed=0, p_clean=0.95, ids=None):
    """``n`` synthetic results (a list of dicts as stored in .grading/results/)."""
    rng = random.Random(seed)
    catalogue = check_catalogue()
    ids = ids or [f"student{i:04d}" for i in range(n)]
    return [synthetic_result(sid, rng, catalogue, p_clean) for sid in ids]


def synthetic_run_info(results, elapsed=None):
    elapsed = elapsed or round(sum(r["seconds"] for r in results) / 2, 1)
    return {"started": "2026-11-28T09:00:00+00:00", "elapsed": elapsed,
            "workers": 2, "students": len(results), "grader_version": "e793853", "sandboxed": True}


def write_course(course, results, run_info):
    """A course directory with grades.csv, .grading/results/*.json and (unless None) .grading/run.json."""
    from grading.grades import write_grades_csv

    course = Path(course)
    results_dir = course / ".grading" / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    for res in results:
        (results_dir / f"{res['student_id']}.json").write_text(json.dumps(res, indent=1))
    if run_info is not None:
        (course / ".grading" / "run.json").write_text(json.dumps(run_info, indent=1))
    write_grades_csv(results, course / "grades.csv")
    return course


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "class_report")
    parser.add_argument("--p-clean", type=float, default=0.95, help="share of cleanly graded submissions")
    args = parser.parse_args(argv)
    from grading.class_report import load_class, write_reports

    shutil.rmtree(args.out, ignore_errors=True)
    started = time.perf_counter()
    results = synthetic_class(args.students, p_clean=args.p_clean)
    course = write_course(args.out, results, synthetic_run_info(results))
    print(f"{args.students} synthetic students written to {course} in {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    loaded, run_info, warnings = load_class(course)
    load_s = time.perf_counter() - started
    times = []
    for _ in range(2):  # the first call pays matplotlib's imports and font set-up
        started, cpu = time.perf_counter(), time.process_time()
        html_path, csv_path = write_reports(loaded, run_info, course)
        times.append((time.perf_counter() - started, time.process_time() - cpu))
    started = time.perf_counter()
    completed = subprocess.run([sys.executable, "-m", "grading.class_report", "--course", str(course)],
                               cwd=ROOT, capture_output=True, text=True)
    cli_s = time.perf_counter() - started
    assert completed.returncode == 0, completed.stderr
    print(f"load results (in process):           {load_s:.2f} s")
    print(f"write_reports, first in the process: {times[0][0]:.2f} s ({times[0][1]:.2f} s CPU)")
    print(f"write_reports, again:                {times[1][0]:.2f} s ({times[1][1]:.2f} s CPU)")
    print(f"python -m grading.class_report:      {cli_s:.2f} s (a fresh process: imports, reading the files, writing)")
    print(f"class_report.html:                   {html_path.stat().st_size / 1e6:.3f} MB")
    print(f"checks.csv:                          {csv_path.stat().st_size / 1e6:.3f} MB "
          f"({sum(1 for _ in open(csv_path)) - 1} rows)")
    if warnings:
        print(f"warnings: {warnings[:3]}")


if __name__ == "__main__":
    main()

"""Reading a class's stored results (grades.csv, .grading/results/*.json, .grading/run.json) and what
one result says: its checks' purposes (from the grader's docstrings), its mistakes, what went wrong."""

import ast
import csv
import functools
import json
import re
from pathlib import Path

import grader_tests
from grader_tests.points import MAX_TOTAL, MODULE_OF_PART, PARTS
from grader_tests.report import not_attempted
from grading import record as grading_record
from grading.names import spreadsheet_cell

# Where make grade keeps its state, relative to the course root (see grading/course.py).
RESULTS_DIR = Path(".grading") / "results"
RUN_INFO = Path(".grading") / "run.json"
GRADES_CSV = "grades.csv"

GRADER_TESTS = Path(grader_tests.__file__).resolve().parent


def normalise(res):
    """One result in the current shape; older result files lack "checks" and "sandboxed"."""
    raw_scores = res.get("scores") or {}
    scores = {part: float(raw_scores.get(part) or 0.0) for part in PARTS}
    checks = res.get("checks") or {}
    seconds = res.get("seconds")
    return {
        "student_id": str(res.get("student_id", "")),
        "scores": scores,
        "total": float(res["total"]) if res.get("total") is not None else round(sum(scores.values()), 2),
        "max_total": float(res.get("max_total") or MAX_TOTAL),
        "status": str(res.get("status") or "unknown"),
        "seconds": float(seconds) if isinstance(seconds, (int, float)) else None,
        "retried": bool(res.get("retried", False)),
        "checks": {part: [c for c in checks[part] if isinstance(c, dict)] for part in PARTS if checks.get(part)},
        "problems": res.get("problems") if isinstance(res.get("problems"), list) else [],
        "sandboxed": res.get("sandboxed") if isinstance(res.get("sandboxed"), bool) else None,
        "late": res.get("late") if isinstance(res.get("late"), dict) else None,  # grading.deadlines.late_facts
        "penalty": float(res.get("penalty") or 0.0),
        # grading.manual.apply: {part: {"score", "auto", "reason", "source"}} of the scores set by hand
        "manual": {part: mark for part, mark in (res.get("manual") or {}).items() if part in PARTS and isinstance(mark, dict)}
        if isinstance(res.get("manual"), dict) else {},
        "auto_scores": res.get("auto_scores") if isinstance(res.get("auto_scores"), dict) else None,
    }


def _from_grades_row(row):
    """A result for a grades.csv row that has no result file (e.g. "not graded yet")."""
    def number(text):
        try:
            return float(text)
        except (TypeError, ValueError):
            return None
    return {"student_id": row["student_id"], "scores": {p: number(row.get(p)) or 0.0 for p in PARTS},
            "total": number(row.get("total")), "max_total": number(row.get("max_total")) or MAX_TOTAL,
            "status": row.get("status") or "unknown", "seconds": number(row.get("seconds")),
            "late": {"seconds_late": 3600 * (number(row.get("late_by_hours")) or 0.0), "penalty": number(row.get("penalty")) or 0.0}}


def _is_ours(header):
    """Whether a CSV header is that of make grade's grades.csv (not, say, plain `nbgrader export`'s)."""
    return {"student_id", "total", "status", *PARTS} <= set(header or [])


def load_class(course_dir):
    """(results, run_info, warnings) of the course in ``course_dir``.

    The students are the rows of grades.csv (each with its result file when there is one);
    without grades.csv (or with one make grade did not write), every result file. The scores set
    by hand (grading.manual: gradebook.db, overrides.csv) count. run_info is None when run.json is missing.
    """
    from grading import manual
    course_dir = Path(course_dir)
    warnings, stored = [], {}
    for path in sorted((course_dir / RESULTS_DIR).glob("*.json")):
        try:
            res = json.loads(path.read_text(encoding="utf-8"))
            stored[spreadsheet_cell(res.get("student_id") or path.stem)] = res  # as grades.csv writes the id
        except (OSError, ValueError, AttributeError) as error:
            warnings.append(f"{path.name}: unreadable result file ({type(error).__name__})")
    by_hand, left_out = manual.load(course_dir, {str(res.get("student_id")) for res in stored.values()} or None)
    warnings.extend(left_out)
    grades, rows = course_dir / GRADES_CSV, None
    if grades.is_file():
        try:
            with open(grades, newline="", encoding="utf-8") as handle:
                reader = csv.DictReader(handle)
                rows = list(reader) if _is_ours(reader.fieldnames) else None
        except (OSError, UnicodeDecodeError, csv.Error) as error:
            rows, reader = None, None
            warnings.append(f"{GRADES_CSV} cannot be read ({type(error).__name__}): the result files are used; make grade writes it again")
        if rows is None and reader is not None:
            warnings.append(f"{GRADES_CSV} is not the table make grade writes (no student_id, part, total and status columns; "
                            "plain nbgrader export's?): the result files are used; make grade writes it again")
    if rows is not None:
        results = []
        for row in rows:
            res = stored.get(row["student_id"])
            if res is None:
                results.append(normalise(_from_grades_row(row)))
                continue
            res = normalise(manual.apply(res, by_hand.get(str(res.get("student_id")))))
            try:
                differs = abs(float(row["total"]) - res["total"]) > 0.005 or row["status"] != spreadsheet_cell(res["status"])
            except (KeyError, TypeError, ValueError):
                differs = True
            if differs:
                warnings.append(f"{row['student_id']}: grades.csv and the result file differ (run make grade)")
            results.append(res)
    else:
        results = [normalise(manual.apply(res, by_hand.get(str(res.get("student_id"))))) for res in stored.values()]
    run_info = None
    try:
        run_info = json.loads((course_dir / RUN_INFO).read_text(encoding="utf-8"))
        if not isinstance(run_info, dict):
            run_info = None
    except (OSError, ValueError):
        pass
    return results, run_info, warnings


# ---------------------------------------------------------------------------------------------
# What each check is for: the first docstring line of its test function (read, never imported)


@functools.lru_cache(maxsize=None)
def _docstrings(module):
    """{test function name: first docstring line} of grader_tests/test_<module>.py."""
    path = GRADER_TESTS / f"test_{module}.py"
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return {}
    lines = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_"):
            doc = ast.get_docstring(node) or ""
            lines[node.name] = doc.strip().splitlines()[0].strip() if doc.strip() else ""
    return lines


def check_function(name):
    """'softmax_values[small]' -> 'test_softmax_values'."""
    return "test_" + name.split("[", 1)[0]


def check_purpose(part, name):
    """The one-line purpose of check ``name`` of ``part`` ('' when unknown)."""
    module = MODULE_OF_PART.get(part)
    return _docstrings(module).get(check_function(name), "") if module else ""


# ---------------------------------------------------------------------------------------------
# What a result says, in words fit for the report


def anonymise(text, student_id):
    """``text`` with ``student_id`` (as a whole word) replaced by [student]."""
    if not student_id:
        return text
    return re.sub(rf"(?<!\w){re.escape(student_id)}(?!\w)", "[student]", text)


def split_hint(message):
    """(message without its 'Hint: ...' line, the hint sentence or '')."""
    kept, hint = [], ""
    for line in message.splitlines():
        if line.startswith("Hint: ") and not hint:
            hint = line[len("Hint: "):].strip()
        else:
            kept.append(line)
    return "\n".join(kept).strip(), hint


def student_hints(res):
    """The distinct hint ids of a student's failed checks, in part order."""
    seen = []
    for part in PARTS:
        for check in res["checks"].get(part, []):
            hint = check.get("hint")
            if not check.get("passed", False) and hint and hint not in seen:
                seen.append(str(hint))
    return seen


def failed_checks(res):
    """Failed checks of a result's attempted parts (a part still the release's stub is not attempted, not failed)."""
    return sum(not c.get("passed", False) for checks in res["checks"].values() if not not_attempted(checks) for c in checks)


def parts_not_attempted(res):
    """The parts of a result still the release's stub, untouched (grader_tests.report.not_attempted), in order."""
    return [part for part in PARTS if not_attempted(res["checks"].get(part))]


def reason_kind(status, student_id=""):
    """A status without its details, to count reasons.

    'timed out in cell 43 (train_nn)' -> 'timed out in cell N (train_nn)';
    'notebook is not valid JSON (line 1, ...: ...)' -> 'notebook is not valid JSON'.
    """
    text = anonymise(status, student_id).split(":", 1)[0]
    depth, cut = 0, len(text)
    for i, char in enumerate(text):  # drop a parenthesis the colon left open
        if char == "(":
            depth, cut = depth + 1, (i if depth == 0 else cut)
        elif char == ")" and depth:
            depth -= 1
            cut = len(text) if depth == 0 else cut
    return re.sub(r"\d+", "N", text[:cut]).strip() or status


def problem_kind(res):
    """What went wrong with a result, to count: its grading record's problems without their cells
    ('timed out (train_nn)'), or for a submission that was never run, its status without details."""
    problems = grading_record.problems_of(res.get("problems"))
    if problems:
        return "; ".join(dict.fromkeys(f"{grading_record.WORDS[p.code]}" + (f" ({p.part})" if p.part else "")
                                       for p in problems))
    return reason_kind(res["status"], res["student_id"])

"""A student's row (what grades.csv and .grading/results/ hold), grades.csv and the end-of-run summary.

``total`` is after the late penalty: total = sum of the parts - penalty (nbgrader's score; the
penalty is what nbgrader's AssignLatePenalties stored, never more than the parts' sum). A row's
scores are the checks' until grading.manual lays the scores a TA set by hand over them (its
``manual`` lists those parts); ``not_attempted`` lists the parts still the release's stub.
"""

import csv

from grader_tests.points import MAX_TOTAL, PARTS, POINTS
from grader_tests.report import not_attempted as _part_not_attempted
from grading import record
from grading.atomic import replacing
from grading.names import printable, spreadsheet_cell

# Longest list of scores set by hand the summary prints (the class report lists them all).
SHOWN = 50
COLUMNS = ["student_id", *PARTS, "total", "max_total", "status", "submitted_at", "late_by_hours", "penalty", "seconds",
           "not_attempted", "manual"]


def result(student_id, scores=None, status="graded", seconds=0.0, retried=False, checks=None, sandboxed=True, problems=None,
           late=None):
    """One student's row; a row graded without the sandbox says so in its status.

    ``problems``: the grading record's problems ([{"code", "cell", "part"}], grading.record),
    which the retry and the class report read; ``status`` is their words for the TA.
    ``late``: grading.deadlines.late_facts of the graded submission (None: not autograded).
    """
    scores = scores or dict.fromkeys(PARTS, 0.0)
    if not sandboxed:
        status += " [unsandboxed]"
    penalty = float((late or {}).get("penalty") or 0.0)
    return {
        "student_id": student_id,
        "scores": scores,
        "total": round(sum(scores.values()) - penalty, 2),
        "penalty": penalty,
        "late": late,
        "max_total": MAX_TOTAL,
        "status": status,
        "seconds": round(seconds, 2),
        "retried": retried,
        "checks": checks or {},
        "problems": problems or [],
        "sandboxed": sandboxed,
    }


def is_late(res):
    """Whether the row's submission was after its due date (with its extension)."""
    return float((res.get("late") or {}).get("seconds_late") or 0.0) > 0


def not_attempted(res):
    """The parts of a row whose checks all failed on the release's stub, untouched (grader_tests.report.not_attempted)."""
    checks = res.get("checks") or {}
    return [part for part in PARTS if _part_not_attempted(checks.get(part))]


def attempted_nothing(res):
    """Whether every part of a graded row is still the release's stub (the release handed in untouched)."""
    return len(not_attempted(res)) == len(PARTS)


def manual_parts(res):
    """The parts of a row whose score was set by hand (grading.manual.apply), in part order."""
    return [part for part in PARTS if part in (res.get("manual") or {})]


def time_unknown(res):
    """Whether the row was graded against a due date with no submission time (never counted late)."""
    late = res.get("late") or {}
    return bool(late.get("due")) and not late.get("submitted_at")


def _late_cells(res):
    """grades.csv's submitted_at, late_by_hours, penalty of a row ('' where not known)."""
    late = res.get("late")
    if not late:
        return {"submitted_at": "", "late_by_hours": "", "penalty": f"{float(res.get('penalty') or 0.0):g}"}
    known = late.get("submitted_at") is not None
    return {"submitted_at": late["submitted_at"] if known else "unknown",
            "late_by_hours": f"{late.get('seconds_late', 0.0) / 3600:.6g}" if known else "",
            "penalty": f"{float(late.get('penalty') or 0.0):g}"}


def write_grades_csv(results, path):
    """One row per student, sorted by id; written to a temporary file, then renamed (never half-written).

    Text cells (student id, status) are written as grading.names.spreadsheet_cell: escaped, and
    never read as a formula by a spreadsheet.
    """
    with replacing(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for res in sorted(results, key=lambda r: r["student_id"]):
            writer.writerow({"student_id": spreadsheet_cell(res["student_id"]), **{p: f"{res['scores'][p]:g}" for p in PARTS},
                             "total": f"{res['total']:g}", "max_total": res["max_total"], "status": spreadsheet_cell(res["status"]),
                             **_late_cells(res), "seconds": res["seconds"], "not_attempted": " ".join(not_attempted(res)),
                             "manual": " ".join(manual_parts(res))})


def summary(results):
    """A text table: per part mean score and full marks; then the submissions that were not simply graded."""
    n = len(results)
    lines = [f"{'part':<20}{'mean':>8}{'max':>6}{'full marks':>12}{'not attempted':>15}"]
    untried = {part: sum(part in not_attempted(r) for r in results) for part in PARTS}
    for part in PARTS:
        scores = [r["scores"][part] for r in results]
        mean = sum(scores) / n if n else 0.0
        full = sum(score >= POINTS[part] for score in scores)
        lines.append(f"{part:<20}{mean:>8.2f}{POINTS[part]:>6}{full:>7} / {n}{untried[part]:>10} / {n}")
    totals = [r["total"] for r in results]
    lines.append(f"{'total':<20}{(sum(totals) / n if n else 0):>8.2f}{sum(POINTS.values()):>6}")
    late = [r for r in results if is_late(r)]
    if late:
        lost = sum(float(r.get("penalty") or 0.0) for r in late)
        lines.append(f"{len(late)} late submission(s), {lost:g} point(s) of late penalties in all (grades.csv: penalty)")
    unknown = sum(time_unknown(r) for r in results)
    if unknown:
        lines.append(f"{unknown} submission(s) without a submission time (no timestamp.txt): not counted late")
    nothing = sorted(printable(r["student_id"]) for r in results if attempted_nothing(r))
    if nothing:
        lines.append(f"{len(nothing)} submission(s) attempted no part (the release's stubs, unchanged; grades.csv: not_attempted): "
                     + ", ".join(nothing[:20]) + (" ..." if len(nothing) > 20 else ""))
    by_hand = [(r["student_id"], part, r["manual"][part]) for r in sorted(results, key=lambda r: r["student_id"])
               for part in manual_parts(r)]
    if by_hand:
        lines.append("")
        lines.append(f"{len(by_hand)} score(s) set by hand (grades.csv: manual), counted instead of the checks':")
        lines.extend(f"  {printable(sid)}: {part} {mark['score']:g} (checks gave {mark['auto']:g}; {printable(mark['source'])}: "
                     f"{printable(mark['reason']) or 'no reason given'})" for sid, part, mark in by_hand[:SHOWN])
        if len(by_hand) > SHOWN:
            lines.append(f"  ... and {len(by_hand) - SHOWN} more (all in the class report)")
    for title, rows in (("graded, with a final time-out (the part keeps the credit of the checks it passed)",
                         [r for r in results if final_time_out(r)]),
                        ("need a look", [r for r in results if needs_a_look(r)])):
        if rows:
            lines.append("")
            lines.append(f"{len(rows)} submission(s) {title}:")
            lines.extend(f"  {printable(r['student_id'])}: {printable(r['status'])}" for r in sorted(rows, key=lambda r: r["student_id"]))
    return "\n".join(lines)


def final_time_out(res):
    """True when a result row's only problems are time-outs of its own code: graded, final, nothing to look at."""
    return res["status"] != "graded" and record.final(record.problems_of(res.get("problems")), bool(res.get("retried")))


def needs_a_look(res):
    """True when a result row was not simply graded (a final time-out of the code's own is graded)."""
    return res["status"] != "graded" and not final_time_out(res)

"""Writing the report's files into the course directory: checks.csv and class_report.html, each
through a temporary file and a rename."""

import csv
from pathlib import Path

from grader_tests.points import PARTS, POINTS
from grading.atomic import replacing
from grading.class_report.page import build_html
from grading.class_report.results import normalise
from grading.names import spreadsheet_cell

REPORT_HTML = "class_report.html"
CHECKS_CSV = "checks.csv"
CHECKS_COLUMNS = ["student_id", "part", "check", "passed", "hint", "part_score", "part_max"]


def check_rows(results):
    """The rows of checks.csv: one per (student, part, check), students and parts in order."""
    for res in sorted(results, key=lambda r: r["student_id"]):
        for part in PARTS:
            for check in res["checks"].get(part, []):
                yield {"student_id": spreadsheet_cell(res["student_id"]), "part": part, "check": check.get("name", ""),
                       "passed": "true" if check.get("passed", False) else "false", "hint": check.get("hint") or "",
                       "part_score": f"{res['scores'][part]:g}", "part_max": POINTS[part]}


def _replace(path, write):
    """Writes ``path`` through ``write(handle)``, whole or not at all."""
    with replacing(path, "w", newline="", encoding="utf-8") as handle:
        write(handle)


def write_checks_csv(results, path):
    def write(handle):
        writer = csv.DictWriter(handle, fieldnames=CHECKS_COLUMNS)
        writer.writeheader()
        writer.writerows(check_rows(results))
    _replace(Path(path), write)


def write_reports(results, run_info, out_dir, threshold=0.5, warnings=()):
    """Writes class_report.html and checks.csv into ``out_dir`` (the course root); returns their paths.

    ``results`` are result dicts as stored in .grading/results/ (older shapes are accepted);
    ``run_info`` is the content of .grading/run.json or None; ``threshold`` is the fraction of
    the maximum total below which a student is listed as needing help.
    """
    if not 0 <= threshold <= 1:
        raise ValueError(f"threshold must be a fraction between 0 and 1, got {threshold}")
    results = [normalise(r) for r in results]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path, csv_path = out_dir / REPORT_HTML, out_dir / CHECKS_CSV
    write_checks_csv(results, csv_path)
    text = build_html(results, run_info, threshold, warnings)
    _replace(html_path, lambda handle: handle.write(text))
    return html_path, csv_path

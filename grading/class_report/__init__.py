"""The instructor's class report: class_report.html and checks.csv, written next to grades.csv.

``python -m grading.class_report [--threshold 0.5]`` rebuilds both from the stored results
(``grades.csv``, ``.grading/results/*.json``, ``.grading/run.json``) without regrading.

class_report.html is one self-contained file (plots are embedded PNGs; no script, no network):
the distribution of totals, each part's mean / full marks / zeros, the share of students failing
each check with what the check is for, the mistakes (hint ids) most students made with one
anonymised example message, the submissions that were not cleanly graded, the students below a
threshold, and how the grading run went. It shows only what student feedback already shows
(check names, pass/fail, messages, hints), never the hidden checks' code or inputs.

checks.csv has one row per (student, part, check): student_id, part, check, passed (true/false),
hint (id or empty), part_score, part_max.

One job per module, each importing only the ones before it: ``results`` reads the stored results,
``stats`` counts, ``plots`` draws, ``page`` builds the HTML, ``files`` writes both files, and
``__main__`` is the command line.
"""

from grading.class_report.files import CHECKS_CSV, REPORT_HTML, write_checks_csv, write_reports
from grading.class_report.page import MAX_ROWS, build_html
from grading.class_report.results import check_function, check_purpose, load_class, normalise

__all__ = ["CHECKS_CSV", "MAX_ROWS", "REPORT_HTML", "build_html", "check_function", "check_purpose", "load_class",
           "normalise", "write_checks_csv", "write_reports"]

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
"""

import argparse
import ast
import base64
import csv
import functools
import html
import io
import json
import os
import re
import statistics
import sys
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

import grader_tests
from grader_tests.points import MAX_TOTAL, MODULE_OF_PART, PARTS, POINTS
from grading import record as grading_record
from grading.course import ASSIGNMENT
from grading.names import spreadsheet_cell
from grading.sanitize import CSP_META

REPORT_HTML = "class_report.html"
CHECKS_CSV = "checks.csv"
CHECKS_COLUMNS = ["student_id", "part", "check", "passed", "hint", "part_score", "part_max"]
# Where make grade keeps its state, relative to the course root (see grading/course.py).
RESULTS_DIR = Path(".grading") / "results"
RUN_INFO = Path(".grading") / "run.json"
GRADES_CSV = "grades.csv"

GRADER_TESTS = Path(grader_tests.__file__).resolve().parent
# Longest list of students shown in one table; all of them are always in grades.csv.
MAX_ROWS = 500
# Longest example message shown for a mistake (characters).
MAX_MESSAGE = 700
# Mistakes in the plot of the most common ones.
TOP_MISTAKES = 15
NO_HINT = None  # a failed check with no recognised mistake
EPS = 1e-9


# ---------------------------------------------------------------------------------------------
# Reading the stored results


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
            "status": row.get("status") or "unknown", "seconds": number(row.get("seconds"))}


def load_class(course_dir):
    """(results, run_info, warnings) of the course in ``course_dir``.

    The students are the rows of grades.csv (each with its result file when there is one);
    without grades.csv, every result file. run_info is None when run.json is missing.
    """
    course_dir = Path(course_dir)
    warnings, stored = [], {}
    for path in sorted((course_dir / RESULTS_DIR).glob("*.json")):
        try:
            res = json.loads(path.read_text(encoding="utf-8"))
            stored[spreadsheet_cell(res.get("student_id") or path.stem)] = res  # as grades.csv writes the id
        except (OSError, ValueError, AttributeError) as error:
            warnings.append(f"{path.name}: unreadable result file ({type(error).__name__})")
    grades = course_dir / GRADES_CSV
    if grades.is_file():
        with open(grades, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        results = []
        for row in rows:
            res = stored.get(row["student_id"])
            if res is None:
                results.append(normalise(_from_grades_row(row)))
                continue
            res = normalise(res)
            try:
                differs = abs(float(row["total"]) - res["total"]) > 0.005 or row["status"] != spreadsheet_cell(res["status"])
            except (KeyError, TypeError, ValueError):
                differs = True
            if differs:
                warnings.append(f"{row['student_id']}: grades.csv and the result file differ (run make grade)")
            results.append(res)
    else:
        results = [normalise(res) for res in stored.values()]
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
# Statistics


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


def _share(count, total):
    return count / total if total else 0.0


def part_stats(results):
    """{part: {"mean", "full", "zero"}}: mean score, shares with full marks and with zero."""
    n = len(results)
    stats = {}
    for part in PARTS:
        scores = [r["scores"][part] for r in results]
        stats[part] = {
            "mean": sum(scores) / n if n else 0.0,
            "full": _share(sum(s >= POINTS[part] - EPS for s in scores), n),
            "zero": _share(sum(s <= EPS for s in scores), n),
        }
    return stats


def check_stats(results):
    """One dict per (part, check) that ran for anyone: ran, failed, share failed, purpose; most failed first."""
    counts = {}
    for res in results:
        for part, checks in res["checks"].items():
            for check in checks:
                key = (part, str(check.get("name", "?")))
                entry = counts.setdefault(key, [0, 0])
                entry[0] += 1
                entry[1] += not check.get("passed", False)
    order = {part: i for i, part in enumerate(PARTS)}
    rows = [{"part": part, "check": name, "ran": ran, "failed": failed, "share": _share(failed, ran),
             "purpose": check_purpose(part, name)} for (part, name), (ran, failed) in counts.items()]
    rows.sort(key=lambda r: (-r["share"], -r["failed"], order[r["part"]], r["check"]))
    return rows


def mistake_stats(results):
    """{part: [mistake, ...]} most common first; a mistake is a hint id (None: no hint matched) with the
    number of students who got it, the checks it came from, its hint sentence and one anonymised example."""
    students = defaultdict(lambda: defaultdict(set))  # part -> hint -> student ids
    checks_of = defaultdict(lambda: defaultdict(list))
    example = {}
    ran = Counter()
    for res in sorted(results, key=lambda r: r["student_id"]):
        sid = res["student_id"]
        for part, checks in res["checks"].items():
            ran[part] += 1
            for check in checks:
                if check.get("passed", False):
                    continue
                hint = check.get("hint") or NO_HINT
                hint = str(hint) if hint is not None else None
                students[part][hint].add(sid)
                name = check_function(str(check.get("name", "?"))).removeprefix("test_")
                if name not in checks_of[part][hint]:
                    checks_of[part][hint].append(name)
                if (part, hint) not in example and str(check.get("message") or "").strip():
                    example[(part, hint)] = anonymise(str(check["message"]), sid)
    out = {}
    for part in PARTS:
        rows = []
        for hint, who in students[part].items():
            message, sentence = split_hint(example.get((part, hint), ""))
            if len(message) > MAX_MESSAGE:
                message = message[:MAX_MESSAGE].rstrip() + " [...]"
            rows.append({"hint": hint, "students": len(who), "share": _share(len(who), ran[part]),
                         "checks": checks_of[part][hint], "sentence": sentence, "example": message})
        rows.sort(key=lambda r: (-r["students"], r["hint"] is None, r["hint"] or ""))
        out[part] = {"ran": ran[part], "mistakes": rows}
    return out


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
    return sum(not c.get("passed", False) for checks in res["checks"].values() for c in checks)


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


def run_facts(results, run_info):
    """(key, label, value) rows about the grading run; 'unknown' where run.json says nothing."""
    info = run_info or {}

    def known(key, show=str):
        value = info.get(key)
        if value is None:
            return "unknown"
        try:
            return show(value)
        except (TypeError, ValueError):
            return str(value)

    def when(value):
        try:
            return datetime.fromisoformat(str(value)).strftime("%Y-%m-%d %H:%M:%S %Z").strip()
        except ValueError:
            return str(value)

    def duration(value):
        seconds = float(value)
        if seconds < 120:
            return f"{seconds:.1f} s"
        hours, rest = divmod(round(seconds), 3600)
        return (f"{hours} h " if hours else "") + f"{rest // 60} min {rest % 60} s"

    seconds = [(r["seconds"], r["student_id"]) for r in results if r["seconds"] is not None]
    if seconds:
        slowest = max(seconds)
        median = statistics.median(s for s, _ in seconds)
        per_student = f"median {median:.1f} s, slowest {slowest[0]:.1f} s ({slowest[1]})"
    else:
        per_student = "unknown"
    flags = Counter(r["sandboxed"] for r in results)
    if info.get("sandboxed") is not None:
        sandbox = "yes" if info["sandboxed"] else "no: student code ran without the sandbox"
    else:
        sandbox = "unknown"
    # Results kept from earlier runs may have been graded otherwise: say so when they disagree.
    if flags[True] != len(results) or info.get("sandboxed") is not True:
        counts = [f"{flags[True]} sandboxed", f"{flags[False]} not sandboxed", f"{flags[None]} not recorded"]
        sandbox += f" (of {len(results)} results: {', '.join(c for c in counts if not c.startswith('0 '))})"
    return [
        ("started", "started", known("started", when)),
        ("elapsed", "took", known("elapsed", duration)),
        ("workers", "workers", known("workers")),
        ("students", "students graded in that run", known("students")),
        ("per-student", "time per student", per_student),
        ("retried", "retried after a time-out or dead kernel", str(sum(r["retried"] for r in results))),
        ("grader-version", "grader version", known("grader_version")),
        ("sandboxed", "sandboxed", sandbox),
    ]


# ---------------------------------------------------------------------------------------------
# Plots (matplotlib's object API on the Agg canvas: no pyplot, no global state)


def _png(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, metadata={"Software": None})
    return base64.b64encode(buffer.getvalue()).decode("ascii")


PART_COLOURS = dict(zip(PARTS, ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c",
                                 "#ccb974", "#64b5cd"]))


def _figure(width, height):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.add_subplot()


def plot_totals(totals, threshold_points):
    import numpy as np

    fig, ax = _figure(8, 3.2)
    edges = np.arange(0, MAX_TOTAL + 0.5, 0.5)
    ax.hist(np.clip(totals, 0, MAX_TOTAL), bins=edges, color="#4c72b0", edgecolor="white")
    ax.axvline(threshold_points, color="#c44e52", linestyle="--", linewidth=1.5,
               label=f"threshold ({threshold_points:g})")
    ax.set_xlim(0, MAX_TOTAL)
    ax.set_xlabel(f"total points (of {MAX_TOTAL:g})")
    ax.set_ylabel("students")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(loc="upper left", frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def plot_parts(stats):
    fig, ax = _figure(8, 0.45 * len(PARTS) + 1.0)
    labels = [f"{part} ({POINTS[part]})" for part in PARTS][::-1]
    full = [100 * stats[p]["full"] for p in PARTS][::-1]
    zero = [100 * stats[p]["zero"] for p in PARTS][::-1]
    partial = [100 - f - z for f, z in zip(full, zero)]
    ax.barh(labels, full, color="#55a868", label="full marks")
    ax.barh(labels, partial, left=full, color="#dd8452", label="partial")
    ax.barh(labels, zero, left=[f + p for f, p in zip(full, partial)], color="#c44e52", label="zero")
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of students")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def _share_bars(labels, shares, colours, xlabel):
    """Horizontal bars of percentages, first row on top, coloured by part (with a legend of the parts shown)."""
    from matplotlib.patches import Patch

    fig, ax = _figure(8, 0.22 * len(labels) + 1.2)
    bars = ax.barh(labels[::-1], shares[::-1], color=colours[::-1])
    ax.bar_label(bars, labels=[f"{s:.0f}%" for s in shares[::-1]], padding=2, fontsize=8)
    ax.set_xlim(0, max(shares) * 1.12 + 1)
    ax.set_ylim(-0.6, len(labels) - 0.4)
    ax.set_xlabel(xlabel)
    ax.tick_params(axis="y", labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    shown = [p for p in PARTS if PART_COLOURS[p] in colours]
    ax.legend(handles=[Patch(color=PART_COLOURS[p], label=p) for p in shown], loc="lower right", fontsize=8,
              frameon=False)
    return _png(fig)


def plot_checks(rows):
    return _share_bars([r["check"] for r in rows], [100 * r["share"] for r in rows],
                       [PART_COLOURS[r["part"]] for r in rows],
                       "% of students who failed the check (of those whose part ran)")


def plot_mistakes(top):
    """``top``: (part, hint, share) of the most common mistakes."""
    return _share_bars([f"{hint or 'no hint'} ({part})" for part, hint, _ in top], [100 * share for *_, share in top],
                       [PART_COLOURS[part] for part, *_ in top],
                       "% of students who made the mistake (of those whose part ran)")


# ---------------------------------------------------------------------------------------------
# HTML

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1180px;padding:16px 24px;
  color:#222;line-height:1.4}
h1{margin:.2em 0}h2{margin-top:1.8em;border-bottom:2px solid #ddd;padding-bottom:.2em}h3{margin-bottom:.3em}
nav a{margin-right:1em}table{border-collapse:collapse;margin:.5em 0 1em}
th,td{padding:3px 8px;border-bottom:1px solid #e3e3e3;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}tr:nth-child(even) td{background:#fafafa}
pre{margin:0;white-space:pre-wrap;word-break:break-word;font-size:12px;max-width:560px}code{font-size:90%}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:130px}
.card b{display:block;font-size:1.6em}.muted{color:#666;font-size:90%}.bad{color:#b00020}img{max-width:100%;height:auto}
.small{font-size:85%}.wide{overflow-x:auto;max-width:100%}
.note{background:#f6f8fa;border-left:4px solid #4c72b0;padding:6px 10px;margin:.6em 0}
"""


def _e(value):
    return html.escape(str(value), quote=True)


def _pct(share):
    return f"{100 * share:.1f}%"


def _num(value):
    return f"{value:.2f}"


def _img(data, alt):
    return f'<img src="data:image/png;base64,{data}" alt="{_e(alt)}">'


def _td(content, key=None, numeric=False, raw=False):
    """A cell: ``content`` escaped unless ``raw``; ``key`` becomes data-key (what tests read)."""
    attrs = (' class="n"' if numeric else "") + (f' data-key="{_e(key)}"' if key is not None else "")
    return f"<td{attrs}>{content if raw else _e(content)}</td>"


def _table(header, rows, attrs=""):
    """A table: ``header`` cell texts (escaped), ``rows`` already-built <tr> strings."""
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    return f"<table{attrs}><tr>{head}</tr>{''.join(rows)}</table>"


def _cut(rows, what):
    """The first MAX_ROWS rows, and a sentence when some were left out."""
    if len(rows) <= MAX_ROWS:
        return rows, ""
    note = (f'<p class="muted">The first {MAX_ROWS} of {len(rows)} {what} are shown; '
            "all are in grades.csv and checks.csv.</p>")
    return rows[:MAX_ROWS], note


def _note(text):
    return f'<p class="note">{text}</p>'


class _Class:
    """The numbers of a class that several sections share."""

    def __init__(self, results, threshold):
        self.results = results
        self.n = len(results)
        self.totals = [r["total"] for r in results]
        self.max_total = max((r["max_total"] for r in results), default=MAX_TOTAL)
        self.threshold = threshold
        self.threshold_points = threshold * self.max_total
        self.mean = sum(self.totals) / self.n if self.n else 0.0
        self.median = statistics.median(self.totals) if self.n else 0.0
        self.not_clean = sorted((r for r in results if r["status"] != "graded"), key=lambda r: r["student_id"])
        self.below = sorted((r for r in results if r["total"] < self.threshold_points - EPS),
                            key=lambda r: (r["total"], r["student_id"]))


def _glance(c):
    cards = [("students", "students", str(c.n)),
             ("mean-total", f"mean total (of {c.max_total:g})", _num(c.mean)),
             ("median-total", "median total", _num(c.median)),
             ("not-clean-count", "not cleanly graded", str(len(c.not_clean))),
             ("below-count", f"below {c.threshold_points:g} points", str(len(c.below)))]
    return ('<div class="cards" id="glance">'
            + "".join(f'<div class="card"><b data-key="{key}">{value}</b>{_e(label)}</div>'
                      for key, label, value in cards)
            + "</div>")


def _totals_section(c):
    out = ['<h2 id="totals">Totals</h2>']
    if not c.n:
        return out + ["<p>No results yet: run <code>make grade</code>.</p>"]
    out.append(f"<p>Mean <b>{_num(c.mean)}</b>, median <b>{_num(c.median)}</b>, lowest {min(c.totals):g}, "
               f"highest {max(c.totals):g} of {c.max_total:g} points. The dashed line is the threshold "
               f'({_e(f"{c.threshold:g}")} of the maximum, '
               f'<span data-key="threshold">{c.threshold_points:g}</span> points).</p>')
    out.append(_img(plot_totals(c.totals, c.threshold_points), "histogram of the students' total points"))
    return out


def _parts_section(c):
    stats = part_stats(c.results)
    out = ['<h2 id="parts">Parts</h2>',
           _note("A part that few students get full marks on, or many get zero on, is where the lesson or the exercise "
                 "text needs work. A part's score is its points times the share of its checks passed.")]
    rows = [f"<tr>{_td(part)}{_td(POINTS[part], numeric=True)}"
            f"{_td(_num(stats[part]['mean']), f'part-mean:{part}', True)}"
            f"{_td(_pct(stats[part]['full']), f'part-full:{part}', True)}"
            f"{_td(_pct(stats[part]['zero']), f'part-zero:{part}', True)}</tr>" for part in PARTS]
    out.append(_table(["part", "points", "mean", "full marks", "zero"], rows))
    if c.n:
        out.append(_img(plot_parts(stats), "share of students with full marks, partial credit and zero per part"))
    return out


def _checks_section(c):
    checks = check_stats(c.results)
    out = ['<h2 id="checks">Checks</h2>',
           _note("Each hidden check with the share of students who failed it (of those whose checks of that part ran), "
                 "most failed first, and what it checks. Students see a check's name, pass/fail and message in their "
                 "feedback.")]
    without_checks = sum(not r["checks"] for r in c.results)
    if without_checks:
        out.append(f'<p class="muted">{without_checks} submission(s) have no check results (not gradable, or graded '
                   "by an older grader) and are not counted here.</p>")
    if not checks:
        return out + ["<p>No check results stored.</p>"]
    out.append(_img(plot_checks(checks), "share of students who failed each check"))
    rows = []
    for r in checks:
        part, name = r["part"], r["check"]
        rows.append(f"<tr>{_td(part)}<td><code>{_e(name)}</code></td>{_td(r['purpose'])}"
                    f"{_td(r['failed'], f'check-failed:{part}:{name}', True)}{_td(r['ran'], numeric=True)}"
                    f"{_td(_pct(r['share']), numeric=True)}</tr>")
    out.append(_table(["part", "check", "what it checks", "failed", "ran", "share failed"], rows))
    return out


def _mistakes_section(c):
    mistakes = mistake_stats(c.results)
    out = ['<h2 id="mistakes">Mistakes</h2>',
           _note("The known mistakes the grader recognised (hint ids), per part, most common first: how many students "
                 "made each, in which checks, the hint they were given and one of their messages (anonymised). "
                 '"no hint" counts failed checks that matched no known mistake: read a few of those feedbacks.')]
    top = sorted(((part, r["hint"], r["share"], r["students"]) for part in PARTS for r in mistakes[part]["mistakes"]),
                 key=lambda m: (-m[2], -m[3], m[1] is None))[:TOP_MISTAKES]
    if not top:
        return out + ["<p>No failed checks.</p>"]
    out.append(f"<p>The {len(top)} most common:</p>")
    out.append(_img(plot_mistakes([m[:3] for m in top]), "share of students per mistake, most common first"))
    for part in PARTS:
        if not mistakes[part]["mistakes"]:
            continue
        out.append(f'<h3>{_e(part)} <span class="muted">({mistakes[part]["ran"]} students\' checks ran)</span></h3>')
        rows = []
        for r in mistakes[part]["mistakes"]:
            hint = r["hint"]
            label = f"<code>{_e(hint)}</code>" if hint is not None else "<i>no hint</i>"
            sentence = f"<b>{_e(r['sentence'])}</b>" if r["sentence"] else ""
            in_checks = "<br>".join(_e(name) for name in r["checks"])
            example = f"{sentence}<pre>{_e(r['example'])}</pre>"
            key = f"mistake:{part}:{hint or ''}"
            rows.append(f"<tr>{_td(label, raw=True)}{_td(r['students'], key, True)}"
                        f'{_td(_pct(r["share"]), numeric=True)}<td class="small">{in_checks}</td>'
                        f"{_td(example, raw=True)}</tr>")
        out.append(_table(["mistake", "students", "share", "in checks", "hint / example message"], rows))
    return out


def _student_row(r):
    """The start of a student's row: id and total (data-student: what tests read)."""
    total = f"{r['total']:g}"
    return f'<tr data-student="{_e(r["student_id"])}">{_td(r["student_id"])}{_td(total, numeric=True)}'


def _attention_section(c):
    out = ['<h2 id="attention">Needs a look</h2>',
           f'<h3>Not cleanly graded <span class="muted">({len(c.not_clean)})</span></h3>']
    if c.not_clean:
        kinds = Counter(problem_kind(r) for r in c.not_clean)
        out.append("<p>" + "; ".join(f"{_e(kind)}: {count}" for kind, count in kinds.most_common()) + "</p>")
        shown, note = _cut(c.not_clean, "submissions")
        rows = [f"{_student_row(r)}{_td(r['status'])}</tr>" for r in shown]
        table = _table(["student", "total", "reason"], rows, ' id="not-clean"')
        out.append(f'<div class="wide">{table}</div>{note}')
    else:
        out.append("<p>Every submission was graded cleanly.</p>")
    out.append(f'<h3>Below the threshold <span class="muted">(total &lt; {c.threshold_points:g} of {c.max_total:g} '
               f"points: {len(c.below)})</span></h3>")
    out.append('<p class="muted">Change the threshold with <code>python -m grading.class_report --threshold 0.6</code> '
               "(a fraction of the maximum).</p>")
    if not c.below:
        return out + ["<p>Nobody.</p>"]
    shown, note = _cut(c.below, "students")
    rows = []
    for r in shown:
        scores = "".join(_td(f"{r['scores'][p]:g}", numeric=True) for p in PARTS)
        unclean = "" if r["status"] == "graded" else '<span class="bad">see above</span>'
        rows.append(f"{_student_row(r)}{scores}{_td(failed_checks(r), numeric=True)}{_td(', '.join(student_hints(r)))}"
                    f"{_td(unclean, raw=True)}</tr>")
    header = ["student", "total", *PARTS, "failed checks", "mistakes", "not cleanly graded"]
    out.append('<div class="wide">' + _table(header, rows, ' id="below" class="small"') + "</div>" + note)
    return out


def _run_section(c, run_info):
    rows = [f"<tr><th>{_e(label)}</th>{_td(value, f'run:{key}')}</tr>"
            for key, label, value in run_facts(c.results, run_info)]
    out = ['<h2 id="run">The run</h2>', f"<table>{''.join(rows)}</table>"]
    if run_info is None:
        out.append('<p class="muted">.grading/run.json is missing: the run\'s facts are unknown.</p>')
    return out


def build_html(results, run_info=None, threshold=0.5, warnings=()):
    """The whole report as one HTML string (``results`` normalised)."""
    c = _Class(results, threshold)
    generated = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M")
    out = ['<!DOCTYPE html>\n<html lang="en"><head>' + CSP_META + '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">',
           f"<title>Class report: {_e(ASSIGNMENT)} ({c.n} students)</title><style>{CSS}</style></head><body>",
           f'<h1>Class report: {_e(ASSIGNMENT)}</h1><p class="muted">{c.n} student(s); generated {_e(generated)} from '
           "grades.csv and .grading/results/ (rebuild: <code>python -m grading.class_report</code>).</p>",
           '<nav><a href="#totals">Totals</a><a href="#parts">Parts</a><a href="#checks">Checks</a>'
           '<a href="#mistakes">Mistakes</a><a href="#attention">Needs a look</a><a href="#run">The run</a></nav>']
    out.extend(f'<p class="bad">{_e(warning)}</p>' for warning in warnings)
    out.append(_glance(c))
    for section in (_totals_section, _parts_section, _checks_section, _mistakes_section, _attention_section):
        out.extend(section(c))
    out.extend(_run_section(c, run_info))
    out.append("</body></html>\n")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# Files


def check_rows(results):
    """The rows of checks.csv: one per (student, part, check), students and parts in order."""
    for res in sorted(results, key=lambda r: r["student_id"]):
        for part in PARTS:
            for check in res["checks"].get(part, []):
                yield {"student_id": spreadsheet_cell(res["student_id"]), "part": part, "check": check.get("name", ""),
                       "passed": "true" if check.get("passed", False) else "false", "hint": check.get("hint") or "",
                       "part_score": f"{res['scores'][part]:g}", "part_max": POINTS[part]}


def _replace(path, write):
    """Writes ``path`` through a temporary file and a rename: never half-written."""
    tmp = path.with_name(f"{path.name}.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        write(handle)
    os.replace(tmp, path)


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


def main(argv=None):
    from grading.course import ROOT

    parser = argparse.ArgumentParser(prog="python -m grading.class_report", description=__doc__.split("\n\n")[0])
    parser.add_argument("--threshold", type=float, default=0.5,
                        help="list students whose total is below this fraction of the maximum (default 0.5)")
    parser.add_argument("--course", type=Path, default=ROOT, help="the course directory (default: this checkout)")
    args = parser.parse_args(argv)
    if not 0 <= args.threshold <= 1:
        parser.error("--threshold is a fraction of the maximum total, between 0 and 1")
    results, run_info, warnings = load_class(args.course)
    if not results:
        print(f"no results in {args.course / RESULTS_DIR} and no {GRADES_CSV}: run make grade first", file=sys.stderr)
        return 1
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    html_path, csv_path = write_reports(results, run_info, args.course, args.threshold, warnings)
    print(f"class report of {len(results)} student(s): {html_path}, {csv_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

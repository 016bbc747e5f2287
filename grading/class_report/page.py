"""class_report.html: the page's CSS, its sections and ``build_html``.

One self-contained file: plots are embedded PNGs; no script, no network.
"""

import html
import statistics
from collections import Counter
from datetime import datetime

from grader_tests.points import MAX_TOTAL, PARTS, POINTS
from grading.class_report.plots import plot_checks, plot_mistakes, plot_parts, plot_totals
from grading.class_report.results import failed_checks, parts_not_attempted, problem_kind, student_hints
from grading.class_report.stats import EPS, check_stats, mistake_stats, part_stats, run_facts
from grading.course import ASSIGNMENT
from grading.grades import final_time_out, needs_a_look
from grading.sanitize import CSP_META

# Longest list of students shown in one table; all of them are always in grades.csv.
MAX_ROWS = 500
# Mistakes in the plot of the most common ones.
TOP_MISTAKES = 15

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
        self.not_clean = sorted((r for r in results if needs_a_look(r)), key=lambda r: r["student_id"])
        self.final_time_outs = sorted((r for r in results if final_time_out(r)), key=lambda r: r["student_id"])
        self.below = sorted((r for r in results if r["total"] < self.threshold_points - EPS),
                            key=lambda r: (r["total"], r["student_id"]))
        self.late = [r for r in results if float((r.get("late") or {}).get("seconds_late") or 0.0) > 0]
        self.not_attempted = sorted((r for r in results if parts_not_attempted(r)), key=lambda r: r["student_id"])
        self.attempted_nothing = [r for r in self.not_attempted if len(parts_not_attempted(r)) == len(PARTS)]
        self.by_hand = sorted((r for r in results if r.get("manual")), key=lambda r: r["student_id"])


def _glance(c):
    cards = [("students", "students", str(c.n)),
             ("mean-total", f"mean total (of {c.max_total:g})", _num(c.mean)),
             ("median-total", "median total", _num(c.median)),
             ("not-clean-count", "not cleanly graded", str(len(c.not_clean))),
             ("below-count", f"below {c.threshold_points:g} points", str(len(c.below))),
             ("late-count", "late (penalised by the late policy)", str(len(c.late))),
             ("attempted-nothing-count", "attempted no part (the release, untouched)", str(len(c.attempted_nothing))),
             ("manual-count", "with scores set by hand", str(len(c.by_hand)))]
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
                 "text needs work. A part's score is its points times the share of its checks passed, or the score a TA "
                 "set by hand. <i>Not attempted</i>: the part is still the release's stub (its code raised "
                 "NotImplementedError), counted in zero too.")]
    rows = [f"<tr>{_td(part)}{_td(POINTS[part], numeric=True)}"
            f"{_td(_num(stats[part]['mean']), f'part-mean:{part}', True)}"
            f"{_td(_pct(stats[part]['full']), f'part-full:{part}', True)}"
            f"{_td(_pct(stats[part]['zero']), f'part-zero:{part}', True)}"
            f"{_td(_pct(stats[part]['not_attempted']), f'part-not-attempted:{part}', True)}"
            f"{_td(_pct(stats[part]['manual']), f'part-manual:{part}', True)}</tr>" for part in PARTS]
    out.append(_table(["part", "points", "mean", "full marks", "zero", "not attempted", "set by hand"], rows))
    if c.n:
        out.append(_img(plot_parts(stats), "share of students with full marks, partial credit and zero per part"))
    return out


def _checks_section(c):
    checks = check_stats(c.results)
    out = ['<h2 id="checks">Checks</h2>',
           _note("Each hidden check with the share of students who failed it (of those who attempted the part), "
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
                 '"no hint" counts failed checks that matched no known mistake: read a few of those feedbacks. A part not '
                 "attempted (the release's stub) is no mistake and is not counted here (see Not attempted).")]
    top = sorted(((part, r["hint"], r["share"], r["students"]) for part in PARTS for r in mistakes[part]["mistakes"]),
                 key=lambda m: (-m[2], -m[3], m[1] is None))[:TOP_MISTAKES]
    if not top:
        return out + ["<p>No failed checks.</p>"]
    out.append(f"<p>The {len(top)} most common:</p>")
    out.append(_img(plot_mistakes([m[:3] for m in top]), "share of students per mistake, most common first"))
    for part in PARTS:
        if not mistakes[part]["mistakes"]:
            continue
        out.append(f'<h3>{_e(part)} <span class="muted">({mistakes[part]["ran"]} students attempted it)</span></h3>')
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


def _status_table(results, heading, table_id):
    """Student, total and status of ``results`` (at most MAX_ROWS, with a note when cut) as a wide table."""
    shown, note = _cut(results, "submissions")
    rows = [f"{_student_row(r)}{_td(r['status'])}</tr>" for r in shown]
    table = _table(["student", "total", heading], rows, f' id="{table_id}"')
    return f'<div class="wide">{table}</div>{note}'


def _attention_section(c):
    out = ['<h2 id="attention">Needs a look</h2>',
           f'<h3>Not cleanly graded <span class="muted">({len(c.not_clean)})</span></h3>']
    if c.not_clean:
        kinds = Counter(problem_kind(r) for r in c.not_clean)
        out.append("<p>" + "; ".join(f"{_e(kind)}: {count}" for kind, count in kinds.most_common()) + "</p>")
        out.append(_status_table(c.not_clean, "reason", "not-clean"))
    else:
        out.append("<p>Every submission was graded cleanly.</p>")
    if c.final_time_outs:
        out.append(f'<h3>Graded, with a final time-out <span class="muted">({len(c.final_time_outs)})</span></h3>')
        out.append('<p class="muted">The code ran past its time in one part on a machine that was not busy (or again '
                   "when graded alone): that part keeps the credit of the checks it passed; nothing to redo.</p>")
        out.append(_status_table(c.final_time_outs, "time-out", "final-time-outs"))
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
        unclean = '<span class="bad">see above</span>' if needs_a_look(r) else ""
        untried = parts_not_attempted(r)
        rows.append(f"{_student_row(r)}{scores}{_td(failed_checks(r), numeric=True)}{_td(', '.join(student_hints(r)))}"
                    f"{_td('all' if len(untried) == len(PARTS) else ', '.join(untried))}{_td(unclean, raw=True)}</tr>")
    header = ["student", "total", *PARTS, "failed checks", "mistakes", "not attempted", "not cleanly graded"]
    out.append('<div class="wide">' + _table(header, rows, ' id="below" class="small"') + "</div>" + note)
    return out


def _not_attempted_section(c):
    out = ['<h2 id="not-attempted">Not attempted</h2>',
           _note("Parts handed in as the release's stub, untouched: the code raised NotImplementedError from its own body "
                 "(recorded by the grader as data, never read from text). They score zero and are neither mistakes nor "
                 "failed checks. grades.csv lists them in the column not_attempted.")]
    if not c.not_attempted:
        return out + ["<p>Every student attempted every part.</p>"]
    out.append(f'<p><span data-key="attempted-nothing">{len(c.attempted_nothing)}</span> submission(s) attempted no part '
               f'(the release handed in untouched); <span data-key="some-not-attempted">{len(c.not_attempted)}</span> left '
               "at least one part untouched.</p>")
    shown, note = _cut(c.not_attempted, "students")
    rows = []
    for r in shown:
        untried = parts_not_attempted(r)
        rows.append(f"{_student_row(r)}{_td('all parts' if len(untried) == len(PARTS) else ', '.join(untried))}</tr>")
    out.append('<div class="wide">' + _table(["student", "total", "parts not attempted"], rows, ' id="not-attempted-students"')
               + "</div>" + note)
    return out


def _manual_section(c):
    out = ['<h2 id="manual">Set by hand</h2>',
           _note("Scores a TA set by hand count instead of the checks' in grades.csv (column manual), the summary and "
                 "this report, and survive regrades: formgrader's manual grades (gradebook.db; the reason is the TA's "
                 "comment on the part's answer cell) and overrides.csv (student_id, part, score, reason), which wins.")]
    if not c.by_hand:
        return out + ["<p>No score was set by hand.</p>"]
    marks = [(r, part, r["manual"][part]) for r in c.by_hand for part in PARTS if part in r["manual"]]
    shown, note = _cut(marks, "scores set by hand")
    rows = []
    for r, part, m in shown:
        auto, given = f"{float(m.get('auto') or 0.0):g}", f"{float(m.get('score') or 0.0):g}"
        rows.append(f"{_student_row(r)}{_td(part)}{_td(auto, numeric=True)}{_td(given, f'manual:{part}', True)}"
                    f"{_td(m.get('source', ''))}{_td(m.get('reason') or 'no reason given')}</tr>")
    out.append('<div class="wide">' + _table(["student", "total", "part", "checks gave", "counts", "set in", "reason"], rows,
                                             ' id="manual-scores"') + "</div>" + note)
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
           '<a href="#mistakes">Mistakes</a><a href="#not-attempted">Not attempted</a><a href="#manual">Set by hand</a>'
           '<a href="#attention">Needs a look</a><a href="#run">The run</a></nav>']
    out.extend(f'<p class="bad">{_e(warning)}</p>' for warning in warnings)
    out.append(_glance(c))
    for section in (_totals_section, _parts_section, _checks_section, _mistakes_section, _not_attempted_section,
                    _manual_section, _attention_section):
        out.extend(section(c))
    out.extend(_run_section(c, run_info))
    out.append("</body></html>\n")
    return "\n".join(out)

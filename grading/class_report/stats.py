"""The statistics of a class's results: per part, per check, per mistake (hint id), and the grading run's facts."""

import statistics
from collections import Counter, defaultdict
from datetime import datetime

from grader_tests.points import PARTS, POINTS
from grader_tests.report import not_attempted
from grading.class_report.results import anonymise, check_function, check_purpose, split_hint

# Longest example message shown for a mistake (characters).
MAX_MESSAGE = 700
NO_HINT = None  # a failed check with no recognised mistake
EPS = 1e-9


def _share(count, total):
    return count / total if total else 0.0


def attempted_parts(res):
    """{part: checks} of a result's parts that were attempted (a part still the release's stub is left out)."""
    return {part: checks for part, checks in res["checks"].items() if not not_attempted(checks)}


def part_stats(results):
    """{part: {"mean", "full", "zero", "not_attempted", "manual"}}: mean score, shares with full marks, with zero,
    not attempted (the release's stub, untouched) and graded by hand."""
    n = len(results)
    stats = {}
    for part in PARTS:
        scores = [r["scores"][part] for r in results]
        stats[part] = {
            "mean": sum(scores) / n if n else 0.0,
            "full": _share(sum(s >= POINTS[part] - EPS for s in scores), n),
            "zero": _share(sum(s <= EPS for s in scores), n),
            "not_attempted": _share(sum(not_attempted(r["checks"].get(part)) for r in results), n),
            "manual": _share(sum(part in r.get("manual", {}) for r in results), n),
        }
    return stats


def check_stats(results):
    """One dict per (part, check) that ran for anyone: ran, failed, share failed, purpose; most failed first.
    A part not attempted (the release's stub) is not counted: its checks say nothing of the check."""
    counts = {}
    for res in results:
        for part, checks in attempted_parts(res).items():
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
    number of students who got it, the checks it came from, its hint sentence and one anonymised example.
    A part not attempted (the release's stub, untouched) is no mistake: left out, also of ``ran``."""
    students = defaultdict(lambda: defaultdict(set))  # part -> hint -> student ids
    checks_of = defaultdict(lambda: defaultdict(list))
    example = {}
    ran = Counter()
    for res in sorted(results, key=lambda r: r["student_id"]):
        sid = res["student_id"]
        for part, checks in attempted_parts(res).items():
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

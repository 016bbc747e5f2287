"""Readable text of grading results, for the CLI and the notebook's test cells; what a part's checks say of it."""


def not_attempted(checks):
    """Whether a part's ``checks`` ([{"passed", "not_attempted", ...}] of grader_tests.runner) say it was not
    attempted: none passed and at least one failed on the release's stub, untouched (its own NotImplementedError)."""
    checks = [c for c in checks or [] if isinstance(c, dict)]
    return bool(checks) and not any(c.get("passed") for c in checks) and any(c.get("not_attempted") is True for c in checks)


def format_part(part, result):
    """One part: its score line, then one line per check and the failure details indented."""
    passed = sum(check["passed"] for check in result["checks"])
    untried = "; not attempted: the code still raises NotImplementedError" if not_attempted(result["checks"]) else ""
    lines = [f"{part}: {result['score']:g} / {result['max']} points ({passed} of {len(result['checks'])} checks passed{untried})"]
    for check in result["checks"]:
        lines.append(f"  {'PASS' if check['passed'] else 'FAIL'}  {check['name']}")
        if not check["passed"]:
            lines.extend("        " + line for line in check["message"].splitlines())
    return "\n".join(lines)


def format_report(result):
    """A whole submission: header, each part, total."""
    lines = [f"== {result['submission']}"]
    lines.extend(f"   load problem: {error}" for error in result.get("load_errors", []))
    lines.extend(format_part(part, part_result) for part, part_result in result["parts"].items())
    lines.append(f"total: {result['score']:g} / {result['max']}")
    return "\n".join(lines) + "\n"

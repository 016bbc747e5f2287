"""Readable text of grading results, for the CLI and the notebook's test cells."""


def format_part(part, result):
    """One part: its score line, then one line per check and the failure details indented."""
    passed = sum(check["passed"] for check in result["checks"])
    lines = [f"{part}: {result['score']:g} / {result['max']} points ({passed} of {len(result['checks'])} checks passed)"]
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

"""Feedback preprocessors: what a student may see of a graded cell, and in which order."""

import functools
import json
import re

from jinja2.bccache import BytecodeCache, Bucket
from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from nbformat.v4 import new_output
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Dict, Integer

from grader_tests.points import PARTS, POINTS
from grading.cells import ANSWER_ID_OF_PART, GRADE_ID_OF_PART, is_test_cell


class HideGraderTracebacks(NbGraderPreprocessor):
    """In test cells, an error is reduced to its last line (type and message).

    A traceback from a test cell can quote the hidden block or the grader's modules; the last
    line says what went wrong without either. Answer cells keep full tracebacks: they show only
    the student's own code.
    """

    enabled = True

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code" and is_test_cell(cell):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources


# The first line of a part's report (grader_tests.report.format_part), and a check's line under it.
_REPORT_HEAD = re.compile(r"(?P<part>\w+): (?P<score>[0-9.]+) / (?P<max>[0-9.]+) points? "
                          r"\((?P<passed>\d+) of (?P<total>\d+) checks passed(?:; (?P<remark>[^()]*))?\)")
_CHECK_LINE = re.compile(r"  (?P<verdict>PASS|FAIL)  (?P<name>\S.*)")
_DETAIL = " " * 8
_HINT = "Hint: "
MAX_UNHINTED = 3  # first lines of failed checks without a hint shown in the summary, per part


def parse_report(text, part):
    """The checks of ``part`` from the report the grader wrote into its test cell, or None.

    ``text`` is grader_tests.report.format_part's output: ``<part>: S / M points (p of n checks
    passed)`` (or ``(p of n checks passed; <remark>)``, e.g. "not attempted: ..."), then one ``  PASS  name`` or ``  FAIL  name`` line per check, a failed check's
    message indented by eight spaces, its last line ``Hint: ...`` when the grader named the likely
    mistake (grader_tests.compare.CheckFailure). Returns {"passed", "total", "checks": [{"name",
    "passed", "details": [line], "hint": text or None}], "hints": [text, each once, in order],
    "unhinted": [first line of a failed check without a hint, each once], "notes": [other lines],
    "remark": the head line's remark or None}.
    """
    lines = text.splitlines()
    head = _REPORT_HEAD.fullmatch(lines[0]) if lines else None
    if head is None or head["part"] != part:
        return None
    checks, notes = [], []
    for line in lines[1:]:
        check = _CHECK_LINE.fullmatch(line)
        if check:
            checks.append({"name": check["name"], "passed": check["verdict"] == "PASS", "details": [], "hint": None})
        elif checks and line.startswith(_DETAIL):
            checks[-1]["details"].append(line[len(_DETAIL):])
        elif line.strip():
            notes.append(line)  # e.g. the grader's "[the kernel died while the grader's checks ran ...]"
    for check in checks:  # the hint is the message's last line (CheckFailure puts it there)
        if check["details"] and check["details"][-1].startswith(_HINT):
            check["hint"] = check["details"].pop()[len(_HINT):].strip()
    hints = list(dict.fromkeys(check["hint"] for check in checks if check["hint"]))
    # Failed checks the grader had no hint for: the first line of each message, once (e.g. "softmax
    # raised NotImplementedError"), so the summary says something for every part that lost points.
    unhinted = list(dict.fromkeys(check["details"][0].strip() for check in checks
                                  if not check["passed"] and not check["hint"] and check["details"]))[:MAX_UNHINTED]
    return {"passed": int(head["passed"]), "total": int(head["total"]), "checks": checks, "hints": hints,
            "unhinted": unhinted, "notes": notes, "remark": head["remark"]}


def split_report(text, part):
    """(text before the report, the parsed report) of a stream that ends with ``part``'s report, or (text, None).

    make grade writes the report as an output of its own; plain `nbgrader autograde` runs the
    checks in the kernel, whose stream may hold the visible checks' lines and the report together.
    """
    lines = text.splitlines(keepends=True)
    for start in range(len(lines) - 1, -1, -1):
        head = _REPORT_HEAD.fullmatch(lines[start].rstrip("\n"))
        if head is not None and head["part"] == part:
            report = parse_report("".join(lines[start:]), part)
            return ("".join(lines[:start]), report) if report is not None else (text, None)
    return text, None


def _grader_report(cell):
    """(index of the grader's report among the test cell's outputs, its text), or (None, None).

    The grader writes a test cell's last two outputs (grading.execute): its report as a stdout
    stream, then the score as the cell's result. Earlier outputs are the visible checks' text,
    which student code can print into, so only that place counts.
    """
    outputs = cell.get("outputs", [])
    results = [i for i, output in enumerate(outputs) if output.get("output_type") == "execute_result"]
    end = results[-1] if results else len(outputs)
    for index in range(end - 1, -1, -1):
        output = outputs[index]
        if output.get("output_type") == "stream" and output.get("name") == "stdout":
            return index, output.get("text", "")
        break
    return None, None


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


# What the page can show of a display_data or execute_result (grading.sanitize keeps these, drops the rest).
SHOWN_MIMETYPES = {"text/plain", "text/html", "text/markdown", "image/png", "image/jpeg"}


def _empty(output):
    """An output that would show as an empty box: blank text, or data the page does not show (JSON, widgets...)."""
    if output.get("output_type") == "stream":
        return not str(output.get("text", "")).strip()
    if output.get("output_type") in ("display_data", "execute_result"):
        return not SHOWN_MIMETYPES & set(output.get("data", {}))
    return False


def _joined_streams(outputs):
    """Outputs with each run of the same stream joined into one (one box of text, not one per print)."""
    joined = []
    for output in outputs:
        previous = joined[-1] if joined else None
        if (output.get("output_type") == "stream" and previous is not None and previous.get("output_type") == "stream"
                and previous.get("name") == output.get("name")):
            previous["text"] = str(previous.get("text", "")) + str(output.get("text", ""))
        else:
            joined.append(output)
    return joined


def _size(output):
    return len(json.dumps(output, default=str))


# The page's size: what nbgrader_config's output caps let into the autograded notebook (4 MiB a
# submission) is more than a student reads; the page keeps outputs up to FeedbackLayout.output_budget
# (the graded parts' first), so a page is at most the notebook's text (about 0.3 MB for the exercise
# as released, highlighted) plus that budget. Tested: tests/test_feedback_page.py.
OUTPUT_BUDGET = 1024 * 1024
MAX_PAGE_BYTES = 1536 * 1024  # the cap asserted on a real page: the budget plus room for the notebook's own text


class FeedbackLayout(NbGraderPreprocessor):
    """The feedback page's order: a summary at the top, the graded parts, then the rest folded away.

    Sets resources["feedback"] = {"parts": [{"part", "score", "max", "passed", "total", "hints",
    "checks", "anchor", "results"}], "rest": number of cells folded}, what the template
    (grading/templates/feedback_safe) shows at the top; scores are nbgrader's (GetGrades, the
    gradebook), checks and hints come from the grader's report in each test cell (each hint once
    per part). The notebook's cells are reordered: per part, in the exercise's order, its task (the
    markdown above its answer cell, and provided code between them), the answer cell and whatever the student put below it, and the
    test cell; then every other cell in notebook order (the lesson, provided code, plots), which the
    template folds into one <details>. Test cells lose their source (the visible checks' code and
    the check helper's calls), the score printed as their result (`Out[n]: 0.4`) and the grader's
    report (shown from data instead); empty stream outputs are dropped everywhere.
    """

    enabled = True
    output_budget = Integer(OUTPUT_BUDGET, help="Bytes of cell outputs (as stored, JSON) the page keeps, the graded "
                                                "parts' first; each output past it is replaced by one line saying so").tag(config=True)
    manual = Dict(help="Scores a TA set by hand, {part: {'score', 'reason', 'source', 'auto'}} (grading.manual): "
                       "they replace the checks' score of their part and the total; set by grading.manual_feedback").tag(config=True)

    def preprocess(self, nb, resources):
        cells = nb.cells
        for cell in cells:
            cell.metadata.pop("feedback", None)  # only this preprocessor says how a cell is shown
            if cell.cell_type == "code":
                cell.outputs = [output for output in cell.get("outputs", []) if not _empty(output)]
        index_of = {cell.metadata.get("nbgrader", {}).get("grade_id"): i for i, cell in enumerate(cells)
                    if cell.metadata.get("nbgrader", {}).get("grade_id")}
        parts, taken, ordered, previous_end = [], set(), [], -1
        for part in PARTS:
            test = index_of.get(GRADE_ID_OF_PART[part])
            answer = index_of.get(ANSWER_ID_OF_PART[part])
            summary = self._summary(part, cells[test] if test is not None else None)
            parts.append(summary)
            if test is None:
                continue
            members = [test]
            if answer is not None and previous_end < answer < test:
                start = answer
                while (start - 1 > previous_end and cells[start - 1].cell_type == "code"
                       and "nbgrader" not in cells[start - 1].metadata):
                    start -= 1  # provided code between the task and the answer (e.g. the data as tensors)
                if start - 1 > previous_end and cells[start - 1].cell_type == "markdown":
                    start -= 1  # the part's task
                members = [i for i in range(start, test + 1) if i not in taken]
                previous_end = test
            elif answer is not None and answer not in taken:
                members = [answer, test]
            taken.update(members)
            cells[members[0]].metadata["feedback"] = {"anchor": summary["anchor"]}
            cells[test].metadata["feedback"] = {**cells[test].metadata.get("feedback", {}), "checks": part,
                                                "results": summary["results"]}
            ordered.extend(cells[i] for i in members)
        rest = [cell for i, cell in enumerate(cells) if i not in taken]
        if rest:
            rest[0].metadata.setdefault("feedback", {})["fold_start"] = True
            rest[-1].metadata.setdefault("feedback", {})["fold_end"] = True
        nb.cells = ordered + rest
        self._keep_within_budget(nb.cells)
        if self.manual:
            self._set_by_hand(parts, resources)
        resources["feedback"] = {"parts": parts, "by_part": {p["part"]: p for p in parts}, "rest": len(rest)}
        return nb, resources

    def _summary(self, part, cell):
        """What the top of the page says about ``part``, and its test cell made plain (see the class)."""
        summary = {"part": part, "score": 0.0, "max": POINTS[part], "passed": None, "total": None, "hints": [],
                   "checks": [], "unhinted": [], "notes": [], "remark": None, "anchor": f"part-{part}", "results": f"results-{part}", "found": cell is not None}
        if cell is None:
            return summary
        grading = cell.metadata.get("nbgrader", {})
        summary["score"] = _number(grading.get("score"))
        summary["max"] = _number(grading.get("points")) or POINTS[part]
        index, text = _grader_report(cell)
        if index is not None:
            before, report = split_report(text, part)
            if report is not None:
                summary.update(report)
                cell.outputs[index]["text"] = before  # dropped below when nothing is left
        cell.outputs = [output for output in cell.outputs if output.get("output_type") != "execute_result" and not _empty(output)]
        cell.metadata.setdefault("transient", {})["remove_source"] = True
        return summary

    def _set_by_hand(self, parts, resources):
        """The scores set by hand in place of the checks', with why; the total again (parts - late penalty), as grades.csv."""
        for summary in parts:
            given = self.manual.get(summary["part"])
            if given is not None:
                summary["score"] = float(given["score"])
                summary["by_hand"] = {"auto": float(given.get("auto") or 0.0), "reason": str(given.get("reason") or ""),
                                      "source": str(given.get("source") or "")}
        graded = resources.setdefault("nbgrader", {})
        graded["score"] = round(sum(summary["score"] for summary in parts) - float(graded.get("late_penalty") or 0.0), 2)

    def preprocess_cell(self, cell, resources, cell_index):
        return cell, resources

    def _keep_within_budget(self, cells):
        """Outputs in page order until output_budget is used; each later one becomes a line saying it was left out."""
        used = 0
        for cell in cells:
            if cell.cell_type != "code":
                continue
            kept = []
            for output in cell.outputs:
                size = _size(output)
                if used + size <= self.output_budget:
                    used += size
                    kept.append(output)
                else:
                    kept.append(new_output("stream", name="stdout", text=(
                        f"[an output of {size // 1024} KiB is left out of this page: the feedback keeps at most "
                        f"{self.output_budget // 1024} KiB of outputs; your notebook has it]\n")))
            cell.outputs = _joined_streams(kept)


class _CompiledTemplates(BytecodeCache):
    """The compiled code of each template, kept in this process for its next page.

    nbgrader makes a new exporter, and so a new jinja2 environment, for every page, which parsed
    and compiled the same templates each time (about 30 ms of CPU a student, py-spy on the bench
    class). The code is keyed by the template's name and file and by the environment's settings
    that compiling reads, and jinja2 checks it against the source's checksum before use: only a
    template's own source goes in, nothing of a page.
    """

    _COMPILE_SETTINGS = ("block_start_string", "block_end_string", "variable_start_string", "variable_end_string",
                         "comment_start_string", "comment_end_string", "line_statement_prefix", "line_comment_prefix",
                         "trim_blocks", "lstrip_blocks", "newline_sequence", "keep_trailing_newline", "optimized", "is_async")

    def __init__(self):
        self._code = {}

    def get_bucket(self, environment, name, filename, source):
        settings = (*(getattr(environment, key) for key in self._COMPILE_SETTINGS), *sorted(environment.extensions))
        bucket = Bucket(environment, f"{self.get_cache_key(name, filename)}|{settings!r}", self.get_source_checksum(source))
        self.load_bytecode(bucket)
        return bucket

    def load_bytecode(self, bucket):
        if (code := self._code.get(bucket.key)) is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket):
        self._code[bucket.key] = bucket.bytecode_to_string()


_COMPILED_TEMPLATES = _CompiledTemplates()
_HIGHLIGHT_CACHED_BELOW = 20_000  # characters of a cell's source; longer sources are highlighted each time


@functools.lru_cache(maxsize=1024)
def _highlighted(source, language, magics_language, formatter_options):
    metadata = {"magics_language": magics_language} if magics_language else None
    return Highlight2HTML(extra_formatter_options=json.loads(formatter_options))(source, language, metadata)


class CachedHighlight2HTML(Highlight2HTML):
    """nbconvert's code highlighting, whose HTML for a cell's source is kept for the next page of this process.

    Most cells of a class's notebooks are the release's, unchanged: pygments highlighted each of them
    for every student (about 70 ms of CPU a page). The HTML is a function of the source, the
    language and the formatter's options alone, which are the key.
    """

    def __call__(self, source, language=None, metadata=None):
        try:  # the options as a key that gives them back as they are (JSON, or not cached)
            options = json.dumps(self.extra_formatter_options, sort_keys=True)
        except (TypeError, ValueError):
            options = None
        if options is None or len(source) >= _HIGHLIGHT_CACHED_BELOW:
            return super().__call__(source, language, metadata)
        return _highlighted(source, language or self.pygments_lexer, (metadata or {}).get("magics_language"), options)


class FeedbackExporter(HTMLExporter):
    """nbconvert's HTMLExporter without its last pass: the page as the template made it.

    HTMLExporter (nbconvert 7) parses every page it made with BeautifulSoup to add accessibility
    attributes (a default ``alt`` on images, ``tabindex`` on JupyterLab's cell classes) and writes
    it out again: half of a feedback page's time (1.5 of 3.2 s, profiled) on pages of ~10,000
    tags. Our template (grading/templates/feedback_safe) is built on the classic one, whose
    classes that pass never matches, and writes each image's ``alt`` itself.
    """

    def from_notebook_node(self, nb, resources=None, **kw):
        # What HTMLExporter.from_notebook_node does before its template runs: the filters it registers.
        language = nb.metadata.get("language_info", {})
        lexer = language.get("pygments_lexer", language.get("name", None))
        self.register_filter("highlight_code", self.filters.get("highlight_code", CachedHighlight2HTML(pygments_lexer=lexer, parent=self)))
        resources = self._init_resources(resources)
        self.register_filter("filter_data_type",
                             WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self, resources=resources))
        return TemplateExporter.from_notebook_node(self, nb, resources, **kw)

    def _create_environment(self):
        environment = super()._create_environment()
        environment.bytecode_cache = _COMPILED_TEMPLATES
        return environment

"""The feedback page a student reads in one minute (issue 22, part 4).

The real page: one demo student (bob: two parts wrong, one partly) graded by `make grade`'s own
command in a course copy, once for the module (slow: about two minutes); its numbers are compared
with the grading record make grade keeps (`.grading/results/bob.json`). The parser of the grader's
report and the math in the sanitiser are tested on their own, quickly.
"""

import base64
import copy
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from browser import csp_of, requires_browser, run_chromium
from course_copy import copy_course, grade
from grader_tests.points import PARTS, POINTS
from grader_tests.report import format_part
from grading.feedback import MAX_PAGE_BYTES, FeedbackExporter, FeedbackLayout, parse_report
from grading.sanitize import CONTENT_SECURITY_POLICY, SanitizeStudentContent

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "perceptrons"
STUDENT = "bob"


class _Page(HTMLParser):
    """Ids, links to #anchors, the text of <script> and <pre>, and the first tags of <body>."""

    def __init__(self):
        super().__init__()
        self.ids, self.links, self.tags, self.scripts, self.attributes = set(), [], [], 0, set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        self.attributes.update(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and (attrs.get("href") or "").startswith("#"):
            self.links.append(attrs["href"][1:])
        if tag == "script":
            self.scripts += 1


# ---------------------------------------------------------------------------------------------
# Quick: the grader's report read back, math as MathML


def _result(hint_text="the classes are along the last axis"):
    message = "softmax(z) differs from the expected values\n  mismatched elements: 12 / 12 (100.0%)\nHint: " + hint_text
    checks = [{"name": "softmax_values[small]", "passed": False, "message": message, "hint": "wrong_axis", "stop": None},
              {"name": "softmax_values[batch]", "passed": False, "message": message, "hint": "wrong_axis", "stop": None},
              {"name": "softmax_jit", "passed": True, "message": "", "hint": None, "stop": None},
              {"name": "softmax_gradient", "passed": False, "message": "the gradient is wrong\n  Hint: not a hint line",
               "hint": None, "stop": None}]
    return {"score": 0.5, "max": 2, "checks": checks}


def test_the_report_the_grader_writes_is_read_back_with_each_hint_once():
    parsed = parse_report(format_part("softmax", _result()), "softmax")
    assert (parsed["passed"], parsed["total"]) == (1, 4)
    assert [c["name"] for c in parsed["checks"]] == ["softmax_values[small]", "softmax_values[batch]", "softmax_jit",
                                                     "softmax_gradient"]
    assert [c["passed"] for c in parsed["checks"]] == [False, False, True, False]
    assert parsed["hints"] == ["the classes are along the last axis"]
    assert parsed["checks"][0]["details"] == ["softmax(z) differs from the expected values",
                                              "  mismatched elements: 12 / 12 (100.0%)"]
    assert parsed["checks"][3]["hint"] is None, "only the message's own last line, unindented, is its hint"
    assert parsed["unhinted"] == ["the gradient is wrong"], "a failure without a hint is named by its first line"


def test_a_remark_in_the_reports_first_line_is_kept():
    """format_part may say more in its parentheses (on main: "; not attempted: the code still raises ...")."""
    lines = format_part("softmax", _result()).splitlines()
    lines[0] = lines[0].replace("checks passed)", "checks passed; not attempted: the code still raises NotImplementedError)")
    parsed = parse_report("\n".join(lines), "softmax")
    assert (parsed["passed"], parsed["total"]) == (1, 4)
    assert parsed["remark"] == "not attempted: the code still raises NotImplementedError"
    assert parse_report(format_part("softmax", _result()), "softmax")["remark"] is None


def test_a_report_of_another_part_or_student_text_is_not_read():
    assert parse_report(format_part("softmax", _result()), "train_nn") is None
    assert parse_report("ok      softmax runs\nsoftmax: 2 / 2 points (6 of 6", "softmax") is None
    assert parse_report("", "softmax") is None


def test_math_becomes_mathml_and_mathml_cannot_carry_a_link_a_style_or_markup():
    clean = SanitizeStudentContent().markdown_to_clean_html(
        r"Loss $L = -\frac{1}{N}\sum_i y_i$ and $$\hat{y} = \sigma(z)$$ "
        r"$\href{javascript:alert(1)}{x} \color{red}{y} \text{<img src=x onerror=alert(1)>}$"
        '<math><maction actiontype="statusline" href="javascript:alert(1)"><mi onclick="alert(1)">x</mi></maction>'
        "<annotation-xml><b>hi</b></annotation-xml></math>")
    assert "$" not in re.sub(r"<annotation.*?</annotation>", "", clean), "only the TeX annotations (not drawn) keep it"
    assert clean.count("<math") == 4 and "<mfrac>" in clean and 'display="block"' in clean
    parser = _Page()
    parser.feed(clean)
    assert not {"img", "maction", "annotation-xml", "script"} & set(parser.tags), parser.tags
    assert not {"href", "mathcolor", "style", "onclick", "onerror", "actiontype"} & parser.attributes, parser.attributes


def test_latex_it_cannot_read_stays_as_its_text():
    clean = SanitizeStudentContent().markdown_to_clean_html(r"a $\frac{1}{$ b")
    assert r"$\frac{1}{$" in clean and "<math" not in clean


# ---------------------------------------------------------------------------------------------
# The real page of a graded student


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A course copy with bob graded by make grade's command: (course, bob's result, the page's text)."""
    course = copy_course(tmp_path_factory.mktemp("feedback_page"))
    for student in (course / "submitted").iterdir():
        if student.name != STUDENT:
            shutil.rmtree(student)
    completed = grade(course, "--student", STUDENT, GRADING_WORKERS="1")  # one student: one worker to start
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    result = json.loads((course / ".grading" / "results" / f"{STUDENT}.json").read_text())
    page = course / "feedback" / STUDENT / ASSIGNMENT / f"{ASSIGNMENT}.html"
    return course, result, page


def _summary_rows(text):
    """{part: (score, max, passed, total, [hints])} of the summary's rows at the top."""
    table = text[re.search(r'<div[^>]*class="parts"', text).start():text.index("</header>")]
    rows = {}
    for row in re.findall(r'<div[^>]*class="row (?:full|lost)"[^>]*>(.*?)</div>\s*</div>', table, re.S):
        part = re.search(r"<code>(.*?)</code>", row).group(1)
        score, maximum = re.search(r'<div[^>]*class="score"[^>]*>([0-9.]+) / ([0-9.]+)</div>', row).groups()
        checks = re.search(r">(\d+) of (\d+)</a>", row)
        hints = re.findall(r"<li>(.*?)</li>", row.split('class="unhinted"')[0], re.S)
        passed, total = (int(checks.group(1)), int(checks.group(2))) if checks else (None, None)
        rows[part] = (float(score), float(maximum), passed, total, hints)
    return rows


@pytest.mark.slow
def test_the_summary_at_the_top_has_the_grading_records_numbers(graded):
    _, result, page = graded
    text = page.read_text(encoding="utf-8")
    body = text[text.index("<body"):]
    summary_at = body.index('id="summary"')
    assert summary_at < body.index("<div class=\"cell") and summary_at < 300, "the summary comes first"
    total = re.search(r'<p class="total">Total: <b>([0-9.]+)</b> / ([0-9.]+) points</p>', text)
    assert (float(total.group(1)), float(total.group(2))) == (result["total"], result["max_total"])
    rows = _summary_rows(text)
    assert list(rows) == list(PARTS)
    lost = 0
    for part, (score, maximum, passed, total_checks, hints) in rows.items():
        checks = result["checks"][part]
        assert (score, maximum) == (result["scores"][part], POINTS[part]), part
        assert (passed, total_checks) == (sum(c["passed"] for c in checks), len(checks)), part
        expected_hints = {c["message"].rsplit("\nHint: ", 1)[1] for c in checks if not c["passed"] and c["hint"]}
        shown = [re.sub(r"&#x27;|&#39;", "'", h).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">")
                 .replace("&amp;", "&") for h in hints]
        assert sorted(shown) == sorted(expected_hints) and len(shown) == len(set(shown)), (part, hints)
        lost += score < maximum
    assert lost >= 2, "bob loses points in several parts: the test would not see a missing hint otherwise"


@pytest.mark.slow
def test_each_hint_appears_once_per_part_in_the_whole_page(graded):
    _, result, page = graded
    text = page.read_text(encoding="utf-8")
    for part, checks in result["checks"].items():
        failed = [c for c in checks if not c["passed"] and c["hint"]]
        for hint in {c["message"].rsplit("\nHint: ", 1)[1] for c in failed}:
            escaped = hint.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&#39;")
            count = text.count(escaped) or text.count(escaped.replace("&#39;", "&#x27;"))
            assert count == 2, (part, hint, count)  # the summary's row and the part's results, once each
    assert "Hint: " not in "".join(re.findall(r"<pre>(.*?)</pre>", text, re.S)), "no hint repeated under a check"


@pytest.mark.slow
def test_anchors_resolve_and_each_part_has_its_code_and_results(graded):
    _, _, page = graded
    parser = _Page()
    parser.feed(page.read_text(encoding="utf-8"))
    for part in PARTS:
        assert f"part-{part}" in parser.links and f"results-{part}" in parser.links, part
    missing = [link for link in parser.links if link not in parser.ids]
    assert not missing, missing


@pytest.mark.slow
def test_no_grader_code_no_stray_results_no_empty_outputs_no_raw_math(graded):
    course, _, page = graded
    text = page.read_text(encoding="utf-8")
    for grader_text in ("grade_part", "HIDDEN TESTS", "def _z", "check(", "skip(", "Out[", "Grade cell"):
        assert grader_text not in text, grader_text
    assert not re.search(r"<pre>\s*</pre>", text), "an empty output box"
    main = text[text.index('<main id="notebook">'):]
    prose = re.sub(r"<pre.*?</pre>|<code>.*?</code>|<annotation.*?</annotation>", "", main, flags=re.S)  # code may
    # hold a $ (plot labels); a formula's TeX annotation is not drawn
    assert "$" not in re.sub(r"<[^>]+>", "", prose), "math left as LaTeX source"
    assert text.count("<math") > 20, "the exercise's math is MathML"
    source = nbformat.read(str(course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), as_version=4)
    lesson_heading = next(c.source.splitlines()[0].lstrip("# ") for c in source.cells if c.cell_type == "markdown")
    details = text.index('<details class="rest">')
    assert text.index(lesson_heading) > details, "the lesson is folded away at the end"


@pytest.mark.slow
def test_the_page_is_small_runs_no_script_and_starts_with_the_policy(graded):
    _, _, page = graded
    text = page.read_text(encoding="utf-8")
    size = page.stat().st_size
    assert size <= MAX_PAGE_BYTES, f"{size} bytes"
    parser = _Page()
    parser.feed(text)
    assert parser.scripts == 0 and "javascript:" not in text.lower()
    assert csp_of(text) == CONTENT_SECURITY_POLICY


SUMMARY_PROBE = """<script>
window.addEventListener("load", function () {
  var s = document.getElementById("summary").getBoundingClientRect();
  var out = {bottom: s.bottom, height: window.innerHeight, maths: document.getElementsByTagName("math").length,
             math_height: document.querySelector("math") ? document.querySelector("math").getBoundingClientRect().height : 0};
  var probe = document.createElement("pre"); probe.id = "__probe__"; probe.textContent = JSON.stringify(out);
  document.body.appendChild(probe);
});
</script>"""


@pytest.mark.slow
@requires_browser
def test_offline_chromium_shows_the_summary_on_the_first_screen(graded, tmp_path):
    """A laptop's screen (1280 x 800); the page loads nothing (no network needed: its policy allows none)."""
    _, _, page = graded
    probed = tmp_path / "probed.html"
    probed.write_text(page.read_text(encoding="utf-8").replace("<head>", "<head>" + SUMMARY_PROBE, 1), encoding="utf-8")
    stdout, stderr = run_chromium(["--window-size=1280,800", "--virtual-time-budget=3000", "--dump-dom",
                                   probed.resolve().as_uri()], tmp_path)
    found = re.search(r'<pre id="__probe__">(.*?)</pre>', stdout, re.S)
    assert found, stderr[-2000:]
    probe = json.loads(found.group(1).replace("&quot;", '"'))
    assert 600 <= probe["height"] <= 800 and probe["bottom"] <= probe["height"], probe  # the viewport: 800 less the browser's own
    assert probe["maths"] > 20 and probe["math_height"] > 5, "MathML is laid out, not hidden"
    run_chromium(["--window-size=1280,800", f"--screenshot={tmp_path / 'feedback.png'}", page.resolve().as_uri()],
                 tmp_path)
    assert (tmp_path / "feedback.png").stat().st_size > 10_000


def test_the_layout_needs_no_gradebook_to_order_cells():
    """FeedbackLayout on the release notebook: parts first in the exercise's order, the rest folded, nothing lost."""
    nb = nbformat.read(str(ROOT / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), as_version=4)
    count = len(nb.cells)
    nb, resources = FeedbackLayout().preprocess(nb, {})
    assert len(nb.cells) == count
    anchors = [c.metadata["feedback"]["anchor"] for c in nb.cells if c.metadata.get("feedback", {}).get("anchor")]
    assert anchors == [f"part-{part}" for part in PARTS]
    first_folded = next(i for i, c in enumerate(nb.cells) if c.metadata.get("feedback", {}).get("fold_start"))
    assert nb.cells[first_folded].source.startswith("# Lesson"), "the lesson comes after the parts, folded"
    assert resources["feedback"]["rest"] == count - first_folded


def test_outputs_past_the_budget_are_left_out_with_a_line_saying_so():
    """A student's flood of outputs (within the grader's 4 MiB) does not make the page that large."""
    import base64  # noqa: PLC0415

    nb = nbformat.read(str(ROOT / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), as_version=4)
    image = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(300 * 1024)).decode()
    answer = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "softmax_code")
    lesson = next(c for c in nb.cells if c.cell_type == "code")
    lesson.outputs = [nbformat.v4.new_output("display_data", data={"image/png": image}) for _ in range(8)]
    answer.outputs = [nbformat.v4.new_output("stream", name="stdout", text="loss 0.1\n"),
                      nbformat.v4.new_output("display_data", data={"application/vnd.jupyter.widget-view+json": {}}),
                      nbformat.v4.new_output("stream", name="stdout", text="  \n"),
                      nbformat.v4.new_output("stream", name="stdout", text="loss 0.05\n")]
    nb, _ = FeedbackLayout(output_budget=1024 * 1024).preprocess(nb, {})
    kept = sum(len(json.dumps(o)) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert kept <= 1024 * 1024 + 8 * 200
    assert answer.outputs == [nbformat.v4.new_output("stream", name="stdout", text="loss 0.1\nloss 0.05\n")], \
        "the graded parts' outputs come first, one box per stream, no empty box (blank text, a widget)"
    notes = [o for o in lesson.outputs if o.get("output_type") == "stream"]
    assert len(notes) == 1 and notes[0]["text"].count("left out of this page") == 6, "2 images (400 KiB each as base64) kept, 6 left out"


def test_each_part_starts_with_its_task():
    nb = nbformat.read(str(ROOT / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), as_version=4)
    nb, _ = FeedbackLayout().preprocess(nb, {})
    starts = [c for c in nb.cells if c.metadata.get("feedback", {}).get("anchor")]
    assert len(starts) == len(PARTS)
    for n, (cell, part) in enumerate(zip(starts, PARTS), 1):
        assert cell.source.startswith(f"### Part {n}: `{part}`"), cell.source[:80]


def test_a_report_printed_after_the_visible_checks_in_one_stream_is_split_off():
    """Plain `nbgrader autograde` runs the checks in the kernel: one stream may hold both."""
    from grading.feedback import split_report  # noqa: PLC0415

    visible = "ok      softmax(z) runs\nFAILED  every row sums to one\n"
    report = format_part("softmax", _result()) + "\n[the kernel died while the grader's checks ran]\n"
    before, parsed = split_report(visible + report, "softmax")
    assert before == visible
    assert (parsed["passed"], parsed["total"], parsed["notes"]) == (1, 4, ["[the kernel died while the grader's checks ran]"])
    assert split_report(visible, "softmax") == (visible, None)


def _render(nb, exporter_class=None, **nbgrader):
    """The feedback page of ``nb`` as generate_feedback makes it, with GetGrades' and ExplainDeadline's facts given
    (with the exporter nbgrader_config.py gives generate_feedback, or ``exporter_class``)."""
    from traitlets.config.loader import PyFileConfigLoader  # noqa: PLC0415

    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    exporter = (exporter_class or config.GenerateFeedback.exporter_class)(config=config.GenerateFeedback)
    resources = {"nbgrader": {"notebook": ASSIGNMENT, "deadline": [], "late_penalty": 0.0, **nbgrader}}
    for preprocessor in (FeedbackLayout(), SanitizeStudentContent()):
        nb, resources = preprocessor.preprocess(nb, resources)
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return body


def test_a_late_penalty_is_in_the_summary_and_student_text_is_escaped():
    nb = nbformat.read(str(ROOT / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), as_version=4)
    test_cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "softmax_checks")
    test_cell.metadata.nbgrader.update(score=0.5, points=2)
    hostile = "<img src=x onerror=alert(1)>"
    result = _result(hint_text="take the max " + hostile)
    result["checks"][3]["message"] = "your code raised ValueError: " + hostile
    test_cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="ok      runs " + hostile + "\n"),
                         nbformat.v4.new_output("stream", name="stdout", text=format_part("softmax", result) + "\n"),
                         nbformat.v4.new_output("execute_result", data={"text/plain": "0.5"}, execution_count=3)]
    page = _render(nb, score=8.4, max_score=12.0, late_penalty=1.2,
                   deadline=["Due: 2026-12-11 17:00:00 UTC.", "Submitted: 2026-12-12 09:00:00 UTC, 16.0 hours late."])
    summary = page[page.index('id="summary"'):page.index("</header>")]
    assert '<p class="total">Total: <b>8.4</b> / 12 points</p>' in summary
    assert "Late submission penalty (Score: -1.2)" in summary and "16.0 hours late." in summary
    assert _summary_rows(page)["softmax"][:4] == (0.5, 2.0, 1, 4)
    assert hostile not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "Out[" not in page and "0.5 / 2 points (1 of 4" not in page, "the score result and the raw report are gone"
    assert csp_of(page) == CONTENT_SECURITY_POLICY and "<script" not in page


def test_a_score_set_by_hand_replaces_the_checks_score_and_the_total_and_says_why():
    """grading.manual_feedback hands FeedbackLayout the TA's scores: the part, the total (after the penalty) and the reason."""
    nb = nbformat.read(str(ROOT / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), as_version=4)
    for cell in nb.cells:  # every part graded 0 by the checks
        if cell.metadata.get("nbgrader", {}).get("grade_id", "").endswith("_checks"):
            cell.metadata.nbgrader.update(score=0.0)
    hostile = "<img src=x onerror=alert(1)>"
    layout = FeedbackLayout(manual={"train_nn": {"score": 3.0, "reason": "graded on paper " + hostile,
                                                 "source": "overrides.csv line 2", "auto": 0.0}})
    resources = {"nbgrader": {"notebook": ASSIGNMENT, "deadline": [], "late_penalty": 0.5, "score": 0.0, "max_score": 12.0}}
    nb, resources = layout.preprocess(nb, resources)
    assert resources["nbgrader"]["score"] == 2.5  # 3 set by hand - the late penalty, as grades.csv's total
    from nbconvert.exporters import HTMLExporter  # noqa: PLC0415
    from traitlets.config.loader import PyFileConfigLoader  # noqa: PLC0415

    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    nb, resources = SanitizeStudentContent().preprocess(nb, resources)
    page, _ = HTMLExporter(config=config.GenerateFeedback).from_notebook_node(nb, resources=resources)
    assert '<p class="total">Total: <b>2.5</b> / 12 points</p>' in page
    assert _summary_rows(page)["train_nn"][:2] == (3.0, 3.0) and _summary_rows(page)["softmax"][:2] == (0.0, 2.0)
    assert "set by hand (the checks gave 0): graded on paper &lt;img src=x onerror=alert(1)&gt;" in page
    assert hostile not in page


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the text, of a page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):  # a class list as a list (BeautifulSoup writes it with single spaces)
        self.tags.append((tag, sorted((name, " ".join(value.split()) if name == "class" else value) for name, value in attrs)))

    def handle_data(self, data):
        self.text.append(data)


def _tags_and_text(page):
    parser = _Tags()
    parser.feed(page)
    return parser.tags, " ".join(" ".join(parser.text).split())


def test_the_page_is_nbconverts_without_its_soup_pass_and_every_image_has_a_text():
    """grading.feedback.FeedbackExporter skips HTMLExporter's BeautifulSoup pass (half a page's time): the same tags,
    attributes and text; the one thing that pass did for this template, an image's alt text, the template writes."""
    from nbconvert.exporters import HTMLExporter  # noqa: PLC0415
    from traitlets.config.loader import PyFileConfigLoader  # noqa: PLC0415

    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    assert config.GenerateFeedback.exporter_class is FeedbackExporter
    nb = nbformat.read(str(ROOT / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), as_version=4)
    answer = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "train_nn_code")
    png = base64.b64encode(bytes.fromhex("89504e470d0a1a0a") + b"\0" * 40).decode()
    answer.outputs = [nbformat.v4.new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"},
                                             metadata={"image/png": {"width": 100, "height": 75}})]
    ours = _render(copy.deepcopy(nb), score=3.0, max_score=12.0)
    nbconverts = _render(copy.deepcopy(nb), exporter_class=HTMLExporter, score=3.0, max_score=12.0)
    (our_tags, our_text), (their_tags, their_text) = _tags_and_text(ours), _tags_and_text(nbconverts)
    assert our_text == their_text
    images = [attrs for tag, attrs in our_tags if tag == "img"]
    assert images == [[("alt", "A figure the notebook drew"), ("height", "75"), ("src", f"data:image/png;base64,{png}"),
                       ("width", "100")]]
    assert our_tags == [(tag, attrs if tag != "img" else images[0]) for tag, attrs in their_tags]


def test_markdown_is_cleaned_once_per_text_and_settings():
    """grading.sanitize keeps cleaned markdown per (text, cleaning settings): the lesson's cells, the same for every
    student and cleaned twice for each (autograde, feedback), are rendered once; other settings are not served from it."""
    from grading.sanitize import _clean_markdown  # noqa: PLC0415

    text = "A *lesson* cell with $x^2$ and <img src=x onerror=alert(1)> in it."
    first = SanitizeStudentContent().markdown_to_clean_html(text)
    hits = _clean_markdown.cache_info().hits
    assert SanitizeStudentContent().markdown_to_clean_html(text) == first
    assert _clean_markdown.cache_info().hits == hits + 1
    assert "onerror" not in first and "<em>lesson</em>" in first and "<math" in first
    stricter = SanitizeStudentContent(tags=["p"]).markdown_to_clean_html(text)
    assert "<em>" not in stricter and "<math" not in stricter


def test_a_page_made_after_others_is_the_page_made_first():
    """grading.feedback keeps, in a worker process, the templates' compiled code and each cell source's highlighted
    HTML for the next student's page: a page is the same made first, after another student's page, or again."""
    from grading import feedback  # noqa: PLC0415

    release = nbformat.read(str(ROOT / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), as_version=4)
    other = copy.deepcopy(release)
    answer = next(c for c in other.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "softmax_code")
    answer.source = "def softmax(z):\n    e = jnp.exp(z - z.max(axis=-1, keepdims=True))  # <b>mine</b>\n    return e / e.sum(-1, keepdims=True)\n"

    def page(nb):
        return _render(copy.deepcopy(nb), score=3.0, max_score=12.0)

    feedback._highlighted.cache_clear()
    feedback._COMPILED_TEMPLATES._code.clear()
    first = page(release)
    compiled = dict(feedback._COMPILED_TEMPLATES._code)
    assert compiled, "the templates' code is kept"
    other_page = page(other)
    assert feedback._highlighted.cache_info().hits > 0, "the unchanged cells' highlighting is reused"
    assert feedback._COMPILED_TEMPLATES._code == compiled  # nothing compiled again
    assert page(release) == first
    assert "&lt;b&gt;mine&lt;/b&gt;" in other_page and "mine" not in first
    feedback._highlighted.cache_clear()
    feedback._COMPILED_TEMPLATES._code.clear()
    assert page(other) == other_page

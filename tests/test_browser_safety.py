"""Nothing a student wrote runs in a browser: the autograded notebook, feedback, formgrader's page, the class report.

No batch is graded: a hostile notebook (markdown and outputs that would each leave a mark if they
ran, see tests/browser.py) goes through grading.sanitize.SanitizeStudentContent as make grade's
autograde chain runs it, and, for a second student, straight into autograded/ as plain
`nbgrader autograde` leaves it; `nbgrader generate_feedback` then makes both feedback pages in a
throw-away course copy. Each page, and formgrader's rendering of the autograded notebook (its
own exporter and template, as its SubmissionHandler calls them), is opened in headless Chromium.
An honest notebook's feedback must still show its headings, code, plot and score.
"""

import base64
import html
import io
import os
import re
import subprocess
import sys

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_output, new_raw_cell

from grading.sanitize import CONTENT_SECURITY_POLICY, SanitizeStudentContent
from tests.browser import assert_no_student_script_ran, csp_of, mark_js, probe_page, requires_browser
from tests.course_copy import copy_course, environment

ASSIGNMENT = "perceptrons"
HOSTILE = "mallory"
UNSANITISED = 'eve<b>&"x'  # a student directory whose name is also HTML
HONEST = "alice"


def _png():
    """A small real PNG (matplotlib), base64, as a kernel would send it."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, ax = plt.subplots(figsize=(2, 1.5), dpi=50)
    ax.plot([0, 1, 2], [0, 1, 0])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


PNG = _png()

# (what it is, where it goes, the payload given a mark's JavaScript)
PAYLOADS = [
    ("script in markdown", "markdown", lambda js: f"Hello <script>{js}</script>"),
    ("img onerror in markdown", "markdown", lambda js: f'<img src=x onerror="{js}">'),
    ("svg onload in markdown", "markdown", lambda js: f'<svg onload="{js}"><circle r="3"/></svg>'),
    ("iframe srcdoc in markdown", "markdown",
     lambda js: f'<iframe srcdoc="<script>{html.escape(js, quote=True)}</script>"></iframe>'),
    ("details ontoggle in markdown", "markdown", lambda js: f'<details open ontoggle="{js}">x</details>'),
    ("object data: in markdown", "markdown",
     lambda js: '<object data="data:text/html;base64,' + base64.b64encode(f"<script>{js}</script>".encode()).decode()
     + '"></object>'),
    ("javascript: links in markdown", "markdown",
     lambda js: f'[click me](javascript:{js}) <a href="javascript:{html.escape(js)}">or me</a> <javascript:{js}>'),
    ("text/html output", "text/html", lambda js: f'<b>table</b><script>{js}</script><img src=x onerror="{js}">'),
    ("image/svg+xml output", "image/svg+xml",
     lambda js: f'<svg xmlns="http://www.w3.org/2000/svg" onload="{js}"><script>{js}</script></svg>'),
    ("application/javascript output", "application/javascript", lambda js: js),
    ("text/markdown output", "text/markdown", lambda js: f'# Title\n\n<img src=x onerror="{js}">'),
    ("text/latex output", "text/latex", lambda js: f'$x$ <img src=x onerror="{js}">'),
    ("forged image/png output", "image/png", lambda js: f'x" onerror="{js}'),
    ("image/png width metadata", "png-width", lambda js: f"1 onerror={js.replace(' ', '')}"),
    ("isolated text/html output", "isolated", lambda js: f"<script>{js}</script>"),
    ("stream output", "stream", lambda js: f"<script>{js}</script>\n"),
    ("error output", "error", lambda js: f"<script>{js}</script>"),
    ("raw html cell", "raw", lambda js: f"<script>{js}</script>"),
]
MARKS = [f"pwned-{i}" for i in range(len(PAYLOADS))]
STYLE_ATTACK = ("<style>h4, .pull-right, #toc {display: none !important} "
                "body:before {content: 'Score: 12.0 / 12.0'}</style>\n\nI wrote this cell.")


def _cell(where, payload):
    if where == "markdown":
        return new_markdown_cell(payload)
    if where == "raw":
        return new_raw_cell(payload, metadata={"raw_mimetype": "text/html"})
    cell = new_code_cell("show()", execution_count=7)
    if where == "stream":
        cell.outputs = [new_output("stream", name="stdout", text=payload)]
    elif where == "error":
        cell.outputs = [new_output("error", ename=payload, evalue=payload, traceback=[payload])]
    elif where == "png-width":
        cell.outputs = [new_output("display_data", data={"image/png": PNG, "text/plain": "fig"},
                                   metadata={"image/png": {"width": payload}})]
    elif where == "isolated":
        cell.outputs = [new_output("display_data", data={"text/html": payload},
                                   metadata={"text/html": {"isolated": True}})]
    else:
        cell.outputs = [new_output("display_data", data={where: payload})]
    return cell


def hostile_notebook():
    """The release notebook with every payload added after its first cell (outside graded cells)."""
    nb = nbformat.read(str(ROOT_RELEASE), as_version=4)
    extra = [_cell(where, make(mark_js(mark))) for (_, where, make), mark in zip(PAYLOADS, MARKS)]
    extra.append(new_markdown_cell(STYLE_ATTACK))
    nb.cells[1:1] = extra
    return nb


def honest_notebook():
    """The release notebook with a plot and an HTML table in the first code cell's outputs."""
    nb = nbformat.read(str(ROOT_RELEASE), as_version=4)
    first_code = next(cell for cell in nb.cells if cell.cell_type == "code")
    first_code.execution_count = 1
    first_code.outputs = [
        new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"}),
        new_output("display_data", data={"text/html": "<table><tr><th>lr</th><td>0.37</td></tr></table>",
                                         "text/plain": "lr 0.37"}),
        new_output("stream", name="stdout", text="loss 0.25 < 0.5\n"),
    ]
    return nb


ROOT_RELEASE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "release", ASSIGNMENT,
                            f"{ASSIGNMENT}.ipynb")


def sanitised(nb):
    """What make grade's autograde chain does right after running the notebook."""
    nb, _ = SanitizeStudentContent().preprocess(nb, {})
    return nb


def nbgrader(course, *args):
    completed = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=environment(),
                               capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return completed


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course copy with the assignment in its gradebook, three autograded notebooks and their feedback."""
    from nbgrader.api import Gradebook  # noqa: PLC0415

    course = copy_course(tmp_path_factory.mktemp("browser_safety"),
                         include=["nbgrader_config.py", "source", "grader_tests", "reference", "grading", "sandbox"])
    nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    notebooks = {HOSTILE: sanitised(hostile_notebook()), UNSANITISED: hostile_notebook(), HONEST: honest_notebook()}
    with Gradebook("sqlite:///" + str(course / "gradebook.db"), course_id="perceptrons-course") as gb:
        for student, nb in notebooks.items():
            gb.add_student(student)
            gb.add_submission(ASSIGNMENT, student)
            for grade in gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student).grades:
                grade.auto_score = grade.max_score  # full marks: the page must show 12.0 / 12.0
            gb.db.commit()
            target = course / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
            target.parent.mkdir(parents=True)
            nbformat.write(nb, str(target))
    nbgrader(course, "generate_feedback", ASSIGNMENT, "--force")
    return course


def feedback(course, student):
    return course / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html"


# ---------------------------------------------------------------------------------------------
# The sanitiser on its own: what is kept, what is cleaned, what is dropped


def test_the_sanitiser_runs_in_make_grades_autograde_chain_and_in_feedback():
    """Registered by class, as nbgrader registers its chains, it is enabled (nbconvert's own start disabled)."""
    from nbconvert.exporters import NotebookExporter  # noqa: PLC0415
    from traitlets.config.loader import PyFileConfigLoader  # noqa: PLC0415

    from grading.course import ROOT, nbgrader_config  # noqa: PLC0415

    chain = nbgrader_config().Autograde.autograde_preprocessors
    assert chain[1] == "grading.sanitize.SanitizeStudentContent", chain
    feedback_chain = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config().GenerateFeedback.preprocessors
    assert SanitizeStudentContent in feedback_chain
    exporter = NotebookExporter()
    exporter.register_preprocessor(chain[1])
    nb, _ = exporter.from_notebook_node(hostile_notebook())
    assert "sanitized-markdown" in nb and "application/javascript" not in nb, "the chain did not sanitise"


def test_outputs_keep_only_plain_text_and_real_images():
    nb = sanitised(hostile_notebook())
    kinds = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            kinds.setdefault(output.output_type, []).append(output)
    for output in kinds["display_data"]:
        assert set(output.data) <= {"text/plain", "image/png", "image/jpeg", "text/html"}, output.data.keys()
        assert set(output.metadata) <= {"image/png", "image/jpeg"}, output.metadata
        if "image/png" in output.data:
            assert output.data["image/png"] == PNG and output.metadata == {}, "a PNG is kept, its forged width is not"
        if "text/html" in output.data:
            assert "<script" not in output.data["text/html"] and "onerror=" not in output.data["text/html"].replace(
                "&lt;", "")
    assert all(isinstance(c.get("execution_count"), (int, type(None))) for c in nb.cells if c.cell_type == "code")


def test_honest_markdown_renders_the_same_after_sanitising():
    """Headings, lists, code, math and tables of the release's own markdown survive (only look is lost)."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune  # noqa: PLC0415

    source = ("# Perceptron\n\nA *step*: $1$ if $z > 0$, `a<b`, and\n\n- one\n- two\n\n"
              "| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\nx = 1 < 2\n```\n\n[docs](https://jax.readthedocs.io)\n")
    cleaned = SanitizeStudentContent().sanitize_markdown(source)
    rendered = markdown2html_mistune(cleaned)
    assert "\n" not in cleaned and rendered.strip() == cleaned, "the cleaned cell passes through markdown unchanged"
    for expected in ("<h1>Perceptron</h1>", "<em>step</em>", "$z &gt; 0$", "<code>a&lt;b</code>", "<li>one</li>",
                     "<td>1</td>", "<pre>", '<a href="https://jax.readthedocs.io">docs</a>'):
        assert expected in rendered, (expected, rendered)
    assert "x = 1 < 2" in html.unescape(re.sub(r"<[^>]+>", "", rendered)), "code blocks keep their text (not their colours)"


def test_release_markdown_keeps_its_text():
    """Every markdown cell of the release still shows all its words after sanitising."""
    nb = nbformat.read(ROOT_RELEASE, as_version=4)
    before = [cell.source for cell in nb.cells if cell.cell_type == "markdown"]
    after = [cell.source for cell in sanitised(nb).cells if cell.cell_type == "markdown"]
    for source, cleaned in zip(before, after):
        text = html.unescape(re.sub(r"<[^>]+>", " ", cleaned.replace("&#10;", "\n")))
        text += " ".join(re.findall(r'href="([^"]*)"', cleaned))  # link targets are kept too
        words = set(re.findall(r"[A-Za-z]{4,}", source)) - set(re.findall(r"[A-Za-z]{4,}", text))
        assert not words, f"lost {sorted(words)[:10]} from {source[:80]!r}"
        assert "&lt;" not in cleaned.replace("&amp;lt;", ""), f"honest markup escaped in {source[:80]!r}"


# ---------------------------------------------------------------------------------------------
# The pages, in a browser


@requires_browser
@pytest.mark.parametrize("student", [HOSTILE, UNSANITISED], ids=["autograded_sanitised", "plain_nbgrader_autograde"])
def test_no_payload_runs_in_feedback(course, student, tmp_path):
    page = feedback(course, student)
    dom = assert_no_student_script_ran(page, MARKS, workdir=tmp_path)
    assert "javascript:" not in re.sub(r">[^<]*<", "><", dom), "a javascript: URL survived in an attribute"
    probe = probe_page(page, tmp_path, selectors=["h4", ".pull-right"])
    assert probe["scripts"] == 0 and probe["iframes"] == 0 and probe["styles_in_body"] == 0, probe
    # The grader's scores are still there and visible; the student's <style> did not hide them.
    (heading,) = probe["texts"]["h4"]
    assert heading["shown"] and "(Score: 12.0 / 12.0)" in heading["text"], heading
    assert probe["texts"][".pull-right"] and all(s["shown"] for s in probe["texts"][".pull-right"])
    # The student's fake score is at most text in their own cell: their <style> is shown, not applied.
    assert "&lt;style&gt;h4, .pull-right" in dom


@requires_browser
def test_student_id_is_not_markup_in_feedback(course):
    text = feedback(course, UNSANITISED).read_text(encoding="utf-8")
    assert UNSANITISED not in text


@requires_browser
def test_honest_feedback_still_shows_headings_code_plot_and_score(course, tmp_path):
    page = feedback(course, HONEST)
    dom = assert_no_student_script_ran(page, MARKS, workdir=tmp_path)
    probe = probe_page(page, tmp_path, selectors=["h1", "h2", ".input_area", ".output_png img", "table td", "h4"])
    assert any("Perceptron" in h["text"] for h in probe["texts"]["h1"] + probe["texts"]["h2"]), probe["texts"]["h1"]
    assert len(probe["texts"][".input_area"]) > 20 and all(c["shown"] for c in probe["texts"][".input_area"][:5])
    plots = [i for i in probe["images"] if i["src"].startswith("data:image/png")]
    assert plots and all(i["width"] == 100 and i["height"] == 75 for i in plots), probe["images"]
    assert [t["text"] for t in probe["texts"]["table td"]][:1] == ["0.37"]
    assert "(Score: 12.0 / 12.0)" in probe["texts"]["h4"][0]["text"]
    assert "loss 0.25 &lt; 0.5" in dom
    assert "MathJax" not in page.read_text(encoding="utf-8"), "no script is emitted, not even MathJax"


def formgrader_page(course, student, out):
    """The autograded notebook rendered as formgrader's SubmissionHandler renders it, saved to ``out``."""
    from nbconvert.exporters import HTMLExporter  # noqa: PLC0415
    from nbgrader.apps import NbGrader  # noqa: PLC0415
    from nbgrader.server_extensions.formgrader import handlers  # noqa: PLC0415
    from traitlets.config import Config  # noqa: PLC0415

    cwd = os.getcwd()
    os.chdir(course)
    try:
        app = NbGrader()  # FormgradeExtension.load_config: nbgrader_config.py of the course
        app.load_config_file()
        config = Config(app.config)
        config.HTMLExporter.template_name = "formgrade"  # FormgradeExtension.build_extra_config
        config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
        exporter = HTMLExporter(config=config)
        filename = course / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        resources = {"assignment_id": ASSIGNMENT, "notebook_id": ASSIGNMENT, "submission_id": "x", "index": 0,
                     "total": 1, "base_url": "", "student": student, "last_name": None, "first_name": None,
                     "notebook_path": "/" + os.path.relpath(filename, course)}
        page, _ = exporter.from_filename(str(filename), resources=resources)
    finally:
        os.chdir(cwd)
    out.write_text(page, encoding="utf-8")
    return out


@requires_browser
def test_no_payload_runs_in_formgrader(course, tmp_path):
    page = formgrader_page(course, HOSTILE, tmp_path / "formgrade.html")
    assert 'id="notebook-container"' in page.read_text(encoding="utf-8") or "formgrade" in page.read_text()
    assert_no_student_script_ran(page, MARKS, workdir=tmp_path, require_csp=False)


@requires_browser
def test_class_report_has_the_policy_and_runs_no_student_string(tmp_path):
    """A student id that is a payload shows as text in the class report, which starts with the same policy."""
    from bench.bench_class_report import synthetic_class, synthetic_run_info  # noqa: PLC0415
    from grading import class_report  # noqa: PLC0415

    ids = [f'<img src=x onerror="{mark_js("pwned-report")}">', "bob"]
    results = synthetic_class(2, ids=ids)
    page = tmp_path / "class_report.html"
    page.write_text(class_report.build_html(results, synthetic_run_info(results)), encoding="utf-8")
    assert csp_of(page.read_text(encoding="utf-8")) == CONTENT_SECURITY_POLICY
    assert_no_student_script_ran(page, ["pwned-report"], workdir=tmp_path)


@requires_browser
def test_the_check_sees_a_payload_that_runs(tmp_path):
    """Control: the hostile notebook through nbconvert's plain HTML export (no sanitiser, no policy) does run."""
    from nbconvert.exporters import HTMLExporter  # noqa: PLC0415

    page = tmp_path / "unsafe.html"
    page.write_text(HTMLExporter(template_name="classic").from_notebook_node(hostile_notebook())[0], encoding="utf-8")
    with pytest.raises(AssertionError, match="student script ran") as failure:
        assert_no_student_script_ran(page, MARKS, workdir=tmp_path, require_csp=False)
    ran = {mark for mark in MARKS if repr(mark) in str(failure.value)}
    expected = {MARKS[i] for i, (what, _, _) in enumerate(PAYLOADS) if what in (
        "script in markdown", "img onerror in markdown", "svg onload in markdown", "text/html output")}
    assert expected <= ran, f"these payloads should run unsanitised, but left no mark: {sorted(expected - ran)}"
    with pytest.raises(AssertionError, match="Content-Security-Policy"):
        assert_no_student_script_ran(page, MARKS, workdir=tmp_path)

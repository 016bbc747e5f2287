"""What a student wrote is shown as data, never run: the sanitiser of autograded notebooks and feedback.

Student markdown and cell outputs reach browsers three ways: formgrader renders the autograded
notebook inside the TA's own Jupyter server, feedback HTML is made from it, and TAs open both.
`SanitizeStudentContent` is nbconvert's `SanitizeHTML` preprocessor (bleach) with this course's
settings; it runs in `make grade`'s autograde chain right after the notebook is executed
(grading/course.py), and again in `nbgrader generate_feedback` (nbgrader_config.py), which also
serves plain `nbgrader autograde`'s notebooks. It differs from SanitizeHTML where SanitizeHTML
leaves a way in or spoils honest content:

- Markdown (cells, and `text/markdown` outputs) is rendered first with nbconvert's own renderer,
  the one the feedback and formgrade templates use, then cleaned, and stored as one HTML block
  that the renderer passes through unchanged. SanitizeHTML cleans the markdown *source* with an
  HTML sanitiser, which mangles honest text (`$z > 0$`, `a<b`, blockquotes) and cannot see what
  the renderer makes of markdown itself (`[x](javascript:...)` becomes a live link).
- Only `text/plain`, PNG and JPEG are kept as they are, and PNG/JPEG only when they are base64
  of such an image: the templates paste the image data and its width/height metadata into an
  `<img>` tag, so forged "image" data or metadata would be markup. `text/html` is cleaned;
  everything else (`image/svg+xml`, `application/javascript`, `text/latex`, JSON, widget views)
  is dropped. Output metadata is reduced to numeric image sizes; execution counts to integers.

Stream and error outputs are text: the templates escape them.

Math (`$...$`, `$$...$$`, `\\begin{...}` in markdown) becomes MathML here, on the server, with
latex2mathml: Chromium, Firefox and Safari draw MathML themselves, so the pages need neither a
script (their policy allows none) nor the network (MathJax came from a CDN). The MathML is cleaned
like everything else: only presentation elements (MATHML_TAGS) with a few layout attributes whose
values are plain words or lengths; no href, no colours or styles, no `annotation-xml`, `maction`
or `mglyph` (which can carry HTML or links); the TeX source rides along as the formula's text
`annotation` (not drawn). LaTeX that latex2mathml
cannot read stays as its source text.
"""

import base64
import binascii
import functools
import re

import bleach
from latex2mathml.converter import convert as latex_to_mathml
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbconvert.preprocessors.sanitize import SanitizeHTML
from traitlets import default

# Every page this course writes carries this policy as its first <meta>: no script of any kind, no
# network; styles inline and images/fonts embedded, as the pages are made. (frame-ancestors and
# sandbox cannot be set from a <meta>.) grading/templates/feedback_safe/index.html.j2 repeats it.
CONTENT_SECURITY_POLICY = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; "
                           "base-uri 'none'; form-action 'none'")
CSP_META = f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">'

# What rendered markdown and ordinary HTML tables need; no class, id or style, so student content
# cannot borrow the page's own look (a panel, a score).
TAGS = sorted({*bleach.ALLOWED_TAGS, "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "span", "div",
               "table", "thead", "tbody", "tr", "th", "td", "img", "del", "s", "sub", "sup", "dl", "dt", "dd"})
# MathML Core's presentation elements that latex2mathml writes for ordinary formulas
# (https://www.w3.org/TR/mathml-core/#presentation-markup), and the attributes they need.
# `semantics` and `annotation` (text only, never drawn) carry the formula's TeX source; `annotation-xml`,
# which can hold HTML, is not allowed.
MATHML_TAGS = {"math", "mi", "mn", "mo", "ms", "mtext", "mspace", "mrow", "mfrac", "msqrt", "mroot", "msub", "msup",
               "msubsup", "munder", "mover", "munderover", "mtable", "mtr", "mtd", "mstyle", "mpadded", "mphantom",
               "semantics", "annotation"}
MATHML_ATTRIBUTES = {"display", "xmlns", "stretchy", "fence", "form", "separator", "accent", "accentunder", "minsize",
                     "maxsize", "width", "height", "depth", "lspace", "rspace", "mathvariant", "displaystyle",
                     "scriptlevel", "columnalign", "rowalign", "columnspacing", "rowspacing", "movablelimits",
                     "symmetric", "largeop", "linethickness"}
_MATHML_VALUE = re.compile(r"[A-Za-z0-9.+\- ]{0,64}")
_MATHML_NS = "http://www.w3.org/1998/Math/MathML"
TAGS = sorted({*TAGS, *MATHML_TAGS})
IMAGE_MAGIC = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}


def _allowed_attribute(tag, name, value):
    """Links to the web, mail or this page; images only embedded (data:), so opening a page loads nothing."""
    if tag == "a":
        return name == "title" or (name == "href" and value.lower().startswith(("http:", "https:", "mailto:", "#")))
    if tag == "img":
        return name in ("alt", "title") or (name == "src" and value.lower().startswith("data:image/"))
    if tag in MATHML_TAGS:  # words, numbers and lengths only: no URL, colour or style can pass
        if name == "xmlns":
            return value == _MATHML_NS
        if tag == "annotation":
            return name == "encoding" and value == "application/x-tex"
        return name in MATHML_ATTRIBUTES and _MATHML_VALUE.fullmatch(value) is not None
    return tag in ("abbr", "acronym") and name == "title"


def _is_image(mimetype, data):
    """Whether ``data`` is base64 of a ``mimetype`` image (what the templates put into <img src=...>)."""
    if not isinstance(data, str):
        return False
    try:
        raw = base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        return False
    return raw.startswith(IMAGE_MAGIC[mimetype])


def _as_count(value):
    """An execution count the templates can print: an integer or None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class MathMLRenderer(IPythonRenderer):
    """nbconvert's renderer with math as MathML (latex2mathml) instead of `$...$` left for MathJax.

    The MathML is not trusted here (latex2mathml copies text such as `\\text{<b>}` through as
    markup): the sanitiser cleans it with the rest of the page.
    """

    def _math(self, tex, display, source):
        """MathML of ``tex`` with ``source`` (as written, delimiters too) kept as its TeX annotation.

        The annotation is MathML's own place for a formula's source (MathML Core, `semantics`):
        browsers draw only the first child, copy and search keep the words the author wrote.
        """
        try:
            mathml = latex_to_mathml(tex, display=display)
        except Exception:  # noqa: BLE001 - LaTeX it cannot read: shown as its source text
            return self.escape_html(source)
        open_end, close = mathml.index(">") + 1, mathml.rindex("</math>")
        return (f"{mathml[:open_end]}<semantics><mrow>{mathml[open_end:close]}</mrow>"
                f'<annotation encoding="application/x-tex">{self.escape_html(source)}</annotation></semantics></math>')

    def block_math(self, body):
        return self._math(body, "block", f"$${body}$$")

    def inline_math(self, body):
        return self._math(body, "inline", f"${body}$")

    def latex_environment(self, name, body):
        source = f"\\begin{{{name}}}{body}\\end{{{name}}}"
        return self._math(source, "block", source)


class SanitizeStudentContent(SanitizeHTML):
    """nbconvert's SanitizeHTML with markdown rendered before cleaning, and image outputs checked."""

    @default("enabled")
    def _enabled_default(self):
        return True  # nbconvert's preprocessors start disabled; nbgrader's chains register classes and never enable them

    @default("safe_output_keys")
    def _safe_output_keys_default(self):
        return {"text/plain", "image/png", "image/jpeg"}

    @default("sanitized_output_types")
    def _sanitized_output_types_default(self):
        return {"text/html"}

    @default("tags")
    def _tags_default(self):
        return TAGS

    @default("attributes")
    def _attributes_default(self):
        return _allowed_attribute

    def sanitize_html_tags(self, html_str):
        """bleach as SanitizeHTML calls it, with embedded images allowed (data: URLs; see _allowed_attribute)."""
        return _clean_html(html_str, (self.tags, self.attributes, self.strip, self.strip_comments))

    def markdown_to_clean_html(self, source, attachments=None):
        """Markdown rendered as the templates render it (nbconvert's renderer), then cleaned.

        Without attachments the result depends on the text and the cleaning settings alone, and is
        kept (_clean_markdown): the lesson's markdown cells, the same for every student and cleaned
        again for the feedback page, are rendered once per process (1.4 s a student, profiled).
        """
        cleaning = (frozenset(self.tags), self.attributes, self.strip, self.strip_comments)
        if attachments:
            return _clean_markdown.__wrapped__(source, cleaning, attachments)
        return _clean_markdown(source, cleaning)

    def sanitize_markdown(self, source, attachments=None):
        """A markdown cell's source as clean HTML in one block that the templates' renderer passes through.

        The block is a single line (newlines become character references, which mean the same in
        HTML text, <pre> and attribute values), so markdown ends it nowhere and touches nothing inside.
        """
        clean = self.markdown_to_clean_html(source, attachments)
        return '<div class="sanitized-markdown">' + clean.replace("\r", "").replace("\n", "&#10;") + "</div>"

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "markdown":
            cell.source = self.sanitize_markdown(cell.source, cell.get("attachments"))
            cell.pop("attachments", None)  # embedded in the source now
            return cell, resources
        if cell.cell_type == "code":
            cell.execution_count = _as_count(cell.get("execution_count"))
            for output in cell.outputs:
                self._prepare_output(output)
        return super().preprocess_cell(cell, resources, cell_index)

    def _prepare_output(self, output):
        """Before SanitizeHTML's pass: markdown rendered to HTML, forged images dropped, metadata reduced."""
        if "execution_count" in output:
            output.execution_count = _as_count(output.execution_count)
        if "data" not in output:
            return
        data = output.data
        if "text/markdown" in data:
            markdown = data.pop("text/markdown")
            data.setdefault("text/html", self.markdown_to_clean_html(markdown if isinstance(markdown, str) else ""))
        for mimetype in IMAGE_MAGIC:
            if mimetype in data and not _is_image(mimetype, data[mimetype]):
                self.log.info("Removing %s that is not a %s image", mimetype, mimetype)
                del data[mimetype]
        sizes = {}
        for mimetype in IMAGE_MAGIC:
            given = output.get("metadata", {}).get(mimetype)
            if isinstance(given, dict):
                kept = {key: given[key] for key in ("width", "height") if _as_count(given.get(key)) is not None}
                if kept:
                    sizes[mimetype] = kept
        output["metadata"] = sizes


def _clean_html(html, cleaning):
    """bleach's clean of ``html`` with ``cleaning`` (tags, attributes, strip, strip_comments) and data: URLs allowed."""
    tags, attributes, strip, strip_comments = cleaning
    return bleach.clean(html, tags=tags, attributes=attributes, strip=strip, strip_comments=strip_comments,
                        protocols=[*bleach.ALLOWED_PROTOCOLS, "data"])


@functools.lru_cache(maxsize=1024)
def _clean_markdown(source, cleaning, attachments=None):
    """SanitizeStudentContent.markdown_to_clean_html of ``source`` with ``cleaning`` (see _clean_html), kept."""
    renderer = MathMLRenderer(escape=False, attachments=attachments or {}, exclude_anchor_links=True)
    try:
        html = MarkdownWithMath(renderer=renderer).render(source)
    except Exception:  # noqa: BLE001 - e.g. a missing attachment: show the source as text instead
        html = "<pre>" + bleach.clean(source, tags=[]) + "</pre>"
    return _clean_html(html, cleaning).strip()

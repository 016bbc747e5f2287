"""Opening the course's pages in headless Chromium, for the tests (shared by test_class_report and test_browser_safety).

Chromium is /usr/bin/chromium (Debian package `chromium`; `CHROMIUM=...` chooses another). Tests
marked ``requires_browser`` skip when it is missing, unless CI_REQUIRE_BROWSER=1 (set by .ci/run,
which installs it): then they fail.

``assert_no_student_script_ran(html_path, marks)`` is the check for any page built from student
content (feedback, a formgrader page saved to a file): it opens the page as a TA would and fails
if a student's script ran. Hostile payloads prove they ran by leaving a *mark*: an element whose
id is the mark (``MARK_JS`` writes one), or the mark in ``document.title``. Spell the mark in
the payload so that it never appears literally (``'pw' + 'ned-3'``): an escaped payload then shows
as harmless text and only a payload that ran leaves the mark. The page must also carry the
course's Content-Security-Policy as the first element of <head>.
"""

import html
import json
import os
import re
import signal
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
HAVE_CHROMIUM = os.access(CHROMIUM, os.X_OK)
BROWSER_REQUIRED = os.environ.get("CI_REQUIRE_BROWSER") == "1"
requires_browser = pytest.mark.skipif(
    not HAVE_CHROMIUM and not BROWSER_REQUIRED,
    reason=f"headless Chromium ({CHROMIUM}) is not installed: `apt-get install chromium` to run the browser tests",
)
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-sync", "--hide-scrollbars",
                  "--enable-logging=stderr", "--v=0"]


def mark_js(mark):
    """JavaScript that, if it runs (also in a same-origin frame), leaves ``mark`` (e.g. "pwned-3") as an
    element id and in the title of the top page.

    The mark is split in the source, so the text of an escaped payload never contains it.
    """
    head, tail = mark[:2], mark[2:]
    return (f"(function(){{var m='{head}'+'{tail}',d=top.document,e=d.createElement('i');e.id=m;"
            f"d.documentElement.appendChild(e);d.title=m;}})()")


def run_chromium(args, workdir, timeout=180):
    """Runs headless Chromium with a fresh profile; returns (stdout, stderr). Its whole process group dies after."""
    if not HAVE_CHROMIUM:
        pytest.fail(f"{CHROMIUM} is missing and CI_REQUIRE_BROWSER=1: install it "
                    "(apt-get install chromium; .ci/run does)")
    profile = Path(workdir) / f"chromium-profile-{time.monotonic_ns()}"
    process = subprocess.Popen([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"chromium did not finish within {timeout} s: {args}")
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # helpers it left behind
        except ProcessLookupError:
            pass
    return stdout, stderr


def console_lines(stderr):
    """What the page wrote to the console (Chromium logs every console message as INFO:CONSOLE)."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def dump_dom(html_path, workdir, window=(1200, 3000)):
    """The DOM after the page loaded and its event handlers and timers had 3 s of (virtual) time; and the console."""
    stdout, stderr = run_chromium(["--window-size={},{}".format(*window), "--virtual-time-budget=3000", "--dump-dom",
                                   Path(html_path).resolve().as_uri()], workdir)
    assert "</html>" in stdout, f"Chromium did not load {html_path}:\n" + stderr[-2000:]
    return stdout, console_lines(stderr)


class _Ids(HTMLParser):
    """Every element id, the <title>'s text, and the <meta> elements in the order they appear."""

    def __init__(self):
        super().__init__()
        self.ids, self.title, self.head_tags, self._in_title, self._in_head = set(), "", [], False, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "head":
            self._in_head = True
        elif self._in_head:
            self.head_tags.append((tag, attrs))
        self._in_title = tag == "title"

    def handle_endtag(self, tag):
        if tag == "head":
            self._in_head = False
        if tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data


def csp_of(page_text):
    """The Content-Security-Policy of the first element of <head>, or None when the first element is not one."""
    parser = _Ids()
    parser.feed(page_text)
    if not parser.head_tags:
        return None
    tag, attrs = parser.head_tags[0]
    if tag == "meta" and (attrs.get("http-equiv") or "").lower() == "content-security-policy":
        return attrs.get("content")
    return None


def assert_no_student_script_ran(html_path, marks, workdir=None, require_csp=True):
    """Opens ``html_path`` in headless Chromium and fails if any of ``marks`` (strings) was left by a script.

    A mark counts when an element has it as id, or the page's title contains it. With
    ``require_csp``, the file must start its <head> with the course's Content-Security-Policy
    (grading.sanitize.CONTENT_SECURITY_POLICY). Returns the DOM after load, for further checks.
    """
    from grading.sanitize import CONTENT_SECURITY_POLICY  # noqa: PLC0415 - only the browser tests need it

    html_path = Path(html_path)
    workdir = Path(workdir or html_path.parent)
    if require_csp:
        found = csp_of(html_path.read_text(encoding="utf-8"))
        assert found == CONTENT_SECURITY_POLICY, (
            f"{html_path}: the first element of <head> must be the course's Content-Security-Policy "
            f"{CONTENT_SECURITY_POLICY!r}; found {found!r}")
    dom, console = dump_dom(html_path, workdir)
    parsed = _Ids()
    parsed.feed(dom)
    ran = sorted({mark for mark in marks if mark in parsed.ids or mark in parsed.title})
    assert not ran, (f"{html_path}: student script ran in Chromium, leaving {ran} "
                     f"(title {parsed.title!r}); console: {console[:5]}")
    return dom


# A probe script for a *copy* of a page: put before everything else in <head> (before the
# Content-Security-Policy, so it runs), it reports once the page has loaded, into <pre id="__probe__">.
PROBE = """<script>
window.addEventListener("load", function () {
  function shown(e) {
    var r = e.getBoundingClientRect(), s = getComputedStyle(e);
    return r.width > 0 && r.height > 0 && s.visibility === "visible" && s.display !== "none" && Number(s.opacity) > 0;
  }
  var out = {texts: {}, scripts: document.scripts.length, iframes: document.querySelectorAll("iframe, object, embed").length,
             styles_in_body: document.body.querySelectorAll("style, link").length,
             images: Array.prototype.map.call(document.images, function (i) {
               return {src: i.src.slice(0, 22), width: i.naturalWidth, height: i.naturalHeight}; })};
  (window.__probe_selectors || []).forEach(function (sel) {
    out.texts[sel] = Array.prototype.map.call(document.querySelectorAll(sel), function (e) {
      return {text: e.textContent.replace(/\\s+/g, " ").trim(), shown: shown(e), color: getComputedStyle(e).color}; });
  });
  var probe = document.createElement("pre");
  probe.id = "__probe__";
  probe.textContent = JSON.stringify(out);
  document.body.appendChild(probe);
});
</script>"""


def probe_page(html_path, workdir, selectors=()):
    """Loads a probed copy of ``html_path``: scripts, frames and <style>s in the body, images, and per CSS selector
    the text, visibility and colour of each match. (The probe is the copy's only script: it runs before the
    policy.)"""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    text = Path(html_path).read_text(encoding="utf-8")
    setup = "<script>window.__probe_selectors = " + json.dumps(list(selectors)) + ";</script>"
    probed = workdir / ("probed-" + Path(html_path).name)
    probed.write_text(text.replace("<head>", "<head>" + setup + PROBE, 1), encoding="utf-8")
    dom, console = dump_dom(probed, workdir)
    found = re.search(r'<pre id="__probe__">(.*?)</pre>', dom, re.S)
    assert found, f"the probed copy of {html_path} did not finish loading in Chromium; console: {console[:5]}"
    probe = json.loads(html.unescape(found.group(1)))
    probe["scripts"] -= 2  # the probe's own
    return probe

"""Feedback pages out to an LMS: exports/<lms>_feedback.zip, named for its bulk feedback upload (make export).

make grade writes one page per student, feedback/<student>/perceptrons/perceptrons.html, all with
the same name. This puts the page of every roster student who has one into one zip, under the name
the LMS's bulk upload uses to find the student:

- Moodle, the assignment's "Upload multiple feedback files in a zip" (View all submissions >
  Grading action; needs "Feedback files" on in the assignment's Feedback types;
  https://docs.moodle.org/en/Assignment_settings#Feedback_types). Its help text
  (mod/assign/feedback/file/lang/en/assignfeedback_file.php, ``feedbackzip_help``): "Feedback files
  will be assigned to students based on the participant id which should be the second part of each
  filename immediately after the users full name. This naming convention is used when downloading
  submissions". Its importer (mod/assign/feedback/file/importziplib.php,
  ``is_valid_filename_for_import``) splits a name at ``_`` into full name, participant id, plugin
  type and plugin name, the rest being the file's name for the student, and skips names starting
  with ``.`` or ``~``. So: ``<Full Name>_<participant>_assignsubmission_file_perceptrons-feedback.html``,
  the flat form of "Download all submissions" (lms_import reads the same names). The full name
  loses ``_`` (Moodle's own download does the same: a ``_`` would move the participant id) and
  characters no file name may hold. The participant number is the grading worksheet's
  "Participant 1234", so the roster must be the worksheet (as for the grades).
- Canvas has no documented bulk-feedback zip. What it has is Assignment > "Re-Upload Submissions"
  (Upload Submissions) of a zip made from its "Download Submissions"
  (https://community.canvaslms.com/t5/Instructor-Guide/How-do-I-download-all-student-submissions-for-an-assignment/ta-p/907).
  Canvas's code (instructure/canvas-lms, app/models/assignment.rb,
  ``generate_comments_from_files`` / ``infer_comment_context_from_filename``) takes from each
  file's base name, split at ``_``, the first two parts that are all digits as the Canvas user id
  and the id of a file *of that student's submission*; a file without both, or whose file id is
  not one of that submission's files, is ignored; each student's files become one submission
  comment "See attached file" (hidden while the assignment's grades are not posted), the file
  shown under the display name of the submitted file it was matched to (``perceptrons.ipynb``:
  Canvas names it so, whatever the uploaded name). So: ``<sortablename>_<userid>_<fileid>_perceptrons-feedback.html``
  as in the download, the file id taken from make collect's report (the entry it took from the
  download), the sortable name letters only (a part of digits would be read as an id).

Untrusted input: ids and names come from the roster (an LMS export) and go into entry names: every
name is built here from sanitised parts (no ``/``, ``\\``, ``..``, control characters, leading
``.``), never taken from a file name. Pages are read under feedback/ without following a link at
any level (each folder opened with O_NOFOLLOW relative to its parent), must be regular files of at
most FEEDBACK_LIMIT bytes, and the zip reads at most TOTAL_LIMIT in all. What is refused costs that
student only, and is said. The zip is written whole or not at all (grading.atomic), its entries
sorted, with fixed times and modes, so the same pages give the same bytes.
"""

import csv
import io
import os
import re
import stat
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from grading.atomic import replacing
from grading.course import ASSIGNMENT
from grading.inbox import read_at_most
from grading.lms_import import CANVAS as CANVAS_ENTRY  # Canvas's download names, as make collect read them
from grading.names import printable

FEEDBACK_LIMIT = 5 * 2**20  # bytes of one page: make grade's pages are a few hundred KB
TOTAL_LIMIT = 1 * 2**30  # bytes of pages read into one zip (200 students at 5 MiB each)
PAGE = f"{ASSIGNMENT}.html"  # feedback/<student>/<assignment>/<assignment>.html, as make grade writes it
FEEDBACK_NAME = f"{ASSIGNMENT}-feedback.html"  # the file's name as the student gets it
NAME_LIMIT = 60  # characters of a student's name in an entry name (names are for people; ids match)
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold: the same bytes every time
COLLECT_REPORT = "collect_report.csv"
USED_ACTIONS = ("taken", "unchanged")  # the report's lines of the notebook that is in submitted/
# Characters Moodle's clean_filename (PARAM_FILE) and common file systems refuse in a name, and
# "_", which Moodle's importer reads as the end of the name.
NOT_IN_NAMES = '/\\:*?"<>|_'


@dataclass
class FeedbackZip:
    """What was written, and what the TA should know."""

    path: Path | None = None
    entries: dict = field(default_factory=dict)  # {entry name: student id}
    missing: list = field(default_factory=list)  # (student id, why), roster students whose page is not in the zip
    notes: list = field(default_factory=list)  # sentences
    size: int = 0  # bytes of the zip


def moodle_name(full_name):
    """A full name as it may stand before ``_<participant>`` in a Moodle entry name."""
    text = unicodedata.normalize("NFC", full_name)
    text = "".join(" " if char in NOT_IN_NAMES or unicodedata.category(char)[0] in "CZ" else char for char in text)
    text = re.sub(r"\.{2,}", ".", " ".join(text.split()))[:NAME_LIMIT].strip().lstrip(".~ ")
    return text or "Participant"


def canvas_name(sortable_name):
    """Canvas's sortable name as its download writes it: lower-case ASCII letters only ("Smith, Alice" -> smithalice)."""
    text = unicodedata.normalize("NFKD", sortable_name)
    text = "".join(char for char in text.lower() if "a" <= char <= "z")[:NAME_LIMIT]
    return text or "student"


def canvas_file_ids(report_path):
    """{Canvas user id: file id} of the submissions make collect took, from its report (empty if there is none)."""
    try:
        with open(report_path, "rb") as handle:
            data = handle.read(64 * 2**20)
    except OSError:
        return {}
    ids = {}
    for row in csv.DictReader(io.StringIO(data.decode("utf-8", "replace"), newline="")):
        if row.get("action") not in USED_ACTIONS:
            continue
        entry = (row.get("entry") or "").removeprefix("'")
        match = CANVAS_ENTRY.fullmatch(PurePosixPath(entry).name)
        if match:
            ids[match["key"]] = match["order"]  # the Canvas user id, the submitted file's id
    return ids


def _open_folder(parent_fd, name):
    """A descriptor of the folder ``name`` in ``parent_fd``, never through a link. Raises ValueError."""
    try:
        return os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), dir_fd=parent_fd)
    except FileNotFoundError:
        raise FileNotFoundError(name) from None
    except OSError as error:
        try:
            mode = os.stat(name, dir_fd=parent_fd, follow_symlinks=False).st_mode
        except OSError:
            raise ValueError(f"cannot be read ({error.strerror})") from None
        raise ValueError("a symbolic link" if stat.S_ISLNK(mode) else "not a folder") from None


def read_page(feedback_dir, student_id, limit=None):
    """The bytes of feedback/<student_id>/<assignment>/<assignment>.html, no link followed at any level.

    Raises FileNotFoundError when there is no page, ValueError (the reason in words) when it cannot be used.
    """
    limit = FEEDBACK_LIMIT if limit is None else limit
    if not student_id or "/" in student_id or "\0" in student_id or student_id.startswith("."):
        raise ValueError("not a student id that can be a folder name")
    fds = []
    try:
        fds.append(os.open(feedback_dir, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0)))
        for part in (student_id, ASSIGNMENT):
            try:
                fds.append(_open_folder(fds[-1], part))
            except ValueError as reason:
                raise ValueError(f"feedback/.../{printable(part)} is {reason}") from None
        try:
            fd = os.open(PAGE, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0), dir_fd=fds[-1])
        except FileNotFoundError:
            raise
        except OSError as error:
            link = stat.S_ISLNK(os.stat(PAGE, dir_fd=fds[-1], follow_symlinks=False).st_mode)
            raise ValueError(f"{PAGE} is a symbolic link" if link else f"{PAGE} cannot be read ({error.strerror})") from None
        fds.append(fd)
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"{PAGE} is not a regular file")
        if info.st_size > limit:
            raise ValueError(f"{PAGE} is {info.st_size:,} bytes, over the limit of {limit:,} bytes a page")
        data = read_at_most(fd, limit)
        if data is None:  # grew while being read
            raise ValueError(f"{PAGE} grew past the limit of {limit:,} bytes a page")
        return data
    except OSError as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise ValueError(f"cannot be read ({error.strerror})") from None
    finally:
        for fd in reversed(fds):
            os.close(fd)


def entry_name(entry, lms, file_ids):
    """(zip entry name for the roster ``entry``, or None, and why not)."""
    if lms == "moodle":
        if not entry.lms_user_id.isdigit():
            return None, "no participant number (the roster must be Moodle's grading worksheet)"
        return f"{moodle_name(entry.name)}_{entry.lms_user_id}_assignsubmission_file_{FEEDBACK_NAME}", ""
    if lms == "canvas":
        if not entry.lms_user_id.isdigit():
            return None, "no Canvas user id (ID) in the roster"
        file_id = file_ids.get(entry.lms_user_id)
        if not file_id:
            return None, ("no Canvas file id: Canvas attaches a re-uploaded file only to a submission's own file, "
                          "known from make collect of Canvas's download")
        return f"{canvas_name(entry.sortable_name or entry.name)}_{entry.lms_user_id}_{file_id}_{FEEDBACK_NAME}", ""
    return None, f"no bulk feedback upload is made for {printable(lms)}"


def _zip_info(name):
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix, whatever system writes it
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    return info


def write_feedback_zip(roster, feedback_dir, out_dir, collect_report=None):
    """Writes ``out_dir``/<lms>_feedback.zip of the roster students' feedback pages; the FeedbackZip.

    ``collect_report``: make collect's report, for Canvas's file ids. No zip is written (and an
    older one is removed, so exports/ never holds feedback that is not this grading's) when no
    student's page can be put in one.
    """
    result = FeedbackZip()
    if not Path(feedback_dir).is_dir():
        result.notes.append("there is no feedback/ folder: run make grade first (it writes the feedback pages)")
    file_ids = canvas_file_ids(collect_report) if roster.lms == "canvas" and collect_report else {}
    pages, total = {}, 0
    for entry in sorted(roster.entries, key=lambda e: e.student_id):
        name, why = entry_name(entry, roster.lms, file_ids)
        try:
            data = read_page(feedback_dir, entry.student_id)
        except FileNotFoundError:
            result.missing.append((entry.student_id, "no feedback page (no submission, or make grade has not run for it)"))
            continue
        except ValueError as reason:
            result.missing.append((entry.student_id, f"feedback page refused: {reason}"))
            continue
        if name is None:
            result.missing.append((entry.student_id, why))
            continue
        if name in pages:  # two roster rows whose names and ids make one name: neither can be told apart
            result.missing.append((entry.student_id, f"the entry name {printable(name)} is another student's too"))
            continue
        total += len(data)
        if total > TOTAL_LIMIT:
            result.missing.append((entry.student_id, f"past the limit of {TOTAL_LIMIT // 2**30} GiB of pages in one zip"))
            continue
        pages[name] = (entry.student_id, data)
    result.path = Path(out_dir) / f"{roster.lms}_feedback.zip"
    if not pages:
        result.path.unlink(missing_ok=True)
        result.notes.append("no feedback zip written: no roster student's feedback page could be put in one")
        result.path = None
        return result
    with replacing(result.path, "wb") as handle:
        with zipfile.ZipFile(handle, "w") as archive:
            for name in sorted(pages):
                student_id, data = pages[name]
                archive.writestr(_zip_info(name), data, compresslevel=6)
                result.entries[name] = student_id
    result.size = result.path.stat().st_size
    return result


def summary(result, show=10):
    """Sentences for the TA: the roster students left out of the zip, grouped by why."""
    by_reason = {}
    for student_id, why in result.missing:
        by_reason.setdefault(why, []).append(student_id)
    lines = []
    for why, students in by_reason.items():
        more = f" and {len(students) - show} more" if len(students) > show else ""
        lines.append(f"{len(students)} roster student(s) without feedback in the zip, {why}: "
                     f"{printable(', '.join(students[:show]))}{more}")
    return lines

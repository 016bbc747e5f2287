"""Submissions from an LMS's download zip into submitted/<student>/perceptrons/, entry by entry.

The zip layouts, as each LMS documents its download (the tests build fixtures that follow them):

- Canvas, Assignments > Download Submissions
  (https://community.canvaslms.com/t5/Instructor-Guide/How-do-I-download-all-student-submissions-for-an-assignment/ta-p/907):
  one flat file per uploaded file, ``<sortablename>_[late_]<userid>_<fileid>_<filename>``, e.g.
  ``smithalice_late_1234_98765_perceptrons-1.ipynb``; the sortable name is the student's "last
  first" without spaces or punctuation, ``late`` is Canvas's late flag, and a file uploaded again
  under the same name is renamed by Canvas (``perceptrons-1.ipynb``). Only the latest submission
  is in the zip; the names hold no time.
- Moodle, assignment > View all submissions > Download all submissions
  (https://docs.moodle.org/en/Assignment_settings, "Download submissions in folders"):
  ``Full Name_1234_assignsubmission_file_/perceptrons.ipynb`` (in folders) or
  ``Full Name_1234_assignsubmission_file_perceptrons.ipynb`` (flat), 1234 the participant number
  (the grading worksheet's "Participant 1234"); online text comes as
  ``..._assignsubmission_onlinetext_/onlinetext.html``. The names hold no time.
- Blackboard, Grade Center column > Assignment File Download
  (https://help.blackboard.com/Learn/Instructor/Original/Assignments/Download_Assignments):
  ``<Assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_<filename>`` per file and a receipt
  ``<Assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>.txt`` ("Date Submitted: ..."); every
  attempt is in the zip. The date is the attempt's, in the Blackboard server's time zone
  (``timezone``, UTC unless said).

The zip is untrusted. Each entry is judged alone, and what is refused costs only that entry: names
that are absolute, climb (``..``), use backslashes or hold control characters, a name twice, links
and other non-files (their Unix mode in the external attributes), encrypted entries, entries
declared or found bigger than a notebook may be (read in chunks, never past the limit, so a
compression bomb stops at the limit), damaged entries (CRC), names that do not follow the LMS's
naming, non-notebooks, students not in the roster. A notebook that is not valid JSON is still
collected: make grade then gives that student a row saying so. Nothing is extracted by its name
from the zip: what is written goes to paths made here from the roster's student id.

Per student the latest attempt counts (Blackboard: by attempt date; Canvas: by the file id, which
grows with every upload), and in it the notebook named perceptrons.ipynb (or so renamed by the LMS
or the browser: ``perceptrons-1.ipynb``, ``perceptrons (2).ipynb``), else another notebook; among
equals the later upload. Every other notebook taken from the zip is kept for the TA in
``.grading/collected/<student>/``; two different notebooks that still rank the same (Moodle has no
upload order) could each be the submission, so neither is taken and both are kept there. Importing again never loses a submission: a submission in
submitted/ whose time is later than the download's stays, and one that is replaced is first copied
to ``.grading/collect_backup/<import time>/<student>/``. Nothing is written through a link:
submitted/, the student's folders and files are opened without following links, and files are
replaced in one step (a temporary file and a rename).
"""

import csv
import hashlib
import io
import json
import os
import re
import secrets
import stat
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from grading.course import ASSIGNMENT, NOTEBOOK
from grading.names import printable, spreadsheet_cell
from grading.roster import LMS_NAMES
from grading.settings import current as current_settings
from grading.timestamps import TIMESTAMP, TIMESTAMP_LIMIT, shown
from grading.timestamps import parse as parse_timestamp

ENTRY_LIMIT = 50_000  # entries in one zip: a class of 1,000 with a few attempts each is far below
TOTAL_LIMIT = 2 * 2**30  # bytes read from one zip in all (one notebook is held at a time)
CHUNK = 1 << 16
ASIDE_DIGEST = 12  # hex digits of a kept notebook's SHA-256 in its name
SHOWN_NAME = 200  # characters of an entry's name in the report (a zip name can be 64 KiB)
REPORT_COLUMNS = ("entry", "student_id", "action", "reason")

CANVAS = re.compile(r"(?P<sortable>[^_/]*)_(?:(?P<late>late)_)?(?P<key>\d+)_(?P<order>\d+)_(?P<filename>[^/]+)", re.IGNORECASE)
MOODLE = re.compile(r"(?P<fullname>[^/]+)_(?P<key>\d+)_assignsubmission_(?P<plugin>[a-z]+)_"
                    r"(?:/(?P<path>.+)|(?P<filename>[^/]+))")
BLACKBOARD = re.compile(r"(?P<prefix>[^/]+)_attempt_(?P<date>\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})"
                        r"(?:_(?P<filename>[^/]+)|(?P<receipt>\.txt))")
PATTERNS = {"canvas": CANVAS, "moodle": MOODLE, "blackboard": BLACKBOARD}
NAMING = {
    "canvas": "<sortablename>_[late_]<userid>_<fileid>_<filename>",
    "moodle": "<Full Name>_<participant>_assignsubmission_file_[/]<filename>",
    "blackboard": "<Assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_<filename>",
}
RENAMED = re.compile(r"(?:-\d+| ?\(\d+\))(?=\.ipynb$)", re.IGNORECASE)  # perceptrons-1.ipynb, perceptrons (2).ipynb


class CollectError(ValueError):
    """The download as a whole cannot be collected; the message is one sentence, and nothing was changed."""


@dataclass
class Line:
    """One line of the report: an entry of the zip (or a roster row, or a student) and what became of it."""

    entry: str
    student_id: str = ""
    action: str = ""  # taken, unchanged, kept, kept aside, skipped, refused, missing
    reason: str = ""


@dataclass
class Candidate:
    """A notebook of the zip that belongs to a roster student."""

    entry: str
    student_id: str
    filename: str  # the file's name as the LMS gave it
    info: zipfile.ZipInfo  # read only when its turn comes: one notebook in memory at a time
    submitted_at: datetime | None  # naive UTC, or None: the download holds no time
    attempt: object  # larger is later: Blackboard's attempt date; 0 where the download holds one submission
    order: int  # larger is the later upload within an attempt: Canvas's file id
    note: str = ""

    def rank(self):
        """Later attempts first; in one attempt the notebook named as the course's, then the later upload."""
        named = RENAMED.sub("", PurePosixPath(self.filename).name).lower() == NOTEBOOK.lower()
        return (self.attempt, named, self.order)


@dataclass
class Report:
    lms: str = ""
    lines: list = field(default_factory=list)
    report_path: Path | None = None
    warning: str = ""  # one sentence when the roster and the download do not match at all

    def add(self, entry, student_id, action, reason):
        shown_entry = printable(entry)
        if len(shown_entry) > SHOWN_NAME:
            shown_entry = shown_entry[:SHOWN_NAME] + "..."
        self.lines.append(Line(shown_entry, student_id, action, reason))

    def count(self, action):
        return sum(1 for line in self.lines if line.action == action)

    def text(self):
        width = max([len(line.entry) for line in self.lines] + [5])
        rows = [f"{line.action:<10} {line.entry:<{min(width, 70)}} {line.student_id or '-':<16} {line.reason}"
                for line in self.lines]
        return "\n".join(rows)

    def summary(self):
        taken = self.count("taken")
        parts = [f"{taken} submission(s) collected into submitted/ from a {self.lms.capitalize()} download"]
        for action in ("unchanged", "kept", "kept aside", "skipped", "refused", "missing"):
            if self.count(action):
                parts.append(f"{self.count(action)} {action}")
        return ", ".join(parts)


def _unsafe_name(name):
    """Why an entry's name is refused, or None."""
    if "\\" in name:
        return "a name with a backslash (a Windows path; LMS downloads have none)"
    if name.startswith("/") or re.match(r"[A-Za-z]:", name):
        return "an absolute path"
    if ".." in PurePosixPath(name).parts:
        return "a path that climbs out (..)"
    if printable(name) != name:
        return "a name with control characters"
    return None


def _kind(info):
    """None for a regular file, else what the entry is (its Unix mode, when the zip was made on Unix)."""
    mode = info.external_attr >> 16  # a zip made elsewhere, or without a file type, says nothing here
    if info.create_system == 3 and stat.S_IFMT(mode) and not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        return "a symbolic link" if stat.S_ISLNK(mode) else "not a regular file"
    return None


def _match(lms, name):
    """The LMS's naming matched on ``name``, or on it without one top folder (a download unpacked and zipped again)."""
    match = PATTERNS[lms].fullmatch(name)
    if match is None and "/" in name:
        match = PATTERNS[lms].fullmatch(name.split("/", 1)[1])
    return match


def detect_lms(names):
    """The LMS whose naming the most entries follow, or None."""
    counts = {lms: sum(1 for name in names if _match(lms, name)) for lms in LMS_NAMES}
    best = max(counts, key=counts.get)
    if counts[best] == 0 or list(counts.values()).count(counts[best]) > 1:
        return None
    return best


def _read_entry(archive, info, limit):
    """The bytes of ``info``, read in chunks and never past ``limit`` or the declared size. Raises ValueError."""
    if info.flag_bits & 0x1:
        raise ValueError("encrypted")
    if info.file_size > limit:
        raise ValueError(f"declares {info.file_size} bytes, over the limit of {limit} bytes a notebook")
    chunks, size = [], 0
    try:
        with archive.open(info) as handle:
            while chunk := handle.read(CHUNK):
                size += len(chunk)
                if size > info.file_size:
                    raise ValueError(f"holds more than the {info.file_size} bytes it declares (a compression bomb?)")
                chunks.append(chunk)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, OSError) as error:
        raise ValueError(f"damaged or unreadable ({printable(str(error)[:80])})") from None
    return b"".join(chunks)


def _attempt_time(text, zone):
    local = datetime.strptime(text, "%Y-%m-%d-%H-%M-%S")
    return local.replace(tzinfo=zone).astimezone(UTC).replace(tzinfo=None)


def _blackboard_student(prefix, roster):
    """The roster entry whose username ends the ``prefix`` (<Assignment>_<username>), the longest such."""
    found = [entry for entry in roster.entries if entry.lms_user_id and prefix.endswith("_" + entry.lms_user_id)]
    return max(found, key=lambda entry: len(entry.lms_user_id)) if found else None


class NotInRoster(str):
    """A skip reason that says the entry's student is not in the roster (counted for the report's warning)."""


def _stranger(student, who, more=""):
    return None if student else NotInRoster(f"{who} is not in the roster{more}")


def _classify(name, lms, roster, zone):
    """(roster entry or None, filename, submitted_at, (attempt, order), note, skip reason) of an entry's name."""
    match = _match(lms, name)
    if not match:
        return None, "", None, (), "", f"the name does not follow {lms.capitalize()}'s naming {NAMING[lms]}"
    if lms == "canvas":
        student = roster.by_lms_user_id(match["key"])
        who = f"Canvas user {match['key']} ({match['sortable']})"
        note = "Canvas marked it late; the download holds no time: submission time unknown" if match["late"] else ""
        return student, match["filename"], None, (0, int(match["order"])), note, _stranger(student, who)
    if lms == "moodle":
        if match["plugin"] != "file":
            return None, "", None, (), "", f"a Moodle {match['plugin']} submission, not a file"
        filename = match["path"] or match["filename"]
        if any(entry.lms_user_id for entry in roster.entries):
            student = roster.by_lms_user_id(match["key"])
        else:  # a participants export: no participant numbers, so the full name
            student = roster.by_name(match["fullname"])
        who = f"Moodle participant {match['key']} ({match['fullname']})"
        return student, filename, None, (0, 0), "", _stranger(student, who, " (or not once)")
    student = _blackboard_student(match["prefix"], roster)
    if match["receipt"]:
        return None, "", None, (), "", "Blackboard's receipt of the attempt (its date is read from the file names)"
    try:
        when = _attempt_time(match["date"], zone)
    except ValueError:
        return None, "", None, (), "", f"the attempt date {match['date']} is not a date"
    who = f"Blackboard user {match['prefix'].rpartition('_')[2]}"
    return student, match["filename"], when, (when, 0), "", _stranger(student, who)


def _open_dir(parent_fd, name):
    """A file descriptor of the folder ``name`` in ``parent_fd``, made if missing; never a link. Raises ValueError."""
    try:
        os.mkdir(name, 0o755, dir_fd=parent_fd)
    except FileExistsError:
        pass
    except OSError as error:
        raise ValueError(f"cannot be made ({error.strerror})") from None
    try:
        return os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=parent_fd)
    except OSError as error:
        try:
            mode = os.stat(name, dir_fd=parent_fd, follow_symlinks=False).st_mode
        except OSError:
            raise ValueError(f"cannot be opened ({error.strerror})") from None
        kind = "a symbolic link" if stat.S_ISLNK(mode) else "not a folder"
        raise ValueError(f"is {kind}: nothing written there") from None


def _open_path(root, parts):
    """A descriptor of root/parts[0]/parts[1]/..., each made if missing, none a link. Raises ValueError."""
    Path(root).mkdir(parents=True, exist_ok=True)
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    shown_path = Path(root).name
    try:
        for part in parts:
            shown_path += "/" + part
            try:
                new = _open_dir(fd, part)
            except ValueError as reason:
                raise ValueError(f"{printable(shown_path)} {reason}") from None
            os.close(fd)
            fd = new
        return fd
    except BaseException:
        os.close(fd)
        raise


def _write(dir_fd, name, data):
    """``data`` as ``name`` in ``dir_fd``: a new temporary file (O_EXCL: never a link) renamed over it.

    grading.atomic does the same by path; here every step is relative to a folder opened without
    following links, so a link planted in submitted/ cannot redirect the write.
    """
    tmp_name = f".{name}.{secrets.token_hex(6)}.tmp"
    fd = os.open(tmp_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o644, dir_fd=dir_fd)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp_name, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        try:
            os.unlink(tmp_name, dir_fd=dir_fd)
        except FileNotFoundError:
            pass
        raise


def _copy(dir_fd, name, to_fd):
    """The regular file ``name`` of ``dir_fd`` copied whole into ``to_fd`` (streamed: no size limit; never a link)."""
    tmp_name = f".{name}.{secrets.token_hex(6)}.tmp"
    source = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    try:
        target = os.open(tmp_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=to_fd)
        try:
            with os.fdopen(target, "wb") as out:
                while chunk := os.read(source, 1 << 20):
                    out.write(chunk)
            os.replace(tmp_name, name, src_dir_fd=to_fd, dst_dir_fd=to_fd)
        except BaseException:
            os.unlink(tmp_name, dir_fd=to_fd)
            raise
    finally:
        os.close(source)


def _read_existing(dir_fd, name, limit):
    """(bytes or None when missing); raises ValueError when it is a link or not a regular file."""
    try:
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(info.st_mode):
        raise ValueError("a symbolic link" if stat.S_ISLNK(info.st_mode) else "not a regular file")
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    with os.fdopen(fd, "rb") as handle:
        return handle.read(limit + 1)


def safe_file_name(name):
    """``name`` reduced to letters, digits, ``._-`` (others become _), never hidden or empty."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".") or "file"
    return cleaned[:150]


class Collector:
    """Puts the chosen notebook of each student into ``submitted`` and keeps the rest under ``state``."""

    def __init__(self, submitted, state, stamp, limits):
        self.limits = limits
        self.submitted = Path(submitted)
        self.state = Path(state)
        self.stamp = stamp

    def keep_aside(self, candidate, data):
        """Writes an alternative notebook to state/collected/<student>/; returns its path for the report.

        Its name: the attempt's time (or the upload order), the start of the bytes' SHA-256 (two
        different files never share a name; the same file collected again does) and the LMS's name.
        """
        when = candidate.submitted_at.strftime("%Y-%m-%dT%H-%M-%S") if candidate.submitted_at else str(candidate.order)
        digest = hashlib.sha256(data).hexdigest()[:ASIDE_DIGEST]
        name = safe_file_name(f"{when}_{digest}_{PurePosixPath(candidate.filename).name}")
        fd = _open_path(self.state, ["collected", candidate.student_id])
        try:
            _write(fd, name, data)
        finally:
            os.close(fd)
        return f"{self.state.name}/collected/{candidate.student_id}/{name}"

    def install(self, candidate, data):
        """(action, reason) after putting ``candidate`` in submitted/<student>/perceptrons/. Raises ValueError."""
        fd = _open_path(self.submitted, [candidate.student_id, ASSIGNMENT])
        try:
            try:
                old = _read_existing(fd, NOTEBOOK, self.limits.notebook_limit)
                old_stamp = _read_existing(fd, TIMESTAMP, TIMESTAMP_LIMIT)
            except ValueError as reason:
                raise ValueError(f"submitted/{candidate.student_id}/{ASSIGNMENT}/ holds {reason}: nothing replaced there") from None
            old_time = parse_timestamp(old_stamp).when if old_stamp is not None else None
            new_stamp = (shown(candidate.submitted_at) + "\n").encode() if candidate.submitted_at else None
            if old is not None and old == data and candidate.submitted_at in (None, old_time):
                # the same notebook: a timestamp.txt written by hand for a download without times stays
                return "unchanged", "the same notebook is in submitted/ already"
            if old is not None and old_time and candidate.submitted_at and candidate.submitted_at < old_time:
                where = self.keep_aside(candidate, data)
                return "kept aside", (f"older ({shown(candidate.submitted_at)}) than the submission in submitted/ "
                                      f"({shown(old_time)}), which stays; this one is in {where}")
            backup = ""
            if old is not None or old_stamp is not None:
                backup_fd = _open_path(self.state, ["collect_backup", self.stamp, candidate.student_id, ASSIGNMENT])
                try:
                    for name, held in ((NOTEBOOK, old), (TIMESTAMP, old_stamp)):
                        if held is not None:
                            _copy(fd, name, backup_fd)
                finally:
                    os.close(backup_fd)
                backup = f"; the one it replaced is in {self.state.name}/collect_backup/{self.stamp}/{candidate.student_id}/"
            _write(fd, NOTEBOOK, data)
            if new_stamp is not None:
                _write(fd, TIMESTAMP, new_stamp)
            elif old_stamp is not None:
                os.unlink(TIMESTAMP, dir_fd=fd)
                backup += f" (with its {TIMESTAMP}, which no longer applies: this download holds no time)"
            return "taken", backup
        finally:
            os.close(fd)


def open_zip(path):
    """The ZipFile of ``path``; CollectError (one sentence) when it is not one."""
    path = Path(path)
    if not path.is_file():
        raise CollectError(f"{printable(path)} is not a file: give the LMS's download with FROM=path/to/download.zip")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as error:
        raise CollectError(f"{printable(path)} is not a zip file ({printable(str(error)[:80])}): nothing was collected") from None
    if len(archive.infolist()) > ENTRY_LIMIT:
        archive.close()
        raise CollectError(f"{printable(path)} holds over {ENTRY_LIMIT} entries: nothing was collected")
    return archive


def zone_of(name):
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise CollectError(f"TIMEZONE={printable(name)} is not a time zone name (e.g. UTC, Europe/Berlin, America/New_York)") from None


def _scan(archive, infos, lms, roster, zone, report):
    """({student id: [Candidate]}, how many entries named a student not in the roster) of the entries whose names
    are safe, follow the LMS's naming and are roster notebooks."""
    seen, candidates, strangers = set(), {}, 0
    for info in infos:
        name = info.filename
        reason = "the zip holds this name twice" if name in seen else _unsafe_name(name) or _kind(info)
        seen.add(name)
        if reason:
            report.add(name, "", "refused", reason)
            continue
        student, filename, when, attempt, note, skip = _classify(name, lms, roster, zone)
        if skip:
            strangers += isinstance(skip, NotInRoster)
            report.add(name, "", "skipped", str(skip))
        elif not filename.lower().endswith(".ipynb"):
            report.add(name, student.student_id, "skipped", "not a notebook (.ipynb)")
        else:
            candidates.setdefault(student.student_id, []).append(
                Candidate(name, student.student_id, filename, info, when, *attempt, note))
    return candidates, strangers


class _Reader:
    """Reads entries one at a time, each up to the notebook limit, all together up to TOTAL_LIMIT."""

    def __init__(self, archive, limit):
        self.archive, self.limit, self.total = archive, limit, 0

    def read(self, candidate):
        """The candidate's bytes (its note extended when they are not JSON). Raises ValueError."""
        if self.total >= TOTAL_LIMIT:
            raise ValueError(f"past the {TOTAL_LIMIT // 2**30} GiB read from this download")
        data = _read_entry(self.archive, candidate.info, min(self.limit, TOTAL_LIMIT - self.total))
        self.total += len(data)
        try:
            json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            candidate.note = "; ".join(filter(None, [candidate.note, "not valid JSON: collected anyway, make grade gives its row the reason"]))
        return data


def _take_student(collector, reader, candidates, report):
    """Installs the first readable of the student's ranked candidates and keeps the others aside; True if one was taken.

    Two different notebooks that rank the same (one attempt, both named as the course's, no upload
    order: a Moodle download with the file twice) could each be the submission: none is taken then,
    all are kept aside, and the report says so. One notebook is held in memory besides the chosen.
    """
    chosen, chosen_data, refused, rivals = None, None, 0, []
    for candidate in sorted(candidates, key=Candidate.rank, reverse=True):
        try:
            data = reader.read(candidate)
        except ValueError as why:
            report.add(candidate.entry, candidate.student_id, "refused", str(why))
            refused += 1
            continue
        if chosen is None:
            chosen, chosen_data = candidate, data
            continue
        rival = candidate.rank() == chosen.rank() and data != chosen_data
        try:
            where = collector.keep_aside(candidate, data)
        except (ValueError, OSError) as why:
            report.add(candidate.entry, candidate.student_id, "refused", getattr(why, "strerror", None) or str(why))
            continue
        if rival:
            rivals.append(candidate)
            report.add(candidate.entry, candidate.student_id, "refused",
                       f"one of several different notebooks that could each be the submission: not graded, kept in {where}")
            continue
        why = "an earlier attempt" if candidate.attempt < chosen.attempt else "another notebook of the same submission"
        report.add(candidate.entry, candidate.student_id, "kept", f"{why}: not graded, kept in {where}")
    if chosen is None:
        return False
    if rivals:
        where = collector.keep_aside(chosen, chosen_data)
        report.add(chosen.entry, chosen.student_id, "refused",
                   f"{len(rivals) + 1} different notebooks could each be the submission, so none is taken: all kept in "
                   f"{where.rpartition('/')[0]}/; put the right one in submitted/{chosen.student_id}/{ASSIGNMENT}/{NOTEBOOK}")
        return False
    _install(collector, chosen, chosen_data, report, passed_over=refused)
    return True


def _install(collector, candidate, data, report, passed_over):
    """Puts ``candidate`` into submitted/ and says how in the report."""
    try:
        action, detail = collector.install(candidate, data)
    except (ValueError, OSError) as why:
        report.add(candidate.entry, candidate.student_id, "refused", getattr(why, "strerror", None) or str(why))
        return
    if action == "kept aside":
        report.add(candidate.entry, candidate.student_id, action, detail)
        return
    words = [f"submitted at {shown(candidate.submitted_at)}" if candidate.submitted_at else "submission time unknown"]
    name = PurePosixPath(candidate.filename).name
    if name != NOTEBOOK:
        words.append(f"as {NOTEBOOK} (the LMS named it {printable(name)})")
    if passed_over:
        words.append(f"{passed_over} notebook(s) of this student that would come first were refused (see above)")
    if candidate.note:
        words.append(candidate.note)
    report.add(candidate.entry, candidate.student_id, action, "; ".join(words) + detail)


def collect(zip_path, roster, submitted, state, lms=None, zone="UTC", stamp=None, limits=None):
    """Collects the download ``zip_path`` for ``roster`` (a grading.roster.Roster) into ``submitted``; the Report.

    ``lms`` forces the layout (else recognised from the names); ``zone``: the time zone of
    Blackboard's attempt dates; ``limits``: the GradingSettings whose notebook_limit applies
    (the course's by default). The report is also written to ``state``/collect_report.csv.
    Raises CollectError when the download as a whole cannot be collected (nothing is changed then).
    """
    zone = zone_of(zone)
    stamp = stamp or datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    report = Report()
    limits = limits or current_settings()
    with open_zip(zip_path) as archive:
        infos = [info for info in archive.infolist() if not info.is_dir()]
        found = detect_lms([info.filename for info in infos])
        if lms is None:
            if found is None:
                raise CollectError(f"the names in {printable(Path(zip_path).name)} follow none of the Canvas, Moodle or Blackboard "
                                   "download namings: say which LMS it came from with LMS=canvas|moodle|blackboard")
            lms = found
        if lms not in LMS_NAMES:
            raise CollectError(f"LMS={printable(lms)} is not one of {', '.join(LMS_NAMES)}")
        if roster.lms != lms:
            raise CollectError(f"the roster is a {roster.lms.capitalize()} export but the download is {lms.capitalize()}'s: "
                               "give the roster of the same LMS (or LMS= to say which)")
        report.lms = lms
        for problem in roster.problems:
            report.add("roster", "", "skipped", problem)
        candidates, strangers = _scan(archive, infos, lms, roster, zone, report)
        if strangers and not candidates:
            report.warning = (f"none of the {strangers} file(s) of the download belongs to a student of the roster "
                              f"({len(roster.entries)} student(s)): is the roster this course's, and its LMS ids this download's?")
        collector = Collector(submitted, state, stamp, limits)
        reader = _Reader(archive, limits.notebook_limit)
        taken = set()
        for student_id in sorted(candidates):
            if _take_student(collector, reader, candidates[student_id], report):
                taken.add(student_id)
        for entry in roster.entries:
            if entry.student_id not in candidates:
                report.add("-", entry.student_id, "missing", "no notebook of this student in the download")
            elif entry.student_id not in taken:
                report.add("-", entry.student_id, "missing", "none of this student's notebooks could be taken (see above)")
    report.report_path = write_report(report, Path(state) / "collect_report.csv")
    return report


def write_report(report, path):
    """The report as CSV (cells made safe for spreadsheets), written whole or not at all."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(REPORT_COLUMNS)
    for line in report.lines:
        writer.writerow([spreadsheet_cell(line.entry), spreadsheet_cell(line.student_id), line.action, spreadsheet_cell(line.reason)])
    fd = _open_path(path.parent, [])
    try:
        _write(fd, path.name, buffer.getvalue().encode("utf-8"))
    finally:
        os.close(fd)
    return path

"""Reading submitted/: regular files only, never through a link, always with a size limit.

Submissions arrive from git repositories, LMS zip files and copied folders, all of which can
carry symbolic links, and a course directory can hold FIFOs, sockets or device files. The
coordinator reads a student's notebooks from here and nowhere else: every entry is examined
with lstat, a directory that is a link is not entered, a file is opened with O_NOFOLLOW and
O_NONBLOCK (a FIFO never blocks) and must be a regular file once open (fstat), and it is read
up to a limit. What is refused costs that student only, and says why in words.

Besides notebooks, the one other file read is <assignment>/timestamp.txt (what nbgrader collect
writes: the submission time), at most grading.timestamps.TIMESTAMP_LIMIT bytes; it is parsed
later, as untrusted text (grading.intake, grading.timestamps).
"""

import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from grading.course import ASSIGNMENT
from grading.names import printable
from grading.settings import current as current_settings
from grading.timestamps import TIMESTAMP, TIMESTAMP_LIMIT

TIMESTAMP_PATH = Path(ASSIGNMENT) / TIMESTAMP  # relative to the student's folder

# A student id is shown raw by nbgrader's formgrader (its templates do not escape it): an id with
# one of these is never graded, and its row asks for the folder to be renamed.
MARKUP_CHARACTERS = "<>&\"'`"
_KINDS = {stat.S_IFLNK: "a symbolic link", stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket",
          stat.S_IFCHR: "a device", stat.S_IFBLK: "a device"}


@dataclass
class Submission:
    """What make grade takes from submitted/<student_id>."""

    student_id: str
    files: dict = field(default_factory=dict)  # {path relative to the student's folder: bytes}: notebooks and TIMESTAMP_PATH
    refused: list = field(default_factory=list)  # sentences, one per entry that was not read
    problem: str | None = None  # why nothing of this student can be read at all

    def notebooks(self):
        """The paths of ``files`` that are notebooks."""
        return [relative for relative in self.files if _is_notebook(relative)]

    def fingerprint(self, salt):
        """Hash of what is graded (the notebooks' paths and bytes, and what was refused) and ``salt``."""
        digest = hashlib.sha256(salt.encode())
        for relative, data in sorted(self.files.items()):
            digest.update(relative.encode("utf-8", "surrogateescape") + b"\0" + hashlib.sha256(data).digest())
        digest.update(repr((self.refused, self.problem)).encode("utf-8", "surrogateescape"))
        return digest.hexdigest()


def _kind(mode):
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def _is_notebook(name):
    return name.endswith(".ipynb")


def read_regular(path, limit, too_big="over the size limit"):
    """The bytes of ``path`` if it is a regular file of at most ``limit`` bytes (not followed if a link).

    Raises ValueError with the reason in words otherwise (OSError's strerror for unreadable ones).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        if os.path.islink(path):
            raise ValueError("a symbolic link") from None
        raise ValueError(f"cannot be read ({error.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(_kind(info.st_mode))
        if info.st_size > limit:
            raise ValueError(f"{info.st_size} bytes: {too_big}")
        data = read_at_most(fd, limit)
        if data is None:  # grew while being read
            raise ValueError(f"{limit + 1}+ bytes: {too_big}")
        return data
    except OSError as error:
        raise ValueError(f"cannot be read ({error.strerror})") from None
    finally:
        os.close(fd)


def read_at_most(fd, limit):
    """The rest of the open file ``fd`` in 1 MiB reads, or None as soon as it holds more than ``limit`` bytes."""
    chunks, size = [], 0
    while chunk := os.read(fd, 1 << 20):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def student_ids(submitted):
    """Every entry of ``submitted`` that is a student: its folders, and its links (refused when read)."""
    try:
        entries = list(os.scandir(submitted))
    except FileNotFoundError:
        return []
    return sorted(entry.name for entry in entries
                  if not entry.name.startswith(".") and (entry.is_dir(follow_symlinks=False) or entry.is_symlink()))


def read_submission(submitted, student_id, limits=None):
    """The Submission of ``submitted/<student_id>``: its notebooks' bytes, and what was refused.

    ``limits``: the GradingSettings whose size and entry limits apply (the course's by default).
    """
    limits = limits or current_settings()
    too_big = (f"over the size limit ({limits.notebook_limit // 2**20} MiB a notebook, "
               f"{limits.submission_limit // 2**20} MiB a student)")
    submission = Submission(student_id)
    if any(char in MARKUP_CHARACTERS for char in student_id):
        submission.problem = (f"not graded: the student id {printable(student_id)} holds characters a web page reads as "
                              f"markup ({' '.join(MARKUP_CHARACTERS)}; nbgrader's formgrader shows ids unescaped): "
                              "rename the folder")
        return submission
    top = Path(submitted) / student_id
    try:
        mode = os.lstat(top).st_mode
    except OSError as error:
        submission.problem = f"submitted/{printable(student_id)} cannot be read ({error.strerror})"
        return submission
    if not stat.S_ISDIR(mode):
        submission.problem = f"submitted/{printable(student_id)} is {_kind(mode)}, not a folder: not graded"
        return submission
    total, seen = 0, 0
    pending = [Path()]
    while pending:
        relative_dir = pending.pop()
        try:
            entries = sorted(os.scandir(top / relative_dir), key=lambda e: e.name)
        except OSError as error:
            submission.refused.append(f"{printable(relative_dir)}/ (cannot be read: {error.strerror})")
            continue
        for entry in entries:
            seen += 1
            if seen > limits.entry_limit:
                submission.refused.append(f"everything past the first {limits.entry_limit} entries")
                return submission
            relative = relative_dir / entry.name
            shown = printable(relative)
            if entry.name.startswith(".") and entry.is_dir(follow_symlinks=False):
                continue  # .git, .ipynb_checkpoints: never the submission
            try:
                if entry.is_symlink():
                    time_unknown = "; submission time unknown" if relative == TIMESTAMP_PATH else ""
                    submission.refused.append(f"{shown} (a symbolic link{time_unknown})")
                elif entry.is_dir(follow_symlinks=False):
                    pending.append(relative)
                elif relative == TIMESTAMP_PATH:
                    try:
                        submission.files[str(relative)] = read_regular(top / relative, TIMESTAMP_LIMIT, f"over {TIMESTAMP_LIMIT} bytes")
                    except ValueError as reason:
                        submission.refused.append(f"{shown} ({reason}; submission time unknown)")
                elif _is_notebook(entry.name):
                    data = read_regular(top / relative, min(limits.notebook_limit, limits.submission_limit - total), too_big)
                    total += len(data)
                    submission.files[str(relative)] = data
                elif not entry.is_file(follow_symlinks=False):
                    submission.refused.append(f"{shown} ({_kind(entry.stat(follow_symlinks=False).st_mode)})")
            except ValueError as reason:
                submission.refused.append(f"{shown} ({reason})")
            except OSError as error:
                submission.refused.append(f"{shown} (cannot be read: {error.strerror})")
    return submission

"""A submission's timestamp.txt (what ``nbgrader collect`` writes next to the notebook), read as untrusted text.

The file is the student's side of the course directory: it is read only when it is a regular
file of at most TIMESTAMP_LIMIT bytes (grading.inbox reads it, and grading.intake again where it
was staged: never through a link, never a FIFO), one line of UTF-8, parsed with nbgrader's own rule
(nbgrader.utils.parse_utc, as ``nbgrader autograde`` reads it). What comes out is a naive UTC
datetime, never the text: the staged copy is rewritten in nbgrader's own format
(:func:`staged_text`), and a note quotes at most a few escaped characters of a bad file.

No file means the submission time is unknown, which is never counted late. A file that cannot be
read or parsed is noted and graded the same way: nothing a student writes here can cost or earn
points beyond what its real time does.
"""

from dataclasses import dataclass
from datetime import datetime

from grading.names import printable

TIMESTAMP = "timestamp.txt"  # nbgrader collect's name, in submitted/<student>/<assignment>/
TIMESTAMP_LIMIT = 256  # bytes; nbgrader writes about 35 ("2026-12-01 17:03:12.345678 UTC")
SHOWN = 40  # characters of a malformed file quoted in its note
FORMAT = "%Y-%m-%d %H:%M:%S.%f UTC"  # how the staged copy is written (nbgrader's collect writes this form)


@dataclass
class Timestamp:
    """What grading takes from timestamp.txt: a time (naive UTC) or None, and a note when it was refused."""

    when: datetime | None = None
    note: str | None = None  # None: read fine, or no file at all


def _quoted(text):
    shown = printable(text[:SHOWN])
    return f"'{shown}'" + ("..." if len(text) > SHOWN else "")


def parse(data):
    """The Timestamp of ``data`` (the bytes of a timestamp.txt)."""
    from nbgrader.utils import parse_utc

    if len(data) > TIMESTAMP_LIMIT:
        return Timestamp(note=f"{TIMESTAMP} ignored ({len(data)} bytes, over {TIMESTAMP_LIMIT}): submission time unknown")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return Timestamp(note=f"{TIMESTAMP} ignored (not UTF-8 text): submission time unknown")
    lines = text.strip().splitlines()
    if not lines:
        return Timestamp(note=f"{TIMESTAMP} ignored (empty): submission time unknown")
    if len(lines) > 1:
        return Timestamp(note=f"{TIMESTAMP} ignored ({len(lines)} lines, not one): submission time unknown")
    line = lines[0].strip()
    try:
        when = parse_utc(line)
    except (ValueError, OverflowError, TypeError, LookupError):
        return Timestamp(note=f"{TIMESTAMP} ignored (not a time nbgrader can read: {_quoted(line)}): submission time unknown")
    if not isinstance(when, datetime):
        return Timestamp(note=f"{TIMESTAMP} ignored (not a time: {_quoted(line)}): submission time unknown")
    return Timestamp(when=when)


def staged_text(when):
    """The line nbgrader's autograde reads back to exactly ``when``."""
    return when.strftime(FORMAT)


def shown(when):
    """``when`` for people: '2026-12-01 17:03:12 UTC' ('unknown' for None)."""
    return "unknown" if when is None else when.strftime("%Y-%m-%d %H:%M:%S UTC")

"""Names a student controls (student ids, file names, log lines), made safe to show.

A student id is a directory name and a file name is whatever an upload or a zip held: both can
carry terminal escape sequences (which erase lines or set the title of the TA's terminal) and
text a spreadsheet reads as a formula. They are data: shown escaped, never interpreted.
"""

import unicodedata

# What a spreadsheet reads as the start of a formula when a CSV cell begins with it (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def printable(text):
    """``text`` with every control or format character (escapes, bidi overrides, NUL...) written as \\xNN or \\uNNNN."""
    out = []
    for char in str(text):
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def spreadsheet_cell(text):
    """A text cell for a CSV file: printable, and prefixed with ' when a spreadsheet would read a formula."""
    text = printable(text)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


"""Print the path of a Python interpreter that this project supports; used by the Makefile.

    python3 tools/find_python.py [--python NAME_OR_PATH] [--pyproject FILE]

The supported versions are stated once, as `requires-python` in pyproject.toml. With --python
(the Makefile's PYTHON=...) only that interpreter is considered. Otherwise the candidates are, in
order: python3, python3.14, python3.13, python3.12, python3.11 on PATH, then pyenv's versions
($PYENV_ROOT or ~/.pyenv, newest first). The first one whose version is supported and that can
create a virtual environment (has ensurepip) wins: its base interpreter's path is printed on
stdout. When there is none, one sentence on stderr says what was found, what is needed and how to
get it, and the exit status is 1.

This script runs under whatever python3 is at hand, even an old one (and Python 2.7): keep its
syntax plain (no f-strings, no walrus, no type hints).
"""
from __future__ import print_function

import argparse
import os
import re
import subprocess
import sys

PATH_NAMES = ["python3", "python3.14", "python3.13", "python3.12", "python3.11"]
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PYPROJECT = os.path.join(os.path.dirname(HERE), "pyproject.toml")

# Runs inside each candidate (any Python 2 or 3): its base interpreter, version, implementation,
# and whether it can make a venv (Debian and Ubuntu ship ensurepip separately, as python3-venv).
PROBE = r"""
import sys, os
exe = sys.executable
if getattr(sys, "base_prefix", sys.prefix) != sys.prefix:
    exe = getattr(sys, "_base_executable", "") or os.path.join(
        sys.base_prefix, "bin", "python%d.%d" % sys.version_info[:2])
try:
    import ensurepip, venv
    ok = 1
except Exception:
    ok = 0
impl = getattr(getattr(sys, "implementation", None), "name", "cpython")
sys.stdout.write("%s\n%d.%d.%d\n%s\n%d\n" % ((exe,) + tuple(sys.version_info[:3]) + (impl, ok)))
"""


def read_requires_python(pyproject):
    """The `requires-python` string of pyproject.toml's [project] table."""
    section = None
    with open(pyproject) as f:
        for line in f:
            stripped = line.strip()
            if stripped.startswith("["):
                section = stripped.strip("[] ")
                continue
            m = re.match(r"""requires-python\s*=\s*["']([^"']+)["']""", stripped)
            if m and section == "project":
                return m.group(1)
    raise SystemExit("find_python: no requires-python in the [project] table of %s" % pyproject)


def parse_version(text):
    return tuple(int(p) for p in text.split("."))


def _pad(a, n):
    return tuple(a) + (0,) * (n - len(a))


def clause_ok(version, clause):
    """Does `version` (a tuple of ints) satisfy one PEP 440 clause such as '>=3.11' or '==3.12.*'?"""
    m = re.match(r"^\s*(===|~=|==|!=|<=|>=|<|>)\s*([0-9][0-9.]*?)(\.\*)?\s*$", clause)
    if not m:
        raise SystemExit("find_python: cannot read the requires-python clause %r" % clause)
    op, text, star = m.group(1), m.group(2), m.group(3)
    spec = parse_version(text)
    if star:  # ==3.12.* / !=3.12.*: compare the leading components only
        same = _pad(version, len(spec))[:len(spec)] == spec
        return same if op == "==" else not same
    n = max(len(spec), len(version))
    v, s = _pad(version, n), _pad(spec, n)
    if op in ("==", "==="):
        return v == s
    if op == "!=":
        return v != s
    if op == "<":
        return v < s
    if op == "<=":
        return v <= s
    if op == ">":
        return v > s
    if op == ">=":
        return v >= s
    # ~=X.Y.Z: >= X.Y.Z and the same X.Y
    return v >= s and v[:len(spec) - 1] == s[:len(spec) - 1]


def supported(version, requires):
    return all(clause_ok(version, c) for c in requires.split(",") if c.strip())


def minors_text(requires):
    """'3.11, 3.12, 3.13 or 3.14' for '>=3.11,<3.15' (the minors with at least one allowed release)."""
    minors = ["3.%d" % m for m in range(0, 40)
              if any(supported((3, m, p), requires) for p in range(0, 40))]
    if not minors:
        return "Python %s" % requires
    if len(minors) == 1:
        return "Python " + minors[0]
    return "Python " + ", ".join(minors[:-1]) + " or " + minors[-1]


def probe(command):
    """(path, version tuple, implementation, can_make_venv) of an interpreter, or None."""
    try:
        proc = subprocess.Popen([command, "-c", PROBE], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.PIPE)
    except OSError:
        return None
    try:
        try:
            out, _ = proc.communicate(timeout=30)
        except TypeError:  # Python 2: no timeout
            out, _ = proc.communicate()
    except Exception:  # a timeout: an interpreter that hangs is no candidate
        proc.kill()
        proc.communicate()
        return None
    lines = out.decode("utf-8", "replace").splitlines()
    if proc.returncode != 0 or len(lines) < 4:
        return None  # e.g. a pyenv shim for a version that is not selected
    try:
        return lines[0], parse_version(lines[1]), lines[2], lines[3] == "1"
    except ValueError:
        return None


def which(name):
    if os.sep in name:
        return name if os.path.isfile(name) and os.access(name, os.X_OK) else None
    for d in os.environ.get("PATH", "").split(os.pathsep):
        p = os.path.join(d or ".", name)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    return None


def pyenv_candidates():
    root = os.environ.get("PYENV_ROOT") or os.path.join(os.path.expanduser("~"), ".pyenv")
    versions = os.path.join(root, "versions")
    found = []
    try:
        names = os.listdir(versions)
    except OSError:
        return []
    for name in names:
        m = re.match(r"^(\d+)\.(\d+)\.(\d+)$", name)  # plain CPython releases only
        exe = os.path.join(versions, name, "bin", "python3")
        if m and os.path.isfile(exe):
            found.append((tuple(int(x) for x in m.groups()), exe, "pyenv " + name))
    found.sort(reverse=True)
    return [(exe, label) for _, exe, label in found]


HOW_TO_GET = ("install one (your system's package, e.g. 'sudo apt-get install python3 python3-venv' on Debian 12 "
              "or Ubuntu 24.04, or python.org's installer, or 'pyenv install 3.12') and run make again, with "
              "PYTHON=/path/to/python3.12 if it is not on PATH")


def main(argv):
    parser = argparse.ArgumentParser(prog="find_python.py", description=__doc__.splitlines()[0])
    parser.add_argument("--python", help="only this interpreter (the Makefile's PYTHON=...)")
    parser.add_argument("--pyproject", default=DEFAULT_PYPROJECT, help="where requires-python is stated")
    args = parser.parse_args(argv)
    explicit, pyproject = args.python, args.pyproject
    requires = read_requires_python(pyproject)
    needed = "%s (requires-python %s in pyproject.toml)" % (minors_text(requires), requires)

    if explicit is not None:
        candidates = [(explicit, "PYTHON=%s" % explicit)]
    else:
        candidates = [(n, n) for n in PATH_NAMES if which(n)] + pyenv_candidates()

    found = []  # what we saw, for the message
    no_venv = []  # supported versions without ensurepip
    seen = set()
    for command, label in candidates:
        info = probe(which(command) or command)
        if info is None:
            if explicit is not None:
                found.append("%s, which does not run (not found, or not a Python)" % label)
            continue
        path, version, impl, can_venv = info
        vtext = ".".join(str(x) for x in version)
        if impl != "cpython":
            found.append("%s %s (%s)" % (impl, vtext, label))
            continue
        if not supported(version, requires):
            if path not in seen:
                found.append("Python %s (%s)" % (vtext, label))
            seen.add(path)
            continue
        if not can_venv:
            no_venv.append((vtext, label, version))
            continue
        print(path)
        return 0

    if no_venv:
        vtext, label, version = no_venv[0]
        sys.stderr.write(
            "Python %s (%s) is supported but cannot create a virtual environment (its ensurepip is missing): "
            "install it with 'sudo apt-get install python%d.%d-venv' (Debian/Ubuntu) and run make again.\n"
            % (vtext, label, version[0], version[1]))
        return 1
    if found:
        shown = found[:4] + (["and %d more" % (len(found) - 4)] if len(found) > 4 else [])
        what = "found " + "; ".join(shown)
    else:
        what = "found no Python interpreter (tried %s on PATH and pyenv's versions)" % ", ".join(PATH_NAMES)
    sys.stderr.write("%s, but this project needs %s: %s.\n" % (what, needed, HOW_TO_GET))
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""A throw-away copy of the course directory, so that tests can grade without touching the checkout."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COURSE_FILES = ["nbgrader_config.py", "source", "release", "submitted", "grader_tests", "reference", "grading", "sandbox"]


def copy_course(target, include=COURSE_FILES):
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    for name in include:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, target / name, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        elif src.exists():
            shutil.copy2(src, target / name)
    return target


def environment():
    """The environment `make` gives: the venv's bin first on PATH (nbgrader runs `alembic`), CPU JAX, no GUI."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update(JAX_PLATFORMS="cpu", MPLBACKEND="Agg", GRADING_WORKERS=env.get("GRADING_WORKERS", "2"))
    # Course copies share one parent for grading.compile_cache (a cache per inputs, made once for the whole run).
    env.setdefault("GRADING_COMPILE_CACHES", str(ROOT / ".grading" / "compile-cache"))
    return env


def run(args, cwd, timeout=3600, **env):
    """Runs a command in the course copy; returns the CompletedProcess (output captured as text)."""
    return subprocess.run(args, cwd=cwd, env={**environment(), **env}, capture_output=True, text=True, timeout=timeout)


def grade(course, *extra, **env):
    """`make grade` in ``course``: python -m grading."""
    return run([sys.executable, "-m", "grading", *extra], cwd=course, **env)

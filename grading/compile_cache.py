"""JAX's compilations of the exercise's operations, made once by the grader and read by every student's kernel.

Eager JAX compiles each operation the first time a process meets it with new shapes (an
``exp`` of a (7, 3) float32 array, a ``dot_general`` of two shapes, ...), and every student's
kernel is a fresh process: without a cache it compiles the same few hundred operations again,
about 40 % of a student's CPU time in ``make grade``. JAX's persistent compilation cache keys
an executable by a hash of the compiled program, the XLA flags, the JAX version and the
platform, so an entry serves exactly the operation it was compiled for and nothing else.

The cache is made here, by the grader, never by a submission:

* the model solution (the source notebook, run as ``make grade`` runs a submission: the cells
  grading needs, visible and hidden checks) in a sandbox whose cache directory is writable;
  with ``jax.jit`` made a no-op first, so the solution's own functions run eagerly and no
  compiled copy of them is kept: what is left are JAX's own operations and library functions
  (``jit_exp``, ``jit__reduce_max``, ``jit_matmul``, ...) at the checks' shapes;
* every entry whose name is not a JAX operation or library function, or that is a control-flow
  operation (whose program holds the body of a function: ``scan``, ``while``, ``cond``,
  ``pjit``, custom derivatives) is removed before the cache is used;
* it is written to a temporary directory and renamed into place when complete;
* beside the entries, in ``matplotlib/``, the font list matplotlib made in that kernel (its fonts'
  names and files, the same for every kernel; read-only to them, grading.wall.font_lists).

Student kernels get it read-only (grading.wall) and are told never to write to it. What a
submission can learn from it: which JAX operations, on which shapes, the model solution
applies when it is checked (no code of its own, no values). One per machine and inputs: under
``.grading/compile-cache/<key>``, where the key hashes what the compilations depend on (JAX
and jaxlib versions, matplotlib's, XLA flags, the source notebook, the checks, the reference, the
sandbox package).

Beside it, in ``<key>.grader``, the grader's own: what the checks compile on the trusted side
(the reference's programs, the comparisons) while the build checks the model solution. A worker
compiled them again for its first student of every batch (about 0.55 s of CPU each, py-spy,
2026-12-04); now it reads them (:func:`read_compilations`) and writes nothing. It holds the
reference's compiled code, so it is never bound into a sandbox and only the grader's user can
read it (mode 700).
"""

import hashlib
import importlib
import importlib.metadata
import inspect
import os
import pkgutil
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grading.course import LOGS, ROOT, SOURCE_NOTEBOOK, STATE
from grading.wall import COMPILE_CACHE_COMPLETE as COMPLETE
from grading.wall import FONT_LISTS, READ_ONLY_MIN_COMPILE_SECONDS
from grading.wall import compile_cache_usable as usable

# GRADING_COMPILE_CACHES: another parent directory (course copies can share one; entries are keyed exactly).
CACHES = Path(os.environ.get("GRADING_COMPILE_CACHES") or STATE / "compile-cache")
# The first cell of the build: the solution's own functions stay eager (not compiled as a whole).
NO_USER_JIT = """\
import jax as _jax
def _eager(fun=None, *args, **kwargs):  # the compile cache keeps JAX's own operations, never a compiled solution
    return fun if fun is not None else (lambda f: f)
_jax.jit = _eager
del _jax, _eager
"""
# Operations whose compiled program holds a function's body, and so could hold the solution's code.
HIGHER_ORDER = ("scan", "while", "cond", "switch", "fori", "loop", "pjit", "jit", "closed_call", "core_call", "custom",
                "remat", "checkpoint", "map", "vmap", "pmap", "shard", "callback", "xla_call", "named_call", "linear_call")


def key():
    """The hash of what the compilations depend on (a new key builds a new cache; JAX's own keys keep entries exact)."""
    digest = hashlib.sha256()
    for package in ("jax", "jaxlib", "matplotlib"):
        digest.update(f"{package}={importlib.metadata.version(package)}\n".encode())
    from grading import XLA_FLAGS  # noqa: PLC0415

    digest.update(os.environ.get("XLA_FLAGS", XLA_FLAGS).encode() + b"\n")
    for path in [SOURCE_NOTEBOOK, *sorted((ROOT / "grader_tests").glob("*.py")), *sorted((ROOT / "reference").glob("*.py")),
                 *sorted((ROOT / "sandbox").glob("*.py"))]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def location():
    """The directory of this course's cache for the current inputs (it may not exist yet)."""
    return CACHES / key()


def grader_location(target):
    """The grader's own cache beside the kernels' cache ``target`` (a :func:`location`)."""
    target = Path(target)
    return target.with_name(target.name + ".grader")


def record_compilations(directory):
    """This process's JAX keeps every compilation it makes from now on in ``directory`` (JAX's persistent cache).

    JAX sets up its cache once per process, at the first compilation: only for a process of its own."""
    import jax  # noqa: PLC0415

    _same_keys_wherever(directory)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def read_compilations(directory):
    """This process's JAX finds its compilations in the grader's cache ``directory`` (see the module) when it is
    complete, and writes none there: what it compiles beyond it stays in its memory. Returns whether it reads it.

    Call it before the process's first compilation (JAX sets up its cache once)."""
    if not directory or not usable(Path(directory)):
        return False
    import jax  # noqa: PLC0415

    _same_keys_wherever(directory)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", READ_ONLY_MIN_COMPILE_SECONDS)
    return True


def _same_keys_wherever(directory):
    """JAX's cache at ``directory``, keyed the same wherever it lies: the build writes it in a temporary directory and
    workers read it where it was moved. By default JAX also names an XLA GPU autotuning cache inside it in the
    compile options, which are part of every key (so no entry was ever found); that cache is off (CPU only here)."""
    import jax  # noqa: PLC0415

    jax.config.update("jax_compilation_cache_dir", str(directory))
    jax.config.update("jax_persistent_cache_enable_xla_caches", "none")


def jax_names():
    """Names JAX's own compiled functions carry: its primitives and the functions of its numpy, lax, nn and random modules."""
    import jax  # noqa: PLC0415, F401 - loads what is walked below
    from jax._src import core  # noqa: PLC0415

    names = set()
    for package in ("jax._src.numpy", "jax._src.lax", "jax._src.nn", "jax._src.ops", "jax._src.random"):
        module = importlib.import_module(package)
        modules = [module]
        for info in pkgutil.walk_packages(getattr(module, "__path__", []), package + "."):
            try:
                modules.append(importlib.import_module(info.name))
            except Exception:  # noqa: BLE001 - an optional backend's module: its names are not needed
                continue
        for mod in modules:
            for name, value in vars(mod).items():
                if isinstance(value, core.Primitive):
                    names.add(value.name)
                elif callable(value) and (inspect.isfunction(value) or hasattr(value, "__wrapped__")):
                    names.add(name)
    return names


def entry_name(filename):
    """The compiled function's name in a cache file's name (``jit_exp-<hash>-cache`` -> ``exp``), or None."""
    stem = filename.removesuffix("-cache")
    head, _, digest = stem.rpartition("-")
    if not head.startswith("jit_") or len(digest) != 64:
        return None
    return head.removeprefix("jit_")


def allowed(name, known):
    """May a cache entry of this function name be shown to submissions?"""
    return name is not None and name in known and not any(word in name.lower() for word in HIGHER_ORDER)


def prune(directory):
    """Removes every entry that is not one of JAX's own operations (and every other file); returns how many are kept."""
    known = jax_names()
    kept = 0
    for path in Path(directory).iterdir():
        if path.is_file() and not path.is_symlink() and allowed(entry_name(path.name), known):
            os.chown(path, os.geteuid(), os.getegid())  # written by the sandbox's user: the grader's from now on
            path.chmod(0o644)
            kept += 1
        elif path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    return kept


def keep_font_lists(made, folder):
    """Moves matplotlib's font lists (``fontlist-v*.json``) the build's kernel left in ``made`` to ``folder``, the grader's
    from now on; anything else there is dropped (``made`` need not exist). Kernels read them read-only
    (grading.wall.font_lists)."""
    folder.mkdir()
    for path in made.glob("fontlist-v*.json"):
        if path.is_file() and not path.is_symlink():
            os.chown(path, os.geteuid(), os.getegid())
            path.chmod(0o644)
            path.rename(folder / path.name)
    folder.chmod(0o755)


def build(target=None, timeout=None, grader=False):
    """Makes the cache at ``target`` (default: :func:`location`) unless it is there; returns its path.

    ``grader``: also the grader's own beside it (:func:`grader_location`), from this process's compilations
    (:func:`record_compilations`): only in a process of its own (``python -m grading.compile_cache``).
    Raises RuntimeError when the model solution cannot be run (the caller grades without a cache).
    """
    import nbformat  # noqa: PLC0415
    from nbformat.v4 import new_code_cell  # noqa: PLC0415

    from grading import settings as grading_settings  # noqa: PLC0415
    from grading.execute import GradingExecute  # noqa: PLC0415

    target = Path(target or location())
    if usable(target) and (not grader or usable(grader_location(target))):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(".building-*"):  # a build killed on the way (an hour is ten times a build)
        if time.time() - stale.stat().st_mtime > 3600:
            shutil.rmtree(stale, ignore_errors=True)
    work = Path(tempfile.mkdtemp(prefix=".building-", dir=target.parent))
    try:
        cache, folder, own = work / "cache", work / "notebook", work / "grader"
        cache.mkdir()
        folder.mkdir()
        if grader:
            own.mkdir(mode=0o700)
            record_compilations(own)
        nb = nbformat.read(str(SOURCE_NOTEBOOK), as_version=4)
        nb.cells.insert(0, new_code_cell(NO_USER_JIT))
        limits = grading_settings.current()
        executor = GradingExecute(timeout=timeout or limits.cell_timeout, compile_cache=str(cache), compile_cache_writable=True,
                                  kernel_name="python3")
        executor.preprocess(nb, {"metadata": {"path": str(folder)}})
        failed = [problem.code for problem in executor.record.problems]
        scores = {part: result.score for part, result in executor.record.parts.items()}
        if failed or not scores:
            raise RuntimeError(f"the model solution did not run cleanly ({', '.join(failed) or 'no part was checked'})")
        os.chown(cache, os.geteuid(), os.getegid())
        made, fonts = cache / FONT_LISTS, work / "fonts"
        if made.is_dir() and not made.is_symlink():  # out of prune's way, which keeps JAX's entries only
            made.rename(fonts)
        kept = prune(cache)
        keep_font_lists(fonts, cache / FONT_LISTS)
        cache.chmod(0o755)
        (cache / COMPLETE).write_text(f"{kept} entries\n")
        if grader:  # first: where the kernels' cache is complete, the grader's is too (unless made before it existed)
            (own / COMPLETE).write_text(f"{sum(1 for _ in own.iterdir())} entries\n")
            _move_into_place(own, grader_location(target))
        _move_into_place(cache, target)
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _move_into_place(made, target):
    """Renames the complete cache ``made`` to ``target``; one that another grader made meanwhile is kept instead."""
    try:
        made.rename(target)
    except OSError:  # another grader made it meanwhile
        if not usable(target):
            raise


def start():
    """Starts :func:`build` in a process of its own (``python -m grading.compile_cache``), unless the cache is
    there; returns the process, or None. Its kernel's output and its own go to .grading/logs/compile-cache.log,
    never to the caller's terminal or stdout (``python -m grading.check --json`` prints only JSON there)."""
    cache = location()  # hashes the notebook, the checks, the reference and the sandbox package: once
    if usable(cache) and usable(grader_location(cache)):
        return None
    LOGS.mkdir(parents=True, exist_ok=True)
    with open(LOGS / "compile-cache.log", "w") as log:
        return subprocess.Popen([sys.executable, "-m", "grading.compile_cache"], stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT)


def main():
    """python -m grading.compile_cache: makes the cache of this course's current inputs (make grade starts it)."""
    from grading.proctree import die_with_parent  # noqa: PLC0415

    die_with_parent()  # make grade stopped: so does this, and its kernel's sandbox with it
    try:
        print(f"compile cache ready: {build(grader=True)}")
    except Exception as error:  # noqa: BLE001 - one sentence for the log
        sys.exit(f"the compile cache could not be made: {type(error).__name__}: {error}")


if __name__ == "__main__":
    main()

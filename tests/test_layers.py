"""The project's packages stand on floors, and no import runs up a floor or in a circle.

From the bottom: ``reference`` (what is right) and ``sandbox`` (what runs beside student code,
inside the wall), then ``grader_tests`` (the hidden checks), then ``grading`` (how grading runs:
the wall, the executor, the batch, the command lines). A module may import from its own floor or
below, never above; and within a package the modules import one another without a circle. Every
import counts, the ones inside functions too. Read from the source (an AST walk), nothing is run;
except by the last test, which starts the grading coordinator's imports in a process of its own:
they leave JAX and PyTorch to the workers and kernels.
"""

import ast
import graphlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FLOORS = {"reference": 0, "sandbox": 0, "grader_tests": 1, "grading": 2}
# What runs inside the sandbox sees only itself: reference/ and the checks are not even mounted there.
ALONE = {"sandbox", "reference"}


def _module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules():
    return {_module_name(path): path for package in FLOORS for path in sorted((ROOT / package).rglob("*.py"))}


def _imports(path, modules):
    """The project modules that ``path`` imports (``from pkg import mod`` names the module pkg.mod)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in modules else node.module
                     for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in modules:  # a.b.c -> the nearest project module it lies in
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


@pytest.fixture(scope="module")
def graph():
    modules = _modules()
    return {name: _imports(path, modules) - {name} for name, path in modules.items()}


def _package(module):
    return module.split(".")[0]


def test_every_package_is_found(graph):
    assert {_package(module) for module in graph} == set(FLOORS)
    assert "grading.check" in graph and "grader_tests.runner" in graph


def test_no_import_runs_up_a_floor(graph):
    upward = sorted((module, imported) for module, imports in graph.items() for imported in imports
                    if FLOORS[_package(imported)] > FLOORS[_package(module)])
    assert upward == []


def test_the_sandbox_and_the_reference_import_only_themselves(graph):
    outside = sorted((module, imported) for module, imports in graph.items() if _package(module) in ALONE
                     for imported in imports if _package(imported) != _package(module))
    assert outside == []


@pytest.mark.parametrize("package", sorted(FLOORS))
def test_no_circle_of_imports_within_a_package(graph, package):
    inside = {module: {imported for imported in imports if _package(imported) == package}
              for module, imports in graph.items() if _package(module) == package}
    graphlib.TopologicalSorter(inside).prepare()  # CycleError names the circle


def test_the_coordinator_loads_the_course_without_jax_or_pytorch():
    """``python -m grading`` imports its modules and reads nbgrader_config.py (which names the grader's
    preprocessors) on one core before its workers start: JAX or PyTorch imported on that path cost every
    batch and every one-student regrade their import time. Only workers and kernels need them."""
    code = (
        "import sys, grading.__main__\n"
        "from grading import batch, course, grades, settings, deadlines, wall, worker, compile_cache, release\n"
        "settings.current(); deadlines.Deadlines(config=settings.load_course_config()).due()\n"
        "print(sorted({'jax', 'torch', 'matplotlib'} & set(sys.modules)))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"

"""JAX's lowerings in this process share one MLIR context per thread instead of making one each.

JAX lowers an eager operation the first time it meets it with new shapes, and every lowering makes
a new MLIR context and loads all of JAX's dialects into it (``make_ir_context`` in
jax/_src/interpreters/mlir.py): about 3 ms each, and a graded notebook with its checks makes
some 450 lowerings in a fresh kernel. With the compilations themselves read from the compile cache
(grading.compile_cache), that was the largest single cost of JAX in a graded kernel (py-spy on
bench/bench_grading.py's class; README, "Measured numbers"). An MLIR context is made to hold many
modules; the modules built in it, their cache keys and the programs compiled from them are the
same as with a fresh context, so no result changes (tests/test_kernel_startup.py).

:func:`install` patches the module when it is first imported (JAX is not imported here: a process
that never uses it pays nothing). Safe to call more than once.
"""

import importlib.abc
import importlib.machinery
import sys
import threading

MODULE = "jax._src.interpreters.mlir"


def reuse_context(module):
    """Makes ``module.make_ir_context`` return the same context each time it is called in a thread."""
    make = getattr(module, "make_ir_context", None)
    if make is None or getattr(make, "reused", False):
        return
    contexts = threading.local()

    def make_ir_context():
        context = getattr(contexts, "context", None)
        if context is None:
            context = contexts.context = make()
        return context

    make_ir_context.reused = True
    make_ir_context.__doc__ = make.__doc__
    module.make_ir_context = make_ir_context


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Finds :data:`MODULE` as Python would, and patches it right after it has run."""

    def find_spec(self, name, path, target=None):
        if name != MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            reuse_context(module)

        spec.loader.exec_module = exec_module
        return spec


def install():
    """From now on (or now, if JAX is imported already), JAX's lowerings reuse their MLIR context."""
    if MODULE in sys.modules:
        reuse_context(sys.modules[MODULE])
    elif not any(isinstance(finder, _PatchOnImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _PatchOnImport())

"""``matplotlib.pyplot``, imported in a graded kernel, is loaded when the code first uses it.

The graded notebook's set-up cell imports pyplot for the lesson's plots, and grading skips the cells
that draw them (grading.execute.cells_to_skip). Loading pyplot is about 0.4 s of CPU in each fresh
kernel (its backends, and matplotlib's font list, made again in every sandbox's empty /tmp): 7 %
of a submission's grading on the bench class (README, "Measured numbers"). Deferred with the
standard library's :class:`importlib.util.LazyLoader`: ``import matplotlib.pyplot as plt`` binds
the module at once and runs it on the first attribute anyone reads (``plt.plot``, a student's
figure inside a graded function); nothing else about it changes. Only pyplot is deferred:
``matplotlib`` itself and every other module load as always.
"""

import importlib.abc
import importlib.machinery
import importlib.util
import sys

MODULE = "matplotlib.pyplot"


class _DeferPyplot(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


def install():
    """From now on, a first ``import matplotlib.pyplot`` is deferred (nothing happens if it is imported already)."""
    if MODULE not in sys.modules and not any(isinstance(finder, _DeferPyplot) for finder in sys.meta_path):
        sys.meta_path.insert(0, _DeferPyplot())

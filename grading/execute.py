"""The notebook executor of `make grade`: nbgrader's Execute, minus cells grading does not need."""

import ast
import builtins

from nbgrader.preprocessors import Execute
from traitlets import Unicode

SKIP_TAG = "skip-when-grading"


def _bound_and_read(source):
    """Names a cell binds and names it reads; None if it cannot be parsed."""
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    bound, read = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return bound, read


def cells_to_skip(nb, tag=SKIP_TAG):
    """Indices of the code cells tagged ``tag``, or none when a cell that runs may need one of them.

    The lesson's demonstrations and the plots are tagged: the graded exercise does not use them.
    Should a submission's running cells read a name that only a tagged cell defines (a student
    calling a lesson helper from an answer), nothing is skipped, so the grade never depends on
    the shortcut.
    """
    tagged, kept = [], []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            (tagged if tag in cell.metadata.get("tags", []) else kept).append(index)
    kept_bound, kept_read, tagged_bound = set(), set(), set()
    for index in kept:
        names = _bound_and_read(nb.cells[index].source)
        if names is not None:
            kept_bound |= names[0]
            kept_read |= names[1]
    for index in tagged:
        names = _bound_and_read(nb.cells[index].source)
        if names is None:
            continue
        tagged_bound |= names[0]
    needed = (kept_read - kept_bound - set(dir(builtins))) & tagged_bound
    return set() if needed else set(tagged)


class GradingExecute(Execute):
    """Runs a submission like nbgrader's Execute, skipping the cells grading does not need."""

    skip_tag = Unicode(SKIP_TAG, help="cells with this tag are not run when grading").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._skipped = cells_to_skip(nb, self.skip_tag)
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell, resources, index):
        if index in self._skipped:
            return cell, resources
        return super().preprocess_cell(cell, resources, index)

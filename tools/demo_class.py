"""Student notebooks made from the release: the demo class in submitted/ and benchmark classes.

    .venv/bin/python tools/demo_class.py    # rewrites submitted/ (after the release changed)

Each student notebook is the release notebook with some answer cells filled in: either the
instructor's solution (markers removed) or a mistake from MISTAKES.
"""

import re
import sys
from pathlib import Path

import nbformat

from grading.course import ASSIGNMENT, NOTEBOOK, ROOT, SOURCE_NOTEBOOK, SUBMITTED

RELEASE_NOTEBOOK = ROOT / "release" / ASSIGNMENT / NOTEBOOK

# Typical mistakes, one full answer cell each, keyed by a short name.
MISTAKES = {
    "softmax_wrong_axis": ("softmax_code", '''def softmax(z):
    e = jnp.exp(z - jnp.max(z))
    return e / jnp.sum(e, axis=0, keepdims=True)
'''),
    "softmax_raises": ("softmax_code", '''def softmax(z):
    e = jnp.exp(z - jnp.max(z, axis=1, keepdims=True))
    return e / normaliser(e)  # a helper that was never written
'''),
    "loss_summed": ("cross_entropy_loss_code", '''def cross_entropy_loss(params, X, Y_true):
    probs = softmax(forward_pass(params, X))
    return -jnp.sum(Y_true * jnp.log(probs))
'''),
    "update_wrong_sign": ("update_params_code", '''@jit
def update_params(params, grads, lr):
    return tuple(p + lr * g for p, g in zip(params, grads))
'''),
    "train_hangs": ("train_nn_code", '''def train_nn(X, Y_true, n_iter, lr, loss_func):
    params, loss_history = None, []
    while len(loss_history) < n_iter:  # never appends: loops forever
        pass
    return params, loss_history
'''),
    "net_relu": ("MultiClassNet_code", '''class MultiClassNet(nn.Module):
    def __init__(self, n_input=2, n_hidden=16, n_output=3):
        super().__init__()
        self.layer1 = nn.Linear(n_input, n_hidden)
        self.layer2 = nn.Linear(n_hidden, n_output)

    def forward(self, X):
        return self.layer2(torch.relu(self.layer1(X)))
'''),
}

# The demo class: student id -> (answered with the solution?, mistakes)
DEMO_CLASS = {
    "alice": (True, []),
    "bob": (True, ["softmax_wrong_axis", "loss_summed", "net_relu"]),
    "carol": (False, []),
    "dave": (True, ["softmax_raises", "train_hangs"]),
}

_MARKERS = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*\n", re.MULTILINE)


def solutions(source=SOURCE_NOTEBOOK):
    """grade_id -> answer cell source with the solution markers removed."""
    nb = nbformat.read(str(source), as_version=4)
    return {cell.metadata["nbgrader"]["grade_id"]: _MARKERS.sub("", cell.source)
            for cell in nb.cells if cell.metadata.get("nbgrader", {}).get("solution")}


def student_notebook(answers, release=RELEASE_NOTEBOOK):
    """The release notebook with answer cells replaced by ``answers`` (grade_id -> source)."""
    nb = nbformat.read(str(release), as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return nb


def answers_for(use_solution, mistakes):
    answers = solutions() if use_solution else {}
    answers.update(MISTAKES[name] for name in mistakes)
    return answers


def write_student(submitted, student_id, use_solution, mistakes):
    target = Path(submitted) / student_id / ASSIGNMENT / NOTEBOOK
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(student_notebook(answers_for(use_solution, mistakes)), str(target))
    return target


def write_demo_class(submitted=SUBMITTED):
    for student_id, (use_solution, mistakes) in DEMO_CLASS.items():
        write_student(submitted, student_id, use_solution, mistakes)


if __name__ == "__main__":
    write_demo_class(Path(sys.argv[1]) if len(sys.argv) > 1 else SUBMITTED)

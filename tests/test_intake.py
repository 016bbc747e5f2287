"""grading.intake: which notebook of a student's folder is graded, what cannot be, and the repairs made to the copy."""

import json

import nbformat
import pytest

from grading import intake
from grading.cells import ANSWER_ID_OF_PART, GRADE_ID_OF_PART
from tools.demo_class import answers_for, student_notebook

NOTEBOOK = "perceptrons/perceptrons.ipynb"


@pytest.fixture
def staged(tmp_path, monkeypatch):
    monkeypatch.setattr(intake, "STAGED", tmp_path / "staged")
    return tmp_path / "staged"


@pytest.fixture(scope="module")
def correct():
    return student_notebook(answers_for(True, []))


def _student(tmp_path, files):
    folder = tmp_path / "submitted" / "alice"
    for relative, content in files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        # json.dumps, not nbformat.writes: the bytes as a student's copy-paste left them (nbformat would repair ids)
        data = json.dumps(content) if isinstance(content, nbformat.NotebookNode) else content
        (folder / relative).write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return folder


def _ids(nb):
    return [cell.metadata.get("nbgrader", {}).get("grade_id") for cell in nb.cells]


def test_a_correct_notebook_is_staged_as_it_was_and_submitted_is_untouched(tmp_path, staged, correct):
    folder = _student(tmp_path, {NOTEBOOK: correct})
    before = (folder / NOTEBOOK).read_bytes()
    taken = intake.take_in(folder)
    assert taken.problem is None and taken.notes == []
    assert taken.staged == staged / "alice" / NOTEBOOK
    assert nbformat.read(str(taken.staged), as_version=4).cells == correct.cells
    assert (folder / NOTEBOOK).read_bytes() == before


@pytest.mark.parametrize("names, graded, said", [
    (["perceptrons/Perceptrons (1).ipynb"], "perceptrons/Perceptrons (1).ipynb",
     "graded perceptrons/Perceptrons (1).ipynb: no notebook named perceptrons/perceptrons.ipynb"),
    ([NOTEBOOK, "scratch.ipynb"], NOTEBOOK, "ignored extra notebook(s): scratch.ipynb"),
    ([NOTEBOOK, "perceptrons/.ipynb_checkpoints/perceptrons-checkpoint.ipynb"], NOTEBOOK, None),
    (["a.ipynb", "b.ipynb"], None, "no notebook named perceptrons/perceptrons.ipynb (found several: a.ipynb, b.ipynb)"),
    (["notes.txt"], None, "no notebook named perceptrons/perceptrons.ipynb"),
])
def test_the_notebook_graded_is_the_expected_one_or_else_the_only_one(tmp_path, staged, correct, names, graded, said):
    folder = _student(tmp_path, {name: correct if name.endswith(".ipynb") else "x" for name in names})
    taken = intake.take_in(folder)
    if graded is None:
        assert taken.staged is None and taken.problem == said
    else:
        assert taken.staged is not None and taken.notes == ([said] if said else [])


@pytest.mark.parametrize("data, problem", [
    (b"", "notebook file is empty"),
    (b"  \n", "notebook file is empty"),
    (b"\xff\xfe{}", "notebook is not UTF-8 text (bad byte at offset 0)"),
    (b'{"cells": [', "notebook is not valid JSON (line 1, column 12"),
    (b'{"cells": "none"}', "notebook is valid JSON but not a Jupyter notebook (no list of cells)"),
    (b"[1, 2]", "notebook is valid JSON but not a Jupyter notebook (no list of cells)"),
])
def test_a_notebook_that_cannot_be_read_says_why_and_stages_nothing(tmp_path, staged, data, problem):
    taken = intake.take_in(_student(tmp_path, {NOTEBOOK: data}))
    assert taken.staged is None and taken.problem.startswith(problem)
    assert not staged.exists()


def test_a_pasted_copy_of_a_test_cell_is_dropped_and_copied_ids_are_made_unique(tmp_path, staged, correct):
    nb = nbformat.from_dict(json.loads(json.dumps(correct)))
    at = _ids(nb).index(GRADE_ID_OF_PART["forward_pass"])
    nb.cells.insert(at + 1, nbformat.from_dict(json.loads(json.dumps(nb.cells[at]))))
    nb.cells.append(nbformat.from_dict(json.loads(json.dumps(nb.cells[0]))))  # a copied markdown cell: same id
    taken = intake.take_in(_student(tmp_path, {NOTEBOOK: nb}))
    assert taken.notes == ["duplicate test cells removed: forward_pass"]
    out = nbformat.read(str(taken.staged), as_version=4)
    assert _ids(out).count(GRADE_ID_OF_PART["forward_pass"]) == 1
    assert len({cell.id for cell in out.cells}) == len(out.cells) == len(correct.cells) + 1


def test_a_test_cell_moved_above_its_answer_is_put_back_right_below_it(tmp_path, staged, correct):
    nb = nbformat.from_dict(json.loads(json.dumps(correct)))
    ids = _ids(nb)
    cell = nb.cells.pop(ids.index(GRADE_ID_OF_PART["update_params"]))
    nb.cells.insert(_ids(nb).index(ANSWER_ID_OF_PART["update_params"]), cell)
    taken = intake.take_in(_student(tmp_path, {NOTEBOOK: nb}))
    assert taken.notes == ["test cells moved back below their answers: update_params"]
    assert _ids(nbformat.read(str(taken.staged), as_version=4)) == ids

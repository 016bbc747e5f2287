"""What a kept grade depends on: the grader manifest, and the line that says why students are regraded."""

from grading import batch


def test_the_manifest_holds_what_can_change_a_grade_and_nothing_else(monkeypatch):
    manifest = batch.grader_manifest(sandboxed=True)
    for path in ("nbgrader_config.py", "source/perceptrons/perceptrons.ipynb", "grading/execute.py",
                 "grader_tests/test_softmax.py", "reference/jax_mlp.py", "sandbox/agent.py"):
        assert path in manifest, path
    for path in batch.NOT_GRADING:
        assert f"grading/{path}" not in manifest
    assert manifest["sandboxed"] == "True" and set(batch.GRADE_ENVIRONMENT) <= set(manifest)
    monkeypatch.setenv("GRADING_CELL_TIMEOUT", "17")
    assert batch.grader_id(batch.grader_manifest(True)) != batch.grader_id(manifest)
    assert batch.grader_id(batch.grader_manifest(False)) != batch.grader_id(batch.grader_manifest(True))


def test_what_changed_names_the_files_and_settings():
    now = {"nbgrader_config.py": "b", "grading/execute.py": "c", "XLA_FLAGS": "x"}
    assert batch.what_changed({**now, "nbgrader_config.py": "a"}, now) == "nbgrader_config.py changed"
    assert batch.what_changed({**now, "XLA_FLAGS": "y", "grading/execute.py": "d"}, now) == "XLA_FLAGS, grading/execute.py changed"
    assert batch.what_changed(None, now) == "the grader changed"
    many = {f"f{i}": "1" for i in range(8)}
    assert batch.what_changed(many, {}) == "f0, f1, f2, f3, f4 and 3 more changed"

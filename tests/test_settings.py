"""grading.settings: the one index of grading's limits, what overrides it, and that each reaches its enforcer."""

import re
from pathlib import Path

import pytest

from grading import inbox, settings
from grading.wall import Sandbox
from grading.settings import GradingSettings

ROOT = Path(__file__).resolve().parent.parent


def test_the_readme_shows_the_table_the_settings_print():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = re.search(r"<!-- limits table: python -m grading.settings -->\n(.*?)<!-- end of limits table -->", readme, re.S)
    assert shown, "README.md lost its limits table markers"
    assert shown.group(1) == settings.table(), "README's limits table is stale: paste `python -m grading.settings` into it"


def test_every_setting_has_a_unit_a_reason_and_help():
    for name, trait in settings.declared():
        assert trait.metadata["unit"] in ("s", "bytes", "count"), name
        assert trait.help and trait.metadata["why"], name


def test_the_course_file_sets_and_the_environment_overrides(monkeypatch):
    monkeypatch.delenv("GRADING_CELL_TIMEOUT", raising=False)
    assert settings.current().cell_timeout == 120  # nbgrader_config.py
    config = settings.load_course_config()
    config.GradingSettings.submission_budget = 900.0
    assert settings.current(config).submission_budget == 900.0
    monkeypatch.setenv("GRADING_CELL_TIMEOUT", "40")
    assert settings.current().cell_timeout == 40
    monkeypatch.setenv("GRADING_CELL_TIMEOUT", "forty")
    with pytest.raises(ValueError, match="GRADING_CELL_TIMEOUT='forty' is not a valid cell_timeout"):
        settings.current()


def test_the_cell_time_out_reaches_nbgrader_and_the_executor(monkeypatch):
    from grading.course import nbgrader_config  # noqa: PLC0415

    monkeypatch.setenv("GRADING_CELL_TIMEOUT", "17")
    config = nbgrader_config()
    assert config.GradingExecute.timeout == 17
    assert config.Execute.timeout == 120  # plain nbgrader autograde: the file's value


def test_the_sandbox_limits_come_from_the_settings():
    limits = GradingSettings(kernel_memory=3 * 2**30, kernel_file_size=2**20, kernel_open_files=99, kernel_tmp=2**24)
    box = Sandbox(enabled=True, settings=limits)
    try:
        command = box.wrap(["true"])
    finally:
        box.cleanup()
    assert f"--as={3 * 2**30}" in command and f"--fsize={2**20}" in command and "--nofile=99" in command
    tmp = command.index("/tmp", command.index("--tmpfs") - 1)
    assert command[tmp - 5:tmp] == ["--size", str(2**24), "--perms", "1777", "--tmpfs"]


def test_the_entry_limit_reaches_the_inbox(tmp_path):
    folder = tmp_path / "alice"
    folder.mkdir()
    for i in range(5):
        (folder / f"note{i}.txt").write_text("")
    refused = inbox.read_submission(tmp_path, "alice", GradingSettings(entry_limit=3)).refused
    assert refused == ["everything past the first 3 entries"]


def _plan(todo):
    from grading.batch import Plan

    return Plan(ids=list(todo), kept={}, todo=list(todo), grader="g", manifest={}, sandboxed=True)


def test_the_cluster_starts_before_the_configuration_with_the_workers_known_without_it(monkeypatch):
    """make grade starts its local cluster before nbgrader_config.py is read: with the command line's workers, else
    GRADING_WORKERS's, else one per core, never more than students; none for nothing to grade or a scheduler."""
    from types import SimpleNamespace

    from grading.__main__ import _early_workers

    def args(workers=None, scheduler=None):
        return SimpleNamespace(workers=workers, scheduler=scheduler)

    monkeypatch.delenv("GRADING_WORKERS", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert _early_workers(_plan([]), args()) == 0
    assert _early_workers(_plan(["a", "b", "c"]), args(scheduler="tcp://host:8786")) == 0
    assert _early_workers(_plan(["a"]), args()) == 1
    assert _early_workers(_plan(["a", "b", "c"]), args()) == 2
    assert _early_workers(_plan(["a", "b", "c"]), args(workers=3)) == 3
    monkeypatch.setenv("GRADING_WORKERS", "1")
    assert _early_workers(_plan(["a", "b", "c"]), args()) == 1
    assert _early_workers(_plan(["a", "b", "c"]), args(workers=3)) == 3
    monkeypatch.setenv("GRADING_WORKERS", "many")  # said by the settings' own check, after the configuration loads
    assert _early_workers(_plan(["a", "b", "c"]), args()) == 0


def test_a_cluster_started_before_the_configuration_is_started_again_when_the_configuration_sets_other_workers(monkeypatch):
    """nbgrader_config.py's GradingSettings.workers wins over the early guess: the early cluster is closed and the
    batch gets one of the configured size; where the guess holds, the batch gets the early cluster itself."""
    from traitlets.config import Config

    import grading.__main__ as make_grade
    from grading import batch

    class Started:
        def __init__(self, workers):
            self.workers, self.closed = workers, False
            made.append(self)

        def close(self):
            self.closed = True

    class Graded(Exception):
        pass

    def grade(plan, args, workers, connection=None):
        raise Graded(workers, connection)

    monkeypatch.chdir(ROOT)  # main() works in the course directory
    monkeypatch.delenv("GRADING_WORKERS", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    monkeypatch.setattr(batch, "student_ids", lambda: ["a", "b", "c"])
    monkeypatch.setattr(batch, "plan", lambda chosen, force, sandboxed: _plan(chosen))
    monkeypatch.setattr(make_grade, "_connect", lambda plan, args, workers: Started(workers))
    monkeypatch.setattr(make_grade, "_grade", grade)
    for configured, expected in ((0, 2), (1, 1)):
        config = Config()
        config.GradingSettings.workers = configured
        monkeypatch.setattr(settings, "_course_config", lambda config=config: config)
        made = []
        with pytest.raises(Graded) as graded:
            make_grade.main(["--force"])
        workers, connection = graded.value.args
        assert [started.workers for started in made] == [2] and workers == expected
        if configured:  # another size: the early cluster closed, the batch starts its own
            assert made[0].closed and connection is None
        else:
            assert not made[0].closed and connection is made[0]

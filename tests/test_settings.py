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

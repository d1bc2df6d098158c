"""segcli demo imports the bundled example store completely, and again changes nothing."""

from __future__ import annotations

import csv

from segcli.demo import EXAMPLE_FILES, example_data_dir


def _data_rows(name: str) -> int:
    with (example_data_dir() / name).open(newline="", encoding="utf-8") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def test_demo_imports_every_example_file_without_a_reject(segcli):
    result = segcli("demo")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    for kind, name in EXAMPLE_FILES:
        rows = _data_rows(name)
        assert f"{name}: {rows:,} rows read: {rows:,} inserted" in result.stderr
        assert segcli.value(f"SELECT count(*) FROM {kind}") > 0
    assert segcli.value("SELECT count(*) FROM people") == 300


def test_demo_twice_changes_nothing(segcli):
    assert segcli("demo").exit_code == 0
    before = segcli.dump()
    again = segcli("demo")
    assert again.exit_code == 0
    assert " 0 inserted, 0 updated" in again.stderr
    assert segcli.dump() == before


def test_demo_uses_demo_db_when_no_database_is_given(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from segcli.cli import cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SEGCLI_DB", raising=False)
    result = CliRunner().invoke(cli, ["demo"])
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "demo.db").exists()
    assert not (tmp_path / "segcli.db").exists()

"""segcli demo imports the bundled example store completely, and again changes nothing;
from a clean directory, the commands it and the README print next work as printed."""

from __future__ import annotations

import csv
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from segcli.cli import cli
from segcli.examples.demo import EXAMPLE_FILES, example_data_dir, example_segments_dir
from tests.conftest import table_rows

pytestmark = pytest.mark.both_engines

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
EXAMPLES = sorted(path.name for path in example_segments_dir().glob("*.yaml"))


@pytest.fixture(autouse=True)
def clean_directory(tmp_path, monkeypatch):
    """A merchant's empty directory, with no segcli settings in the environment."""
    monkeypatch.chdir(tmp_path)
    for name in ("SEGCLI_DB", "SEGCLI_SEGMENTS", "FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(name, raising=False)


def _data_rows(name: str) -> int:
    with (example_data_dir() / name).open(newline="", encoding="utf-8") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def run(*args: str):
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_demo_imports_every_example_file_without_a_reject(segcli):
    result = segcli("demo")
    assert result.exit_code == 0, result.stderr
    for kind, name in EXAMPLE_FILES:
        rows = _data_rows(name)
        assert f"{name}: {rows:,} rows read: {rows:,} inserted" in result.stderr
        assert segcli.value(f"SELECT count(*) FROM {kind}") > 0
    assert segcli.value("SELECT count(*) FROM people") == 300


def test_the_example_segments_name_only_what_the_example_store_has(segcli):
    """A new user's first command warns of nothing: every product, region, tag and other
    name the example segments use is in the example data."""
    result = segcli("demo")
    assert result.exit_code == 0, result.stderr
    assert "warning:" not in result.stderr, result.stderr


def test_demo_shows_the_store_and_its_segments_on_stdout(segcli):
    result = segcli("demo")
    assert result.exit_code == 0, result.stderr
    # The answer: what the database holds, then every segment's figures.
    assert result.stdout.startswith("segcli database\n")
    assert "\npeople            300 (65 without a customer id)\n" in result.stdout
    # Each table ends at a blank line, before the next one's title.
    assert "\n\nkind " in result.stdout
    assert "\n\nSegments as of 2026-11-01\n" in result.stdout
    rows = {row[0]: row for row in table_rows(result.stdout)}
    assert rows["everyone"][2:] == ["300", "100.0%", "79,436.41"]
    assert rows["vip-customers"][2:] == ["16", "5.3%", "29,107.04"]
    assert result.stdout.endswith("\n\n300 people; average repeat-purchase time A = 72.9 days\n")
    # Messages only on stderr: no table, nothing of the answer.
    assert "Segments as of" not in result.stderr
    assert "segcli database" not in result.stderr


def test_demo_twice_changes_nothing(segcli, tmp_path):
    assert segcli("demo").exit_code == 0
    before = segcli.dump()
    files = {path: path.read_bytes() for path in (tmp_path / "segments").iterdir()}
    again = segcli("demo")
    assert again.exit_code == 0
    assert " 0 inserted, 0 updated" in again.stderr
    assert "copied" not in again.stderr
    assert segcli.dump() == before
    assert {path: path.read_bytes() for path in (tmp_path / "segments").iterdir()} == files


def test_demo_uses_demo_db_and_segments_here_when_none_is_given(tmp_path):
    result = run("demo")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "demo.db").exists()
    assert not (tmp_path / "segcli.db").exists()
    assert sorted(path.name for path in (tmp_path / "segments").iterdir()) == EXAMPLES
    for name in EXAMPLES:
        assert (tmp_path / "segments" / name).read_bytes() == (
            example_segments_dir() / name
        ).read_bytes()
    assert f"copied {len(EXAMPLES)} example segment files to segments/\n" in result.stderr


def _explore_commands(stderr: str) -> list[str]:
    lines = stderr.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Explore it"))
    return [line.strip() for line in lines[start + 1 :] if line.startswith("  segcli ")]


def _works(command: str) -> None:
    """Run a command line as printed (without its leading segcli): exit 0, an answer."""
    words = shlex.split(command)
    assert words[0].endswith("segcli"), command
    result = run(*words[1:])
    assert result.exit_code == 0, (command, result.stderr)
    assert "did you mean" not in result.stderr, command
    if "-o" not in words:
        assert result.stdout.strip(), command


def test_the_commands_the_demo_prints_next_work_as_printed(tmp_path):
    demo = run("demo")
    assert demo.exit_code == 0, demo.stderr
    commands = _explore_commands(demo.stderr)
    assert commands == [
        "segcli --db demo.db segment show vip-customers --as-of 2026-11-01",
        "segcli --db demo.db customer show C000005 --explain gift-shoppers --as-of 2026-11-01",
        "segcli --db demo.db segment export vip-customers --as-of 2026-11-01 -o vip-customers.csv",
    ]
    for command in commands:
        _works(command)
    shown = run(*shlex.split(commands[0])[1:])
    assert shown.stdout.startswith("vip-customers: 16 members as of 2026-11-01\n")
    assert len(table_rows(shown.stdout)) == 16
    exported = (tmp_path / "vip-customers.csv").read_text(encoding="utf-8").splitlines()
    assert len(exported) == 1 + 16


def test_the_readme_s_first_commands_work_as_printed():
    """The README's first block installs and runs the demo; the next one explores it."""
    blocks = re.findall(r"```sh\n(.*?)```", README, flags=re.S)
    assert blocks[0].splitlines()[0].endswith("segcli demo")
    explore = [line for line in blocks[1].splitlines() if line.strip()]
    assert explore and all(line.startswith(".venv/bin/segcli --db demo.db ") for line in explore)
    assert run("demo").exit_code == 0
    for command in explore:
        _works(command.split("#")[0])


def test_demo_with_segments_elsewhere_prints_them_in_its_commands(tmp_path):
    result = run("--segments", "my segments", "demo")
    assert result.exit_code == 0, result.stderr
    assert len(list((tmp_path / "my segments").iterdir())) == len(EXAMPLES)
    commands = _explore_commands(result.stderr)
    assert commands[0] == (
        "segcli --db demo.db --segments 'my segments' segment show vip-customers --as-of 2026-11-01"
    )
    for command in commands:
        _works(command)


def test_demo_never_replaces_a_merchant_s_own_segment_file(tmp_path):
    segments = tmp_path / "segments"
    segments.mkdir()
    own = "title: Our VIPs\ncriteria:\n  total_spent: {gt: 2000}\n"
    (segments / "vip-customers.yaml").write_text(own, encoding="utf-8")
    # Another file may hold a segment an example would bring again under its name.
    (segments / "gifts.yaml").write_text(
        "name: gift-shoppers\ncriteria:\n  tags: gift-buyer\n", encoding="utf-8"
    )
    identical = (example_segments_dir() / "win-back.yaml").read_bytes()
    (segments / "win-back.yaml").write_bytes(identical)

    result = run("demo")
    assert result.exit_code == 0, result.stderr
    assert (segments / "vip-customers.yaml").read_text(encoding="utf-8") == own
    assert not (segments / "gift-shoppers.yaml").exists()
    assert (segments / "win-back.yaml").read_bytes() == identical
    assert f"copied {len(EXAMPLES) - 3} example segment files to segments/\n" in result.stderr
    assert (
        "kept your segments/gifts.yaml: the example segment of that name was not copied\n"
        in result.stderr
    )
    assert (
        "kept your segments/vip-customers.yaml: the example segment of that name was not "
        "copied\n" in result.stderr
    )
    assert "win-back" not in result.stderr
    # The merchant's segment is the one the next commands use.
    shown = run("--db", "demo.db", "segment", "show", "vip-customers", "--as-of", "2026-11-01")
    assert shown.stdout.startswith("vip-customers: ")
    assert shown.stdout.splitlines()[0] != "vip-customers: 16 members as of 2026-11-01"


@pytest.mark.no_engine
def test_demo_refuses_a_segments_path_that_is_a_file(tmp_path):
    (tmp_path / "segments").write_text("not a directory\n", encoding="utf-8")
    result = run("demo")
    assert result.exit_code == 2
    assert "Error: Invalid value for '--segments': Directory 'segments' is a file." in (
        result.stderr
    )
    assert sorted(path.name for path in tmp_path.iterdir()) == ["segments"]

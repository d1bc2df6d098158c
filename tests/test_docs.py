"""Every command has help text and is documented in the README."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from segcli.cli import cli

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    context = click.Context(group)
    for name in sorted(group.list_commands(context)):
        command = group.get_command(context, name)
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))


COMMANDS = list(_commands(cli))


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_command_has_help_and_is_in_the_readme(path, command):
    assert command.help and command.help.strip()
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0
    first_words = " ".join(command.help.split()[:6])
    assert first_words in " ".join(result.stdout.split())
    assert f"segcli {' '.join(path)}" in README


def test_the_command_list_shows_each_commands_own_short_help():
    """`segcli --help` lists commands without importing them, from short help kept in cli.py."""
    from segcli.cli import LAZY_COMMANDS

    context = click.Context(cli)
    for name, (_, _, short_help) in LAZY_COMMANDS.items():
        command = cli.get_command(context, name)
        stand_in = click.Command(name, help=short_help)
        for limit in (30, 45, 70, 200):
            assert stand_in.get_short_help_str(limit) == command.get_short_help_str(limit), name


def test_help_imports_no_command_module():
    code = (
        "import sys; from click.testing import CliRunner; from segcli.cli import cli; "
        "CliRunner().invoke(cli, ['--help']); "
        "print(sorted(m for m in sys.modules if m.startswith(('segcli.commands', "
        "'segcli.store', 'segcli.importer', 'sqlite_utils', 'yaml'))))"
    )
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_readme_starts_with_the_install_and_test_commands():
    block = README.split("```sh\n", 1)[1].split("```", 1)[0].strip().splitlines()
    assert block[0].endswith("segcli demo")
    assert "pytest" in block[1] and "ruff check" in block[1]
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text(encoding="utf-8")
    assert block[1].replace("pip install -q", "pip install") in ci.replace(
        "pip install -q", "pip install"
    )


def test_every_option_of_import_is_in_the_readme():
    from segcli.commands.import_cmd import import_command

    for param in import_command.params:
        if isinstance(param, click.Option):
            assert param.opts[0] in README, param.opts[0]

"""Every command has help text and is documented in the README."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from segcli.cli import cli

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
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

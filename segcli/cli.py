"""The root command: global options, the shared context and the one error boundary."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import click

from segcli import __version__
from segcli.errors import SegcliError
from segcli.store.db import Store, open_store


@dataclass
class App:
    """What every command shares: where the database and the segments live."""

    db_path: Path
    segments_dir: Path
    db_given: bool = True
    segments_given: bool = True

    def open_store(self, *, create: bool = True, dry_run: bool = False) -> Store:
        """The store; a dry run on a database that does not exist yet gets an empty one."""
        in_memory = dry_run and not self.db_path.exists()
        return open_store(self.db_path, create=create, in_memory=in_memory)


class SegcliGroup(click.Group):
    """Turns segcli errors into one clear line and exit 1; tracebacks only with SEGCLI_DEBUG."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SegcliError as error:
            raise click.ClickException(str(error)) from error
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError:
            _quiet_broken_pipe()
        except KeyboardInterrupt:
            raise click.Abort() from None
        except Exception as error:
            if os.environ.get("SEGCLI_DEBUG"):
                raise
            raise click.ClickException(
                f"unexpected error: {type(error).__name__}: {error} "
                "(run with SEGCLI_DEBUG=1 for details)"
            ) from error


def _quiet_broken_pipe() -> None:
    # The reader went away (`segcli ... | head`): that is not an error. Point stdout at
    # devnull so that Python's own flush at exit does not complain either.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(0)


@click.group(cls=SegcliGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    "db_path",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="SEGCLI_DB",
    default="segcli.db",
    show_default=True,
    help="The database file (env SEGCLI_DB).",
)
@click.option(
    "--segments",
    "segments_dir",
    type=click.Path(path_type=Path, file_okay=False),
    envvar="SEGCLI_SEGMENTS",
    default="segments",
    show_default=True,
    help="The directory of segment YAML files (env SEGCLI_SEGMENTS).",
)
@click.version_option(__version__, prog_name="segcli")
@click.pass_context
def cli(ctx: click.Context, db_path: Path, segments_dir: Path) -> None:
    """segcli: customer segments from your store's own data.

    Import a store's CSV files into a local SQLite database, then count, show and export
    the customers in each segment.
    """
    default = click.core.ParameterSource.DEFAULT
    ctx.obj = App(
        db_path=db_path,
        segments_dir=segments_dir,
        db_given=ctx.get_parameter_source("db_path") is not default,
        segments_given=ctx.get_parameter_source("segments_dir") is not default,
    )


def _add_commands() -> None:
    from segcli.commands.customer import customer_group
    from segcli.commands.demo import demo_command
    from segcli.commands.import_cmd import import_command
    from segcli.commands.info import info_command
    from segcli.commands.segment import segment_group

    cli.add_command(import_command)
    cli.add_command(segment_group)
    cli.add_command(customer_group)
    cli.add_command(info_command)
    cli.add_command(demo_command)


_add_commands()


def main() -> None:
    cli(prog_name="segcli")

"""The root command: global options, the shared context and the one error boundary."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING

import click

from segcli import __version__
from segcli.errors import SegcliError

if TYPE_CHECKING:
    from segcli.store.db import Store

# The commands, each imported only when it runs, so that `segcli --help` starts fast
# without SQLite, YAML or the importer. The short help shown in the command list is
# kept here; a test checks that it is each command's own.
LAZY_COMMANDS: dict[str, tuple[str, str, str]] = {
    "import": (
        "segcli.commands.import_cmd",
        "import_command",
        "Import CSV FILES of KIND into the database.",
    ),
    "segment": (
        "segcli.commands.segment",
        "segment_group",
        "List, check, count, show and export customer segments.",
    ),
    "customer": ("segcli.commands.customer", "customer_group", "Look at one person."),
    "info": (
        "segcli.commands.info",
        "info_command",
        "Show the database's path, schema version, row counts, people and last imports.",
    ),
    "demo": (
        "segcli.commands.demo",
        "demo_command",
        "Import the bundled example store into demo.db (or --db) and show its segments.",
    ),
}


@dataclass
class App:
    """What every command shares: where the database and the segments live."""

    db_path: Path
    segments_dir: Path
    db_given: bool = True
    segments_given: bool = True
    # What evaluates segments: "duckdb" (over the analytic copy) or "sqlite" (the store).
    engine: str = "duckdb"

    def open_store(self, *, create: bool = True, dry_run: bool = False) -> Store:
        """The store; a dry run on a database that does not exist yet gets an empty one."""
        from segcli.store.db import BUSY_TIMEOUT_MS, open_store

        def waiting() -> None:
            from segcli.output import say

            say(
                f"{self.db_path} is being written by another process: waiting for it "
                f"(up to {BUSY_TIMEOUT_MS // 1000} s)"
            )

        in_memory = dry_run and not self.db_path.exists()
        return open_store(self.db_path, create=create, in_memory=in_memory, on_wait=waiting)


class SegcliGroup(click.Group):
    """Turns segcli errors into one clear line and exit 1; tracebacks only with SEGCLI_DEBUG.

    Its commands are loaded when they are asked for (``LAZY_COMMANDS``).
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*LAZY_COMMANDS, *(n for n in super().list_commands(ctx) if n not in LAZY_COMMANDS)]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in LAZY_COMMANDS and name not in self.commands:
            module, attribute, _ = LAZY_COMMANDS[name]
            self.add_command(getattr(import_module(module), attribute), name)
        return super().get_command(ctx, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list, from the short help kept here: nothing is imported for it."""
        names = self.list_commands(ctx)
        # As click lays it out: the short help is cut to the room the widest name leaves.
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            if name in LAZY_COMMANDS and name not in self.commands:
                stand_in = click.Command(name, help=LAZY_COMMANDS[name][2])
                rows.append((name, stand_in.get_short_help_str(limit)))
            else:
                command = self.get_command(ctx, name)
                if command is not None and not command.hidden:
                    rows.append((name, command.get_short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SegcliError as error:
            raise _failure(str(error), error.exit_code) from error
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError:
            _quiet_broken_pipe()
        except KeyboardInterrupt:
            raise click.Abort() from None
        except Exception as error:
            if os.environ.get("SEGCLI_DEBUG"):
                raise
            if _is_database_error(error):
                raise click.ClickException(_database_problem(ctx, error)) from error
            raise click.ClickException(
                f"unexpected error: {type(error).__name__}: {error} "
                "(run with SEGCLI_DEBUG=1 for details)"
            ) from error


def _failure(message: str, exit_code: int) -> click.ClickException:
    """A segcli error as click reports it: ``Error: ...``, and the error's exit code (a
    class of its own: click reads the code from the class)."""
    if exit_code == click.ClickException.exit_code:
        return click.ClickException(message)
    failure = type("SegcliFailure", (click.ClickException,), {"exit_code": exit_code})
    return failure(message)


def _is_database_error(error: Exception) -> bool:
    # sqlite3 is looked up, not imported: `segcli --help` does without it.
    sqlite3 = sys.modules.get("sqlite3")
    return sqlite3 is not None and isinstance(error, sqlite3.Error)


def _database_problem(ctx: click.Context, error: Exception) -> str:
    """A database error that segcli did not expect, said with the database's name."""
    app = ctx.obj
    where = app.db_path if isinstance(app, App) else "the database"
    text = str(error)
    if "disk I/O error" in text or "full" in text:
        hint = "is the disk full, or is the file size limited (ulimit -f)?"
    elif "readonly" in text or "read-only" in text:
        hint = "the database file, or the directory it is in, is read-only"
    elif "locked" in text or "busy" in text:
        hint = "another process is writing it; try again when it is done"
    else:
        hint = "run with SEGCLI_DEBUG=1 for details"
    return f"cannot use database {where}: {text}\n  hint: {hint}"


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
@click.option(
    "--engine",
    type=click.Choice(["duckdb", "sqlite"]),
    envvar="SEGCLI_ENGINE",
    default="duckdb",
    show_default=True,
    help="What evaluates segments: DuckDB over a copy beside the database, or SQLite in "
    "it (env SEGCLI_ENGINE).",
)
@click.version_option(__version__, prog_name="segcli")
@click.pass_context
def cli(ctx: click.Context, db_path: Path, segments_dir: Path, engine: str) -> None:
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
        engine=engine,
    )


def main() -> None:
    cli(prog_name="segcli")

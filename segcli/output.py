"""The one place that writes: a stderr console for people, stdout for data.

stdout carries only data a script asked for; messages, summaries, tables for people,
warnings and progress bars go to stderr, so that ``segcli ... | other-tool`` stays clean.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from rich.console import Console
from rich.table import Table
from rich.text import Text

# Width of tables written to a file or pipe (a terminal's own width is used on a terminal).
UNATTENDED_WIDTH = 120


def stderr_console() -> Console:
    """Rich console on stderr; user data is never read as markup. NO_COLOR is honoured."""
    console = Console(stderr=True, markup=False, highlight=False, emoji=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = UNATTENDED_WIDTH
    return console


def say(message: str) -> None:
    """A message for the person at the terminal."""
    stderr_console().print(Text(message), soft_wrap=True)


def warn(message: str) -> None:
    stderr_console().print(Text(f"warning: {message}", style="yellow"), soft_wrap=True)


def decimal_text(value: Decimal) -> str:
    """An exact decimal with at least two decimals and no exponent (``12.5`` → ``12.50``)."""
    text = format(value, "f")
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.rstrip('0').ljust(2, '0')}"


def json_text(value: object, indent: int | None = 2, level: int = 0) -> str:
    """JSON in which a Decimal is a number with its exact digits, never a binary float."""
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, dict):
        parts = [
            f"{json.dumps(str(key), ensure_ascii=False)}: {json_text(item, indent, level + 1)}"
            for key, item in value.items()
        ]
        return _container("{", "}", parts, indent, level)
    if isinstance(value, list | tuple):
        parts = [json_text(v, indent, level + 1) for v in value]
        return _container("[", "]", parts, indent, level)
    return json.dumps(value, ensure_ascii=False)


def _container(opening: str, closing: str, parts: list[str], indent: int | None, level: int):
    if not parts:
        return opening + closing
    if indent is None:
        return opening + ", ".join(parts) + closing
    inner = " " * (indent * (level + 1))
    outer = " " * (indent * level)
    return opening + "\n" + ",\n".join(inner + p for p in parts) + "\n" + outer + closing


def write_json(data: object) -> None:
    """Data for scripts, on stdout."""
    sys.stdout.write(json_text(data) + "\n")


def show_table(table: Table) -> None:
    stderr_console().print(table)


def new_table(*columns: str, title: str | None = None, numeric: tuple[str, ...] = ()) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        table.add_column(column, justify="right" if column in numeric else "left")
    return table


@contextmanager
def file_progress(label: str) -> Iterator[tuple]:
    """A progress bar by bytes read, then the step the import is in, shown only when
    stderr is a terminal.

    Yields ``(on_start, on_progress, on_phase)`` callbacks for the importer. After the
    last byte is read, merging, working out people and building indexes can take as long
    as the reading: each step replaces the full bar with its name and a moving bar.
    """
    # Imported here, by the one command that draws a bar.
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    class ReadingOrStep(ProgressColumn):
        """Bytes read, speed and time left while reading; then the step's name."""

        parts = (DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn())

        def render(self, task) -> Text:
            step = task.fields.get("step")
            if step:
                return Text(f"{step}…")
            return Text(" ").join(part(task) for part in self.parts)

    console = stderr_console()
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        ReadingOrStep(),
        console=console,
        transient=True,
        redirect_stdout=False,
        redirect_stderr=False,
        disable=not console.is_terminal,
    )
    reading = progress.add_task(label, total=None)
    steps: list = []

    def on_start(total: int) -> None:
        progress.update(reading, total=total)

    def on_progress(done: int) -> None:
        progress.update(reading, completed=done)

    def on_phase(step: str) -> None:
        if not steps:
            # A task without a total draws a moving bar: the step's length is not known.
            progress.update(reading, visible=False)
            steps.append(progress.add_task(label, total=None, step=step))
        progress.update(steps[0], step=step)
        progress.refresh()

    with progress:
        yield on_start, on_progress, on_phase

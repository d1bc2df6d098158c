"""The one place that writes: stdout for a command's answer, a stderr console for the rest.

A command's answer (a table for people, or data for scripts in csv, tsv, json or jsonl)
goes to stdout and nothing else does; messages, warnings and progress bars go to stderr,
so that ``segcli ... | less``, ``| grep`` and ``> file`` get the answer and only it.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from decimal import ROUND_HALF_UP, Decimal
from typing import IO, cast

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

# Width of messages written to a file or pipe (a terminal's own width is used on a terminal).
UNATTENDED_WIDTH = 120

# The formats of a command's answer: a table for people, the others for scripts.
ANSWER_FORMATS = ("table", "csv", "tsv", "json", "jsonl")

_CENT = Decimal("0.01")


def stderr_console() -> Console:
    """Rich console on stderr; user data is never read as markup. NO_COLOR is honoured."""
    console = Console(stderr=True, markup=False, highlight=False, emoji=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = UNATTENDED_WIDTH
    return console


def stdout_console() -> Console:
    """Rich console on stdout, for answers shown on a terminal. NO_COLOR is honoured."""
    return Console(markup=False, highlight=False, emoji=False)


def say(message: str) -> None:
    """A message for the person at the terminal."""
    stderr_console().print(Text(message), soft_wrap=True)


def warn(message: str) -> None:
    stderr_console().print(Text(f"warning: {message}", style="yellow"), soft_wrap=True)


def counted(count: int, thing: str, things: str | None = None) -> str:
    """A count for people, in the singular for one: ``1 member``, ``2,500 members``."""
    return f"{count:,} {thing if count == 1 else things or thing + 's'}"


def money_for_people(amount: Decimal) -> str:
    """Money in a table: to the cent, with thousands separators (``59,225.85``).

    For display only; data formats and exports keep the exact amount. Rounded half away
    from zero, as a till rounds (``0.125`` is ``0.13``).
    """
    shown = amount.quantize(_CENT, rounding=ROUND_HALF_UP)
    # -0.004 is 0.00, not -0.00.
    return f"{shown.copy_abs() if shown.is_zero() else shown:,}"


def decimal_text(value: Decimal) -> str:
    """An exact decimal with at least two decimals and no exponent (``12.5`` → ``12.50``)."""
    text = format(value, "f")
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.rstrip('0').ljust(2, '0')}"


def iso_utc(stored: str | None) -> str | None:
    """A stored UTC date-time (``2026-10-31 18:00:00``) as exports write it (``...T18:00:00Z``)."""
    return None if stored is None else stored.replace(" ", "T") + "Z"


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


def write_json(data: object, indent: int | None = 2) -> None:
    """Data for scripts, on stdout (on one line with ``indent=None``)."""
    _answer(json_text(data, indent) + "\n")


def cell_text(value: object) -> str:
    """A value in a CSV or TSV cell: exact money, true/false, a list as ``a, b``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    return str(value)


def delimited_line(cells: Sequence[str], delimiter: str) -> str:
    """One CSV/TSV line. Quoted where needed, a carriage return included: Python's csv
    writer quotes only the characters of its own line ending, and a bare CR inside a cell
    splits the row for most readers."""
    quoted = []
    for cell in cells:
        if any(c in cell for c in (delimiter, '"', "\n", "\r")):
            cell = '"' + cell.replace('"', '""') + '"'
        quoted.append(cell)
    return delimiter.join(quoted) + "\n"


def write_records(
    fields: Sequence[str], records: Iterable[dict], output_format: str, out: IO[str] | None = None
) -> None:
    """Records for scripts, with exact values: csv or tsv with a header, a json list, or
    jsonl (one object a line). On stdout unless ``out`` is given."""
    records = list(records)
    if output_format == "json":
        text = json_text([{name: r[name] for name in fields} for r in records]) + "\n"
    elif output_format == "jsonl":
        text = "".join(
            json_text({name: r[name] for name in fields}, indent=None) + "\n" for r in records
        )
    else:
        delimiter = "," if output_format == "csv" else "\t"
        text = delimited_line(fields, delimiter) + "".join(
            delimited_line([cell_text(r[name]) for name in fields], delimiter) for r in records
        )
    _answer(text, out)


def write_answer(
    output_format: str,
    tables: Table | Sequence[Table],
    *,
    fields: Sequence[str] = (),
    records: Iterable[dict] = (),
    document: object = None,
    note: str | None = None,
) -> None:
    """A command's answer on stdout: ``tables`` for people, with ``note`` under them on
    stderr; for scripts, with exact values, the ``records`` (csv, tsv, json, jsonl), or
    the one ``document`` where there is one (json indented, jsonl on one line)."""
    if output_format == "table":
        show_table(*([tables] if isinstance(tables, Table) else tables))
        if note:
            say(note)
    elif document is not None and output_format in ("json", "jsonl"):
        write_json(document, indent=2 if output_format == "json" else None)
    else:
        write_records(fields, records, output_format)


def _answer(text: str, out: IO[str] | None = None) -> None:
    out = out or sys.stdout
    out.write(text)
    # Flushed here, inside the command: a reader that went away (`| head`) is then met
    # where the command's broken-pipe handling sees it, not at exit.
    out.flush()


def new_table(*columns: str, title: str | None = None, numeric: tuple[str, ...] = ()) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        table.add_column(column, justify="right" if column in numeric else "left")
    return table


def show_table(*tables: Table) -> None:
    """Tables that are a command's answer, on stdout.

    On a terminal Rich draws them, in colour unless NO_COLOR is set. Anywhere else (a
    pipe, a file) they are plain: see ``plain_table``.
    """
    console = stdout_console()
    if console.is_terminal:
        for table in tables:
            console.print(table)
        sys.stdout.flush()
        return
    _answer("\n".join(plain_table(table) for table in tables))


def plain_table(table: Table) -> str:
    """A table as plain text, for a pipe or a file: every row one line, never wrapped.

    No colour, no styles and a frame of ASCII only (spaces and a line of ``-`` under the
    header): ``grep`` finds a row whole, ``less``, ``cut`` and ``awk`` take it as it is, and
    it reads the same in a cron job's mail whatever its character set.
    Columns are two spaces apart, numbers right-aligned, a line break in a cell is written
    ``; `` so that it cannot split its row, and the caption comes after a blank line.
    """
    headers = [_one_line(column.header) for column in table.columns]
    rows = list(
        zip(*([_one_line(cell) for cell in column.cells] for column in table.columns), strict=True)
    )
    shown = [headers, *rows] if table.show_header else rows
    widths = [max((cell_len(row[i]) for row in shown), default=0) for i in range(len(headers))]
    right = [column.justify == "right" for column in table.columns]

    def line(cells: Sequence[str]) -> str:
        padded = map(_padded, cells, widths, right)
        return "  ".join(padded).rstrip() + "\n"

    text = f"{_one_line(table.title)}\n" if table.title else ""
    if table.show_header:
        text += line(headers) + line(["-" * width for width in widths])
    text += "".join(line(row) for row in rows)
    if table.caption:
        # After a blank line: the rows end where the first blank line is, for a reader and
        # for `awk` or `sed` alike.
        text += f"\n{_one_line(table.caption)}\n"
    return text


def _padded(cell: str, width: int, at_right: bool) -> str:
    # By the cells a terminal gives a character: a Chinese name takes two.
    padding = " " * (width - cell_len(cell))
    return padding + cell if at_right else cell + padding


def _one_line(cell: object) -> str:
    text = cell.plain if isinstance(cell, Text) else str(cell)
    return "; ".join(text.splitlines())


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
            # Each of these columns renders Text (through its cache, hence the call).
            return Text(" ").join(cast(Text, part(task)) for part in self.parts)

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

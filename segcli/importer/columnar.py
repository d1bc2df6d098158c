"""Parsing a plain file's records a column at a time in DuckDB (issue 18).

DuckDB reads a plain file (plain.py) and, for each column whose parser has a form in SQL,
gives the parsed values and which cells it could not read exactly; only those cells are
parsed in Python, by the same parser, which returns their value or names what is wrong
with them (fast_values.py gives each parser's form). A column whose parser has no SQL
form (a date format given with --date-format) is parsed in Python as before
(``batches.parse_column``). The batches are what ``batches.parse_batch`` makes of the
same records: the same values, and the same rejects with the same messages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from segcli.errors import BadValue
from segcli.importer import fast_values
from segcli.importer.batches import Bad, Parsed, custom_writer, parse_column, reject_bad_cells
from segcli.importer.fast_values import Fast, Parser
from segcli.importer.plain import PlainFile, plain_batches
from segcli.importer.plan import ColumnPlan

# Lines DuckDB reads, shapes and parses at a time (one query streams the whole file).
LINES_PER_READ = 65_536


def parsed_batches(
    plain: PlainFile,
    plan: ColumnPlan,
    *,
    after: int,
    size: int,
    fast_for: Callable[[Parser], Fast | None] = fast_values.fast_for,
    on_progress: Callable[[int], None] | None = None,
    file_size: int = 0,
) -> Iterator[Parsed]:
    """The records after line ``after`` parsed by ``plan``, in batches of ``size``."""
    select, forms = _selected(plan, fast_for)
    for batch in plain_batches(
        plain, after=after, width=plan.width, rows=LINES_PER_READ, select=select
    ):
        parsed = _parsed(batch.records, plan, forms, batch.rejects)
        yield from _pieces(parsed, size)
        if on_progress is not None and parsed.lines:
            on_progress(file_size * parsed.lines[-1] // max(plain.lines, 1))


def _pieces(parsed: Parsed, size: int) -> Iterator[Parsed]:
    """The batch in pieces of ``size`` records, as the csv path hands them on: what comes
    after parsing works a batch at a time (line items are numbered batch by batch)."""
    for start in range(0, max(len(parsed.lines), 1), size):
        end = start + size
        yield Parsed(
            parsed.lines[start:end],
            {name: values[start:end] for name, values in parsed.columns.items()},
            parsed.rejects if start == 0 else [],
        )


def _selected(plan: ColumnPlan, fast_for: Callable[[Parser], Fast | None]) -> tuple[str, list]:
    """The SQL over a record's cells giving each planned column's values, and each
    column's SQL form (None: parsed in Python)."""
    selected = []
    forms = []
    for index, (position, _, parse) in enumerate(plan.parsers):
        cell = f"c{position + 1}"
        form = fast_for(parse)
        forms.append(form)
        selected.append(f"{cell} AS raw{index}")
        if form is not None:
            value, python = form.over(cell)
            selected += [f"{value} AS fast{index}", f"{python} AS py{index}"]
    for position, _ in plan.custom:
        selected.append(f"c{position + 1} AS custom{position}")
    return ", ".join(selected), forms


def _parsed(found: Any, plan: ColumnPlan, forms: list, rejects: list[tuple[int, str]]) -> Parsed:
    """A batch as parse_batch makes it: each column's values, and the rejects."""
    columns: dict[str, list] = {}
    bad_columns = []
    for index, (_, name, parse) in enumerate(plan.parsers):
        raw = found.column(f"raw{index}")
        if forms[index] is None:
            values, bad = parse_column(parse, tuple(raw.to_pylist()))
        else:
            values, bad = _fixed(
                found.column(f"fast{index}").to_pylist(), found.column(f"py{index}"), raw, parse
            )
        columns[name] = values
        if bad:
            bad_columns.append(name)
    if plan.custom:
        cells = [found.column(f"custom{position}").to_pylist() for position, _ in plan.custom]
        # _custom reads each record's fields by position: give it those it reads.
        at = {position: index for index, (position, _) in enumerate(plan.custom)}
        custom = [(at[position], name) for position, name in plan.custom]
        columns["custom"] = list(map(custom_writer(custom), zip(*cells, strict=True)))
    parsed = Parsed(found.column("line").to_pylist(), columns, list(rejects))
    if bad_columns:
        reject_bad_cells(parsed, bad_columns, plan.labels)
    return parsed


def _fixed(values: list, python: Any, raw: Any, parse: Parser) -> tuple[list, bool]:
    """The SQL values with the cells SQL could not read parsed by ``parse``; whether any
    cell did not parse."""
    import pyarrow.compute as pc  # type: ignore[import-untyped]

    bad = False
    for index in pc.indices_nonzero(python).to_pylist():
        try:
            values[index] = parse(raw[index].as_py())
        except BadValue as error:
            values[index] = Bad(error.reason)
            bad = True
    return values, bad

"""Parsing records a batch at a time: each column's cells are parsed together.

Parsing column by column lets C code do the looping (``zip``, ``map``), and a column whose
cells repeat (prices, statuses, currencies) is parsed once per distinct cell. A row with a
bad cell gets the same message, naming every bad cell, as when rows were parsed one by one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import groupby

from segcli.errors import BadValue
from segcli.importer.reader import Record

BATCH_ROWS = 2_000

# The json module's own string writer (in C where it can be), as dumps uses it: a text as
# a JSON string, for JSON that segcli writes without dumps (record keys, custom fields).
json_text = json.encoder.encode_basestring

Row = dict[str, object]
# A batch of a file: the lines its records start on, their fields, and for each record the
# problem that makes it unreadable, if any (None when no record has one).
Chunk = tuple[list[int], list[list[str]], list[str | None] | None]


class Bad:
    """A cell that did not parse, standing in its column until the row is rejected."""

    __slots__ = ("reason",)

    def __init__(self, reason: str):
        self.reason = reason


def _one_by_one(parse: Callable[[str], object], cells: Iterable[str]) -> Iterator[object]:
    for cell in cells:
        try:
            yield parse(cell)
        except BadValue as error:
            yield Bad(error.reason)


def parse_column(parse: Callable[[str], object], cells: tuple[str, ...]) -> tuple[list, bool]:
    """The parsed cells, with ``Bad`` for cells that did not parse, and whether any did not."""
    distinct = dict.fromkeys(cells)
    if 2 * len(distinct) <= len(cells):
        try:
            parsed = {cell: parse(cell) for cell in distinct}
            bad = False
        except BadValue:
            parsed = dict(zip(distinct, _one_by_one(parse, distinct), strict=True))
            bad = True
        return [parsed[cell] for cell in cells], bad
    try:
        return list(map(parse, cells)), False
    except BadValue:
        return list(_one_by_one(parse, cells)), True


@dataclass
class Parsed:
    """One batch: the good records' lines and values by native column, and the bad lines."""

    lines: list[int]
    columns: dict[str, list]
    rejects: list[tuple[int, str]] = field(default_factory=list)

    def rows(self) -> Iterator[Row]:
        """The good records as dicts (the exact per-row path)."""
        names = list(self.columns)
        for values in zip(*self.columns.values(), strict=True):
            yield dict(zip(names, values, strict=True))

    def drop(self, indexes: Iterable[int]) -> None:
        """Leave out the records at these positions."""
        gone = set(indexes)
        if not gone:
            return
        keep = [i for i in range(len(self.lines)) if i not in gone]
        self.lines = [self.lines[i] for i in keep]
        self.columns = {name: [values[i] for i in keep] for name, values in self.columns.items()}


def parse_batch(plan, chunk: Chunk) -> Parsed:
    """Parse a batch of records by the plan (a plan.ColumnPlan); see the module's docstring."""
    lines, rows, problems = chunk
    width = plan.width
    rejects: list[tuple[int, str]] = []
    if problems is not None or set(map(len, rows)) != {width}:
        lines, rows = _shaped(lines, rows, problems, width, rejects)
    cells = list(zip(*rows, strict=True)) if rows else [()] * width
    columns: dict[str, list] = {}
    bad_columns = []
    for position, name, parse in plan.parsers:
        values, bad = parse_column(parse, cells[position])
        columns[name] = values
        if bad:
            bad_columns.append(name)
    if plan.custom:
        columns["custom"] = list(map(custom_writer(plan.custom), rows))
    parsed = Parsed(lines, columns, rejects)
    if bad_columns:
        reject_bad_cells(parsed, bad_columns, plan.labels)
    return parsed


def _shaped(lines, rows, problems, width: int, rejects: list) -> tuple[list, list]:
    """The records that have the header's width (short ones filled with empty cells)."""
    kept_lines, kept_rows = [], []
    for index, (line, fields) in enumerate(zip(lines, rows, strict=True)):
        if problems is not None and problems[index] is not None:
            rejects.append((line, problems[index]))
            continue
        if len(fields) > width:
            if any(f.strip() for f in fields[width:]):
                rejects.append(
                    (line, f"the row has {len(fields)} fields but the header has {width}")
                )
                continue
            fields = fields[:width]
        elif len(fields) < width:
            fields = fields + [""] * (width - len(fields))
        kept_lines.append(line)
        kept_rows.append(fields)
    return kept_lines, kept_rows


def custom_writer(custom: list[tuple[int, str]]) -> Callable[[Sequence[str]], str]:
    """What a record's custom fields are stored as: the JSON object of its non-blank custom
    cells (``custom`` gives their positions and names), keys sorted, exactly as
    ``json.dumps(..., ensure_ascii=False, sort_keys=True)`` writes it; built without it,
    which took 5.4 s for a million customers' objects. Of two columns of one name, the
    last non-blank cell is the value."""
    positions: dict[str, list[int]] = {}
    for position, name in custom:
        positions.setdefault(name, []).append(position)
    keys = [(json_text(name) + ": ", at[::-1]) for name, at in sorted(positions.items())]

    def write(fields: Sequence[str]) -> str:
        found = []
        for key, at in keys:
            for position in at:
                value = fields[position].strip()
                if value:
                    found.append(key + json_text(value))
                    break
        return "{" + ", ".join(found) + "}"

    return write


def reject_bad_cells(parsed: Parsed, bad_columns: list[str], labels: dict[str, str]) -> None:
    """Move rows with a bad cell to the rejects, naming every bad cell in column order."""
    problems: dict[int, list[str]] = {}
    for name in bad_columns:
        label = labels.get(name, name)
        for index, value in enumerate(parsed.columns[name]):
            if isinstance(value, Bad):
                problems.setdefault(index, []).append(f"{label}: {value.reason}")
    parsed.rejects += [(parsed.lines[i], "; ".join(reasons)) for i, reasons in problems.items()]
    parsed.drop(problems)


def record_chunks(records: Iterator[Record], size: int = BATCH_ROWS) -> Iterator[Chunk]:
    """Records (of a platform file) in chunks of about ``size``; a line's records stay together."""
    batch: list[Record] = []
    for _, group in groupby(records, key=_line):
        batch.extend(group)
        if len(batch) >= size:
            yield _chunk(batch)
            batch = []
    if batch:
        yield _chunk(batch)


def _chunk(records: list[Record]) -> Chunk:
    problems = [record.problem for record in records]
    return (
        [record.line for record in records],
        [record.fields for record in records],
        problems if any(p is not None for p in problems) else None,
    )


def _line(record: Record) -> int:
    return record.line

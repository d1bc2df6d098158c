"""A file's records on their way to the tables: parsed a batch at a time (batches.py),
built into stored rows by their kind, and handed to the statements that write them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from segcli.errors import BadValue
from segcli.importer.batches import Chunk, Parsed, parse_batch

if TYPE_CHECKING:
    from segcli.importer.currencies import Conversion
    from segcli.importer.kinds import Kind
    from segcli.importer.options import ImportResult
    from segcli.importer.plan import ColumnPlan
    from segcli.importer.rejects import RejectLog


# Each table's share of a batch: the lines, and the stored values column by column.
Targets = list[tuple[list[int], list]]
# Rejected rows: each one's line and the reason.
Rejected = list[tuple[int, str]]
# A batch's stored rows per table, and the rows rejected on the way.
Build = Callable[[Parsed], tuple[Targets, Rejected]]


class Feed:
    """A file of ``kind`` on its way into the store: its records, parsed a batch at a time
    and handed to the tables they go to; what they did is counted on ``result``.

    A platform row may stand for several records (one per line item), all with its line
    number: the row is read, and taken or rejected, as a whole.
    """

    def __init__(
        self,
        kind: Kind,
        plan: ColumnPlan,
        chunks: Iterable[Chunk | Parsed],
        rejects: RejectLog,
        result: ImportResult,
        conversion: Conversion,
        *,
        grouped: bool,
    ):
        self.kind = kind
        self.plan = plan
        self.chunks = chunks
        self.rejects = rejects
        self.result = result
        self.conversion = conversion
        self.grouped = grouped

    def stored_rows(self) -> Build:
        """The kind's stored rows of each batch (orders in another currency converted)."""
        return _kind_rows(self.kind, self.conversion)

    def run(self, build: Build, consumers: list[Callable[[list[int], list], None]]) -> None:
        """Parse each batch, build its stored rows and hand each table's share to its
        consumer; rejected rows go to the rejects."""
        for chunk in self.chunks:
            # A batch parsed column by column in DuckDB (columnar.py), or records to parse.
            parsed = chunk if isinstance(chunk, Parsed) else parse_batch(self.plan, chunk)
            targets, bad = build(parsed)
            if isinstance(chunk, Parsed):
                self.result.rows_read += len(parsed.lines) + len(parsed.rejects)
            elif self.grouped:
                self.result.rows_read += len(set(chunk[0]))
            else:
                self.result.rows_read += len(chunk[0])
            bad = parsed.rejects + bad
            if self.grouped and bad:
                targets, bad = _without_lines(targets, bad)
            for consume, (lines, columns) in zip(consumers, targets, strict=True):
                if lines:
                    consume(lines, columns)
            if bad:
                self.rejects.add_many(bad)


def _kind_rows(kind: Kind, conversion: Conversion) -> Build:
    """A batch's stored rows: built column by column, or row by row when a row is bad;
    orders in another currency converted (or rejected) by ``conversion``."""
    fast = kind.batch_rows
    one = kind.row

    def build(parsed: Parsed) -> tuple[Targets, Rejected]:
        columns = fast(parsed.columns, len(parsed.lines))
        if columns is not None:
            return [(parsed.lines, columns)], []
        lines, rows, bad = [], [], []
        for line, row in zip(parsed.lines, parsed.rows(), strict=True):
            try:
                rows.append(one(row))
            except BadValue as error:
                bad.append((line, error.reason))
                continue
            lines.append(line)
        return [(lines, list(zip(*rows, strict=True)))], bad

    if not kind.converts_currency or conversion.store_currency is None:
        return build
    # Where each stored column is in a batch's columns (the key comes first).
    at = {name: position for position, name in enumerate((kind.key_column, *kind.stored))}

    def converted(parsed: Parsed) -> tuple[Targets, Rejected]:
        [(lines, columns)], bad = build(parsed)
        return _converted_orders(lines, columns, bad, conversion, at)

    return converted


def _converted_orders(
    lines: list[int], columns: list, bad: Rejected, conversion: Conversion, at: dict[str, int]
) -> tuple[Targets, Rejected]:
    """A batch of orders with those in another currency converted; those without a rate
    rejected."""
    currencies = columns[at["currency"]] if columns else []
    foreign = [i for i, currency in enumerate(currencies) if conversion.foreign(currency)]
    if not foreign:
        return [(lines, columns)], bad
    columns = [list(column) for column in columns]
    totals, rates, originals = (columns[at[n]] for n in ("total", "rate", "original_total"))
    failed = set()
    for i in foreign:
        try:
            total, rate = conversion.convert(totals[i], currencies[i], columns[at["created_at"]][i])
        except BadValue as error:
            bad.append((lines[i], error.reason))
            failed.add(i)
            continue
        originals[i], totals[i], rates[i] = totals[i], total, rate
    if failed:
        keep = [i for i in range(len(lines)) if i not in failed]
        lines = [lines[i] for i in keep]
        columns = [[column[i] for i in keep] for column in columns]
    return [(lines, columns)], bad


def _without_lines(targets: Targets, bad: Rejected) -> tuple[Targets, Rejected]:
    """Leave out every record of a line with a bad record; one reject per line."""
    bad = list({line: (line, reason) for line, reason in reversed(bad)}.values())
    gone = {line for line, _ in bad}
    kept = []
    for lines, columns in targets:
        keep = [i for i, line in enumerate(lines) if line not in gone]
        kept.append(([lines[i] for i in keep], [[column[i] for i in keep] for column in columns]))
    return kept, bad

"""Importing one CSV file: read, parse, stage, merge and resolve people, in one transaction.

Rows are parsed in Python and streamed into temporary staging tables in batches; the
merge into the store is then set-based SQL: the last row per key wins, each key is
classified as inserted, updated or unchanged against what is stored, and only changed
keys are written. A file is committed whole or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path

from segcli.errors import BadValue, ImportRefused
from segcli.importer import dialects, kinds, values
from segcli.importer.dates import (
    DAY_FIRST,
    DateReader,
    collect_evidence,
    describe,
    format_timestamp,
)
from segcli.importer.identity import resolve_people
from segcli.importer.kinds import KINDS, LINE_ITEM_COLUMNS, Kind
from segcli.importer.reader import CsvFile, Record
from segcli.importer.rejects import Reject, RejectLog, RejectsFile
from segcli.store.db import Store

BATCH_ROWS = 2_000
SHOWN_REJECTS = 20

INSERTED, UPDATED, UNCHANGED = 0, 1, 2

_TEMP_TABLES = (
    "stage",
    "stage_items",
    "final",
    "verdicts",
    "new_items",
    "item_verdicts",
    "order_heads",
    "late_rejects",
)


@dataclass
class ImportOptions:
    """How to read a file and what to do with it."""

    encoding: str = "utf-8"
    delimiter: str = ","
    # Lower-cased source column → native column.
    mapping: dict[str, str] = field(default_factory=dict)
    dry_run: bool = False
    strict: bool = False
    # The file's platform (dialects.DIALECTS), and its dates' day/month order or format.
    dialect: str = dialects.NATIVE
    date_order: str | None = None
    date_format: str | None = None


@dataclass
class ImportResult:
    """What importing one file did."""

    kind: str
    path: Path
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejects: list[Reject] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Rows superseded by a later row with the same key in the same file.
    replaced: int = 0
    written: bool = False
    dry_run: bool = False
    # Set when --strict refused the file because rows were rejected.
    refused: str | None = None
    # What the file was read as: "Shopify orders export", "native orders file".
    read_as: str = ""
    columns: int = 0
    # How dates were read, when that needed a choice ("day first (--dayfirst)").
    dates: str | None = None
    # Columns of the file that nothing reads.
    ignored: list[str] = field(default_factory=list)
    # Orders (by order id) inserted, updated, unchanged; line items in the file.
    orders: tuple[int, int, int] | None = None
    line_items: int = 0
    # Orders with neither customer_id nor email: kept, in no segment.
    anonymous: int = 0


@dataclass(frozen=True)
class ColumnPlan:
    """Which position of a file's rows feeds which native column."""

    header: list[str]
    width: int
    parsers: list[tuple[int, str, Callable[[str], object]]]
    custom: list[tuple[int, str]]
    line_items: bool
    # How messages name a native column when the file calls it something else.
    labels: dict[str, str] = field(default_factory=dict)

    def date_positions(self) -> list[int]:
        return [position for position, _, parse in self.parsers if parse is values.timestamp]

    def reading_dates(self, reader: DateReader) -> ColumnPlan:
        """The same plan with dates read by ``reader`` (the file's day/month order)."""
        parsers = [
            (position, name, reader if parse is values.timestamp else parse)
            for position, name, parse in self.parsers
        ]
        return replace(self, parsers=parsers)

    def labelled(self, labels: dict[str, str]) -> ColumnPlan:
        return replace(self, labels={**self.labels, **labels})


class _Rollback(Exception):
    """Ends the transaction without writing (dry run, or --strict with rejects)."""


def header_of(path: Path, options: ImportOptions) -> list[str]:
    """The trimmed header of a file (used to lay out the --rejects file)."""
    with CsvFile(path, encoding=options.encoding, delimiter=options.delimiter) as source:
        return [name.strip() for name in source.header]


def plan_columns(
    kind: Kind, header: list[str], mapping: dict[str, str], path: Path
) -> tuple[ColumnPlan, list[str], list[str]]:
    """Match a header to the kind's columns; refuse the file when a required one is missing.

    Returns the plan, the columns nothing reads, and warnings.
    """
    present = [name.strip().lower() for name in header]
    absent = [source for source in mapping if source not in present]
    if absent:
        raise ImportRefused(
            path,
            f"--map names column(s) {', '.join(absent)}, which the file does not have",
            hint=f"the file's columns are: {', '.join(h.strip() for h in header)}",
        )
    names = [mapping.get(name, name) for name in present]
    seen: dict[str, int] = {}
    for position, name in enumerate(names):
        if name and name in seen:
            raise ImportRefused(
                path,
                f"column {name!r} appears twice (columns {seen[name] + 1} and {position + 1})",
            )
        seen[name] = position

    columns = dict(kind.columns)
    line_items = kind is kinds.ORDERS and ("product_id" in seen or "sku" in seen)
    if line_items:
        columns.update(LINE_ITEM_COLUMNS)
    required = kind.required
    if line_items:
        # In the line-item form an order's total may be left out: it is summed from its lines.
        required = tuple(group for group in required if group != ("total",))
    missing = [" or ".join(group) for group in required if not any(c in seen for c in group)]
    if missing:
        raise ImportRefused(
            path,
            f"is missing the required column(s) {', '.join(missing)} for {kind.name}",
            hint=f"{kind.expected_columns()}; a column by another name can be read "
            "with --map SOURCE=TARGET",
        )

    parsers = []
    custom = []
    unnamed = []
    ignored = []
    for position, name in enumerate(names):
        if not name:
            unnamed.append(position + 1)
        elif name in columns:
            parsers.append((position, name, columns[name]))
        elif kind.keeps_unknown_columns:
            custom.append((position, name))
        else:
            ignored.append(header[position].strip())
    labels = {
        name: f"{header[position].strip()} ({name})"
        for position, name in enumerate(names)
        if name and header[position].strip().lower() != name
    }
    plan = ColumnPlan(header, len(header), parsers, custom, line_items, labels)
    warnings = []
    if unnamed:
        warnings.append(f"ignoring column(s) without a name: {', '.join(map(str, unnamed))}")
    return plan, ignored, warnings


def _parse(plan: ColumnPlan, record: Record) -> dict[str, object]:
    """The row's values by native column; raises BadValue naming every bad cell."""
    if record.problem is not None:
        raise BadValue(record.problem)
    fields = record.fields
    if len(fields) > plan.width and any(f.strip() for f in fields[plan.width :]):
        raise BadValue(f"the row has {len(fields)} fields but the header has {plan.width}")
    row: dict[str, object] = {}
    problems = []
    for position, name, parse in plan.parsers:
        raw = fields[position] if position < len(fields) else ""
        try:
            row[name] = parse(raw)
        except BadValue as error:
            problems.append(f"{plan.labels.get(name, name)}: {error.reason}")
    if problems:
        raise BadValue("; ".join(problems))
    if plan.custom:
        custom = {}
        for position, name in plan.custom:
            value = fields[position].strip() if position < len(fields) else ""
            if value:
                custom[name] = value
        row["custom"] = json.dumps(custom, ensure_ascii=False, sort_keys=True)
    return row


def import_file(
    store: Store,
    kind_name: str,
    path: Path,
    options: ImportOptions,
    *,
    rejects_file: RejectsFile | None = None,
    on_start: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import one file of ``kind_name`` into ``store``; see SPEC 2.1 for the rules."""
    kind = KINDS[kind_name]
    result = ImportResult(kind=kind.name, path=path, dry_run=options.dry_run)
    rejects = RejectLog()
    try:
        with CsvFile(
            path, encoding=options.encoding, delimiter=options.delimiter, on_progress=on_progress
        ) as source:
            translation = _translation(kind, path, options, source.header)
            plan = _plan(kind, path, options, source.header, translation, result)
            plan = plan.reading_dates(_date_reader(kind, path, options, plan, result))
            records = source.records()
            if translation is not None:
                records = translation.records(records)
            if on_start is not None:
                on_start(source.size)
            try:
                with store.transaction():
                    _drop_temp_tables(store)
                    counts = _load(store, kind, plan, records, rejects, result)
                    result.inserted, result.updated, result.unchanged = counts
                    result.rejected = rejects.count
                    if translation is not None:
                        result.warnings += [
                            f"{message} ({_rows(count)})"
                            for message, count in translation.notes.values()
                        ]
                    if options.strict and rejects.count:
                        result.refused = (
                            f"{rejects.count} row(s) rejected and --strict is set: "
                            "nothing from this file was written"
                        )
                        raise _Rollback
                    if options.dry_run:
                        raise _Rollback
                    if (result.inserted or result.updated) and kind.name in kinds.PERSON_KINDS:
                        resolve_people(store)
                    _drop_temp_tables(store)
                    _log_import(store, result, options.dialect)
                result.written = True
            except _Rollback:
                pass
        result.rejects = rejects.first(SHOWN_REJECTS)
        if rejects_file is not None and rejects.count:
            _write_rejects(path, options, rejects, rejects_file)
    finally:
        rejects.close()
    return result


def _rows(count: int) -> str:
    return "1 row" if count == 1 else f"{count:,} rows"


def _translation(kind: Kind, path: Path, options: ImportOptions, header: list[str]):
    """The platform layout's reading of the file, or None for a native file."""
    if options.dialect == dialects.NATIVE:
        return None
    layout = dialects.LAYOUTS.get((options.dialect, kind.name))
    if layout is None:
        raise ImportRefused(
            path,
            f"--from {options.dialect} reads {' and '.join(dialects.kinds_of(options.dialect))} "
            f"exports, not {kind.name}",
            hint=f"import {kind.name} files in segcli's own columns (--from native, with --map)",
        )
    return dialects.Translation(layout, path, header)


def _plan(kind, path, options, header, translation, result: ImportResult) -> ColumnPlan:
    """Plan the file's columns, and note what it was read as and what nothing reads."""
    result.columns = len(header)
    if translation is not None:
        plan, _, result.warnings = plan_columns(kind, translation.native_header, {}, path)
        result.read_as = translation.layout.title
        result.ignored = translation.ignored()
        return plan.labelled(translation.labels())
    result.read_as = f"native {kind.name} file" + (" with --map" if options.mapping else "")
    looks_like = dialects.detect(header)
    try:
        plan, result.ignored, result.warnings = plan_columns(kind, header, options.mapping, path)
    except ImportRefused as error:
        if looks_like is not None:
            error.hint = (
                f"this looks like a {looks_like.title}: import it with --from {looks_like.dialect}"
            )
        raise
    if looks_like is not None:
        result.warnings.append(
            f"this looks like a {looks_like.title}; if it is, import it with "
            f"--from {looks_like.dialect}"
        )
    return plan


def _date_reader(kind, path, options, plan: ColumnPlan, result: ImportResult) -> DateReader:
    """How this file's dates are read: the order given, or the one its values prove.

    A file whose numeric dates all read both ways (1/12/2010) and for which no order was
    given is refused: segcli never picks one reading silently.
    """
    if options.date_format is not None:
        result.dates = f"dates in the format {options.date_format} (--date-format)"
        return DateReader(options.date_order, options.date_format)
    if options.date_order is not None:
        result.dates = f"dates {_order_words(options.date_order)} (--{options.date_order})"
        return DateReader(options.date_order)
    positions = plan.date_positions()
    if not positions:
        return DateReader()
    with CsvFile(path, encoding=options.encoding, delimiter=options.delimiter) as scan:
        records = scan.records()
        translation = _translation(kind, path, options, scan.header)
        if translation is not None:
            records = translation.records(records)
        evidence = collect_evidence(
            (record.line, record.fields[position])
            for record in records
            for position in positions
            if position < len(record.fields)
        )
    if evidence.decided is not None:
        result.dates = (
            f"dates {_order_words(evidence.decided)}, as {evidence.proof!r} shows "
            f"(line {evidence.proof_line})"
        )
        return DateReader(evidence.decided)
    if evidence.ambiguous:
        raise ImportRefused(
            path,
            f"its dates do not show whether the day or the month comes first: "
            f"{describe(evidence.example)}",
            line=evidence.example_line,
            hint="give the file's order with --dayfirst or --monthfirst "
            "(or its exact format, e.g. --date-format '%d/%m/%Y %H:%M')",
        )
    return DateReader()


def _order_words(order: str) -> str:
    return "day first" if order == DAY_FIRST else "month first"


def _load(
    store: Store, kind: Kind, plan: ColumnPlan, source, rejects: RejectLog, result
) -> tuple[int, int, int]:
    if kind is kinds.ITEMS:
        _stage_items_file(store, plan, source, rejects, result)
        _merge_items(store)
        return _count(store, "stage_items", "order_id", "item_verdicts")
    if kind is kinds.ORDERS and plan.line_items:
        return _load_line_item_orders(store, plan, source, rejects, result)
    build = kinds.ROW_BUILDERS[kind.name]
    width = 1 + len(kind.stored)
    store.execute(
        f"CREATE TEMP TABLE stage (line INTEGER NOT NULL, {kind.key_column}, "
        + ", ".join(kind.stored)
        + ")"
    )
    insert = f"INSERT INTO temp.stage VALUES ({', '.join('?' * (width + 1))})"
    _stream(store, plan, source, rejects, result, lambda row: [build(row)], [insert])
    store.execute(f"CREATE INDEX temp.stage_key ON stage({kind.key_column})")
    store.execute(
        f"""CREATE TEMP TABLE final AS SELECT * FROM stage
        WHERE line IN (SELECT max(line) FROM stage GROUP BY {kind.key_column})"""
    )
    result.replaced = store.scalar("SELECT count(*) FROM stage") - store.scalar(
        "SELECT count(*) FROM final"
    )
    _merge(store, kind.table, kind.key_column, kind.stored)
    if kind is kinds.PRODUCTS:
        _refresh_product_collections(store)
    if kind is kinds.ORDERS:
        result.anonymous = _anonymous(store)
    return _count(store, "stage", kind.key_column, "verdicts")


def _anonymous(store: Store) -> int:
    return store.scalar("SELECT count(*) FROM final WHERE customer_id IS NULL AND email IS NULL")


def _stream(store, plan, source, rejects, result, to_rows, inserts) -> None:
    """Parse every record; send good rows to the staging tables and bad ones to ``rejects``.

    A platform row may stand for several records (one per line item), all with its line
    number: the row is read, and taken or rejected, as a whole.
    """
    batches: list[list[tuple]] = [[] for _ in inserts]
    bad: list[tuple[int, str]] = []

    def flush() -> None:
        for insert, batch in zip(inserts, batches, strict=True):
            if batch:
                store.conn.executemany(insert, batch)
                batch.clear()
        if bad:
            rejects.add_many(bad)
            bad.clear()

    pending = 0
    for line, records in groupby(source, key=lambda record: record.line):
        result.rows_read += 1
        staged = []
        try:
            for record in records:
                staged.append(to_rows(_parse(plan, record)))
        except BadValue as error:
            bad.append((line, error.reason))
            continue
        for rows in staged:
            for target, row in enumerate(rows):
                if row is not None:
                    batches[target].append((line, *row))
        pending += 1
        if pending >= BATCH_ROWS:
            flush()
            pending = 0
    flush()


def _merge(store: Store, table: str, key: str, columns: tuple[str, ...]) -> None:
    """Write the staged ``final`` rows that differ from the stored ones; record each verdict."""
    same = " AND ".join(f"stored.{c} IS final.{c}" for c in columns)
    store.execute(
        f"""
        CREATE TEMP TABLE verdicts AS
        SELECT final.{key} AS key,
            CASE WHEN stored.{key} IS NULL THEN {INSERTED}
                WHEN {same} THEN {UNCHANGED} ELSE {UPDATED} END AS verdict
        FROM final LEFT JOIN main.{table} AS stored ON stored.{key} = final.{key}
        """
    )
    store.execute("CREATE UNIQUE INDEX temp.verdicts_key ON verdicts(key)")
    names = ", ".join(columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns)
    store.execute(
        f"""
        INSERT INTO main.{table} ({key}, {names})
        SELECT {key}, {names} FROM final
        WHERE {key} IN (SELECT key FROM verdicts WHERE verdict != {UNCHANGED})
        ON CONFLICT ({key}) DO UPDATE SET {updates}
        """
    )


def _count(store: Store, stage: str, key: str, verdicts: str) -> tuple[int, int, int]:
    """Rows per verdict: every row of a key shares the verdict of that key's final row."""
    counts = [0, 0, 0]
    for verdict, rows in store.execute(
        f"""SELECT v.verdict, count(DISTINCT s.line) FROM {stage} s
        JOIN {verdicts} v ON v.key = s.{key} GROUP BY v.verdict"""
    ):
        counts[verdict] = rows
    return counts[INSERTED], counts[UPDATED], counts[UNCHANGED]


def _refresh_product_collections(store: Store) -> None:
    changed = f"SELECT key FROM verdicts WHERE verdict != {UNCHANGED}"
    store.execute(f"DELETE FROM product_collections WHERE record_key IN ({changed})")
    store.execute(
        f"""
        INSERT OR IGNORE INTO product_collections (record_key, collection)
        SELECT final.record_key, each.value FROM final, json_each(final.collections) AS each
        WHERE final.record_key IN ({changed})
        """
    )


_ITEM_COLUMNS = kinds.ITEMS.stored


def _create_stage_items(store: Store) -> str:
    store.execute(
        "CREATE TEMP TABLE stage_items (line INTEGER NOT NULL, order_id, "
        + ", ".join(_ITEM_COLUMNS)
        + ")"
    )
    return f"INSERT INTO temp.stage_items VALUES ({', '.join('?' * (len(_ITEM_COLUMNS) + 2))})"


def _stage_items_file(store, plan, source, rejects, result) -> None:
    insert = _create_stage_items(store)
    _stream(store, plan, source, rejects, result, lambda row: [kinds.item_row(row)], [insert])
    store.execute("CREATE INDEX temp.stage_items_order ON stage_items(order_id, line)")


def _merge_items(store: Store) -> None:
    """Replace each staged order's line items as a whole; record a verdict per order."""
    names = ", ".join(_ITEM_COLUMNS)
    store.execute(
        f"""
        CREATE TEMP TABLE new_items AS
        SELECT order_id, row_number() OVER (PARTITION BY order_id ORDER BY line) AS line_no,
            {names}
        FROM stage_items
        """
    )
    store.execute("CREATE UNIQUE INDEX temp.new_items_key ON new_items(order_id, line_no)")
    same = " AND ".join(f"stored.{c} IS new.{c}" for c in _ITEM_COLUMNS)
    store.execute(
        f"""
        CREATE TEMP TABLE item_verdicts AS
        SELECT orders.order_id AS key,
            CASE
                WHEN stored_lines = 0 THEN {INSERTED}
                WHEN stored_lines = new_lines AND NOT EXISTS (
                    SELECT 1 FROM new_items new WHERE new.order_id = orders.order_id
                    AND NOT EXISTS (
                        SELECT 1 FROM main.items stored
                        WHERE stored.order_id = new.order_id AND stored.line_no = new.line_no
                        AND {same}
                    )
                ) THEN {UNCHANGED}
                ELSE {UPDATED}
            END AS verdict
        FROM (
            SELECT order_id, count(*) AS new_lines,
                (SELECT count(*) FROM main.items stored WHERE stored.order_id = new.order_id)
                    AS stored_lines
            FROM new_items new GROUP BY order_id
        ) AS orders
        """
    )
    store.execute("CREATE UNIQUE INDEX temp.item_verdicts_key ON item_verdicts(key)")
    changed = f"SELECT key FROM item_verdicts WHERE verdict != {UNCHANGED}"
    store.execute(f"DELETE FROM main.items WHERE order_id IN ({changed})")
    store.execute(
        f"""
        INSERT INTO main.items (order_id, line_no, {names})
        SELECT order_id, line_no, {names} FROM new_items WHERE order_id IN ({changed})
        """
    )


# The order-level columns of the line-item form (all but ``counted``, derived from status).
_HEAD_COLUMNS = kinds.ORDERS.stored[:-1]


def _line_item_rows(row: dict) -> list[tuple | None]:
    """One row of the line-item form: its order fields, and its line item if it has one."""
    if not row.get("order_id"):
        raise BadValue("order_id is empty")
    head = kinds.order_head(row)
    if row.get("product_id") or row.get("sku") or row.get("title"):
        return [head, kinds.item_row(row)]
    if any(row.get(c) is not None for c in ("collection", "quantity", "price", "vendor")):
        raise BadValue("the line item has no product_id, sku or title")
    return [head, None]


def _load_line_item_orders(store, plan, source, rejects, result) -> tuple[int, int, int]:
    """Orders given one line item per row; order fields come from the order's first rows."""
    store.execute(
        "CREATE TEMP TABLE stage (line INTEGER NOT NULL, order_id, "
        + ", ".join(_HEAD_COLUMNS)
        + ")"
    )
    inserts = [
        f"INSERT INTO temp.stage VALUES ({', '.join('?' * (len(_HEAD_COLUMNS) + 2))})",
        _create_stage_items(store),
    ]
    _stream(store, plan, source, rejects, result, _line_item_rows, inserts)
    store.execute("CREATE INDEX temp.stage_order ON stage(order_id, line)")
    store.execute("CREATE INDEX temp.stage_items_order ON stage_items(order_id, line)")

    # Each order field is taken from the first row of the order that fills it.
    firsts = ",\n".join(
        f"""(SELECT s.{c} FROM stage s WHERE s.order_id = heads.order_id AND s.{c} IS NOT NULL
            ORDER BY s.line LIMIT 1) AS {c}"""
        for c in _HEAD_COLUMNS
    )
    store.execute(
        f"""
        CREATE TEMP TABLE order_heads AS
        SELECT order_id, min(line) AS line, {firsts}
        FROM stage AS heads GROUP BY order_id
        """
    )
    store.execute(
        """
        CREATE TEMP TABLE late_rejects AS
        SELECT order_id, 'order ' || order_id || ' has no created_at on any of its rows' AS reason
        FROM order_heads WHERE created_at IS NULL
        """
    )
    if store.scalar("SELECT count(*) FROM late_rejects"):
        cursor = store.execute(
            "SELECT s.line, r.reason FROM stage s JOIN late_rejects r USING (order_id)"
        )
        while batch := cursor.fetchmany(BATCH_ROWS):
            rejects.add_many(batch)
        for table in ("stage", "stage_items", "order_heads"):
            store.execute(
                f"DELETE FROM {table} WHERE order_id IN (SELECT order_id FROM late_rejects)"
            )
    # Where no row gives a total, the order's total is the sum of its lines.
    store.execute(
        """
        UPDATE order_heads SET total = (
            SELECT coalesce(sum(i.quantity * coalesce(i.price, 0)), 0) FROM stage_items i
            WHERE i.order_id = order_heads.order_id
        ) WHERE total IS NULL
        """
    )
    uncounted = sorted(values.UNCOUNTED_STATUSES)
    store.execute(
        f"""
        CREATE TEMP TABLE final AS
        SELECT line, order_id, {", ".join(_HEAD_COLUMNS)},
            coalesce(status NOT IN ({", ".join("?" * len(uncounted))}), 1) AS counted
        FROM order_heads
        """,
        uncounted,
    )
    _merge(store, "orders", "order_id", kinds.ORDERS.stored)
    _merge_items(store)
    result.anonymous = _anonymous(store)
    result.line_items = store.scalar("SELECT count(*) FROM stage_items")
    orders = [0, 0, 0]
    for verdict, count in store.execute(
        f"""
        SELECT CASE
                WHEN v.verdict = {UNCHANGED} AND coalesce(iv.verdict, {UNCHANGED}) != {UNCHANGED}
                    THEN {UPDATED}
                ELSE v.verdict
            END, count(*)
        FROM verdicts v LEFT JOIN item_verdicts iv ON iv.key = v.key GROUP BY 1
        """
    ):
        orders[verdict] = count
    result.orders = (orders[INSERTED], orders[UPDATED], orders[UNCHANGED])
    counts = [0, 0, 0]
    for verdict, rows in store.execute(
        f"""
        SELECT CASE
                WHEN v.verdict = {INSERTED} THEN {INSERTED}
                WHEN v.verdict = {UNCHANGED} AND coalesce(iv.verdict, {UNCHANGED}) = {UNCHANGED}
                    THEN {UNCHANGED}
                ELSE {UPDATED}
            END AS verdict, count(DISTINCT s.line)
        FROM stage s JOIN verdicts v ON v.key = s.order_id
        LEFT JOIN item_verdicts iv ON iv.key = s.order_id
        GROUP BY 1
        """
    ):
        counts[verdict] = rows
    return counts[INSERTED], counts[UPDATED], counts[UNCHANGED]


def _drop_temp_tables(store: Store) -> None:
    for name in _TEMP_TABLES:
        store.execute(f"DROP TABLE IF EXISTS temp.{name}")


def _log_import(store: Store, result: ImportResult, dialect: str) -> None:
    store.execute(
        """INSERT INTO imports (kind, file, finished_at, rows_read, inserted, updated, unchanged,
        rejected, dialect, anonymous_orders) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            result.kind,
            str(result.path.resolve()),
            format_timestamp(datetime.now(UTC).replace(tzinfo=None, microsecond=0)),
            result.rows_read,
            result.inserted,
            result.updated,
            result.unchanged,
            result.rejected,
            dialect,
            result.anonymous,
        ),
    )


def _write_rejects(path: Path, options: ImportOptions, rejects: RejectLog, out: RejectsFile):
    """Copy the rejected rows' original cells, read again from the file, into --rejects."""
    pending = rejects.in_line_order()
    current = next(pending, None)
    with CsvFile(path, encoding=options.encoding, delimiter=options.delimiter) as source:
        header = [name.strip() for name in source.header]
        for record in source.records():
            while current is not None and current.line < record.line:
                current = next(pending, None)
            if current is None:
                break
            while current is not None and current.line == record.line:
                out.write(str(path), header, record.fields, current)
                current = next(pending, None)

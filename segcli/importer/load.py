"""Importing one CSV file: read, parse, load, merge and resolve people, in one transaction.

Records are parsed a batch at a time, column by column (batches.py), and written with
multi-row INSERT statements (sinks.py). The first file of a kind goes straight into its
empty table, whose indexes are built once afterwards. Any later file is staged in
temporary tables and merged by set-based SQL: the last row per key wins, each key is
classified as inserted, updated or unchanged against what is stored, and only changed
keys are written. Then the people the file touched are derived again (identity.py). A
file is committed whole or not at all.
"""

from __future__ import annotations

import os
import shlex
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from segcli.errors import BadValue, ImportRefused
from segcli.importer import dialects, headers, kinds, values
from segcli.importer.batches import BATCH_ROWS, Parsed, parse_batch, record_chunks
from segcli.importer.currencies import Conversion, Rates
from segcli.importer.dates import (
    DAY_FIRST,
    DateReader,
    collect_evidence,
    describe,
    format_timestamp,
)
from segcli.importer.identity import resolve_touched, start_touching, touch
from segcli.importer.kinds import KINDS, Kind, known_columns
from segcli.importer.reader import CsvFile
from segcli.importer.rejects import Reject, RejectLog, RejectsFile
from segcli.importer.sinks import Sink, StageSink
from segcli.store.db import Store
from segcli.store.settings import keep_store_currency, store_currency

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
    # None: comma, or the one other separator the header shows (see file_delimiter).
    delimiter: str | None = None
    # Lower-cased source column → native column.
    mapping: dict[str, str] = field(default_factory=dict)
    dry_run: bool = False
    strict: bool = False
    # The file's platform (dialects.DIALECTS), and its dates' day/month order or format.
    dialect: str = dialects.NATIVE
    date_order: str | None = None
    date_format: str | None = None
    # The store's currency as given (--currency), and rates for orders in others.
    currency: str | None = None
    rates: Rates = field(default_factory=Rates)
    # Unknown columns that look like misspelt known ones are kept (customers) or ignored
    # instead of refusing the file.
    keep_unknown: bool = False


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
    # The store's currency (orders files), and whether it takes it from this file (or
    # --currency) because it had none.
    currency: str | None = None
    new_currency: bool = False
    # Orders converted into the store's currency, by their own currency.
    converted: dict[str, int] = field(default_factory=dict)
    # For orders: whether the file has a column that names the customer at all.
    customer_column: bool | None = None
    # How the separator was found when it was not given ("read as ;-separated ...").
    delimiter_note: str | None = None


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


# Separators a header may show when it was not read as comma-separated (tab: TSV).
OTHER_DELIMITERS = (";", "\t", "|")


class MissingColumns(ImportRefused):
    """A header lacks a column its kind needs."""


def delimiter_words(delimiter: str) -> str:
    return "tab" if delimiter == "\t" else delimiter


def _delimiter_option(delimiter: str) -> str:
    return "--delimiter tab" if delimiter == "\t" else f"--delimiter {shlex.quote(delimiter)}"


def _header(path: Path, options: ImportOptions, delimiter: str) -> list[str]:
    with CsvFile(path, encoding=options.encoding, delimiter=delimiter) as source:
        return source.header


def file_delimiter(
    path: Path, options: ImportOptions, kind: Kind | None = None
) -> tuple[str, str | None]:
    """The file's separator, and a note when it was detected rather than given.

    Without --delimiter a header read with commas that is one column and splits into
    several at exactly one of ``;``, tab and ``|`` is read with that one. A header that
    splits at more than one is refused, naming the --delimiter options (the one that gives
    ``kind`` its columns first).
    """
    if options.delimiter is not None:
        return options.delimiter, None
    if len(_header(path, options, ",")) != 1:
        return ",", None
    splits = [d for d in OTHER_DELIMITERS if len(_header(path, options, d)) > 1]
    if not splits:
        return ",", None
    if len(splits) == 1:
        [delimiter] = splits
        words = delimiter_words(delimiter)
        return delimiter, f"read as {words}-separated (detected from its header)"
    fitting = [] if kind is None else _fitting_delimiters(kind, path, options, splits)
    choices = [*fitting, *(d for d in splits if d not in fitting)]
    hint = "give the separator with " + " or ".join(_delimiter_option(d) for d in choices)
    if fitting:
        hint = f"{_delimiter_option(fitting[0])} gives it the columns of {kind.name}; {hint}"
    raise ImportRefused(
        path,
        "its header line splits into columns at "
        + " and at ".join(repr(delimiter_words(d)) for d in splits)
        + ": segcli cannot tell which separates its columns",
        hint=hint,
    )


def _fitting_delimiters(
    kind: Kind, path: Path, options: ImportOptions, candidates: Iterable[str]
) -> list[str]:
    """The separators with which the file's header has the columns ``kind`` needs."""
    fitting = []
    for delimiter in candidates:
        try:
            header = _header(path, options, delimiter)
        except ImportRefused:
            continue
        if options.dialect != dialects.NATIVE:
            layout = dialects.LAYOUTS.get((options.dialect, kind.name))
            names = {name.strip().lower() for name in header}
            fits = layout is not None and all(
                any(c in names for c in group) for group in layout.required
            )
        else:
            names = {options.mapping.get(n, n) for n in (h.strip().lower() for h in header)}
            fits = not kinds.missing_columns(kind, names)
        if fits:
            fitting.append(delimiter)
    return fitting


def _delimiter_hint(kind: Kind, path: Path, options: ImportOptions) -> str | None:
    """For a header that lacks needed columns: the --delimiter with which it has them."""
    others = [d for d in (",", *OTHER_DELIMITERS) if d != options.delimiter]
    fitting = _fitting_delimiters(kind, path, options, others)
    if not fitting:
        return None
    return f"read with {_delimiter_option(fitting[0])}, its header has the columns {kind.name} need"


def header_of(path: Path, options: ImportOptions) -> list[str]:
    """The trimmed header of a file (used to lay out the --rejects file)."""
    delimiter, _ = file_delimiter(path, options)
    return [name.strip() for name in _header(path, options, delimiter)]


def mapped_names(header: list[str], mapping: dict[str, str], path: Path) -> list[str]:
    """The header's names (trimmed, lower case) after --map; refuses a mapping that does
    not fit the header, and a name that appears twice."""
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
    return names


def plan_columns(
    kind: Kind, header: list[str], mapping: dict[str, str], path: Path
) -> tuple[ColumnPlan, list[str], list[str]]:
    """Match a header to the kind's columns; refuse the file when a required one is missing.

    Returns the plan, the columns nothing reads, and warnings.
    """
    names = mapped_names(header, mapping, path)
    seen = {name: position for position, name in enumerate(names)}
    line_items = kinds.has_line_items(kind, seen)
    columns = known_columns(kind) if line_items else dict(kind.columns)
    missing = kinds.missing_columns(kind, seen)
    if missing:
        raise MissingColumns(
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


def import_file(
    store: Store,
    kind_name: str,
    path: Path,
    options: ImportOptions,
    *,
    rejects_file: RejectsFile | None = None,
    on_start: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
    on_phase: Callable[[str], None] | None = None,
) -> ImportResult:
    """Import one file of ``kind_name`` into ``store``; see SPEC 2.1 for the rules.

    ``on_start`` gets the file's size and ``on_progress`` the bytes read so far;
    ``on_phase`` names each step after the reading ("merging", "working out people",
    "building indexes", "saving"), which can take as long as the reading itself.
    """
    kind = KINDS[kind_name]
    delimiter, note = file_delimiter(path, options, kind)
    # Everything that reads the file again (the date scan, --rejects) reads it this way.
    options = replace(options, delimiter=delimiter)
    steps = _Steps(on_start, on_progress, on_phase)
    try:
        result = _import(store, kind, path, options, rejects_file, steps, direct=True)
    except _Scattered:
        # A line item's order came back after its other lines: number them in SQL.
        result = _import(store, kind, path, options, rejects_file, steps, direct=False)
    result.delimiter_note = note
    return result


@dataclass(frozen=True)
class _Steps:
    """The callbacks that show an import's progress."""

    on_start: Callable[[int], None] | None = None
    on_progress: Callable[[int], None] | None = None
    on_phase: Callable[[str], None] | None = None

    def phase(self, name: str) -> None:
        if self.on_phase is not None:
            self.on_phase(name)


def _import(
    store: Store,
    kind: Kind,
    path: Path,
    options: ImportOptions,
    rejects_file: RejectsFile | None,
    steps: _Steps,
    *,
    direct: bool,
) -> ImportResult:
    result = ImportResult(kind=kind.name, path=path, dry_run=options.dry_run)
    rejects = RejectLog()
    try:
        with CsvFile(
            path,
            encoding=options.encoding,
            delimiter=options.delimiter,
            on_progress=steps.on_progress,
        ) as source:
            translation = _translation(kind, path, options, source.header)
            plan = _plan(kind, path, options, source.header, translation, result)
            plan = plan.reading_dates(_date_reader(kind, path, options, plan, result))
            conversion = _conversion(store, kind, path, options)
            if translation is None:
                chunks = ((lines, rows, None) for lines, rows in source.chunks(BATCH_ROWS))
            else:
                chunks = record_chunks(translation.records(source.records()))
            if steps.on_start is not None:
                steps.on_start(source.size)
            feed = _Feed(plan, chunks, rejects, result, grouped=translation is not None)
            try:
                with store.transaction():
                    _drop_temp_tables(store)
                    start_touching(store)
                    counts, deferred = _load(
                        store, kind, plan, feed, result, conversion, steps, direct=direct
                    )
                    result.inserted, result.updated, result.unchanged = counts
                    _settle_currency(store, kind, path, conversion)
                    _note_currency(store, conversion, result)
                    result.rejected = rejects.count
                    if translation is not None:
                        result.warnings += [
                            f"{message} ({_rows(count)})"
                            for message, count in translation.notes.values()
                        ]
                    if options.strict and rejects.count:
                        result.refused = (
                            f"{_plural(rejects.count, 'row')} rejected and --strict is set: "
                            "nothing from this file was written"
                        )
                        raise _Rollback
                    if options.dry_run:
                        raise _Rollback
                    if (result.inserted or result.updated) and kind.name in kinds.PERSON_KINDS:
                        steps.phase("working out people")

                        def build_indexes() -> None:
                            if deferred:
                                steps.phase("building indexes")
                                _create_indexes(store, deferred)
                                steps.phase("working out people")

                        resolve_touched(store, build_indexes)
                    elif deferred:
                        steps.phase("building indexes")
                        _create_indexes(store, deferred)
                    # The temporary tables are left for the connection's end (or the next
                    # file) to drop: dropping them page by page here took up to 0.4 s.
                    _log_import(store, result, options.dialect)
                    steps.phase("saving")
                result.written = True
            except _Rollback:
                pass
        result.rejects = rejects.first(SHOWN_REJECTS)
        if rejects_file is not None and rejects.count:
            _write_rejects(path, options, rejects, rejects_file)
    finally:
        rejects.close()
    return result


def _note_currency(store: Store, conversion: Conversion, result: ImportResult) -> None:
    """Keep a currency the store takes from this file, and say what became of currencies."""
    result.converted = dict(conversion.converted)
    result.currency = conversion.store_currency
    if conversion.adopted is None:
        return
    result.new_currency = True
    keep_store_currency(store, conversion.adopted)
    unconverted = store.scalar(
        """SELECT count(*) FROM orders WHERE currency IS NOT NULL AND currency != ?
        AND original_total IS NULL""",
        (conversion.adopted,),
    )
    if unconverted:
        result.warnings.append(
            f"{_plural(unconverted, 'order')} stored before {'is' if unconverted == 1 else 'are'} "
            f"in another currency than {conversion.adopted} and not converted (imported "
            "before segcli converted currencies): import their files again with --rate or "
            "--rates"
        )


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def _rows(count: int) -> str:
    return "1 row" if count == 1 else f"{count:,} rows"


def _translation(kind: Kind, path: Path, options: ImportOptions, header: list[str]):
    """The platform layout's reading of the file, or None for a native file."""
    headers.check_layout(path, kind, header, options.dialect, mapped=bool(options.mapping))
    if options.dialect == dialects.NATIVE:
        return None
    layout = dialects.LAYOUTS.get((options.dialect, kind.name))
    if layout is None:
        raise ImportRefused(
            path,
            f"--from {options.dialect} reads {dialects.kinds_in_words(options.dialect)} "
            f"exports, not {kind.name}",
            hint=f"import {kind.name} files in segcli's own columns (--from native, with --map)",
        )
    try:
        return dialects.Translation(layout, path, header)
    except ImportRefused as error:
        error.hint = _delimiter_hint(kind, path, options) or error.hint
        raise


# The native columns that name an order's customer.
_CUSTOMER_COLUMNS = ("customer_id", "email")


def _plan(kind, path, options, header, translation, result: ImportResult) -> ColumnPlan:
    """Plan the file's columns, and note what it was read as and what nothing reads."""
    result.columns = len(header)
    if translation is not None:
        plan, _, result.warnings = plan_columns(kind, translation.native_header, {}, path)
        result.read_as = translation.layout.title
        result.ignored = translation.ignored()
        plan = plan.labelled(translation.labels())
        _note_customer_column(kind, result, set(translation.labels()))
        return plan
    result.read_as = f"native {kind.name} file" + (" with --map" if options.mapping else "")
    names = mapped_names(header, options.mapping, path)
    headers.check_kind(path, kind, names)
    if not options.keep_unknown:
        misspelt = headers.misspelt_columns(kind, header, names, options.mapping)
        if misspelt:
            raise headers.misspelt_refusal(path, kind, misspelt)
    looks_like = dialects.detect(header)
    try:
        plan, result.ignored, result.warnings = plan_columns(kind, header, options.mapping, path)
    except MissingColumns as error:
        found = _missing_hint(kind, path, options, names, looks_like)
        if found is not None:
            error.hint = f"{found}\n  {error.hint}"
        raise
    if looks_like is not None:
        result.warnings.append(
            f"this looks like a {looks_like.title}; if it is, import it with "
            f"--from {looks_like.dialect}"
        )
    _note_customer_column(kind, result, {name for _, name, _ in plan.parsers})
    return plan


def _missing_hint(kind, path, options, names, looks_like) -> str | None:
    """What the file that lacks needed columns seems to be instead, if anything."""
    if looks_like is not None:
        return f"this looks like a {looks_like.title}: import it with --from {looks_like.dialect}"
    delimiter = _delimiter_hint(kind, path, options)
    if delimiter is not None:
        return delimiter
    other = headers.likely_kind(kind, names)
    if other is not None:
        how = headers.how_to_import(path, kind.name, other.name, dialects.NATIVE)
        return f"it has the columns of {headers.article(other.name)} file: {how}"
    return None


def _note_customer_column(kind: Kind, result: ImportResult, read: set[str]) -> None:
    """Orders from a file without any customer column belong to no one: say so plainly."""
    if kind is not kinds.ORDERS:
        return
    result.customer_column = any(column in read for column in _CUSTOMER_COLUMNS)
    if not result.customer_column:
        result.warnings.append(
            "the file has no customer column (no email or customer id): every order is "
            "anonymous, so no segment will include them"
        )


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
    evidence = collect_evidence(_cells(kind, path, options, positions))
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


def _cells(kind, path, options, positions: list[int]) -> Iterator[tuple[int, str]]:
    """The file's cells at ``positions`` (of native columns), read again from the start,
    each with its line."""
    with CsvFile(path, encoding=options.encoding, delimiter=options.delimiter) as scan:
        records = scan.records()
        translation = _translation(kind, path, options, scan.header)
        if translation is not None:
            records = translation.records(records)
        for record in records:
            for position in positions:
                if position < len(record.fields):
                    yield record.line, record.fields[position]


def _conversion(store: Store, kind: Kind, path: Path, options: ImportOptions) -> Conversion:
    """The store's currency for this file's orders, and the merchant's rates.

    The store's currency is the one stored, else ``--currency``; else it is settled once
    the file is loaded (``_settle_currency``).
    """
    if kind is not kinds.ORDERS:
        return Conversion(None)
    stored = store_currency(store)
    given = options.currency
    if stored is not None and given is not None and given != stored:
        raise ImportRefused(
            path,
            f"--currency {given}: the store's currency is {stored}, and a store has one",
            hint=f"orders in {given} are converted into {stored} with --rate {given}=RATE "
            "or --rates FILE",
        )
    currency = stored or given
    return Conversion(currency, options.rates, adopted=currency if currency != stored else None)


def _settle_currency(store: Store, kind: Kind, path: Path, conversion: Conversion) -> None:
    """For a store with no currency yet, the one currency this file's orders name becomes
    the store's; orders in several refuse the file (segcli never picks one). The file's
    orders are in temp.final when staged, else the table was empty before it."""
    if kind is not kinds.ORDERS or conversion.store_currency is not None:
        return
    staged = store.scalar("SELECT count(*) FROM temp.sqlite_master WHERE name = 'final'")
    table = "temp.final" if staged else "main.orders"
    found = store.execute(
        f"SELECT currency, count(*) FROM {table} WHERE currency IS NOT NULL "
        "GROUP BY currency ORDER BY count(*) DESC, currency"
    ).fetchall()
    if len(found) > 1:
        shown = ", ".join(f"{code} ({count:,})" for code, count in found)
        raise ImportRefused(
            path,
            f"its orders are in {len(found)} currencies ({shown}) and the store has no "
            "currency yet: segcli adds amounts in one currency only",
            hint=f"give the store's currency and rates for the others, e.g. --currency "
            f"{found[0][0]} --rate {found[1][0]}=RATE (or --rates FILE)",
        )
    if found:
        conversion.store_currency = conversion.adopted = found[0][0]


def _order_words(order: str) -> str:
    return "day first" if order == DAY_FIRST else "month first"


def _load(
    store: Store,
    kind: Kind,
    plan: ColumnPlan,
    feed: _Feed,
    result,
    conversion: Conversion,
    steps: _Steps,
    *,
    direct: bool,
) -> tuple[tuple[int, int, int], list[str]]:
    """Load the file; returns the rows per verdict and the indexes still to build (those
    on person_id, built once people are linked)."""
    if kind is kinds.ORDERS and plan.line_items:
        return _load_line_item_orders(store, feed, result, conversion, steps), []
    if direct and kind is not kinds.PRODUCTS and _is_empty(store, kind.table):
        return _load_into_empty(store, kind, feed, result, conversion, steps)
    if kind is kinds.ITEMS:
        _stage_items_file(store, feed, numbered=direct)
        steps.phase("merging")
        _merge_items(store)
        return _item_counts(store), []
    store.execute(
        f"CREATE TEMP TABLE stage (line INTEGER NOT NULL, {kind.key_column}, "
        + ", ".join(kind.stored)
        + ")"
    )
    stage = StageSink(store.conn, "INSERT INTO temp.stage", 2 + len(kind.stored))
    feed.run(_kind_rows(kind, conversion), [stage.add_lined])
    stage.flush()
    steps.phase("merging")
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
        result.anonymous = _anonymous(store, "temp.final")
    return _count(store, "stage", kind.key_column, "verdicts"), []


def _is_empty(store: Store, table: str) -> bool:
    return store.scalar(f"SELECT NOT EXISTS (SELECT 1 FROM main.{table})") == 1


def _load_into_empty(
    store: Store, kind: Kind, feed: _Feed, result, conversion: Conversion, steps: _Steps
) -> tuple[tuple[int, int, int], list[str]]:
    """The first file of a kind goes straight into its table, and its indexes are built after.

    With nothing stored every row is inserted: there is nothing to compare against, so no
    staging table. Within the file the last row of a key wins (ON CONFLICT). Sorting once
    to build an index costs far less than keeping it in order row by row.
    """
    indexes = _set_indexes_aside(store, kind.table)
    names = ", ".join(kind.stored)
    if kind is kinds.ITEMS:
        sink = Sink(
            store.conn, f"INSERT INTO main.items (order_id, line_no, {names})", 2 + len(kind.stored)
        )
        numbered = _LineNumbers()
        try:
            feed.run(
                _kind_rows(kind),
                [lambda _, c: sink.add(list(zip(c[0], numbered(c[0]), *c[1:], strict=True)))],
            )
            sink.flush()
        except sqlite3.IntegrityError:
            raise _Scattered from None
    else:
        key = kind.key_column
        updates = ", ".join(f"{c} = excluded.{c}" for c in kind.stored)
        sink = Sink(
            store.conn,
            f"INSERT INTO main.{kind.table} ({key}, {names})",
            1 + len(kind.stored),
            f"ON CONFLICT ({key}) DO UPDATE SET {updates}",
        )
        feed.run(_kind_rows(kind, conversion), [lambda _, c: sink.add(list(zip(*c, strict=True)))])
        sink.flush()
        result.replaced = sink.rows - store.scalar(f"SELECT count(*) FROM main.{kind.table}")
    deferred = [sql for sql in indexes if "person_id" in sql]
    steps.phase("building indexes")
    _create_indexes(store, [sql for sql in indexes if sql not in deferred])
    if kind.name in kinds.PERSON_KINDS:
        touch(store, kind.table)
    if kind is kinds.ORDERS:
        result.anonymous = _anonymous(store, "main.orders")
    return (sink.rows, 0, 0), deferred


def _set_indexes_aside(store: Store, table: str) -> list[str]:
    """Drop a table's own indexes (not its key's); returns the SQL that creates them again."""
    found = store.execute(
        "SELECT name, sql FROM main.sqlite_master WHERE type = 'index' AND tbl_name = ? "
        "AND sql IS NOT NULL ORDER BY name",
        (table,),
    ).fetchall()
    for name, _ in found:
        store.execute(f'DROP INDEX main."{name}"')
    return [sql for _, sql in found]


def _create_indexes(store: Store, statements: list[str]) -> None:
    """Build indexes with a small page cache and a second sorting thread: SQLite's sorter
    sorts in runs the size of the cache, and small runs merged by two threads were about
    twice as fast as one large run (items_product_id at 630,000 lines: 1.0 s to 0.45 s)."""
    cache = store.scalar("PRAGMA cache_size")
    store.execute("PRAGMA cache_size = -2000")
    store.execute(f"PRAGMA threads = {min(os.cpu_count() or 1, 4)}")
    try:
        for sql in statements:
            store.execute(sql)
    finally:
        store.execute("PRAGMA threads = 0")
        store.execute(f"PRAGMA cache_size = {int(cache)}")


class _LineNumbers:
    """Numbers each order's line items 1, 2, 3... in the order the file gives them.

    An order's lines normally come together; the counts of recent orders are remembered, so
    that lines a little apart still number on. An order whose lines come back after that
    would get a number twice: the table's key refuses it, and the file is staged instead.
    """

    _REMEMBERED = 10_000

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    def __call__(self, orders: list[str]) -> list[int]:
        counts = self._counts
        numbers = []
        for order in orders:
            number = counts.get(order, 0) + 1
            counts[order] = number
            numbers.append(number)
        if len(counts) > 2 * self._REMEMBERED:
            self._counts = dict(list(counts.items())[-self._REMEMBERED :])
        return numbers


class _Scattered(Exception):
    """An order's line items are too far apart in the file to be numbered as they stream."""


def _anonymous(store: Store, table: str) -> int:
    return store.scalar(f"SELECT count(*) FROM {table} WHERE customer_id IS NULL AND email IS NULL")


# Each table's share of a batch: the lines, and the stored values column by column.
Targets = list[tuple[list[int], list]]


def _kind_rows(
    kind: Kind, conversion: Conversion | None = None
) -> Callable[[Parsed], tuple[Targets, list[tuple[int, str]]]]:
    """A batch's stored rows: built column by column, or row by row when a row is bad;
    orders in another currency converted (or rejected) by ``conversion``."""
    fast = kinds.BATCH_BUILDERS[kind.name]
    one = kinds.ROW_BUILDERS[kind.name]

    def build(parsed: Parsed) -> tuple[Targets, list[tuple[int, str]]]:
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

    if kind is not kinds.ORDERS or conversion is None or conversion.store_currency is None:
        return build

    def converted(parsed: Parsed) -> tuple[Targets, list[tuple[int, str]]]:
        [(lines, columns)], bad = build(parsed)
        return _converted_orders(lines, columns, bad, conversion)

    return converted


# Where each stored column of an order is in a batch's columns (the key comes first).
_ORDER_AT = {name: at for at, name in enumerate(("order_id", *kinds.ORDERS.stored))}


def _converted_orders(lines: list[int], columns: list, bad: list, conversion: Conversion):
    """A batch of orders with those in another currency converted; those without a rate
    rejected."""
    at = _ORDER_AT
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


class _Feed:
    """A file's records, parsed a batch at a time and handed to the tables they go to.

    A platform row may stand for several records (one per line item), all with its line
    number: the row is read, and taken or rejected, as a whole.
    """

    def __init__(self, plan: ColumnPlan, chunks, rejects: RejectLog, result, *, grouped: bool):
        self.plan = plan
        self.chunks = chunks
        self.rejects = rejects
        self.result = result
        self.grouped = grouped

    def run(self, build, consumers) -> None:
        for chunk in self.chunks:
            parsed = parse_batch(self.plan, chunk)
            targets, bad = build(parsed)
            bad = parsed.rejects + bad
            if self.grouped:
                self.result.rows_read += len(set(chunk[0]))
                if bad:
                    targets, bad = _without_lines(targets, bad)
            else:
                self.result.rows_read += len(chunk[0])
            for consume, (lines, columns) in zip(consumers, targets, strict=True):
                if lines:
                    consume(lines, columns)
            if bad:
                self.rejects.add_many(bad)


def _without_lines(targets: Targets, bad: list[tuple[int, str]]):
    """Leave out every record of a line with a bad record; one reject per line."""
    bad = list({line: (line, reason) for line, reason in reversed(bad)}.values())
    gone = {line for line, _ in bad}
    kept = []
    for lines, columns in targets:
        keep = [i for i, line in enumerate(lines) if line not in gone]
        kept.append(([lines[i] for i in keep], [[column[i] for i in keep] for column in columns]))
    return kept, bad


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
    if table in _PERSON_TABLES:
        # The people of the changed rows, before and after, are derived again.
        changed = f"{key} IN (SELECT key FROM temp.verdicts WHERE verdict != {UNCHANGED})"
        touch(store, table, changed)
        touch(store, table, changed, source="temp.final")
    if table == "orders":
        # An order that loses its customer belongs to no one (no later step relinks it).
        updates += (
            ", person_id = CASE WHEN excluded.customer_id IS NULL AND excluded.email IS NULL "
            "THEN NULL ELSE person_id END"
        )
    store.execute(
        f"""
        INSERT INTO main.{table} ({key}, {names})
        SELECT {key}, {names} FROM final
        WHERE {key} IN (SELECT key FROM verdicts WHERE verdict != {UNCHANGED})
        ON CONFLICT ({key}) DO UPDATE SET {updates}
        """
    )


_PERSON_TABLES = frozenset(KINDS[name].table for name in kinds.PERSON_KINDS)


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


def _create_stage_items(store: Store) -> StageSink:
    store.execute(
        "CREATE TEMP TABLE stage_items (line INTEGER NOT NULL, order_id, "
        + ", ".join(_ITEM_COLUMNS)
        + ")"
    )
    return StageSink(store.conn, "INSERT INTO temp.stage_items", len(_ITEM_COLUMNS) + 2)


def _create_new_items(store: Store) -> None:
    """The file's line items, numbered within their order, keyed as main.items is."""
    store.execute(
        f"""CREATE TEMP TABLE new_items (order_id, line_no, line, {", ".join(_ITEM_COLUMNS)},
        PRIMARY KEY (order_id, line_no)) WITHOUT ROWID"""
    )


def _stage_items_file(store: Store, feed: _Feed, *, numbered: bool) -> None:
    """Stage an items file; ``numbered``: number lines as they stream (see _LineNumbers)."""
    if not numbered:
        stage = _create_stage_items(store)
        feed.run(_kind_rows(kinds.ITEMS), [stage.add_lined])
        stage.flush()
        _number_staged_items(store)
        return
    _create_new_items(store)
    sink = Sink(store.conn, "INSERT INTO temp.new_items", len(_ITEM_COLUMNS) + 3)
    numbers = _LineNumbers()

    def add(lines: list[int], c: list) -> None:
        sink.add(list(zip(c[0], numbers(c[0]), lines, *c[1:], strict=True)))

    try:
        feed.run(_kind_rows(kinds.ITEMS), [add])
        sink.flush()
    except sqlite3.IntegrityError:
        raise _Scattered from None


def _number_staged_items(store: Store) -> None:
    """Number staged line items within their order, in the order of the file's lines."""
    _create_new_items(store)
    names = ", ".join(_ITEM_COLUMNS)
    store.execute(
        f"""
        INSERT INTO temp.new_items
        SELECT order_id, row_number() OVER (PARTITION BY order_id ORDER BY line), line, {names}
        FROM stage_items
        """
    )


def _merge_items(store: Store) -> None:
    """Replace each staged order's line items as a whole; record a verdict per order."""
    names = ", ".join(_ITEM_COLUMNS)
    same = " AND ".join(f"stored.{c} IS new.{c}" for c in _ITEM_COLUMNS)
    store.execute(
        f"""
        CREATE TEMP TABLE item_verdicts AS
        SELECT order_id AS key, new_lines AS lines,
            CASE
                WHEN stored_lines = 0 THEN {INSERTED}
                WHEN stored_lines = new_lines AND same_lines = new_lines THEN {UNCHANGED}
                ELSE {UPDATED}
            END AS verdict
        FROM (
            SELECT new.order_id, count(*) AS new_lines,
                sum(stored.order_id IS NOT NULL AND {same}) AS same_lines,
                -- An order's lines are numbered 1 to n: the last number is their count.
                (SELECT coalesce(max(line_no), 0) FROM main.items counted
                    WHERE counted.order_id = new.order_id) AS stored_lines
            FROM temp.new_items new
            LEFT JOIN main.items stored
                ON stored.order_id = new.order_id AND stored.line_no = new.line_no
            GROUP BY new.order_id
        )
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


def _item_counts(store: Store) -> tuple[int, int, int]:
    """Rows per verdict of an items file: each line shares its order's verdict."""
    counts = [0, 0, 0]
    for verdict, rows in store.execute(
        "SELECT verdict, sum(lines) FROM item_verdicts GROUP BY verdict"
    ):
        counts[verdict] = rows
    return counts[INSERTED], counts[UPDATED], counts[UNCHANGED]


_HEAD_COLUMNS = kinds.ORDER_HEAD_COLUMNS


def _line_item_rows(parsed: Parsed) -> tuple[Targets, list[tuple[int, str]]]:
    """Rows of the line-item form: each one's order fields, and its line item if it has one."""
    heads: tuple[list, list] = ([], [])
    items: tuple[list, list] = ([], [])
    bad = []
    for line, row in zip(parsed.lines, parsed.rows(), strict=True):
        try:
            if not row.get("order_id"):
                raise BadValue("order_id is empty")
            head = kinds.order_head(row)
            item = None
            if row.get("product_id") or row.get("sku") or row.get("title"):
                item = kinds.item_row(row)
            elif any(row.get(c) is not None for c in ("collection", "quantity", "price", "vendor")):
                raise BadValue("the line item has no product_id, sku or title")
        except BadValue as error:
            bad.append((line, error.reason))
            continue
        heads[0].append(line)
        heads[1].append(head)
        if item is not None:
            items[0].append(line)
            items[1].append(item)
    return [(lines, list(zip(*rows, strict=True))) for lines, rows in (heads, items)], bad


def _convert_order_heads(store: Store, conversion: Conversion) -> None:
    """The line-item form's orders in another currency, converted; those without a rate
    go to the late rejects with all their rows."""
    if conversion.store_currency is None:
        return
    cursor = store.execute(
        """SELECT order_id, total, currency, created_at FROM order_heads
        WHERE currency IS NOT NULL AND currency != ? AND created_at IS NOT NULL""",
        (conversion.store_currency,),
    )
    converted, rejected = [], []
    for order_id, total, currency, created_at in cursor.fetchall():
        try:
            converted.append((*conversion.convert(total, currency, created_at), total, order_id))
        except BadValue as error:
            rejected.append((order_id, error.reason))
    store.conn.executemany(
        "UPDATE order_heads SET total = ?, rate = ?, original_total = ? WHERE order_id = ?",
        converted,
    )
    store.conn.executemany("INSERT INTO late_rejects VALUES (?, ?)", rejected)


def _load_line_item_orders(
    store: Store, feed: _Feed, result, conversion: Conversion, steps: _Steps
) -> tuple[int, int, int]:
    """Orders given one line item per row; order fields come from the order's first rows."""
    store.execute(
        "CREATE TEMP TABLE stage (line INTEGER NOT NULL, order_id, "
        + ", ".join(_HEAD_COLUMNS)
        + ")"
    )
    heads = StageSink(store.conn, "INSERT INTO temp.stage", len(_HEAD_COLUMNS) + 2)
    items = _create_stage_items(store)
    feed.run(_line_item_rows, [heads.add_lined, items.add_lined])
    heads.flush()
    items.flush()
    steps.phase("merging")
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
        SELECT order_id, min(line) AS line, {firsts},
            NULL AS original_total, NULL AS rate
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
    # Where no row gives a total, the order's total is the sum of its lines.
    store.execute(
        """
        UPDATE order_heads SET total = (
            SELECT coalesce(sum(i.quantity * coalesce(i.price, 0)), 0) FROM stage_items i
            WHERE i.order_id = order_heads.order_id
        ) WHERE total IS NULL
        """
    )
    _convert_order_heads(store, conversion)
    if store.scalar("SELECT count(*) FROM late_rejects"):
        cursor = store.execute(
            "SELECT s.line, r.reason FROM stage s JOIN late_rejects r USING (order_id)"
        )
        while batch := cursor.fetchmany(BATCH_ROWS):
            feed.rejects.add_many(batch)
        for table in ("stage", "stage_items", "order_heads"):
            store.execute(
                f"DELETE FROM {table} WHERE order_id IN (SELECT order_id FROM late_rejects)"
            )
    uncounted = sorted(values.UNCOUNTED_STATUSES)
    store.execute(
        f"""
        CREATE TEMP TABLE final AS
        SELECT line, order_id, {", ".join(_HEAD_COLUMNS)},
            coalesce(status NOT IN ({", ".join("?" * len(uncounted))}), 1) AS counted,
            original_total, rate
        FROM order_heads
        """,
        uncounted,
    )
    _merge(store, "orders", "order_id", kinds.ORDERS.stored)
    _number_staged_items(store)
    _merge_items(store)
    result.anonymous = _anonymous(store, "temp.final")
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
        rejected, dialect, anonymous_orders, line_items, customer_column)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
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
            result.line_items,
            result.customer_column,
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

"""Importing one CSV file: read, parse, load, merge and resolve people, in one transaction.

Each step has its module. The file's separator, platform layout, dates and currency are
settled (decisions.py) and its columns planned (plan.py); its records are parsed a batch
at a time (batches.py) and built into its kind's stored rows (feed.py). The first file of
a kind goes straight into its empty table (first_file.py); a later one is staged and
merged (staging.py; line items order by order, items.py); an orders file in the
line-item form brings its line items along (line_item_form.py). Then the people the file
touched are derived again (identity.py). Which of these a kind of file takes is said by
its ``Kind`` (kinds.py). A file is committed whole or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from segcli.importer import decisions, first_file
from segcli.importer.batches import BATCH_ROWS, Chunk, Parsed, record_chunks
from segcli.importer.columnar import parsed_batches
from segcli.importer.currencies import Conversion
from segcli.importer.dates import format_timestamp
from segcli.importer.decisions import file_delimiter
from segcli.importer.feed import Feed
from segcli.importer.identity import resolve_touched, start_touching
from segcli.importer.items import Scattered
from segcli.importer.kinds import KINDS, Kind
from segcli.importer.line_item_form import load_line_item_orders
from segcli.importer.options import ImportOptions, ImportResult
from segcli.importer.plain import PlainFile, Unavailable, plain_file
from segcli.importer.plan import plan_file
from segcli.importer.reader import CsvFile
from segcli.importer.rejects import RejectLog, RejectsFile
from segcli.importer.staging import Counts, drop_temp_tables, loaded_rows
from segcli.output import counted
from segcli.store.db import Store, create_indexes, is_empty, page_cache
from segcli.store.settings import keep_store_currency

SHOWN_REJECTS = 20

# SQLite's page cache while a file is imported, in KiB. A store's own (64 MiB) filled up at
# a million people and not at 100,000, so an import's peak grew with the store. At a
# million people, 16 MiB imported a million orders as fast as 64 (46.0 s against 45.3 s,
# 310 MB against 368) but subscribers, which look people up by email, in 18.7 s against
# 16.3 s (medians of four); 32 MiB took 16.2-16.6 s.
IMPORT_CACHE_KIB = 32 * 1024


class _Rollback(Exception):
    """Ends the transaction without writing (dry run, or --strict with rejects)."""


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
    # A plain file is read by DuckDB (plain.py); if it cannot read it exactly as the csv
    # module does, the file is read again with that.
    plain = plain_file(path, encoding=options.encoding, delimiter=delimiter)
    with page_cache(store, IMPORT_CACHE_KIB):
        try:
            try:
                result = _import(
                    store, kind, path, options, rejects_file, steps, plain, direct=True
                )
            except Unavailable:
                result = _import(store, kind, path, options, rejects_file, steps, None, direct=True)
        except Scattered:
            # A line item's order came back after its other lines: number them in SQL.
            result = _import(store, kind, path, options, rejects_file, steps, None, direct=False)
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
    plain: PlainFile | None,
    *,
    direct: bool,
) -> ImportResult:
    result = ImportResult(kind=kind.name, path=path, dry_run=options.dry_run)
    rejects = RejectLog()
    assert options.delimiter is not None  # decided before the file is read (import_file)
    try:
        with CsvFile(
            path,
            encoding=options.encoding,
            delimiter=options.delimiter,
            on_progress=steps.on_progress,
        ) as source:
            translation = decisions.layout_translation(kind, path, options, source.header)
            plan = plan_file(kind, path, options, source.header, translation, result)
            plan = plan.reading_dates(decisions.date_reader(kind, path, options, plan, result))
            conversion = decisions.currency_conversion(store, kind, path, options)
            chunks: Iterator[Chunk | Parsed]
            if translation is None and plain is not None:
                chunks = parsed_batches(
                    plain,
                    plan,
                    after=source.header_line,
                    size=BATCH_ROWS,
                    on_progress=steps.on_progress,
                    file_size=source.size,
                )
            elif translation is None:
                chunks = ((lines, rows, None) for lines, rows in source.chunks(BATCH_ROWS))
            else:
                chunks = record_chunks(translation.records(source.records()))
            if steps.on_start is not None:
                steps.on_start(source.size)
            feed = Feed(
                kind, plan, chunks, rejects, result, conversion, grouped=translation is not None
            )
            try:
                with store.transaction():
                    drop_temp_tables(store)
                    start_touching(store)
                    counts, deferred = _load(store, feed, steps, direct=direct)
                    result.inserted, result.updated, result.unchanged = counts
                    if kind.keeps_anonymous_rows:
                        result.anonymous = _anonymous(store, loaded_rows(store, kind))
                    decisions.settle_currency(store, kind, path, conversion)
                    _note_currency(store, conversion, result)
                    result.rejected = rejects.count
                    if translation is not None:
                        result.warnings += [
                            f"{message} ({counted(count, 'row')})"
                            for message, count in translation.notes.values()
                        ]
                    if options.strict and rejects.count:
                        result.refused = (
                            f"{counted(rejects.count, 'row')} rejected and --strict is set: "
                            "nothing from this file was written"
                        )
                        raise _Rollback
                    if options.dry_run:
                        raise _Rollback
                    if (result.inserted or result.updated) and kind.names_people:
                        steps.phase("working out people")

                        def build_indexes() -> None:
                            if deferred:
                                steps.phase("building indexes")
                                create_indexes(store, deferred)
                                steps.phase("working out people")

                        resolve_touched(store, build_indexes)
                    elif deferred:
                        steps.phase("building indexes")
                        create_indexes(store, deferred)
                    if result.inserted or result.updated:
                        store.wrote(*kind.tables(line_items=feed.plan.line_items))
                    store.stamp_versions()
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


def _load(store: Store, feed: Feed, steps: _Steps, *, direct: bool) -> tuple[Counts, list[str]]:
    """Load the file; returns the rows per verdict and the indexes still to build (those
    on person_id, built once people are linked). ``direct``: a first file may go straight
    into its empty table (not once its line items came back scattered: items.py)."""
    kind = feed.kind
    if feed.plan.line_items:
        return load_line_item_orders(store, feed, steps.phase), []
    if direct and kind.fill_empty is not None and is_empty(store, kind.table):
        return first_file.load_into_empty(store, feed, steps.phase)
    return kind.merge(store, feed, steps.phase, numbered=direct), []


def _anonymous(store: Store, table: str) -> int:
    return store.scalar(f"SELECT count(*) FROM {table} WHERE customer_id IS NULL AND email IS NULL")


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
            f"{counted(unconverted, 'order')} stored before {'is' if unconverted == 1 else 'are'} "
            f"in another currency than {conversion.adopted} and not converted (imported "
            "before segcli converted currencies): import their files again with --rate or "
            "--rates"
        )


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
    assert options.delimiter is not None  # decided before the file is read (import_file)
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

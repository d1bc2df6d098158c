"""Line items, kept per order: numbered 1, 2, 3... in the file's order, replaced as a whole.

An items file's lines are numbered within their order as they stream, whether they go
straight into the empty items table or are staged. An order's lines normally come
together; one whose lines come back too late to be numbered so makes the file
``Scattered``, and it is read again with the lines numbered in SQL once staged. A staged
order whose lines differ from the stored ones in any way has all its lines replaced.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from segcli.importer.feed import Feed
from segcli.importer.sinks import Sink, StageSink
from segcli.importer.staging import INSERTED, UNCHANGED, UPDATED, Counts
from segcli.store.db import Store


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


class Scattered(Exception):
    """An order's line items are too far apart in the file to be numbered as they stream."""


def fill_items(store: Store, feed: Feed) -> int:
    """Insert an items file into the empty items table, each order's lines numbered as they
    stream; returns the rows written."""
    kind = feed.kind
    names = ", ".join(kind.stored)
    sink = Sink(
        store.conn,
        f"INSERT INTO main.{kind.table} (order_id, line_no, {names})",
        2 + len(kind.stored),
    )
    numbered = _LineNumbers()
    with _numbering():
        feed.run(
            feed.stored_rows(),
            [lambda _, c: sink.add(list(zip(c[0], numbered(c[0]), *c[1:], strict=True)))],
        )
        sink.flush()
    return sink.rows


def merge_items_file(
    store: Store, feed: Feed, phase: Callable[[str], None], *, numbered: bool
) -> Counts:
    """Stage an items file and replace the lines of each order it changes.

    ``numbered``: number lines as they stream (see _LineNumbers); else in SQL, once staged.
    """
    _stage_items_file(store, feed, numbered=numbered)
    phase("merging")
    merge_items(store, feed.kind.stored)
    return _item_counts(store)


def stage_items_table(store: Store, columns: tuple[str, ...]) -> StageSink:
    """The table a file's line items are staged in, each with its line."""
    store.execute(
        "CREATE TEMP TABLE stage_items (line INTEGER NOT NULL, order_id, "
        + ", ".join(columns)
        + ")"
    )
    return StageSink(store.conn, "INSERT INTO temp.stage_items", len(columns) + 2)


def _create_new_items(store: Store, columns: tuple[str, ...]) -> None:
    """The file's line items, numbered within their order, keyed as main.items is."""
    store.execute(
        f"""CREATE TEMP TABLE new_items (order_id, line_no, line, {", ".join(columns)},
        PRIMARY KEY (order_id, line_no)) WITHOUT ROWID"""
    )


def _stage_items_file(store: Store, feed: Feed, *, numbered: bool) -> None:
    """Stage an items file; ``numbered``: number lines as they stream (see _LineNumbers)."""
    columns = feed.kind.stored
    if not numbered:
        stage = stage_items_table(store, columns)
        feed.run(feed.stored_rows(), [stage.add_lined])
        stage.flush()
        number_staged_items(store, columns)
        return
    _create_new_items(store, columns)
    sink = Sink(store.conn, "INSERT INTO temp.new_items", len(columns) + 3)
    numbers = _LineNumbers()

    def add(lines: list[int], c: list) -> None:
        sink.add(list(zip(c[0], numbers(c[0]), lines, *c[1:], strict=True)))

    with _numbering():
        feed.run(feed.stored_rows(), [add])
        sink.flush()


@contextmanager
def _numbering() -> Iterator[None]:
    """Where lines are numbered as they stream: a number an order's line got already
    (its lines came back too late) is refused by the table's key, and the file is
    Scattered."""
    try:
        yield
    except sqlite3.IntegrityError as error:
        if not str(error).startswith("UNIQUE constraint failed"):
            raise
        raise Scattered from None


def number_staged_items(store: Store, columns: tuple[str, ...]) -> None:
    """Number staged line items within their order, in the order of the file's lines."""
    _create_new_items(store, columns)
    names = ", ".join(columns)
    store.execute(
        f"""
        INSERT INTO temp.new_items
        SELECT order_id, row_number() OVER (PARTITION BY order_id ORDER BY line), line, {names}
        FROM stage_items
        """
    )


def merge_items(store: Store, columns: tuple[str, ...]) -> None:
    """Replace each staged order's line items as a whole; record a verdict per order."""
    names = ", ".join(columns)
    same = " AND ".join(f"stored.{c} IS new.{c}" for c in columns)
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


def _item_counts(store: Store) -> Counts:
    """Rows per verdict of an items file: each line shares its order's verdict."""
    counts = [0, 0, 0]
    for verdict, rows in store.execute(
        "SELECT verdict, sum(lines) FROM item_verdicts GROUP BY verdict"
    ):
        counts[verdict] = rows
    return counts[INSERTED], counts[UPDATED], counts[UNCHANGED]

"""A kind's first file: straight into its empty table, its indexes built once afterwards.

With nothing stored every row is inserted: there is nothing to compare against, so no
staging table. Sorting once to build an index costs far less than keeping it in order row
by row.
"""

from __future__ import annotations

from collections.abc import Callable

from segcli.importer.feed import Feed
from segcli.importer.identity import linked_person, touch
from segcli.importer.sinks import Sink
from segcli.importer.staging import Counts
from segcli.store.db import Store, create_indexes, set_indexes_aside


def load_into_empty(
    store: Store, feed: Feed, phase: Callable[[str], None]
) -> tuple[Counts, list[str]]:
    """Load the file into its kind's empty table; returns the rows per verdict and the
    indexes still to build (those on person_id, built once people are linked)."""
    kind = feed.kind
    # The kind of file has a direct path: load only takes it for such a kind.
    assert kind.fill_empty is not None
    indexes = set_indexes_aside(store, kind.table)
    rows = kind.fill_empty(store, feed)
    deferred = [sql for sql in indexes if "person_id" in sql]
    phase("building indexes")
    create_indexes(store, [sql for sql in indexes if sql not in deferred])
    if kind.names_people:
        # Every row is new: there are no people it was linked to before.
        touch(store, kind.table, source=f"main.{kind.table}")
    return (rows, 0, 0), deferred


def fill_by_key(store: Store, feed: Feed) -> int:
    """Insert a file of rows with one key each; within the file the last row of a key wins
    (ON CONFLICT). Returns the rows written."""
    kind = feed.kind
    key = kind.key_column
    columns = list(kind.stored)
    computed = None
    if kind.names_people:
        # Each row is linked to its person as it is written (identity.linked_person).
        at = {name: f"column{2 + position}" for position, name in enumerate(kind.stored)}
        computed = linked_person(at.get("customer_id"), at["email"])
        columns.append("person_id")
    names = ", ".join(columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns)
    sink = Sink(
        store.conn,
        f"INSERT INTO main.{kind.table} ({key}, {names})",
        1 + len(kind.stored),
        f"ON CONFLICT ({key}) DO UPDATE SET {updates}",
        computed=computed,
    )
    feed.run(feed.stored_rows(), [lambda _, c: sink.add(list(zip(*c, strict=True)))])
    sink.flush()
    feed.result.replaced = sink.rows - store.scalar(f"SELECT count(*) FROM main.{kind.table}")
    return sink.rows

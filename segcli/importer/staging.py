"""Loading a file into a table that holds rows already: staged, then merged by set-based SQL.

The file's rows go to a temporary table first. The last row per key wins; each key is
classified as inserted, updated or unchanged against what is stored, and only changed
keys are written, their people noted to be derived again. (Line items are merged per
order: items.py.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from segcli.importer.feed import Feed
from segcli.importer.identity import linked_person, touch
from segcli.importer.sinks import StageSink
from segcli.store.db import Store

if TYPE_CHECKING:
    from segcli.importer.kinds import Kind

INSERTED, UPDATED, UNCHANGED = 0, 1, 2

# Rows read per verdict: inserted, updated, unchanged.
Counts = tuple[int, int, int]

# Every temporary table an import makes (the line-item form's order_heads and
# late_rejects too): each file starts without them.
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


def drop_temp_tables(store: Store) -> None:
    """Drop the temporary tables a previous file left (see ``load``)."""
    for name in _TEMP_TABLES:
        store.execute(f"DROP TABLE IF EXISTS temp.{name}")


def loaded_rows(store: Store, kind: Kind) -> str:
    """The table that holds the file's rows, one per key: temp.final when it was staged,
    else the kind's own table, which was empty before it."""
    staged = store.scalar("SELECT count(*) FROM temp.sqlite_master WHERE name = 'final'")
    return "temp.final" if staged else f"main.{kind.table}"


def merge_by_key(
    store: Store, feed: Feed, phase: Callable[[str], None], *, numbered: bool
) -> Counts:
    """Stage a file of rows with one key each, and merge its last row per key (``numbered``
    is for line items: see kinds.Merge)."""
    kind = feed.kind
    key = kind.key_column
    store.execute(
        f"CREATE TEMP TABLE stage (line INTEGER NOT NULL, {key}, " + ", ".join(kind.stored) + ")"
    )
    stage = StageSink(store.conn, "INSERT INTO temp.stage", 2 + len(kind.stored))
    feed.run(feed.stored_rows(), [stage.add_lined])
    stage.flush()
    phase("merging")
    store.execute(f"CREATE INDEX temp.stage_key ON stage({key})")
    store.execute(
        f"""CREATE TEMP TABLE final AS SELECT * FROM stage
        WHERE line IN (SELECT max(line) FROM stage GROUP BY {key})"""
    )
    feed.result.replaced = store.scalar("SELECT count(*) FROM stage") - store.scalar(
        "SELECT count(*) FROM final"
    )
    merge_final(store, kind)
    return _count(store, "stage", key, "verdicts")


def merge_products(
    store: Store, feed: Feed, phase: Callable[[str], None], *, numbered: bool
) -> Counts:
    """Merge a products file, and each changed product's collections with it."""
    counts = merge_by_key(store, feed, phase, numbered=numbered)
    changed = f"SELECT key FROM verdicts WHERE verdict != {UNCHANGED}"
    store.execute(f"DELETE FROM product_collections WHERE record_key IN ({changed})")
    store.execute(
        f"""
        INSERT OR IGNORE INTO product_collections (record_key, collection)
        SELECT final.record_key, each.value FROM final, json_each(final.collections) AS each
        WHERE final.record_key IN ({changed})
        """
    )
    return counts


def merge_final(store: Store, kind: Kind) -> None:
    """Write the staged ``final`` rows that differ from the stored ones; record each verdict."""
    table, key, columns = kind.table, kind.key_column, kind.stored
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
    values = names
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns)
    if kind.names_people:
        # The people of the changed rows, before and after, are derived again.
        changed = f"{key} IN (SELECT key FROM temp.verdicts WHERE verdict != {UNCHANGED})"
        touch(store, table, changed)
        touch(store, table, changed, source="temp.final")
        # Each row is linked to its person as it is written (identity.linked_person).
        customer_id = "final.customer_id" if "customer_id" in columns else None
        names += ", person_id"
        values += f", {linked_person(customer_id, 'final.email')}"
        # A row whose person is not known yet keeps its old link for resolution to
        # correct; a row that loses its customer and email belongs to no one (no later
        # step relinks it).
        updates += (
            ", person_id = CASE WHEN excluded.person_id IS NOT NULL THEN excluded.person_id "
            "WHEN excluded.customer_id IS NULL AND excluded.email IS NULL THEN NULL "
            "ELSE person_id END"
            if kind.keeps_anonymous_rows
            else ", person_id = coalesce(excluded.person_id, person_id)"
        )
    store.execute(
        f"""
        INSERT INTO main.{table} ({key}, {names})
        SELECT {key}, {values} FROM final
        WHERE {key} IN (SELECT key FROM verdicts WHERE verdict != {UNCHANGED})
        ON CONFLICT ({key}) DO UPDATE SET {updates}
        """
    )


def _count(store: Store, stage: str, key: str, verdicts: str) -> Counts:
    """Rows per verdict: every row of a key shares the verdict of that key's final row."""
    counts = [0, 0, 0]
    for verdict, rows in store.execute(
        f"""SELECT v.verdict, count(DISTINCT s.line) FROM {stage} s
        JOIN {verdicts} v ON v.key = s.{key} GROUP BY v.verdict"""
    ):
        counts[verdict] = rows
    return counts[INSERTED], counts[UPDATED], counts[UNCHANGED]

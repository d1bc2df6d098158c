"""Orders in the line-item form: one row per line item, the order's fields on its rows.

Each order field is taken from the first of the order's rows that fills it, and an order
that no row gives a total has the sum of its lines. The orders are then merged as those of
a flat orders file are, and their lines as an items file's; an order whose lines changed
counts as updated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from segcli.errors import BadValue
from segcli.importer import kinds, values
from segcli.importer.batches import BATCH_ROWS, Parsed
from segcli.importer.feed import Feed, Rejected, Targets
from segcli.importer.items import merge_items, number_staged_items, stage_items_table
from segcli.importer.sinks import StageSink
from segcli.importer.staging import INSERTED, UNCHANGED, UPDATED, Counts, merge_final
from segcli.store.db import Store

if TYPE_CHECKING:
    from segcli.importer.currencies import Conversion

# The order-level columns a row gives, and the columns of its line item.
_HEAD_COLUMNS = kinds.ORDER_HEAD_COLUMNS
_ITEM_COLUMNS = kinds.ITEMS.stored


def load_line_item_orders(store: Store, feed: Feed, phase: Callable[[str], None]) -> Counts:
    """Load orders given one line item per row, with their line items."""
    store.execute(
        "CREATE TEMP TABLE stage (line INTEGER NOT NULL, order_id, "
        + ", ".join(_HEAD_COLUMNS)
        + ")"
    )
    heads = StageSink(store.conn, "INSERT INTO temp.stage", len(_HEAD_COLUMNS) + 2)
    items = stage_items_table(store, _ITEM_COLUMNS)
    feed.run(_line_item_rows, [heads.add_lined, items.add_lined])
    heads.flush()
    items.flush()
    phase("merging")
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
    _convert_order_heads(store, feed.conversion)
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
    merge_final(store, feed.kind)
    number_staged_items(store, _ITEM_COLUMNS)
    merge_items(store, _ITEM_COLUMNS)
    feed.result.line_items = store.scalar("SELECT count(*) FROM stage_items")
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
    feed.result.orders = (orders[INSERTED], orders[UPDATED], orders[UNCHANGED])
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


def _line_item_rows(parsed: Parsed) -> tuple[Targets, Rejected]:
    """Rows of the line-item form: each one's order fields, and its line item if it has one."""
    heads: tuple[list, list] = ([], [])
    items: tuple[list, list] = ([], [])
    bad: Rejected = []
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

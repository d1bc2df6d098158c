"""What a store holds: counts per kind, people, the span of orders and the last imports."""

from __future__ import annotations

from typing import Any

from segcli.analytic.copy import copy_state
from segcli.store.db import Store
from segcli.store.schema import RECORD_TABLES
from segcli.store.settings import store_currency

# Per kind of record, the kinds of file that bring it: line items also come with an
# orders file in the line-item form (logged with its number of line items).
_BROUGHT_BY = """
    SELECT kind AS record_kind, kind AS file_kind, finished_at FROM imports
    UNION ALL
    SELECT 'items', kind, finished_at FROM imports WHERE kind = 'orders' AND line_items > 0
"""


def store_info(store: Store) -> dict[str, Any]:
    """A summary of the database, as plain data."""
    counts = {kind: store.scalar(f"SELECT count(*) FROM {kind}") for kind in RECORD_TABLES}
    # The latest import of each kind of record, and the kind of file it came in.
    last_imports = {
        record_kind: (finished_at, file_kind)
        for record_kind, file_kind, finished_at in store.execute(
            f"""
            SELECT record_kind, file_kind, finished_at FROM (
                SELECT record_kind, file_kind, finished_at, row_number() OVER (
                    PARTITION BY record_kind ORDER BY finished_at DESC, file_kind = record_kind DESC
                ) AS newest
                FROM ({_BROUGHT_BY})
            ) WHERE newest = 1
            """
        )
    }
    currency = store_currency(store)
    first_order, last_order = store.execute(
        "SELECT min(created_at), max(created_at) FROM orders"
    ).fetchone()
    return {
        "database": str(store.path.resolve()),
        "schema_version": store.schema_version(),
        "people": store.scalar("SELECT count(*) FROM people"),
        "guests": store.scalar("SELECT count(*) FROM people WHERE customer_id IS NULL"),
        # Orders that belong to no one (no customer id or email): kept, in no segment.
        "anonymous_orders": store.scalar(
            "SELECT count(*) FROM orders WHERE customer_id IS NULL AND email IS NULL"
        ),
        # The store's currency, the orders converted into it, and orders stored in another
        # currency without a conversion (added as they are: imported before segcli
        # converted currencies, or before the store had a currency).
        "currency": currency,
        "converted_orders": store.scalar(
            "SELECT count(*) FROM orders WHERE original_total IS NOT NULL"
        ),
        "unconverted_orders": store.scalar(
            """SELECT count(*) FROM orders WHERE original_total IS NULL
            AND currency IS NOT NULL AND currency IS NOT ?""",
            (currency,),
        ),
        "rows": counts,
        "first_order_at": first_order,
        "last_order_at": last_order,
        "last_imported_at": {
            kind: last_imports.get(kind, (None, None))[0] for kind in RECORD_TABLES
        },
        # The kind of file each kind's rows last came in: "orders" for line items that
        # came with an orders file in the line-item form; None when never imported.
        "last_imported_with": {
            kind: last_imports.get(kind, (None, None))[1] for kind in RECORD_TABLES
        },
        "files_without_customer_column": _files_without_customer_column(store),
        # The copy that DuckDB evaluates (segcli/analytic/copy.py): derived, safe to delete.
        "analytic_copy": copy_state(store),
    }


def _files_without_customer_column(store: Store) -> list[dict[str, Any]]:
    """Orders files whose latest import had no column naming the customer: every order
    in them was anonymous. A file imported again with such a column is left out."""
    return [
        {"file": file, "imported_at": finished_at, "orders": orders}
        for file, finished_at, orders in store.execute(
            """
            SELECT file, finished_at, anonymous_orders FROM (
                SELECT file, finished_at, anonymous_orders, customer_column, row_number() OVER (
                    PARTITION BY file ORDER BY finished_at DESC, import_id DESC
                ) AS newest
                FROM imports WHERE kind = 'orders'
            ) WHERE newest = 1 AND customer_column = 0
            ORDER BY finished_at, file
            """
        )
    ]

"""What a store holds: counts per kind, people, the span of orders and the last imports."""

from __future__ import annotations

from segcli.importer.currencies import stored_currency
from segcli.importer.kinds import KINDS
from segcli.store.db import Store


def store_info(store: Store) -> dict:
    """A summary of the database, as plain data."""
    counts = {
        name: store.scalar(f"SELECT count(*) FROM {kind.table}") for name, kind in KINDS.items()
    }
    last_imports = {
        kind: finished_at
        for kind, finished_at in store.execute(
            "SELECT kind, max(finished_at) FROM imports GROUP BY kind"
        )
    }
    currency = stored_currency(store)
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
        "last_imported_at": {kind: last_imports.get(kind) for kind in KINDS},
    }

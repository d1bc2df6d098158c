"""A database as an older segcli left it: the first k migrations applied the way the store
applies them, then a small store written by SQL in that version's columns."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from sqlite_utils import Database

from segcli.store.db import Store
from segcli.store.schema import migrations

# Every migration's name, in the order the store applies them.
MIGRATIONS = [migration.name for migration in migrations.pending(Database(memory=True))]
NEWEST = len(MIGRATIONS)


def old_database(path: Path, version: int) -> None:
    """A database with the first ``version`` migrations applied, as open_store applies
    them (one transaction, on a WAL database), and the rows of RECORDS in the columns
    that version has."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    store = Store(path, conn)
    stop_before = MIGRATIONS[version] if version < NEWEST else None
    with store.transaction():
        migrations.apply(store.db, stop_before=stop_before)
    assert store.schema_version() == version
    with store.transaction():
        for table, rows in RECORDS.items():
            present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
            for row in rows:
                columns = [column for column in row if column in present]
                conn.execute(
                    f"INSERT INTO {table} ({', '.join(columns)}) "
                    f"VALUES ({', '.join('?' for _ in columns)})",
                    [row[column] for column in columns],
                )
    conn.close()


def _subscriber_key(email: str, at: str, status: str) -> str:
    return json.dumps([email, at, status], ensure_ascii=False)


# A small store as the first version of segcli stored it: keys, money in ten-thousandths,
# UTC text dates, tags and custom fields as JSON, people resolved and records linked to
# them. Columns added by later migrations (marked "later") are written only where the
# version has them, as that version of segcli would have.
RECORDS: dict[str, list[dict]] = {
    "customers": [
        {
            "record_key": "c:C1", "customer_id": "C1", "email": "ann@example.com",
            "first_name": "Ann", "last_name": "Lee", "created_at": "2024-01-01 00:00:00",
            "accepts_marketing": 1, "country": "DE", "region": None, "city": "Berlin",
            "tags": '["vip", "gold"]', "customer_group": "retail", "channel": "web",
            "custom": '{"tier": "gold"}', "person_id": 1,
        },
        {
            "record_key": "c:C2", "customer_id": "C2", "email": "bob@example.com",
            "first_name": "Bob", "last_name": "Stone", "created_at": "2024-01-02 00:00:00",
            "accepts_marketing": 0, "country": "US", "region": "NY", "city": None,
            "tags": "[]", "customer_group": None, "channel": None, "custom": "{}",
            "person_id": 2,
        },
        {
            "record_key": "c:C3", "customer_id": "C3", "email": "cy@example.com",
            "first_name": "Cy", "last_name": "Young", "created_at": "2024-01-03 00:00:00",
            "accepts_marketing": 1, "country": "US", "region": None, "city": None,
            "tags": "[]", "customer_group": None, "channel": None, "custom": "{}",
            "person_id": 3,
        },
        {
            "record_key": "c:C4", "customer_id": "C4", "email": "dee@example.com",
            "first_name": "Dee", "last_name": "Park", "created_at": "2024-01-04 00:00:00",
            "accepts_marketing": 0, "country": "FR", "region": None, "city": None,
            "tags": "[]", "customer_group": None, "channel": None, "custom": "{}",
            "person_id": 4,
        },
    ],
    "orders": [
        {
            "order_id": "O1", "customer_id": "C1", "email": None,
            "created_at": "2024-01-05 00:00:00", "total": 12_000_000, "status": "paid",
            "currency": "EUR", "counted": 1, "person_id": 1,
            # later: the buyer's consent and billing address
            "accepts_marketing": 1, "country": "DE", "region": "BE", "city": "Berlin",
        },
        {
            "order_id": "O2", "customer_id": "C1", "email": None,
            "created_at": "2024-02-05 00:00:00", "total": 345_000, "status": "paid",
            "currency": "EUR", "counted": 1, "person_id": 1,
        },
        {
            "order_id": "O3", "customer_id": "C2", "email": None,
            "created_at": "2024-03-01 00:00:00", "total": -100_000, "status": "paid",
            "currency": "USD", "counted": 1, "person_id": 2, "accepts_marketing": 0,
        },
        {
            "order_id": "O4", "customer_id": None, "email": "guest@example.com",
            "created_at": "2024-03-02 00:00:00", "total": 500_000, "status": "cancelled",
            "currency": "USD", "counted": 0, "person_id": 5,
        },
        {
            "order_id": "O9", "customer_id": None, "email": None,
            "created_at": "2024-03-03 00:00:00", "total": 70_000, "status": "paid",
            "currency": None, "counted": 1, "person_id": None,
        },
    ],
    "items": [
        {
            "order_id": "O1", "line_no": 1, "product_id": "P1", "sku": "S1", "title": "Mug",
            "collection": "Kitchen", "quantity": 2, "price": 6_000_000, "vendor": "Acme",
        },
        {
            "order_id": "O2", "line_no": 1, "product_id": None, "sku": "S2", "title": "Tea",
            "collection": None, "quantity": 1, "price": 345_000,
        },
        {
            "order_id": "O3", "line_no": 1, "product_id": None, "sku": "S2", "title": "Tea",
            "collection": "Pantry", "quantity": 1, "price": -100_000,
        },
    ],
    "products": [
        {
            "record_key": "p:P1", "product_id": "P1", "sku": "S1", "title": "Mug",
            "collections": '["Kitchen", "Gifts"]', "product_type": "Homeware",
            "vendor": "Acme", "tags": '["ceramic"]',
        },
        {
            "record_key": "s:S2", "product_id": None, "sku": "S2", "title": "Tea",
            "collections": '["Pantry"]', "product_type": "Food", "vendor": "Leafy",
            "tags": "[]",
        },
    ],
    "product_collections": [
        {"record_key": "p:P1", "collection": "Kitchen"},
        {"record_key": "p:P1", "collection": "Gifts"},
        {"record_key": "s:S2", "collection": "Pantry"},
    ],
    "reviews": [
        {
            "record_key": "r:R1", "review_id": "R1", "customer_id": "C3", "email": None,
            "product_id": "P1", "sku": None, "rating": 5,
            "created_at": "2024-02-01 00:00:00", "title": "Lovely", "body": "A fine mug.",
            "person_id": 3,
        },
    ],
    "subscribers": [
        {
            "record_key": _subscriber_key("cy@example.com", "2024-05-01 00:00:00", "unsubscribed"),
            "email": "cy@example.com", "subscribed_at": "2024-05-01 00:00:00",
            "status": "unsubscribed", "source": "footer", "person_id": 3,
        },
        {
            "record_key": _subscriber_key("news@example.com", "2024-02-01 00:00:00", "subscribed"),
            "email": "news@example.com", "subscribed_at": "2024-02-01 00:00:00",
            "status": "subscribed", "source": None, "person_id": 6,
        },
    ],
    "carts": [
        {
            "record_key": "k:K1", "cart_id": "K1", "customer_id": "C4", "email": None,
            "created_at": "2024-04-01 00:00:00", "total": 200_000, "person_id": 4,
        },
    ],
    "people": [
        {
            "person_id": 1, "person_key": "c:C1", "customer_id": "C1",
            "email": "ann@example.com", "first_name": "Ann", "last_name": "Lee",
            "created_at": "2024-01-01 00:00:00", "first_seen_at": "2024-01-01 00:00:00",
            "customer_accepts_marketing": 1, "country": "DE", "region": None,
            "city": "Berlin", "tags": '["vip", "gold"]', "customer_group": "retail",
            "channel": "web", "custom": '{"tier":"gold"}',  # as SQLite's json_patch wrote it
        },
        {
            "person_id": 2, "person_key": "c:C2", "customer_id": "C2",
            "email": "bob@example.com", "first_name": "Bob", "last_name": "Stone",
            "created_at": "2024-01-02 00:00:00", "first_seen_at": "2024-01-02 00:00:00",
            "customer_accepts_marketing": 0, "country": "US", "region": "NY", "city": None,
            "tags": "[]", "customer_group": None, "channel": None, "custom": "{}",
        },
        {
            "person_id": 3, "person_key": "c:C3", "customer_id": "C3",
            "email": "cy@example.com", "first_name": "Cy", "last_name": "Young",
            "created_at": "2024-01-03 00:00:00", "first_seen_at": "2024-01-03 00:00:00",
            "customer_accepts_marketing": 1, "country": "US", "region": None, "city": None,
            "tags": "[]", "customer_group": None, "channel": None, "custom": "{}",
        },
        {
            "person_id": 4, "person_key": "c:C4", "customer_id": "C4",
            "email": "dee@example.com", "first_name": "Dee", "last_name": "Park",
            "created_at": "2024-01-04 00:00:00", "first_seen_at": "2024-01-04 00:00:00",
            "customer_accepts_marketing": 0, "country": "FR", "region": None, "city": None,
            "tags": "[]", "customer_group": None, "channel": None, "custom": "{}",
        },
        {
            "person_id": 5, "person_key": "e:guest@example.com", "customer_id": None,
            "email": "guest@example.com", "first_name": None, "last_name": None,
            "created_at": "2024-03-02 00:00:00", "first_seen_at": "2024-03-02 00:00:00",
            "customer_accepts_marketing": None, "country": None, "region": None,
            "city": None, "tags": "[]", "customer_group": None, "channel": None,
            "custom": "{}",
        },
        {
            "person_id": 6, "person_key": "e:news@example.com", "customer_id": None,
            "email": "news@example.com", "first_name": None, "last_name": None,
            "created_at": "2024-02-01 00:00:00", "first_seen_at": "2024-02-01 00:00:00",
            "customer_accepts_marketing": None, "country": None, "region": None,
            "city": None, "tags": "[]", "customer_group": None, "channel": None,
            "custom": "{}",
        },
    ],
    "imports": [
        {
            "import_id": n, "kind": kind, "file": f"{kind}.csv",
            "finished_at": f"2024-06-0{n} 12:00:00", "rows_read": rows, "inserted": rows,
            "updated": 0, "unchanged": 0, "rejected": 0,
            # later: the file's dialect and its orders that belong to no one
            "dialect": "native", "anonymous_orders": 1 if kind == "orders" else 0,
        }
        for n, (kind, rows) in enumerate(
            [("customers", 4), ("orders", 5), ("items", 3), ("products", 2), ("reviews", 1),
             ("subscribers", 2), ("carts", 1)],
            start=1,
        )
    ],
}  # fmt: skip

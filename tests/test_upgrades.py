"""A database made by an older segcli keeps working (README "The database").

The schema is the list of migrations in segcli/store/schema.py; a database records those
applied to it in sqlite-utils' ``_sqlite_migrations`` table (segcli does not use PRAGMA
user_version). Each test here builds a database as an older segcli left it: the first k
migrations applied the way the store applies them, then rows written in that version's
columns by SQL. The current segcli must migrate it to the newest schema without losing
a row or a value, and compute the segments the data call for.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from segcli.importer.identity import resolve_people
from segcli.store import db as store_db
from segcli.store.db import open_store
from tests.conftest import Segcli
from tests.old_databases import MIGRATIONS, NEWEST, RECORDS, old_database

AS_OF = "2024-06-30"
SEGMENTS = {
    "kitchen": "title: Kitchen\ncriteria:\n  purchased: {collection: Kitchen}\n",
    # Gifts is a collection of the product only (product_collections), not of the line.
    "gifts": "title: Gifts\ncriteria:\n  purchased: {collection: Gifts}\n",
    "tea": "title: Tea\ncriteria:\n  purchased: {product: S2, times: {gte: 1}}\n",
    "reviewers": "title: Reviewers\ncriteria:\n  reviewed: {rating: {gte: 4}}\n",
    "gold": "title: Gold\ncriteria:\n  custom.tier: gold\n  tags: vip\n",
    "americans": "title: Americans\ncriteria:\n  country: US\n",
}

# As of 2024-06-30, by hand. Ann (C1) bought on Jan 5 and Feb 5: the average time between
# purchases A is 31 days, and her last order is 146 days old (>= 3A: inactive). Bob (C2)
# bought once. Cy (C3) accepts marketing as a customer, but unsubscribed since: no
# consent, no cart: unengaged. Dee (C4) left a cart. The guest's only order is cancelled.
# news@ subscribed: a prospect. O9 belongs to no one.
EVERYONE = [
    "person_key,lifecycle,orders_count,total_spent,accepts_marketing,country,custom.tier",
    "c:C1,inactive-repeat,2,1234.50,true,DE,gold",
    "c:C2,first-time-buyers,1,-10.00,false,US,",
    "c:C3,unengaged,0,0.00,false,US,",
    "c:C4,potential-customers,0,0.00,false,FR,",
    "e:guest@example.com,unengaged,0,0.00,false,,",
    "e:news@example.com,prospects,0,0.00,true,,",
]
COUNTS = {
    "everyone": 6,
    "all-customers": 2,
    "repeat-customers": 1,
    "first-time-buyers": 1,
    "active-repeat": 0,
    "at-risk-repeat": 0,
    "inactive-repeat": 1,
    "prospects": 1,
    "potential-customers": 1,
    "unengaged": 2,
    "americans": 2,
    "gifts": 1,
    "gold": 1,
    "kitchen": 1,
    "reviewers": 1,
    "tea": 2,
}

# One more file after the upgrade: Bob buys again, a new buyer comes.
MORE_ORDERS = """\
order_id,customer_id,email,created_at,total,status
O5,C2,,2024-06-01,50,paid
O6,,newbie@example.com,2024-06-15,20,paid
"""
# Now A = (31 + 92) / 2 = 61.5 days: Bob's last order is 29 days old (active), Ann's
# 146 (at risk: between A and 3A).
EVERYONE_AFTER = [
    EVERYONE[0],
    "c:C1,at-risk-repeat,2,1234.50,true,DE,gold",
    "c:C2,active-repeat,2,40.00,false,US,",
    *EVERYONE[3:6],
    "e:newbie@example.com,first-time-buyers,1,20.00,false,,",
    EVERYONE[6],
]
COUNTS_AFTER = {
    **COUNTS,
    "everyone": 7,
    "all-customers": 3,
    "repeat-customers": 2,
    "first-time-buyers": 1,
    "active-repeat": 1,
    "at-risk-repeat": 1,
    "inactive-repeat": 0,
}


def snapshot(db: Path) -> dict[str, tuple[list[str], set[tuple]]]:
    """Every table's columns and rows (facts segcli keeps for itself, and the data
    versions, which every import replaces, left out)."""
    with sqlite3.connect(db) as conn:
        tables = [
            name
            for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not name.startswith(("sqlite_", "facts_", "data_versions"))
        ]
        found = {}
        for table in tables:
            columns = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
            found[table] = (columns, set(conn.execute(f"SELECT * FROM {table}")))
    conn.close()
    return found


def lost_rows(before: dict, after: dict) -> dict[str, list[tuple]]:
    """Rows of ``before`` missing from ``after``, in the columns both have, by table."""
    lost = {}
    for table, (columns, rows) in before.items():
        if table not in after:
            lost[table] = sorted(rows, key=repr)
            continue
        now_columns, now_rows = after[table]
        shared = [c for c in columns if c in now_columns]
        old = {tuple(row[columns.index(c)] for c in shared) for row in rows}
        new = {tuple(row[now_columns.index(c)] for c in shared) for row in now_rows}
        if old - new:
            lost[table] = sorted(old - new, key=repr)
    return lost


def people_and_links(db: Path) -> list[tuple]:
    """Each person's attributes and the keys of their records (person ids left out)."""
    with sqlite3.connect(db) as conn:
        people = conn.execute(
            """
            SELECT p.person_key, p.customer_id, p.email, p.first_name, p.last_name,
                p.created_at, p.first_seen_at, p.customer_accepts_marketing, p.country,
                p.region, p.city, p.tags, p.customer_group, p.channel, p.custom,
                (SELECT group_concat(record_key) FROM customers r
                    WHERE r.person_id = p.person_id),
                (SELECT group_concat(order_id) FROM orders r WHERE r.person_id = p.person_id),
                (SELECT group_concat(record_key) FROM reviews r
                    WHERE r.person_id = p.person_id),
                (SELECT group_concat(record_key) FROM subscribers r
                    WHERE r.person_id = p.person_id),
                (SELECT group_concat(record_key) FROM carts r WHERE r.person_id = p.person_id)
            FROM people p ORDER BY p.person_key
            """
        ).fetchall()
    conn.close()
    return people


def derived_again(db: Path, copy: Path) -> list[tuple]:
    """People as segcli derives them from scratch from the records of ``db`` (a copy)."""
    with sqlite3.connect(db) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    source.close()
    target.close()
    with open_store(copy) as store, store.transaction():
        resolve_people(store)
    return people_and_links(copy)


def schema(db: Path) -> set[tuple]:
    with sqlite3.connect(db) as conn:
        rows = set(
            conn.execute(
                "SELECT type, name, tbl_name, sql FROM sqlite_master "
                "WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE 'facts_%'"
            )
        )
    conn.close()
    return rows


def integrity(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        check = conn.execute("PRAGMA integrity_check").fetchall()
    conn.close()
    return "; ".join(row[0] for row in check)


@pytest.fixture(scope="module")
def newest_schema(tmp_path_factory) -> set[tuple]:
    """The schema of a database the current segcli creates."""
    path = tmp_path_factory.mktemp("fresh") / "fresh.db"
    open_store(path).close()
    return schema(path)


def calculated(segcli: Segcli, segments: Path) -> dict[str, int]:
    result = segcli(
        "--segments", segments, "segment", "calculate", "--as-of", AS_OF, "--format", "json"
    )
    assert result.exit_code == 0, result.stderr
    return {row["segment"]: row["count"] for row in json.loads(result.stdout)}


def exported(segcli: Segcli) -> list[str]:
    fields = EVERYONE[0]
    result = segcli("segment", "export", "everyone", "--as-of", AS_OF, "--fields", fields)
    assert result.exit_code == 0, result.stderr
    return result.stdout.splitlines()


@pytest.mark.parametrize("version", range(1, NEWEST + 1))
def test_an_older_database_is_migrated_without_losing_a_row(
    segcli, tmp_path, newest_schema, version
):
    old_database(segcli.db, version)
    before = snapshot(segcli.db)
    assert integrity(segcli.db) == "ok"

    info = segcli("info", "--format", "json")
    assert info.exit_code == 0, info.stderr
    assert info.stderr == ""
    figures = json.loads(info.stdout)
    assert figures["schema_version"] == NEWEST
    assert figures["people"] == len(RECORDS["people"])
    assert figures["anonymous_orders"] == 1
    kinds = ("customers", "orders", "items", "products", "reviews", "subscribers", "carts")
    assert figures["rows"] == {kind: len(RECORDS[kind]) for kind in kinds}

    after = snapshot(segcli.db)
    assert lost_rows(before, after) == {}
    # Tables later migrations add: the store's settings (its currency), which stay empty
    # for these orders in two currencies.
    added = {"settings": 0} if version < MIGRATIONS.index("m007_store_currency") + 1 else {}
    # ... and the membership snapshots and hook deliveries, empty until one is taken.
    if version < MIGRATIONS.index("m012_membership_snapshots") + 1:
        added |= dict.fromkeys(
            ("snapshot_people", "snapshots", "snapshot_changes", "deliveries"), 0
        )
    assert {table: len(rows) for table, (_, rows) in after.items()} == {
        table: len(rows) + (NEWEST - version if table == "_sqlite_migrations" else 0)
        for table, (_, rows) in before.items()
    } | added
    assert segcli.rows("SELECT name FROM _sqlite_migrations ORDER BY id") == [
        (name,) for name in MIGRATIONS
    ]
    assert schema(segcli.db) == newest_schema
    assert integrity(segcli.db) == "ok"
    # People and their links to records are as segcli derives them from the records.
    assert people_and_links(segcli.db) == derived_again(segcli.db, tmp_path / "again.db")

    # The migrated data mean what they meant: segments, figures and consent.
    segments = tmp_path / "segments"
    segments.mkdir()
    for name, text in SEGMENTS.items():
        (segments / f"{name}.yaml").write_text(text, encoding="utf-8")
    assert calculated(segcli, segments) == COUNTS
    assert exported(segcli) == EVERYONE

    # Importing into it works as into a new one, and keeps every older row.
    more = segcli.write("orders.csv", MORE_ORDERS)
    result = segcli("import", "orders", more)
    assert result.exit_code == 0, result.stderr
    assert f"{more}: 2 rows read: 2 inserted, 0 updated, 0 unchanged, 0 rejected" in result.stderr
    assert calculated(segcli, segments) == COUNTS_AFTER
    assert exported(segcli) == EVERYONE_AFTER
    assert lost_rows(before, snapshot(segcli.db)) == {}
    assert integrity(segcli.db) == "ok"


# The indexes migration m011 drops: only the SQLite engine's whole-store searches used them.
DROPPED_BY_M011 = {
    "customers_person",
    "orders_created_at",
    "items_product_id",
    "items_sku",
    "items_collection",
    "items_vendor",
    "items_title",
    "products_product_id",
    "products_sku",
    "product_collections_collection",
    "reviews_product_id",
    "reviews_sku",
}


def index_names(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        names = {
            name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        }
    conn.close()
    return names


def test_a_database_of_version_10_loses_only_the_indexes_the_store_no_longer_keeps(segcli):
    version = MIGRATIONS.index("m011_import_indexes_only")
    old_database(segcli.db, version)
    # Its line items gone, the next items file is a first one: the importer sets the
    # table's indexes aside and builds back those sqlite_master then names.
    with sqlite3.connect(segcli.db) as conn:
        conn.execute("DELETE FROM items")
    conn.close()
    before = index_names(segcli.db)
    assert before >= DROPPED_BY_M011

    items = segcli.write(
        "items.csv", "order_id,product_id,sku,title,quantity,price\nO1,P1,S1,Teapot,1,5\n"
    )
    result = segcli("import", "items", items)
    assert result.exit_code == 0, result.stderr
    # ... and gains the keys of the membership snapshots' tables (m012).
    added_by_m012 = {"sqlite_autoindex_snapshot_people_1", "sqlite_autoindex_snapshots_1"}
    assert index_names(segcli.db) == (before - DROPPED_BY_M011) | added_by_m012
    assert segcli.rows("SELECT order_id, line_no, product_id FROM items") == [("O1", 1, "P1")]


def test_a_migration_blocked_by_another_writer_leaves_the_database_as_it_was(
    segcli, monkeypatch, newest_schema
):
    old_database(segcli.db, 1)
    before, old_schema = snapshot(segcli.db), schema(segcli.db)
    monkeypatch.setattr(store_db, "BUSY_TIMEOUT_MS", 50)
    holder = sqlite3.connect(segcli.db, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # an older segcli's import, still running
        result = segcli("info")
    finally:
        holder.close()
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    assert f"Error: database is busy: {segcli.db} is being written" in result.stderr
    assert snapshot(segcli.db) == before
    assert schema(segcli.db) == old_schema

    # Once the other writer is done, the next command migrates it.
    result = segcli("info", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["schema_version"] == NEWEST
    assert schema(segcli.db) == newest_schema
    assert lost_rows(before, snapshot(segcli.db)) == {}


def newer_database(path: Path) -> None:
    """A database a newer segcli has migrated further: one more migration recorded, as
    sqlite-utils records it, with what it made."""
    old_database(path, NEWEST)
    with sqlite3.connect(path, isolation_level=None) as conn:
        conn.execute("BEGIN")
        conn.execute("CREATE TABLE loyalty_points (person_id INTEGER, points INTEGER)")
        conn.execute("INSERT INTO loyalty_points VALUES (1, 250)")
        conn.execute("ALTER TABLE people ADD COLUMN loyalty_tier TEXT")
        conn.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
            "VALUES ('segcli', 'm999_loyalty_points', '2030-01-01 00:00:00+00:00')"
        )
        # Should segcli count versions in user_version one day, this one is newer too.
        conn.execute("PRAGMA user_version = 999")
        conn.execute("COMMIT")
    conn.close()


def dump(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        lines = [*conn.iterdump(), str(conn.execute("PRAGMA user_version").fetchone())]
    conn.close()
    return lines


@pytest.mark.parametrize(
    "args",
    [
        ("info",),
        ("segment", "calculate", "--as-of", AS_OF),
        ("import", "orders", "orders.csv"),
    ],
    ids=["info", "calculate", "import"],
)
def test_a_database_from_a_newer_segcli_is_refused_and_left_alone(segcli, monkeypatch, args):
    monkeypatch.chdir(segcli.dir)
    segcli.write("orders.csv", MORE_ORDERS)
    newer_database(segcli.db)
    before = dump(segcli.db)
    result = segcli(*args)
    assert "Traceback" not in result.stderr
    assert result.exit_code == 1, result.stderr
    assert result.stdout == ""
    assert "newer" in result.stderr, result.stderr
    assert dump(segcli.db) == before


def test_the_store_knows_its_newest_migration_without_loading_the_schema():
    # open_store opens a database that has applied exactly these without sqlite-utils.
    from segcli.store.schema import MIGRATION_NAMES

    assert (
        MIGRATION_NAMES[-1],
        len(MIGRATION_NAMES),
    ) == (store_db.NEWEST_MIGRATION, store_db.MIGRATIONS)


def test_a_current_store_is_opened_without_loading_sqlite_utils(segcli):
    # A quick command (customer show, segment list) does not pay for loading sqlite-utils.
    result = segcli("import", "orders", segcli.write("orders.csv", MORE_ORDERS))
    assert result.exit_code == 0, result.stderr
    script = (
        "import sys\n"
        "from segcli.store.db import open_store\n"
        f"store = open_store({str(segcli.db)!r}, create=False)\n"
        "print(store.schema_version(), 'sqlite_utils' in sys.modules)\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    assert found == [str(NEWEST), "False"]

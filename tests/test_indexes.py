"""The store keeps only the indexes that importing, identity, `customer show` and `info`
use (migration m011): a new store has exactly these, an import that sets a table's
indexes aside builds back only these, and each statement that relies on one is planned
with it (SQLite's EXPLAIN QUERY PLAN shows a SEARCH of it, not a SCAN of the table)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from segcli.store.db import Store, open_store
from tests.conftest import Segcli

# Every index the store keeps, with its table (indexes SQLite makes for a table's key
# and UNIQUE columns left out: they are the table's constraints).
KEPT = {
    "customers_customer_id": "customers",
    "customers_email": "customers",
    "orders_person_date": "orders",
    "orders_customer_id": "orders",
    "orders_email": "orders",
    "orders_consent": "orders",
    "orders_billing": "orders",
    "reviews_person_date": "reviews",
    "reviews_customer_id": "reviews",
    "reviews_email": "reviews",
    "subscribers_email": "subscribers",
    "subscribers_person_date": "subscribers",
    "carts_person_date": "carts",
    "carts_customer_id": "carts",
    "carts_email": "carts",
    "people_email": "people",
    "imports_kind": "imports",
    "facts_cache_person": "facts_cache",
}

FIRST_FILES = {
    "products": (
        "product_id,sku,title,collections,product_type,vendor\n"
        "P1,S1,Copper Teapot,Kitchen;Gifts,Homeware,Blue Harbor\n"
        "P2,S2,Green Tea,Tea,Food,Leaf & Co\n"
    ),
    "customers": (
        "customer_id,email,first_name,created_at,accepts_marketing,country\n"
        + "".join(
            f"C{n},c{n}@example.com,Name{n},2024-01-0{n},{'true' if n % 2 else 'false'},DE\n"
            for n in range(1, 9)
        )
        + ",walkin@example.com,Walk,2024-01-09,false,FR\n"
    ),
    "orders": (
        "order_id,customer_id,email,created_at,total,status,accepts_marketing,country,city\n"
        "O1,C1,c1@example.com,2024-02-01,10,paid,true,DE,Berlin\n"
        "O2,C1,c1@example.com,2024-03-01,20,paid,,,\n"
        "O3,C2,,2024-02-02,30,refunded,,,\n"
        "O4,,guest@example.com,2024-02-03,40,paid,,,\n"
        "O5,C3,c3@example.com,2024-02-04,50,paid,,,\n"
    ),
    "items": (
        "order_id,product_id,sku,title,collection,quantity,price\n"
        "O1,P1,S1,Copper Teapot,Kitchen,1,10\n"
        "O2,P2,S2,Green Tea,Tea,2,10\n"
        "O3,P1,S1,Copper Teapot,Kitchen,1,30\n"
        "O4,,,Gift Card,,1,40\n"
    ),
    "reviews": (
        "review_id,customer_id,email,product_id,rating,created_at\n"
        "R1,C1,c1@example.com,P1,5,2024-02-10\n"
        "R2,,guest@example.com,P1,2,2024-02-11\n"
    ),
    "subscribers": (
        "email,subscribed_at,status,source\n"
        "c1@example.com,2024-01-05,subscribed,footer\n"
        "news@example.com,2024-01-06,subscribed,popup\n"
    ),
    "carts": (
        "cart_id,customer_id,email,created_at,total\n"
        "K1,C4,c4@example.com,2024-02-05,15\n"
        "K2,,guest@example.com,2024-02-06,25\n"
    ),
}

# A later file of each kind, touching a few of the store's people: staged and merged,
# and only those people worked out again.
LATER_FILES = {
    "products": "product_id,sku,title,collections\nP2,S2,Green Tea,Tea;Gifts\n",
    "customers": (
        "customer_id,email,first_name,created_at\nC2,c2@example.com,Renamed,2024-01-02\n"
    ),
    "orders": (
        "order_id,customer_id,email,created_at,total,status,country\n"
        "O6,C5,c5@example.com,2024-04-01,60,paid,AT\n"
        "O7,,guest@example.com,2024-04-02,70,paid,\n"
    ),
    "items": "order_id,product_id,sku,title,quantity,price\nO5,P2,S2,Green Tea,3,10\n",
    "reviews": "review_id,customer_id,email,product_id,rating,created_at\nR3,C5,,P2,4,2024-04-03\n",
    "subscribers": "email,subscribed_at,status\nc6@example.com,2024-04-04,subscribed\n",
    "carts": "cart_id,customer_id,email,created_at,total\nK3,C6,,2024-04-05,35\n",
}

SEGMENTS = {
    "teapot": "title: Teapot\ncriteria:\n  purchased: {product: Copper Teapot}\n",
    "reviewers": "title: Reviewers\ncriteria:\n  reviewed: {rating: {gte: 4}}\n",
    "carts": "title: Carts\ncriteria:\n  abandoned_cart: {after: 2024-01-01}\n",
    "refunds": "title: Refunds\ncriteria:\n  has_order: {status: refunded}\n",
}
AS_OF = "2024-06-30"


def named_indexes(db: Path) -> dict[str, str]:
    """The database's indexes made by CREATE INDEX (segcli's, not sqlite-utils'), by name,
    with their table."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' "
            "AND sql IS NOT NULL AND tbl_name NOT LIKE '\\_sqlite%' ESCAPE '\\'"
        ).fetchall()
    conn.close()
    return dict(rows)


def imported(segcli: Segcli, files: dict[str, str]) -> None:
    for kind, text in files.items():
        result = segcli("import", kind, segcli.write(f"{kind}.csv", text))
        assert result.exit_code == 0, result.stderr


def test_a_new_store_has_exactly_the_indexes_it_uses(tmp_path):
    open_store(tmp_path / "store.db").close()
    assert named_indexes(tmp_path / "store.db") == KEPT


def test_imports_build_back_only_the_indexes_the_store_keeps(segcli):
    # A kind's first file sets its table's indexes aside and builds them again from
    # sqlite_master; a later one is merged with them in place.
    imported(segcli, FIRST_FILES)
    assert named_indexes(segcli.db) == KEPT
    imported(segcli, LATER_FILES)
    assert named_indexes(segcli.db) == KEPT


@pytest.fixture(scope="module")
def plans(tmp_path_factory) -> list[tuple[str, list[str]]]:
    """Each statement segcli ran through the store (SQL and query plan) while importing a
    later file of every kind, showing people by customer id, person key and email (with
    segments explained) and giving `info`."""
    segcli = Segcli(tmp_path_factory.mktemp("plans"))
    imported(segcli, FIRST_FILES)
    segments = segcli.dir / "segments"
    segments.mkdir()
    for name, text in SEGMENTS.items():
        (segments / f"{name}.yaml").write_text(text, encoding="utf-8")
    found: list[tuple[str, list[str]]] = []
    execute, scalar = Store.execute, Store.scalar

    def planned(store: Store, sql: str, params=()) -> None:
        if sql.lstrip().upper().startswith(("SELECT", "INSERT", "UPDATE", "DELETE", "CREATE")):
            try:
                rows = store.conn.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
            except sqlite3.Error:
                return  # not a query (CREATE TABLE without AS, CREATE INDEX)
            found.append((" ".join(sql.split()), [row[3] for row in rows]))

    def traced_execute(store: Store, sql: str, params=()):
        planned(store, sql, params)
        return execute(store, sql, params)

    def traced_scalar(store: Store, sql: str, params=()):
        planned(store, sql, params)
        return scalar(store, sql, params)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Store, "execute", traced_execute)
        patch.setattr(Store, "scalar", traced_scalar)
        imported(segcli, LATER_FILES)
        shows = [("C1", "--explain", name) for name in SEGMENTS]
        for args in (*shows, ("c:C2",), ("guest@example.com",)):
            result = segcli("--segments", segments, "customer", "show", *args, "--as-of", AS_OF)
            assert result.exit_code == 0, result.stderr
        result = segcli("info")
        assert result.exit_code == 0, result.stderr
    return found


# A piece of a statement's SQL, the searches its plan must show, the tables (by name or
# alias) it must not read whole, and what the statement is for.
STATEMENTS: list[tuple[str, str, list[str], list[str]]] = [
    (
        "CREATE TEMP TABLE id_emails AS",
        [
            f"SEARCH main.{t} USING INDEX {t}_customer_id"
            for t in ("customers", "orders", "reviews", "carts")
        ],
        ["main.customers", "main.orders", "main.reviews", "main.carts"],
        "identity: a customer id's email",
    ),
    (
        "CREATE TEMP TABLE email_state AS",
        ["SEARCH people USING COVERING INDEX people_email"]
        + [
            f"SEARCH main.{t} USING COVERING INDEX {t}_email"
            for t in ("customers", "orders", "reviews", "carts", "subscribers")
        ],
        ["people", "main.customers", "main.orders", "main.reviews", "main.carts"],
        "identity: who has an email",
    ),
    *(
        (
            f"UPDATE main.{table} AS t SET person_id = link.person_id FROM people AS link",
            [f"SEARCH t USING INDEX {table}_customer_id"],
            ["t"],
            f"identity: {table} relinked by customer id",
        )
        for table in ("customers", "orders", "reviews", "carts")
    ),
    *(
        (
            f"UPDATE main.{table} AS t SET person_id = link.person_id FROM temp.email_links",
            [f"SEARCH t USING INDEX {table}_email"],
            ["t"],
            f"identity: {table} relinked by email",
        )
        for table in ("customers", "orders", "reviews", "carts", "subscribers")
    ),
    *(
        (
            f"INSERT OR IGNORE INTO temp.affected SELECT person_id FROM main.{table} t",
            [f"SEARCH t USING INDEX {table}_{column}" for column in columns],
            ["t"],
            f"identity: people of {table} touched",
        )
        for table, columns in (
            ("customers", ("customer_id", "email")),
            ("orders", ("customer_id", "email")),
            ("subscribers", ("email",)),
        )
    ),
    (
        "CREATE TEMP TABLE attrs AS",
        [
            "SEARCH orders USING COVERING INDEX orders_person_date",
            "SEARCH subscribers USING COVERING INDEX subscribers_person_date",
            "SEARCH reviews USING COVERING INDEX reviews_person_date",
            "SEARCH carts USING COVERING INDEX carts_person_date",
            "SEARCH orders USING COVERING INDEX orders_billing",
            "SEARCH by_id USING INDEX customers_customer_id",
        ],
        ["orders", "subscribers", "reviews", "carts", "by_id", "by_email", "p"],
        "identity: attributes of the people touched",
    ),
    (
        "CREATE TEMP TABLE item_verdicts AS",
        ["SEARCH stored USING PRIMARY KEY", "SEARCH counted USING PRIMARY KEY"],
        ["stored", "counted"],
        "import: line items merged by order",
    ),
    (
        "SELECT person_id FROM people WHERE email = ?",
        ["SEARCH people USING COVERING INDEX people_email"],
        ["people"],
        "customer show: a person by email",
    ),
    (
        "CREATE TEMP TABLE counted_orders AS",
        ["SEARCH orders USING INDEX orders_person_date"],
        ["orders"],
        "customer show: the person's counted orders",
    ),
    (
        "CREATE TEMP TABLE facts_built AS",
        [
            "SEARCH s USING INDEX subscribers_person_date",
            "SEARCH o USING INDEX orders_consent",
            "SEARCH k USING COVERING INDEX carts_person_date",
        ],
        ["p", "s", "o", "k"],
        "customer show: the person's facts",
    ),
    (
        "SELECT order_id, created_at, status, total, counted FROM orders WHERE person_id = ?",
        ["SEARCH orders USING INDEX orders_person_date"],
        ["orders"],
        "customer show: recent orders",
    ),
    (
        "FROM orders o WHERE o.person_id = f.person_id AND o.counted = 1",
        ["SEARCH o USING INDEX orders_person_date", "SEARCH i USING PRIMARY KEY"],
        ["o", "i"],
        "customer show --explain: purchased",
    ),
    (
        "FROM reviews r WHERE r.person_id = f.person_id",
        ["SEARCH r USING INDEX reviews_person_date"],
        ["r"],
        "customer show --explain: reviewed",
    ),
    (
        "FROM carts k WHERE k.person_id = f.person_id",
        ["SEARCH k USING COVERING INDEX carts_person_date"],
        ["k"],
        "customer show --explain: abandoned_cart",
    ),
    (
        "FROM orders o WHERE o.person_id = f.person_id AND +o.created_at",
        ["SEARCH o USING INDEX orders_person_date"],
        ["o"],
        "customer show --explain: has_order",
    ),
    (
        "SELECT min(created_at), max(created_at) FROM orders",
        ["SCAN orders USING COVERING INDEX orders_person_date"],
        [],
        "info: the span of orders",
    ),
    (
        "SELECT file, finished_at, anonymous_orders FROM",
        ["SEARCH imports USING INDEX imports_kind"],
        ["imports"],
        "info: files without a customer column",
    ),
]


@pytest.mark.parametrize(
    ("statement", "searches", "not_scanned"),
    [pytest.param(*row, id=purpose) for *row, purpose in STATEMENTS],
)
def test_each_statement_is_planned_with_its_index(plans, statement, searches, not_scanned):
    matching = [plan for sql, plan in plans if statement in sql]
    assert matching, f"no statement ran with {statement!r}"
    for plan in matching:
        lines = "\n".join(plan)
        for search in searches:
            assert any(line.startswith(search) for line in plan), lines
        for table in not_scanned:
            assert not any(line.split(" USING ")[0] == f"SCAN {table}" for line in plan), lines

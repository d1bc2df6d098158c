"""People are a function of the stored records, never of the order files were imported in."""

from __future__ import annotations

import csv
import io
import itertools
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segcli.importer.load import ImportOptions, import_file
from segcli.store.db import open_store
from tests.helpers import people_of

CUSTOMER_IDS = ["C1", "C2", "C10", "C3"]
EMAILS = ["ann@example.com", "bob@example.com", "cy@example.com", "di@example.com"]
DATES = ["2024-01-05", "2024-02-10T10:00:00+02:00", "2024-03-01 08:00:00", ""]

spelled_email = st.sampled_from(EMAILS).flatmap(
    lambda email: st.sampled_from([email, email.upper(), f"  {email.title()} "])
)
maybe_id = st.one_of(st.none(), st.sampled_from(CUSTOMER_IDS))


@st.composite
def person_reference(draw):
    """A customer id, an email, or both (never neither)."""
    customer_id = draw(maybe_id)
    email = draw(st.one_of(st.none(), spelled_email)) if customer_id else draw(spelled_email)
    return customer_id or "", email or ""


@st.composite
def store_files(draw):
    """Files of every kind that share no keys with each other."""
    files = []
    customers, seen = [], set()
    for customer_id, email in draw(st.lists(person_reference(), max_size=6)):
        key = customer_id or email.strip().lower()
        if key in seen:
            continue
        seen.add(key)
        created = draw(st.sampled_from(DATES))
        consent = draw(st.sampled_from(["yes", "no", ""]))
        customers.append([customer_id, email, "Name", created, consent, "vip, gold"])
    header = ["customer_id", "email", "first_name", "created_at", "accepts_marketing", "tags"]
    files.append(("customers", header, customers))

    orders = []
    for number, (customer_id, email) in enumerate(draw(st.lists(person_reference(), max_size=8))):
        date = draw(st.sampled_from(DATES[:3]))
        status = draw(st.sampled_from(["paid", "refunded", ""]))
        orders.append([f"O{number}", customer_id, email, date, "10.25", status])
    header = ["order_id", "customer_id", "email", "created_at", "total", "status"]
    half = draw(st.integers(0, len(orders)))
    files.append(("orders", header, orders[:half]))
    files.append(("orders", header, orders[half:]))

    subscribers = {}
    for email in draw(st.lists(spelled_email, max_size=4)):
        date = draw(st.sampled_from(DATES))
        status = draw(st.sampled_from(["subscribed", "unsubscribed"]))
        subscribers[(email.strip().lower(), date, status)] = [email, date, status]
    files.append(("subscribers", ["email", "subscribed_at", "status"], list(subscribers.values())))

    carts = []
    for number, (customer_id, email) in enumerate(draw(st.lists(person_reference(), max_size=3))):
        carts.append([f"K{number}", customer_id, email, draw(st.sampled_from(DATES[:3]))])
    files.append(("carts", ["cart_id", "customer_id", "email", "created_at"], carts))

    reviews = []
    for number, (customer_id, email) in enumerate(draw(st.lists(person_reference(), max_size=3))):
        reviews.append([f"R{number}", customer_id, email, "SKU1", "4", "2024-01-01"])
    header = ["review_id", "customer_id", "email", "sku", "rating", "created_at"]
    files.append(("reviews", header, reviews))
    return files


def _write(directory: Path, number: int, header: list[str], rows: list[list[str]]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path = directory / f"file{number}.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def _import_all(db: Path, files: list[tuple[str, Path]]) -> tuple[list, list]:
    with open_store(db) as store:
        for kind, path in files:
            result = import_file(store, kind, path, ImportOptions())
            assert result.rejected == 0, result.rejects
    with sqlite3.connect(db) as conn:
        people = people_of(conn)
        unlinked = conn.execute(
            """SELECT count(*) FROM orders WHERE person_id IS NULL
            UNION ALL SELECT count(*) FROM subscribers WHERE person_id IS NULL
            UNION ALL SELECT count(*) FROM customers WHERE person_id IS NULL"""
        ).fetchall()
    return people, unlinked


@pytest.mark.slow
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(files=store_files(), order=st.randoms(use_true_random=False))
def test_people_do_not_depend_on_import_order(tmp_path_factory, files, order):
    directory = tmp_path_factory.mktemp("store")
    written = [
        (kind, _write(directory, number, header, rows))
        for number, (kind, header, rows) in enumerate(files)
    ]
    reference, unlinked = _import_all(directory / "in-order.db", written)
    assert all(count == 0 for (count,) in unlinked)
    shuffled = list(written)
    order.shuffle(shuffled)
    assert _import_all(directory / "shuffled.db", shuffled)[0] == reference


def test_every_email_only_record_goes_to_the_first_customer_id(tmp_path):
    """Two customers share an email: the guest order belongs to the smaller customer_id."""
    directory = tmp_path
    customers = _write(
        directory,
        1,
        ["customer_id", "email"],
        [["C2", "same@example.com"], ["C10", "same@example.com"]],
    )
    orders = _write(
        directory,
        2,
        ["order_id", "email", "created_at", "total"],
        [["O1", "SAME@example.com", "2024-01-01", "5"]],
    )
    for files in itertools.permutations([("orders", orders), ("customers", customers)]):
        db = directory / f"{files[0][0]}-first.db"
        people, _ = _import_all(db, list(files))
        owners = {row[0]: row[7] for row in people}
        # "C10" sorts before "C2" as text: customer ids are compared as text.
        assert owners == {"c:C10": "O1", "c:C2": None}


def test_the_latest_billed_order_gives_the_address_by_date_then_order_id(tmp_path):
    """Orders at the same instant: the greater order id's address. A fraction of a second
    makes an order later than the same second without one."""
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order_id,customer_id,created_at,total,country,region,city\n"
        # C1: three orders at the same second; O-3 has the greatest id.
        "O-10,C1,2024-05-01T10:00:00Z,5,DE,BE,Berlin\n"
        "O-3,C1,2024-05-01T10:00:00Z,5,FR,IDF,Paris\n"
        "O-2,C1,2024-05-01T10:00:00Z,5,GB,ENG,Leeds\n"
        # C2: the order half a second later wins over the greater id.
        "O-9,C2,2024-05-01T10:00:00Z,5,FR,IDF,Paris\n"
        "O-1,C2,2024-05-01T10:00:00.5Z,5,US,TX,Austin\n",
        encoding="utf-8",
    )
    store = open_store(tmp_path / "store.db")
    import_file(store, "orders", orders, ImportOptions())
    addresses = store.execute(
        "SELECT customer_id, country, region, city FROM people ORDER BY customer_id"
    ).fetchall()
    assert addresses == [("C1", "FR", "IDF", "Paris"), ("C2", "US", "TX", "Austin")]
    store.close()


def test_the_billing_index_holds_the_addressed_orders_and_is_what_attributes_read(tmp_path):
    """orders_billing (schema 5) holds just the orders with an address, after a first
    import (which rebuilds the table's indexes) and after a later one; working out
    people's attributes reads it instead of every order, for everyone and for some."""
    first, later = tmp_path / "orders.csv", tmp_path / "more.csv"
    first.write_text(
        "order_id,customer_id,created_at,total,country,region,city\n"
        "O1,C1,2024-05-01,5,DE,BE,Berlin\n"
        "O2,C1,2024-05-02,5,,,\n"
        "O3,C2,2024-05-03,5,,,Leeds\n",
        encoding="utf-8",
    )
    later.write_text(
        "order_id,customer_id,created_at,total,country,region,city\n"
        "O4,C3,2024-06-01,5,,,\n"
        "O5,C3,2024-06-02,5,US,,\n",
        encoding="utf-8",
    )
    store = open_store(tmp_path / "store.db")
    plans: list[str] = []
    execute = store.execute

    def explained(sql, params=()):
        if "CREATE TEMP TABLE attrs AS" in sql:
            query = sql.replace("CREATE TEMP TABLE attrs AS", "EXPLAIN QUERY PLAN", 1)
            plans.append(" | ".join(row[3] for row in execute(query, params)))
        return execute(sql, params)

    store.execute = explained
    for path in (first, later):
        import_file(store, "orders", path, ImportOptions())
        indexed = store.execute(
            "SELECT order_id FROM orders INDEXED BY orders_billing "
            "WHERE coalesce(country, region, city) IS NOT NULL ORDER BY order_id"
        ).fetchall()
        addressed = store.execute(
            "SELECT order_id FROM orders NOT INDEXED "
            "WHERE coalesce(country, region, city) IS NOT NULL ORDER BY order_id"
        ).fetchall()
        assert indexed == addressed
    assert [row[0] for row in addressed] == ["O1", "O3", "O5"]
    assert len(plans) == 2, plans
    for plan in plans:
        assert "COVERING INDEX orders_billing" in plan, plan
    cities = store.execute("SELECT customer_id, country, city FROM people ORDER BY 1").fetchall()
    assert cities == [("C1", "DE", "Berlin"), ("C2", None, "Leeds"), ("C3", "US", None)]
    store.close()

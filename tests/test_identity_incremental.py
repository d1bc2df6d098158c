"""Deriving only the people a file touches gives what deriving everyone again gives.

Files here reuse keys on purpose, so that later files change who earlier records belong
to: an order moves to another customer, a customer row changes its email, an order loses
its customer. After each import the whole derivation is run on top; it must change nothing.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segcli.importer import identity
from segcli.importer.load import ImportOptions, import_file
from segcli.store.db import open_store
from tests.helpers import people_of

IDS = ["C1", "C2", "C3"]
EMAILS = ["ann@example.com", "bob@example.com", "cy@example.com"]
DATES = ["2024-01-05", "2024-02-10 10:00:00", "2024-03-01"]

maybe_id = st.sampled_from(["", *IDS])
maybe_email = st.sampled_from(["", *EMAILS])


@st.composite
def a_file(draw):
    kind = draw(st.sampled_from(["customers", "orders", "subscribers", "carts", "reviews"]))
    rows = []
    for _ in range(draw(st.integers(1, 4))):
        customer_id, email = draw(maybe_id), draw(maybe_email)
        date = draw(st.sampled_from(DATES))
        if kind == "customers":
            if customer_id or email:
                country = draw(st.sampled_from(["", "FR", "US"]))
                rows.append([customer_id, email, draw(st.sampled_from(["Ann", ""])), date, country])
        elif kind == "orders":
            # Few order ids, so that files update each other's orders; some are anonymous.
            country = draw(st.sampled_from(["", "DE"]))
            rows.append(
                [draw(st.sampled_from(["O1", "O2", "O3"])), customer_id, email, date, "5", country]
            )
        elif kind == "subscribers":
            if email:
                rows.append([email, date, draw(st.sampled_from(["subscribed", "unsubscribed"]))])
        elif customer_id or email:
            rows.append([draw(st.sampled_from(["K1", "K2"])), customer_id, email, date])
    headers = {
        "customers": ["customer_id", "email", "first_name", "created_at", "country"],
        "orders": ["order_id", "customer_id", "email", "created_at", "total", "country"],
        "subscribers": ["email", "subscribed_at", "status"],
        "carts": ["cart_id", "customer_id", "email", "created_at"],
        "reviews": ["review_id", "customer_id", "email", "created_at"],
    }
    header = headers[kind]
    if kind == "reviews":
        header = [*header, "sku", "rating"]
        rows = [[*row, "S1", "4"] for row in rows]
    return kind, header, rows


def _people(conn: sqlite3.Connection) -> list:
    return (
        people_of(conn, with_ids=True)
        + conn.execute(
            """SELECT 'unlinked', group_concat(order_id) FROM orders
        WHERE person_id IS NULL AND (customer_id IS NOT NULL OR email IS NOT NULL)
        UNION ALL SELECT 'anonymous but linked', group_concat(order_id) FROM orders
        WHERE person_id IS NOT NULL AND customer_id IS NULL AND email IS NULL"""
        ).fetchall()
    )


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([header, *rows])
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


@pytest.mark.slow
@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(files=st.lists(a_file(), min_size=1, max_size=7))
def test_touched_people_match_everyone_derived_again(tmp_path_factory, monkeypatch, files):
    monkeypatch.setattr(identity, "WHOLE_DERIVATION_SHARE", float("inf"))
    directory = tmp_path_factory.mktemp("incremental")
    with open_store(directory / "store.db") as store:
        for number, (kind, header, rows) in enumerate(files):
            path = _write(directory / f"f{number}.csv", header, rows)
            result = import_file(store, kind, path, ImportOptions())
            assert result.written
            incremental = _people(store.conn)
            with store.transaction():
                identity.resolve_people(store)
            assert _people(store.conn) == incremental, f"after file {number} ({kind})"
            assert incremental[-1][1] is None and incremental[-2][1] is None


def test_a_small_file_takes_the_touched_path(tmp_path, monkeypatch):
    """With many people stored, a file that touches one of them derives only that one."""
    customers = [[f"C{n}", f"p{n}@example.com"] for n in range(40)]
    _write(tmp_path / "customers.csv", ["customer_id", "email"], customers)
    _write(
        tmp_path / "orders.csv",
        ["order_id", "customer_id", "email", "created_at", "total"],
        [["O1", "", "P7@example.com", "2024-01-01", "5"]],
    )
    calls = []
    whole = identity.resolve_people

    def spied(*args, **kwargs):
        calls.append("whole")
        whole(*args, **kwargs)

    monkeypatch.setattr(identity, "resolve_people", spied)
    with open_store(tmp_path / "store.db") as store:
        import_file(store, "customers", tmp_path / "customers.csv", ImportOptions())
        assert calls == ["whole"]  # the first file touches everyone
        import_file(store, "orders", tmp_path / "orders.csv", ImportOptions())
        assert calls == ["whole"]
        owner = store.scalar("SELECT p.customer_id FROM orders o JOIN people p USING (person_id)")
    assert owner == "C7"


@pytest.mark.parametrize("share", [0.0, float("inf")])
def test_an_order_that_loses_its_customer_belongs_to_no_one(tmp_path, monkeypatch, share):
    monkeypatch.setattr(identity, "WHOLE_DERIVATION_SHARE", share)
    header = ["order_id", "customer_id", "email", "created_at", "total"]
    first = _write(
        tmp_path / "a.csv",
        header,
        [["O1", "C1", "", "2024-01-01", "5"], ["O2", "C2", "", "2024-01-01", "5"]],
    )
    second = _write(tmp_path / "b.csv", header, [["O1", "", "", "2024-01-01", "5"]])
    with open_store(tmp_path / "store.db") as store:
        import_file(store, "orders", first, ImportOptions())
        result = import_file(store, "orders", second, ImportOptions())
        assert (result.updated, result.anonymous) == (1, 1)
        assert store.execute("SELECT order_id, person_id FROM orders ORDER BY 1").fetchall()[0] == (
            "O1",
            None,
        )
        assert store.scalar("SELECT group_concat(person_key) FROM people") == "c:C2"


@pytest.mark.parametrize("share", [0.0, float("inf")])
def test_a_guest_order_that_loses_its_email_leaves_its_owner(tmp_path, monkeypatch, share):
    """The order's old person (the customer who owns its email) loses its address and date."""
    monkeypatch.setattr(identity, "WHOLE_DERIVATION_SHARE", share)
    customers = _write(tmp_path / "c.csv", ["customer_id", "email"], [["C1", "ann@example.com"]])
    header = ["order_id", "email", "created_at", "total", "country"]
    guest = _write(tmp_path / "a.csv", header, [["O1", "ann@example.com", "2024-01-01", "5", "DE"]])
    anonymous = _write(tmp_path / "b.csv", header, [["O1", "", "2024-01-01", "5", "DE"]])
    person = "SELECT country, first_seen_at FROM people WHERE person_key = 'c:C1'"
    with open_store(tmp_path / "store.db") as store:
        import_file(store, "customers", customers, ImportOptions())
        import_file(store, "orders", guest, ImportOptions())
        assert store.execute(person).fetchone() == ("DE", "2024-01-01 00:00:00")
        import_file(store, "orders", anonymous, ImportOptions())
        assert store.execute(person).fetchone() == (None, None)


def test_records_of_settled_ids_and_emails_are_linked_as_written(tmp_path, monkeypatch):
    """Orders of customers whose rows give their email, and guest orders and subscriptions
    of emails a customer id owns, derive nobody: they are linked as they are written, and
    only their people's attributes are copied again."""
    monkeypatch.setattr(identity, "WHOLE_DERIVATION_SHARE", float("inf"))
    customers = [[f"C{n}", f"p{n}@example.com", f"Name{n}"] for n in range(1, 6)]
    _write(tmp_path / "customers.csv", ["customer_id", "email", "first_name"], customers)
    _write(
        tmp_path / "orders.csv",
        ["order_id", "customer_id", "email", "created_at", "total", "country"],
        [
            ["O1", "C1", "other@example.com", "2024-01-01", "5", "FR"],
            ["O2", "", "P2@example.com", "2024-02-01", "5", ""],
            ["O3", "C9", "new@example.com", "2024-03-01", "5", ""],
        ],
    )
    subscribers = [["p3@example.com", "2023-05-01"]]
    _write(tmp_path / "subscribers.csv", ["email", "subscribed_at"], subscribers)
    with open_store(tmp_path / "store.db") as store:
        import_file(store, "customers", tmp_path / "customers.csv", ImportOptions())
        import_file(store, "orders", tmp_path / "orders.csv", ImportOptions())
        # C1 and p2@ are settled; C9 (no customer row) is derived.
        assert store.execute("SELECT customer_id FROM temp.touched_ids").fetchall() == [("C9",)]
        assert store.execute("SELECT email FROM temp.touched_emails").fetchall() == [
            ("new@example.com",)
        ]
        links = store.execute(
            """SELECT o.order_id, p.person_key, p.country, p.first_seen_at FROM orders o
            JOIN people p USING (person_id) ORDER BY 1"""
        ).fetchall()
        assert links == [
            ("O1", "c:C1", "FR", "2024-01-01 00:00:00"),
            ("O2", "c:C2", None, "2024-02-01 00:00:00"),
            ("O3", "c:C9", None, "2024-03-01 00:00:00"),
        ]
        import_file(store, "subscribers", tmp_path / "subscribers.csv", ImportOptions())
        assert store.scalar("SELECT count(*) FROM temp.touched_emails") == 0
        assert store.execute(
            """SELECT p.person_key, p.first_seen_at FROM subscribers s
            JOIN people p USING (person_id)"""
        ).fetchall() == [("c:C3", "2023-05-01 00:00:00")]


def test_people_derived_at_once_are_numbered_in_customer_id_order(tmp_path):
    """Person ids follow customer ids (attributes are then read in the customer index's
    order), whatever order the file and the emails are in."""
    customers = [[f"C{n:03}", f"{999 - n}@example.com"] for n in range(200)]
    customers.reverse()
    _write(tmp_path / "customers.csv", ["customer_id", "email"], customers[100:] + customers[:100])
    with open_store(tmp_path / "store.db") as store:
        import_file(store, "customers", tmp_path / "customers.csv", ImportOptions())
        ids = [row[0] for row in store.execute("SELECT customer_id FROM people ORDER BY person_id")]
    assert ids == sorted(ids) and len(ids) == 200

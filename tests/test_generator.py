"""Tests for the store generator: determinism, scale, and that its files are valid and real."""

from __future__ import annotations

import csv
import datetime
import os
import re
import subprocess
import sys
import tracemalloc
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segcli.examples.generator import catalogue_size, generate_store

REPO = Path(__file__).resolve().parents[1]
END = datetime.date(2026, 10, 31)
PEOPLE = 2000

HEADERS = {
    "customers": [
        "customer_id",
        "email",
        "first_name",
        "last_name",
        "created_at",
        "accepts_marketing",
        "country",
        "region",
        "city",
        "tags",
        "customer_group",
        "channel",
        "loyalty_tier",
        "birthday_month",
    ],
    "orders": ["order_id", "customer_id", "email", "created_at", "total", "status", "currency"],
    "items": ["order_id", "product_id", "sku", "title", "collection", "quantity", "price"],
    "products": ["product_id", "sku", "title", "collections", "product_type", "vendor", "tags"],
    "reviews": [
        "review_id",
        "customer_id",
        "email",
        "product_id",
        "rating",
        "created_at",
        "title",
        "body",
    ],
    "subscribers": ["email", "subscribed_at", "status", "source"],
    "carts": ["cart_id", "customer_id", "email", "created_at", "total"],
}
DATE_COLUMNS = {
    "customers": "created_at",
    "orders": "created_at",
    "reviews": "created_at",
    "subscribers": "subscribed_at",
    "carts": "created_at",
}
STATUSES = {
    "paid",
    "pending",
    "refunded",
    "cancelled",
    "voided",
    "failed",
    "partially_refunded",
    "",
}
MONEY = re.compile(r"-?\d+\.\d{2}")
TIMESTAMP = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:(?P<sep>[T ])\d{2}:\d{2}:\d{2}(?P<zone>Z|[+-]\d{2}:\d{2})?)?"
)


@dataclass
class Store:
    """A generated store: where it is, the counts returned, and every file's rows."""

    path: Path
    counts: dict[str, int]
    headers: dict[str, list[str]]
    rows: dict[str, list[dict[str, str]]]


def read_store(path: Path, counts: dict[str, int]) -> Store:
    """Read back every file of a generated store with the csv module."""
    headers, rows = {}, {}
    for kind in HEADERS:
        with open(path / f"{kind}.csv", newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            headers[kind] = next(reader)
            rows[kind] = [dict(zip(headers[kind], row, strict=True)) for row in reader]
    return Store(path, counts, headers, rows)


def normal(email: str) -> str:
    """An email as segcli matches it."""
    return email.strip().lower()


def to_utc(text: str) -> datetime.datetime:
    """Read a date or date-time the way SPEC 2.1 does: offsets to UTC, naive is UTC."""
    match = TIMESTAMP.fullmatch(text)
    assert match, f"not an ISO date or date-time: {text!r}"
    if match["sep"] is None:
        return datetime.datetime.combine(
            datetime.date.fromisoformat(text), datetime.time(), datetime.UTC
        )
    moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        return moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(datetime.UTC)


def person_key(row: dict[str, str], customer_by_email: dict[str, str]) -> str:
    """Who a record belongs to, as SPEC 2.2 resolves it."""
    if row["customer_id"]:
        return row["customer_id"]
    email = normal(row["email"])
    return customer_by_email.get(email, email)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    path = tmp_path_factory.mktemp("store")
    return read_store(path, generate_store(path, PEOPLE, seed=11, end=END))


@pytest.fixture(scope="module")
def customer_by_email(store: Store) -> dict[str, str]:
    return {
        normal(row["email"]): row["customer_id"] for row in store.rows["customers"] if row["email"]
    }


# -- determinism and counts ------------------------------------------------------------


def test_same_seed_writes_identical_bytes(tmp_path: Path) -> None:
    first = generate_store(tmp_path / "a", 300, seed=5)
    second = generate_store(tmp_path / "b", 300, seed=5)
    assert first == second
    for kind in HEADERS:
        name = f"{kind}.csv"
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_other_seed_writes_other_files(tmp_path: Path) -> None:
    generate_store(tmp_path / "a", 300, seed=5)
    generate_store(tmp_path / "b", 300, seed=6)
    for name in ("customers.csv", "orders.csv", "items.csv"):
        assert (tmp_path / "a" / name).read_bytes() != (tmp_path / "b" / name).read_bytes(), name


def test_counts_are_the_data_rows_of_each_file(store: Store) -> None:
    assert set(store.counts) == set(HEADERS)
    for kind, header in HEADERS.items():
        assert store.headers[kind] == header
        assert store.counts[kind] == len(store.rows[kind]), kind
        assert store.counts[kind] > 0, kind


def test_files_use_bare_newlines_and_utf8(store: Store) -> None:
    data = (store.path / "customers.csv").read_bytes()
    assert b"\r" not in data
    assert not data.startswith(b"\xef\xbb\xbf")
    data.decode("utf-8")


def test_store_scales_with_people(store: Store) -> None:
    counts = store.counts
    assert 2.5 <= counts["orders"] / PEOPLE <= 3.5
    assert 1.8 <= counts["items"] / counts["orders"] <= 2.4
    assert 0.75 <= counts["customers"] / PEOPLE <= 0.85
    assert counts["products"] == catalogue_size(PEOPLE)
    assert catalogue_size(0) >= 40
    assert catalogue_size(100_000) < catalogue_size(1_000_000) == 2000
    assert catalogue_size(50_000_000) == 2000


def test_zero_people_writes_only_the_catalogue(tmp_path: Path) -> None:
    counts = generate_store(tmp_path / "nested" / "empty", 0)
    assert counts["products"] == catalogue_size(0)
    assert all(count == 0 for kind, count in counts.items() if kind != "products")
    assert (tmp_path / "nested" / "empty" / "orders.csv").read_text() == ",".join(
        HEADERS["orders"]
    ) + "\n"


def test_negative_people_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="people"):
        generate_store(tmp_path, -1)


@pytest.mark.slow
def test_memory_does_not_grow_with_people(tmp_path: Path) -> None:
    # The peak is the files' write buffers plus the catalogue; holding even one small
    # string per order of 3000 people (some 9000 orders) would add over 400 kB.
    peaks = []
    for people in (300, 3000):
        tracemalloc.start()
        generate_store(tmp_path / str(people), people)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] - peaks[0] < 400_000


# -- valid native files ----------------------------------------------------------------


def test_every_required_column_is_filled(store: Store) -> None:
    rows = store.rows
    assert all(row["customer_id"] or row["email"] for row in rows["customers"])
    for row in rows["orders"]:
        assert row["order_id"] and row["created_at"] and row["total"], row
        assert row["customer_id"] or row["email"], row
    assert all(row["order_id"] and (row["product_id"] or row["sku"]) for row in rows["items"])
    assert all(row["product_id"] or row["sku"] for row in rows["products"])
    for row in rows["reviews"]:
        assert row["customer_id"] or row["email"], row
        assert row["product_id"], row
        assert row["rating"] in {"1", "2", "3", "4", "5"}, row
    for row in rows["subscribers"]:
        assert row["email"].strip(), row
        assert row["status"] in {"subscribed", "unsubscribed"}, row
    for row in rows["carts"]:
        assert (row["customer_id"] or row["email"]) and row["created_at"], row


def test_ids_are_unique(store: Store) -> None:
    for kind, column in [
        ("customers", "customer_id"),
        ("orders", "order_id"),
        ("products", "product_id"),
        ("products", "sku"),
        ("reviews", "review_id"),
        ("carts", "cart_id"),
    ]:
        values = [row[column] for row in store.rows[kind]]
        assert len(values) == len(set(values)), (kind, column)
    assert all(re.fullmatch(r"C\d{6}", row["customer_id"]) for row in store.rows["customers"])


def test_money_has_two_decimals(store: Store) -> None:
    for kind, column in [("orders", "total"), ("items", "price"), ("carts", "total")]:
        values = [row[column] for row in store.rows[kind] if row[column]]
        assert values and all(MONEY.fullmatch(value) for value in values), (kind, column)


def test_order_total_is_exactly_the_sum_of_its_items(store: Store) -> None:
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for item in store.rows["items"]:
        sums[item["order_id"]] += int(item["quantity"]) * Decimal(item["price"])
    orders = {row["order_id"]: Decimal(row["total"]) for row in store.rows["orders"]}
    assert set(sums) == set(orders)  # every order has lines, every line an order
    mismatched = [order_id for order_id, total in orders.items() if sums[order_id] != total]
    assert mismatched == []


def test_items_reference_catalogue_products(store: Store) -> None:
    products = {row["product_id"]: row for row in store.rows["products"]}
    for item in store.rows["items"]:
        product = products[item["product_id"]]
        assert item["sku"] == product["sku"]
        assert item["title"] == product["title"]
        assert item["collection"] in product["collections"].split(";")
        assert int(item["quantity"]) != 0
    assert all(row["product_id"] in products for row in store.rows["reviews"])


def test_catalogue_has_collections_types_and_vendors(store: Store) -> None:
    products = store.rows["products"]
    collections = Counter(len(row["collections"].split(";")) for row in products)
    assert set(collections) == {1, 2, 3}
    assert len({name for row in products for name in row["collections"].split(";")}) >= 6
    assert 4 <= len({row["product_type"] for row in products}) <= 10
    assert 4 <= len({row["vendor"] for row in products}) <= 10


def test_no_date_is_after_the_end(store: Store) -> None:
    for kind, column in DATE_COLUMNS.items():
        for row in store.rows[kind]:
            if row[column]:
                assert to_utc(row[column]).date() <= END, (kind, row)
                # Not even the local date of an offset time may read as later.
                assert row[column][:10] <= END.isoformat(), (kind, row)


def test_orders_span_about_three_years(store: Store) -> None:
    dates = sorted(to_utc(row["created_at"]).date() for row in store.rows["orders"])
    assert dates[0] >= END - datetime.timedelta(days=3 * 366)
    assert dates[0] <= END - datetime.timedelta(days=2 * 365 + 300)
    assert dates[-1] >= END - datetime.timedelta(days=30)


def test_dates_come_in_every_native_form(store: Store) -> None:
    forms = Counter()
    for row in store.rows["orders"]:
        match = TIMESTAMP.fullmatch(row["created_at"])
        zone = match["zone"]
        forms["Z" if zone == "Z" else "offset" if zone else "naive"] += 1
    assert forms["Z"] > forms["naive"] > forms["offset"] > 0
    customer_dates = [row["created_at"] for row in store.rows["customers"]]
    assert any(re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) for value in customer_dates)


# -- realism ---------------------------------------------------------------------------


def test_every_status_appears_and_paid_dominates(store: Store) -> None:
    statuses = Counter(row["status"] for row in store.rows["orders"])
    assert set(statuses) == STATUSES
    assert statuses["paid"] > 0.7 * store.counts["orders"]
    # A store has one currency.
    assert {row["currency"] for row in store.rows["orders"]} == {"USD"}


def test_returns_are_negative_lines(store: Store) -> None:
    quantities = Counter(int(row["quantity"]) for row in store.rows["items"])
    assert any(quantity < 0 for quantity in quantities)
    assert quantities[1] > quantities[2] > quantities[3] > 0


def test_repeat_buyers_have_a_long_tail_in_date_order(
    store: Store, customer_by_email: dict[str, str]
) -> None:
    orders_by_person: dict[str, list[datetime.datetime]] = defaultdict(list)
    for row in store.rows["orders"]:  # order ids count up, so this is placement order
        orders_by_person[person_key(row, customer_by_email)].append(to_utc(row["created_at"]))
    sizes = Counter(len(instants) for instants in orders_by_person.values())
    buyers = len(orders_by_person)
    assert sizes[1] > 0.3 * buyers
    assert sum(sizes[n] for n in range(2, 6)) > 0.2 * buyers
    assert 0 < sum(count for n, count in sizes.items() if n >= 20) < 0.1 * buyers
    for instants in orders_by_person.values():
        assert instants == sorted(instants)


def test_people_are_customers_guests_prospects_and_visitors(
    store: Store, customer_by_email: dict[str, str]
) -> None:
    rows = store.rows
    customer_ids = {row["customer_id"] for row in rows["customers"]}
    ordering = {person_key(row, customer_by_email) for row in rows["orders"]}
    guests = {key for key in ordering if key not in customer_ids}
    assert all("@" in key for key in guests)
    assert 0.05 * PEOPLE < len(guests) < 0.15 * PEOPLE
    assert 0.05 * len(customer_ids) < len(customer_ids - ordering) < 0.2 * len(customer_ids)
    carting = {person_key(row, customer_by_email) for row in rows["carts"]}
    assert len(carting - ordering - customer_ids) > 0.02 * PEOPLE
    seen = customer_ids | ordering | carting | set(customer_by_email)
    prospects = {normal(row["email"]) for row in rows["subscribers"]} - seen
    assert len(prospects) > 0.03 * PEOPLE
    # Some customers checked out as guests before they had an account.
    assert any(
        not row["customer_id"] and normal(row["email"]) in customer_by_email
        for row in rows["orders"]
    )


def test_emails_are_unique_per_person_and_sometimes_messy(store: Store) -> None:
    customer_emails = [normal(row["email"]) for row in store.rows["customers"] if row["email"]]
    assert len(customer_emails) == len(set(customer_emails))
    owners: dict[str, set[str]] = defaultdict(set)
    for row in store.rows["orders"]:
        if row["customer_id"] and row["email"]:
            owners[normal(row["email"])].add(row["customer_id"])
    assert all(len(ids) == 1 for ids in owners.values())
    every_email = [
        row["email"]
        for kind in HEADERS
        if "email" in HEADERS[kind]
        for row in store.rows[kind]
        if row["email"]
    ]
    assert all(re.fullmatch(r"[a-z0-9._]+@[a-z.]+", normal(email)) for email in every_email)
    messy = [email for email in every_email if email != normal(email)]
    assert any(email != email.strip() for email in messy)
    assert any(email.strip() != email.strip().lower() for email in messy)
    assert len(messy) < 0.1 * len(every_email)


def test_customers_look_like_a_real_store(store: Store) -> None:
    customers = store.rows["customers"]
    names = {row["first_name"] for row in customers} | {row["last_name"] for row in customers}
    assert {"Zoë", "José", "Ødegaard"} <= names
    assert {row["accepts_marketing"].lower() for row in customers} == {
        "true",
        "false",
        "yes",
        "no",
        "",
    }
    assert {"US", "GB", "DE", "FR", "CA", "AU", "NO"} <= {row["country"] for row in customers}
    by_country = defaultdict(set)
    for row in customers:
        if row["country"] and row["region"]:
            by_country[row["region"]].add(row["country"])
    assert all(len(countries) == 1 for countries in by_country.values())
    assert any("," in row["tags"] for row in customers)
    assert any(row["tags"] == "" for row in customers)
    assert {"retail", "wholesale"} <= {row["customer_group"] for row in customers}
    assert {"web", "pos", "marketplace"} <= {row["channel"] for row in customers}
    for column in ("loyalty_tier", "birthday_month"):
        values = Counter(row[column] for row in customers)
        assert values[""] > 0 and len(values) > 3, column
    assert all(row["birthday_month"] in {"", *map(str, range(1, 13))} for row in customers)


def test_reviews_come_after_buying_the_product(
    store: Store, customer_by_email: dict[str, str]
) -> None:
    bought: dict[tuple[str, str], datetime.datetime] = {}
    placed = {row["order_id"]: row for row in store.rows["orders"]}
    for item in store.rows["items"]:
        order = placed[item["order_id"]]
        key = (person_key(order, customer_by_email), item["product_id"])
        instant = to_utc(order["created_at"])
        bought[key] = min(instant, bought.get(key, instant))
    reviews = store.rows["reviews"]
    assert reviews
    for review in reviews:
        key = (person_key(review, customer_by_email), review["product_id"])
        assert key in bought, review
        assert to_utc(review["created_at"]) > bought[key], review
    assert set(Counter(review["rating"] for review in reviews)) == {"1", "2", "3", "4", "5"}


def test_subscribers_are_a_history(store: Store) -> None:
    history: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in store.rows["subscribers"]:
        history[normal(row["email"])].append(row)
    assert any(not row["subscribed_at"] for row in store.rows["subscribers"])
    opted_out = [rows for rows in history.values() if len(rows) >= 2]
    assert opted_out
    for rows in opted_out:
        assert [row["status"] for row in rows[:2]] == ["subscribed", "unsubscribed"]
        assert to_utc(rows[0]["subscribed_at"]) < to_utc(rows[1]["subscribed_at"])


# -- properties and the command line ---------------------------------------------------


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    people=st.integers(min_value=1, max_value=40),
    seed=st.integers(min_value=0, max_value=2**32),
    end=st.dates(min_value=datetime.date(2000, 1, 1), max_value=datetime.date(2099, 12, 31)),
)
def test_any_small_store_is_consistent(
    tmp_path: Path, people: int, seed: int, end: datetime.date
) -> None:
    out = tmp_path / f"{people}-{seed}-{end}"
    generated = read_store(out, generate_store(out, people, seed=seed, end=end))
    for kind in HEADERS:
        assert generated.counts[kind] == len(generated.rows[kind])
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for item in generated.rows["items"]:
        totals[item["order_id"]] += int(item["quantity"]) * Decimal(item["price"])
    for order in generated.rows["orders"]:
        assert totals[order["order_id"]] == Decimal(order["total"])
    for kind, column in DATE_COLUMNS.items():
        for row in generated.rows[kind]:
            if row[column]:
                assert to_utc(row[column]).date() <= end


def test_command_line_writes_the_files(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "segcli.examples.generator",
            str(tmp_path / "out"),
            "--people",
            "50",
            "--seed",
            "3",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    summary = result.stderr.splitlines()
    assert len(summary) == len(HEADERS)
    for kind in HEADERS:
        path = tmp_path / "out" / f"{kind}.csv"
        assert path.exists()
        assert any(line.startswith(str(path)) for line in summary), kind
    assert (tmp_path / "out" / "orders.csv").read_bytes() == _orders_bytes(tmp_path / "api", 50, 3)


def test_command_line_refuses_negative_people(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "segcli.examples.generator", str(tmp_path), "--people", "-5"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "--people" in result.stderr


def _orders_bytes(path: Path, people: int, seed: int) -> bytes:
    generate_store(path, people, seed=seed)
    return (path / "orders.csv").read_bytes()

"""Real public files, as merchants and data sets have them, through the native importer."""

from __future__ import annotations

import csv
import gzip
import json
from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest

from segcli.examples.demo import example_segments_dir
from segcli.rules.fields import EXPORT_FIELDS
from segcli.segments.catalog import load_catalog
from segcli.segments.evaluate import open_evaluation
from segcli.store.db import open_store
from tests.conftest import ENGINES, REAL_DATA
from tests.helpers import exported_keys

pytestmark = pytest.mark.skipif(not REAL_DATA.exists(), reason="shared/data/real is not here")

RETAIL_MAP = [
    "--map",
    "InvoiceNo=order_id",
    "--map",
    "CustomerID=customer_id",
    "--map",
    "InvoiceDate=created_at",
    "--map",
    "StockCode=sku",
    "--map",
    "Description=title",
    "--map",
    "Quantity=quantity",
    "--map",
    "UnitPrice=price",
    "--map",
    "Country=country",
]
RETAIL_DAY = REAL_DATA / "online-retail" / "2010-12-01.csv"
RETAIL_UK_DATES = REAL_DATA / "online-retail" / "uk-date-sample" / "OnlineRetail.csv"


def retail_invoices(path, rows=None):
    """Per invoice, by hand: the sum of quantity × price, its lines and its customer."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    lines: dict[str, int] = defaultdict(int)
    customers: dict[str, set[str]] = defaultdict(set)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for number, row in enumerate(csv.DictReader(handle)):
            if rows is not None and number >= rows:
                break
            invoice = row["InvoiceNo"]
            totals[invoice] += int(row["Quantity"]) * Decimal(row["UnitPrice"])
            lines[invoice] += 1
            # 17850.0 and 17850 are the same customer id.
            customers[invoice].add(row["CustomerID"].removesuffix(".0"))
    return totals, lines, customers


def test_online_retail_day_imports_as_line_item_orders(segcli):
    """Totals are the exact sums of quantity × price; invoices without a customer are kept."""
    totals, lines, customers = retail_invoices(RETAIL_DAY)
    anonymous = sorted(invoice for invoice, ids in customers.items() if ids == {""})
    assert len(totals) == 143 and len(anonymous) == 16

    result = segcli("import", "orders", RETAIL_DAY, *RETAIL_MAP)

    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert f"{RETAIL_DAY}: read as native orders file with --map, 8 columns" in result.stderr
    assert "3,108 rows read: 3,108 inserted" in result.stderr
    assert "143 orders with 3,108 line items: 143 inserted" in result.stderr
    assert "16 orders have no customer id or email: they count for no one" in result.stderr
    stored = dict(segcli.rows("SELECT order_id, total FROM orders"))
    assert stored == {invoice: int(total * 10_000) for invoice, total in totals.items()}
    stored_lines = dict(segcli.rows("SELECT order_id, count(*) FROM items GROUP BY order_id"))
    assert stored_lines == lines
    stored_customers = dict(segcli.rows("SELECT order_id, customer_id FROM orders"))
    assert stored_customers == {invoice: (ids.pop() or None) for invoice, ids in customers.items()}
    assert [
        order
        for (order,) in segcli.rows(
            "SELECT order_id FROM orders WHERE person_id IS NULL ORDER BY 1"
        )
    ] == anonymous
    assert segcli.value("SELECT count(*) FROM people") == 98
    assert segcli.value("SELECT country FROM people WHERE customer_id = '17850'") == (
        "United Kingdom"
    )

    again = segcli("import", "orders", RETAIL_DAY, *RETAIL_MAP)
    assert "0 inserted, 0 updated, 3,108 unchanged" in again.stderr


def test_online_retail_with_uk_dates_needs_dayfirst(segcli):
    """The same 149 rows saved with D/M/YYYY dates: refused until the order is given."""
    refused = segcli("import", "orders", RETAIL_UK_DATES, *RETAIL_MAP)
    assert refused.exit_code == 1
    assert "'1/12/2010 8:26'" in refused.stderr
    assert "1 December 2010" in refused.stderr and "12 January 2010" in refused.stderr
    assert segcli.value("SELECT count(*) FROM orders") in (None, 0)

    result = segcli("import", "orders", RETAIL_UK_DATES, *RETAIL_MAP, "--dayfirst")
    assert result.exit_code == 0, result.stderr
    assert "dates day first (--dayfirst)" in result.stderr
    uk = dict(segcli.rows("SELECT order_id, total FROM orders"))
    totals, _, _ = retail_invoices(RETAIL_DAY, rows=149)
    assert uk == {invoice: int(total * 10_000) for invoice, total in totals.items()}
    assert segcli.rows("SELECT DISTINCT date(created_at) FROM orders") == [("2010-12-01",)]

    # The full day file writes the same customer as 17850.0: one person, not two.
    assert segcli("import", "orders", RETAIL_DAY, *RETAIL_MAP).exit_code == 0
    assert segcli.value("SELECT count(*) FROM people WHERE customer_id LIKE '17850%'") == 1


def test_olist_products_with_a_quoted_header(segcli):
    path = REAL_DATA / "olist" / "olist_products_dataset.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        source = list(csv.DictReader(handle))
    result = segcli("import", "products", path, "--map", "product_category_name=product_type")
    assert result.exit_code == 0, result.stderr
    assert segcli.value("SELECT count(*) FROM products") == len(source) == 32_951
    categories = {row["product_category_name"] for row in source if row["product_category_name"]}
    stored = {t for (t,) in segcli.rows("SELECT DISTINCT product_type FROM products") if t}
    assert stored == categories


def test_woocommerce_customers_download_with_bom_and_blank_rows(segcli):
    path = REAL_DATA / "woocommerce" / "db-csv-editor" / "wc-customers.csv"
    result = segcli(
        "import",
        "customers",
        path,
        "--map",
        "Country / Region=country",
        "--map",
        "Sign Up=created_at",
    )
    assert result.exit_code == 0, result.stderr
    assert f"{path}: 1 row read: 1 inserted" in result.stderr
    with path.open(newline="", encoding="utf-8-sig") as handle:
        [source] = [row for row in csv.DictReader(handle) if any(row.values())]
    [(email, created_at, custom)] = segcli.rows("SELECT email, created_at, custom FROM customers")
    assert email == source["Email"].strip().lower()
    assert created_at == source["Sign Up"].replace("T", " ")
    # Columns segcli has no place for are kept as custom fields; the BOM is not in a name.
    assert json.loads(custom)["name"] == source["Name"]


RETAIL_FULL = REAL_DATA / "online-retail" / "online-retail-dataset.csv.gz"


@pytest.mark.slow
def test_the_whole_online_retail_data_set_imports_from_its_gzip_file(segcli):
    """541,909 invoice lines, read compressed: every invoice's total and customer."""
    expected: dict[str, Decimal] = defaultdict(Decimal)
    customers: dict[str, str] = {}
    with gzip.open(RETAIL_FULL, "rt", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            invoice = row["InvoiceNo"]
            expected[invoice] += int(row["Quantity"]) * Decimal(row["UnitPrice"])
            customers.setdefault(invoice, row["CustomerID"].removesuffix(".0"))

    result = segcli("import", "orders", RETAIL_FULL, *RETAIL_MAP)

    assert result.exit_code == 0, result.stderr
    assert "541,909 rows read: 541,909 inserted" in result.stderr
    assert f"{len(expected):,} orders with 541,909 line items" in result.stderr
    anonymous = sum(1 for customer in customers.values() if not customer)
    assert f"{anonymous:,} orders have no customer id or email" in result.stderr
    stored = dict(segcli.rows("SELECT order_id, total FROM orders"))
    assert stored == {invoice: int(total * 10_000) for invoice, total in expected.items()}
    people = {customer for customer in customers.values() if customer}
    assert segcli.value("SELECT count(*) FROM people") == len(people)


# Across the Online Retail year (December 2010 to December 2011), and long after it.
REAL_AS_OF = [date(2010, 12, 31), date(2011, 6, 30), date(2011, 12, 10), date(2025, 6, 1)]


@pytest.mark.slow
def test_both_engines_give_every_segment_the_same_members_on_the_real_files(segcli):
    """The whole Online Retail data set (a year of repeat buyers, returns, anonymous
    invoices) with Shopify's and WooCommerce's exports beside it: every built-in and
    example segment has the same members, in the same order, on DuckDB and on SQLite;
    everyone's facts are the same values; and the counts and an export of every field
    are the same bytes."""
    shopify = REAL_DATA / "shopify"
    for args in (
        ("orders", RETAIL_FULL, *RETAIL_MAP),
        ("orders", shopify / "forezia-dev-store" / "orders_export.csv", "--from", "shopify"),
        ("customers", shopify / "db-csv-editor" / "customers_export.csv", "--from", "shopify"),
        ("customers", REAL_DATA / "woocommerce" / "db-csv-editor" / "wc-customers.csv")
        + ("--from", "woocommerce"),
    ):
        result = segcli("import", *args)
        assert result.exit_code == 0, result.stderr
    segments = load_catalog(example_segments_dir()).usable()
    fields = ",".join(EXPORT_FIELDS)
    for as_of in REAL_AS_OF:
        members, facts, answers = {}, {}, {}
        for engine in ENGINES:
            with (
                open_store(segcli.db) as store,
                open_evaluation(store, as_of, segments, engine=engine) as evaluation,
            ):
                members[engine] = {
                    name: [m["person_key"] for m in evaluation.members(segment)]
                    for name, segment in segments.items()
                }
                facts[engine] = list(evaluation.members(segments["everyone"]))
            options = ("--engine", engine, "--segments", example_segments_dir())
            when = ("--as-of", as_of.isoformat())
            answers[engine] = [
                segcli(*options, "segment", "calculate", *when, "--format", "json"),
                segcli(*options, "segment", "export", "everyone", *when, "--fields", fields),
            ]
        assert members["duckdb"] == members["sqlite"], as_of
        assert facts["duckdb"] == facts["sqlite"], as_of
        for duck, lite in zip(answers["duckdb"], answers["sqlite"], strict=True):
            assert duck.exit_code == lite.exit_code == 0, duck.stderr + lite.stderr
            assert duck.stdout == lite.stdout, as_of
        assert members["sqlite"]["everyone"], as_of


def test_a_damaged_gzip_file_is_refused_whole(segcli):
    damaged = segcli.write("orders.csv.gz", "")
    damaged.write_bytes(RETAIL_FULL.read_bytes()[:200_000])
    result = segcli("import", "orders", damaged, *RETAIL_MAP)
    assert result.exit_code == 1
    assert "is a damaged gzip file" in result.stderr
    assert "Traceback" not in result.stderr
    assert segcli.value("SELECT count(*) FROM orders") == 0


def test_snapshots_changes_and_history_on_the_online_retail_year(segcli):
    """A year of a real shop's invoices: snapshots taken out of date order, the changes
    between them, and the history read from them, each against the members exported as
    of its date."""
    result = segcli("import", "orders", RETAIL_FULL, *RETAIL_MAP)
    assert result.exit_code == 0, result.stderr
    days = ["2011-03-31", "2011-06-30", "2011-09-30", "2011-12-31"]
    segments = ("--segments", example_segments_dir())

    def members(name: str, day: str) -> set[str]:
        return exported_keys(segcli, name, day, *segments)

    for day in (days[2], days[0], days[3], days[1]):
        taken = segcli(*segments, "segment", "snapshot", "--as-of", day)
        assert taken.exit_code == 0, taken.stderr
    for name in ("repeat-customers", "at-risk-repeat", "win-back"):
        at = {day: members(name, day) for day in days}
        for start, end in zip(days, days[1:], strict=False):
            changes = segcli(
                *segments,
                "segment",
                "changes",
                name,
                "--from",
                start,
                "--to",
                end,
                "--format",
                "json",
            )
            assert changes.exit_code == 0, changes.stderr
            assert "(read from its snapshot) to" in changes.stderr
            rows = json.loads(changes.stdout)
            assert {r["person_key"] for r in rows if r["change"] == "entered"} == (
                at[end] - at[start]
            ), (name, start, end)
            assert {r["person_key"] for r in rows if r["change"] == "exited"} == (
                at[start] - at[end]
            ), (name, start, end)
        history = segcli(
            *segments,
            "segment",
            "history",
            name,
            "--from",
            days[0],
            "--to",
            days[3],
            "--every",
            "month",
            "--format",
            "json",
        )
        assert history.exit_code == 0, history.stderr
        points = {row["date"]: row for row in json.loads(history.stdout)}
        for day in days:
            assert points[day]["source"] == "snapshot"
            assert points[day]["members"] == len(at[day]), (name, day)
    assert len(members("repeat-customers", days[3])) > 1_000

"""A store has one currency: orders in another are converted with the merchant's rates.

Without a rate they are rejected, with the currency and the fix in the reason; a file in
several currencies for a store that has none yet is refused; `info` shows the store's
currency and how many orders were converted.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from segcli.importer.currencies import Conversion, Rates
from segcli.store.db import Store
from segcli.store.schema import MIGRATION_NAMES, migrations
from tests.conftest import REAL_DATA, needs_real_data

MIXED = """\
order_id,customer_id,created_at,total,currency
O1,C1,2024-01-05,100,EUR
O2,C1,2024-02-05,50,USD
O3,C2,2024-03-01,1000,JPY
O4,C2,2024-03-02,10,
O5,C3,2024-03-03,20,eur
"""


def import_mixed(segcli, *options):
    """Import the orders in three currencies (and none) with ``options``."""
    return segcli("import", "orders", segcli.write("orders.csv", MIXED), *options)


def orders(segcli) -> list[tuple]:
    return segcli.rows(
        "SELECT order_id, total, currency, original_total, rate FROM orders ORDER BY order_id"
    )


def info(segcli) -> dict:
    result = segcli("info", "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_a_file_in_several_currencies_is_refused_while_the_store_has_none(segcli):
    result = segcli("import", "orders", segcli.write("orders.csv", MIXED))
    assert result.exit_code == 1
    assert "its orders are in 3 currencies (EUR (2), JPY (1), USD (1))" in result.stderr
    assert "--currency EUR --rate JPY=RATE" in result.stderr
    assert not segcli.db.exists() or segcli.value("SELECT count(*) FROM orders") == 0


@pytest.mark.parametrize(
    "text",
    [
        MIXED,
        # The line-item form: each order's currency on its first row.
        "order_id,customer_id,created_at,currency,sku,price\n"
        "O1,C1,2024-01-05,EUR,A,1\nO1,,,,B,2\nO2,C2,2024-01-06,USD,A,1\n",
    ],
)
def test_several_currencies_are_refused_after_other_orders_too(segcli, text):
    """Staged into a store that has orders but no currency: refused, the store as it was."""
    first = segcli.write("first.csv", "order_id,customer_id,created_at,total\nO0,C0,2024-01-01,5\n")
    assert segcli("import", "orders", first).exit_code == 0
    before = segcli.dump()
    result = segcli("import", "orders", segcli.write("more.csv", text))
    assert result.exit_code == 1
    assert "currencies" in result.stderr and "the store has no currency yet" in result.stderr
    assert segcli.dump() == before
    assert info(segcli)["currency"] is None


def test_the_one_currency_of_the_first_file_is_the_stores(segcli):
    path = segcli.write(
        "orders.csv",
        "order_id,customer_id,created_at,total,currency\n"
        "O1,C1,2024-01-05,100,eur\nO2,C1,2024-01-06,10,\n",
    )
    result = segcli("import", "orders", path)
    assert result.exit_code == 0, result.stderr
    assert "the store's currency is EUR" in result.stderr
    assert info(segcli)["currency"] == "EUR"
    # The next file is not told again.
    again = segcli("import", "orders", path)
    assert "the store's currency" not in again.stderr


def test_orders_without_a_rate_are_rejected_with_the_currency_and_the_fix(segcli):
    result = import_mixed(segcli, "--currency", "eur")
    assert result.exit_code == 3
    assert (
        "orders.csv, line 3: rejected: currency: the order is in USD, not the store's EUR, "
        "and no rate was given for USD: add --rate USD=RATE (what one USD is in EUR) or a "
        "line to a --rates file"
    ) in result.stderr
    assert "orders.csv, line 4: rejected: currency: the order is in JPY" in result.stderr
    assert orders(segcli) == [
        ("O1", 1_000_000, "EUR", None, None),
        ("O4", 100_000, None, None, None),
        ("O5", 200_000, "EUR", None, None),
    ]


def test_rates_convert_to_the_cent_and_keep_the_original(segcli):
    path = segcli.write("orders.csv", MIXED)
    result = segcli(
        "import",
        "orders",
        path,
        "--currency",
        "EUR",
        "--rate",
        "USD=0.9237",
        "--rate",
        "jpy=0.0061",
    )
    assert result.exit_code == 0, result.stderr
    assert "2 orders converted into EUR: USD (1), JPY (1)" in result.stderr
    # 50 USD x 0.9237 = 46.185 EUR: 46.19, half away from zero; 1000 JPY = 6.10 EUR.
    assert orders(segcli) == [
        ("O1", 1_000_000, "EUR", None, None),
        ("O2", 461_900, "USD", 500_000, "0.9237"),
        ("O3", 61_000, "JPY", 10_000_000, "0.0061"),
        ("O4", 100_000, None, None, None),
        ("O5", 200_000, "EUR", None, None),
    ]
    figures = info(segcli)
    assert (figures["currency"], figures["converted_orders"]) == ("EUR", 2)
    table = segcli("info").stdout.splitlines()
    assert "currency          EUR (2 orders converted from other currencies)" in table
    # The same file with the same rates changes nothing; another rate updates the order.
    same = segcli("import", "orders", path, "--rate", "USD=0.9237", "--rate", "JPY=0.0061")
    assert "0 inserted, 0 updated, 5 unchanged" in same.stderr
    other = segcli("import", "orders", path, "--rate", "USD=0.95", "--rate", "JPY=0.0061")
    assert "0 inserted, 1 updated, 4 unchanged" in other.stderr
    assert orders(segcli)[1] == ("O2", 475_000, "USD", 500_000, "0.95")


@pytest.mark.both_engines
def test_segments_add_the_converted_totals(segcli):
    import_mixed(
        segcli,
        "--currency",
        "EUR",
        "--rate",
        "USD=0.9",
        "--rate",
        "JPY=0.006",
    )
    result = segcli(
        "segment",
        "calculate",
        "--criteria",
        "{total_spent: {gt: 100}}",
        "--as-of",
        "2024-12-31",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.stderr
    [row] = json.loads(result.stdout)
    # C1: 100 EUR + 50 USD at 0.9 = 145.00; C2: 6.00 + 10 = 16.00; C3: 20.
    assert (row["count"], row["total_spent"]) == (1, 145)


def test_a_store_in_yen_rounds_to_the_yen(segcli):
    path = segcli.write(
        "orders.csv",
        "order_id,customer_id,created_at,total,currency\n"
        "O1,C1,2024-01-05,10.37,EUR\nO2,C1,2024-01-05,-10.37,EUR\n"
        "O3,C1,2024-01-05,5000,JPY\n",
    )
    result = segcli("import", "orders", path, "--currency", "JPY", "--rate", "EUR=161.55")
    assert result.exit_code == 0, result.stderr
    # 10.37 x 161.55 = 1675.2735 yen: 1675; a refund the same, negative.
    assert [row[:2] for row in orders(segcli)] == [
        ("O1", 16_750_000),
        ("O2", -16_750_000),
        ("O3", 50_000_000),
    ]


RATES = """\
date,currency,rate
2024-01-01,USD,0.90
2024-02-01,USD,0.95
2024-03-01,JPY,0.006
"""


def test_a_rates_file_gives_each_order_the_rate_of_its_day(segcli):
    rates = segcli.write("rates.csv", RATES)
    path = segcli.write(
        "orders.csv",
        "order_id,customer_id,created_at,total,currency\n"
        "O1,C1,2024-01-31T23:59:59Z,100,USD\n"
        "O2,C1,2024-02-01T00:00:00Z,100,USD\n"
        "O3,C1,2024-02-29T10:00:00Z,1000,JPY\n"
        "O4,C1,2023-12-31,100,USD\n",
    )
    result = segcli("import", "orders", path, "--currency", "EUR", "--rates", rates)
    assert result.exit_code == 3
    assert (
        f"orders.csv, line 4: rejected: currency: the order is in JPY, not the store's EUR, "
        f"and {rates} has no rate for JPY on or before 2024-02-29 (its first is from 2024-03-01)"
    ) in result.stderr
    assert "line 5: rejected: currency: the order is in USD" in result.stderr
    assert [row[:2] + row[4:] for row in orders(segcli)] == [
        ("O1", 900_000, "0.90"),
        ("O2", 950_000, "0.95"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("currency,value\nUSD,1\n", "is not a rates file: it has no column rate"),
        ("currency,rate\nUSD,abc\n", "line 2: rate: 'abc' is not a rate"),
        ("currency,rate\nUSD,-1\n", "line 2: rate: '-1' is not a rate"),
        ("currency,rate\nDollars,1\n", "line 2: currency: 'Dollars' is not a currency code"),
        ("currency,rate\nUSD,1\nUSD,2\n", "line 3: USD has more than one rate and no date"),
        ("date,currency,rate\n2024-13-01,USD,1\n", "line 2: date: '2024-13-01' is not a date"),
        ("date,currency,rate\n2024-01-01,USD,1\n2024-01-01,USD,2\n", "USD has two rates"),
    ],
)
def test_a_bad_rates_file_is_refused_before_anything_is_written(segcli, text, message):
    rates = segcli.write("rates.csv", text)
    result = import_mixed(segcli, "--rates", rates)
    assert result.exit_code == 1
    assert message in result.stderr
    assert not segcli.db.exists() or segcli.value("SELECT count(*) FROM orders") == 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--rate", "USD"), "'USD' is not CURRENCY=RATE"),
        (("--rate", "USD=x"), "--rate USD: 'x' is not a rate"),
        (("--rate", "USD=1", "--rate", "usd=2"), "--rate gives USD twice"),
        (("--currency", "euro"), "'euro' is not a currency code"),
    ],
)
def test_bad_rate_options_are_usage_errors(segcli, options, message):
    result = import_mixed(segcli, *options)
    assert result.exit_code == 2
    assert message in result.stderr


def test_rates_go_with_orders_files(segcli):
    path = segcli.write("customers.csv", "customer_id\nC1\n")
    result = segcli("import", "customers", path, "--rate", "USD=1")
    assert result.exit_code == 2
    assert "--currency, --rate and --rates go with orders files" in result.stderr


def test_a_rate_given_twice_by_option_and_file_is_a_usage_error(segcli):
    rates = segcli.write("rates.csv", "currency,rate\nUSD,0.9\n")
    result = import_mixed(
        segcli,
        "--rates",
        rates,
        "--rate",
        "USD=0.8",
    )
    assert result.exit_code == 2
    assert "USD: a rate is given by --rate and by --rates" in result.stderr


def test_the_stores_currency_does_not_change(segcli):
    segcli(
        "import",
        "orders",
        segcli.write(
            "first.csv", "order_id,customer_id,created_at,total,currency\nO1,C1,2024-01-01,1,EUR\n"
        ),
    )
    result = import_mixed(segcli, "--currency", "USD")
    assert result.exit_code == 1
    assert "--currency USD: the store's currency is EUR, and a store has one" in result.stderr


def test_line_item_orders_are_summed_then_converted(segcli):
    path = segcli.write(
        "lines.csv",
        "order_id,customer_id,created_at,currency,sku,quantity,price\n"
        "O1,C1,2024-01-05,USD,A,2,9.99\n"
        "O1,,,,B,1,0.03\n"
        "O2,C2,2024-01-05,GBP,A,1,5\n"
        "O2,,,,B,1,5\n",
    )
    result = segcli("import", "orders", path, "--currency", "EUR", "--rate", "USD=0.5")
    assert result.exit_code == 3
    # O1: 20.01 USD x 0.5 = 10.005 EUR: 10.01; O2 has no rate: both its rows are rejected.
    assert orders(segcli) == [("O1", 100_100, "USD", 200_100, "0.5")]
    assert "lines.csv, line 4: rejected: currency: the order is in GBP" in result.stderr
    assert "lines.csv, line 5: rejected: currency: the order is in GBP" in result.stderr
    # The lines keep the prices they were sold at.
    assert segcli.rows("SELECT sku, price FROM items ORDER BY sku") == [("A", 99_900), ("B", 300)]


def test_a_dry_run_says_what_would_be_converted_and_keeps_no_currency(segcli):
    result = import_mixed(
        segcli,
        "--currency",
        "EUR",
        "--rate",
        "USD=1",
        "--rate",
        "JPY=0.01",
        "--dry-run",
    )
    assert result.exit_code == 0, result.stderr
    assert "2 orders would be converted into EUR" in result.stderr
    assert not segcli.db.exists()


@needs_real_data
def test_the_real_shopify_export_names_its_currency(segcli):
    path = REAL_DATA / "shopify" / "forezia-dev-store" / "orders_export.csv"
    result = segcli("import", "orders", path, "--from", "shopify")
    assert result.exit_code == 0, result.stderr
    assert "the store's currency is EUR" in result.stderr
    assert info(segcli)["currency"] == "EUR"


def test_an_older_store_in_one_currency_keeps_it_and_one_in_several_says_so(segcli, tmp_path):
    """A database from before currencies: one currency becomes the store's; orders in
    several were added together, which info counts."""
    version = MIGRATION_NAMES.index("m007_store_currency")
    for name, currencies in (("one.db", ["EUR", "EUR", None]), ("two.db", ["EUR", "USD", None])):
        path = tmp_path / name
        conn = sqlite3.connect(path, isolation_level=None)
        with Store(path, conn).transaction() as store:
            migrations.apply(store.db, stop_before=MIGRATION_NAMES[version])
            for n, currency in enumerate(currencies):
                conn.execute(
                    "INSERT INTO orders (order_id, created_at, total, currency, counted) "
                    "VALUES (?, '2024-01-01 00:00:00', 10000, ?, 1)",
                    (f"O{n}", currency),
                )
        conn.close()
    one = segcli("--db", tmp_path / "one.db", "info", "--format", "json")
    two = segcli("--db", tmp_path / "two.db", "info", "--format", "json")
    assert one.exit_code == two.exit_code == 0, (one.stderr, two.stderr)
    assert json.loads(one.stdout)["currency"] == "EUR"
    figures = json.loads(two.stdout)
    assert (figures["currency"], figures["unconverted_orders"]) == (None, 2)
    table = segcli("--db", tmp_path / "two.db", "info").stdout
    lines = table.splitlines()
    assert "currency          none yet (no orders file has named one; see import --currency)" in (
        lines
    )
    assert any(
        line.startswith("not converted     2 orders in another currency than the store's")
        for line in lines
    )


@given(
    total=st.integers(-(10**12), 10**12),
    rate=st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("10000"), places=6),
    store=st.sampled_from(["EUR", "JPY", "KWD"]),
)
def test_conversion_is_decimal_arithmetic_rounded_half_away_from_zero(total, rate, store):
    conversion = Conversion(store, Rates(fixed={"XXX": rate}))
    converted, shown = conversion.convert(total, "XXX", "2024-01-01 00:00:00")
    places = {"EUR": Decimal("0.01"), "JPY": Decimal("1"), "KWD": Decimal("0.001")}[store]
    exact = (Decimal(total) / 10_000 * rate).quantize(places, rounding=ROUND_HALF_UP)
    assert converted == int(exact * 10_000)
    assert Decimal(shown) == rate


@pytest.mark.both_engines
def test_export_of_members_is_unchanged_by_conversion(segcli):
    """Exports write the stored (converted) total spent exactly."""
    import_mixed(
        segcli,
        "--currency",
        "EUR",
        "--rate",
        "USD=0.9237",
        "--rate",
        "JPY=0.0061",
    )
    result = segcli(
        "segment",
        "export",
        "everyone",
        "--as-of",
        "2024-12-31",
        "--fields",
        "customer_id,total_spent",
    )
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows == [
        ["customer_id", "total_spent"],
        ["C1", "146.19"],
        ["C2", "16.10"],
        ["C3", "20.00"],
    ]


def test_no_currency_column_leaves_the_store_without_one(segcli):
    path = segcli.write("orders.csv", "order_id,customer_id,created_at,total\nO1,C1,2024-01-01,5\n")
    assert segcli("import", "orders", path).exit_code == 0
    assert info(segcli)["currency"] is None
    with sqlite3.connect(segcli.db) as conn:
        assert conn.execute("SELECT count(*) FROM settings").fetchone() == (0,)

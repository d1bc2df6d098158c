"""Real platform exports (shared/data/real) imported with --from, as a merchant would.

The expected figures were worked out by hand from the files (see SOURCES.md there) and are
cross-checked against a plain csv reading of the same file.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from decimal import Decimal

import pytest

from tests.conftest import REAL_DATA

pytestmark = pytest.mark.skipif(not REAL_DATA.exists(), reason="shared/data/real is not here")

FOREZIA = REAL_DATA / "shopify" / "forezia-dev-store" / "orders_export.csv"
PIE_SHOP = REAL_DATA / "shopify" / "cs201-pie-shop" / "orders_export_1.csv"
SHOPIFY_CUSTOMERS = REAL_DATA / "shopify" / "db-csv-editor" / "customers_export.csv"
WOO_CUSTOMERS = REAL_DATA / "woocommerce" / "db-csv-editor" / "wc-customers.csv"


def units(amount: str) -> int:
    """An amount as segcli stores it: ten-thousandths."""
    return int(Decimal(amount) * 10_000)


def person_figures(segcli) -> dict[str, tuple[int, int, str]]:
    """Per person: counted orders, total spent, and their orders' statuses."""
    return {
        email: (count, total, statuses)
        for email, count, total, statuses in segcli.rows(
            """
            SELECT p.email, count(o.order_id), sum(o.total),
                group_concat(DISTINCT o.status)
            FROM people p JOIN orders o ON o.person_id = p.person_id AND o.counted = 1
            GROUP BY p.person_id
            """
        )
    }


def test_shopify_orders_export_by_buyer(segcli):
    result = segcli("import", "orders", FOREZIA, "--from", "shopify")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    err = result.stderr
    assert f"{FOREZIA}: read as Shopify orders export, 79 columns" in err
    assert f"{FOREZIA}: 40 rows read: 40 inserted, 0 updated, 0 unchanged, 0 rejected" in err
    assert f"{FOREZIA}: 19 orders with 40 line items: 19 inserted, 0 updated, 0 unchanged" in err
    assert f"{FOREZIA}: 10 orders have no customer id or email: they count for no one" in err
    assert "ignoring 62 columns segcli has no place for: Paid at, Fulfillment Status" in err

    # By hand from the file: #1004 34.95, #1012 949.95, #1014 100.00, #1015 100.00;
    # #1005 1635.55 paid and #1013 127.59 pending; #1008 189.80, #1009 189.80, #1016 9.95,
    # written Russel.winfield@... with a capital R.
    assert person_figures(segcli) == {
        "ayumu.hirano@example.com": (4, units("1184.90"), "paid"),
        "karine.ruby@example.com": (2, units("1763.14"), "paid,pending"),
        "russel.winfield@example.com": (3, units("389.55"), "paid"),
    }
    anonymous = segcli.rows(
        "SELECT order_id FROM orders WHERE person_id IS NULL AND email IS NULL ORDER BY 1"
    )
    assert [order for (order,) in anonymous] == [
        f"#{n}" for n in (1001, 1002, 1003, 1006, 1007, 1010, 1011, 1017, 1018, 1019)
    ]
    # Created at carries its UTC offset: 09:55:16 -0400 is 13:55:16 UTC.
    assert segcli.value("SELECT created_at FROM orders WHERE order_id = '#1001'") == (
        "2025-05-11 13:55:16"
    )
    # Every order's total is the file's Total; its lines are the file's line items.
    with FOREZIA.open(newline="", encoding="utf-8") as handle:
        source = list(csv.DictReader(handle))
    totals = {row["Name"]: units(row["Total"]) for row in source if row["Total"]}
    assert dict(segcli.rows("SELECT order_id, total FROM orders")) == totals
    lines = defaultdict(list)
    for row in source:
        lines[row["Name"]].append(
            (row["Lineitem name"], int(row["Lineitem quantity"]), units(row["Lineitem price"]))
        )
    stored = defaultdict(list)
    for order, title, quantity, price in segcli.rows(
        "SELECT order_id, title, quantity, price FROM items ORDER BY order_id, line_no"
    ):
        stored[order].append((title, quantity, price))
    assert stored == lines
    assert segcli.value("SELECT vendor FROM items WHERE sku = 'sku-untracked-1' LIMIT 1") == (
        "Test Cycle Sense App"
    )
    # Billing addresses stand in for the missing customer rows: the latest order's whole.
    people = {
        email: (country, region, city)
        for email, country, region, city in segcli.rows(
            "SELECT email, country, region, city FROM people"
        )
    }
    assert people == {
        "ayumu.hirano@example.com": (None, None, None),
        "karine.ruby@example.com": ("CA", None, "Ottawa"),  # #1013, later than #1005 (ON)
        "russel.winfield@example.com": ("CA", None, "Toronto"),
    }
    # Accepts Marketing is "no" on every order: nobody is a consenting person.
    assert segcli.value("SELECT count(*) FROM orders WHERE accepts_marketing = 0") == 19


def test_shopify_buyer_written_with_a_capital_is_one_person_with_their_customer_row(segcli):
    customers = segcli.write(
        "customers.csv",
        "Customer ID,First Name,Last Name,Email,Accepts Email Marketing,"
        "Default Address City,Default Address Province Code,Default Address Country Code,"
        "Total Spent,Total Orders,Note,Tags\n"
        "'7001,Russell,Winfield,russel.winfield@example.com,yes,Hamilton,ON,CA,389.55,3,,VIP\n",
    )
    assert segcli("import", "customers", customers, "--from", "shopify").exit_code == 0
    assert segcli("import", "orders", FOREZIA, "--from", "shopify").exit_code == 0
    [(key, orders, city, consent)] = segcli.rows(
        """
        SELECT p.person_key, group_concat(o.order_id), p.city, p.customer_accepts_marketing
        FROM people p JOIN orders o ON o.person_id = p.person_id
        WHERE p.email = 'russel.winfield@example.com' GROUP BY p.person_id
        """
    )
    assert key == "c:7001"
    assert sorted(orders.split(",")) == ["#1008", "#1009", "#1016"]
    assert city == "Hamilton"  # the customer row's address wins over billing addresses
    assert consent == 1
    shown = segcli("customer", "show", "russel.winfield@example.com", "--as-of", "2025-06-01")
    assert shown.exit_code == 0, shown.stderr


def test_anonymous_orders_are_in_no_segment_and_counted_by_info(segcli):
    assert segcli("import", "orders", FOREZIA, "--from", "shopify").exit_code == 0
    info = json.loads(segcli("info", "--format", "json").stdout)
    assert info["anonymous_orders"] == 10
    assert info["people"] == 3
    result = segcli("segment", "calculate", "everyone", "--as-of", "2025-06-01", "--format", "json")
    assert result.exit_code == 0, result.stderr
    [everyone] = json.loads(result.stdout)
    assert everyone["count"] == 3
    # The people's spend only: 1184.90 + 1763.14 + 389.55.
    assert Decimal(str(everyone["total_spent"])) == Decimal("3337.59")


def test_excel_saved_shopify_export_needs_its_date_order(segcli):
    refused = segcli("import", "orders", PIE_SHOP, "--from", "shopify")
    assert refused.exit_code == 1
    assert f"{PIE_SHOP}, line 2:" in refused.stderr
    assert "'11/10/24 09:17'" in refused.stderr
    assert "10 November 2024" in refused.stderr and "11 October 2024" in refused.stderr
    assert "--dayfirst" in refused.stderr and "--monthfirst" in refused.stderr
    assert segcli.value("SELECT count(*) FROM orders") in (None, 0)

    result = segcli("import", "orders", PIE_SHOP, "--from", "shopify", "--monthfirst")
    assert result.exit_code == 0, result.stderr
    err = result.stderr
    assert "read as Shopify orders export, 38 columns; dates month first (--monthfirst)" in err
    assert f"{PIE_SHOP}: 94 orders with 130 line items: 94 inserted" in err
    assert f"{PIE_SHOP}: 94 orders have no customer id or email: they count for no one" in err
    # Excel cut the Id column's digits; segcli says so and does not use it.
    assert "column 'Id' holds ids a spreadsheet saved in scientific notation" in err
    assert "5.27763E+12" in err
    # By hand: 94 orders, all paid, all created on 10 November 2024, totalling 7,553.39
    # (trailing zeros dropped by Excel: "55" is 55.00).
    assert segcli.rows(
        "SELECT count(*), sum(total), min(date(created_at)), max(date(created_at)), "
        "group_concat(DISTINCT status), sum(person_id IS NULL) FROM orders"
    ) == [(94, units("7553.39"), "2024-11-10", "2024-11-10", "paid", 94)]
    assert segcli.value("SELECT count(*) FROM people") == 0
    assert segcli.value("SELECT total FROM orders WHERE order_id = '8095'") == units("57.59")


def test_shopify_customers_export(segcli):
    result = segcli("import", "customers", SHOPIFY_CUSTOMERS, "--from", "shopify")
    assert result.exit_code == 0, result.stderr
    assert "read as Shopify customers export, 20 columns" in result.stderr
    assert "2 rows read: 2 inserted" in result.stderr
    assert "Accepts SMS Marketing" in result.stderr  # listed among the ignored columns
    rows = segcli.rows(
        "SELECT customer_id, email, first_name, last_name, accepts_marketing, country, city, "
        "tags, custom FROM customers ORDER BY customer_id"
    )
    assert rows == [
        (
            "7491069149449",
            "johndoedams@email.com",
            "John",
            "Doe Dams",
            0,
            "ES",
            "Berlin",
            '["March 11 2028 at 6:37 PM GMT+4"]',
            '{"total_orders": "0", "total_spent": "0.00"}',
        ),
        (
            "7491069280521",
            "somenicknameemail@email.net",
            None,
            None,
            1,
            None,
            None,
            '["February 9 2023 at 6:37 PM GMT+2"]',
            '{"total_orders": "0", "total_spent": "0.00"}',
        ),
    ]


def test_woocommerce_customers_download(segcli):
    result = segcli("import", "customers", WOO_CUSTOMERS, "--from", "woocommerce")
    assert result.exit_code == 0, result.stderr
    assert "read as WooCommerce customers download, 12 columns" in result.stderr
    assert "1 row read: 1 inserted" in result.stderr
    [row] = segcli.rows(
        "SELECT email, first_name, last_name, created_at, country, region, city, custom "
        "FROM customers"
    )
    assert row[:7] == (
        "testfake@somewordshere.net",
        "Human",
        "Name",
        "2021-01-28 18:40:36",
        "ES",
        "B",
        "Berlin",
    )
    assert json.loads(row[7]) == {
        "aov": "949",
        "last_active": "2026-02-02T00:00:00",
        "orders": "4",
        "total_spend": "949",
        "username": "specimen.kind",
    }


def test_platform_export_without_from_is_recognised(segcli):
    refused = segcli("import", "orders", FOREZIA)
    assert refused.exit_code == 1
    assert refused.stderr == (
        f"Error: {FOREZIA}: this is a Shopify orders export: import it with --from shopify\n"
    )
    refused = segcli("import", "customers", WOO_CUSTOMERS)
    assert refused.exit_code == 1
    assert refused.stderr == (
        f"Error: {WOO_CUSTOMERS}: this is a WooCommerce customers download: import it with "
        "--from woocommerce\n"
    )
    assert segcli.value("SELECT count(*) FROM customers") == 0

    # Mapping its columns says the merchant reads it as native on purpose: a warning only.
    native = segcli("import", "customers", WOO_CUSTOMERS, "--map", "Sign Up=created_at")
    assert native.exit_code == 0, native.stderr
    assert "looks like a WooCommerce customers download" in native.stderr
    assert "--from woocommerce" in native.stderr


@pytest.mark.parametrize("path", [FOREZIA, PIE_SHOP])
def test_reimporting_a_shopify_export_changes_nothing(segcli, path):
    args = ("import", "orders", path, "--from", "shopify", "--monthfirst")
    assert segcli(*args).exit_code == 0
    before = segcli.dump()
    again = segcli(*args)
    assert again.exit_code == 0, again.stderr
    assert "0 inserted, 0 updated" in again.stderr
    assert segcli.dump() == before


def test_shopify_accepts_marketing_is_consent_as_of_each_order(segcli):
    path = segcli.write(
        "orders.csv",
        "Name,Email,Financial Status,Created at,Total,Accepts Marketing,Lineitem name,"
        "Lineitem quantity,Lineitem price,Cancelled at\n"
        "#1,Ann@x.com,paid,2024-01-01 10:00:00 +0000,10.00,yes,Mug,1,10.00,\n"
        "#2,ann@x.com,paid,2024-06-01 10:00:00 +0000,20.00,no,Mug,1,20.00,\n"
        "#3,bob@x.com,paid,2024-02-01 10:00:00 +0000,5.00,yes,Tea,1,5.00,"
        "2024-02-02 10:00:00 +0000\n",
    )
    assert segcli("import", "orders", path, "--from", "shopify").exit_code == 0

    def consenting(as_of: str) -> list[str]:
        result = segcli(
            "segment", "export", "--criteria", "accepts_marketing: true", "--as-of", as_of
        )
        assert result.exit_code == 0, result.stderr
        return sorted(row["email"] for row in csv.DictReader(result.stdout.splitlines()))

    # Ann said yes with her first order and no with her second; Bob's cancelled order
    # still carries his yes.
    assert consenting("2024-03-01") == ["ann@x.com", "bob@x.com"]
    assert consenting("2024-07-01") == ["bob@x.com"]
    assert segcli.value("SELECT status FROM orders WHERE order_id = '#3'") == "cancelled"
    assert segcli.value("SELECT counted FROM orders WHERE order_id = '#3'") == 0


def test_a_rejected_row_names_the_files_own_column(segcli):
    path = segcli.write(
        "order_export.csv",
        "order_id,order_date,status,order_total,customer_id,billing_email,line_item_1\n"
        "101,2024-03-01 10:00:00,completed,abc,0,ann@x.com,name:Mug|quantity:1|total:9\n",
    )
    result = segcli("import", "orders", path, "--from", "woocommerce")
    assert result.exit_code == 3
    assert f"{path}, line 2: rejected: order_total (total): 'abc' is not an amount of money" in (
        result.stderr
    )
    mapped = segcli.write(
        "invoices.csv", "InvoiceNo,InvoiceDate,Total,CustomerID\nI1,2010-13-01,5,C1\n"
    )
    args = ("--map", "InvoiceNo=order_id", "--map", "InvoiceDate=created_at")
    result = segcli("import", "orders", mapped, *args, "--map", "CustomerID=customer_id")
    assert result.exit_code == 3
    assert "line 2: rejected: InvoiceDate (created_at): '2010-13-01' is not a date" in (
        result.stderr
    )
    # A native file with no customer column at all is refused: a misspelt header must
    # not make every order anonymous. CustomerID is customer_id written another way.
    refused = segcli("import", "orders", mapped, *args)
    assert refused.exit_code == 1
    assert "--map CustomerID=customer_id" in refused.stderr
    client = segcli.write("client.csv", "InvoiceNo,InvoiceDate,Total,Client\nI1,2010-12-01,5,C1\n")
    refused = segcli("import", "orders", client, *args)
    assert refused.exit_code == 1
    assert "customer_id or email" in refused.stderr
    assert segcli.value("SELECT count(*) FROM orders") == 0

"""Platform exports read with --from shopify|woocommerce, one small file per layout.

Each test writes a file in a layout Shopify or WooCommerce (or a WooCommerce export plugin)
writes, imports it through the CLI and checks the exact stored orders, items, customers and
people, and the summary on stderr. Every expected value was worked out by hand from the
file the test writes.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import checked
from tests.helpers import assert_line, assert_summary, records
from tests.platform_files import (
    SHOPIFY_CUSTOMERS_2023,
    SHOPIFY_CUSTOMERS_CURRENT,
    SHOPIFY_CUSTOMERS_OLDEST,
    SHOPIFY_ORDERS_HEADER,
    SHOPIFY_ORDERS_TRIMMED,
    SKYVERGE_HEADER,
    WEBTOFFEE_HEADER,
    WOO_CUSTOMERS_BROWSER,
    WOO_CUSTOMERS_SERVER,
    csv_text,
    header,
    webtoffee,
)

ORDER_COLUMNS = (
    "order_id, customer_id, email, created_at, total, status, currency, counted, "
    "accepts_marketing, country, region, city"
)
ITEM_COLUMNS = "order_id, line_no, product_id, sku, title, quantity, price, vendor"
CUSTOMER_COLUMNS = (
    "record_key, customer_id, email, first_name, last_name, created_at, accepts_marketing, "
    "country, region, city, tags, custom"
)


def orders(segcli) -> list[dict]:
    return records(segcli, f"SELECT {ORDER_COLUMNS} FROM orders ORDER BY order_id")


def items(segcli) -> list[dict]:
    return records(segcli, f"SELECT {ITEM_COLUMNS} FROM items ORDER BY order_id, line_no")


def customers(segcli) -> list[dict]:
    return records(segcli, f"SELECT {CUSTOMER_COLUMNS} FROM customers ORDER BY record_key")


def people(segcli) -> list[dict]:
    """Each person's key, identity, address and orders."""
    return records(
        segcli,
        """
        SELECT person_key, customer_id, email, first_name, last_name, country, region, city,
            (SELECT group_concat(order_id) FROM (SELECT order_id FROM orders o
                WHERE o.person_id = p.person_id ORDER BY order_id)) AS orders
        FROM people p ORDER BY person_key
        """,
    )


def order_owners(segcli) -> dict[str, str | None]:
    return dict(
        segcli.rows(
            "SELECT o.order_id, p.person_key FROM orders o "
            "LEFT JOIN people p ON p.person_id = o.person_id ORDER BY o.order_id"
        )
    )


def order(**fields) -> dict:
    """An orders row with every column not given unset."""
    return {name.strip(): None for name in ORDER_COLUMNS.split(",")} | fields


def item(order_id: str, line_no: int, title: str, quantity: int, price: int | None, **fields):
    return {
        "order_id": order_id,
        "line_no": line_no,
        "product_id": None,
        "sku": None,
        "title": title,
        "quantity": quantity,
        "price": price,
        "vendor": None,
    } | fields


def customer(record_key: str, **fields) -> dict:
    base = {name.strip(): None for name in CUSTOMER_COLUMNS.split(",")}
    return base | {"record_key": record_key, "tags": [], "custom": {}} | fields


def person(key: str, **fields) -> dict:
    base = {
        "person_key": key,
        "customer_id": None,
        "email": None,
        "first_name": None,
        "last_name": None,
        "country": None,
        "region": None,
        "city": None,
        "orders": None,
    }
    return base | fields


# --- Shopify orders -------------------------------------------------------------------

SHOPIFY_CURRENT = csv_text(
    SHOPIFY_ORDERS_HEADER,
    {
        "Name": "#1001",
        "Email": "Ann.Lee@Example.com",
        "Financial Status": "paid",
        "Paid at": "2025-05-11 09:56:00 -0400",
        "Fulfillment Status": "fulfilled",
        "Accepts Marketing": "yes",
        "Currency": "EUR",
        "Subtotal": "70.00",
        "Shipping": "5.00",
        "Taxes": "0.00",
        "Total": "75.00",
        "Discount Amount": "0.00",
        "Created at": "2025-05-11 09:55:16 -0400",
        "Lineitem quantity": "2",
        "Lineitem name": "Mug - Blue",
        "Lineitem price": "20.00",
        "Lineitem sku": "MUG-BL",
        "Lineitem requires shipping": "true",
        "Lineitem taxable": "true",
        "Lineitem fulfillment status": "fulfilled",
        "Billing Name": "Ann Lee",
        "Billing Address1": "1 King St W",
        "Billing City": "Toronto",
        "Billing Zip": "M5H 1A1",
        "Billing Province": "ON",
        "Billing Country": "CA",
        "Vendor": "Acme",
        "Id": "6634244374859",
        "Risk Level": "Low",
        "Source": "web",
        "Lineitem discount": "0.00",
        "Billing Province Name": "Ontario",
    },
    {
        # Further line items of an order carry its name and date, not its order fields.
        "Name": "#1001",
        "Created at": "2025-05-11 09:55:16 -0400",
        "Lineitem quantity": "1",
        "Lineitem name": "Tea",
        "Lineitem price": "30.00",
        "Lineitem sku": "TEA-1",
        "Lineitem requires shipping": "true",
        "Lineitem taxable": "true",
        "Lineitem fulfillment status": "fulfilled",
        "Vendor": "Leaf Co",
        "Lineitem discount": "0.00",
    },
    {
        "Name": "#1002",
        "Email": "ANN.LEE@example.com",
        "Financial Status": "refunded",
        "Accepts Marketing": "no",
        "Currency": "EUR",
        "Total": "12.50",
        "Created at": "2025-05-12 22:10:00 -0400",
        "Lineitem quantity": "1",
        "Lineitem name": "Cup",
        "Lineitem price": "12.50",
        "Billing City": "Ottawa",
        "Billing Province": "ON",
        "Billing Country": "CA",
        "Cancelled at": "2025-05-13 08:00:00 -0400",
        "Id": "6634244374860",
    },
    {
        # A point-of-sale order: no email.
        "Name": "#1003",
        "Financial Status": "pending",
        "Accepts Marketing": "no",
        "Currency": "EUR",
        "Total": "8.00",
        "Created at": "2025-05-13 10:00:00 +0200",
        "Lineitem quantity": "1",
        "Lineitem name": "Sticker",
        "Lineitem price": "8.00",
        "Lineitem sku": "STK",
        "Id": "6634244374861",
    },
)


def test_shopify_orders_current_layout(segcli):
    assert len(SHOPIFY_ORDERS_HEADER) == 79
    path = segcli.write("orders_export.csv", SHOPIFY_CURRENT)
    result = checked(segcli, "import", "orders", path, "--from", "shopify")
    assert_line(result, f"{path}: read as Shopify orders export, 79 columns")
    assert_summary(result, path, read=4, inserted=4)
    assert_line(result, f"{path}: 3 orders with 4 line items: 3 inserted, 0 updated, 0 unchanged")
    assert_line(result, f"{path}: 1 order has no customer id or email: it counts for no one")
    assert "warning" not in result.stderr
    assert orders(segcli) == [
        order(
            order_id="#1001",
            email="ann.lee@example.com",
            created_at="2025-05-11 13:55:16",
            total=750_000,
            status="paid",
            currency="EUR",
            counted=1,
            accepts_marketing=1,
            country="CA",
            region="ON",
            city="Toronto",
        ),
        order(
            order_id="#1002",
            email="ann.lee@example.com",
            created_at="2025-05-13 02:10:00",
            total=125_000,
            status="cancelled",
            currency="EUR",
            counted=0,
            accepts_marketing=0,
            country="CA",
            region="ON",
            city="Ottawa",
        ),
        order(
            order_id="#1003",
            created_at="2025-05-13 08:00:00",
            total=80_000,
            status="pending",
            currency="EUR",
            counted=1,
            accepts_marketing=0,
        ),
    ]
    assert items(segcli) == [
        item("#1001", 1, "Mug - Blue", 2, 200_000, sku="MUG-BL", vendor="Acme"),
        item("#1001", 2, "Tea", 1, 300_000, sku="TEA-1", vendor="Leaf Co"),
        item("#1002", 1, "Cup", 1, 125_000),
        item("#1003", 1, "Sticker", 1, 80_000, sku="STK"),
    ]
    # One person for both spellings of the email; the address of their latest order.
    assert people(segcli) == [
        person(
            "e:ann.lee@example.com",
            email="ann.lee@example.com",
            country="CA",
            region="ON",
            city="Ottawa",
            orders="#1001,#1002",
        )
    ]
    assert order_owners(segcli)["#1003"] is None


def test_shopify_orders_trimmed_header(segcli):
    path = segcli.write(
        "orders.csv",
        csv_text(
            SHOPIFY_ORDERS_TRIMMED,
            {
                "Name": "#2001",
                "Financial Status": "paid",
                "Created at": "2024-06-01 12:00:00 +0000",
                "Lineitem quantity": "1",
                "Lineitem name": "Candle",
                "Lineitem price": "15.00",
                "Total": "19.50",
                "Accepts Marketing": "yes",
                "Billing City": "Leeds",
                "Billing Province": "ENG",
                "Billing Country": "GB",
                "Email": "bo@example.com",
            },
            # Only the name and the line item: the date comes from the order's first row.
            {
                "Name": "#2001",
                "Lineitem quantity": "3",
                "Lineitem name": "Match box",
                "Lineitem price": "1.50",
            },
            {
                "Name": "#2002",
                "Financial Status": "partially_refunded",
                "Created at": "2024-06-02 09:30:00 +0100",
                "Lineitem quantity": "1",
                "Lineitem name": "Lamp",
                "Lineitem price": "40.00",
                "Total": "40.00",
                "Accepts Marketing": "no",
                "Email": "Bo@Example.COM",
            },
        ),
    )
    result = checked(segcli, "import", "orders", path, "--from", "shopify")
    assert_line(result, f"{path}: read as Shopify orders export, 13 columns")
    assert_summary(result, path, read=3, inserted=3)
    assert_line(result, f"{path}: 2 orders with 3 line items: 2 inserted, 0 updated, 0 unchanged")
    assert "no customer" not in result.stderr
    assert "ignoring" not in result.stderr
    assert orders(segcli) == [
        order(
            order_id="#2001",
            email="bo@example.com",
            created_at="2024-06-01 12:00:00",
            total=195_000,
            status="paid",
            counted=1,
            accepts_marketing=1,
            country="GB",
            region="ENG",
            city="Leeds",
        ),
        order(
            order_id="#2002",
            email="bo@example.com",
            created_at="2024-06-02 08:30:00",
            total=400_000,
            status="partially_refunded",
            counted=1,
            accepts_marketing=0,
        ),
    ]
    assert items(segcli) == [
        item("#2001", 1, "Candle", 1, 150_000),
        item("#2001", 2, "Match box", 3, 15_000),
        item("#2002", 1, "Lamp", 1, 400_000),
    ]
    # The latest order has no billing address: the person's is the latest that has one.
    assert people(segcli) == [
        person(
            "e:bo@example.com",
            email="bo@example.com",
            country="GB",
            region="ENG",
            city="Leeds",
            orders="#2001,#2002",
        )
    ]


SHOPIFY_STATUSES = [
    # Financial Status, Cancelled at, stored status, counted
    ("paid", "", "paid", 1),
    ("pending", "", "pending", 1),
    ("refunded", "", "refunded", 0),
    ("voided", "", "voided", 0),
    ("partially_refunded", "", "partially_refunded", 1),
    ("paid", "2024-06-03 10:00:00 +0000", "cancelled", 0),
    ("refunded", "2024-06-03 10:00:00 +0000", "cancelled", 0),
    ("pending", "2024-06-03 10:00:00 +0000", "cancelled", 0),
]


def test_shopify_status_is_cancelled_when_cancelled_else_the_financial_status(segcli):
    rows = [
        {
            "Name": f"#{n}",
            "Financial Status": financial,
            "Cancelled at": cancelled,
            "Created at": "2024-06-01 12:00:00 +0000",
            "Lineitem quantity": "1",
            "Lineitem name": "Candle",
            "Lineitem price": "10",
            "Total": "10",
            "Email": "st@example.com",
        }
        for n, (financial, cancelled, _, _) in enumerate(SHOPIFY_STATUSES, start=1)
    ]
    path = segcli.write("orders.csv", csv_text(SHOPIFY_ORDERS_TRIMMED, *rows))
    result = checked(segcli, "import", "orders", path, "--from", "shopify")
    assert_summary(result, path, read=len(rows), inserted=len(rows))
    stored = segcli.rows("SELECT order_id, status, counted FROM orders")
    assert sorted(stored) == sorted(
        (f"#{n}", status, counted)
        for n, (_, _, status, counted) in enumerate(SHOPIFY_STATUSES, start=1)
    )


@pytest.mark.parametrize(
    ("anonymous", "line", "counts"),
    [(1, "1 order has", "it counts"), (2, "2 orders have", "they count")],
)
def test_shopify_orders_without_email_are_anonymous(segcli, anonymous, line, counts):
    rows = [
        {
            "Name": f"#{n}",
            "Financial Status": "paid",
            "Created at": "2024-06-01 12:00:00 +0000",
            "Lineitem quantity": "1",
            "Lineitem name": "Pie",
            "Lineitem price": "5",
            "Total": "5",
            "Email": "known@example.com" if n == 0 else "",
        }
        for n in range(anonymous + 1)
    ]
    path = segcli.write("orders.csv", csv_text(SHOPIFY_ORDERS_TRIMMED, *rows))
    result = checked(segcli, "import", "orders", path, "--from", "shopify")
    assert_line(result, f"{path}: {line} no customer id or email: {counts} for no one")
    assert order_owners(segcli) == {
        "#0": "e:known@example.com",
        **{f"#{n}": None for n in range(1, anonymous + 1)},
    }
    assert segcli.value("SELECT count(*) FROM people") == 1
    info = segcli("info", "--format", "json")
    assert info.exit_code == 0, info.stderr
    assert json.loads(info.stdout)["anonymous_orders"] == anonymous


def test_shopify_orders_saved_by_excel(segcli):
    """Leading apostrophes, TRUE/FALSE, money without trailing zeros, ids cut to 5.27763E+12
    and M/D/YY dates: a Shopify export opened and saved again in a spreadsheet."""
    columns = header(
        "Name,Financial Status,Paid at,Accepts Marketing,Currency,Subtotal,Total,Created at,"
        "Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku,"
        "Lineitem requires shipping,Id,Email"
    )
    text = csv_text(
        columns,
        {
            "Name": "8095",
            "Financial Status": "paid",
            "Paid at": "11/10/24 09:17",
            "Accepts Marketing": "FALSE",
            "Currency": "USD",
            "Subtotal": "55",
            "Total": "57.59",
            "Created at": "11/10/24 09:17",
            "Lineitem quantity": "1",
            "Lineitem name": "Persimmon Pie",
            "Lineitem price": "55",
            "Lineitem sku": "'00123",
            "Lineitem requires shipping": "FALSE",
            "Id": "5.27763E+12",
            "Email": "p1@example.com",
        },
        {
            "Name": "8094",
            "Financial Status": "paid",
            "Paid at": "11/10/24 09:13",
            "Accepts Marketing": "TRUE",
            "Currency": "USD",
            "Subtotal": "110",
            "Total": "110",
            "Created at": "11/10/24 09:13",
            "Lineitem quantity": "2",
            "Lineitem name": "Apple Pie",
            "Lineitem price": "55",
            "Lineitem sku": "'0042",
            "Lineitem requires shipping": "TRUE",
            "Id": "5.27763E+12",
            "Email": "p2@example.com",
        },
    ).rstrip("\n")  # Excel writes no newline at the end
    path = segcli.write("orders_export_1.csv", text)
    result = checked(segcli, "import", "orders", path, "--from", "shopify", "--monthfirst")
    assert_summary(result, path, read=2, inserted=2)
    [warning] = [line for line in result.stderr.splitlines() if "warning" in line]
    assert "'Id'" in warning
    assert "5.27763E+12" in warning
    assert "digits are lost" in warning
    assert "2 rows" in warning
    assert orders(segcli) == [
        order(
            order_id="8094",
            email="p2@example.com",
            created_at="2024-11-10 09:13:00",
            total=1_100_000,
            status="paid",
            currency="USD",
            counted=1,
            accepts_marketing=1,
        ),
        order(
            order_id="8095",
            email="p1@example.com",
            created_at="2024-11-10 09:17:00",
            total=575_900,
            status="paid",
            currency="USD",
            counted=1,
            accepts_marketing=0,
        ),
    ]
    assert items(segcli) == [
        item("8094", 1, "Apple Pie", 2, 550_000, sku="0042"),
        item("8095", 1, "Persimmon Pie", 1, 550_000, sku="00123"),
    ]


def test_shopify_orders_with_dates_that_read_both_ways_need_an_order(segcli):
    text = csv_text(
        SHOPIFY_ORDERS_TRIMMED,
        {
            "Name": "8095",
            "Financial Status": "paid",
            "Created at": "11/10/24 09:17",
            "Lineitem quantity": "1",
            "Lineitem name": "Persimmon Pie",
            "Lineitem price": "55",
            "Total": "55",
        },
    )
    path = segcli.write("orders_export_1.csv", text)
    result = checked(segcli, "import", "orders", path, "--from", "shopify", exit_code=1)
    assert f"{path}, line 2" in result.stderr
    assert "10 November 2024" in result.stderr
    assert "11 October 2024" in result.stderr
    assert "--monthfirst" in result.stderr
    assert segcli.value("SELECT count(*) FROM orders") == 0


def test_shopify_apostrophe_inside_a_value_is_kept(segcli):
    path = segcli.write(
        "orders.csv",
        csv_text(
            SHOPIFY_ORDERS_TRIMMED,
            {
                "Name": "#1",
                "Created at": "2024-06-01 12:00:00 +0000",
                "Lineitem quantity": "1",
                "Lineitem name": "Summer '24 Hoodie",
                "Billing Province": "'0042",
                "Lineitem price": "30",
                "Total": "30",
                "Email": "a@example.com",
            },
        ),
    )
    checked(segcli, "import", "orders", path, "--from", "shopify")
    # Only a leading apostrophe before a number is a spreadsheet's mark.
    assert segcli.value("SELECT title FROM items") == "Summer '24 Hoodie"
    assert segcli.value("SELECT region FROM orders") == "0042"


# --- Shopify customers ----------------------------------------------------------------


def test_shopify_customers_oldest_layout_is_keyed_by_email(segcli):
    path = segcli.write(
        "customers_export.csv",
        csv_text(
            SHOPIFY_CUSTOMERS_OLDEST,
            {
                "First Name": "Ann",
                "Last Name": "Lee",
                "Email": "Ann@Example.com",
                "Company": "Acme Ltd",
                "Address1": "1 King St W",
                "City": "Toronto",
                "Province": "Ontario",
                "Province Code": "ON",
                "Country": "Canada",
                "Country Code": "CA",
                "Zip": "M5H 1A1",
                "Phone": "'+14165550100",
                "Accepts Marketing": "yes",
                "Total Spent": "120.50",
                "Total Orders": "3",
                "Tags": "vip, wholesale",
                "Note": "Prefers email",
                "Tax Exempt": "no",
            },
            {
                "First Name": "Bob",
                "Email": "bob@example.com",
                "Accepts Marketing": "no",
                "Total Spent": "0.00",
                "Total Orders": "0",
                "Tax Exempt": "no",
            },
        ),
    )
    result = checked(segcli, "import", "customers", path, "--from", "shopify")
    assert_line(result, f"{path}: read as Shopify customers export, 19 columns")
    assert_summary(result, path, read=2, inserted=2)
    assert customers(segcli) == [
        customer(
            "e:ann@example.com",
            email="ann@example.com",
            first_name="Ann",
            last_name="Lee",
            accepts_marketing=1,
            country="CA",
            region="ON",
            city="Toronto",
            tags=["vip", "wholesale"],
            custom={"note": "Prefers email", "total_spent": "120.50", "total_orders": "3"},
        ),
        customer(
            "e:bob@example.com",
            email="bob@example.com",
            first_name="Bob",
            accepts_marketing=0,
            custom={"total_spent": "0.00", "total_orders": "0"},
        ),
    ]
    assert [p["person_key"] for p in people(segcli)] == ["e:ann@example.com", "e:bob@example.com"]


def test_shopify_customers_2023_layout(segcli):
    path = segcli.write(
        "customers_export.csv",
        csv_text(
            SHOPIFY_CUSTOMERS_2023,
            {
                "Customer ID": "6123456789012",
                "First Name": "Cat",
                "Last Name": "Ng",
                "Email": "Cat@Example.com",
                "Accepts Email Marketing": "no",
                "Address1": "2 Park Row",
                "City": "Leeds",
                "Province": "England",
                "Province Code": "ENG",
                "Country": "United Kingdom",
                "Country Code": "GB",
                "Zip": "LS1 1AA",
                "Accepts SMS Marketing": "yes",
                "Total Spent": "45.00",
                "Total Orders": "1",
                "Tags": "returning",
                "Tax Exempt": "no",
            },
            {
                "Customer ID": "6123456789013",
                "First Name": "Dan",
                "Accepts Email Marketing": "yes",
                "Total Spent": "0.00",
                "Total Orders": "0",
                "Tax Exempt": "no",
            },
        ),
    )
    result = checked(segcli, "import", "customers", path, "--from", "shopify")
    assert_line(result, f"{path}: read as Shopify customers export, 21 columns")
    assert_summary(result, path, read=2, inserted=2)
    assert customers(segcli) == [
        customer(
            "c:6123456789012",
            customer_id="6123456789012",
            email="cat@example.com",
            first_name="Cat",
            last_name="Ng",
            accepts_marketing=0,
            country="GB",
            region="ENG",
            city="Leeds",
            tags=["returning"],
            custom={"total_spent": "45.00", "total_orders": "1"},
        ),
        customer(
            "c:6123456789013",
            customer_id="6123456789013",
            first_name="Dan",
            accepts_marketing=1,
            custom={"total_spent": "0.00", "total_orders": "0"},
        ),
    ]


CURRENT_CUSTOMER = {
    "Customer ID": "'9980311896380",
    "First Name": "Dee",
    "Last Name": "Ray",
    "Email": "Dee@Example.com",
    "Accepts Email Marketing": "yes",
    "Default Address Address1": "5 Congress Ave",
    "Default Address City": "Austin",
    "Default Address Province Code": "TX",
    "Default Address Country Code": "US",
    "Default Address Zip": "'78701",
    "Phone": "'+15125550100",
    "Accepts SMS Marketing": "no",
    "Total Spent": "55.00",
    "Total Orders": "2",
    "Note": "VIP since 2020",
    "Tax Exempt": "no",
    "Tags": "a, b",
}


def test_shopify_customers_current_layout(segcli):
    path = segcli.write(
        "customers_export.csv", csv_text(SHOPIFY_CUSTOMERS_CURRENT, CURRENT_CUSTOMER)
    )
    result = checked(segcli, "import", "customers", path, "--from", "shopify")
    assert_line(result, f"{path}: read as Shopify customers export, 20 columns")
    assert_summary(result, path, read=1, inserted=1)
    assert "warning" not in result.stderr
    assert customers(segcli) == [
        customer(
            "c:9980311896380",
            customer_id="9980311896380",
            email="dee@example.com",
            first_name="Dee",
            last_name="Ray",
            accepts_marketing=1,
            country="US",
            region="TX",
            city="Austin",
            tags=["a", "b"],
            custom={"note": "VIP since 2020", "total_spent": "55.00", "total_orders": "2"},
        )
    ]


def test_shopify_customer_id_in_scientific_notation_is_dropped_for_the_email(segcli):
    path = segcli.write(
        "customers_export.csv",
        csv_text(
            SHOPIFY_CUSTOMERS_CURRENT,
            CURRENT_CUSTOMER,
            {
                "Customer ID": "7.02255E+12",
                "First Name": "Eve",
                "Last Name": "Fox",
                "Email": "eve@example.com",
                "Accepts Email Marketing": "no",
                "Total Spent": "0.00",
                "Total Orders": "0",
            },
        ),
    )
    result = checked(segcli, "import", "customers", path, "--from", "shopify")
    assert_summary(result, path, read=2, inserted=2)
    [warning] = [line for line in result.stderr.splitlines() if "warning" in line]
    assert "'Customer ID'" in warning
    assert "7.02255E+12" in warning
    assert "digits are lost" in warning
    assert "email" in warning
    assert [(c["record_key"], c["customer_id"], c["email"]) for c in customers(segcli)] == [
        ("c:9980311896380", "9980311896380", "dee@example.com"),
        ("e:eve@example.com", None, "eve@example.com"),
    ]


@pytest.mark.parametrize("customers_first", [True, False])
def test_shopify_orders_belong_to_the_customer_of_their_email(segcli, customers_first):
    customers_path = segcli.write(
        "customers_export.csv", csv_text(SHOPIFY_CUSTOMERS_CURRENT, CURRENT_CUSTOMER)
    )
    orders_path = segcli.write(
        "orders_export.csv",
        csv_text(
            SHOPIFY_ORDERS_TRIMMED,
            {
                "Name": "#1",
                "Financial Status": "paid",
                "Created at": "2024-01-01 10:00:00 +0000",
                "Lineitem quantity": "1",
                "Lineitem name": "Mug",
                "Lineitem price": "5",
                "Total": "5",
                "Billing City": "Paris",
                "Billing Province": "IDF",
                "Billing Country": "FR",
                "Email": "DEE@example.com",
            },
        ),
    )
    imports = [("customers", customers_path), ("orders", orders_path)]
    for kind, path in imports if customers_first else imports[::-1]:
        checked(segcli, "import", kind, path, "--from", "shopify")
    # The customer row's address wins over the order's billing address.
    assert people(segcli) == [
        person(
            "c:9980311896380",
            customer_id="9980311896380",
            email="dee@example.com",
            first_name="Dee",
            last_name="Ray",
            country="US",
            region="TX",
            city="Austin",
            orders="#1",
        )
    ]


@pytest.mark.parametrize("customers_first", [True, False])
def test_customer_row_address_wins_over_billing_addresses_never_mixed(segcli, customers_first):
    customers_path = segcli.write(
        "customers_export.csv",
        csv_text(
            SHOPIFY_CUSTOMERS_OLDEST,
            {
                "First Name": "Ann",
                "Email": "ann@example.com",
                "City": "Toronto",
                "Province Code": "ON",
                "Country Code": "CA",
            },
            # Only a country: the person's city and region are not taken from an order.
            {"First Name": "Cy", "Email": "cy@example.com", "Country Code": "US"},
            {"First Name": "Flo", "Email": "flo@example.com"},
        ),
    )
    billing = {"ann": ("Paris", "IDF", "FR"), "cy": ("Austin", "TX", "US")}
    billing |= {"dee": ("Leeds", "ENG", "GB"), "flo": ("Berlin", "BE", "DE")}
    orders_path = segcli.write(
        "orders_export.csv",
        csv_text(
            SHOPIFY_ORDERS_TRIMMED,
            *(
                {
                    "Name": f"#{name}",
                    "Financial Status": "paid",
                    "Created at": "2024-01-01 10:00:00 +0000",
                    "Lineitem quantity": "1",
                    "Lineitem name": "Mug",
                    "Lineitem price": "5",
                    "Total": "5",
                    "Billing City": city,
                    "Billing Province": region,
                    "Billing Country": country,
                    "Email": f"{name}@example.com",
                }
                for name, (city, region, country) in billing.items()
            ),
        ),
    )
    imports = [("customers", customers_path), ("orders", orders_path)]
    for kind, path in imports if customers_first else imports[::-1]:
        checked(segcli, "import", kind, path, "--from", "shopify")
    found = {p["person_key"]: (p["country"], p["region"], p["city"]) for p in people(segcli)}
    assert found == {
        "e:ann@example.com": ("CA", "ON", "Toronto"),
        "e:cy@example.com": ("US", None, None),
        # No customer row (dee) or one without an address (flo): the billing address.
        "e:dee@example.com": ("GB", "ENG", "Leeds"),
        "e:flo@example.com": ("DE", "BE", "Berlin"),
    }


# --- WooCommerce customers download ---------------------------------------------------


def test_woocommerce_customers_download_server_header_with_bom(segcli):
    path = segcli.write(
        "wc-customers.csv",
        csv_text(
            WOO_CUSTOMERS_SERVER,
            {
                "Name": "Ann Marie Lee",
                "Username": "annlee",
                "Last Active": "2024-03-01T10:00:00",
                "Sign Up": "2023-01-15T09:30:00",
                "Email": "Ann@Example.com",
                "Orders": "3",
                "Total Spend": "120.50",
                "AOV": "40.17",
                "Country / Region": "US",
                "City": "Austin",
                "Region": "TX",
                "Postal Code": "78701",
            },
            # A guest: no account, so no username and no sign-up date.
            {
                "Name": "Guest Buyer",
                "Last Active": "2024-02-01T00:00:00",
                "Email": "guest@example.com",
                "Orders": "1",
                "Total Spend": "10.00",
                "AOV": "10.00",
                "Country / Region": "GB",
            },
            {
                "Name": "Cher",
                "Username": "cher",
                "Sign Up": "2023-05-05T00:00:00",
                "Email": "cher@example.com",
                "Orders": "0",
                "Total Spend": "0.00",
                "AOV": "0.00",
            },
            bom=True,
        ),
    )
    result = checked(segcli, "import", "customers", path, "--from", "woocommerce")
    assert_line(result, f"{path}: read as WooCommerce customers download, 12 columns")
    assert_line(result, f"{path}: ignoring 1 column segcli has no place for: Postal Code")
    assert_summary(result, path, read=3, inserted=3)
    assert customers(segcli) == [
        customer(
            "e:ann@example.com",
            email="ann@example.com",
            first_name="Ann",
            last_name="Marie Lee",
            created_at="2023-01-15 09:30:00",
            country="US",
            region="TX",
            city="Austin",
            custom={
                "username": "annlee",
                "last_active": "2024-03-01T10:00:00",
                "orders": "3",
                "total_spend": "120.50",
                "aov": "40.17",
            },
        ),
        customer(
            "e:cher@example.com",
            email="cher@example.com",
            first_name="Cher",
            created_at="2023-05-05 00:00:00",
            custom={"username": "cher", "orders": "0", "total_spend": "0.00", "aov": "0.00"},
        ),
        customer(
            "e:guest@example.com",
            email="guest@example.com",
            first_name="Guest",
            last_name="Buyer",
            country="GB",
            custom={
                "last_active": "2024-02-01T00:00:00",
                "orders": "1",
                "total_spend": "10.00",
                "aov": "10.00",
            },
        ),
    ]


def test_woocommerce_customers_download_browser_header(segcli):
    path = segcli.write(
        "customers.csv",
        csv_text(
            WOO_CUSTOMERS_BROWSER,
            {
                "Name": "Dan  Brown",
                "Username": "dan",
                "Last active": "2024-03-01",
                "Date registered": "2023-01-15 08:00:00",
                "Email": "dan@example.com",
                "Orders": "2",
                "Total spend": "20.00",
                "AOV": "10.00",
                "Country / Region": "DE",
                "City": "Berlin",
                "Region": "BE",
                "Postal code": "10115",
            },
        ),
    )
    result = checked(segcli, "import", "customers", path, "--from", "woocommerce")
    assert_line(result, f"{path}: read as WooCommerce customers download, 12 columns")
    assert_summary(result, path, read=1, inserted=1)
    assert customers(segcli) == [
        customer(
            "e:dan@example.com",
            email="dan@example.com",
            first_name="Dan",
            last_name="Brown",
            created_at="2023-01-15 08:00:00",
            country="DE",
            region="BE",
            city="Berlin",
            custom={
                "username": "dan",
                "last_active": "2024-03-01",
                "orders": "2",
                "total_spend": "20.00",
                "aov": "10.00",
            },
        )
    ]


def test_woocommerce_customer_download_and_orders_are_one_person(segcli):
    customers_path = segcli.write(
        "wc-customers.csv",
        csv_text(
            WOO_CUSTOMERS_SERVER,
            {
                "Name": "Ann Lee",
                "Username": "annlee",
                "Sign Up": "2023-01-15T09:30:00",
                "Email": "ann@example.com",
                "Country / Region": "US",
                "City": "Austin",
                "Region": "TX",
            },
            bom=True,
        ),
    )
    orders_path = segcli.write(
        "orders.csv",
        csv_text(
            WEBTOFFEE_HEADER,
            webtoffee(
                "9001",
                order_date="2024-03-01 10:00:00",
                status="completed",
                order_total="5.00",
                customer_id="12",
                customer_email="Ann@Example.com",
                billing_city="Paris",
                billing_state="IDF",
                billing_country="FR",
                line_item_1="name:Pin|product_id:59|quantity:1|total:5.00",
            ),
        ),
    )
    checked(segcli, "import", "customers", customers_path, "--from", "woocommerce")
    checked(segcli, "import", "orders", orders_path, "--from", "woocommerce")
    # The download has no user id: its row joins customer 12 by email, and its address wins.
    assert people(segcli) == [
        person(
            "c:12",
            customer_id="12",
            email="ann@example.com",
            first_name="Ann",
            last_name="Lee",
            country="US",
            region="TX",
            city="Austin",
            orders="9001",
        )
    ]
    assert segcli.value("SELECT created_at FROM people") == "2023-01-15 09:30:00"


# --- WooCommerce orders ---------------------------------------------------------------


WEBTOFFEE = csv_text(
    WEBTOFFEE_HEADER,
    webtoffee(
        "5001",
        order_date="2024-03-01 10:00:00",
        paid_date="2024-03-01 10:05:00",
        status="wc-completed",
        shipping_total="5.00",
        order_total="95.00",
        customer_id="12",
        customer_user="12",
        customer_email="Ann@Example.com",
        billing_first_name="Ann",
        billing_last_name="Lee",
        billing_email="ann.billing@example.com",
        billing_city="Berlin",
        billing_state="BE",
        billing_country="DE",
        line_item_1="name:Hoodie - Blue|product_id:57|sku:HD-BL|quantity:2|total:90.00"
        "|sub_total:90.00",
    ),
    # A guest (customer 0) known by their billing email; 10.00 / 3 is not exact.
    webtoffee(
        "5002",
        order_date="2024-03-02 11:00:00",
        status="processing",
        shipping_total="0.00",
        order_total="12.50",
        customer_id="0",
        customer_user="0",
        billing_email="Gus@Example.com",
        line_item_1="name:Cap|product_id:58|sku:CP|quantity:3|total:10.00|sub_total:10.00",
        line_item_2="name:Pin|product_id:59|sku:PN|quantity:1|total:2.50|sub_total:2.50",
    ),
    # 12.34 / 4 = 3.085, exact to four decimals.
    webtoffee(
        "5003",
        order_date="2024-03-03 12:00:00",
        status="on-hold",
        order_total="12.34",
        customer_id="12",
        customer_email="ann@example.com",
        line_item_1="name:Mug|product_id:60|quantity:4|total:12.34",
    ),
    # No email at all: anonymous.
    webtoffee(
        "5004",
        order_date="2024-03-04 13:00:00",
        status="cancelled",
        order_total="2.50",
        customer_id="0",
        line_item_1="name:Pin|product_id:59|sku:PN|quantity:1|total:2.50",
    ),
)


def test_woocommerce_orders_webtoffee_layout(segcli):
    path = segcli.write("orders.csv", WEBTOFFEE)
    result = checked(segcli, "import", "orders", path, "--from", "woocommerce")
    assert_line(result, f"{path}: read as WooCommerce order export, 19 columns")
    assert re.search(rf"^{re.escape(str(path))}: 4 rows read: ", result.stderr, re.MULTILINE)
    assert_line(result, f"{path}: 4 orders with 5 line items: 4 inserted, 0 updated, 0 unchanged")
    assert_line(result, f"{path}: 1 order has no customer id or email: it counts for no one")
    base = {"currency": "EUR"}
    assert orders(segcli) == [
        order(
            **base,
            order_id="5001",
            customer_id="12",
            email="ann@example.com",
            created_at="2024-03-01 10:00:00",
            total=950_000,
            status="completed",
            counted=1,
            country="DE",
            region="BE",
            city="Berlin",
        ),
        order(
            **base,
            order_id="5002",
            email="gus@example.com",
            created_at="2024-03-02 11:00:00",
            total=125_000,
            status="processing",
            counted=1,
        ),
        order(
            **base,
            order_id="5003",
            customer_id="12",
            email="ann@example.com",
            created_at="2024-03-03 12:00:00",
            total=123_400,
            status="on-hold",
            counted=1,
        ),
        order(
            **base,
            order_id="5004",
            created_at="2024-03-04 13:00:00",
            total=25_000,
            status="cancelled",
            counted=0,
        ),
    ]
    assert items(segcli) == [
        item("5001", 1, "Hoodie - Blue", 2, 450_000, product_id="57", sku="HD-BL"),
        item("5002", 1, "Cap", 3, None, product_id="58", sku="CP"),
        item("5002", 2, "Pin", 1, 25_000, product_id="59", sku="PN"),
        item("5003", 1, "Mug", 4, 30_850, product_id="60"),
        item("5004", 1, "Pin", 1, 25_000, product_id="59", sku="PN"),
    ]
    assert order_owners(segcli) == {
        "5001": "c:12",
        "5002": "e:gus@example.com",
        "5003": "c:12",
        "5004": None,
    }
    assert [(p["person_key"], p["email"]) for p in people(segcli)] == [
        ("c:12", "ann@example.com"),
        ("e:gus@example.com", "gus@example.com"),
    ]


WOO_STATUSES = [
    ("completed", 1),
    ("processing", 1),
    ("on-hold", 1),
    ("cancelled", 0),
    ("refunded", 0),
    ("failed", 0),
]


@pytest.mark.parametrize("prefix", ["", "wc-"])
def test_woocommerce_statuses_and_which_are_counted(segcli, prefix):
    rows = [
        webtoffee(
            f"{n}",
            order_date="2024-03-01 10:00:00",
            status=f"{prefix}{status}",
            order_total="5.00",
            customer_id="0",
            billing_email="buyer@example.com",
            line_item_1="name:Pin|product_id:59|quantity:1|total:5.00",
        )
        for n, (status, _) in enumerate(WOO_STATUSES, start=1)
    ]
    path = segcli.write("orders.csv", csv_text(WEBTOFFEE_HEADER, *rows))
    result = checked(segcli, "import", "orders", path, "--from", "woocommerce")
    assert_summary(result, path, read=len(rows), inserted=len(rows))
    assert sorted(segcli.rows("SELECT order_id, status, counted FROM orders")) == sorted(
        (f"{n}", status, counted) for n, (status, counted) in enumerate(WOO_STATUSES, start=1)
    )


def test_woocommerce_malformed_line_item_rejects_its_row(segcli):
    good = {
        "order_date": "2024-03-01 10:00:00",
        "status": "completed",
        "order_total": "5.00",
        "customer_id": "0",
        "billing_email": "buyer@example.com",
        "line_item_1": "name:Pin|product_id:59|quantity:1|total:5.00",
    }
    path = segcli.write(
        "orders.csv",
        csv_text(
            WEBTOFFEE_HEADER,
            webtoffee("6001", **good),
            webtoffee("6002", **good, line_item_2="garbage"),
            webtoffee("6003", **good),
        ),
    )
    result = checked(segcli, "import", "orders", path, "--from", "woocommerce", exit_code=3)
    [message] = [line for line in result.stderr.splitlines() if "line 3" in line]
    assert str(path) in message
    assert "rejected" in message
    assert "line_item_2" in message
    assert_summary(result, path, read=3, inserted=2, rejected=1)
    assert segcli.rows("SELECT order_id FROM orders ORDER BY 1") == [("6001",), ("6003",)]
    assert segcli.rows("SELECT order_id, title FROM items ORDER BY 1") == [
        ("6001", "Pin"),
        ("6003", "Pin"),
    ]


SKYVERGE = csv_text(
    SKYVERGE_HEADER,
    {
        "order_id": "7001",
        "order_number": "7001",
        "order_number_formatted": "#7001",
        "date": "2024-04-01 09:00:00",
        "status": "on-hold",
        "shipping_total": "0.00",
        "order_total": "55.00",
        "refunded_total": "0.00",
        "order_currency": "USD",
        "payment_method": "stripe",
        "customer_id": "0",
        "billing_first_name": "Sky",
        "billing_last_name": "Lee",
        "billing_email": "Sky@Example.com",
        "billing_city": "Austin",
        "billing_state": "TX",
        "billing_country": "US",
        # An escaped colon in a name, and a product deleted since the order.
        "line_items": r"name:Hoodie\: Blue|product_id:57|sku:HD-BL|quantity:1|total:45.00;"
        r"name:Old thing|product_id:0|sku:unknown_product|quantity:2|total:10.00",
    },
    {
        "order_id": "7002",
        "order_number": "7002",
        "order_number_formatted": "#7002",
        "date": "2024-04-02 09:00:00",
        "status": "refunded",
        "order_total": "5.00",
        "refunded_total": "5.00",
        "order_currency": "USD",
        "customer_id": "31",
        "billing_email": "sky@example.com",
        # An escaped ';' and '|' belong to the name.
        "line_items": r"name:Pin set\; 3\|pack|product_id:61|sku:PN-3|quantity:1|total:5.00",
    },
)


def test_woocommerce_orders_skyverge_layout(segcli):
    path = segcli.write("orders.csv", SKYVERGE)
    result = checked(segcli, "import", "orders", path, "--from", "woocommerce")
    assert_line(result, f"{path}: read as WooCommerce order export, 18 columns")
    assert re.search(rf"^{re.escape(str(path))}: 2 rows read: ", result.stderr, re.MULTILINE)
    assert_line(result, f"{path}: 2 orders with 3 line items: 2 inserted, 0 updated, 0 unchanged")
    assert orders(segcli) == [
        order(
            order_id="7001",
            email="sky@example.com",
            created_at="2024-04-01 09:00:00",
            total=550_000,
            status="on-hold",
            currency="USD",
            counted=1,
            country="US",
            region="TX",
            city="Austin",
        ),
        order(
            order_id="7002",
            customer_id="31",
            email="sky@example.com",
            created_at="2024-04-02 09:00:00",
            total=50_000,
            status="refunded",
            currency="USD",
            counted=0,
        ),
    ]
    assert items(segcli) == [
        item("7001", 1, "Hoodie: Blue", 1, 450_000, product_id="57", sku="HD-BL"),
        item("7001", 2, "Old thing", 2, 50_000),
        item("7002", 1, "Pin set; 3|pack", 1, 50_000, product_id="61", sku="PN-3"),
    ]
    # The guest order's email belongs to customer 31.
    assert order_owners(segcli) == {"7001": "c:31", "7002": "c:31"}


def test_woocommerce_row_with_several_items_is_counted_once(segcli):
    path = segcli.write("orders.csv", SKYVERGE)
    result = checked(segcli, "import", "orders", path, "--from", "woocommerce")
    assert_summary(result, path, read=2, inserted=2)


def test_woocommerce_bad_row_with_several_items_is_rejected_once(segcli):
    path = segcli.write(
        "orders.csv",
        csv_text(
            WEBTOFFEE_HEADER,
            webtoffee(
                "8001",
                order_date="2024-03-01 10:00:00",
                status="completed",
                order_total="abc",
                customer_id="0",
                billing_email="buyer@example.com",
                line_item_1="name:Cap|product_id:58|quantity:1|total:1.00",
                line_item_2="name:Pin|product_id:59|quantity:1|total:2.00",
            ),
        ),
    )
    result = checked(segcli, "import", "orders", path, "--from", "woocommerce", exit_code=3)
    rejected = [line for line in result.stderr.splitlines() if "line 2: rejected" in line]
    assert len(rejected) == 1, result.stderr
    assert "total" in rejected[0]
    assert_summary(result, path, read=1, rejected=1)


# --- detection and refusals -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "dialect"),
    [
        ("orders_export.csv", SHOPIFY_CURRENT, "shopify"),
        ("woo_orders.csv", SKYVERGE, "woocommerce"),
    ],
)
def test_platform_orders_export_without_from_is_refused_with_a_hint(segcli, name, text, dialect):
    path = segcli.write(name, text)
    result = checked(segcli, "import", "orders", path, exit_code=1)
    assert str(path) in result.stderr
    assert f"--from {dialect}" in result.stderr
    assert "rows read" not in result.stderr
    assert segcli.value("SELECT count(*) FROM orders") == 0


def test_woocommerce_customers_download_without_from_is_refused_unless_mapped(segcli):
    path = segcli.write(
        "wc-customers.csv",
        csv_text(
            WOO_CUSTOMERS_SERVER,
            {"Name": "Ann Lee", "Sign Up": "2023-01-15T09:30:00", "Email": "ann@example.com"},
            bom=True,
        ),
    )
    refused = checked(segcli, "import", "customers", path, exit_code=1)
    assert_line(
        refused,
        f"Error: {path}: this is a WooCommerce customers download: import it with "
        "--from woocommerce",
    )
    assert not segcli.db.exists() or segcli.value("SELECT count(*) FROM customers") == 0

    result = checked(segcli, "import", "customers", path, "--map", "Postal Code=postal_code")
    assert_line(result, f"{path}: read as native customers file with --map, 12 columns")
    [warning] = [line for line in result.stderr.splitlines() if "warning" in line]
    assert "looks like a WooCommerce customers download" in warning
    assert "--from woocommerce" in warning
    assert_summary(result, path, read=1, inserted=1)
    # Read as native columns: the name is a custom field, not split into first and last.
    [stored] = customers(segcli)
    assert stored["first_name"] is None
    assert stored["created_at"] is None
    assert stored["custom"]["name"] == "Ann Lee"


def test_from_shopify_on_a_file_without_name_is_refused_naming_it(segcli):
    columns = [name for name in SHOPIFY_ORDERS_TRIMMED if name != "Name"]
    path = segcli.write(
        "orders.csv",
        csv_text(
            columns,
            {
                "Financial Status": "paid",
                "Created at": "2024-01-01 10:00:00 +0000",
                "Lineitem name": "Mug",
                "Total": "5",
                "Email": "a@example.com",
            },
        ),
    )
    result = checked(segcli, "import", "orders", path, "--from", "shopify", exit_code=1)
    assert str(path) in result.stderr
    assert "Shopify orders export" in result.stderr
    assert "'name'" in result.stderr.lower()
    assert segcli.value("SELECT count(*) FROM orders") == 0


@pytest.mark.parametrize(("kind", "dialect"), [("items", "shopify"), ("reviews", "woocommerce")])
def test_from_a_platform_for_a_kind_it_has_no_export_of_is_refused(segcli, kind, dialect):
    path = segcli.write(f"{kind}.csv", "order_id,product_id,sku,title\nO1,P1,S1,Mug\n")
    result = checked(segcli, "import", kind, path, "--from", dialect, exit_code=1)
    assert f"--from {dialect}" in result.stderr
    assert kind in result.stderr
    assert segcli.value(f"SELECT count(*) FROM {kind}") == 0


def test_map_with_from_shopify_is_a_usage_error(segcli):
    path = segcli.write("orders_export.csv", SHOPIFY_CURRENT)
    result = checked(
        segcli, "import", "orders", path, "--from", "shopify", "--map", "Name=order_id", exit_code=2
    )
    assert "--map" in result.stderr
    assert not segcli.db.exists() or segcli.value("SELECT count(*) FROM orders") == 0


# --- re-importing ---------------------------------------------------------------------

REIMPORTS = [
    pytest.param("orders", "shopify", SHOPIFY_CURRENT, 4, id="shopify-orders"),
    pytest.param(
        "customers",
        "shopify",
        csv_text(
            SHOPIFY_CUSTOMERS_CURRENT,
            CURRENT_CUSTOMER,
            {"Customer ID": "7.02255E+12", "Email": "eve@example.com", "Total Spent": "0.00"},
        ),
        2,
        id="shopify-customers",
    ),
    pytest.param(
        "customers",
        "woocommerce",
        csv_text(
            WOO_CUSTOMERS_SERVER,
            {"Name": "Ann Lee", "Sign Up": "2023-01-15T09:30:00", "Email": "ann@example.com"},
            {"Name": "Guest", "Email": "guest@example.com", "Orders": "1"},
            bom=True,
        ),
        2,
        id="woocommerce-customers",
    ),
    pytest.param(
        "orders",
        "woocommerce",
        csv_text(
            WEBTOFFEE_HEADER,
            *(
                webtoffee(
                    f"{n}",
                    order_date="2024-03-01 10:00:00",
                    status="completed",
                    order_total="5.00",
                    customer_id=str(n % 2),
                    billing_email=f"b{n}@example.com",
                    line_item_1="name:Pin|product_id:59|quantity:1|total:5.00",
                )
                for n in range(3)
            ),
        ),
        3,
        id="woocommerce-orders",
    ),
]


@pytest.mark.parametrize(("kind", "dialect", "text", "rows"), REIMPORTS)
def test_reimporting_a_platform_file_changes_nothing(segcli, kind, dialect, text, rows):
    path = segcli.write(f"{kind}.csv", text)
    first = checked(segcli, "import", kind, path, "--from", dialect)
    assert_summary(first, path, read=rows, inserted=rows)
    before, people_before = segcli.dump(), segcli.people()
    again = checked(segcli, "import", kind, path, "--from", dialect)
    assert_summary(again, path, read=rows, unchanged=rows)
    assert segcli.dump() == before
    assert segcli.people() == people_before

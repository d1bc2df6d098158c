"""segcli import and segcli info through the CLI (SPEC 1, 2.1, 2.2).

Each test writes its own small CSV files, runs segcli, and checks the exit code, stdout
(always empty for import: only data goes there), the message on stderr and the database
read back afterwards.
"""

from __future__ import annotations

import csv
import json
import re
import stat
from datetime import UTC, datetime

import pytest

from tests.conftest import table_rows

KINDS = ("customers", "orders", "items", "products", "reviews", "subscribers", "carts")
TABLES = KINDS
HIDDEN_COLUMNS = {"record_key", "person_id"}
JSON_COLUMNS = {"tags", "collections", "custom"}
STORED_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")

# The columns a file of each kind needs (SPEC 2.1), named by the message of a refused file.
REQUIRED_COLUMNS = {
    "customers": ["customer_id", "email"],
    "orders": ["order_id", "created_at", "total", "customer_id", "email"],
    "items": ["order_id", "product_id", "sku", "title"],
    "products": ["product_id", "sku"],
    "reviews": ["customer_id", "email", "product_id", "sku", "rating"],
    "subscribers": ["email"],
    "carts": ["customer_id", "email", "created_at"],
}


def lines(*rows: str) -> str:
    return "\n".join(rows) + "\n"


def stored(segcli, table: str) -> list[dict]:
    """A table's records as dicts (keys and person ids left out, JSON decoded), in a fixed order."""
    columns = [
        row[1] for row in segcli.rows(f"PRAGMA table_info({table})") if row[1] not in HIDDEN_COLUMNS
    ]
    records = []
    for row in segcli.rows(f"SELECT {', '.join(columns)} FROM {table}"):
        record = dict(zip(columns, row, strict=True))
        for name in JSON_COLUMNS & record.keys():
            record[name] = json.loads(record[name])
        records.append(record)
    return sorted(records, key=lambda record: json.dumps(record, sort_keys=True))


def count(segcli, table: str) -> int:
    return segcli.value(f"SELECT count(*) FROM {table}")


def person_keys(segcli) -> list[str]:
    return [row[0] for row in segcli.rows("SELECT person_key FROM people ORDER BY person_key")]


def assert_nothing_stored(segcli) -> None:
    if not segcli.db.exists():
        return
    assert all(rows == [] for rows in segcli.dump().values())
    assert segcli.people() == []


def assert_summary(result, path, *, read, inserted=0, updated=0, unchanged=0, rejected=0):
    """The summary line: NAME: N rows read: I inserted, U updated, C unchanged, R rejected."""
    pattern = (
        rf"^{re.escape(str(path))}: {read} rows? read: {inserted} inserted, {updated} updated, "
        rf"{unchanged} unchanged, {rejected} rejected$"
    )
    assert re.search(pattern, result.stderr, re.MULTILINE), result.stderr


def reject_message(result, path, line: int) -> str:
    """The one stderr line that reports a rejected row of ``path`` at ``line``."""
    found = [
        message
        for message in result.stderr.splitlines()
        if str(path) in message and re.search(rf"\bline {line}\b", message)
    ]
    assert len(found) == 1, result.stderr
    return found[0]


def assert_one_clear_line(result) -> None:
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


# --- a valid file of every kind ------------------------------------------------------

VALID = {
    "customers": (
        lines(
            "customer_id,email,first_name,last_name,created_at,accepts_marketing,country,"
            "region,city,tags,customer_group,channel,loyalty_tier",
            'C1, Ann@Example.COM ,Ann,Lee,2024-01-02T03:04:05+02:00,yes,DE,BE,Berlin,"vip, '
            'wholesale",trade,web,gold',
            "C2,,Bob,,2024-03-01,N,,,,,,,",
            ",Only@X.com,,,,,,,,,,,",
        ),
        [
            {
                "customer_id": "C1",
                "email": "ann@example.com",
                "first_name": "Ann",
                "last_name": "Lee",
                "created_at": "2024-01-02 01:04:05",
                "accepts_marketing": 1,
                "country": "DE",
                "region": "BE",
                "city": "Berlin",
                "tags": ["vip", "wholesale"],
                "customer_group": "trade",
                "channel": "web",
                "custom": {"loyalty_tier": "gold"},
            },
            {
                "customer_id": "C2",
                "email": None,
                "first_name": "Bob",
                "last_name": None,
                "created_at": "2024-03-01 00:00:00",
                "accepts_marketing": 0,
                "country": None,
                "region": None,
                "city": None,
                "tags": [],
                "customer_group": None,
                "channel": None,
                "custom": {},
            },
            {
                "customer_id": None,
                "email": "only@x.com",
                "first_name": None,
                "last_name": None,
                "created_at": None,
                "accepts_marketing": None,
                "country": None,
                "region": None,
                "city": None,
                "tags": [],
                "customer_group": None,
                "channel": None,
                "custom": {},
            },
        ],
    ),
    "orders": (
        lines(
            "order_id,customer_id,email,created_at,total,status,currency,"
            "accepts_marketing,country,region,city",
            "O1,C1,,2024-01-02T03:04:05-05:00,12.5,paid,EUR,yes, DE ,BY,München",
            "O2,, Guest@X.com ,2024-02-01,-3.25,refunded,,no,,,",
            "O3,C1,ann@x.com,2024-02-02 10:00:00,0.0001,,,,,,",
        ),
        [
            {
                "order_id": "O1",
                "customer_id": "C1",
                "email": None,
                "created_at": "2024-01-02 08:04:05",
                "total": 125_000,
                "status": "paid",
                "currency": "EUR",
                "counted": 1,
                "accepts_marketing": 1,
                "country": "DE",
                "region": "BY",
                "city": "München",
                "original_total": None,
                "rate": None,
            },
            {
                "order_id": "O2",
                "customer_id": None,
                "email": "guest@x.com",
                "created_at": "2024-02-01 00:00:00",
                "total": -32_500,
                "status": "refunded",
                "currency": None,
                "counted": 0,
                "accepts_marketing": 0,
                "country": None,
                "region": None,
                "city": None,
                "original_total": None,
                "rate": None,
            },
            {
                "order_id": "O3",
                "customer_id": "C1",
                "email": "ann@x.com",
                "created_at": "2024-02-02 10:00:00",
                "total": 1,
                "status": None,
                "currency": None,
                "counted": 1,
                "accepts_marketing": None,
                "country": None,
                "region": None,
                "city": None,
                "original_total": None,
                "rate": None,
            },
        ],
    ),
    "items": (
        lines(
            "order_id,product_id,sku,title,collection,quantity,price,vendor",
            "O1,P1,SKU-1,Mug,Kitchen,2,9.99,Acme Ceramics",
            "O1,,SKU-2,Tea,,,,",
            "O2,P3,,Refund,,-1,-4.5,",
        ),
        [
            {
                "order_id": "O1",
                "line_no": 1,
                "product_id": "P1",
                "sku": "SKU-1",
                "title": "Mug",
                "collection": "Kitchen",
                "quantity": 2,
                "price": 99_900,
                "vendor": "Acme Ceramics",
            },
            {
                "order_id": "O1",
                "line_no": 2,
                "product_id": None,
                "sku": "SKU-2",
                "title": "Tea",
                "collection": None,
                "quantity": 1,
                "price": None,
                "vendor": None,
            },
            {
                "order_id": "O2",
                "line_no": 1,
                "product_id": "P3",
                "sku": None,
                "title": "Refund",
                "collection": None,
                "quantity": -1,
                "price": -45_000,
                "vendor": None,
            },
        ],
    ),
    "products": (
        lines(
            "product_id,sku,title,collections,product_type,vendor,tags",
            'P1,SKU-1,Mug,Kitchen; Gifts,Mugs,Acme,"ceramic, sale"',
            ",SKU-2,Tea,,,,",
        ),
        [
            {
                "product_id": "P1",
                "sku": "SKU-1",
                "title": "Mug",
                "collections": ["Kitchen", "Gifts"],
                "product_type": "Mugs",
                "vendor": "Acme",
                "tags": ["ceramic", "sale"],
            },
            {
                "product_id": None,
                "sku": "SKU-2",
                "title": "Tea",
                "collections": [],
                "product_type": None,
                "vendor": None,
                "tags": [],
            },
        ],
    ),
    "reviews": (
        lines(
            "review_id,customer_id,email,product_id,sku,rating,created_at,title,body",
            'R1,C1,,P1,,5,2024-01-02T10:00:00+01:00,Great,"Lovely, sturdy"',
            ",,Ann@X.com,,SKU-2,1,,Bad,",
        ),
        [
            {
                "review_id": "R1",
                "customer_id": "C1",
                "email": None,
                "product_id": "P1",
                "sku": None,
                "rating": 5,
                "created_at": "2024-01-02 09:00:00",
                "title": "Great",
                "body": "Lovely, sturdy",
            },
            {
                "review_id": None,
                "customer_id": None,
                "email": "ann@x.com",
                "product_id": None,
                "sku": "SKU-2",
                "rating": 1,
                "created_at": None,
                "title": "Bad",
                "body": None,
            },
        ],
    ),
    "subscribers": (
        lines(
            "email,subscribed_at,status,source",
            " A@X.com ,2024-01-02T00:30:00+01:00,subscribed,popup",
            "b@x.com,,,",
            "c@x.com,2024-02-01,unsubscribed,footer",
        ),
        [
            {
                "email": "a@x.com",
                "subscribed_at": "2024-01-01 23:30:00",
                "status": "subscribed",
                "source": "popup",
            },
            {"email": "b@x.com", "subscribed_at": None, "status": "subscribed", "source": None},
            {
                "email": "c@x.com",
                "subscribed_at": "2024-02-01 00:00:00",
                "status": "unsubscribed",
                "source": "footer",
            },
        ],
    ),
    "carts": (
        lines(
            "cart_id,customer_id,email,created_at,total",
            "K1,C1,,2024-01-02T23:00:00-02:00,19.99",
            ",,Ann@X.com,2024-02-01,",
        ),
        [
            {
                "cart_id": "K1",
                "customer_id": "C1",
                "email": None,
                "created_at": "2024-01-03 01:00:00",
                "total": 199_900,
            },
            {
                "cart_id": None,
                "customer_id": None,
                "email": "ann@x.com",
                "created_at": "2024-02-01 00:00:00",
                "total": None,
            },
        ],
    ),
}


@pytest.mark.parametrize("kind", KINDS)
def test_valid_file_is_stored_normalised(segcli, kind):
    text, expected = VALID[kind]
    path = segcli.write(f"{kind}.csv", text)
    result = segcli("import", kind, path)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    rows = len(text.splitlines()) - 1
    assert_summary(result, path, read=rows, inserted=rows)
    assert stored(segcli, kind) == sorted(
        expected, key=lambda record: json.dumps(record, sort_keys=True)
    )
    assert all(count(segcli, table) == 0 for table in TABLES if table != kind)


@pytest.mark.parametrize("kind", KINDS)
def test_reimporting_the_same_file_changes_nothing(segcli, kind):
    text, _ = VALID[kind]
    path = segcli.write(f"{kind}.csv", text)
    assert segcli("import", kind, path).exit_code == 0
    before, people_before = segcli.dump(), segcli.people()
    result = segcli("import", kind, path)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    rows = len(text.splitlines()) - 1
    assert_summary(result, path, read=rows, unchanged=rows)
    assert segcli.dump() == before
    assert segcli.people() == people_before


@pytest.mark.parametrize(
    "status",
    ["cancelled", "Canceled", "REFUNDED", "voided", "failed"],
)
def test_orders_with_an_uncounted_status_are_stored_as_not_counted(segcli, status):
    path = segcli.write(
        "orders.csv",
        lines(
            "order_id,customer_id,created_at,total,status",
            f"O1,C1,2024-01-01,10,{status}",
            "O2,C1,2024-01-01,10,Paid",
            "O3,C1,2024-01-01,10,",
        ),
    )
    assert segcli("import", "orders", path).exit_code == 0
    assert segcli.rows("SELECT order_id, counted FROM orders ORDER BY order_id") == [
        ("O1", 0),
        ("O2", 1),
        ("O3", 1),
    ]


def test_unknown_columns_outside_customers_are_ignored_with_a_warning(segcli):
    path = segcli.write(
        "orders.csv",
        lines("order_id,customer_id,created_at,total,gift_note", "O1,C1,2024-01-01,10,hi"),
    )
    result = segcli("import", "orders", path)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "gift_note" in result.stderr
    assert_summary(result, path, read=1, inserted=1)
    assert count(segcli, "orders") == 1


# --- rejected rows -------------------------------------------------------------------

# A header and a valid row (numbered n) for each kind; a bad row goes between two good ones.
GOOD = {
    "customers": (
        "customer_id,email,created_at,accepts_marketing",
        "C{n},c{n}@x.com,2024-01-01,yes",
    ),
    "orders": ("order_id,customer_id,email,created_at,total", "O{n},C{n},,2024-01-01,10"),
    "items": ("order_id,sku,quantity,price", "O{n},S{n},1,10"),
    "products": ("product_id,sku,title", "P{n},S{n},Mug"),
    "reviews": ("customer_id,email,product_id,rating,created_at", "C{n},,P{n},4,2024-01-01"),
    "subscribers": ("email,subscribed_at,status", "s{n}@x.com,2024-01-01,subscribed"),
    "carts": ("customer_id,email,created_at,total", "C{n},,2024-01-01,5"),
}

# kind, bad row, the columns the message must name, words of the reason.
BAD_ROWS = [
    pytest.param("customers", "C9,c9@x.com,2024-02-30,yes", ["created_at"], ["2024-02-30"]),
    pytest.param("customers", "C9,c9@x.com,0000-00-00,yes", ["created_at"], ["0000-00-00"]),
    pytest.param("customers", "C9,c9@x.com,2024-01-01,maybe", ["accepts_marketing"], ["maybe"]),
    pytest.param("customers", "C9,ann.example.com,2024-01-01,yes", ["email"], ["ann.example.com"]),
    pytest.param("customers", ",,2024-01-01,yes", ["customer_id", "email"], []),
    pytest.param("customers", "C9,c9@x.com,2024-01-01,yes,surplus", [], ["fields"]),
    pytest.param("orders", "O9,C9,,2024-02-30,10", ["created_at"], ["2024-02-30"]),
    pytest.param("orders", "O9,C9,,0000-00-00,10", ["created_at"], ["0000-00-00"]),
    pytest.param("orders", 'O9,C9,,2024-01-01,"12,50"', ["total"], ["12,50"]),
    pytest.param("orders", "O9,C9,,2024-01-01,12.34567", ["total"], ["12.34567", "decimals"]),
    pytest.param("orders", "O9,C9,,2024-01-01,NaN", ["total"], ["NaN"]),
    pytest.param("orders", "O9,C9,,2024-01-01,1e309", ["total"], ["1e309"]),
    pytest.param("orders", "O9,C9,,2024-01-01,", ["total"], []),
    pytest.param("orders", "O9,C9,,,10", ["created_at"], []),
    pytest.param("orders", "O9,,bad@,2024-01-01,10", ["email"], ["bad@"]),
    pytest.param("orders", ",C9,,2024-01-01,10", ["order_id"], []),
    pytest.param("orders", "O9,C9,,2024-01-01,12,50", [], ["fields"]),
    pytest.param("items", "O9,S9,2.5,10", ["quantity"], ["2.5"]),
    pytest.param("items", 'O9,S9,1,"12,50"', ["price"], ["12,50"]),
    pytest.param("items", "O9,S9,1,NaN", ["price"], ["NaN"]),
    pytest.param("items", "O9,,1,10", ["product_id", "sku"], []),
    pytest.param("items", ",S9,1,10", ["order_id"], []),
    pytest.param("items", "O9,S9,1,10,surplus", [], ["fields"]),
    pytest.param("products", ",,Mug", ["product_id", "sku"], []),
    pytest.param("products", "P9,S9,Mug,surplus", [], ["fields"]),
    pytest.param("reviews", "C9,,P9,0,2024-01-01", ["rating"], []),
    pytest.param("reviews", "C9,,P9,6,2024-01-01", ["rating"], []),
    pytest.param("reviews", "C9,,P9,4.5,2024-01-01", ["rating"], ["4.5"]),
    pytest.param("reviews", "C9,,P9,,2024-01-01", ["rating"], []),
    pytest.param("reviews", "C9,,P9,4,2024-02-30", ["created_at"], ["2024-02-30"]),
    pytest.param("reviews", ",ann.example.com,P9,4,2024-01-01", ["email"], ["ann.example.com"]),
    pytest.param("reviews", ",,P9,4,2024-01-01", ["customer_id", "email"], []),
    pytest.param("reviews", "C9,,,4,2024-01-01", ["product_id", "sku"], []),
    pytest.param("subscribers", "s9@x.com,2024-01-01,pending", ["status"], ["pending"]),
    pytest.param("subscribers", "ann.example.com,2024-01-01,", ["email"], ["ann.example.com"]),
    pytest.param("subscribers", "s9@x.com,0000-00-00,", ["subscribed_at"], ["0000-00-00"]),
    pytest.param("subscribers", ",2024-01-01,subscribed", ["email"], []),
    pytest.param("subscribers", "s9@x.com,2024-01-01,,surplus", [], ["fields"]),
    pytest.param("carts", "C9,,2024-02-30,5", ["created_at"], ["2024-02-30"]),
    pytest.param("carts", "C9,,,5", ["created_at"], []),
    pytest.param("carts", 'C9,,2024-01-01,"12,50"', ["total"], ["12,50"]),
    pytest.param("carts", "C9,,2024-01-01,1.00001", ["total"], ["1.00001"]),
    pytest.param("carts", "C9,,2024-01-01,1e309", ["total"], ["1e309"]),
    pytest.param("carts", ",,2024-01-01,5", ["customer_id", "email"], []),
    pytest.param("carts", "C9,,2024-01-01,5,surplus", [], ["fields"]),
]


@pytest.mark.parametrize(("kind", "bad_row", "columns", "words"), BAD_ROWS)
def test_bad_row_is_rejected_with_line_column_and_reason_and_the_rest_imported(
    segcli, kind, bad_row, columns, words
):
    header, good = GOOD[kind]
    path = segcli.write(f"{kind}.csv", lines(header, good.format(n=1), bad_row, good.format(n=2)))
    result = segcli("import", kind, path)
    assert result.exit_code == 3, result.stderr
    assert result.stdout == ""
    message = reject_message(result, path, 3)
    for text in [*columns, *words]:
        assert text in message
    assert_summary(result, path, read=3, inserted=2, rejected=1)
    assert count(segcli, kind) == 2


def test_every_rejected_row_is_listed(segcli):
    path = segcli.write(
        "customers.csv",
        lines("customer_id,created_at", "C1,2024-02-30", "C2,2024-01-01", "C3,yesterday"),
    )
    result = segcli("import", "customers", path)
    assert result.exit_code == 3
    assert "2024-02-30" in reject_message(result, path, 2)
    assert "yesterday" in reject_message(result, path, 4)
    assert_summary(result, path, read=3, inserted=1, rejected=2)


def test_file_whose_every_row_is_rejected_exits_3(segcli):
    path = segcli.write("orders.csv", lines(*GOOD["orders"][:1], "O1,C1,,2024-02-30,10"))
    result = segcli("import", "orders", path)
    assert result.exit_code == 3
    assert_summary(result, path, read=1, rejected=1)
    assert count(segcli, "orders") == 0


# --- files refused whole -------------------------------------------------------------

MISSING_COLUMNS = [
    pytest.param("customers", "first_name,last_name", ["customer_id", "email"]),
    pytest.param("orders", "customer_id,created_at,total", ["order_id"]),
    pytest.param("orders", "order_id,customer_id,total", ["created_at"]),
    pytest.param("orders", "order_id,customer_id,created_at", ["total"]),
    pytest.param("orders", "order_id,created_at,total", ["customer_id", "email"]),
    pytest.param("items", "sku,quantity", ["order_id"]),
    pytest.param("items", "order_id,quantity", ["product_id", "sku", "title"]),
    pytest.param("products", "title,vendor", ["product_id", "sku"]),
    pytest.param("reviews", "customer_id,product_id", ["rating"]),
    pytest.param("reviews", "customer_id,rating", ["product_id", "sku"]),
    pytest.param("reviews", "product_id,rating", ["customer_id", "email"]),
    pytest.param("subscribers", "status,source", ["email"]),
    pytest.param("carts", "customer_id,total", ["created_at"]),
    pytest.param("carts", "created_at,total", ["customer_id", "email"]),
]


@pytest.mark.parametrize(("kind", "header", "missing"), MISSING_COLUMNS)
def test_file_missing_a_required_column_is_refused_whole(segcli, kind, header, missing):
    width = header.count(",") + 1
    path = segcli.write(f"{kind}.csv", lines(header, ",".join(["1"] * width)))
    result = segcli("import", kind, path)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert str(path) in result.stderr
    [complaint] = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert "missing" in complaint
    for name in missing:
        assert name in complaint
    for name in REQUIRED_COLUMNS[kind]:
        assert name in result.stderr
    assert_nothing_stored(segcli)


def test_empty_file_is_refused(segcli):
    path = segcli.write("customers.csv", "")
    result = segcli("import", "customers", path)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert str(path) in result.stderr
    assert "empty" in result.stderr
    assert_one_clear_line(result)
    assert_nothing_stored(segcli)


def test_header_only_file_imports_nothing(segcli):
    path = segcli.write("customers.csv", "customer_id,email\n")
    result = segcli("import", "customers", path)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert_summary(result, path, read=0)
    assert_nothing_stored(segcli)


def test_nonexistent_file_is_one_clear_line(segcli):
    path = segcli.dir / "nowhere.csv"
    result = segcli("import", "customers", path)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert str(path) in result.stderr
    assert_one_clear_line(result)
    assert_nothing_stored(segcli)


def test_directory_is_one_clear_line(segcli):
    folder = segcli.dir / "exports"
    folder.mkdir()
    result = segcli("import", "customers", folder)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert str(folder) in result.stderr
    assert "directory" in result.stderr
    assert_one_clear_line(result)
    assert_nothing_stored(segcli)


def test_refused_file_leaves_earlier_data_untouched(segcli):
    first = segcli.write("customers.csv", lines("customer_id,first_name", "C1,Ann"))
    assert segcli("import", "customers", first).exit_code == 0
    before = segcli.dump()
    refused = segcli.write("more.csv", lines("first_name", "Bob"))
    assert segcli("import", "customers", refused).exit_code == 1
    assert segcli.dump() == before


# --- later rows replace earlier ones -------------------------------------------------

# kind, header, first row, later row with the same key, the changed column and its new value.
SAME_KEY = [
    pytest.param(
        "customers", "customer_id,email,first_name", "C1,a@x.com,Ann", "C1,b@x.com,Annie",
        "first_name", "Annie", id="customers-by-id",
    ),
    pytest.param(
        "customers", "customer_id,email,first_name", ",ann@x.com,Ann", ", ANN@x.com ,Annie",
        "first_name", "Annie", id="customers-by-email",
    ),
    pytest.param(
        "orders", "order_id,customer_id,created_at,total", "O1,C1,2024-01-01,10",
        "O1,C1,2024-01-01,12.5", "total", 125_000, id="orders",
    ),
    pytest.param(
        "products", "product_id,sku,title", "P1,S1,Mug", "P1,S2,Big mug",
        "title", "Big mug", id="products-by-id",
    ),
    pytest.param(
        "products", "product_id,sku,title", ",S1,Mug", ",S1,Big mug",
        "title", "Big mug", id="products-by-sku",
    ),
    pytest.param(
        "reviews", "review_id,customer_id,product_id,rating,created_at",
        "R1,C1,P1,4,2024-01-01", "R1,C1,P1,5,2024-01-02", "rating", 5, id="reviews-by-id",
    ),
    pytest.param(
        "reviews", "review_id,customer_id,product_id,rating,created_at",
        ",C1,P1,4,2024-01-01", ",C1,P1,2,2024-01-01T00:00:00Z", "rating", 2,
        id="reviews-by-person-product-date",
    ),
    pytest.param(
        "subscribers", "email,subscribed_at,status,source",
        "a@x.com,2024-01-01,subscribed,popup", "A@x.com,2024-01-01T01:00:00+01:00,,footer",
        "source", "footer", id="subscribers",
    ),
    pytest.param(
        "carts", "cart_id,customer_id,created_at,total", "K1,C1,2024-01-01,5",
        "K1,C1,2024-01-02,7", "total", 70_000, id="carts-by-id",
    ),
    pytest.param(
        "carts", "cart_id,customer_id,created_at,total", ",C1,2024-01-01,5",
        ",C1,2024-01-01T00:00:00+00:00,7", "total", 70_000, id="carts-by-person-date",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "header", "first", "later", "column", "value"), SAME_KEY)
def test_later_file_with_the_same_key_updates(segcli, kind, header, first, later, column, value):
    assert segcli("import", kind, segcli.write("first.csv", lines(header, first))).exit_code == 0
    path = segcli.write("later.csv", lines(header, later))
    result = segcli("import", kind, path)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert_summary(result, path, read=1, updated=1)
    assert segcli.rows(f"SELECT {column} FROM {kind}") == [(value,)]


@pytest.mark.parametrize(("kind", "header", "first", "later", "column", "value"), SAME_KEY)
def test_later_row_in_the_same_file_wins(segcli, kind, header, first, later, column, value):
    path = segcli.write(f"{kind}.csv", lines(header, first, later))
    result = segcli("import", kind, path)
    assert result.exit_code == 0, result.stderr
    assert segcli.rows(f"SELECT {column} FROM {kind}") == [(value,)]


def test_updated_and_unchanged_rows_are_counted_apart(segcli):
    header = "customer_id,first_name"
    segcli("import", "customers", segcli.write("a.csv", lines(header, "C1,Ann", "C2,Bob")))
    path = segcli.write("b.csv", lines(header, "C1,Ann", "C2,Bobby", "C3,Cy"))
    result = segcli("import", "customers", path)
    assert result.exit_code == 0
    assert_summary(result, path, read=3, inserted=1, updated=1, unchanged=1)


def test_repeated_key_within_a_file_last_row_wins_and_rows_share_its_verdict(segcli):
    path = segcli.write(
        "customers.csv",
        lines("customer_id,first_name", "C1,Ann", "C1,Annie", "C2,Bob", "C2,Bob"),
    )
    result = segcli("import", "customers", path)
    assert result.exit_code == 0
    assert segcli.rows("SELECT customer_id, first_name FROM customers ORDER BY 1") == [
        ("C1", "Annie"),
        ("C2", "Bob"),
    ]
    assert_summary(result, path, read=4, inserted=4)
    assert f"{path}: 2 rows replaced by a later row with the same key" in result.stderr
    # Every row shares its key's verdict, so the same file again is all unchanged.
    again = segcli("import", "customers", path)
    assert_summary(again, path, read=4, unchanged=4)


def test_items_file_replaces_an_orders_lines_as_a_whole(segcli):
    header = "order_id,sku,quantity,price"
    first = segcli.write("a.csv", lines(header, "O1,A,1,1", "O1,B,2,2", "O1,C,3,3", "O2,A,1,1"))
    assert segcli("import", "items", first).exit_code == 0
    path = segcli.write("b.csv", lines(header, "O1,Z,5,0.5"))
    result = segcli("import", "items", path)
    assert result.exit_code == 0, result.stderr
    assert_summary(result, path, read=1, updated=1)
    assert segcli.rows("SELECT order_id, line_no, sku, quantity, price FROM items") == [
        ("O1", 1, "Z", 5, 5_000),
        ("O2", 1, "A", 1, 10_000),
    ]


# --- reading the file: headers, encodings, delimiters --------------------------------


def test_header_names_match_case_insensitively_after_trimming(segcli):
    path = segcli.write(
        "customers.csv", lines(" Customer_ID , EMAIL ,First_Name", "C1,ann@x.com,Ann")
    )
    result = segcli("import", "customers", path)
    assert result.exit_code == 0, result.stderr
    assert segcli.rows("SELECT customer_id, email, first_name, custom FROM customers") == [
        ("C1", "ann@x.com", "Ann", "{}")
    ]


def test_byte_order_mark_before_the_header_is_ignored(segcli):
    path = segcli.write("customers.csv", lines("\ufeffcustomer_id,email", "C1,ann@x.com"))
    result = segcli("import", "customers", path)
    assert result.exit_code == 0, result.stderr
    assert segcli.rows("SELECT customer_id, email, custom FROM customers") == [
        ("C1", "ann@x.com", "{}")
    ]


def test_crlf_line_ends(segcli):
    path = segcli.write("customers.csv", "customer_id,first_name,tags\r\nC1,Ann,vip\r\nC2,Bob,\r\n")
    result = segcli("import", "customers", path)
    assert result.exit_code == 0, result.stderr
    assert_summary(result, path, read=2, inserted=2)
    assert segcli.rows("SELECT customer_id, first_name, tags FROM customers ORDER BY 1") == [
        ("C1", "Ann", '["vip"]'),
        ("C2", "Bob", "[]"),
    ]


def test_quoted_newlines_keep_physical_line_numbers(segcli):
    path = segcli.write(
        "customers.csv",
        'customer_id,first_name,created_at\nC1,"Ann\nMarie\nLee",2024-01-01\n\n'
        'C2,Bob,2024-02-30\nC3,"Cy\nCyrus",yesterday\nC4,Di,2024-01-01\n',
    )
    result = segcli("import", "customers", path)
    assert result.exit_code == 3
    # Header 1, C1 on 2-4, a blank line 5, C2 on 6, C3 starts on 7.
    assert "2024-02-30" in reject_message(result, path, 6)
    assert "yesterday" in reject_message(result, path, 7)
    assert segcli.rows("SELECT customer_id, first_name FROM customers ORDER BY 1") == [
        ("C1", "Ann\nMarie\nLee"),
        ("C4", "Di"),
    ]


def test_latin1_file_is_refused_without_encoding(segcli):
    path = segcli.write(
        "customers.csv", lines("customer_id,first_name", "C1,Ann", "C2,José"), encoding="latin-1"
    )
    result = segcli("import", "customers", path)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert str(path) in result.stderr
    assert re.search(r"\bline 3\b", result.stderr)
    assert "--encoding latin-1" in result.stderr
    assert_nothing_stored(segcli)


def test_latin1_file_imports_with_encoding(segcli):
    path = segcli.write(
        "customers.csv", lines("customer_id,first_name", "C1,José Müller"), encoding="latin-1"
    )
    result = segcli("import", "customers", "--encoding", "latin-1", path)
    assert result.exit_code == 0, result.stderr
    assert segcli.rows("SELECT first_name FROM customers") == [("José Müller",)]


@pytest.mark.parametrize(
    ("delimiter", "separator"),
    [(";", ";"), ("tab", "\t")],
)
def test_delimiter(segcli, delimiter, separator):
    path = segcli.write(
        "customers.csv",
        lines(
            separator.join(["customer_id", "email", "tags"]),
            separator.join(["C1", "a@x.com", "a, b"]),
        ),
    )
    result = segcli("import", "customers", "--delimiter", delimiter, path)
    assert result.exit_code == 0, result.stderr
    assert segcli.rows("SELECT customer_id, email, tags FROM customers") == [
        ("C1", "a@x.com", '["a", "b"]')
    ]


def test_map_reads_columns_by_other_names(segcli):
    path = segcli.write(
        "invoices.csv", lines("Invoice,Client,Date,Amount", "INV-1,C7,2024-05-01,12.5")
    )
    result = segcli(
        "import", "orders",
        "--map", "Invoice=order_id", "--map", "client=customer_id",
        "--map", "DATE=created_at", "--map", "amount=total",
        path,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert segcli.rows("SELECT order_id, customer_id, created_at, total FROM orders") == [
        ("INV-1", "C7", "2024-05-01 00:00:00", 125_000)
    ]


def test_map_of_a_column_the_file_lacks_is_refused(segcli):
    path = segcli.write("customers.csv", lines("customer_id,email", "C1,a@x.com"))
    result = segcli("import", "customers", "--map", "Kontakt=email", path)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert "kontakt" in result.stderr.lower()
    assert_nothing_stored(segcli)


def test_map_to_an_unknown_column_is_a_usage_error(segcli):
    path = segcli.write("orders.csv", lines("order_id,customer_id,created_at,total,Gift"))
    result = segcli("import", "orders", "--map", "Gift=gift_wrap", path)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "gift_wrap" in result.stderr
    assert_nothing_stored(segcli)


# --- dry run, strict, rejects file ---------------------------------------------------


def test_dry_run_reports_what_would_happen_and_writes_nothing(segcli):
    header = "customer_id,first_name,created_at"
    segcli("import", "customers", segcli.write("a.csv", lines(header, "C1,Ann,2024-01-01")))
    before, people_before = segcli.dump(), segcli.people()
    path = segcli.write(
        "b.csv", lines(header, "C1,Annie,2024-01-01", "C2,Bob,2024-02-30", "C3,Cy,")
    )
    result = segcli("import", "customers", "--dry-run", path)
    assert result.exit_code == 3
    assert result.stdout == ""
    assert "2024-02-30" in reject_message(result, path, 3)
    assert "dry run" in result.stderr
    assert "would be" in result.stderr
    assert re.search(
        r"3 rows read: .*1 inserted, 1 updated, 0 unchanged, 1 rejected", result.stderr
    )
    assert segcli.dump() == before
    assert segcli.people() == people_before


def test_dry_run_of_a_clean_file_exits_0_and_writes_nothing(segcli):
    segcli(
        "import",
        "orders",
        segcli.write("a.csv", lines(*GOOD["orders"][:1], "O1,C1,,2024-01-01,10")),
    )
    before = segcli.dump()
    path = segcli.write("b.csv", lines(*GOOD["orders"][:1], "O2,C2,,2024-01-01,10"))
    result = segcli("import", "orders", "--dry-run", path)
    assert result.exit_code == 0, result.stderr
    assert "dry run" in result.stderr
    assert segcli.dump() == before


def test_dry_run_creates_no_database(segcli):
    path = segcli.write("customers.csv", lines("customer_id", "C1"))
    result = segcli("import", "customers", "--dry-run", path)
    assert result.exit_code == 0
    assert not segcli.db.exists()


def test_strict_refuses_a_file_with_a_rejected_row(segcli):
    path = segcli.write(
        "customers.csv",
        lines("customer_id,created_at", "C1,2024-01-01", "C2,2024-02-30", "C3,2024-01-01"),
    )
    result = segcli("import", "customers", "--strict", path)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert "2024-02-30" in reject_message(result, path, 3)
    assert "strict" in result.stderr
    assert_nothing_stored(segcli)


def test_strict_imports_a_clean_file(segcli):
    path = segcli.write("customers.csv", lines("customer_id", "C1", "C2"))
    result = segcli("import", "customers", "--strict", path)
    assert result.exit_code == 0, result.stderr
    assert count(segcli, "customers") == 2


def test_rejects_file_holds_the_rejected_rows_with_line_and_reason(segcli):
    path = segcli.write(
        "orders.csv",
        lines(
            "order_id,customer_id,created_at,total",
            "O1,C1,2024-01-01,10",
            'O2,C2,2024-01-01,"12,50"',
            "O3,C3,2024-02-30,10",
        ),
    )
    rejects = segcli.dir / "rejects.csv"
    result = segcli("import", "orders", "--rejects", rejects, path)
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1] == f"2 rejected rows written to {rejects}"
    assert stat.S_IMODE(rejects.stat().st_mode) == 0o600
    with rejects.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    assert reader.fieldnames == ["order_id", "customer_id", "created_at", "total", "line", "reason"]
    assert [
        (row["order_id"], row["customer_id"], row["created_at"], row["total"], row["line"])
        for row in rows
    ] == [("O2", "C2", "2024-01-01", "12,50", "3"), ("O3", "C3", "2024-02-30", "10", "4")]
    assert "total" in rows[0]["reason"] and "12,50" in rows[0]["reason"]
    assert "created_at" in rows[1]["reason"]
    assert count(segcli, "orders") == 1


def test_rejects_file_for_two_inputs_says_which_file(segcli):
    header = "customer_id,created_at"
    first = segcli.write("a.csv", lines(header, "C1,2024-02-30", "C2,2024-01-01"))
    second = segcli.write("b.csv", lines(header, "C3,2024-01-01", "C4,0000-00-00"))
    rejects = segcli.dir / "rejects.csv"
    result = segcli("import", "customers", "--rejects", rejects, first, second)
    assert result.exit_code == 3
    assert result.stderr.splitlines()[-1] == f"2 rejected rows written to {rejects}"
    alone = segcli.dir / "alone.csv"
    one = segcli("import", "customers", "--rejects", alone, first)
    assert one.stderr.splitlines()[-1] == f"1 rejected row written to {alone}"
    with rejects.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = [(row["customer_id"], row["line"], row["file"]) for row in reader]
    assert "file" in reader.fieldnames
    assert rows == [("C1", "2", str(first)), ("C4", "3", str(second))]
    assert stat.S_IMODE(rejects.stat().st_mode) == 0o600


def test_rejects_file_keeps_original_columns_named_line_and_reason(segcli):
    path = segcli.write("items.csv", lines("order_id,sku,quantity,line,reason", "O1,A,2.5,7,gift"))
    rejects = segcli.dir / "rejects.csv"
    assert segcli("import", "items", "--rejects", rejects, path).exit_code == 3
    with rejects.open(newline="", encoding="utf-8") as handle:
        [row] = list(csv.reader(handle))[1:]
    assert "7" in row
    assert "gift" in row


# --- several files -------------------------------------------------------------------

FILES = {
    "clean": lines("customer_id,created_at", "C1,2024-01-01"),
    "rejected": lines("customer_id,created_at", "C2,2024-01-01", "C3,2024-02-30"),
    "refused": lines("first_name", "Ann"),
}


@pytest.mark.parametrize(
    ("names", "exit_code"),
    [
        (["clean", "clean"], 0),
        (["clean", "rejected"], 3),
        (["rejected", "clean"], 3),
        (["rejected", "refused"], 1),
        (["refused", "rejected"], 1),
        (["refused", "clean"], 1),
        (["missing", "clean"], 1),
    ],
)
def test_several_files_exit_with_the_worst_code(segcli, names, exit_code):
    paths = [
        segcli.write(f"{n}-{name}.csv", FILES[name]) if name in FILES else segcli.dir / "x.csv"
        for n, name in enumerate(names)
    ]
    result = segcli("import", "customers", *paths)
    assert result.exit_code == exit_code, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    for path in paths:
        assert str(path) in result.stderr
    expected = {"C1"} if "clean" in names else set()
    if "rejected" in names:
        expected.add("C2")
    assert {row[0] for row in segcli.rows("SELECT customer_id FROM customers")} == expected


# --- orders given one line item per row ----------------------------------------------


@pytest.mark.parametrize(
    ("header", "rows"),
    [
        pytest.param(
            "order_id,customer_id,created_at,sku,quantity,price,title,collection",
            ["O1,C1,2024-01-01,A,3,19.99,Mug,Kitchen", "O1,,,B,1,0.01,Card,"],
            id="no-total-column",
        ),
        pytest.param(
            "order_id,customer_id,created_at,total,product_id,quantity,price,title,collection",
            ["O1,C1,2024-01-01,,A,3,19.99,Mug,Kitchen", "O1,,,,B,1,0.01,Card,"],
            id="empty-total-column",
        ),
    ],
)
def test_line_item_order_total_is_the_exact_sum_of_its_lines(segcli, header, rows):
    path = segcli.write("orders.csv", lines(header, *rows))
    result = segcli("import", "orders", path)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert_summary(result, path, read=2, inserted=2)
    # 3 × 19.99 + 0.01, exactly.
    assert segcli.rows("SELECT order_id, customer_id, created_at, total FROM orders") == [
        ("O1", "C1", "2024-01-01 00:00:00", 599_800)
    ]
    item_key = "sku" if "sku" in header else "product_id"
    assert segcli.rows(
        f"SELECT line_no, {item_key}, title, collection, quantity, price FROM items ORDER BY 1"
    ) == [(1, "A", "Mug", "Kitchen", 3, 199_900), (2, "B", "Card", None, 1, 100)]


def test_line_item_order_fields_come_from_its_first_row(segcli):
    path = segcli.write(
        "orders.csv",
        lines(
            "order_id,email,created_at,status,currency,sku,quantity,price",
            "O1,Ann@X.com,2024-01-01T10:00:00+02:00,paid,EUR,A,1,5",
            "O1,,,,,B,2,1",
            "O1,,,,,C,1,1",
            "O2,bob@x.com,2024-02-01,cancelled,,A,1,5",
        ),
    )
    result = segcli("import", "orders", path)
    assert result.exit_code == 0, result.stderr
    assert segcli.rows(
        "SELECT order_id, email, created_at, total, status, currency, counted FROM orders "
        "ORDER BY 1"
    ) == [
        ("O1", "ann@x.com", "2024-01-01 08:00:00", 80_000, "paid", "EUR", 1),
        ("O2", "bob@x.com", "2024-02-01 00:00:00", 50_000, "cancelled", None, 0),
    ]
    assert segcli.rows("SELECT order_id, line_no, sku FROM items ORDER BY 1, 2") == [
        ("O1", 1, "A"),
        ("O1", 2, "B"),
        ("O1", 3, "C"),
        ("O2", 1, "A"),
    ]


def test_line_item_order_given_a_total_keeps_it(segcli):
    path = segcli.write(
        "orders.csv",
        lines(
            "order_id,customer_id,created_at,total,sku,quantity,price",
            "O1,C1,2024-01-01,50,A,3,19.99",
            "O1,,,,B,1,0.01",
        ),
    )
    assert segcli("import", "orders", path).exit_code == 0
    assert segcli.value("SELECT total FROM orders") == 500_000


def test_line_item_returns_count_as_they_are(segcli):
    path = segcli.write(
        "orders.csv",
        lines(
            "order_id,customer_id,created_at,sku,quantity,price",
            "O1,C1,2024-01-01,A,2,10",
            "O1,,,A,-1,10",
            "O2,C1,2024-01-02,B,1,-4.5",
        ),
    )
    assert segcli("import", "orders", path).exit_code == 0
    assert segcli.rows("SELECT order_id, total FROM orders ORDER BY 1") == [
        ("O1", 100_000),
        ("O2", -45_000),
    ]


LINE_ITEM_ORDERS = lines(
    "order_id,customer_id,created_at,sku,quantity,price",
    "O1,C1,2024-01-01,A,1,1",
    "O1,,,B,2,2",
    "O1,,,C,3,3",
    "O2,C2,2024-01-02,A,1,1",
)


def test_line_item_orders_reimported_are_unchanged(segcli):
    path = segcli.write("orders.csv", LINE_ITEM_ORDERS)
    assert segcli("import", "orders", path).exit_code == 0
    before = segcli.dump()
    result = segcli("import", "orders", path)
    assert result.exit_code == 0, result.stderr
    assert_summary(result, path, read=4, unchanged=4)
    assert segcli.dump() == before


def test_later_orders_file_with_fewer_lines_replaces_them(segcli):
    assert segcli("import", "orders", segcli.write("a.csv", LINE_ITEM_ORDERS)).exit_code == 0
    path = segcli.write(
        "b.csv",
        lines("order_id,customer_id,created_at,sku,quantity,price", "O1,C1,2024-01-01,B,4,2"),
    )
    result = segcli("import", "orders", path)
    assert result.exit_code == 0, result.stderr
    assert_summary(result, path, read=1, updated=1)
    assert segcli.rows("SELECT order_id, line_no, sku, quantity FROM items ORDER BY 1, 2") == [
        ("O1", 1, "B", 4),
        ("O2", 1, "A", 1),
    ]
    assert segcli.rows("SELECT order_id, total FROM orders ORDER BY 1") == [
        ("O1", 80_000),
        ("O2", 10_000),
    ]


@pytest.mark.parametrize(
    ("rows", "words"),
    [
        pytest.param(["O2,C2,,A,1,1", "O2,,,B,1,1"], ["created_at"], id="no-created-at"),
    ],
)
def test_line_item_order_without_a_date_is_rejected_whole(segcli, rows, words):
    path = segcli.write(
        "orders.csv",
        lines(
            "order_id,customer_id,created_at,sku,quantity,price",
            "O1,C1,2024-01-01,A,1,1",
            *rows,
            "O3,C3,2024-01-03,A,1,1",
        ),
    )
    rejects = segcli.dir / "rejects.csv"
    result = segcli("import", "orders", "--rejects", rejects, path)
    assert result.exit_code == 3
    assert result.stdout == ""
    for line in (3, 4):
        message = reject_message(result, path, line)
        assert "O2" in message
        for word in words:
            assert word in message
    assert_summary(result, path, read=4, inserted=2, rejected=2)
    assert segcli.rows("SELECT order_id FROM orders ORDER BY 1") == [("O1",), ("O3",)]
    assert segcli.rows("SELECT DISTINCT order_id FROM items ORDER BY 1") == [("O1",), ("O3",)]
    with rejects.open(newline="", encoding="utf-8") as handle:
        assert [(row["order_id"], row["line"]) for row in csv.DictReader(handle)] == [
            ("O2", "3"),
            ("O2", "4"),
        ]


# --- people and identity (SPEC 2.2) --------------------------------------------------


def _import(segcli, kind: str, text: str) -> None:
    name = f"{kind}-{len(list(segcli.dir.glob('*.csv')))}.csv"
    result = segcli("import", kind, segcli.write(name, text))
    assert result.exit_code == 0, result.stderr


GUEST_ORDERS = lines(
    "order_id,email,created_at,total", "O1,Ann@X.com,2024-03-01,10", "O2,ann@x.com,2024-01-05,5"
)


def test_guest_orders_merge_with_a_customer_imported_later(segcli):
    _import(segcli, "orders", GUEST_ORDERS)
    assert person_keys(segcli) == ["e:ann@x.com"]
    _import(segcli, "customers", lines("customer_id,email,first_name", "C1, ANN@x.com ,Ann"))
    assert person_keys(segcli) == ["c:C1"]
    assert segcli.rows(
        """SELECT o.order_id, p.person_key, p.email, p.first_name FROM orders o
        JOIN people p USING (person_id) ORDER BY 1"""
    ) == [("O1", "c:C1", "ann@x.com", "Ann"), ("O2", "c:C1", "ann@x.com", "Ann")]


def test_import_order_does_not_change_the_result(segcli, tmp_path):
    customers = lines("customer_id,email,created_at", "C1,ann@x.com,2023-01-01", "C2,bob@x.com,")
    orders = GUEST_ORDERS + "O3,bob@x.com,2024-02-01,7\nO4,C9@x.com,2024-02-02,1\n"
    subscribers = lines("email,subscribed_at", "BOB@x.com,2023-06-01", "cy@x.com,")
    _import(segcli, "customers", customers)
    _import(segcli, "orders", orders)
    _import(segcli, "subscribers", subscribers)
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    other = type(segcli)(other_dir)
    _import(other, "subscribers", subscribers)
    _import(other, "orders", orders)
    _import(other, "customers", customers)
    assert segcli.dump() == other.dump()
    assert segcli.people() == other.people()
    assert person_keys(segcli) == ["c:C1", "c:C2", "e:c9@x.com", "e:cy@x.com"]


def test_order_with_a_customer_id_creates_that_person_with_its_email(segcli):
    _import(
        segcli,
        "orders",
        lines("order_id,customer_id,email,created_at,total", "O1,C1,Ann@X.com,2024-01-01,1"),
    )
    assert segcli.rows("SELECT person_key, customer_id, email FROM people") == [
        ("c:C1", "C1", "ann@x.com")
    ]


@pytest.mark.parametrize("customers_first", [True, False])
def test_shared_email_goes_to_the_customer_id_that_sorts_first(segcli, customers_first):
    records = [
        ("customers", lines("customer_id,email", "C2,shared@x.com")),
        ("customers", lines("customer_id,email", "C1,SHARED@x.com")),
        ("orders", lines("order_id,email,created_at,total", "O1,shared@x.com,2024-01-01,1")),
        ("subscribers", lines("email", "shared@x.com")),
    ]
    for kind, text in records if customers_first else reversed(records):
        _import(segcli, kind, text)
    assert person_keys(segcli) == ["c:C1", "c:C2"]
    assert segcli.rows("SELECT p.person_key FROM orders o JOIN people p USING (person_id)") == [
        ("c:C1",)
    ]
    assert segcli.rows(
        "SELECT p.person_key FROM subscribers s JOIN people p USING (person_id)"
    ) == [("c:C1",)]


def test_subscriber_row_creates_a_person(segcli):
    _import(
        segcli, "subscribers", lines("email,subscribed_at", " New@X.com ,", "old@x.com,2024-01-01")
    )
    assert segcli.rows(
        "SELECT person_key, customer_id, email, created_at FROM people ORDER BY 1"
    ) == [
        ("e:new@x.com", None, "new@x.com", None),
        ("e:old@x.com", None, "old@x.com", "2024-01-01 00:00:00"),
    ]
    assert segcli.value("SELECT count(*) FROM subscribers WHERE person_id IS NULL") == 0


# Each holds the earliest date seen for ann@x.com, 2024-01-04 23:30 UTC, in its own spelling.
EARLIEST_RECORD = [
    ("orders", "order_id,email,created_at,total,status", "O0,ann@x.com,2024-01-04T23:30,1,failed"),
    ("subscribers", "email,subscribed_at", "ANN@x.com,2024-01-05T00:30:00+01:00"),
    ("reviews", "email,product_id,rating,created_at", "ann@x.com,P1,5,2024-01-04T23:30:00Z"),
    ("carts", "email,created_at", "ann@x.com,2024-01-04T21:30:00-02:00"),
]


@pytest.mark.parametrize(("kind", "header", "row"), EARLIEST_RECORD)
def test_created_at_is_the_earliest_date_the_person_was_seen(segcli, kind, header, row):
    _import(segcli, "orders", GUEST_ORDERS)
    _import(segcli, kind, lines(header, row))
    assert segcli.rows("SELECT person_key, created_at FROM people") == [
        ("e:ann@x.com", "2024-01-04 23:30:00")
    ]


@pytest.mark.parametrize(
    ("created_at", "expected"),
    [("2024-06-01", "2024-06-01 00:00:00"), ("", "2024-01-05 00:00:00")],
)
def test_created_at_is_the_customer_rows_when_given(segcli, created_at, expected):
    _import(segcli, "orders", GUEST_ORDERS)
    _import(
        segcli, "customers", lines("customer_id,email,created_at", f"C1,ann@x.com,{created_at}")
    )
    assert segcli.rows("SELECT person_key, created_at FROM people") == [("c:C1", expected)]


# --- segcli info ---------------------------------------------------------------------


def _small_store(segcli) -> None:
    _import(segcli, "customers", lines("customer_id,email", "C1,ann@x.com", "C2,bob@x.com"))
    _import(
        segcli,
        "orders",
        lines(
            "order_id,email,created_at,total",
            "O1,ann@x.com,2024-01-02T10:00:00+02:00,1",
            "O2,guest@x.com,2024-03-01,1",
            "O3,ann@x.com,2024-02-01,1",
        ),
    )


def test_info_json_on_stdout(segcli):
    _small_store(segcli)
    result = segcli("info", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    info = json.loads(result.stdout)
    assert info["people"] == 3
    assert info["rows"] == {kind: {"customers": 2, "orders": 3}.get(kind, 0) for kind in KINDS}
    assert isinstance(info["schema_version"], int) and info["schema_version"] >= 1
    # Dates as exports write them: ISO-8601 in UTC.
    assert info["first_order_at"] == "2024-01-02T08:00:00Z"
    assert info["last_order_at"] == "2024-03-01T00:00:00Z"
    imported = info["last_imported_at"]
    assert set(imported) == set(KINDS)
    for kind in ("customers", "orders"):
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", imported[kind])
        moment = datetime.fromisoformat(imported[kind])
        assert abs((datetime.now(UTC) - moment).total_seconds()) < 300
    assert all(imported[kind] is None for kind in KINDS if kind not in ("customers", "orders"))


def test_info_table_on_stdout(segcli):
    _small_store(segcli)
    result = segcli("info")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert "people            3 (1 without a customer id)" in lines
    assert "orders dated      2024-01-02 08:00:00 to 2024-03-01 00:00:00 (UTC)" in lines
    rows = {row[0]: row[1:] for row in table_rows(result.stdout)}
    assert list(rows) == list(KINDS)
    assert rows["products"] == ["0", "never"]
    assert rows["orders"][0] == "3"
    assert STORED_TIMESTAMP.match(rows["orders"][1])


def test_info_without_a_database_is_a_clear_error(segcli):
    result = segcli("info")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert "no database" in result.stderr
    assert str(segcli.db) in result.stderr
    assert not segcli.db.exists()

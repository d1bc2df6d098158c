"""``product: NAME`` finds a product by the name merchants and their customers see.

A line item matches by its own product_id, sku or title, or by the product_id, sku or
title of its product in products.csv, whatever ids the line also has; a review by its
product's. Checked through the CLI on small files, on the example store and on the real
Online Retail invoice lines.
"""

from __future__ import annotations

import csv
import json

import pytest

from segcli.examples.demo import EXAMPLE_FILES, EXAMPLE_STORE_TODAY, example_data_dir
from segcli.rules.operators import fold
from tests.conftest import REAL_DATA, needs_real_data

pytestmark = pytest.mark.both_engines

PRODUCTS = """\
product_id,sku,title
P1,TEA-1,Nordic Copper Teapot
P2,MUG-2,Blue Mug
"""
# Line items as exports give them: ids and the line's own title; ids only; a title only;
# a title that differs from the product's (the product was renamed).
ITEMS = """\
order_id,product_id,sku,title
O1,P1,TEA-1,Nordic Copper Teapot
O2,,TEA-1,
O3,,,nordic copper teapot
O4,P2,MUG-2,Copper Teapot Gift Set
O5,P2,,Blue Mug
"""
ORDERS = """\
order_id,customer_id,created_at,total
O1,C1,2024-01-01,10
O2,C2,2024-01-02,10
O3,C3,2024-01-03,10
O4,C4,2024-01-04,10
O5,C5,2024-01-05,10
"""
REVIEWS = """\
customer_id,product_id,sku,rating
C1,P1,,5
C2,,TEA-1,2
C5,P2,,4
"""


@pytest.fixture
def store(segcli):
    segcli.imported(
        {
            "products": PRODUCTS,
            "orders": ORDERS,
            "items": ITEMS,
            "reviews": REVIEWS,
        }
    )
    return segcli


def members(segcli, criteria: str, *, as_of: str = "2024-12-31") -> list[str]:
    result = segcli(
        "segment",
        "export",
        "--criteria",
        criteria,
        "--fields",
        "customer_id",
        "--as-of",
        as_of,
    )
    assert result.exit_code == 0, result.stderr
    return [row["customer_id"] for row in csv.DictReader(result.stdout.splitlines())]


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        # By the product's title in products.csv, in any case: the lines of P1 (O1 by its
        # ids and title, O2 by its SKU only), and the line with only that title (O3).
        ("{purchased: {product: Nordic Copper Teapot}}", ["C1", "C2", "C3"]),
        ("{purchased: {product: NORDIC COPPER TEAPOT}}", ["C1", "C2", "C3"]),
        # By id or SKU: the product's lines, however the line names it.
        ("{purchased: {product: P1}}", ["C1", "C2"]),
        ("{purchased: {product: tea-1}}", ["C1", "C2"]),
        # By a line's own title, although the line has ids and its product another title.
        ("{purchased: {product: Copper Teapot Gift Set}}", ["C4"]),
        # P2 by its title: the line with only a product id, and the renamed line of P2.
        ("{purchased: {product: Blue Mug}}", ["C4", "C5"]),
        ("{purchased: {product: [Blue Mug, P1]}}", ["C1", "C2", "C4", "C5"]),
        ("{purchased: {product: Teapot}}", []),
        # Reviews: by the product's title in products.csv, or its ids.
        ("{reviewed: {product: Nordic Copper Teapot}}", ["C1", "C2"]),
        ("{reviewed: {product: blue mug}}", ["C5"]),
        ("{reviewed: {product: TEA-1}}", ["C1", "C2"]),
    ],
)
def test_product_by_title_id_or_sku(store, criteria, expected):
    assert members(store, criteria) == expected


def test_explain_counts_the_orders_a_product_name_matches(store):
    store.write(
        "teapot.yaml", "criteria:\n  purchased: {product: Nordic Copper Teapot, times: {gte: 1}}\n"
    )
    for person, passed, count in (("C2", True, 1), ("C4", False, 0)):
        result = store(
            "customer",
            "show",
            person,
            "--as-of",
            "2024-12-31",
            "--explain",
            store.dir / "teapot.yaml",
            "--format",
            "json",
        )
        assert result.exit_code == 0, result.stderr
        explained = json.loads(result.stdout)["explain"]
        assert explained["member"] is passed
        assert explained["criteria"][0]["actual"] == (
            f"{count} matching order" + ("" if count == 1 else "s")
        )


def test_the_example_teapot_by_name_is_the_teapot_by_id(segcli):
    data = example_data_dir()
    for kind, name in EXAMPLE_FILES:
        assert segcli("import", kind, data / name).exit_code == 0
    as_of = EXAMPLE_STORE_TODAY.isoformat()
    by_name = members(segcli, "{purchased: {product: Nordic Copper Teapot}}", as_of=as_of)
    by_id = members(segcli, "{purchased: {product: P00001}}", as_of=as_of)
    assert by_name == by_id
    assert len(by_name) > 50


@needs_real_data
def test_online_retail_by_description_is_by_stock_code(segcli):
    """The heart holder by its Description finds the people who bought its lines, by
    StockCode or not: worked out here from the file itself."""
    day = REAL_DATA / "online-retail" / "2010-12-01.csv"
    mapping = {
        "InvoiceNo": "order_id",
        "CustomerID": "customer_id",
        "InvoiceDate": "created_at",
        "StockCode": "sku",
        "Description": "title",
        "Quantity": "quantity",
        "UnitPrice": "price",
    }
    maps = [f"--map={source}={target}" for source, target in mapping.items()]
    assert segcli("import", "orders", day, *maps).exit_code == 0
    name = "white hanging heart t-light holder"
    with day.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    by_title = {
        row["CustomerID"].removesuffix(".0")
        for row in rows
        if fold(row["Description"].strip()) == name and row["CustomerID"]
    }
    by_code = {row["CustomerID"].removesuffix(".0") for row in rows if row["StockCode"] == "85123A"}
    by_code.discard("")
    assert len(by_title) >= 10
    assert members(segcli, f"{{purchased: {{product: {name}}}}}") == sorted(by_title)
    assert members(segcli, "{purchased: {product: 85123A}}") == sorted(by_code)

"""Real public files, as merchants and data sets have them, through the native importer."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from decimal import Decimal

import pytest

from tests.conftest import REAL_DATA

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
]


def test_online_retail_day_imports_as_line_item_orders(segcli):
    """Totals are the exact sums of quantity × price; rows without a customer are rejected."""
    path = REAL_DATA / "online-retail" / "2010-12-01.csv"
    expected: dict[str, Decimal] = defaultdict(Decimal)
    lines: dict[str, int] = defaultdict(int)
    without_customer = 0
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if not row["CustomerID"]:
                without_customer += 1
                continue
            expected[row["InvoiceNo"]] += int(row["Quantity"]) * Decimal(row["UnitPrice"])
            lines[row["InvoiceNo"]] += 1

    rejects = segcli.dir / "rejects.csv"
    result = segcli("import", "orders", path, *RETAIL_MAP, "--rejects", rejects)

    assert result.exit_code == 3
    assert result.stdout == ""
    assert "ignoring column(s) that orders files do not have: Country" in result.stderr
    stored = dict(segcli.rows("SELECT order_id, total FROM orders"))
    assert stored == {invoice: int(total * 10_000) for invoice, total in expected.items()}
    stored_lines = dict(segcli.rows("SELECT order_id, count(*) FROM items GROUP BY order_id"))
    assert stored_lines == lines
    with rejects.open(newline="", encoding="utf-8") as handle:
        rejected = list(csv.DictReader(handle))
    assert len(rejected) == without_customer == 1_140
    assert all("neither customer_id nor email" in row["reason"] for row in rejected)
    assert all(row["CustomerID"] == "" for row in rejected)

    again = segcli("import", "orders", path, *RETAIL_MAP)
    assert f"0 inserted, 0 updated, {3_108 - without_customer:,} unchanged" in again.stderr


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

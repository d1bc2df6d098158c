"""Lines of platform orders bought from products (the products exports come with --from).

Every expected value was worked out by hand from the files the tests write.
"""

from __future__ import annotations

import csv
import io

import pytest

from tests.conftest import checked


def imported(segcli, dialect: str, **files: str) -> None:
    """Import a store's files, in the order given, as exported by ``dialect``."""
    for kind, text in files.items():
        checked(segcli, "import", kind, segcli.write(f"{kind}.csv", text), "--from", dialect)


def members(segcli, criteria: str) -> list[str]:
    """The emails of the people a quick filter selects, as of 2025-06-01."""
    result = segcli(
        "segment", "export", "--criteria", criteria, "--fields", "email",
        "--as-of", "2025-06-01",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return sorted(row[0] for row in list(csv.reader(io.StringIO(result.stdout)))[1:])


# --- lines known by their title -----------------------------------------------------

TITLED_PRODUCTS = """\
product_id,sku,title,collections,product_type,vendor,tags
,MUG-BL,Mug - Blue,Kitchen,mugs,Acme,
P2,,Tea,Pantry,tea,Leaf Co,
"""

# Lines with neither product_id nor sku are known by their title alone (exactly as written);
# a line with a SKU is the SKU's, whatever its title.
TITLED_ORDERS = """\
order_id,email,created_at,total,sku,title,quantity,price
O1,ann@example.com,2025-05-01,10,,Mug - Blue,1,10
O2,bo@example.com,2025-05-02,10,,mug - blue,1,10
O3,cy@example.com,2025-05-03,10,OTHER,Mug - Blue,1,10
O4,di@example.com,2025-05-04,4,,Tea,1,4
"""


@pytest.mark.parametrize(
    ("criteria", "emails"),
    [
        ("purchased: {product_type: mugs}", ["ann@example.com"]),
        ("purchased: {collection: kitchen}", ["ann@example.com"]),
        ("purchased: {vendor: [acme, leaf co]}", ["ann@example.com", "di@example.com"]),
        ("purchased: {product_type: tea, collection: Pantry}", ["di@example.com"]),
    ],
)
def test_a_line_without_product_id_or_sku_is_of_the_products_with_its_title(
    segcli, criteria, emails
):
    imported(segcli, "native", products=TITLED_PRODUCTS, orders=TITLED_ORDERS)
    assert members(segcli, criteria) == emails

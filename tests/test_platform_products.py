"""Products exports read with --from shopify|woocommerce, and bought from by platform orders.

Each sample file is written by its test in a layout the platform writes: the header line is
copied as the platform writes it (where from is said above it), the rows are made up in the
platform's style. Every expected value was worked out by hand from the rows.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from segcli.importer import dialects
from segcli.importer.reader import Record
from tests.conftest import REAL_DATA, checked
from tests.helpers import assert_line, assert_summary, records
from tests.platform_files import SHOPIFY_ORDERS_HEADER, WEBTOFFEE_HEADER, csv_text, webtoffee


def sample(header_line: str, *rows: dict[str, str]) -> str:
    """A file whose header line is ``header_line`` byte for byte (quotes included), and
    whose rows fill the cells they name."""
    columns = next(csv.reader([header_line]))
    body = csv_text(columns, *rows)
    return header_line + "\n" + body.split("\n", 1)[1]


def products(segcli) -> list[dict]:
    found = records(
        segcli,
        "SELECT record_key, product_id, sku, title, collections, product_type, vendor, tags "
        "FROM products ORDER BY record_key",
    )
    for product in found:
        product["collections"] = json.loads(product["collections"])
    return found


def product(record_key: str, **fields) -> dict:
    base = dict.fromkeys(("product_id", "sku", "title", "product_type", "vendor"))
    return base | {"record_key": record_key, "collections": [], "tags": []} | fields


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


# --- Shopify --------------------------------------------------------------------------

# Shopify's products export of 2024-2025 (this header: a real export of a gin maker's
# store, products_export_1.csv in github.com/grkhmz23/DesertRoseGin; its metafield
# columns depend on the store's product categories). One row per variant; a product's own
# fields on its first row only; further rows of a product that fill no variant cell add an
# image.
SHOPIFY_2024 = (
    "Handle,Title,Body (HTML),Vendor,Product Category,Type,Tags,Published,Option1 Name,"
    "Option1 Value,Option1 Linked To,Option2 Name,Option2 Value,Option2 Linked To,"
    "Option3 Name,Option3 Value,Option3 Linked To,Variant SKU,Variant Grams,"
    "Variant Inventory Tracker,Variant Inventory Policy,Variant Fulfillment Service,"
    "Variant Price,Variant Compare At Price,Variant Requires Shipping,Variant Taxable,"
    "Unit Price Total Measure,Unit Price Total Measure Unit,Unit Price Base Measure,"
    "Unit Price Base Measure Unit,Variant Barcode,Image Src,Image Position,Image Alt Text,"
    "Gift Card,SEO Title,SEO Description,Country (product.metafields.shopify.country),"
    "Dietary preferences (product.metafields.shopify.dietary-preferences),"
    "Gin variety (product.metafields.shopify.gin-variety),Variant Image,Variant Weight Unit,"
    "Variant Tax Code,Cost per item,Status"
)

# Shopify's products export since 2025 (this header: Shopify's sample file
# product_template.csv, as a store filled it in github.com/studiovedelago-ai/stoa): the
# handle is "URL handle", the SKU "SKU"; the title comes first, empty on variant rows.
SHOPIFY_2025 = (
    "Title,URL handle,Description,Vendor,Product category,Type,Tags,"
    "Published on online store,Status,SKU,Barcode,Option1 name,Option1 value,"
    "Option1 Linked To,Option2 name,Option2 value,Option2 Linked To,Option3 name,"
    "Option3 value,Option3 Linked To,Price,Compare-at price,Cost per item,Charge tax,Tax code,"
    "Unit price total measure,Unit price total measure unit,Unit price base measure,"
    "Unit price base measure unit,Inventory tracker,Inventory quantity,"
    "Continue selling when out of stock,Weight value (grams),Weight unit for display,"
    "Requires shipping,Fulfillment service,Product image URL,Image position,Image alt text,"
    "Variant image URL,Gift card,SEO title,SEO description,"
    "Color (product.metafields.shopify.color-pattern),"
    "Google Shopping / Google product category,Google Shopping / Gender,"
    "Google Shopping / Age group,Google Shopping / Manufacturer part number (MPN),"
    "Google Shopping / Ad group name,Google Shopping / Ads labels,Google Shopping / Condition,"
    "Google Shopping / Custom product,Google Shopping / Custom label 0,"
    "Google Shopping / Custom label 1,Google Shopping / Custom label 2,"
    "Google Shopping / Custom label 3,Google Shopping / Custom label 4"
)

# Shopify's products export of 2022 (this header: as public tools of the time copied it,
# word for word in several repositories, to write files Shopify reads): "Standard Product
# Type" (Shopify's taxonomy) and "Custom Product Type" (the merchant's) where later exports
# have "Product Category" and "Type".
SHOPIFY_2022 = (
    "Handle,Title,Body (HTML),Vendor,Standard Product Type,Custom Product Type,Tags,Published,"
    "Option1 Name,Option1 Value,Option2 Name,Option2 Value,Option3 Name,Option3 Value,"
    "Variant SKU,Variant Grams,Variant Inventory Tracker,Variant Inventory Qty,"
    "Variant Inventory Policy,Variant Fulfillment Service,Variant Price,"
    "Variant Compare At Price,Variant Requires Shipping,Variant Taxable,Variant Barcode,"
    "Image Src,Image Position,Image Alt Text,Gift Card,SEO Title,SEO Description,"
    "Google Product Category,Variant Image,Variant Weight Unit,Variant Tax Code,"
    "Cost per item,Status"
)

# Shopify's products export of 2021 (a real export: products_export_1.csv in
# github.com/PacktPublishing/Shopify-Theme-Customization-with-Liquid): no category.
SHOPIFY_2021 = (
    "Handle,Title,Body (HTML),Vendor,Type,Tags,Published,Option1 Name,Option1 Value,"
    "Option2 Name,Option2 Value,Option3 Name,Option3 Value,Variant SKU,Variant Grams,"
    "Variant Inventory Tracker,Variant Inventory Qty,Variant Inventory Policy,"
    "Variant Fulfillment Service,Variant Price,Variant Compare At Price,"
    "Variant Requires Shipping,Variant Taxable,Variant Barcode,Image Src,Image Position,"
    "Image Alt Text,Gift Card,SEO Title,SEO Description,"
    "Google Shopping / Google Product Category,Google Shopping / Gender,"
    "Google Shopping / Age Group,Google Shopping / MPN,Google Shopping / AdWords Grouping,"
    "Google Shopping / AdWords Labels,Google Shopping / Condition,"
    "Google Shopping / Custom Product,Google Shopping / Custom Label 0,"
    "Google Shopping / Custom Label 1,Google Shopping / Custom Label 2,"
    "Google Shopping / Custom Label 3,Google Shopping / Custom Label 4,Variant Image,"
    "Variant Weight Unit,Variant Tax Code,Cost per item,Status"
)

BOARDS = "Sporting Goods > Outdoor Recreation > Winter Sports & Activities > Snowboards"
BOARD_COLLECTIONS = [
    "Sporting Goods",
    "Outdoor Recreation",
    "Sporting Goods > Outdoor Recreation",
    "Winter Sports & Activities",
    "Sporting Goods > Outdoor Recreation > Winter Sports & Activities",
    "Snowboards",
    BOARDS,
]


def shopify_2024(handle: str, **cells: str) -> dict[str, str]:
    return {
        "Handle": handle,
        "Variant Grams": "0.0",
        "Variant Inventory Tracker": "shopify",
    } | cells


# A store with a product of several variants with SKUs, one whose variants have none
# (their order lines are known by name), a product of one variant, and image rows.
SHOPIFY_2024_STORE = sample(
    SHOPIFY_2024,
    shopify_2024(
        "the-complete-snowboard",
        **{
            "Title": "The Complete Snowboard",
            "Body (HTML)": "<p>This <b>PREMIUM</b> snowboard is so SUPER DUPER awesome!</p>",
            "Vendor": "Snowboard Vendor",
            "Product Category": BOARDS,
            "Type": "snowboard",
            "Tags": "Premium, Snow, Snowboard, Sport, Winter",
            "Published": "true",
            "Option1 Name": "Color",
            "Option1 Value": "Ice",
            "Variant SKU": "CSB-ICE",
            "Variant Price": "699.95",
            "Variant Barcode": "'7649988260544",
            "Image Src": "https://cdn.shopify.com/s/files/1/snowboard_ice.jpg",
            "Image Position": "1",
            "Gift Card": "false",
            "Status": "active",
        },
    ),
    shopify_2024(
        "the-complete-snowboard",
        **{"Option1 Value": "Dawn", "Variant SKU": "CSB-DAWN", "Variant Price": "699.95"},
    ),
    shopify_2024(
        "the-complete-snowboard",
        **{
            "Image Src": "https://cdn.shopify.com/s/files/1/snowboard_back.jpg",
            "Image Position": "2",
        },
    ),
    shopify_2024(
        "gift-card",
        **{
            "Title": "Gift Card",
            "Vendor": "Snowboard Vendor",
            "Type": "giftcard",
            "Tags": "",
            "Published": "true",
            "Option1 Name": "Denominations",
            "Option1 Value": "$10",
            "Variant Price": "10.00",
            "Gift Card": "true",
            "Status": "active",
        },
    ),
    shopify_2024("gift-card", **{"Option1 Value": "$100", "Variant Price": "100.00"}),
    shopify_2024(
        "selling-plans-ski-wax",
        **{
            "Title": "Selling Plans Ski Wax",
            "Vendor": "Test Cycle Sense App",
            "Product Category": "Sporting Goods > Outdoor Recreation",
            "Type": "accessories",
            "Tags": "Accessory, Sport, Winter",
            "Published": "true",
            "Option1 Name": "Title",
            "Option1 Value": "Default Title",
            "Variant SKU": "WAX-1",
            "Variant Price": "24.95",
            "Status": "active",
        },
    ),
)

SHOPIFY_2024_PRODUCTS = [
    product(
        "p:gift-card/$10",
        product_id="gift-card/$10",
        title="Gift Card - $10",
        product_type="giftcard",
        vendor="Snowboard Vendor",
    ),
    product(
        "p:gift-card/$100",
        product_id="gift-card/$100",
        title="Gift Card - $100",
        product_type="giftcard",
        vendor="Snowboard Vendor",
    ),
    product(
        "p:selling-plans-ski-wax",
        product_id="selling-plans-ski-wax",
        sku="WAX-1",
        title="Selling Plans Ski Wax",
        collections=["Sporting Goods", "Outdoor Recreation", "Sporting Goods > Outdoor Recreation"],
        product_type="accessories",
        vendor="Test Cycle Sense App",
        tags=["Accessory", "Sport", "Winter"],
    ),
    *(
        product(
            f"p:the-complete-snowboard/{color}",
            product_id=f"the-complete-snowboard/{color}",
            sku=f"CSB-{color.upper()}",
            title=f"The Complete Snowboard - {color}",
            collections=BOARD_COLLECTIONS,
            product_type="snowboard",
            vendor="Snowboard Vendor",
            tags=["Premium", "Snow", "Snowboard", "Sport", "Winter"],
        )
        for color in ("Dawn", "Ice")
    ),
]


def test_shopify_products_export_one_row_per_variant(segcli):
    path = segcli.write("products_export_1.csv", SHOPIFY_2024_STORE)
    result = checked(segcli, "import", "products", path, "--from", "shopify")
    assert_line(result, f"{path}: read as Shopify products export, 45 columns")
    # The image row is no product; it is said so, and not counted as read.
    assert_line(
        result,
        f"warning: {path}: rows that only add an image to the product above them are "
        "skipped (1 row)",
    )
    assert_summary(result, path, read=5, inserted=5)
    assert "Body (HTML)" in result.stderr and "Variant Barcode" in result.stderr  # ignored
    assert products(segcli) == SHOPIFY_2024_PRODUCTS


def test_shopify_products_export_2025_layout(segcli):
    text = sample(
        SHOPIFY_2025,
        {
            "Title": "Example T-Shirt",
            "URL handle": "example-t-shirt",
            "Description": "Soft cotton.",
            "Vendor": "Acme",
            "Product category": "Apparel & Accessories > Clothing > Clothing Tops > T-Shirts",
            "Type": "Shirts",
            "Tags": "Made to Order, Shirt Tag",
            "Published on online store": "TRUE",
            "Status": "Active",
            "SKU": "SRT_COT_111",
            "Option1 name": "Color",
            "Option1 value": "Green",
            "Option2 name": "Size",
            "Option2 value": "S",
            "Price": "25.00",
            "Product image URL": "https://burst.shopifycdn.com/photos/tshirts.jpg",
            "Image position": "1",
        },
        {
            "URL handle": "example-t-shirt",
            "SKU": "SRT_COT_122",
            "Option1 value": "Green",
            "Option2 value": "M",
            "Price": "25.00",
        },
        {
            "URL handle": "example-t-shirt",
            "Product image URL": "https://burst.shopifycdn.com/photos/green-t-shirt.jpg",
            "Image position": "2",
        },
    )
    path = segcli.write("products_export.csv", text)
    result = checked(segcli, "import", "products", path, "--from", "shopify")
    assert_summary(result, path, read=2, inserted=2)
    shirt = {
        "collections": [
            "Apparel & Accessories",
            "Clothing",
            "Apparel & Accessories > Clothing",
            "Clothing Tops",
            "Apparel & Accessories > Clothing > Clothing Tops",
            "T-Shirts",
            "Apparel & Accessories > Clothing > Clothing Tops > T-Shirts",
        ],
        "product_type": "Shirts",
        "vendor": "Acme",
        "tags": ["Made to Order", "Shirt Tag"],
    }
    assert products(segcli) == [
        product(
            f"p:example-t-shirt/Green/{size}",
            product_id=f"example-t-shirt/Green/{size}",
            sku=sku,
            title=f"Example T-Shirt - Green / {size}",
            **shirt,
        )
        for size, sku in (("M", "SRT_COT_122"), ("S", "SRT_COT_111"))
    ]


def test_shopify_products_export_2022_layout_with_standard_and_custom_types(segcli):
    text = sample(
        SHOPIFY_2022,
        {
            "Handle": "wool-socks",
            "Title": "Wool Socks",
            "Vendor": "Knit & Co",
            "Standard Product Type": "Apparel & Accessories > Clothing > Underwear & Socks",
            "Custom Product Type": "Socks",
            "Tags": "wool",
            "Option1 Name": "Title",
            "Option1 Value": "Default Title",
            "Variant SKU": "SOCK-1",
            "Variant Price": "12.00",
        },
    )
    path = segcli.write("products_export.csv", text)
    checked(segcli, "import", "products", path, "--from", "shopify")
    [socks] = products(segcli)
    assert socks["product_type"] == "Socks"
    assert socks["collections"][-1] == "Apparel & Accessories > Clothing > Underwear & Socks"
    assert "Underwear & Socks" in socks["collections"]


def test_shopify_products_export_2021_layout_without_skus(segcli):
    # The 2021 export's own rows (Packt's store): no SKU, no category; the gloves have two
    # variants, the lamp one.
    text = sample(
        SHOPIFY_2021,
        {
            "Handle": "floor-lamp",
            "Title": "Floor Lamp",
            "Body (HTML)": "<p>Black floor lamp</p>",
            "Vendor": "Company 123",
            "Type": "Indoor",
            "Tags": "Black, Lamp",
            "Published": "true",
            "Option1 Name": "Title",
            "Option1 Value": "Default Title",
            "Variant Grams": "0.0",
            "Variant Price": "69.99",
            "Status": "active",
        },
        {
            "Handle": "gardening-gloves",
            "Title": "Gardening Gloves",
            "Vendor": "Company 123",
            "Type": "Outdoor",
            "Tags": "Gloves, Green, Yellow",
            "Option1 Name": "Color",
            "Option1 Value": "Green",
            "Variant Price": "9.99",
        },
        {"Handle": "gardening-gloves", "Option1 Value": "Yellow", "Variant Price": "15.99"},
    )
    path = segcli.write("products_export_1.csv", text)
    result = checked(segcli, "import", "products", path, "--from", "shopify")
    assert_summary(result, path, read=3, inserted=3)
    stored = {p["record_key"]: (p["title"], p["product_type"], p["tags"]) for p in products(segcli)}
    gloves = ["Gloves", "Green", "Yellow"]
    assert stored == {
        "p:floor-lamp": ("Floor Lamp", "Indoor", ["Black", "Lamp"]),
        "p:gardening-gloves/Green": ("Gardening Gloves - Green", "Outdoor", gloves),
        "p:gardening-gloves/Yellow": ("Gardening Gloves - Yellow", "Outdoor", gloves),
    }


def test_shopify_variant_rows_out_of_their_product_are_named(segcli):
    # Sorted by SKU in a spreadsheet: the Dawn variant no longer follows its product.
    rows = list(csv.DictReader(io.StringIO(SHOPIFY_2024_STORE)))
    dawn = rows.pop(1)
    text = sample(SHOPIFY_2024, *rows, dawn)
    path = segcli.write("sorted.csv", text)
    result = checked(segcli, "import", "products", path, "--from", "shopify")
    assert_line(
        result,
        f"warning: {path}: rows start a product but have no Title: a product's rows out of "
        "their place (a file sorted by another column?) lack its title, type, vendor and tags; "
        "keep each product's rows together, as Shopify writes them (1 row)",
    )
    stored = {p["record_key"]: p for p in products(segcli)}
    assert stored["p:the-complete-snowboard/Dawn"]["product_type"] is None
    assert stored["p:the-complete-snowboard/Ice"]["product_type"] == "snowboard"


def test_shopify_products_export_without_a_handle_is_refused(segcli):
    text = "Title,Vendor,Type,Variant SKU\nMug,Acme,Kitchen,MUG-1\n"
    path = segcli.write("products.csv", text)
    result = checked(segcli, "import", "products", path, "--from", "shopify", exit_code=1)
    assert str(path) in result.stderr
    assert "does not look like a Shopify products export" in result.stderr
    assert "'handle' or 'url handle'" in result.stderr
    assert segcli.value("SELECT count(*) FROM products") == 0


def test_shopify_sku_cut_by_a_spreadsheet_rejects_its_row(segcli):
    text = sample(
        SHOPIFY_2024,
        shopify_2024("mug", Title="Mug", Type="Kitchen", **{"Variant SKU": "8.90123E+12"}),
        shopify_2024("cup", Title="Cup", Type="Kitchen", **{"Variant SKU": "CUP-1"}),
    )
    path = segcli.write("products_export_1.csv", text)
    result = checked(segcli, "import", "products", path, "--from", "shopify", exit_code=3)
    assert_line(
        result,
        f"{path}, line 2: rejected: sku '8.90123E+12' lost its digits: a spreadsheet saved "
        "it in scientific notation",
    )
    assert_summary(result, path, read=2, inserted=1, rejected=1)
    assert [p["record_key"] for p in products(segcli)] == ["p:cup"]


def test_shopify_products_export_without_from_is_named_as_such(segcli):
    path = segcli.write("products_export_1.csv", SHOPIFY_2024_STORE)
    result = checked(segcli, "import", "products", path, exit_code=1)
    assert "this is a Shopify products export: import it with --from shopify" in (result.stderr)
    assert segcli.value("SELECT count(*) FROM products") == 0


def test_reimporting_a_shopify_products_export_changes_nothing(segcli):
    path = segcli.write("products_export_1.csv", SHOPIFY_2024_STORE)
    checked(segcli, "import", "products", path, "--from", "shopify")
    before = segcli.dump()
    again = checked(segcli, "import", "products", path, "--from", "shopify")
    assert_summary(again, path, read=5, unchanged=5)
    assert segcli.dump() == before


def test_shopify_translation_keeps_one_product_in_memory():
    """A product's rows come together, so only the latest product's cells are kept."""
    header = next(csv.reader([SHOPIFY_2024]))
    rows = list(csv.reader(io.StringIO(SHOPIFY_2024_STORE)))[1:]
    translation = dialects.Translation(dialects.SHOPIFY_PRODUCTS, "x.csv", header)
    kept = []
    for record in translation.records(
        Record(line, fields) for line, fields in enumerate(rows, start=2)
    ):
        kept.append((record.line, len(translation._products)))
    assert kept == [(2, 1), (3, 1), (5, 1), (6, 1), (7, 1)]


def shopify_order(name: str, email: str, created: str, *lines: tuple[str, str, str]) -> list:
    """An order of a Shopify orders export: its fields on its first row, one row a line."""
    rows = []
    for n, (title, sku, price) in enumerate(lines):
        row = {
            "Name": name,
            "Created at": created,
            "Lineitem quantity": "1",
            "Lineitem name": title,
            "Lineitem price": price,
            "Lineitem sku": sku,
        }
        if n == 0:
            total = sum(float(p) for _, _, p in lines)
            row |= {"Email": email, "Financial Status": "paid", "Total": f"{total:.2f}"}
        rows.append(row)
    return rows


SHOPIFY_ORDERS = csv_text(
    SHOPIFY_ORDERS_HEADER,
    # A board known by its SKU, a gift card by its name alone (no SKU), as Shopify writes.
    *shopify_order(
        "#1001",
        "ann@example.com",
        "2025-05-11 09:55:16 -0400",
        ("The Complete Snowboard - Dawn", "CSB-DAWN", "699.95"),
    ),
    *shopify_order(
        "#1002", "bo@example.com", "2025-05-12 10:00:00 -0400", ("Gift Card - $10", "", "10.00")
    ),
    *shopify_order(
        "#1003",
        "cy@example.com",
        "2025-05-13 11:00:00 -0400",
        ("Gift Card - $100", "", "100.00"),
        ("Selling Plans Ski Wax", "", "24.95"),
    ),
    # A variant that is not in the products export is of no type.
    *shopify_order(
        "#1004", "di@example.com", "2025-05-14 12:00:00 -0400", ("Gift Card - $25", "", "25.00")
    ),
)


@pytest.mark.parametrize(
    ("criteria", "emails"),
    [
        ("purchased: {product_type: snowboard}", ["ann@example.com"]),
        ("purchased: {product_type: GiftCard}", ["bo@example.com", "cy@example.com"]),
        ("purchased: {collection: Snowboards}", ["ann@example.com"]),
        (
            "purchased: {collection: 'Sporting Goods > Outdoor Recreation'}",
            ["ann@example.com", "cy@example.com"],
        ),
        (
            "purchased: {product_type: accessories, vendor: Test Cycle Sense App}",
            ["cy@example.com"],
        ),
        ("purchased: {vendor: Snowboard Vendor, collection: Sporting Goods}", ["ann@example.com"]),
        ("not: {purchased: {product_type: giftcard}}", ["ann@example.com", "di@example.com"]),
    ],
)
@pytest.mark.both_engines
def test_shopify_orders_bought_from_shopify_products(segcli, criteria, emails):
    imported(segcli, "shopify", products=SHOPIFY_2024_STORE, orders=SHOPIFY_ORDERS)
    assert members(segcli, criteria) == emails


@pytest.mark.both_engines
def test_shopify_line_of_a_sku_less_variant_counts_by_its_name(segcli):
    # Orders first this time: the products found later are their lines' products all the same.
    imported(segcli, "shopify", orders=SHOPIFY_ORDERS, products=SHOPIFY_2024_STORE)
    result = segcli(
        "segment", "calculate", "--criteria", "purchased: {product_type: giftcard}",
        "--as-of", "2025-06-01", "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    [row] = json.loads(result.stdout)
    assert row["count"] == 2
    assert float(row["total_spent"]) == pytest.approx(134.95)


FOREZIA = REAL_DATA / "shopify" / "forezia-dev-store" / "orders_export.csv"

# The catalogue of Shopify's development store that the real orders export above comes
# from, as its products export (2024 layout) would give it; types are ours. The wax is
# exported with two of its three variants.
DEV_STORE = [
    ("gift-card", "Gift Card", "giftcard", ["$10", "$25", "$50", "$100"], ""),
    ("ski-wax", "Selling Plans Ski Wax", "wax",
     ["Selling Plans Ski Wax", "Special Selling Plans Ski Wax"], ""),
    ("multi-location", "The Multi-location Snowboard", "snowboard", ["Default Title"], ""),
    ("untracked", "The Inventory Not Tracked Snowboard", "snowboard", ["Default Title"],
     "sku-untracked-1"),
]  # fmt: skip
DEV_STORE_PRODUCTS = sample(
    SHOPIFY_2024,
    *(
        shopify_2024(handle, **{"Option1 Value": value, "Variant SKU": sku, "Variant Price": "1"})
        | ({"Title": title, "Type": kind, "Option1 Name": "Option"} if n == 0 else {})
        for handle, title, kind, values, sku in DEV_STORE
        for n, value in enumerate(values)
    ),
)


@pytest.mark.skipif(not FOREZIA.exists(), reason="shared/data/real is not here")
@pytest.mark.both_engines
def test_real_shopify_orders_export_bought_from_its_catalogue(segcli):
    """The real export's lines have no SKU but one: they are found by their names."""
    products_path = segcli.write("products_export_1.csv", DEV_STORE_PRODUCTS)
    result = checked(segcli, "import", "products", products_path, "--from", "shopify")
    assert_summary(result, products_path, read=8, inserted=8)
    checked(segcli, "import", "orders", FOREZIA, "--from", "shopify")
    # #1012 (by SKU) and #1005 (by name): Ayumu and Karine bought boards; Russel did not.
    assert members(segcli, "purchased: {product_type: snowboard}") == [
        "ayumu.hirano@example.com",
        "karine.ruby@example.com",
    ]
    # Gift cards: Ayumu #1004, #1014, #1015; Russel #1008, #1009; Karine #1013 (pending).
    assert members(segcli, "purchased: {product_type: giftcard, times: {gte: 2}}") == [
        "ayumu.hirano@example.com",
        "russel.winfield@example.com",
    ]
    # Ski wax: Ayumu #1004 and Karine #1013; Russel's #1016 is of the variant not exported.
    assert members(segcli, "purchased: {product_type: wax}") == [
        "ayumu.hirano@example.com",
        "karine.ruby@example.com",
    ]


# --- WooCommerce ----------------------------------------------------------------------

# WooCommerce's products export (Products > Export) as of 2025, with the Brands column of
# WooCommerce's own brands (9.6 and later). This header: the exporter's default columns in
# plugins/woocommerce/includes/export/class-wc-product-csv-exporter.php and "Brands" from
# includes/admin/class-wc-admin-brands.php, as a real export writes them (quoted where they
# hold a space or a comma); a store's attribute columns follow.
WOO_2025 = (
    'ID,Type,SKU,"GTIN, UPC, EAN, or ISBN",Name,Published,"Is featured?",'
    '"Visibility in catalog","Short description",Description,"Date sale price starts",'
    '"Date sale price ends","Tax status","Tax class","In stock?",Stock,"Low stock amount",'
    '"Backorders allowed?","Sold individually?","Weight (kg)","Length (cm)","Width (cm)",'
    '"Height (cm)","Allow customer reviews?","Purchase note","Sale price","Regular price",'
    'Categories,Tags,"Shipping class",Images,"Download limit","Download expiry days",Parent,'
    '"Grouped products",Upsells,Cross-sells,"External URL","Button text",Position,Brands,'
    '"Attribute 1 name","Attribute 1 value(s)","Attribute 1 visible","Attribute 1 global"'
)

# WooCommerce's own sample file, sample-data/sample_products.csv in woocommerce/woocommerce
# (the export of 2017-2023: no GTIN, no Brands).
WOO_SAMPLE = (
    'ID,Type,SKU,Name,Published,"Is featured?","Visibility in catalog","Short description",'
    'Description,"Date sale price starts","Date sale price ends","Tax status","Tax class",'
    '"In stock?",Stock,"Backorders allowed?","Sold individually?","Weight (lbs)",'
    '"Length (in)","Width (in)","Height (in)","Allow customer reviews?","Purchase note",'
    '"Sale price","Regular price",Categories,Tags,"Shipping class",Images,"Download limit",'
    '"Download expiry days",Parent,"Grouped products",Upsells,Cross-sells,"External URL",'
    '"Button text",Position,"Attribute 1 name","Attribute 1 value(s)","Attribute 1 visible",'
    '"Attribute 1 global","Attribute 2 name","Attribute 2 value(s)","Attribute 2 visible",'
    '"Attribute 2 global","Meta: _wpcom_is_markdown","Download 1 name","Download 1 URL",'
    '"Download 2 name","Download 2 URL"'
)


def woo(product_id: str, kind: str, sku: str, name: str, **cells: str) -> dict[str, str]:
    return {
        "ID": product_id,
        "Type": kind,
        "SKU": sku,
        "Name": name,
        "Published": "1",
        "Visibility in catalog": "visible",
        "Tax status": "taxable",
        "In stock?": "1",
    } | cells


# A variable product and its variations (which name it by SKU as their Parent and leave
# its categories, tags and brand empty), a simple product in two categories, and a
# downloadable one, in the export's order (by ID).
WOO_STORE = sample(
    WOO_2025,
    woo(
        "44", "variable", "woo-vneck-tee", "V-Neck T-Shirt",
        Categories="Clothing > Tshirts", Tags="cotton, summer", Brands="Woo > Woo Basics",
        **{"Attribute 1 name": "Color", "Attribute 1 value(s)": "Blue, Red"},
    ),
    woo(
        "46", "simple", "woo-hoodie-with-logo", "Hoodie with Logo",
        Categories="Clothing > Hoodies, Sale", Brands="Woo", **{"Regular price": "45"},
    ),
    woo(
        "73", "simple, downloadable, virtual", "woo-album", "Album",
        Categories="Music", Tags="Albums\\, EPs", **{"Regular price": "15"},
    ),
    woo(
        "76", "variation", "woo-vneck-tee-red", "V-Neck T-Shirt - Red",
        Parent="woo-vneck-tee", **{"Regular price": "20", "Attribute 1 value(s)": "Red"},
    ),
    woo(
        "77", "variation", "", "V-Neck T-Shirt - Blue",
        Parent="id:44", **{"Regular price": "20", "Attribute 1 value(s)": "Blue"},
    ),
)  # fmt: skip

TEES = ["Clothing", "Tshirts", "Clothing > Tshirts"]
WOO_PRODUCTS = [
    product(
        "p:44", product_id="44", sku="woo-vneck-tee", title="V-Neck T-Shirt",
        collections=TEES, product_type="variable", vendor="Woo Basics", tags=["cotton", "summer"],
    ),
    product(
        "p:46", product_id="46", sku="woo-hoodie-with-logo", title="Hoodie with Logo",
        collections=["Clothing", "Hoodies", "Clothing > Hoodies", "Sale"],
        product_type="simple", vendor="Woo",
    ),
    # "Albums\, EPs" is one tag with a comma: segcli's tags are split at commas.
    product(
        "p:73", product_id="73", sku="woo-album", title="Album", collections=["Music"],
        product_type="simple", tags=["Albums", "EPs"],
    ),
    product(
        "p:76", product_id="76", sku="woo-vneck-tee-red", title="V-Neck T-Shirt - Red",
        collections=TEES, product_type="variable", vendor="Woo Basics", tags=["cotton", "summer"],
    ),
    product(
        "p:77", product_id="77", title="V-Neck T-Shirt - Blue", collections=TEES,
        product_type="variable", vendor="Woo Basics", tags=["cotton", "summer"],
    ),
]  # fmt: skip


def test_woocommerce_products_export(segcli):
    path = segcli.write("wc-product-export-1-6-2025.csv", WOO_STORE)
    result = checked(segcli, "import", "products", path, "--from", "woocommerce")
    assert_line(result, f"{path}: read as WooCommerce products export, 45 columns")
    assert_summary(result, path, read=5, inserted=5)
    assert "warning" not in result.stderr
    assert products(segcli) == WOO_PRODUCTS


def test_woocommerce_sample_products_layout(segcli):
    # Rows of WooCommerce's sample file (trimmed of their long descriptions).
    text = sample(
        WOO_SAMPLE,
        woo("45", "variable", "woo-hoodie", "Hoodie", Categories="Clothing > Hoodies"),
        woo(
            "79", "variation", "woo-hoodie-red", "Hoodie - Red, No", Parent="woo-hoodie",
            **{"Sale price": "42", "Regular price": "45"},
        ),
        woo(
            "75", "simple, downloadable, virtual", "woo-single", "Single",
            Categories="Music", **{"Download 1 name": "Single"},
        ),
    )  # fmt: skip
    path = segcli.write("sample_products.csv", text)
    result = checked(segcli, "import", "products", path, "--from", "woocommerce")
    assert_summary(result, path, read=3, inserted=3)
    stored = {p["record_key"]: (p["title"], p["collections"], p["product_type"]) for p in
              products(segcli)}  # fmt: skip
    hoodies = ["Clothing", "Hoodies", "Clothing > Hoodies"]
    assert stored == {
        "p:45": ("Hoodie", hoodies, "variable"),
        "p:75": ("Single", ["Music"], "simple"),
        "p:79": ("Hoodie - Red, No", hoodies, "variable"),
    }


def test_woocommerce_variation_without_its_parent_above_is_named(segcli):
    text = sample(
        WOO_2025,
        woo("76", "variation", "tee-red", "Tee - Red", Parent="tee"),
        woo("44", "variable", "tee", "Tee", Categories="Clothing"),
        woo("80", "variation", "tee-blue", "Tee - Blue", Parent="tee"),
    )
    path = segcli.write("products.csv", text)
    result = checked(segcli, "import", "products", path, "--from", "woocommerce")
    assert_line(
        result,
        f"warning: {path}: variations whose parent product is not above them in the file "
        "have no categories, tags or brand (1 row)",
    )
    stored = {p["record_key"]: p["collections"] for p in products(segcli)}
    assert stored == {"p:44": ["Clothing"], "p:76": [], "p:80": ["Clothing"]}


@pytest.mark.parametrize(
    ("text", "missing"),
    [
        ("Type,Name,Categories\nsimple,Mug,Kitchen\n", "'id' or 'sku'"),
        # A file of SKUs is no products export of WooCommerce's.
        ("order_id,sku,title\nO1,MUG-1,Mug\n", None),
    ],
)
def test_woocommerce_products_export_without_its_columns_is_refused(segcli, text, missing):
    path = segcli.write("products.csv", text)
    result = checked(segcli, "import", "products", path, "--from", "woocommerce", exit_code=1)
    if missing is None:
        # A file of order ids and SKUs is segcli's own items file: named as such.
        assert "this is an items file in segcli's own columns" in result.stderr
        assert f"import it with segcli import items {path}" in result.stderr
    else:
        assert "does not look like a WooCommerce products export" in result.stderr
        assert f"it has no column {missing}" in result.stderr
    assert segcli.value("SELECT count(*) FROM products") == 0


def test_woocommerce_products_export_without_from_is_named_as_such(segcli):
    path = segcli.write("wc-product-export.csv", WOO_STORE)
    # Read as a native file it would be mis-stored: refused, naming the --from it needs.
    result = checked(segcli, "import", "products", path, exit_code=1)
    assert "this is a WooCommerce products export: import it with --from woocommerce" in (
        result.stderr
    )
    assert segcli.value("SELECT count(*) FROM products") == 0


WOO_ORDERS = csv_text(
    WEBTOFFEE_HEADER,
    # WooCommerce gives a variation's line the variable product's id and the variation's
    # SKU; a simple product's line its own id.
    webtoffee(
        "5001", order_date="2025-03-01 10:00:00", status="wc-completed", order_total="20.00",
        customer_id="0", billing_email="ann@example.com",
        line_item_1="name:V-Neck T-Shirt - Red|product_id:44|sku:woo-vneck-tee-red|quantity:1"
        "|total:20.00",
    ),
    webtoffee(
        "5002", order_date="2025-03-02 10:00:00", status="wc-processing", order_total="60.00",
        customer_id="0", billing_email="bo@example.com",
        line_item_1="name:Hoodie with Logo|product_id:46|sku:woo-hoodie-with-logo|quantity:1"
        "|total:45.00",
        line_item_2="name:Album|product_id:73|sku:woo-album|quantity:1|total:15.00",
    ),
    webtoffee(
        "5003", order_date="2025-03-03 10:00:00", status="wc-refunded", order_total="45.00",
        customer_id="0", billing_email="cy@example.com",
        line_item_1="name:Hoodie with Logo|product_id:46|sku:woo-hoodie-with-logo|quantity:1"
        "|total:45.00",
    ),
)  # fmt: skip


@pytest.mark.parametrize(
    ("criteria", "emails"),
    [
        ("purchased: {collection: Clothing}", ["ann@example.com", "bo@example.com"]),
        ("purchased: {collection: Tshirts}", ["ann@example.com"]),
        ("purchased: {collection: 'Clothing > Hoodies'}", ["bo@example.com"]),
        ("purchased: {vendor: Woo Basics}", ["ann@example.com"]),
        ("purchased: {vendor: [woo, woo basics]}", ["ann@example.com", "bo@example.com"]),
        ("purchased: {product_type: variable}", ["ann@example.com"]),
        ("purchased: {product_type: simple, collection: Music}", ["bo@example.com"]),
    ],
)
@pytest.mark.both_engines
def test_woocommerce_orders_bought_from_woocommerce_products(segcli, criteria, emails):
    imported(segcli, "woocommerce", products=WOO_STORE, orders=WOO_ORDERS)
    assert members(segcli, criteria) == emails


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
@pytest.mark.both_engines
def test_a_line_without_product_id_or_sku_is_of_the_products_with_its_title(
    segcli, criteria, emails
):
    imported(segcli, "native", products=TITLED_PRODUCTS, orders=TITLED_ORDERS)
    assert members(segcli, criteria) == emails


# --- the pieces ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "collections"),
    [
        ("Music", ["Music"]),
        (" Clothing >  Hoodies ", ["Clothing", "Hoodies", "Clothing > Hoodies"]),
        ("A > B > C", ["A", "B", "A > B", "C", "A > B > C"]),
        ("", []),
        (">", []),
    ],
)
def test_a_category_path_is_each_level_by_name_and_by_path(path, collections):
    assert dialects.category_collections(path) == collections


level = st.text(st.characters(blacklist_characters=">"), min_size=1).filter(str.strip)


@given(st.lists(level, min_size=1, max_size=6))
def test_a_product_in_a_sub_category_is_in_every_category_above_it(levels):
    collections = dialects.category_collections(" > ".join(levels))
    names = [name.strip() for name in levels]
    for depth in range(1, len(names) + 1):
        assert names[depth - 1] in collections
        assert " > ".join(names[:depth]) in collections
    assert len(collections) == 2 * len(names) - 1


@pytest.mark.parametrize(
    ("dialect", "phrase"),
    [
        ("shopify", "customers, orders and products"),
        ("woocommerce", "customers, orders and products"),
    ],
)
def test_the_kinds_a_platform_has_exports_of_in_words(dialect, phrase):
    assert dialects.kinds_in_words(dialect) == phrase


def test_from_a_platform_for_a_kind_it_has_no_export_of_names_those_it_has(segcli):
    path = segcli.write("reviews.csv", "customer_id,product_id,rating\nC1,P1,5\n")
    result = checked(segcli, "import", "reviews", path, "--from", "shopify", exit_code=1)
    assert "--from shopify reads customers, orders and products exports, not reviews" in (
        result.stderr
    )

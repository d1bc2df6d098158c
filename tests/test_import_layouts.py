"""A file given as what it is not is refused with the command that reads it (issue 15,
point 4): another platform's export, another kind's export, a native file given --from a
platform, a platform export given as native, and a native file of another kind.
"""

from __future__ import annotations

import shlex

import pytest

from segcli.importer import dialects
from segcli.importer.dialects import Layout
from segcli.importer.headers import better_kind
from segcli.importer.kinds import KINDS
from tests.conftest import REAL_DATA, checked
from tests.import_checks import lines, refused
from tests.platform_files import (
    SHOPIFY_CUSTOMERS_CURRENT,
    SHOPIFY_ORDERS_TRIMMED,
    WEBTOFFEE_HEADER,
    WOO_CUSTOMERS_SERVER,
    csv_text,
)

# One small file of each (kind, dialect) segcli reads, as that source writes it.
FILES = {
    ("customers", "native"): lines(
        "customer_id,email,first_name,last_name,created_at,country,city,tags",
        "C1,ann@example.com,Ann,Lee,2024-01-02,DE,Berlin,vip",
    ),
    ("orders", "native"): lines(
        "order_id,customer_id,email,created_at,total,status,currency",
        "O1,C1,ann@example.com,2024-02-01,12.50,paid,EUR",
    ),
    ("customers", "shopify"): csv_text(
        SHOPIFY_CUSTOMERS_CURRENT,
        {"Customer ID": "7001", "First Name": "Ann", "Email": "ann@example.com"},
    ),
    ("orders", "shopify"): csv_text(
        SHOPIFY_ORDERS_TRIMMED,
        {
            "Name": "#1001",
            "Financial Status": "paid",
            "Created at": "2024-06-01 12:00:00 +0000",
            "Lineitem quantity": "1",
            "Lineitem name": "Candle",
            "Lineitem price": "15.00",
            "Total": "15.00",
            "Email": "ann@example.com",
        },
    ),
    ("customers", "woocommerce"): csv_text(
        WOO_CUSTOMERS_SERVER,
        {"Name": "Ann Lee", "Sign Up": "2023-01-15T09:30:00", "Email": "ann@example.com"},
        bom=True,
    ),
    ("orders", "woocommerce"): csv_text(
        WEBTOFFEE_HEADER,
        {
            "order_id": "5001",
            "order_date": "2024-03-01 10:00:00",
            "status": "wc-completed",
            "order_total": "9.00",
            "customer_id": "0",
            "billing_email": "ann@example.com",
            "line_item_1": "name:Mug|quantity:1|total:9.00",
        },
    ),
}

TITLES = {
    ("customers", "shopify"): "a Shopify customers export",
    ("orders", "shopify"): "a Shopify orders export",
    ("customers", "woocommerce"): "a WooCommerce customers download",
    ("orders", "woocommerce"): "a WooCommerce order export",
    ("customers", "native"): "a customers file",
    ("orders", "native"): "an orders file",
}

CASES = [
    pytest.param(
        true_kind, true_dialect, kind, dialect, id=f"{true_dialect}-{true_kind}-as-{dialect}-{kind}"
    )
    for true_kind, true_dialect in FILES
    for kind in ("customers", "orders")
    for dialect in dialects.DIALECTS
]


def the_fix(path, true_kind: str, true_dialect: str, kind: str) -> str:
    """How the refusal says to import the file: the --from, and the kind when it differs."""
    if true_kind != kind:
        command = f"segcli import {true_kind} {shlex.quote(str(path))}"
        return command + ("" if true_dialect == "native" else f" --from {true_dialect}")
    return "without --from" if true_dialect == "native" else f"--from {true_dialect}"


@pytest.mark.parametrize(("true_kind", "true_dialect", "kind", "dialect"), CASES)
def test_every_file_imports_only_as_what_it_is(segcli, true_kind, true_dialect, kind, dialect):
    path = segcli.write("file.csv", FILES[(true_kind, true_dialect)])
    result = segcli("import", kind, path, "--from", dialect)
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    if (true_kind, true_dialect) == (kind, dialect):
        assert result.exit_code == 0, result.stderr
        assert f"{path}: 1 row read: 1 inserted" in result.stderr
        return
    assert result.exit_code == 1, result.stderr
    assert result.stderr.startswith(f"Error: {path}: "), result.stderr
    assert the_fix(path, true_kind, true_dialect, kind) in result.stderr
    if true_dialect != "native" or true_kind == kind:
        # The file is named for what it is (a native file given as another native kind
        # may instead lack that kind's columns and say so).
        assert TITLES[(true_kind, true_dialect)] in result.stderr
    assert not segcli.db.exists() or all(rows == [] for rows in segcli.dump().values())
    # The command the refusal gives imports it.
    fixed = ["import", true_kind, path]
    if true_dialect != "native":
        fixed += ["--from", true_dialect]
    assert segcli(*fixed).exit_code == 0


@pytest.mark.skipif(not REAL_DATA.exists(), reason="shared/data/real is not here")
def test_the_real_woocommerce_customers_download_given_as_shopify(segcli):
    path = REAL_DATA / "woocommerce" / "db-csv-editor" / "wc-customers.csv"
    assert refused(segcli, "import", "customers", path, "--from", "shopify", table="customers") == (
        f"Error: {path}: this is a WooCommerce customers download: import it with "
        "--from woocommerce\n"
    )


@pytest.mark.skipif(not REAL_DATA.exists(), reason="shared/data/real is not here")
def test_the_real_shopify_orders_export_given_as_customers(segcli):
    path = REAL_DATA / "shopify" / "forezia-dev-store" / "orders_export.csv"
    for dialect in ("shopify", "native", "woocommerce"):
        assert refused(segcli, "import", "customers", path, "--from", dialect, table="orders") == (
            f"Error: {path}: this is a Shopify orders export: import it with "
            f"segcli import orders {path} --from shopify\n"
        )


TRIMMED = [
    # Shopify orders export without Financial Status: not the full signature, fits nothing else.
    pytest.param(
        "orders",
        "shopify",
        lines(
            "Name,Created at,Lineitem name,Lineitem quantity,Lineitem price,Total,Email",
            "#1,2024-06-01 12:00:00 +0000,Candle,1,15.00,15.00,ann@example.com",
        ),
        id="shopify-orders-without-financial-status",
    ),
    pytest.param(
        "customers",
        "shopify",
        lines("Customer ID,Email,First Name,Tags", "7001,ann@example.com,Ann,vip"),
        id="shopify-customers-without-totals",
    ),
    pytest.param(
        "orders",
        "woocommerce",
        lines(
            "order_id,order_date,order_total,customer_email,line_item_1",
            "5001,2024-03-01 10:00:00,9.00,ann@example.com,name:Mug|quantity:1|total:9.00",
        ),
        id="woocommerce-orders-without-status",
    ),
    pytest.param(
        "customers",
        "woocommerce",
        lines("Name,Email,Sign Up", "Ann Lee,ann@example.com,2023-01-15T09:30:00"),
        id="woocommerce-customers-without-figures",
    ),
]


@pytest.mark.parametrize(("kind", "dialect", "text"), TRIMMED)
def test_trimmed_exports_still_import(segcli, kind, dialect, text):
    path = segcli.write("trimmed.csv", text)
    result = checked(segcli, "import", kind, path, "--from", dialect)
    assert f"{path}: 1 row read: 1 inserted" in result.stderr


def test_a_platform_export_given_as_native_with_map_is_read_as_mapped(segcli):
    path = segcli.write("wc.csv", FILES[("customers", "woocommerce")])
    result = checked(segcli, "import", "customers", path, "--map", "Sign Up=created_at")
    assert "looks like a WooCommerce customers download" in result.stderr
    assert segcli.value("SELECT created_at FROM customers") == "2023-01-15 09:30:00"


def test_a_layout_added_to_layouts_is_recognised(segcli, monkeypatch):
    """Detection loops over LAYOUTS: a new platform export is named without other code."""
    products = Layout(
        dialect="shopify",
        kind="products",
        title="Shopify products export",
        columns={"product_id": ("handle",), "title": ("title",)},
        required=(("handle",),),
        signature=frozenset({"handle", "variant sku", "body (html)"}),
    )
    monkeypatch.setitem(dialects.LAYOUTS, ("shopify", "products"), products)
    path = segcli.write(
        "products_export.csv", lines("Handle,Title,Body (HTML),Variant SKU", "mug,Mug,<p>,M-1")
    )
    for kind, dialect in (
        ("products", "native"),
        ("products", "woocommerce"),
        ("orders", "shopify"),
    ):
        stderr = refused(segcli, "import", kind, path, "--from", dialect, table=kind)
        assert "this is a Shopify products export: import it with " in stderr
        if kind == "products":
            assert "--from shopify\n" in stderr


# --- native files of another kind --------------------------------------------------------

# The file's header, the kind it is given as, the kind it is.
OTHER_KINDS = [
    ("order_id,customer_id,email,created_at,total,status,currency", "carts", "orders"),
    ("order_id,customer_id,email,created_at,total,status,currency", "customers", "orders"),
    ("order_id,email,created_at,total", "carts", "orders"),
    ("email,subscribed_at,status,source", "customers", "subscribers"),
    ("customer_id,email,first_name,last_name,country", "subscribers", "customers"),
    ("order_id,created_at,customer_id,sku,quantity,price", "items", "orders"),
    ("order_id,product_id,sku,title,collection,quantity,price", "products", "items"),
    ("cart_id,customer_id,email,created_at,total", "customers", "carts"),
    ("review_id,customer_id,email,product_id,rating,created_at,title,body", "customers", "reviews"),
    ("review_id,customer_id,email,product_id,rating,created_at,title,body", "carts", "reviews"),
]


@pytest.mark.parametrize(("header", "given", "kind"), OTHER_KINDS)
def test_a_native_file_of_another_kind_is_refused_naming_it(segcli, header, given, kind):
    values = {
        "order_id": "O1", "customer_id": "C1", "email": "a@example.com", "created_at": "2024-01-01",
        "total": "5", "status": "paid", "currency": "EUR", "subscribed_at": "2024-01-01",
        "source": "footer", "first_name": "Ann", "last_name": "Lee", "country": "DE", "sku": "S1",
        "quantity": "1", "price": "5", "product_id": "P1", "title": "Mug", "collection": "Home",
        "cart_id": "K1", "review_id": "R1", "rating": "5", "body": "Nice",
    }  # fmt: skip
    if kind == "subscribers":
        values["status"] = "subscribed"
    path = segcli.write(
        f"{kind}.csv", lines(header, ",".join(values[name] for name in header.split(",")))
    )
    assert better_kind(KINDS[given], header.split(",")) is KINDS[kind]
    an = "an" if kind[0] in "aeiou" else "a"
    an_given = "an" if given[0] in "aeiou" else "a"
    assert refused(segcli, "import", given, path, table=given) == (
        f"Error: {path}: this is {an} {kind} file, not {an_given} {given} file: import it with "
        f"segcli import {kind} {path}\n"
    )
    assert not segcli.db.exists() or all(rows == [] for rows in segcli.dump().values())
    checked(segcli, "import", kind, path)


# Headers that stay the kind they are given as.
SAME_KIND = [
    ("customer_id,email,status,source", "customers"),  # custom fields named like a subscriber's
    ("customer_id,email,created_at,total_spent", "customers"),
    ("email", "customers"),
    ("email", "subscribers"),
    ("email,status", "customers"),
    ("customer_id,email,created_at", "carts"),
    ("customer_id,created_at,total", "carts"),
    ("order_id,sku,quantity,price", "items"),
    ("order_id,email,created_at,total,sku,quantity", "orders"),
    ("product_id,sku,title,vendor", "products"),
    ("sku,title,tags", "products"),
]


@pytest.mark.parametrize(("header", "kind"), SAME_KIND)
def test_a_file_that_fits_its_kind_is_not_taken_for_another(header, kind):
    assert better_kind(KINDS[kind], header.split(",")) is None


def test_the_example_store_files_are_each_their_own_kind():
    from segcli.examples.demo import EXAMPLE_FILES, example_data_dir

    for kind, name in EXAMPLE_FILES:
        header = (example_data_dir() / name).read_text(encoding="utf-8").splitlines()[0]
        assert better_kind(KINDS[kind], header.split(",")) is None, name


@pytest.mark.parametrize(
    ("header", "given", "kind"),
    [
        ("order_id,product_id,sku,title,quantity,price", "orders", "items"),
        ("sku,title,tags", "items", "products"),
        ("email,status", "carts", "subscribers"),
    ],
)
def test_a_file_missing_columns_names_the_kind_it_has_the_columns_of(segcli, header, given, kind):
    path = segcli.write("file.csv", lines(header, ",".join(["1"] * (header.count(",") + 1))))
    first, hint, *_ = refused(segcli, "import", given, path, table=given).splitlines()
    assert first.startswith(f"Error: {path}: is missing the required column(s) ")
    assert hint == (
        f"  hint: it has the columns of {'an' if kind[0] in 'aeiou' else 'a'} {kind} file: "
        f"import it with segcli import {kind} {path}"
    )

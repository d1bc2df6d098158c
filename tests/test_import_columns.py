"""Header columns that look like a known column misspelt (issue 15, point 3).

An unknown column close to a column the kind knows (``emial``, ``First Name``, ``totl``)
refuses the file with the --map that fixes it, unless --map names it or --keep-unknown
says it is meant as it is. The closeness rule is tested on a table of real-looking
headers, and the example store and the real files still import unchanged.
"""

from __future__ import annotations

import csv
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from segcli.examples.demo import EXAMPLE_FILES, example_data_dir
from segcli.importer.headers import LOOK_ALIKES, likely_column, misspelt_columns, normalised
from segcli.importer.kinds import KINDS, known_columns
from tests.conftest import REAL_DATA, RETAIL_MAPPING, checked
from tests.import_checks import lines, refused


def guess(kind: str, name: str) -> str | None:
    return likely_column(name, known_columns(KINDS[kind]))


# kind, a header name as merchants' files have it, the column segcli takes it for.
LOOKALIKES = [
    ("customers", "emial", "email"),
    ("customers", "E-mail", "email"),
    ("customers", "E-Mail Address", "email"),
    ("customers", "Email Address", "email"),
    ("customers", "mail", "email"),
    ("customers", "First Name", "first_name"),
    ("customers", "first name", "first_name"),
    ("customers", "FirstName", "first_name"),
    ("customers", "frist_name", "first_name"),
    ("customers", "Last-Name", "last_name"),
    ("customers", "CustomerID", "customer_id"),
    ("customers", "customer", "customer_id"),
    ("customers", "customer_email", "email"),
    ("customers", "tag", "tags"),
    ("customers", "Tags ", "tags"),
    ("customers", "created", "created_at"),
    ("customers", "Created Date", "created_at"),
    ("customers", "accepts_marketting", "accepts_marketing"),
    ("customers", "Accepts Marketing", "accepts_marketing"),
    ("customers", "contry", "country"),
    ("customers", "customer group", "customer_group"),
    ("customers", "chanel", "channel"),
    ("orders", "totl", "total"),
    ("orders", "Totals", "total"),
    ("orders", "order_total", "total"),
    ("orders", "Order ID", "order_id"),
    ("orders", "ordr_id", "order_id"),
    ("orders", "order_status", "status"),
    ("orders", "Currancy", "currency"),
    ("orders", "qty", "quantity"),
    ("orders", "quantitiy", "quantity"),
    ("orders", "Lineitem price", "price"),
    ("orders", "Product ID", "product_id"),
    ("orders", "SKU", None),  # a known column: matched by case, never a near miss
    ("items", "collections", "collection"),
    ("items", "item_price", "price"),
    ("items", "product_title", "title"),
    ("items", "Qty", "quantity"),
    ("products", "collection", "collections"),
    ("products", "Product Type", "product_type"),
    ("products", "vendors", "vendor"),
    ("products", "tag", "tags"),
    ("reviews", "ratings", "rating"),
    ("reviews", "Review ID", "review_id"),
    ("reviews", "review_title", "title"),
    ("subscribers", "Email Address", "email"),
    ("subscribers", "subscribed", "subscribed_at"),
    ("subscribers", "sorce", "source"),
    ("carts", "cart_total", "total"),
    ("carts", "Cart ID", "cart_id"),
    # Far from every known column: custom fields (customers) or ignored (other kinds).
    ("customers", "loyalty_tier", None),
    ("customers", "birthday_month", None),
    ("customers", "note", None),
    ("customers", "Note", None),
    ("customers", "county", None),
    ("customers", "Username", None),
    ("customers", "Last Active", None),
    ("customers", "Total Spend", None),
    ("customers", "AOV", None),
    ("customers", "Postal Code", None),
    ("customers", "Phone", None),
    ("customers", "Company", None),
    ("customers", "gender", None),
    ("customers", "state", None),
    ("customers", "Accepts Email Marketing", None),
    ("customers", "Tax Exempt", None),
    ("orders", "subtotal", None),
    ("orders", "Financial Status", None),
    ("orders", "Shipping", None),
    ("orders", "Taxes", None),
    ("orders", "Discount Code", None),
    ("orders", "Billing Name", None),
    ("orders", "gender", None),
    ("orders", "InvoiceNo", None),
    ("orders", "StockCode", None),
    ("orders", "Description", None),
    ("orders", "InvoiceDate", None),
    ("orders", "UnitPrice", None),
    ("orders", "state", None),
    ("items", "line", None),
    ("items", "reason", None),
    ("products", "product_name_lenght", None),
    ("products", "product_photos_qty", None),
    ("products", "product_weight_g", None),
    ("products", "product_category_name", None),
    ("reviews", "reviewer", None),
    ("reviews", "stars", None),
    ("subscribers", "opt_in", None),
    ("subscribers", "list", None),
    ("carts", "abandoned_at", None),
]


@pytest.mark.parametrize(("kind", "name", "column"), LOOKALIKES)
def test_which_header_names_are_taken_for_known_columns(kind, name, column):
    if column is None and normalised(name) in map(normalised, known_columns(KINDS[kind])):
        # A known column itself is matched as it is, before any guessing.
        assert name.strip().lower() in known_columns(KINDS[kind])
        return
    assert guess(kind, name) == column


_SEPARATORS = st.sampled_from(["_", " ", "-", "", ".", "  "])


@st.composite
def written_another_way(draw) -> tuple[str, str]:
    """A known column in other case and with other separators between its words."""
    kind = draw(st.sampled_from(sorted(KINDS)))
    column = draw(st.sampled_from(sorted(known_columns(KINDS[kind]))))
    words = column.split("_")
    spelled = draw(_SEPARATORS).join(
        draw(st.sampled_from([word, word.upper(), word.title()])) for word in words
    )
    return kind, column, spelled


@given(written_another_way())
def test_a_known_column_in_any_case_and_separators_is_recognised(case):
    kind, column, spelled = case
    known = known_columns(KINDS[kind])
    if spelled.strip().lower() in known:
        return  # matched as the column itself
    others = [c for c in known if c != column]
    assert likely_column(spelled, [column]) == column
    # With the column's neighbours it is still recognised as itself.
    assert likely_column(spelled, [*others, column]) == column


@st.composite
def one_slip(draw) -> tuple[str, str]:
    """A known column of four letters or more with one letter dropped, added, changed or
    two neighbours swapped."""
    kind = draw(st.sampled_from(sorted(KINDS)))
    column = draw(
        st.sampled_from(sorted(c for c in known_columns(KINDS[kind]) if len(normalised(c)) > 3))
    )
    at = draw(st.integers(0, len(column) - 2))
    letter = draw(st.sampled_from("abcdefghijklmnopqrstuvwxyz"))
    slip = draw(st.sampled_from(["drop", "add", "change", "swap"]))
    typed = {
        "drop": column[:at] + column[at + 1 :],
        "add": column[:at] + letter + column[at:],
        "change": column[:at] + letter + column[at + 1 :],
        "swap": column[:at] + column[at + 1] + column[at] + column[at + 2 :],
    }[slip]
    return kind, column, typed


@given(one_slip())
def test_a_known_column_with_one_slip_is_recognised(case):
    kind, column, typed = case
    known = known_columns(KINDS[kind])
    if typed.lower() in known or typed in LOOK_ALIKES:
        return  # the slip made another known column, or a word of its own (county)
    assert likely_column(typed, [column]) == column
    found = likely_column(typed, known)
    # Among all the kind's columns it may be as close to another, never to none.
    assert found is not None


# --- through the CLI --------------------------------------------------------------------


def test_a_misspelt_customers_header_is_refused_with_the_map_that_fixes_it(segcli):
    path = segcli.write(
        "customers.csv",
        lines(
            "customer_id,emial,First Name,loyalty_tier,note",
            "C1,ann@example.com,Ann,gold,likes tea",
        ),
    )
    assert refused(segcli, "import", "customers", path, table="customers") == (
        f"Error: {path}: columns 'emial' (email), 'First Name' (first_name) look like segcli's "
        "columns misspelt or named another way: as they are, segcli would keep them as "
        "custom fields and leave those columns empty\n"
        "  hint: read them as segcli's with --map emial=email --map 'First Name=first_name', "
        "or add --keep-unknown to keep them as custom fields\n"
    )

    # The hint's --map options, as a shell would pass them, import it.
    fixed = checked(
        segcli,
        "import",
        "customers",
        path,
        "--map",
        "emial=email",
        "--map",
        "First Name=first_name",
    )
    assert f"{path}: 1 row read: 1 inserted" in fixed.stderr
    [(customer, email, first_name, custom)] = segcli.rows(
        "SELECT customer_id, email, first_name, custom FROM customers"
    )
    assert (customer, email, first_name) == ("C1", "ann@example.com", "Ann")
    assert json.loads(custom) == {"loyalty_tier": "gold", "note": "likes tea"}


def test_keep_unknown_keeps_lookalike_columns_as_custom_fields(segcli):
    path = segcli.write(
        "customers.csv", lines("customer_id,emial,First Name", "C1,ann@example.com,Ann")
    )
    result = checked(segcli, "import", "customers", path, "--keep-unknown")
    assert f"{path}: 1 row read: 1 inserted" in result.stderr
    [(email, first_name, custom)] = segcli.rows("SELECT email, first_name, custom FROM customers")
    assert (email, first_name) == (None, None)
    assert json.loads(custom) == {"emial": "ann@example.com", "first name": "Ann"}


def test_a_misspelt_column_of_another_kind_is_refused_and_kept_unknown_is_ignored(segcli):
    path = segcli.write(
        "orders.csv",
        lines("order_id,customer_id,created_at,total,sku,qty", "O1,C1,2024-05-01,30,MUG,3"),
    )
    assert refused(segcli, "import", "orders", path, table="orders") == (
        f"Error: {path}: column 'qty' looks like quantity misspelt or named another way: as "
        "it is, segcli would ignore it and leave quantity empty\n"
        "  hint: read it as segcli's with --map qty=quantity, or add --keep-unknown to "
        "ignore it\n"
    )

    kept = checked(segcli, "import", "orders", path, "--keep-unknown")
    assert f"{path}: ignoring 1 column segcli has no place for: qty" in kept.stderr
    assert segcli.rows("SELECT sku, quantity FROM items") == [("MUG", 1)]

    mapped = checked(segcli, "import", "orders", path, "--map", "qty=quantity")
    assert "1 updated" in mapped.stderr
    assert segcli.rows("SELECT sku, quantity FROM items") == [("MUG", 3)]


# kind, a header with one look-alike column, that column, its --map.
EVERY_KIND = [
    ("customers", "customer_id,E-mail", "E-mail", "E-mail=email"),
    ("orders", "order_id,email,created_at,totl", "totl", "totl=total"),
    ("items", "order_id,sku,Qty", "Qty", "Qty=quantity"),
    ("products", "product_id,title,collection", "collection", "collection=collections"),
    ("reviews", "email,sku,ratings", "ratings", "ratings=rating"),
    ("subscribers", "Email Address,status", "Email Address", "'Email Address=email'"),
    ("carts", "email,created_at,cart_total", "cart_total", "cart_total=total"),
]


@pytest.mark.parametrize(("kind", "header", "column", "fix"), EVERY_KIND)
def test_every_kind_refuses_a_lookalike_column(segcli, kind, header, column, fix):
    path = segcli.write(f"{kind}.csv", lines(header, ",".join(["1"] * (header.count(",") + 1))))
    stderr = refused(segcli, "import", kind, path, table=kind)
    [error, hint] = stderr.splitlines()
    assert error.startswith(f"Error: {path}: column {column!r} looks like ")
    assert f"--map {fix}," in hint
    assert "--keep-unknown" in hint
    assert refused(segcli, "import", kind, path, "--dry-run", table=kind) == stderr


def test_a_name_close_to_a_column_the_file_has_is_another_column(segcli):
    path = segcli.write(
        "customers.csv",
        lines("customer_id,email,email2,tags,tag", "C1,a@example.com,b@example.com,vip,x"),
    )
    checked(segcli, "import", "customers", path)
    custom = json.loads(segcli.value("SELECT custom FROM customers"))
    assert custom == {"email2": "b@example.com", "tag": "x"}


def test_a_mapped_column_is_the_merchants_choice(segcli):
    """--map names the column: its target is what counts, not its look."""
    path = segcli.write(
        "customers.csv", lines("customer_id,emial,Mail", "C1,ann@example.com,old@example.com")
    )
    checked(segcli, "import", "customers", path, "--map", "emial=email", "--map", "Mail=old_mail")
    [(email, custom)] = segcli.rows("SELECT email, custom FROM customers")
    assert email == "ann@example.com"
    assert json.loads(custom) == {"old_mail": "old@example.com"}


@pytest.mark.parametrize(
    ("kind", "option", "message"),
    [
        ("customers", "Mail=emial", "'emial' is not a column of customers files; did you mean "
         "'email'? (--map Mail=email)"),
        ("customers", "Given Name=frist_name", "did you mean 'first_name'? "
         "(--map 'Given Name=first_name')"),
        ("orders", "Amount=totl", "'totl' is not a column of orders files; did you mean "
         "'total'? (--map Amount=total)"),
    ],
)  # fmt: skip
def test_a_map_target_that_is_a_misspelt_known_column_is_a_usage_error(
    segcli, kind, option, message
):
    path = segcli.write("file.csv", lines("customer_id,Mail,Given Name,Amount", "C1,a,b,1"))
    result = segcli("import", kind, path, "--map", option)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in result.stderr
    assert not segcli.db.exists()


def test_a_map_target_far_from_known_columns_is_a_custom_field(segcli):
    path = segcli.write("customers.csv", lines("customer_id,Tier", "C1,gold"))
    checked(segcli, "import", "customers", path, "--map", "Tier=loyalty_tier")
    assert json.loads(segcli.value("SELECT custom FROM customers")) == {"loyalty_tier": "gold"}


# --- files that must import as before ---------------------------------------------------


def _header(path, delimiter=",") -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return next(csv.reader(handle, delimiter=delimiter))


@pytest.mark.parametrize(("kind", "name"), EXAMPLE_FILES)
def test_the_example_store_has_no_lookalike_column(kind, name):
    header = _header(example_data_dir() / name)
    names = [column.strip().lower() for column in header]
    assert misspelt_columns(KINDS[kind], header, names, {}) == []


def test_the_example_store_imports_unchanged(segcli):
    for kind, name in EXAMPLE_FILES:
        result = checked(segcli, "import", kind, example_data_dir() / name)
        assert "Error" not in result.stderr
    custom = json.loads(segcli.value("SELECT custom FROM customers WHERE custom != '{}' LIMIT 1"))
    assert set(custom) <= {"loyalty_tier", "birthday_month"}


REAL_MAPPED = [
    (
        "orders",
        REAL_DATA / "online-retail" / "2010-12-01.csv",
        RETAIL_MAPPING,
    ),
    (
        "products",
        REAL_DATA / "olist" / "olist_products_dataset.csv",
        {"product_category_name": "product_type"},
    ),
    (
        "customers",
        REAL_DATA / "woocommerce" / "db-csv-editor" / "wc-customers.csv",
        {"country / region": "country", "sign up": "created_at"},
    ),
]


@pytest.mark.skipif(not REAL_DATA.exists(), reason="shared/data/real is not here")
@pytest.mark.parametrize(("kind", "path", "mapping"), REAL_MAPPED)
def test_real_files_as_tests_map_them_have_no_lookalike_column(kind, path, mapping):
    header = _header(path)
    names = [mapping.get(n, n) for n in (column.strip().lower() for column in header)]
    assert misspelt_columns(KINDS[kind], header, names, mapping) == []


@pytest.mark.skipif(not REAL_DATA.exists(), reason="shared/data/real is not here")
def test_the_real_retail_file_without_its_customer_map_names_the_fix(segcli):
    """UCI's CustomerID is customer_id written another way: a forgotten --map is caught."""
    path = REAL_DATA / "online-retail" / "2010-12-01.csv"
    result = checked(
        segcli,
        "import",
        "orders",
        path,
        "--map", "InvoiceNo=order_id",
        "--map", "InvoiceDate=created_at",
        "--map", "StockCode=sku",
        "--map", "UnitPrice=price",
        exit_code=1,
    )  # fmt: skip
    assert "column 'CustomerID' looks like customer_id" in result.stderr
    assert "--map CustomerID=customer_id" in result.stderr

"""What an import tells about the orders that count for no one, what `segcli info` knows
about imports, and the progress an import shows after reading (issue 15, points 11, 13).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from segcli import output
from segcli.importer.load import ImportOptions, import_file
from segcli.store.db import open_store
from segcli.store.schema import MIGRATION_NAMES
from tests.conftest import REAL_DATA, checked
from tests.import_checks import lines
from tests.old_databases import old_database

PIE_SHOP = REAL_DATA / "shopify" / "cs201-pie-shop" / "orders_export_1.csv"
NO_CUSTOMER_COLUMN = (
    "the file has no customer column (no email or customer id): every order is anonymous, "
    "so no segment will include them"
)


def info(segcli) -> dict:
    result = segcli("info", "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def everyone(segcli) -> int:
    result = segcli("segment", "calculate", "everyone", "--format", "json", "--as-of", "2025-01-01")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)[0]["count"]


# --- orders that count for no one (point 13) ---------------------------------------------


@pytest.mark.skipif(not REAL_DATA.exists(), reason="shared/data/real is not here")
def test_the_pie_shop_export_without_a_customer_column_says_so(segcli):
    dry = checked(
        segcli, "import", "orders", PIE_SHOP, "--from", "shopify", "--monthfirst", "--dry-run"
    )
    assert f"warning: {PIE_SHOP}: {NO_CUSTOMER_COLUMN}" in dry.stderr.splitlines()
    assert (
        f"{PIE_SHOP}: 94 orders have no customer id or email: they would count for no one"
        in dry.stderr.splitlines()
    )

    result = checked(segcli, "import", "orders", PIE_SHOP, "--from", "shopify", "--monthfirst")
    said = result.stderr.splitlines()
    assert f"warning: {PIE_SHOP}: {NO_CUSTOMER_COLUMN}" in said
    assert said[-1] == f"{PIE_SHOP}: 94 orders have no customer id or email: they count for no one"
    figures = info(segcli)
    assert figures["anonymous_orders"] == 94
    [file] = figures["files_without_customer_column"]
    assert file["file"] == str(PIE_SHOP.resolve())
    assert file["orders"] == 94
    assert file["imported_at"] == figures["last_imported_at"]["orders"]
    assert everyone(segcli) == 0
    table = segcli("info").stdout.splitlines()
    assert (
        f"no customer column  {PIE_SHOP.resolve()}: its 94 orders belong to no one (the file "
        "has no customer id or email column)"
    ) in table
    assert "anonymous orders    94 (no customer id or email: they count for no one)" in table


SHOPIFY_HEADER = (
    "Name,Financial Status,Created at,Lineitem name,Lineitem quantity,Lineitem price,Total"
)


def test_a_shopify_export_without_email_is_a_warning_and_with_it_is_not(segcli):
    path = segcli.write(
        "orders_export.csv",
        lines(SHOPIFY_HEADER, "#1,paid,2024-06-01 12:00:00 +0000,Pie,1,5.00,5.00"),
    )
    result = checked(segcli, "import", "orders", path, "--from", "shopify")
    assert f"warning: {path}: {NO_CUSTOMER_COLUMN}" in result.stderr.splitlines()
    assert f"{path}: 1 order has no customer id or email: it counts for no one" in result.stderr
    assert [f["orders"] for f in info(segcli)["files_without_customer_column"]] == [1]

    # The same file exported again with its Email column: one order is anonymous (its cell
    # is empty), but the file is not one without a customer column.
    path.write_text(
        lines(
            SHOPIFY_HEADER + ",Email",
            "#1,paid,2024-06-01 12:00:00 +0000,Pie,1,5.00,5.00,",
            "#2,paid,2024-06-02 12:00:00 +0000,Pie,1,5.00,5.00,ann@example.com",
        )
    )
    again = checked(segcli, "import", "orders", path, "--from", "shopify")
    assert "no customer column" not in again.stderr
    assert f"{path}: 1 order has no customer id or email: it counts for no one" in again.stderr
    assert info(segcli)["files_without_customer_column"] == []
    assert everyone(segcli) == 1


def test_a_woocommerce_export_without_any_customer_column_is_a_warning(segcli):
    path = segcli.write(
        "order_export.csv",
        lines(
            "order_id,order_date,status,order_total,line_item_1",
            "5001,2024-03-01 10:00:00,completed,9.00,name:Mug|quantity:1|total:9.00",
            "5002,2024-03-02 10:00:00,completed,9.00,name:Mug|quantity:1|total:9.00",
        ),
    )
    result = checked(segcli, "import", "orders", path, "--from", "woocommerce")
    assert f"warning: {path}: {NO_CUSTOMER_COLUMN}" in result.stderr.splitlines()
    assert f"{path}: 2 orders have no customer id or email: they count for no one" in (
        result.stderr
    )


def test_a_native_orders_file_with_a_customer_column_has_no_warning(segcli):
    path = segcli.write(
        "orders.csv",
        lines(
            "order_id,email,created_at,total", "O1,,2024-05-01,5", "O2,a@example.com,2024-05-01,5"
        ),
    )
    result = checked(segcli, "import", "orders", path)
    assert "warning" not in result.stderr
    assert f"{path}: 1 order has no customer id or email: it counts for no one" in result.stderr
    assert info(segcli)["files_without_customer_column"] == []


# --- info after a line-item orders file (point 11) ---------------------------------------


def test_info_says_when_line_items_came_with_an_orders_file(segcli):
    flat = segcli.write(
        "flat.csv", lines("order_id,email,created_at,total", "O1,a@x.com,2024-05-01,5")
    )
    checked(segcli, "import", "orders", flat)
    figures = info(segcli)
    assert figures["last_imported_at"]["items"] is None
    assert figures["last_imported_with"]["items"] is None
    assert figures["last_imported_with"]["orders"] == "orders"

    with_lines = segcli.write(
        "lines.csv",
        lines("order_id,email,created_at,sku,quantity,price", "O2,a@x.com,2024-05-02,MUG,2,4"),
    )
    checked(segcli, "import", "orders", with_lines)
    figures = info(segcli)
    assert figures["rows"]["items"] == 1
    assert figures["last_imported_at"]["items"] is not None
    assert figures["last_imported_at"]["items"] == figures["last_imported_at"]["orders"]
    assert figures["last_imported_with"]["items"] == "orders"

    items = segcli.write("items.csv", lines("order_id,sku,quantity", "O1,CUP,1"))
    checked(segcli, "import", "items", items)
    figures = info(segcli)
    assert figures["last_imported_with"]["items"] == "items"
    assert figures["last_imported_at"]["items"] >= figures["last_imported_at"]["orders"]

    # The table never says items were never imported.
    table = segcli("info")
    items_row = [line for line in table.stdout.splitlines() if line.startswith("items ")]
    assert items_row and "never" not in items_row[0]


def test_info_on_a_database_imported_by_an_older_segcli(segcli):
    """Imports logged before the log knew of line items or customer columns (migration
    m008): nothing is made up for them."""
    old_database(segcli.db, MIGRATION_NAMES.index("m008_import_log_details"))
    figures = info(segcli)
    assert figures["last_imported_with"] == {
        kind: kind
        for kind in ("customers", "orders", "items", "products", "reviews", "subscribers", "carts")
    }
    assert figures["files_without_customer_column"] == []


# --- progress after reading (point 11) ---------------------------------------------------


def _phases(tmp_path: Path, *files: tuple[str, str], **options) -> list[list[str]]:
    """The steps each import reports after reading, in order."""
    seen = []
    with open_store(tmp_path / "store.db") as store:
        for number, (kind, text) in enumerate(files):
            path = tmp_path / f"{number}.csv"
            path.write_text(text)
            steps: list[str] = []
            import_file(store, kind, path, ImportOptions(**options), on_phase=steps.append)
            seen.append(steps)
    return seen


CUSTOMERS = lines("customer_id,email", "C1,a@x.com", "C2,b@x.com")
MORE_CUSTOMERS = lines("customer_id,email", "C3,c@x.com")
ORDERS = lines("order_id,customer_id,created_at,total", "O1,C1,2024-05-01,5")
LINE_ITEM_ORDERS = lines("order_id,customer_id,created_at,sku,price", "O2,C1,2024-05-01,M,5")


def test_an_import_reports_each_step_after_reading(tmp_path):
    first, second, orders, line_items, unchanged = _phases(
        tmp_path,
        ("customers", CUSTOMERS),
        ("customers", MORE_CUSTOMERS),
        ("orders", ORDERS),
        ("orders", LINE_ITEM_ORDERS),
        ("orders", LINE_ITEM_ORDERS),
    )
    # Into an empty table: its indexes, then people (customers have no index by person
    # since schema 11).
    assert first == ["building indexes", "working out people", "saving"]
    assert second == ["merging", "working out people", "saving"]
    # Orders' indexes by person wait for people to be worked out.
    assert orders == [
        "building indexes",
        "working out people",
        "building indexes",
        "working out people",
        "saving",
    ]
    assert line_items == ["merging", "working out people", "saving"]
    # Nothing changed: nobody to work out again.
    assert unchanged == ["merging", "saving"]


def test_a_dry_run_reports_no_saving(tmp_path):
    [steps] = _phases(tmp_path, ("customers", CUSTOMERS), dry_run=True)
    assert steps == ["building indexes"]


def test_the_progress_bar_shows_the_steps_on_a_terminal(segcli, monkeypatch):
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=100, markup=False, highlight=False)
    monkeypatch.setattr(output, "stderr_console", lambda: terminal)
    path = segcli.write("customers.csv", CUSTOMERS)
    result = segcli("import", "customers", path)
    assert result.exit_code == 0, screen.getvalue()
    drawn = screen.getvalue()
    for step in ("building indexes…", "working out people…", "saving…"):
        assert step in drawn
    assert f"{path}: 2 rows read: 2 inserted" in drawn


def test_no_progress_bar_when_stderr_is_not_a_terminal(segcli):
    path = segcli.write("customers.csv", CUSTOMERS)
    result = checked(segcli, "import", "customers", path)
    assert "working out people" not in result.stderr
    assert "…" not in result.stderr

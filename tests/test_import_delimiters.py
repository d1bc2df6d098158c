"""Files separated by ';', tab or '|' (issue 15, point 10): detected from the header when
--delimiter is not given, and read the same way by everything that reads the file again."""

from __future__ import annotations

import csv
import gzip

import pytest

from segcli.importer.decisions import file_delimiter, header_of
from segcli.importer.load import ImportOptions
from tests.conftest import checked
from tests.import_checks import lines, refused


@pytest.mark.parametrize(("separator", "words"), [(";", ";"), ("\t", "tab"), ("|", "|")])
def test_a_file_separated_otherwise_is_read_as_its_header_shows(segcli, separator, words):
    path = segcli.write(
        "customers.csv",
        lines(
            separator.join(["customer_id", "email", "tags", "note"]),
            separator.join(["C1", "ann@example.com", "vip, gold", "likes tea, and cake"]),
        ),
    )
    result = checked(segcli, "import", "customers", path)
    assert result.stderr.splitlines()[:2] == [
        f"{path}: read as native customers file, 4 columns",
        f"{path}: read as {words}-separated (detected from its header)",
    ]
    assert segcli.rows("SELECT customer_id, email, tags, custom FROM customers") == [
        ("C1", "ann@example.com", '["vip", "gold"]', '{"note": "likes tea, and cake"}')
    ]


def test_a_comma_file_says_nothing_about_its_separator(segcli):
    path = segcli.write("customers.csv", lines("customer_id,email,note", "C1,a@example.com,x;y|z"))
    result = checked(segcli, "import", "customers", path)
    assert "separated" not in result.stderr
    assert segcli.value("SELECT custom FROM customers") == '{"note": "x;y|z"}'


def test_a_one_column_file_is_read_with_commas(segcli):
    path = segcli.write("subscribers.csv", lines("email", "ann@example.com"))
    result = checked(segcli, "import", "subscribers", path)
    assert "separated" not in result.stderr
    assert segcli.value("SELECT email FROM subscribers") == "ann@example.com"


def test_the_date_scan_reads_the_detected_separator(segcli):
    """Only the second row shows that the day comes first: the scan must split it right."""
    path = segcli.write(
        "orders.csv",
        lines(
            "order_id;email;created_at;total",
            "O1;ann@example.com;1/12/2010 8:26;5",
            "O2;ann@example.com;13/12/2010 9:00;7,50",
        ),
    )
    result = checked(segcli, "import", "orders", path, exit_code=3)
    assert "read as ;-separated (detected from its header)" in result.stderr
    assert "dates day first, as '13/12/2010 9:00' shows (line 3)" in result.stderr
    assert segcli.rows("SELECT order_id, created_at FROM orders") == [("O1", "2010-12-01 08:26:00")]


def test_rejects_are_written_with_the_detected_separators_columns(segcli):
    path = segcli.write(
        "orders.csv",
        lines(
            "order_id|email|created_at|total",
            "O1|ann@example.com|2024-05-01|5",
            "O2|bob@example.com|2024-05-02|five",
        ),
    )
    rejects = segcli.dir / "rejects.csv"
    checked(segcli, "import", "orders", path, "--rejects", rejects, exit_code=3)
    with rejects.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows == [
        {
            "order_id": "O2",
            "email": "bob@example.com",
            "created_at": "2024-05-02",
            "total": "five",
            "line": "3",
            "reason": "total: 'five' is not an amount of money",
        }
    ]


def test_a_compressed_file_is_detected_too(segcli):
    path = segcli.dir / "customers.csv.gz"
    path.write_bytes(gzip.compress(lines("customer_id\temail", "C1\tann@example.com").encode()))
    result = checked(segcli, "import", "customers", path)
    assert "read as tab-separated (detected from its header)" in result.stderr
    assert segcli.value("SELECT email FROM customers") == "ann@example.com"


def test_a_header_that_splits_two_ways_is_refused_naming_the_delimiter_that_fits(segcli):
    path = segcli.write(
        "customers.csv", lines("customer_id;email;note|x", "C1;ann@example.com;a|b")
    )
    assert refused(segcli, "import", "customers", path, table="customers") == (
        f"Error: {path}: its header line splits into columns at ';' and at '|': segcli "
        "cannot tell which separates its columns\n"
        "  hint: --delimiter ';' gives it the columns of customers; give the separator with "
        "--delimiter ';' or --delimiter '|'\n"
    )
    checked(segcli, "import", "customers", path, "--delimiter", ";")
    assert segcli.value("SELECT custom FROM customers") == '{"note|x": "a|b"}'


def test_a_wrong_delimiter_is_refused_naming_the_one_that_fits(segcli):
    path = segcli.write(
        "orders.csv", lines("order_id;email;created_at;total", "O1;a@example.com;2024-05-01;5")
    )
    stderr = refused(segcli, "import", "orders", path, "--delimiter", "tab", table="orders")
    [error, hint, *_] = stderr.splitlines()
    assert error.startswith(f"Error: {path}: is missing the required column(s) order_id")
    assert hint == "  hint: read with --delimiter ';', its header has the columns orders need"


def test_a_platform_export_saved_with_semicolons_is_read_with_from(segcli):
    path = segcli.write(
        "customers_export.csv",
        lines(
            "Customer ID;First Name;Last Name;Email;Total Spent;Total Orders",
            "7001;Ann;Lee;ann@example.com;10.00;1",
        ),
    )
    result = checked(segcli, "import", "customers", path, "--from", "shopify")
    assert "read as ;-separated (detected from its header)" in result.stderr
    assert segcli.rows("SELECT customer_id, first_name FROM customers") == [("7001", "Ann")]
    # Without --from it is named as the export it is, read with its separator.
    again = checked(segcli, "import", "customers", path, exit_code=1)
    assert "this is a Shopify customers export: import it with --from shopify" in again.stderr


def test_the_library_reads_every_way_with_one_separator(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(lines("order_id;email;created_at;total", "O1;a@x.com;2024-05-01;5"))
    assert file_delimiter(path, ImportOptions()) == (
        ";",
        "read as ;-separated (detected from its header)",
    )
    assert file_delimiter(path, ImportOptions(delimiter=",")) == (",", None)
    assert header_of(path, ImportOptions()) == ["order_id", "email", "created_at", "total"]

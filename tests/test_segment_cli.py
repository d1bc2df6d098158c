"""segcli segment list|validate|calculate|show|export|sql through the CLI (SPEC 1, 3, 4).

Each test builds a small store from native CSV files and a segments directory of YAML
files, runs one command, and checks the exit code, stdout (the command's answer: a plain
table, or the data asked for) and the messages on stderr. The store is the same for most
tests; its expected figures were worked out by hand (below).
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import re
import sqlite3
import stat
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from segcli.analytic import export as duckdb_exporter
from segcli.rules.operators import compare_custom, fold
from segcli.segments import export as exporter
from tests.conftest import SegmentStore, segment_store, table_rows
from tests.helpers import split_sql

pytestmark = pytest.mark.both_engines

AS_OF = "2024-06-30"

CUSTOMERS = """\
customer_id,email,first_name,last_name,created_at,accepts_marketing,country,tags,tier
C1,Ann@Example.com,Ann,Lee,2024-01-01,yes,DE,"vip, gold",gold
C2,bob@example.com,Bob,Stone,2024-01-02,no,US,,7
C3,cy@example.com,Cy,Young,2024-01-03,yes,US,,
C4,dee@example.com,Dee,Park,2024-01-04,no,FR,,
C5,eve@example.com,Eve,Moss,2024-01-05,no,NO,,
"""
ORDERS = """\
order_id,customer_id,email,created_at,total,status
O1,C1,,2024-01-05,1200,paid
O2,C1,,2024-02-05,34.5,paid
O3,C2,,2024-03-01,-10,paid
O4,,guest@example.com,2024-03-02,50,cancelled
O5,C5,,2024-05-01T10:30:00,0.0001,
"""
CARTS = """\
customer_id,email,created_at,total
C4,,2024-04-01,20
"""
VIP = """\
title: VIP
description: Spent more than 100.
criteria:
  total_spent: {gt: 100}
"""
SUBSCRIBED = """\
title: Subscribed
description: Accepts marketing.
criteria:
  accepts_marketing: true
"""

# As of 2024-06-30, by hand: C1 is the only repeat customer (Jan 5 -> Feb 5: A = 31 days)
# and bought last 146 days ago (>= 3A: inactive). O4 is cancelled, so the guest has no
# counted order; C3 accepts marketing (prospect); C4 has a cart (potential customer).
HEADER = (
    "customer_id,email,first_name,last_name,orders_count,total_spent,last_order_at,"
    "lifecycle,accepts_marketing"
)
EVERYONE_CSV = [
    HEADER,
    "C1,ann@example.com,Ann,Lee,2,1234.50,2024-02-05T00:00:00Z,inactive-repeat,true",
    "C2,bob@example.com,Bob,Stone,1,-10.00,2024-03-01T00:00:00Z,first-time-buyers,false",
    "C3,cy@example.com,Cy,Young,0,0.00,,prospects,true",
    "C4,dee@example.com,Dee,Park,0,0.00,,potential-customers,false",
    "C5,eve@example.com,Eve,Moss,1,0.0001,2024-05-01T10:30:00Z,first-time-buyers,false",
    ",guest@example.com,,,0,0.00,,unengaged,false",
]
BUILTIN_NAMES = [
    "everyone",
    "all-customers",
    "repeat-customers",
    "first-time-buyers",
    "active-repeat",
    "at-risk-repeat",
    "inactive-repeat",
    "prospects",
    "potential-customers",
    "unengaged",
]
CALCULATED = [
    # segment, title, count, share (exact to six decimals), total_spent (exact)
    ("everyone", "Everyone", 6, "1.00", "1224.5001"),
    ("all-customers", "All customers", 3, "0.50", "1224.5001"),
    ("repeat-customers", "Repeat customers", 1, "0.166667", "1234.50"),
    ("first-time-buyers", "First-time buyers", 2, "0.333333", "-9.9999"),
    ("active-repeat", "Active repeat customers", 0, "0.00", "0.00"),
    ("at-risk-repeat", "At-risk repeat customers", 0, "0.00", "0.00"),
    ("inactive-repeat", "Inactive repeat customers", 1, "0.166667", "1234.50"),
    ("prospects", "Prospects", 1, "0.166667", "0.00"),
    ("potential-customers", "Potential customers", 1, "0.166667", "0.00"),
    ("unengaged", "Unengaged", 1, "0.166667", "0.00"),
    ("subscribed", "Subscribed", 2, "0.333333", "1234.50"),
    ("vip", "VIP", 1, "0.166667", "1234.50"),
]


Store = SegmentStore


def import_files(segcli, **files: str) -> None:
    for kind, text in files.items():
        path = segcli.write(f"{kind}.csv", text)
        result = segcli("import", kind, path)
        assert result.exit_code == 0, result.stderr


@pytest.fixture
def store(segcli) -> Store:
    files = {"customers": CUSTOMERS, "orders": ORDERS, "carts": CARTS}
    return segment_store(segcli, files, {"vip": VIP, "subscribed": SUBSCRIBED})


def csv_lines(text: str) -> list[str]:
    return text.splitlines()


def json_money(text: str):
    """JSON with money kept as the exact digits written (marked as numbers)."""
    return json.loads(text, parse_float=lambda digits: ("number", digits))


# --- segment list ------------------------------------------------------------------


@pytest.mark.no_engine
def test_list_json_shows_builtins_then_files_with_titles(store):
    result = store("segment", "list", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    listed = json.loads(result.stdout)
    assert [row["segment"] for row in listed] == [*BUILTIN_NAMES, "subscribed", "vip"]
    assert all(row["source"] == "built-in" for row in listed[:10])
    assert listed[0] == {
        "segment": "everyone",
        "title": "Everyone",
        "description": "Every person segcli knows.",
        "source": "built-in",
        "problems": False,
    }
    assert listed[-1] == {
        "segment": "vip",
        "title": "VIP",
        "description": "Spent more than 100.",
        "source": str(store.segments / "vip.yaml"),
        "problems": False,
    }


@pytest.mark.no_engine
def test_list_table_goes_to_stdout(store):
    result = store("segment", "list")
    assert result.exit_code == 0
    assert result.stderr == ""
    rows = table_rows(result.stdout)
    assert [row[0] for row in rows] == [*BUILTIN_NAMES, "subscribed", "vip"]
    assert rows[-1] == ["vip", "VIP", "Spent more than 100.", str(store.segments / "vip.yaml")]
    assert result.stdout.splitlines()[0].split() == ["segment", "title", "description", "source"]


@pytest.mark.no_engine
def test_list_includes_and_flags_a_broken_file(store):
    store.segment("broken", "title: Broken\ncriteria:\n  total_spend: {gt: 1}\n")
    result = store("segment", "list", "--format", "json")
    assert result.exit_code == 0
    assert result.stderr == ""
    listed = json.loads(result.stdout)
    assert [row["segment"] for row in listed] == [*BUILTIN_NAMES, "subscribed", "vip", "broken"]
    assert listed[-1] == {
        "segment": "broken",
        "title": "",
        "description": "",
        "source": str(store.segments / "broken.yaml"),
        "problems": True,
    }

    table = store("segment", "list")
    assert table.exit_code == 0
    assert ["broken", "", "has problems", str(store.segments / "broken.yaml")] in table_rows(
        table.stdout
    )
    assert table.stderr == "1 segment file has problems: run segcli segment validate\n"

    store.segment("broken-too", "criteria:\n  total_spend: 2\n")
    two = store("segment", "list")
    assert two.stderr == "2 segment files have problems: run segcli segment validate\n"


@pytest.mark.no_engine
def test_list_json_flags_a_file_with_an_unknown_in_segment(store):
    store.segment("ref", "criteria:\n  in_segment: vipp\n")
    result = store("segment", "list", "--format", "json")
    assert result.exit_code == 0
    ref = next(row for row in json.loads(result.stdout) if row["segment"] == "ref")
    assert ref["problems"] is True


# --- segment validate ----------------------------------------------------------------


@pytest.mark.no_engine
def test_validate_clean_files(store):
    result = store("segment", "validate")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == "2 segment files checked: no problems\n"


@pytest.mark.no_engine
def test_validate_reports_every_problem_of_every_file(store):
    a = store.segment(
        "a",
        "title: A\ncriteria:\n  all:\n    - total_spend: {gt: 100}\n    - orders_count: {gtt: 2}\n",
    )
    b = store.segment("b", "titel: B\ncriteria:\n  lifecycle: activ-repeat\n")
    result = store("segment", "validate")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{a}:4:7: unknown field 'total_spend'; did you mean 'total_spent'?",
        f"{a}:5:22: unknown operator 'gtt' for orders_count; did you mean 'gt'?",
        f"{b}:1:1: unknown key 'titel' in a segment file (expected name, title, description, "
        "criteria, parameters); did you mean 'title'?",
        f"{b}:3:14: 'activ-repeat' is not a lifecycle stage (expected one of first-time-buyers, "
        "active-repeat, at-risk-repeat, inactive-repeat, prospects, potential-customers, "
        "unengaged); did you mean 'active-repeat'?",
        "4 problems in 2 of 4 files",
    ]


@pytest.mark.no_engine
def test_validate_yaml_syntax_error_shows_the_line(store):
    bad = store.segment(
        "bad", "title: X\ncriteria:\n  total_spent: {gt: 100}\n   orders_count: 2\n"
    )
    result = store("segment", "validate")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{bad}:4:4: YAML syntax error: expected <block end>, but found '<block mapping start>'; "
        "the items of one list or mapping must start in the same column (spaces only)",
        "    4 |    orders_count: 2",
        "           ^",
        "1 problem in 1 of 3 files",
    ]


@pytest.mark.no_engine
def test_validate_unknown_in_segment_and_cycles(store):
    ref = store.segment("ref", "criteria:\n  in_segment: vipp\n")
    loop_a = store.segment(
        "loop-a", "criteria:\n  any:\n    - in_segment: loop-b\n    - country: 'NO'\n"
    )
    store.segment("loop-b", "criteria:\n  in_segment: loop-a\n")
    result = store("segment", "validate")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{ref}:2:15: in_segment: unknown segment 'vipp'; did you mean 'vip'?",
        f"{loop_a}:3:19: in_segment makes a cycle: loop-a → loop-b → loop-a; a segment cannot "
        "include itself, directly or through others",
        "2 problems in 2 of 5 files",
    ]


@pytest.mark.no_engine
def test_validate_named_files_only(store, tmp_path):
    store.segment("broken", "criteria:\n  total_spend: 1\n")
    elsewhere = tmp_path / "elsewhere.yaml"
    elsewhere.write_text("criteria:\n  orders_count: {gte: 2}\n", encoding="utf-8")
    result = store("segment", "validate", elsewhere)
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == "1 segment file checked: no problems\n"

    missing = store("segment", "validate", tmp_path / "nope.yaml")
    assert missing.exit_code == 1
    assert missing.stdout == ""
    assert missing.stderr == f"Error: no segment file {tmp_path / 'nope.yaml'}\n"


@pytest.mark.no_engine
def test_validate_named_file_of_the_directory(store):
    broken = store.segment("broken", "criteria:\n  total_spend: 1\n")
    result = store("segment", "validate", broken)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{broken}:2:3: unknown field 'total_spend'; did you mean 'total_spent'?",
        "1 problem in 1 of 1 file",
    ]


@pytest.mark.no_engine
def test_validate_named_file_spelled_differently(store, monkeypatch):
    broken = store.segment("broken", "criteria:\n  total_spend: 1\n")
    monkeypatch.chdir(store.segments.parent)
    result = store.segcli("--segments", "segments", "segment", "validate", broken.resolve())
    assert result.exit_code == 1
    assert "unknown field 'total_spend'" in result.stderr


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("zz-dup", "name: vip\ncriteria:\n  orders_count: 2\n"),
        ("everyone", "criteria:\n  orders_count: 2\n"),
    ],
    ids=["another-file", "a-built-in"],
)
@pytest.mark.no_engine
def test_validate_reports_a_name_used_twice(store, name, text):
    path = store.segment(name, text)
    result = store("segment", "validate")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert f"{path}:1:1: segment name " in result.stderr
    assert "is already used by" in result.stderr
    assert "1 problem in 1 of 3 files" in result.stderr


@pytest.mark.no_engine
def test_validate_named_file_with_a_name_used_twice(store):
    path = store.segment("zz-dup", "name: vip\ncriteria:\n  orders_count: 2\n")
    result = store("segment", "validate", path)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{path}:1:1: segment name 'vip' is already used by {store.segments / 'vip.yaml'}; "
        "give this file another name, or a name: key",
        "1 problem in 1 of 1 file",
    ]


@pytest.mark.no_engine
def test_list_shows_a_file_whose_name_is_used_twice(store):
    path = store.segment("zz-dup", "name: vip\ncriteria:\n  orders_count: 2\n")
    result = store("segment", "list", "--format", "json")
    assert result.exit_code == 0
    assert str(path) in [row["source"] for row in json.loads(result.stdout)]


# --- segment calculate ---------------------------------------------------------------


def calculated_csv(rows) -> list[str]:
    return ["segment,title,count,share,total_spent,as_of"] + [
        f"{name},{title},{count},{share},{spent},{AS_OF}"
        for name, title, count, share, spent in rows
    ]


def test_calculate_all_by_default_as_csv(store):
    result = store("segment", "calculate", "--as-of", AS_OF, "--format", "csv")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert csv_lines(result.stdout) == calculated_csv(CALCULATED)


def test_calculate_named_segments_as_json(store):
    result = store("segment", "calculate", "vip", "prospects", "--as-of", AS_OF, "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    # Money is a JSON number with its exact digits, never rounded through a float.
    assert json.loads(result.stdout, parse_float=Decimal) == [
        {
            "segment": "vip",
            "title": "VIP",
            "count": 1,
            "share": Decimal("0.166667"),
            "total_spent": Decimal("1234.50"),
            "as_of": AS_OF,
        },
        {
            "segment": "prospects",
            "title": "Prospects",
            "count": 1,
            "share": Decimal("0.166667"),
            "total_spent": Decimal("0.00"),
            "as_of": AS_OF,
        },
    ]
    assert '"total_spent": 1234.50' in result.stdout


def test_calculate_a_segment_file_by_path(store, tmp_path):
    path = tmp_path / "negative.yml"
    path.write_text("title: Negative\ncriteria:\n  total_spent: {lt: 0}\n", encoding="utf-8")
    result = store("segment", "calculate", path, "--as-of", AS_OF, "--format", "csv")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert csv_lines(result.stdout) == calculated_csv(
        [("negative", "Negative", 1, "0.166667", "-10.00")]
    )


def test_calculate_table_on_stdout_with_a(store):
    result = store("segment", "calculate", "--as-of", AS_OF)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == f"Segments as of {AS_OF}"
    assert re.split(r"  +", lines[1]) == ["segment", "title", "members", "share", "total spent"]
    # Money in the table is for people: to the cent, with thousands separators.
    shown = {"1224.5001": "1,224.50", "1234.50": "1,234.50", "-9.9999": "-10.00", "0.00": "0.00"}
    expected = [
        [name, title, str(count), f"{float(share):.1%}", shown[spent]]
        for name, title, count, share, spent in CALCULATED
    ]
    assert table_rows(result.stdout) == expected
    assert lines[-2:] == ["", "6 people; average repeat-purchase time A = 31.0 days"]


def test_calculate_criteria_quick_filter(store):
    result = store(
        "segment",
        "calculate",
        "--criteria",
        "{country: [de, us], orders_count: {gte: 1}}",
        "--as-of",
        AS_OF,
        "--format",
        "csv",
    )
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert csv_lines(result.stdout) == calculated_csv(
        [("criteria", "Quick filter", 2, "0.333333", "1224.50")]
    )


@pytest.mark.no_engine
def test_calculate_criteria_with_problems(store):
    result = store("segment", "calculate", "--criteria", "total_spend: {gt: 1}")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "Error: 1 problem in segment files:\n"
        "--criteria:1:1: unknown field 'total_spend'; did you mean 'total_spent'?\n"
    )


@pytest.mark.no_engine
def test_calculate_unknown_segment(store):
    result = store("segment", "calculate", "vpi", "--format", "csv")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "Error: unknown segment 'vpi'\n  hint: did you mean 'vip'?\n"


def test_calculate_segment_with_problems(store):
    broken = store.segment("broken", "criteria:\n  orders_count: {gt: many}\n")
    result = store("segment", "calculate", "broken", "--format", "csv")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "Error: 1 problem in segment files:\n"
        f"{broken}:2:22: orders_count gt: expected a whole number, got 'many'\n"
    )
    # By default every segment is calculated, so a broken file stops the command...
    everything = store("segment", "calculate", "--format", "csv")
    assert everything.exit_code == 1
    assert everything.stdout == ""
    assert f"{broken}:2:22" in everything.stderr
    # ...but segments that do not use it still work by name.
    named = store("segment", "calculate", "vip", "--as-of", AS_OF, "--format", "csv")
    assert named.exit_code == 0
    assert csv_lines(named.stdout) == calculated_csv([CALCULATED[-1]])


@pytest.mark.no_engine
def test_calculate_segment_using_a_broken_one(store):
    broken = store.segment("broken", "criteria:\n  total_spend: 1\n")
    uses = store.segment("uses", "criteria:\n  in_segment: broken\n")
    result = store("segment", "calculate", "uses", "--format", "csv")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "Error: 2 problems in segment files:",
        f"{uses}:2:15: in_segment: segment 'broken' has problems of its own; "
        "run segcli segment validate to see them",
        f"{broken}:2:3: unknown field 'total_spend'; did you mean 'total_spent'?",
    ]


@pytest.mark.no_engine
def test_calculate_missing_database(segcli):
    result = segcli("segment", "calculate", "--format", "csv")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: no database at {segcli.db}\n"
        "  hint: import some data first (segcli import KIND FILE), or pass --db\n"
    )
    assert not segcli.db.exists()


@pytest.mark.parametrize("as_of", ["2024-13-01", "last tuesday", "2024-02-30"])
@pytest.mark.no_engine
def test_calculate_bad_as_of_is_a_usage_error(store, as_of):
    result = store("segment", "calculate", "--as-of", as_of)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"Invalid value for '--as-of': {as_of!r} is not a date" in result.stderr


# --- segment show --------------------------------------------------------------------


def shown_emails(result) -> list[str]:
    return [row[1] for row in table_rows(result.stdout)]


def test_show_members_sorted_by_total_spent_descending_by_default(store):
    result = store("segment", "show", "everyone", "--as-of", AS_OF)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    # A plain table, since stdout is not a terminal: no colour, no frame but a line under
    # the header, each row on one line; money to the cent (0.0001 shows as 0.00).
    assert result.stdout == (
        f"everyone: 6 members as of {AS_OF}\n"
        "customer  email              name       orders  total spent  last order  lifecycle\n"
        "--------  -----------------  ---------  ------  -----------  ----------  "
        "-------------------\n"
        "C1        ann@example.com    Ann Lee         2     1,234.50  2024-02-05  inactive-repeat\n"
        "C5        eve@example.com    Eve Moss        1         0.00  2024-05-01  "
        "first-time-buyers\n"
        "C3        cy@example.com     Cy Young        0         0.00              prospects\n"
        "C4        dee@example.com    Dee Park        0         0.00              "
        "potential-customers\n"
        "          guest@example.com                  0         0.00              unengaged\n"
        "C2        bob@example.com    Bob Stone       1       -10.00  2024-03-01  "
        "first-time-buyers\n"
    )
    assert "\x1b" not in result.stdout


def test_show_one_member_is_singular(store):
    result = store("segment", "show", "vip", "--as-of", AS_OF)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"vip: 1 member as of {AS_OF}"


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("total_spent", ["bob", "cy", "dee", "guest", "eve", "ann"]),
        ("-last_order_at", ["eve", "bob", "ann", "cy", "dee", "guest"]),
        ("last_order_at", ["ann", "bob", "eve", "cy", "dee", "guest"]),
        ("-email", ["guest", "eve", "dee", "cy", "bob", "ann"]),
        ("orders_count", ["cy", "dee", "guest", "bob", "eve", "ann"]),
    ],
)
def test_show_sort(store, sort, expected):
    result = store("segment", "show", "everyone", "--as-of", AS_OF, "--sort", sort)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert shown_emails(result) == [f"{name}@example.com" for name in expected]


def test_show_limit(store):
    result = store("segment", "show", "everyone", "--as-of", AS_OF, "--limit", "2")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert shown_emails(result) == ["ann@example.com", "eve@example.com"]
    # The caption is part of the answer, after a blank line that ends the rows.
    assert result.stdout.endswith("\n\nfirst 2 of 6; --limit N for more\n")


@pytest.mark.no_engine
def test_show_bad_sort_field_is_a_usage_error(store):
    result = store("segment", "show", "everyone", "--sort", "-bogus")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Invalid value for --sort: 'bogus' is not sortable; use one of" in result.stderr


@pytest.mark.no_engine
def test_show_bad_limit_is_a_usage_error(store):
    result = store("segment", "show", "everyone", "--limit", "0")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Invalid value for '--limit'" in result.stderr


# --- segment export ------------------------------------------------------------------


def test_export_csv_default_fields(store):
    result = store("segment", "export", "everyone", "--as-of", AS_OF)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == "\n".join(EVERYONE_CSV) + "\n"
    assert list(csv.reader(io.StringIO(result.stdout)))[0] == HEADER.split(",")


def test_export_tsv(store):
    result = store("segment", "export", "everyone", "--as-of", AS_OF, "--format", "tsv")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == "".join(line.replace(",", "\t") + "\n" for line in EVERYONE_CSV)


EVERYONE_RECORDS = [
    {
        "customer_id": "C1",
        "email": "ann@example.com",
        "first_name": "Ann",
        "last_name": "Lee",
        "orders_count": 2,
        "total_spent": ("number", "1234.50"),
        "last_order_at": "2024-02-05T00:00:00Z",
        "lifecycle": "inactive-repeat",
        "accepts_marketing": True,
    },
    {
        "customer_id": "C2",
        "email": "bob@example.com",
        "first_name": "Bob",
        "last_name": "Stone",
        "orders_count": 1,
        "total_spent": ("number", "-10.00"),
        "last_order_at": "2024-03-01T00:00:00Z",
        "lifecycle": "first-time-buyers",
        "accepts_marketing": False,
    },
    {
        "customer_id": "C3",
        "email": "cy@example.com",
        "first_name": "Cy",
        "last_name": "Young",
        "orders_count": 0,
        "total_spent": ("number", "0.00"),
        "last_order_at": None,
        "lifecycle": "prospects",
        "accepts_marketing": True,
    },
    {
        "customer_id": "C4",
        "email": "dee@example.com",
        "first_name": "Dee",
        "last_name": "Park",
        "orders_count": 0,
        "total_spent": ("number", "0.00"),
        "last_order_at": None,
        "lifecycle": "potential-customers",
        "accepts_marketing": False,
    },
    {
        "customer_id": "C5",
        "email": "eve@example.com",
        "first_name": "Eve",
        "last_name": "Moss",
        "orders_count": 1,
        "total_spent": ("number", "0.0001"),
        "last_order_at": "2024-05-01T10:30:00Z",
        "lifecycle": "first-time-buyers",
        "accepts_marketing": False,
    },
    {
        "customer_id": None,
        "email": "guest@example.com",
        "first_name": None,
        "last_name": None,
        "orders_count": 0,
        "total_spent": ("number", "0.00"),
        "last_order_at": None,
        "lifecycle": "unengaged",
        "accepts_marketing": False,
    },
]


def test_export_json(store):
    result = store("segment", "export", "everyone", "--as-of", AS_OF, "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert json_money(result.stdout) == EVERYONE_RECORDS


def test_export_jsonl(store):
    result = store("segment", "export", "everyone", "--as-of", AS_OF, "--format", "jsonl")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.endswith("\n")
    assert [json_money(line) for line in result.stdout.splitlines()] == EVERYONE_RECORDS


@pytest.mark.parametrize(("output_format", "empty"), [("csv", HEADER + "\n"), ("jsonl", "")])
def test_export_empty_segment(store, output_format, empty):
    result = store(
        "segment", "export", "active-repeat", "--as-of", AS_OF, "--format", output_format
    )
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == empty


def test_export_empty_segment_json(store):
    result = store("segment", "export", "active-repeat", "--as-of", AS_OF, "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert json.loads(result.stdout) == []


def test_export_fields(store):
    result = store(
        "segment",
        "export",
        "all-customers",
        "--as-of",
        AS_OF,
        "--fields",
        "email_domain,custom.tier,tags,country,created_at,first_order_at,"
        "days_since_last_order,person_key",
    )
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert csv_lines(result.stdout) == [
        "email_domain,custom.tier,tags,country,created_at,first_order_at,"
        "days_since_last_order,person_key",
        'example.com,gold,"vip, gold",DE,2024-01-01T00:00:00Z,2024-01-05T00:00:00Z,146,c:C1',
        "example.com,7,,US,2024-01-02T00:00:00Z,2024-03-01T00:00:00Z,121,c:C2",
        "example.com,,,NO,2024-01-05T00:00:00Z,2024-05-01T10:30:00Z,60,c:C5",
    ]


def test_export_fields_json_keeps_types(store):
    result = store(
        "segment",
        "export",
        "vip",
        "--as-of",
        AS_OF,
        "--format",
        "jsonl",
        "--fields",
        "customer_id,tags,custom.tier,custom.missing,days_since_last_order",
    )
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        {
            "customer_id": "C1",
            "tags": ["vip", "gold"],
            "custom.tier": "gold",
            "custom.missing": None,
            "days_since_last_order": 146,
        }
    ]


@pytest.mark.no_engine
def test_export_unknown_field(store):
    result = store("segment", "export", "everyone", "--fields", "customer_id,emial")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert (
        result.stderr == "Error: --fields: unknown field 'emial'\n  hint: did you mean 'email'?\n"
    )


def test_export_subscribed_only(store):
    result = store(
        "segment", "export", "everyone", "--as-of", AS_OF, "--subscribed-only", "--fields", "email"
    )
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == "email\nann@example.com\ncy@example.com\n"


def test_export_to_a_private_file_even_with_a_permissive_umask(store, tmp_path):
    out = tmp_path / "members.csv"
    previous = os.umask(0)
    try:
        result = store("segment", "export", "everyone", "--as-of", AS_OF, "-o", out)
    finally:
        os.umask(previous)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == f"6 members of everyone written to {out} as CSV\n"
    assert out.read_text(encoding="utf-8") == "\n".join(EVERYONE_CSV) + "\n"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_export_dash_is_stdout(store):
    result = store("segment", "export", "everyone", "--as-of", AS_OF, "-o", "-")
    assert result.exit_code == 0
    assert result.stderr == ""
    assert result.stdout == "\n".join(EVERYONE_CSV) + "\n"


# Each engine's writers: the SQLite engine's CSV and JSON writers, and DuckDB's one.
WRITERS = {
    ("sqlite", "write_cells"): exporter,
    ("sqlite", "write_members"): exporter,
    ("duckdb", "write_members"): duckdb_exporter,
}


def _output_file(args) -> io.TextIOBase:
    """The open output file among a writer's arguments."""
    return next(arg for arg in args if hasattr(arg, "write") and hasattr(arg, "flush"))


@pytest.mark.parametrize(
    ("output_format", "engine", "writer"),
    [
        ("csv", "sqlite", "write_cells"),
        ("json", "sqlite", "write_members"),
        ("csv", "duckdb", "write_members"),
        ("json", "duckdb", "write_members"),
    ],
)
def test_export_failing_midway_leaves_no_partial_file(
    store, tmp_path, monkeypatch, output_format, engine, writer
):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / f"members.{output_format}"
    out.write_text("the previous export\n", encoding="utf-8")

    def failing(*args, **kwargs):
        handle = _output_file(args)
        handle.write("person_key\nc:C1\nc:C2")
        handle.flush()
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setenv("SEGCLI_ENGINE", engine)
    monkeypatch.setattr(WRITERS[engine, writer], writer, failing)
    result = store(
        "segment", "export", "everyone", "--as-of", AS_OF, "-o", out, "--format", output_format
    )
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == f"Error: cannot write {out}: No space left on device\n"
    assert out.read_text(encoding="utf-8") == "the previous export\n"
    assert [p.name for p in out_dir.iterdir()] == [out.name]


@pytest.mark.parametrize(
    ("output_format", "engine", "writer"),
    [
        ("csv", "sqlite", "write_cells"),
        ("jsonl", "sqlite", "write_members"),
        ("tsv", "duckdb", "write_members"),
        ("jsonl", "duckdb", "write_members"),
    ],
)
def test_export_unexpected_failure_leaves_no_file(
    store, tmp_path, monkeypatch, output_format, engine, writer
):
    out = tmp_path / f"new.{output_format}"

    def failing(*args, **kwargs):
        handle = _output_file(args)
        handle.write("customer_id\nC1\n")
        handle.flush()
        raise RuntimeError("disk on fire")

    monkeypatch.setenv("SEGCLI_ENGINE", engine)
    monkeypatch.setattr(WRITERS[engine, writer], writer, failing)
    result = store("segment", "export", "everyone", "-o", out, "--format", output_format)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "disk on fire" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(f".{out.name}")]


@pytest.mark.no_engine
def test_export_to_a_directory(store, tmp_path):
    result = store("segment", "export", "everyone", "-o", tmp_path)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == f"Error: -o {tmp_path} is a directory; give a file name\n"


@pytest.mark.no_engine
def test_export_to_a_missing_directory(store, tmp_path):
    out = tmp_path / "nope" / "members.csv"
    result = store("segment", "export", "everyone", "-o", out)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == f"Error: -o {out}: directory {out.parent} does not exist\n"
    assert not out.parent.exists()


FORMULA_CUSTOMERS = """\
customer_id,email,first_name,last_name,city,tier
F1,f1@example.com,=HYPERLINK(1),+49 30 1234,@SUM(A1),-5
F2,f2@example.com,Plain,"=1+2",Berlin,ok
"""
FORMULA_ORDERS = """\
order_id,customer_id,created_at,total
X1,F1,2024-01-01,-12.5
"""


@pytest.mark.parametrize("output_format", ["csv", "tsv"])
def test_export_escapes_formulas(segcli, output_format):
    import_files(segcli, customers=FORMULA_CUSTOMERS, orders=FORMULA_ORDERS)
    fields = "customer_id,first_name,last_name,city,custom.tier,total_spent,orders_count"
    result = segcli(
        "segment", "export", "everyone", "--as-of", AS_OF, "--format", output_format,
        "--fields", fields,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    delimiter = "," if output_format == "csv" else "\t"
    assert list(csv.reader(io.StringIO(result.stdout), delimiter=delimiter)) == [
        fields.split(","),
        ["F1", "'=HYPERLINK(1)", "'+49 30 1234", "'@SUM(A1)", "'-5", "-12.50", "1"],
        ["F2", "Plain", "'=1+2", "Berlin", "ok", "0.00", "0"],
    ]

    raw = segcli(
        "segment", "export", "everyone", "--as-of", AS_OF, "--format", output_format,
        "--fields", fields, "--raw",
    )  # fmt: skip
    assert raw.exit_code == 0, raw.stderr
    assert raw.stderr == ""
    assert list(csv.reader(io.StringIO(raw.stdout), delimiter=delimiter)) == [
        fields.split(","),
        ["F1", "=HYPERLINK(1)", "+49 30 1234", "@SUM(A1)", "-5", "-12.50", "1"],
        ["F2", "Plain", "=1+2", "Berlin", "ok", "0.00", "0"],
    ]


def test_export_json_is_never_escaped(segcli):
    import_files(segcli, customers=FORMULA_CUSTOMERS, orders=FORMULA_ORDERS)
    result = segcli(
        "segment", "export", "everyone", "--as-of", AS_OF, "--format", "jsonl",
        "--fields", "first_name,total_spent",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert [json_money(line) for line in result.stdout.splitlines()] == [
        {"first_name": "=HYPERLINK(1)", "total_spent": ("number", "-12.50")},
        {"first_name": "Plain", "total_spent": ("number", "0.00")},
    ]


# The SQLite engine's Python writers, called directly; DuckDB's writer is checked against
# them, cell by cell, in test_duckdb_export.py.
@pytest.mark.parametrize("output_format", ["csv", "tsv"])
@pytest.mark.only_engine("sqlite")
def test_export_escapes_tab_and_carriage_return(output_format):
    # Import trims cells, so a leading tab or CR only reaches an export through the writer.
    members = [{"customer_id": "-1", "first_name": "\tTab", "last_name": "\rCR"}]
    fields = ["customer_id", "first_name", "last_name"]
    escaped, raw = io.StringIO(), io.StringIO()
    assert exporter.write_members(members, fields, output_format, escaped, raw=False) == 1
    assert exporter.write_members(members, fields, output_format, raw, raw=True) == 1
    for cell in ("'-1", "'\tTab", "'\rCR"):
        assert cell in escaped.getvalue()
    assert "'" not in raw.getvalue()
    for cell in ("-1", "\tTab", "\rCR"):
        assert cell in raw.getvalue()


def exported_rows(segcli, output_format: str, fields: str) -> list[list[str]]:
    """Everyone exported as CSV or TSV, read back by Python's csv reader."""
    result = segcli("segment", "export", "everyone", "--format", output_format, "--fields", fields)
    assert result.exit_code == 0, result.stderr
    delimiter = "," if output_format == "csv" else "\t"
    return list(csv.reader(io.StringIO(result.stdout, newline=""), delimiter=delimiter))


@pytest.mark.parametrize("output_format", ["csv", "tsv"])
def test_export_quotes_a_carriage_return_inside_a_cell(segcli, output_format):
    import_files(segcli, customers='customer_id,email,first_name\nR1,r1@example.com,"Ann\rMarie"\n')
    assert exported_rows(segcli, output_format, "customer_id,first_name") == [
        ["customer_id", "first_name"],
        ["R1", "Ann\rMarie"],
    ]


@pytest.mark.parametrize("output_format", ["csv", "tsv"])
def test_export_quotes_delimiters_and_quotes_inside_cells(segcli, output_format):
    import_files(
        segcli,
        customers=(
            "customer_id,email,first_name,last_name\n"
            'Q1,q1@example.com,"Smith, ""Jr""",Plain\n'
            'Q2,q2@example.com,"Tab\there",Plain\n'
            "Q3,q3@example.com,Plain,Plain\n"
        ),
    )
    assert exported_rows(segcli, output_format, "customer_id,first_name,last_name") == [
        ["customer_id", "first_name", "last_name"],
        ["Q1", 'Smith, "Jr"', "Plain"],
        ["Q2", "Tab\there", "Plain"],
        ["Q3", "Plain", "Plain"],
    ]


@pytest.mark.no_engine
def test_export_unknown_segment(store):
    result = store("segment", "export", "vipp")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "Error: unknown segment 'vipp'\n  hint: did you mean 'vip'?\n"


def test_export_broken_pipe_exits_quietly(segcli, tmp_path):
    rows = "".join(
        f"B{n:05d},buyer{n:05d}@example.com,Firstname{n},Lastname{n}\n" for n in range(3000)
    )
    import_files(segcli, customers="customer_id,email,first_name,last_name\n" + rows)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    env.pop("SEGCLI_DEBUG", None)
    exporter_process = subprocess.Popen(
        [sys.executable, "-m", "segcli", "--db", str(segcli.db), "segment", "export", "everyone"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
    )
    head = subprocess.Popen(
        ["head", "-n", "1"], stdin=exporter_process.stdout, stdout=subprocess.PIPE
    )
    exporter_process.stdout.close()  # head alone reads the pipe, so segcli sees it close
    first, _ = head.communicate(timeout=60)
    stderr = exporter_process.stderr.read()
    exporter_process.stderr.close()
    assert exporter_process.wait(timeout=60) == 0
    assert first == (HEADER + "\n").encode()
    assert stderr == b""


# --- segment sql ---------------------------------------------------------------------
# The SQL shown is SQLite's whatever the engine: these run on SQLite alone.

TRICKY = """\
title: Tricky
criteria:
  any:
    - email: {eq: "x'); DROP TABLE people; --"}
    - custom.tier: Gold
    - last_name: {starts_with: STO}
"""


@pytest.mark.only_engine("sqlite")
def test_sql_prints_query_and_parameters(store):
    store.segment("tricky", TRICKY)
    result = store("segment", "sql", "tricky", "--as-of", AS_OF)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    sql, params = split_sql(result.stdout)
    assert sql.startswith(f"-- segment tricky, as of {AS_OF}\n")
    assert sql.rstrip().endswith(";")
    assert {name: params[name] for name in ("p1", "p2", "p3", "p4")} == {
        "p1": "x'); drop table people; --",
        "p2": '$."tier"',
        "p3": "gold",
        "p4": "sto",
    }
    # The segment's values (and the custom field's name) are only parameters.
    for text in ("drop table", "tier", "gold"):
        assert text not in sql.casefold()
    assert params["as_of"] == AS_OF
    assert params["as_of_end"] == "2024-07-01 00:00:00"


# On both engines: SQLite's printed SQL selects the members either engine exports.
def test_sql_runs_and_gives_the_exported_members(store):
    store.segment("tricky", TRICKY)
    result = store("segment", "sql", "tricky", "--as-of", AS_OF)
    assert result.exit_code == 0, result.stderr
    sql, params = split_sql(result.stdout)
    with sqlite3.connect(store.segcli.db) as conn:
        conn.create_function("segcli_fold", 1, fold)
        conn.create_function("segcli_compare", 2, compare_custom)
        selected = [row[1] for row in conn.execute(sql.rstrip().rstrip(";"), params)]
    exported = store("segment", "export", "tricky", "--as-of", AS_OF, "--fields", "customer_id")
    assert exported.exit_code == 0
    assert selected == ["C1", "C2"]
    assert exported.stdout == "customer_id\nC1\nC2\n"


@pytest.mark.only_engine("sqlite")
def test_sql_unknown_segment(store):
    result = store("segment", "sql", "nope")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "Error: unknown segment 'nope'\n  hint: see segcli segment list\n"

"""Output that pipes (issue 15, points 8, 9 and 11): a command's answer on stdout, plain
off a terminal; --format for scripts with exact values; export -o by the file's extension;
money to the cent in tables only; counts in the singular for one; --criteria once."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.table import Table

from segcli.cli import cli
from segcli.output import counted, money_for_people, plain_table
from segcli.segments.export import output_format
from tests.conftest import SegmentStore, segment_store, table_rows

AS_OF = "2026-11-01"
CUSTOMERS = """\
customer_id,email,first_name,last_name
C1,ann@example.com,Ann,Lee
C2,bob@example.com,"=HYPERLINK(""http://x"")",Stone
C3,cy@example.com,"Cy
Marie",Young
C4,dee@example.com,Dee,Park
"""
# 1234567.125 and 0.005 are halfway between two cents: rounded half away from zero they
# show as 1,234,567.13 and 0.01 (half-even would show .12 and 0.00).
ORDERS = """\
order_id,customer_id,created_at,total
O1,C1,2026-10-01,1234567.125
O2,C2,2026-10-02 10:30:00,0.005
O3,C3,2026-10-03,-0.005
"""
LONG_TITLE = "Customers who " + "bought again and again " * 10 + "this year"
LONG = f"title: {LONG_TITLE}\ndescription: A long one.\ncriteria:\n  orders_count: {{gte: 1}}\n"
BUYERS = "title: Buyers\ndescription: One order or more.\ncriteria:\n  orders_count: {gte: 1}\n"
# A terminal, as Rich sees one; colour stays unless NO_COLOR is set.
TERMINAL = {"TTY_COMPATIBLE": "1", "FORCE_COLOR": None, "COLUMNS": "100"}


@pytest.fixture(autouse=True)
def not_a_terminal(monkeypatch):
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def shop(segcli) -> SegmentStore:
    files = {"customers": CUSTOMERS, "orders": ORDERS}
    return segment_store(segcli, files, {"buyers": BUYERS, "long-one": LONG})


def answer(shop, *args, env=None) -> str:
    """stdout of a command that must succeed with nothing on stderr."""
    result = shop.segcli.runner.invoke(
        cli, ["--db", str(shop.segcli.db), "--segments", str(shop.segments), *args], env=env
    )
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


# ---------------------------------------------------------------------------------
# Money and counts for people


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        ("59225.85", "59,225.85"),
        ("1234567.125", "1,234,567.13"),
        ("0.125", "0.13"),
        ("0.135", "0.14"),
        ("-0.125", "-0.13"),
        ("0.005", "0.01"),
        ("0.0049", "0.00"),
        ("-0.004", "0.00"),
        ("0", "0.00"),
        ("1000", "1,000.00"),
        ("-1000000.5", "-1,000,000.50"),
    ],
)
def test_money_for_people_is_rounded_half_away_from_zero(amount, shown):
    assert money_for_people(Decimal(amount)) == shown


@given(units=st.integers(min_value=-(10**17), max_value=10**17))
def test_money_for_people_is_the_amount_to_the_nearest_cent(units):
    """Against whole-number arithmetic on the stored ten-thousandths."""
    cents = (abs(units) + 50) // 100
    expected = f"{'-' if units < 0 and cents else ''}{cents // 100:,}.{cents % 100:02d}"
    assert money_for_people(Decimal(units) / 10_000) == expected


@pytest.mark.parametrize(
    ("count", "words", "said"),
    [
        (0, ("member",), "0 members"),
        (1, ("member",), "1 member"),
        (2, ("member",), "2 members"),
        (1, ("person", "people"), "1 person"),
        (1234, ("person", "people"), "1,234 people"),
        (1, ("segment file",), "1 segment file"),
    ],
)
def test_counted_is_singular_for_one(count, words, said):
    assert counted(count, *words) == said


# ---------------------------------------------------------------------------------
# Plain tables


def _table(rows: list[list[str]], *, numeric=(), title=None, caption=None) -> Table:
    table = Table(title=title, caption=caption)
    for index in range(len(rows[0])):
        table.add_column(f"c{index}", justify="right" if index in numeric else "left")
    for row in rows:
        table.add_row(*row)
    return table


def test_a_plain_table_is_never_wrapped_and_has_an_ascii_frame():
    long = "x" * 500
    text = plain_table(
        _table([["a", long, "1.00"], ["bb", "y", "1,000.00"]], numeric=(2,), title="T")
    )
    assert text == (
        "T\n"
        f"c0  c1{' ' * 498}        c2\n"
        f"--  {'-' * 500}  --------\n"
        f"a   {long}      1.00\n"
        f"bb  y{' ' * 499}  1,000.00\n"
    )


def test_a_line_break_in_a_cell_cannot_split_its_row():
    text = plain_table(_table([["Cy\nMarie", "a\r\nb"], ["x", "y"]], caption="2 rows"))
    assert text.splitlines() == [
        "c0         c1",
        "---------  ----",
        "Cy; Marie  a; b",
        "x          y",
        "",
        "2 rows",
    ]


_CELL = st.text(st.characters(codec="ascii", categories=("L", "N", "P", "Zs")), max_size=12)


@given(
    rows=st.integers(1, 6).flatmap(
        lambda width: st.lists(
            st.tuples(
                st.text("abcxyz", min_size=1, max_size=8),
                st.lists(_CELL | _CELL.map(lambda t: t + "\n" + t), min_size=width, max_size=width),
            ),
            min_size=1,
            max_size=8,
        )
    ),
    numeric=st.sets(st.integers(0, 6)),
)
def test_every_row_of_a_plain_table_is_one_line_that_holds_its_cells(rows, numeric):
    cells = [[first, *rest] for first, rest in rows]
    text = plain_table(_table(cells, numeric=numeric))
    lines = text.splitlines()
    assert len(lines) == 2 + len(cells)
    assert all(line == line.rstrip() for line in lines)
    assert table_rows(text) == [
        ["; ".join(cell.splitlines()).strip() for cell in row] for row in cells
    ]


# ---------------------------------------------------------------------------------
# Answers on stdout, plain off a terminal


def test_every_table_that_is_an_answer_goes_to_stdout_and_messages_stay_on_stderr(shop):
    for command in (
        ("segment", "list"),
        ("segment", "show", "buyers", "--as-of", AS_OF),
        ("segment", "calculate", "--as-of", AS_OF),
        ("info",),
        ("customer", "show", "C1", "--as-of", AS_OF, "--explain", "buyers"),
    ):
        stdout = answer(shop, *command)
        assert table_rows(stdout), command
        assert "\x1b" not in stdout and "│" not in stdout, command
    saved = shop("segment", "calculate", "--criteria", "orders_count: 1", "--save", "once")
    assert saved.exit_code == 0, saved.stderr
    assert saved.stderr == f"saved the quick filter as {shop.segments / 'once.yaml'}\n"
    assert table_rows(saved.stdout)[0][0] == "criteria"


def test_a_long_row_is_one_line_whatever_the_width(shop):
    """`segment list | grep` finds the whole row: a plain table is never wrapped."""
    stdout = answer(shop, "segment", "list", env={"COLUMNS": "40"})
    [line] = [line for line in stdout.splitlines() if line.startswith("long-one ")]
    assert LONG_TITLE in line and line.rstrip().endswith(str(shop.segments / "long-one.yaml"))


def test_show_table_rounds_money_for_people_and_keeps_each_member_on_one_line(shop):
    stdout = answer(shop, "segment", "show", "buyers", "--as-of", AS_OF)
    assert stdout.splitlines()[0] == f"buyers: 3 members as of {AS_OF}"
    assert [row[:5] for row in table_rows(stdout)] == [
        ["C1", "ann@example.com", "Ann Lee", "1", "1,234,567.13"],
        ["C2", "bob@example.com", '=HYPERLINK("http://x") Stone', "1", "0.01"],
        ["C3", "cy@example.com", "Cy; Marie Young", "1", "-0.01"],
    ]


def test_calculate_caption_and_titles_say_one_in_the_singular(segcli, tmp_path):
    path = segcli.write("customers.csv", "customer_id,email\nC1,ann@example.com\n")
    assert segcli("import", "customers", path).exit_code == 0
    shop = SegmentStore(segcli, tmp_path / "none")
    stdout = answer(shop, "segment", "calculate", "everyone", "--as-of", AS_OF)
    assert stdout.splitlines()[-1] == "1 person; average repeat-purchase time A = - days"
    shown = answer(shop, "segment", "show", "everyone", "--as-of", AS_OF)
    assert shown.splitlines()[0] == f"everyone: 1 member as of {AS_OF}"
    out = tmp_path / "one.csv"
    exported = shop("segment", "export", "everyone", "--as-of", AS_OF, "-o", out)
    assert exported.stderr == f"1 member of everyone written to {out} as CSV\n"


def test_on_a_terminal_rich_draws_the_table_in_colour(shop):
    stdout = answer(
        shop, "customer", "show", "C1", "--as-of", AS_OF, "--explain", "buyers", env=TERMINAL
    )
    assert "┏" in stdout and "│" in stdout
    assert "\x1b[32m" in stdout  # "pass" in green


def test_on_a_terminal_no_color_leaves_the_colour_out(shop):
    stdout = answer(
        shop,
        "customer",
        "show",
        "C1",
        "--as-of",
        AS_OF,
        "--explain",
        "buyers",
        env={**TERMINAL, "NO_COLOR": "1"},
    )
    assert "┏" in stdout
    assert not re.search(r"\x1b\[[0-9;]*3[0-9]m", stdout)


def _piped(shop, *args: str) -> subprocess.CompletedProcess:
    """segcli with stdout a pipe whose reader has gone (`| head` that has finished)."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    # Buffered, as stdout is for a merchant: what is still buffered when the command ends
    # must meet the closed pipe inside it, not in Python's flush at exit.
    for name in ("SEGCLI_DEBUG", "FORCE_COLOR", "TTY_COMPATIBLE", "PYTHONUNBUFFERED"):
        env.pop(name, None)
    command = [sys.executable, "-m", "segcli", "--db", str(shop.segcli.db)]
    command += ["--segments", str(shop.segments), *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    process.stdout.close()  # before segcli has started: its first write meets no reader
    stderr = process.stderr.read()
    process.stderr.close()
    return subprocess.CompletedProcess(command, process.wait(timeout=120), b"", stderr)


@pytest.mark.parametrize(
    "args",
    [
        ("segment", "show", "buyers", "--as-of", AS_OF),
        ("segment", "list", "--format", "csv"),
        ("info",),
    ],
    ids=["show", "list-csv", "info"],
)
def test_a_broken_pipe_exits_quietly(shop, args):
    done = _piped(shop, *args)
    assert (done.returncode, done.stderr) == (0, b"")


# ---------------------------------------------------------------------------------
# --format: exact values for scripts, on stdout


def test_list_as_csv_tsv_and_jsonl(shop):
    csv_lines = answer(shop, "segment", "list", "--format", "csv").splitlines()
    assert csv_lines[0] == "segment,title,description,source,problems"
    assert csv_lines[1] == "everyone,Everyone,Every person segcli knows.,built-in,false"
    assert csv_lines[-1] == (
        f"long-one,{LONG_TITLE},A long one.,{shop.segments / 'long-one.yaml'},false"
    )
    tsv_lines = answer(shop, "segment", "list", "--format", "tsv").splitlines()
    assert tsv_lines[0] == "segment\ttitle\tdescription\tsource\tproblems"
    jsonl = answer(shop, "segment", "list", "--format", "jsonl")
    listed = [json.loads(line) for line in jsonl.splitlines()]
    assert listed == json.loads(answer(shop, "segment", "list", "--format", "json"))
    assert [row["segment"] for row in listed][-2:] == ["buyers", "long-one"]


def test_calculate_as_tsv_and_jsonl_keeps_the_exact_amounts(shop):
    tsv = answer(shop, "segment", "calculate", "buyers", "--as-of", AS_OF, "--format", "tsv")
    assert tsv == (
        "segment\ttitle\tcount\tshare\ttotal_spent\tas_of\n"
        f"buyers\tBuyers\t3\t0.75\t1234567.125\t{AS_OF}\n"
    )
    jsonl = answer(shop, "segment", "calculate", "buyers", "--as-of", AS_OF, "--format", "jsonl")
    assert jsonl == (
        '{"segment": "buyers", "title": "Buyers", "count": 3, "share": 0.75, '
        f'"total_spent": 1234567.125, "as_of": "{AS_OF}"}}\n'
    )


def test_show_for_scripts_writes_what_export_writes(shop):
    args = ("buyers", "--as-of", AS_OF)
    for output in ("csv", "tsv", "json", "jsonl"):
        shown = answer(shop, "segment", "show", *args, "--format", output)
        exported = answer(shop, "segment", "export", *args, "--format", output)
        assert shown == exported, output
    csv_text = answer(shop, "segment", "show", *args, "--format", "csv")
    # Exact money, ISO dates, a formula made harmless, a line break kept in its quotes.
    assert csv_text == (
        "customer_id,email,first_name,last_name,orders_count,total_spent,last_order_at,"
        "lifecycle,accepts_marketing\n"
        "C1,ann@example.com,Ann,Lee,1,1234567.125,2026-10-01T00:00:00Z,first-time-buyers,false\n"
        'C2,bob@example.com,"\'=HYPERLINK(""http://x"")",Stone,1,0.005,'
        "2026-10-02T10:30:00Z,first-time-buyers,false\n"
        'C3,cy@example.com,"Cy\nMarie",Young,1,-0.005,2026-10-03T00:00:00Z,'
        "first-time-buyers,false\n"
    )


def test_show_for_scripts_says_on_stderr_when_the_limit_leaves_members_out(shop):
    result = shop("segment", "show", "buyers", "--as-of", AS_OF, "--limit", "1", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert [member["customer_id"] for member in json.loads(result.stdout)] == ["C1"]
    assert result.stderr == "buyers: first 1 of 3; --limit N for more\n"


def test_info_for_scripts(shop):
    info = json.loads(answer(shop, "info", "--format", "json"))
    assert (info["people"], info["first_order_at"], info["last_order_at"]) == (
        4,
        "2026-10-01T00:00:00Z",
        "2026-10-03T00:00:00Z",
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", info["last_imported_at"]["orders"])
    assert info["last_imported_at"]["carts"] is None
    [line] = answer(shop, "info", "--format", "jsonl").splitlines()
    assert json.loads(line) == info
    rows = [line.split(",", 1) for line in answer(shop, "info", "--format", "csv").splitlines()]
    assert rows[0] == ["field", "value"]
    fields = dict(rows[1:])
    assert fields["people"] == "4"
    assert fields["schema_version"] == str(info["schema_version"])
    assert fields["rows.orders"] == "3"
    assert fields["rows.carts"] == "0"
    assert fields["last_imported_at.orders"] == info["last_imported_at"]["orders"]
    assert fields["last_imported_at.carts"] == ""
    assert fields["first_order_at"] == "2026-10-01T00:00:00Z"
    kinds = ("customers", "orders", "items", "products", "reviews", "subscribers", "carts")
    assert list(fields) == [
        "database",
        "schema_version",
        "people",
        "guests",
        "anonymous_orders",
        "currency",
        "converted_orders",
        "unconverted_orders",
        *(f"rows.{kind}" for kind in kinds),
        "first_order_at",
        "last_order_at",
        *(f"last_imported_at.{kind}" for kind in kinds),
        *(f"last_imported_with.{kind}" for kind in kinds),
        "analytic_copy.path",
        "analytic_copy.files",
        "analytic_copy.bytes",
        # Before any evaluation the copy lacks every table it copies.
        *(
            f"analytic_copy.stale_tables.{n}"
            for n in range(len(info["analytic_copy"]["stale_tables"]))
        ),
    ]
    assert info["analytic_copy"]["files"] == 0
    assert "people" in info["analytic_copy"]["stale_tables"]
    tsv = answer(shop, "info", "--format", "tsv")
    assert tsv.splitlines()[2] == f"schema_version\t{info['schema_version']}"


# ---------------------------------------------------------------------------------
# segment export -o FILE: the extension chooses the format


@pytest.mark.parametrize(
    ("name", "given", "written"),
    [
        ("members.csv", None, "csv"),
        ("members.TSV", None, "tsv"),
        ("members.json", None, "json"),
        ("members.jsonl", None, "jsonl"),
        ("members.ndjson", None, "jsonl"),
        ("members.ndjson", "jsonl", "jsonl"),
        ("members.json", "json", "json"),
        ("members.txt", None, "csv"),
        ("members", None, "csv"),
        ("members.txt", "tsv", "tsv"),
        ("-", None, "csv"),
        ("-", "json", "json"),
    ],
)
def test_the_output_format_follows_the_file_name(name, given, written):
    assert output_format(name, given) == written


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("members.json", '[\n  {"customer_id": "C1"'),
        ("members.jsonl", '{"customer_id": "C1"'),
        ("members.ndjson", '{"customer_id": "C1"'),
        ("members.tsv", "customer_id\temail\t"),
        ("members.csv", "customer_id,email,"),
        ("members.txt", "customer_id,email,"),
    ],
)
def test_export_writes_the_format_its_file_name_says(shop, tmp_path, name, text):
    out = tmp_path / name
    result = shop("segment", "export", "buyers", "--as-of", AS_OF, "-o", out)
    assert result.exit_code == 0, result.stderr
    assert out.read_text(encoding="utf-8").startswith(text)
    names = {"json": "JSON", "jsonl": "JSON Lines", "ndjson": "JSON Lines", "tsv": "TSV"}
    kind = names.get(name.rpartition(".")[2], "CSV")
    assert result.stderr == f"3 members of buyers written to {out} as {kind}\n"


@pytest.mark.parametrize(
    ("name", "given", "message"),
    [
        (
            "members.json",
            "csv",
            "members.json is a JSON file name but --format is csv\n"
            "  hint: leave out --format, or name the file members.csv\n",
        ),
        (
            "members.csv",
            "jsonl",
            "members.csv is a CSV file name but --format is jsonl\n"
            "  hint: leave out --format, or name the file members.jsonl\n",
        ),
        (
            "members.xlsx",
            None,
            "members.xlsx: segcli cannot write Excel workbooks (.xlsx)\n"
            "  hint: write members.csv, which spreadsheets open (or .tsv, .json, .jsonl)\n",
        ),
        ("members.XLS", "csv", "members.XLS: segcli cannot write Excel workbooks (.XLS)\n"),
        ("members.ods", None, "members.ods: segcli cannot write spreadsheet workbooks (.ods)\n"),
        ("members.parquet", None, "members.parquet: segcli cannot write columnar files"),
        (
            "members.csv.gz",
            None,
            "members.csv.gz: segcli cannot write compressed files (.gz)\n"
            "  hint: write to stdout and compress that: -o - | gzip > members.csv.gz\n",
        ),
    ],
)
def test_export_refuses_a_file_name_it_cannot_honour_before_anything_else(
    segcli, tmp_path, name, given, message
):
    """A usage error (exit 2), before the segment is even looked up: there is no database
    here, and no file or temporary file is left."""
    output = tmp_path / "out"
    output.mkdir()
    args = ["segment", "export", "nowhere", "-o", output / name]
    result = segcli(*args, *(["--format", given] if given else []))
    assert result.exit_code == 2, result.stderr
    assert result.stdout == ""
    assert f"Error: Invalid value for '-o' / '--output': {output}/{message}" in result.stderr
    assert list(output.iterdir()) == []
    assert not segcli.db.exists()


def test_export_to_a_missing_directory_is_refused_before_anything_is_evaluated(segcli, tmp_path):
    out = tmp_path / "nope" / "members.csv"
    result = segcli("segment", "export", "everyone", "-o", out)
    assert result.exit_code == 1
    assert result.stderr == f"Error: -o {out}: directory {out.parent} does not exist\n"
    assert not segcli.db.exists()


# ---------------------------------------------------------------------------------
# --criteria is given once


@pytest.mark.parametrize("command", ["calculate", "show", "export", "sql"])
def test_criteria_given_twice_is_a_usage_error(shop, command):
    result = shop("segment", command, "--criteria", "country: FR", "--criteria", "orders_count: 1")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert (
        "Error: Invalid value for '--criteria': given 2 times; give one, with the conditions "
        "together, e.g. '{country: FR, total_spent: {gt: 500}}'\n"
    ) in result.stderr


@pytest.mark.parametrize("command", ["calculate", "show", "export", "sql"])
def test_criteria_given_once_still_works(shop, command):
    result = shop("segment", command, "--criteria", "orders_count: 1", "--as-of", AS_OF)
    assert result.exit_code == 0, result.stderr
    assert result.stdout

"""A name that no row of the store has is warned about, with a did-you-mean.

A condition naming a product, collection, product type, vendor, order status, country,
region, city, tag, customer group, channel or custom field that the store does not have
matches nobody: calculate, show, export, customer show --explain, segment new and
segment validate (with a database) say so on stderr, and change neither the exit code
nor the data on stdout.
"""

from __future__ import annotations

import csv
import os
import sqlite3

import pytest
from hypothesis import given
from hypothesis import strategies as st

from segcli.cli import cli
from segcli.importer.load import ImportOptions, import_file
from segcli.rules import ast
from segcli.rules.operators import fold
from segcli.rules.parse import parse_criteria_text
from segcli.segments.unmatched import unmatched_values
from segcli.store.db import open_store

pytestmark = pytest.mark.both_engines

CUSTOMERS = """\
customer_id,email,country,region,city,tags,customer_group,channel,loyalty_tier
C1,ann@example.com,FR,Île-de-France,Paris,"vip, gold",Wholesale,pos,gold
C2,bob@example.com,US,CA,San Francisco,,retail,web,
C3,cy@example.com,US,NY,New York,vip,retail,web,silver
"""
PRODUCTS = """\
product_id,sku,title,collections,product_type,vendor
P1,TEA-1,Nordic Copper Teapot,Kitchen;Gifts,Homeware,Blue Harbor
P2,MUG-2,Blue Mug,Kitchen,Homeware,Maison Lumière
"""
ORDERS = """\
order_id,customer_id,created_at,total,status
O1,C1,2024-01-01,10,paid
O2,C2,2024-01-02,10,refunded
O3,C3,2024-01-03,10,Pending
"""
ITEMS = """\
order_id,product_id,sku,title,collection,vendor
O1,P1,TEA-1,Nordic Copper Teapot,Summer Sale,
O2,,,Gift Card,,Store
O3,P2,MUG-2,Blue Mug,,
"""


@pytest.fixture
def store(segcli):
    segcli.imported(
        {
            "customers": CUSTOMERS,
            "products": PRODUCTS,
            "orders": ORDERS,
            "items": ITEMS,
        }
    )
    (segcli.dir / "segments").mkdir()
    return segcli


def warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("warning:")]


# (criteria, the warnings' text after the position, in order); values the store has, in
# any case, give none.
CASES = [
    (
        "{purchased: {product: Nordic Copper Teapt}}",
        [
            "no line item or product has product 'Nordic Copper Teapt'; "
            "did you mean 'Nordic Copper Teapot'?"
        ],
    ),
    ("{purchased: {product: [nordic copper teapot, tea-1, p2, gift card]}}", []),
    (
        "{purchased: {collection: Kitchn}}",
        ["no line item or product has collection 'Kitchn'; did you mean 'Kitchen'?"],
    ),
    ("{purchased: {collection: [summer sale, GIFTS]}}", []),
    (
        "{purchased: {product_type: homewear}}",
        ["no product has product type 'homewear'; did you mean 'Homeware'?"],
    ),
    (
        "{purchased: {vendor: maison lumiere}}",
        ["no line item or product has vendor 'maison lumiere'; did you mean 'Maison Lumière'?"],
    ),
    ("{purchased: {vendor: [store, BLUE HARBOR]}}", []),
    (
        "{reviewed: {product: Blue Mugg}}",
        ["no product, line item or review has product 'Blue Mugg'; did you mean 'Blue Mug'?"],
    ),
    (
        "{has_order: {status: refundd}}",
        ["no order has status 'refundd'; did you mean 'refunded'?"],
    ),
    ("{has_order: {status: [PAID, pending]}}", []),
    ("{country: France}", ["no customer has country 'France'; the store uses codes such as 'FR'"]),
    (
        "{country: {not_in: [Untied States]}}",
        ["no customer has country 'Untied States'; the store uses codes such as 'US'"],
    ),
    ("{country: {in: [fr, us]}}", []),
    (
        "{region: California}",
        ["no customer has region 'California'; the store uses codes such as 'CA', 'NY'"],
    ),
    ("{city: Pariss}", ["no customer has city 'Pariss'; did you mean 'Paris'?"]),
    ("{city: {ne: new york}}", []),
    ("{tags: vpi}", ["no customer has tag 'vpi'; did you mean 'vip'?"]),
    ("{tags: {contains_all: [VIP, Gold]}}", []),
    (
        "{customer_group: wholesael}",
        ["no customer has customer group 'wholesael'; did you mean 'Wholesale'?"],
    ),
    ("{channel: {in: [pso, web]}}", ["no customer has channel 'pso'; did you mean 'pos'?"]),
    (
        "{custom.loyalty_teir: gold}",
        ["no customer has a custom field 'loyalty_teir'; did you mean 'custom.loyalty_tier'?"],
    ),
    ("{custom.LOYALTY_TIER: {is_set: true}}", []),
    # Substring tests name no value; unknown-field checks are validation's, not these.
    ("{city: {contains: xyz}}", []),
    (
        "{purchased: {product: zzzz}}",
        [
            "no line item or product has product 'zzzz'; the store's products include "
            "'P1', 'P2', 'MUG-2'"
        ],
    ),
]


@pytest.mark.parametrize(("criteria", "expected"), CASES)
def test_calculate_warns_of_each_name_no_row_has(store, criteria, expected):
    result = store("segment", "calculate", "--criteria", criteria, "--format", "csv")
    assert result.exit_code == 0, result.stderr
    assert [w.split(": ", 2)[2] for w in warnings(result.stderr)] == expected
    assert result.stdout.startswith("segment,title,count")
    assert "warning" not in result.stdout


def test_a_warning_names_the_file_line_and_column(store):
    store.write("segments/teapot.yaml", "title: T\ncriteria:\n  - country: [FR, Frnace]\n")
    result = store("--segments", store.dir / "segments", "segment", "calculate", "teapot")
    assert result.exit_code == 0, result.stderr
    path = store.dir / "segments" / "teapot.yaml"
    assert warnings(result.stderr) == [
        f"warning: {path}:3:5: no customer has country 'Frnace'; the store uses codes such as 'FR'"
    ]


def test_the_data_on_stdout_is_the_same_with_a_warning(store):
    """The warning goes to stderr alone; stdout holds exactly what it would without it."""
    exported = store(
        "segment", "export", "--criteria", "{country: [FR, France]}", "--fields", "customer_id"
    )
    quiet = store("segment", "export", "--criteria", "{country: FR}", "--fields", "customer_id")
    assert exported.exit_code == quiet.exit_code == 0
    assert exported.stdout == quiet.stdout == "customer_id\nC1\n"
    assert len(warnings(exported.stderr)) == 1
    assert warnings(quiet.stderr) == []


@pytest.mark.parametrize(
    "command",
    [
        ("segment", "calculate"),
        ("segment", "show"),
        ("segment", "export"),
        ("segment", "export", "-o", "members.csv"),
        ("customer", "show", "C1", "--explain"),
    ],
)
def test_every_command_that_evaluates_warns(store, command, monkeypatch):
    monkeypatch.chdir(store.dir)
    store.write("segments/teapot.yaml", "criteria:\n  purchased: {product: Nordic Teapot}\n")
    result = store("--segments", store.dir / "segments", *command, "teapot")
    assert result.exit_code == 0, result.stderr
    assert [w.split(": ", 2)[2] for w in warnings(result.stderr)] == [
        "no line item or product has product 'Nordic Teapot'; did you mean 'Nordic Copper Teapot'?"
    ]


def test_segment_new_warns_of_the_names_of_its_template(store):
    result = store(
        "--segments",
        store.dir / "segments",
        "segment",
        "new",
        "france",
        "--template",
        "us-west-coast",
        "--set",
        "country=France",
    )
    assert result.exit_code == 0, result.stderr
    found = [w.split(": ", 2)[2] for w in warnings(result.stderr)]
    assert "no customer has country 'France'; the store uses codes such as 'FR'" in found


def test_a_used_segment_is_checked_too(store):
    """A segment that uses another through in_segment gets the other's warnings: its
    members depend on them."""
    segments = store.dir / "segments"
    store.write("segments/base.yaml", "criteria:\n  tags: vpi\n")
    store.write("segments/top.yaml", "criteria:\n  - in_segment: base\n  - country: FR\n")
    result = store("--segments", segments, "segment", "calculate", "top", "--format", "csv")
    assert result.exit_code == 0
    assert warnings(result.stderr) == [
        f"warning: {segments / 'base.yaml'}:2:3: no customer has tag 'vpi'; did you mean 'vip'?"
    ]


@pytest.mark.no_engine
def test_validate_warns_with_a_database_and_still_passes(store):
    segments = store.dir / "segments"
    store.write("segments/vip.yaml", "criteria:\n  tags: vpi\n")
    result = store("--segments", segments, "segment", "validate")
    assert result.exit_code == 0
    assert len(warnings(result.stderr)) == 1
    assert "no problems" in result.stderr


@pytest.mark.no_engine
def test_validate_without_a_database_checks_only_the_files(segcli, monkeypatch):
    """No --db and no segcli.db here: nothing to look names up in, and none is created."""
    monkeypatch.chdir(segcli.dir)
    monkeypatch.delenv("SEGCLI_DB", raising=False)
    (segcli.dir / "segments").mkdir()
    segcli.write("segments/vip.yaml", "criteria:\n  tags: vpi\n")
    result = segcli.runner.invoke(cli, ["segment", "validate"])
    assert result.exit_code == 0, result.stderr
    assert warnings(result.stderr) == []
    assert not os.path.exists(segcli.dir / "segcli.db")


@pytest.mark.no_engine
def test_validate_finds_the_default_database(store, monkeypatch):
    monkeypatch.chdir(store.dir)
    monkeypatch.delenv("SEGCLI_DB", raising=False)
    with sqlite3.connect(store.db) as source, sqlite3.connect(store.dir / "segcli.db") as copy:
        source.backup(copy)
    store.write("segments/vip.yaml", "criteria:\n  tags: vpi\n")
    result = store.runner.invoke(cli, ["segment", "validate"])
    assert result.exit_code == 0, result.stderr
    assert len(warnings(result.stderr)) == 1


def test_explain_without_the_segment_is_quiet(store):
    """customer show without --explain evaluates every segment for the person's list, but
    names in segments it was not asked about are not its answer."""
    store.write("segments/vip.yaml", "criteria:\n  tags: vpi\n")
    result = store("--segments", store.dir / "segments", "customer", "show", "C1")
    assert result.exit_code == 0, result.stderr
    assert warnings(result.stderr) == []


# -- the rule, on many values ----------------------------------------------------------

STORED = ["FR", "US", "de", "Ísland", "New York"]


@pytest.mark.no_engine
@given(value=st.sampled_from([*STORED, "fr", "us", "DE", "ísland", "NEW YORK", "ES", "York"]))
def test_a_name_is_warned_about_exactly_when_no_stored_value_folds_to_it(value, tmp_path_factory):
    directory = tmp_path_factory.mktemp("rule")
    path = directory / "customers.csv"
    rows = "".join(f"C{n},{country}\n" for n, country in enumerate(STORED))
    path.write_text("customer_id,country\n" + rows, encoding="utf-8")
    with open_store(directory / "store.db") as db:
        import_file(db, "customers", path, ImportOptions())
        condition, problems = parse_criteria_text(f"country: {value!r}")
        assert not problems
        segment = ast.Segment("x", "x", "", condition, "--criteria")
        found = unmatched_values(db, [segment], {})
    expected = fold(value) not in {fold(s) for s in STORED}
    assert bool(found) is expected


def test_names_are_looked_up_exactly_as_bound_values(store):
    """A name with SQL in it is a value like any other."""
    result = store(
        "segment",
        "calculate",
        "--criteria",
        '{city: "x\' OR 1=1 --"}',
        "--format",
        "csv",
    )
    assert result.exit_code == 0
    assert len(warnings(result.stderr)) == 1
    rows = list(csv.DictReader(result.stdout.splitlines()))
    assert rows[0]["count"] == "0"

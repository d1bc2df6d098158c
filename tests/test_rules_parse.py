"""The segment language read from YAML: inline text → the expected tree, or the problems.

Table tests, one row per operator, symbol, shorthand, predicate key and date spelling
(SPEC 3.1, 3.3, 3.4, 3.6), then the problems a merchant can make, each with its file,
line, column and hint.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from segcli.rules import ast, loader
from segcli.rules.dates import DateValue, Duration
from segcli.rules.parse import parse_criteria_text, parse_segment_text
from segcli.rules.problems import Pos
from segcli.segments.catalog import load_catalog

P0 = Pos(0, 0)


def strip(node):
    """The tree with every position set to P0, to compare shapes and values only."""
    if isinstance(node, tuple):
        return tuple(strip(item) for item in node)
    if not dataclasses.is_dataclass(node) or isinstance(node, DateValue | Duration | Pos):
        return node
    changes = {}
    for item in dataclasses.fields(node):
        value = getattr(node, item.name)
        if item.name == "pos":
            changes["pos"] = P0
        elif isinstance(value, tuple) or dataclasses.is_dataclass(value):
            changes[item.name] = strip(value)
    return dataclasses.replace(node, **changes)


def tree(text: str):
    condition, problems = parse_criteria_text(text)
    assert problems == [], "\n".join(map(str, problems))
    return condition


def problems_of(text: str):
    condition, problems = parse_criteria_text(text)
    assert condition is None
    return problems


def C(field: str, op: str, value) -> ast.Compare:
    return ast.Compare(field, op, value, P0)


def All(*items) -> ast.All:
    return ast.All(tuple(items), P0)


def Any(*items) -> ast.Any:
    return ast.Any(tuple(items), P0)


def Not(item) -> ast.Not:
    return ast.Not(item, P0)


def day(text: str) -> DateValue:
    return DateValue(text, day=date.fromisoformat(text))


def ago(text: str, count: int, unit: str) -> DateValue:
    return DateValue(text, ago=Duration(count, unit))


D = Decimal
MARCH_31 = day("2024-03-31")

OPERATOR_ROWS = [
    ("eq", "country: {eq: NO}", C("country", "eq", "NO")),
    ("= quoted", 'country: {"=": NO}', C("country", "eq", "NO")),
    ("= plain", "orders_count: {=: 2}", C("orders_count", "eq", 2)),
    ("ne", "country: {ne: DE}", C("country", "ne", "DE")),
    ("!=", "country: {'!=': DE}", C("country", "ne", "DE")),
    ("in", "country: {in: [NO, DE]}", C("country", "in", ("NO", "DE"))),
    ("not_in", "city: {not_in: [Oslo]}", C("city", "not_in", ("Oslo",))),
    ("gt", "total_spent: {gt: 500}", C("total_spent", "gt", D("500"))),
    (">", "total_spent: {'>': 500}", C("total_spent", "gt", D("500"))),
    ("gte", "orders_count: {gte: 2}", C("orders_count", "gte", 2)),
    (">=", "orders_count: {'>=': 2}", C("orders_count", "gte", 2)),
    ("lt", "days_since_last_order: {lt: 30}", C("days_since_last_order", "lt", 30)),
    ("<", "days_since_last_order: {'<': 30}", C("days_since_last_order", "lt", 30)),
    ("lte", "average_order_value: {lte: 99.95}", C("average_order_value", "lte", D("99.95"))),
    ("<=", "average_order_value: {'<=': 99.95}", C("average_order_value", "lte", D("99.95"))),
    (
        "between money",
        "total_spent: {between: [100, 500.5]}",
        C("total_spent", "between", (D("100"), D("500.5"))),
    ),
    ("between integer", "orders_count: {between: [2, 4]}", C("orders_count", "between", (2, 4))),
    ("contains text", "email: {contains: '@gmail.'}", C("email", "contains", "@gmail.")),
    (
        "not_contains text",
        "first_name: {not_contains: test}",
        C("first_name", "not_contains", "test"),
    ),
    ("starts_with", "last_name: {starts_with: Mc}", C("last_name", "starts_with", "Mc")),
    ("ends_with", "email_domain: {ends_with: .de}", C("email_domain", "ends_with", ".de")),
    ("contains tags", "tags: {contains: VIP}", C("tags", "contains", "VIP")),
    ("not_contains tags", "tags: {not_contains: staff}", C("tags", "not_contains", "staff")),
    (
        "contains_any",
        "tags: {contains_any: [vip, gold]}",
        C("tags", "contains_any", ("vip", "gold")),
    ),
    (
        "contains_all",
        "tags: {contains_all: [vip, gold]}",
        C("tags", "contains_all", ("vip", "gold")),
    ),
    ("eq tags", "tags: {eq: vip}", C("tags", "eq", "vip")),
    ("is_set true", "country: {is_set: true}", C("country", "is_set", True)),
    ("is_set false", "tags: {is_set: false}", C("tags", "is_set", False)),
    ("is_set date", "last_order_at: {is_set: FALSE}", C("last_order_at", "is_set", False)),
    ("before", "created_at: {before: 2024-03-31}", C("created_at", "before", MARCH_31)),
    ("after", "created_at: {after: 2024-03-31}", C("created_at", "after", MARCH_31)),
    ("on", "created_at: {on: 2024-03-31}", C("created_at", "on", MARCH_31)),
    ("within", "created_at: {within: 30 days}", C("created_at", "within", Duration(30, "days"))),
    ("within short", "created_at: {within: 6m}", C("created_at", "within", Duration(6, "months"))),
    ("within minus", "created_at: {within: -2w}", C("created_at", "within", Duration(2, "weeks"))),
    (
        "within year",
        "created_at: {within: 1 year}",
        C("created_at", "within", Duration(1, "years")),
    ),
    # On date fields lt, gt and eq are before, after and on (SPEC 3.6).
    ("lt on a date", "last_order_at: {lt: 2024-03-31}", C("last_order_at", "before", MARCH_31)),
    ("< on a date", "last_order_at: {'<': 2024-03-31}", C("last_order_at", "before", MARCH_31)),
    ("gt on a date", "last_order_at: {gt: 2024-03-31}", C("last_order_at", "after", MARCH_31)),
    ("eq on a date", "last_order_at: {eq: 2024-03-31}", C("last_order_at", "on", MARCH_31)),
    ("lte on a date", "first_order_at: {lte: 2024-03-31}", C("first_order_at", "lte", MARCH_31)),
    ("gte on a date", "first_order_at: {gte: 2024-03-31}", C("first_order_at", "gte", MARCH_31)),
    ("ne on a date", "first_order_at: {ne: 2024-03-31}", C("first_order_at", "ne", MARCH_31)),
    (
        "between dates",
        "created_at: {between: [2024-01-01, 2024-03-31]}",
        C("created_at", "between", (day("2024-01-01"), MARCH_31)),
    ),
    ("boolean eq", "accepts_marketing: {eq: false}", C("accepts_marketing", "eq", False)),
    ("boolean ne", "accepts_marketing: {ne: true}", C("accepts_marketing", "ne", True)),
    ("custom", "custom.Loyalty_Tier: {eq: gold}", C("custom.Loyalty_Tier", "eq", "gold")),
    # A custom field keeps the number as written: compared as a number only at evaluation.
    ("custom number", "custom.size: {gt: 10.50}", C("custom.size", "gt", "10.50")),
    ("custom between", "custom.size: {between: [1, 2]}", C("custom.size", "between", ("1", "2"))),
    # Lifecycle stages are matched ignoring case.
    (
        "lifecycle in",
        "lifecycle: {in: [Prospects, UNENGAGED]}",
        C("lifecycle", "in", ("prospects", "unengaged")),
    ),
    ("lifecycle ne", "lifecycle: {ne: at-risk-repeat}", C("lifecycle", "ne", "at-risk-repeat")),
]


@pytest.mark.parametrize(
    ("text", "expected"), [row[1:] for row in OPERATOR_ROWS], ids=[row[0] for row in OPERATOR_ROWS]
)
def test_operator(text, expected):
    assert strip(tree(text)) == expected


SHORTHAND_ROWS = [
    ("scalar is eq", "country: NO", C("country", "eq", "NO")),
    ("number is eq", "orders_count: 3", C("orders_count", "eq", 3)),
    ("money is eq", "total_spent: 99.95", C("total_spent", "eq", D("99.95"))),
    ("boolean is eq", "accepts_marketing: true", C("accepts_marketing", "eq", True)),
    ("date is on", "created_at: 2024-03-31", C("created_at", "on", MARCH_31)),
    ("lifecycle is eq", "lifecycle: Prospects", C("lifecycle", "eq", "prospects")),
    ("list is in", "country: [NO, SE]", C("country", "in", ("NO", "SE"))),
    ("money list is in", "total_spent: [10, 20.5]", C("total_spent", "in", (D("10"), D("20.5")))),
    ("custom list is in", "custom.tier: [gold, 2]", C("custom.tier", "in", ("gold", "2"))),
    ("tags scalar is contains", "tags: vip", C("tags", "contains", "vip")),
    ("tags list is contains_any", "tags: [vip, b2b]", C("tags", "contains_any", ("vip", "b2b"))),
    (
        "times: N is times eq N",
        "purchased: {times: 3}",
        ast.Purchased(times=(ast.Count("eq", 3),)),
    ),
    (
        "several keys are all",
        "{country: NO, orders_count: {gte: 2}, in_segment: vip}",
        All(C("country", "eq", "NO"), C("orders_count", "gte", 2), ast.InSegment("vip", P0)),
    ),
    (
        "several operators are all",
        "total_spent: {gte: 100, lt: 500}",
        All(C("total_spent", "gte", D("100")), C("total_spent", "lt", D("500"))),
    ),
    (
        "a list is all",
        "- country: NO\n- city: Oslo\n",
        All(C("country", "eq", "NO"), C("city", "eq", "Oslo")),
    ),
    (
        "all",
        "all: [{country: NO}, {city: Oslo}]",
        All(C("country", "eq", "NO"), C("city", "eq", "Oslo")),
    ),
    (
        "any",
        "any: [{country: NO}, {city: Oslo}]",
        Any(C("country", "eq", "NO"), C("city", "eq", "Oslo")),
    ),
    # docs/segments.md: `any:` with a mapping takes each key as one alternative.
    (
        "any with a mapping",
        "any: {country: NO, city: Oslo}",
        Any(C("country", "eq", "NO"), C("city", "eq", "Oslo")),
    ),
    ("not", "not: {country: NO}", Not(C("country", "eq", "NO"))),
    (
        "not with a list is none",
        "not: [{country: NO}, {city: Oslo}]",
        Not(Any(C("country", "eq", "NO"), C("city", "eq", "Oslo"))),
    ),
    (
        "nested groups",
        "any:\n  - all:\n      - not: {tags: staff}\n      - orders_count: 0\n  - country: NO\n",
        Any(
            All(Not(C("tags", "contains", "staff")), C("orders_count", "eq", 0)),
            C("country", "eq", "NO"),
        ),
    ),
    ("purchased: true", "purchased: true", ast.Purchased()),
    ("purchased: false", "purchased: false", Not(ast.Purchased())),
    ("reviewed: true", "reviewed: true", ast.Reviewed()),
    ("abandoned_cart: true", "abandoned_cart: true", ast.AbandonedCart()),
    ("abandoned_cart: false", "abandoned_cart: false", Not(ast.AbandonedCart())),
    ("has_order: false", "has_order: False", Not(ast.HasOrder())),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [row[1:] for row in SHORTHAND_ROWS],
    ids=[row[0] for row in SHORTHAND_ROWS],
)
def test_shorthand(text, expected):
    assert strip(tree(text)) == expected


JAN_1 = day("2024-01-01")
PREDICATE_ROWS = [
    ("purchased product", "purchased: {product: P1}", ast.Purchased(product=("P1",))),
    (
        "purchased product list",
        "purchased: {product: [P1, SKU-2]}",
        ast.Purchased(product=("P1", "SKU-2")),
    ),
    # An id is text as written: leading zeros are kept.
    ("purchased numeric product", "purchased: {product: 00123}", ast.Purchased(product=("00123",))),
    (
        "purchased collection",
        "purchased: {collection: Summer Sale}",
        ast.Purchased(collection=("Summer Sale",)),
    ),
    (
        "purchased product_type",
        "purchased: {product_type: [Shoes, Hats]}",
        ast.Purchased(product_type=("Shoes", "Hats")),
    ),
    ("purchased vendor", "purchased: {vendor: Acme}", ast.Purchased(vendor=("Acme",))),
    (
        "purchased after",
        "purchased: {after: 2024-01-01}",
        ast.Purchased(window=ast.Window(after=JAN_1)),
    ),
    (
        "purchased before",
        "purchased: {before: -1w}",
        ast.Purchased(window=ast.Window(before=ago("-1w", 1, "weeks"))),
    ),
    (
        "purchased times",
        "purchased: {times: {gte: 2}}",
        ast.Purchased(times=(ast.Count("gte", 2),)),
    ),
    ("purchased times 0", "purchased: {times: 0}", ast.Purchased(times=(ast.Count("eq", 0),))),
    (
        "purchased times between",
        "purchased: {times: {between: [2, 3], '!=': 4}}",
        ast.Purchased(times=(ast.Count("between", (2, 3)), ast.Count("ne", 4))),
    ),
    (
        "purchased everything",
        "purchased: {product: P1, collection: Summer, product_type: Shoes, vendor: Acme,"
        " after: 2024-01-01, before: 2024-03-31, times: {lt: 3}}",
        ast.Purchased(
            product=("P1",),
            collection=("Summer",),
            product_type=("Shoes",),
            vendor=("Acme",),
            window=ast.Window(after=JAN_1, before=MARCH_31),
            times=(ast.Count("lt", 3),),
        ),
    ),
    ("reviewed product", "reviewed: {product: P1}", ast.Reviewed(product=("P1",))),
    ("reviewed rating", "reviewed: {rating: 5}", ast.Reviewed(rating=(ast.Count("eq", 5),))),
    (
        "reviewed rating op",
        "reviewed: {rating: {lte: 2}}",
        ast.Reviewed(rating=(ast.Count("lte", 2),)),
    ),
    (
        "reviewed rating in",
        "reviewed: {rating: {in: [1, 2]}}",
        ast.Reviewed(rating=(ast.Count("in", (1, 2)),)),
    ),
    (
        "reviewed window",
        "reviewed: {after: -1y, before: yesterday}",
        ast.Reviewed(
            window=ast.Window(after=ago("-1y", 1, "years"), before=ago("yesterday", 1, "days"))
        ),
    ),
    (
        "abandoned_cart window",
        "abandoned_cart: {after: -3m, before: -1w}",
        ast.AbandonedCart(
            window=ast.Window(after=ago("-3m", 3, "months"), before=ago("-1w", 1, "weeks"))
        ),
    ),
    (
        "has_order status",
        "has_order: {status: [refunded, Partially_Refunded]}",
        ast.HasOrder(status=("refunded", "Partially_Refunded")),
    ),
    (
        "has_order total",
        "has_order: {total: {gte: 100}}",
        ast.HasOrder(total=(ast.Count("gte", D("100")),)),
    ),
    (
        "has_order total scalar",
        "has_order: {total: 99.9999}",
        ast.HasOrder(total=(ast.Count("eq", D("99.9999")),)),
    ),
    (
        "has_order instants",
        "has_order: {after: '2025-11-28T00:00:00-05:00', before: '2025-12-02T00:00:00-05:00'}",
        ast.HasOrder(
            window=ast.Window(
                after=DateValue("2025-11-28T00:00:00-05:00", instant=datetime(2025, 11, 28, 5)),
                before=DateValue("2025-12-02T00:00:00-05:00", instant=datetime(2025, 12, 2, 5)),
            )
        ),
    ),
    ("in_segment", "in_segment: vip-customers", ast.InSegment("vip-customers", P0)),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [row[1:] for row in PREDICATE_ROWS],
    ids=[row[0] for row in PREDICATE_ROWS],
)
def test_predicate(text, expected):
    assert strip(tree(text)) == expected


DATE_ROWS = [
    ("iso date", "2024-03-31", MARCH_31),
    (
        "date-time with offset is a UTC instant",
        "'2024-03-31T18:00:00+02:00'",
        DateValue("2024-03-31T18:00:00+02:00", instant=datetime(2024, 3, 31, 16, 0)),
    ),
    (
        "offset crossing midnight",
        "'2024-03-31T01:30:00+02:00'",
        DateValue("2024-03-31T01:30:00+02:00", instant=datetime(2024, 3, 30, 23, 30)),
    ),
    (
        "date-time without offset is UTC",
        "'2024-03-31T18:00:00'",
        DateValue("2024-03-31T18:00:00", instant=datetime(2024, 3, 31, 18, 0)),
    ),
    (
        "date-time with Z",
        "'2024-03-31 16:00:00Z'",
        DateValue("2024-03-31 16:00:00Z", instant=datetime(2024, 3, 31, 16, 0)),
    ),
    ("today", "today", ago("today", 0, "days")),
    ("yesterday", "yesterday", ago("yesterday", 1, "days")),
    ("days ago", "3 days ago", ago("3 days ago", 3, "days")),
    ("day ago", "1 day ago", ago("1 day ago", 1, "days")),
    ("weeks ago", "2 weeks ago", ago("2 weeks ago", 2, "weeks")),
    ("months ago", "3 months ago", ago("3 months ago", 3, "months")),
    ("month ago", "1 month ago", ago("1 month ago", 1, "months")),
    ("years ago", "2 years ago", ago("2 years ago", 2, "years")),
    ("any case", "90 Days Ago", ago("90 Days Ago", 90, "days")),
    ("-Nd", "-3d", ago("-3d", 3, "days")),
    ("-Nw", "-2w", ago("-2w", 2, "weeks")),
    ("-Nm", "-1m", ago("-1m", 1, "months")),
    ("-Ny", "-1y", ago("-1y", 1, "years")),
]


@pytest.mark.parametrize(
    ("spelling", "expected"), [row[1:] for row in DATE_ROWS], ids=[row[0] for row in DATE_ROWS]
)
def test_date_spelling(spelling, expected):
    assert strip(tree(f"created_at: {{after: {spelling}}}")) == C("created_at", "after", expected)
    assert strip(tree(f"purchased: {{before: {spelling}}}")) == ast.Purchased(
        window=ast.Window(before=expected)
    )


YAML_PLAIN_ROWS = [
    # YAML 1.1 would read these as booleans; segment files are read by YAML 1.2's rules.
    ("NO is a country", "country: NO", C("country", "eq", "NO")),
    ("no is a word", "country: no", C("country", "eq", "no")),
    ("yes is a word", "city: yes", C("city", "eq", "yes")),
    ("on is a word", "region: on", C("region", "eq", "on")),
    ("off is a word", "channel: off", C("channel", "eq", "off")),
    ("Y is a word", "customer_group: Y", C("customer_group", "eq", "Y")),
    ("on is an operator key", "created_at: {on: 2024-03-31}", C("created_at", "on", MARCH_31)),
    ("TRUE is a boolean", "accepts_marketing: TRUE", C("accepts_marketing", "eq", True)),
    ("False is a boolean", "accepts_marketing: False", C("accepts_marketing", "eq", False)),
    ("a date is text for a text field", "country: 2024-01-01", C("country", "eq", "2024-01-01")),
    ("a number is text as written", "country: 1.10", C("country", "eq", "1.10")),
    ("leading zeros are kept", "custom.zip: 01234", C("custom.zip", "eq", "01234")),
    ("octal-looking is a word", "custom.code: 0o17", C("custom.code", "eq", "0o17")),
    ("1_000 is a word", "custom.code: 1_000", C("custom.code", "eq", "1_000")),
    ("quoted true is text", "city: 'true'", C("city", "eq", "true")),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [row[1:] for row in YAML_PLAIN_ROWS],
    ids=[row[0] for row in YAML_PLAIN_ROWS],
)
def test_yaml_plain_rules(text, expected):
    assert strip(tree(text)) == expected


@pytest.mark.parametrize(
    ("written", "exact"),
    [
        ("500.0001", "500.0001"),
        ("0.1", "0.1"),
        ("-0.0001", "-0.0001"),
        ("999999999999.9999", "999999999999.9999"),
        ("1e3", "1000"),
        (".5", "0.5"),
    ],
)
def test_money_is_an_exact_decimal(written, exact):
    value = tree(f"total_spent: {{gt: {written}}}").value
    assert type(value) is Decimal
    assert value == Decimal(exact)
    # Never through a binary float: 0.1 is not 0.1000000000000000055511151231257827.
    assert value.as_tuple() == Decimal(written).as_tuple()


def test_positions_are_one_based_line_and_column():
    condition = tree(
        "all:\n"
        "  - total_spent: {gt: 500}\n"
        "  - country: NO\n"
        "  - not:\n"
        "      purchased: {times: 2}\n"
        "  - in_segment: vip\n"
    )
    assert condition.pos == Pos(2, 3)
    compare, shorthand, negation, in_segment = condition.items
    # An operator's comparison sits at the operator; a shorthand at its field.
    assert compare.pos == Pos(2, 19)
    assert shorthand.pos == Pos(3, 5)
    assert negation.pos == Pos(4, 5)
    assert negation.item.pos == Pos(5, 7)
    assert in_segment.pos == Pos(6, 17)


def test_segment_file_keys():
    text = (
        "name: big-spender-lapsed\n"
        "title: Big spender who hasn't bought for a while\n"
        "description: Top customers to win back.\n"
        "criteria:\n"
        "  all:\n"
        "    - total_spent: {gt: 500}\n"
        "    - days_since_last_order: {gt: 90}\n"
    )
    segment, problems = parse_segment_text(text, "segments/x.yaml", "x")
    assert problems == []
    assert segment.name == "big-spender-lapsed"
    assert segment.title == "Big spender who hasn't bought for a while"
    assert segment.description == "Top customers to win back."
    assert segment.source == "segments/x.yaml"
    assert strip(segment.criteria) == All(
        C("total_spent", "gt", D("500")), C("days_since_last_order", "gt", 90)
    )


def test_file_name_is_the_default_name():
    segment, problems = parse_segment_text("criteria: {country: NO}\n", "s/norway.yaml", "norway")
    assert problems == []
    assert (segment.name, segment.title) == ("norway", "norway")


# ---------------------------------------------------------------------------------
# Problems: (YAML, [(line, column, part of the message, part of the hint or None)])

PROBLEM_ROWS = [
    (
        "unknown field, did you mean",
        "total_spend: {gt: 5}",
        [(1, 1, "unknown field 'total_spend'", "did you mean 'total_spent'?")],
    ),
    (
        "unknown field, a predicate misspelt",
        "purchaed: {product: P1}",
        [(1, 1, "unknown field 'purchaed'", "did you mean 'purchased'?")],
    ),
    (
        "unknown operator, did you mean",
        "total_spent: {gtee: 5}",
        [(1, 15, "unknown operator 'gtee' for total_spent", "did you mean 'gte'?")],
    ),
    (
        "unknown operator, another",
        "email: {contain: gmail}",
        [(1, 9, "unknown operator 'contain' for email", "did you mean 'contains'?")],
    ),
    (
        "operator not for text",
        "country: {gt: 5}",
        [(1, 11, "operator 'gt' does not apply to country (text)", "use one of: eq, ne, in")],
    ),
    (
        "operator not for tags",
        "tags: {starts_with: v}",
        [(1, 8, "operator 'starts_with' does not apply to tags", "contains_any")],
    ),
    (
        "operator not for a boolean",
        "accepts_marketing: {gt: true}",
        [(1, 21, "operator 'gt' does not apply to accepts_marketing", "eq, ne")],
    ),
    (
        "operator not for a number",
        "days_since_last_order: {within: 3 days}",
        [(1, 25, "operator 'within' does not apply to days_since_last_order", None)],
    ),
    (
        "in on a date",
        "created_at: {in: [2024-01-01]}",
        [(1, 14, "operator 'in' does not apply to created_at", None)],
    ),
    (
        "text for money",
        "total_spent: {gt: lots}",
        [(1, 19, "total_spent gt: expected an amount such as 100 or 99.95, got 'lots'", None)],
    ),
    (
        "yes for a boolean",
        "accepts_marketing: yes",
        [(1, 20, "accepts_marketing eq: expected true or false, got 'yes'", None)],
    ),
    (
        "five decimals for money",
        "total_spent: {gt: 10.12345}",
        [(1, 19, "expected an amount with at most four decimals, got '10.12345'", None)],
    ),
    (
        "non-integer orders_count",
        "orders_count: 2.5",
        [(1, 15, "orders_count eq: expected a whole number, got '2.5'", None)],
    ),
    (
        "word for orders_count",
        "orders_count: {gte: two}",
        [(1, 21, "orders_count gte: expected a whole number, got 'two'", None)],
    ),
    (
        "bad date spelling",
        "created_at: {before: next tuesday}",
        [(1, 22, "created_at before: expected an ISO date", None)],
    ),
    (
        "impossible date",
        "created_at: {after: 2024-02-30}",
        [(1, 21, "got '2024-02-30'", None)],
    ),
    (
        "bad date in a predicate",
        "purchased: {after: last week}",
        [(1, 20, "purchased after: expected an ISO date", None)],
    ),
    ("bad duration", "created_at: {within: 30}", [(1, 22, "expected a duration", None)]),
    (
        "bad lifecycle stage",
        "lifecycle: prospect",
        [(1, 12, "'prospect' is not a lifecycle stage", "did you mean 'prospects'?")],
    ),
    (
        "lifecycle stage list",
        "lifecycle: {in: [prospects, vip]}",
        [(1, 29, "'vip' is not a lifecycle stage (expected one of first-time-buyers", None)],
    ),
    (
        "a boolean for text",
        "country: true",
        [(1, 10, "country eq: expected text, got 'true'", "quote it as text")],
    ),
    ("null for text", "country: ~", [(1, 10, "country eq: expected text", None)]),
    ("in needs a list", "country: {in: NO}", [(1, 15, "expected a list of values", None)]),
    ("empty list", "country: {in: []}", [(1, 15, "expected a list of values", None)]),
    (
        "between needs two",
        "total_spent: {between: [1]}",
        [(1, 24, "expected a list of two values", None)],
    ),
    ("is_set needs a boolean", "country: {is_set: yes}", [(1, 19, "expected true or false", None)]),
    ("empty substring", "email: {contains: ''}", [(1, 19, "expected non-empty text", None)]),
    (
        "a date field with a list",
        "created_at: [2024-01-01]",
        [(1, 13, "created_at cannot be compared with a list", None)],
    ),
    (
        "money too large",
        "total_spent: 1000000000000",
        [(1, 14, "expected an amount below a trillion", None)],
    ),
    (
        "times not a whole number",
        "purchased: {times: {gt: 1.5}}",
        [(1, 25, "purchased.times gt: expected a whole number, got '1.5'", None)],
    ),
    (
        "total with five decimals",
        "has_order: {total: 1.00001}",
        [(1, 20, "at most four decimals", None)],
    ),
    (
        "unknown operator in rating",
        "reviewed: {rating: {top: 5}}",
        [(1, 21, "unknown operator 'top' for reviewed rating", None)],
    ),
    (
        "unknown predicate key",
        "purchased: {colection: Summer}",
        [(1, 13, "unknown key 'colection' in purchased", "did you mean 'collection'?")],
    ),
    (
        "predicate value not a mapping",
        "has_order: paid",
        [(1, 12, "has_order", None)],
    ),
    ("in_segment needs a name", "in_segment: [a, b]", [(1, 13, "in_segment", None)]),
    ("empty all", "all: []", [(1, 6, "'all' needs at least one condition", None)]),
    ("any not a list", "any: 5", [(1, 6, "'any' takes a list of conditions", None)]),
    ("not a condition", "5", [(1, 1, "expected a condition, got '5'", None)]),
    ("empty condition", "{}", [(1, 1, "empty condition", None)]),
    ("no operator", "country: {}", [(1, 10, "no operator given for country", None)]),
    (
        "custom without a name",
        "custom.: 5",
        [(1, 1, "unknown field 'custom.'", "custom.NAME")],
    ),
    (
        "every problem at once",
        "all:\n"
        "  - total_spend: {gt: 5}\n"
        "  - orders_count: 2.5\n"
        "  - any:\n"
        "      - country: {gt: 5}\n"
        "      - lifecycle: vip\n",
        [
            (2, 5, "unknown field 'total_spend'", "total_spent"),
            (3, 19, "expected a whole number", None),
            (5, 19, "operator 'gt' does not apply to country", None),
            (6, 20, "'vip' is not a lifecycle stage", None),
        ],
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"), [row[1:] for row in PROBLEM_ROWS], ids=[row[0] for row in PROBLEM_ROWS]
)
def test_problem(text, expected):
    problems = problems_of(text)
    assert len(problems) == len(expected), "\n".join(map(str, problems))
    for problem, (line, column, message, hint) in zip(problems, expected, strict=True):
        assert problem.path == "--criteria"
        assert problem.pos == Pos(line, column), str(problem)
        assert message in problem.message
        if hint is not None:
            assert hint in (problem.hint or "")
        assert str(problem).startswith(f"--criteria:{line}:{column}: ")


def test_every_problem_of_a_file_at_once(tmp_path):
    text = (
        "name: Big Spenders\n"
        "titel: Big spenders\n"
        "criteria:\n"
        "  all:\n"
        "    - total_spend: {gt: 500}\n"
        "    - accepts_marketing: yes\n"
        "    - created_at: {before: someday}\n"
    )
    path = tmp_path / "segments" / "big.yaml"
    segment, problems = parse_segment_text(text, str(path), "big")
    assert segment is None
    located = [(p.pos.line, p.pos.column, p.key) for p in problems]
    assert located == [
        (1, 7, "name"),
        (2, 1, "titel"),
        (5, 7, "total_spend"),
        (6, 26, "accepts_marketing"),
        (7, 28, "created_at"),
    ]
    assert all(str(p).startswith(f"{path}:{p.pos.line}:{p.pos.column}: ") for p in problems)
    assert "did you mean 'title'?" in str(problems[1])


def test_validate_command_reports_every_problem_with_file_line_and_column(segcli):
    (segcli.dir / "segments").mkdir()
    segcli.write(
        "segments/bad.yaml",
        "criteria:\n  all:\n    - total_spend: {gt: 5}\n    - orders_count: 2.5\n",
    )
    segcli.write("segments/good.yaml", "criteria: {country: NO}\n")
    result = segcli("--segments", segcli.dir / "segments", "segment", "validate")
    assert result.exit_code == 1
    bad = segcli.dir / "segments" / "bad.yaml"
    assert f"{bad}:3:7: unknown field 'total_spend'; did you mean 'total_spent'?" in result.stderr
    assert f"{bad}:4:21: orders_count eq: expected a whole number, got '2.5'" in result.stderr
    assert "good.yaml" not in result.stderr
    assert result.stdout == ""


# ---------------------------------------------------------------------------------
# YAML itself: syntax, duplicate keys, tags, aliases, nesting


def test_yaml_syntax_error_shows_the_offending_line():
    text = "criteria:\n  all:\n    - country: [NO, SE\n    - city: Oslo\n"
    segment, problems = parse_segment_text(text, "s.yaml", "s")
    assert segment is None
    [problem] = problems
    assert problem.message.startswith("YAML syntax error")
    shown = str(problem)
    assert shown.startswith(f"s.yaml:{problem.pos.line}:{problem.pos.column}: YAML syntax error")
    offending = text.splitlines()[problem.pos.line - 1]
    assert f"\n    {problem.pos.line} | {offending}\n" in shown
    # The caret sits under the column named.
    caret_line = shown.splitlines()[-1]
    assert caret_line.index("^") == len(f"    {problem.pos.line} | ") + problem.pos.column - 1


def test_yaml_tab_indentation_is_a_syntax_error_on_its_line():
    text = "criteria:\n\tcountry: NO\n"
    [problem] = parse_segment_text(text, "s.yaml", "s")[1]
    assert problem.pos.line == 2
    assert "2 | \tcountry: NO" in str(problem)


def test_duplicate_keys_are_a_problem():
    text = "criteria:\n  country: NO\n  city: Oslo\n  country: SE\n"
    segment, problems = parse_segment_text(text, "s.yaml", "s")
    assert segment is None
    [problem] = problems
    assert problem.pos == Pos(4, 3)
    assert "key 'country' appears twice in one mapping (first at line 2)" in problem.message


def test_duplicate_operator_keys_are_a_problem():
    [problem] = problems_of("total_spent: {gt: 5, gt: 6}")
    assert problem.pos == Pos(1, 22)
    assert "'gt' appears twice" in problem.message


@pytest.mark.parametrize(
    "tagged",
    [
        "!!python/object/apply:os.system ['touch {marker}']",
        "!!python/object/new:pathlib.Path ['{marker}']",
        "!!python/name:os.system",
        "!!python/object:argparse.Namespace {{x: 1}}",
        "!custom '{marker}'",
        "!!binary aGVsbG8=",
    ],
)
def test_yaml_tags_are_refused_and_never_run(tmp_path, tagged):
    marker = tmp_path / "ran"
    text = "criteria:\n  country: " + tagged.format(marker=marker) + "\n"
    segment, problems = parse_segment_text(text, "s.yaml", "s")
    assert segment is None
    assert any("is not allowed in segment files" in p.message for p in problems), problems
    assert problems[0].pos == Pos(2, 12)
    assert not marker.exists()


def test_billion_laughs_is_a_clear_problem_and_fast():
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for n in range(1, 10):
        previous, name = chr(ord("a") + n - 1), chr(ord("a") + n)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    lines.append("criteria: {country: *j}")
    segment, problems = parse_segment_text("\n".join(lines) + "\n", "bomb.yaml", "bomb")
    assert segment is None
    assert any("expands to more than" in p.message for p in problems), problems


def test_aliases_within_limits_are_fine():
    text = "criteria:\n  all:\n    - &nordic {country: [NO, SE]}\n    - not: *nordic\n"
    segment, problems = parse_segment_text(text, "s.yaml", "s")
    assert problems == []
    nordic = C("country", "in", ("NO", "SE"))
    assert strip(segment.criteria) == All(nordic, Not(nordic))


def test_deep_nesting_is_a_clear_problem():
    text = "criteria: " + "{not: " * 150 + "{country: NO}" + "}" * 150 + "\n"
    segment, problems = parse_segment_text(text, "deep.yaml", "deep")
    assert segment is None
    assert [p.message for p in problems] == ["the document is nested more than 100 levels deep"]


@pytest.mark.parametrize("depth", [1_000, 5_000])
def test_very_deep_nesting_is_a_clear_problem_too(depth):
    text = "criteria: " + "[" * depth + "]" * depth + "\n"
    segment, problems = parse_segment_text(text, "deep.yaml", "deep")
    assert segment is None
    assert any("nested more than" in p.message for p in problems), problems


def test_nesting_within_the_limit_is_fine():
    depth = 40
    condition = tree("{not: " * depth + "{country: NO}" + "}" * depth)
    for _ in range(depth):
        condition = condition.item
    assert strip(condition) == C("country", "eq", "NO")


def test_more_than_one_document_is_a_problem():
    segment, problems = parse_segment_text("criteria: {a: 1}\n---\ncriteria: {b: 2}\n", "s", "s")
    assert segment is None
    assert [p.message for p in problems] == ["one segment per file: found a second document"]
    assert problems[0].pos.line == 3


def test_empty_file_is_a_problem():
    segment, problems = parse_segment_text("# nothing yet\n", "s.yaml", "s")
    assert segment is None
    assert [p.message for p in problems] == ["the file is empty"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: Big Spenders\ncriteria: {country: NO}\n", "segment name 'Big Spenders' must be"),
        ("title: x\n", "the segment has no criteria"),
        ("criteria: {country: NO}\ncritera: 1\n", "unknown key 'critera'"),
        ("- country: NO\n", "a segment file is a mapping"),
        ("name: [a]\ncriteria: {country: NO}\n", "name must be text"),
    ],
)
def test_segment_file_problems(text, message):
    segment, problems = parse_segment_text(text, "s.yaml", "s")
    assert segment is None
    assert any(message in p.message for p in problems), problems


# ---------------------------------------------------------------------------------
# in_segment across files: unknown names and cycles


def _catalog(tmp_path: Path, files: dict[str, str]):
    directory = tmp_path / "segments"
    directory.mkdir()
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory, load_catalog(directory)


def test_in_segment_unknown_name_with_hint(tmp_path):
    directory, catalog = _catalog(
        tmp_path,
        {
            "vip.yaml": "criteria: {total_spent: {gt: 1000}}\n",
            "vip-nordic.yaml": "criteria:\n  - in_segment: vipp\n  - country: [NO, SE]\n",
        },
    )
    [problem] = catalog.problems
    assert problem.path == str(directory / "vip-nordic.yaml")
    assert problem.pos == Pos(2, 17)
    assert "unknown segment 'vipp'" in problem.message
    assert problem.hint == "did you mean 'vip'?"
    assert "vip-nordic" in catalog.broken
    assert "vip" not in catalog.broken


def test_in_segment_builtin_names_are_known(tmp_path):
    _, catalog = _catalog(
        tmp_path,
        {"lapsed.yaml": "criteria: {any: [{in_segment: at-risk-repeat}, {in_segment: everyone}]}"},
    )
    assert catalog.problems == []


def test_in_segment_cycle(tmp_path):
    directory, catalog = _catalog(
        tmp_path,
        {
            "a.yaml": "criteria: {in_segment: b}\n",
            "b.yaml": "criteria:\n  all:\n    - country: NO\n    - in_segment: c\n",
            "c.yaml": "criteria: {not: {in_segment: a}}\n",
            "d.yaml": "criteria: {in_segment: c}\n",
        },
    )
    cycles = [p for p in catalog.problems if "cycle" in p.message]
    assert len(cycles) == 1, catalog.problems
    [cycle] = cycles
    assert "a → b → c → a" in cycle.message
    assert cycle.path == str(directory / "a.yaml")
    assert cycle.pos == Pos(1, 24)
    # Every segment on the cycle, and those using it, cannot be evaluated.
    assert {"a", "b", "c", "d"} <= catalog.broken


def test_in_segment_self_reference(tmp_path):
    directory, catalog = _catalog(tmp_path, {"me.yaml": "criteria:\n  - in_segment: me\n"})
    [problem] = catalog.problems
    assert "cycle: me → me" in problem.message
    assert (problem.path, problem.pos) == (str(directory / "me.yaml"), Pos(2, 17))


def test_problems_of_several_files_are_all_reported(tmp_path):
    directory, catalog = _catalog(
        tmp_path,
        {
            "one.yaml": "criteria: {total_spend: 5}\n",
            "two.yaml": "criteria:\n  orders_count: many\n",
            "three.yaml": "criteria: {in_segment: nobody}\n",
            "fine.yaml": "criteria: {country: NO}\n",
        },
    )
    where = sorted((Path(p.path).name, p.pos.line, p.pos.column) for p in catalog.problems)
    assert where == [("one.yaml", 1, 12), ("three.yaml", 1, 24), ("two.yaml", 2, 17)]
    assert "fine" in catalog.usable()


EXAMPLE_FILES = sorted(
    (Path(__file__).resolve().parents[1] / "segcli/examples/segments").glob("*.yaml")
)
MALFORMED = [
    "name: [a, b",
    "criteria:\n  - a: 1\n - b: 2\n",
    "a: b: c",
    "{x: 1",
    "key: 'open",
    "\t- tab",
]


@pytest.mark.parametrize(
    "text",
    [path.read_text(encoding="utf-8") for path in EXAMPLE_FILES] + MALFORMED,
    ids=[path.stem for path in EXAMPLE_FILES] + [f"malformed-{n}" for n in range(len(MALFORMED))],
)
def test_libyaml_and_the_python_parser_read_segment_files_alike(text, monkeypatch):
    """Files are read with libyaml when they cannot nest deeply; the result is the same."""
    fast = loader.load_yaml(text, "segment.yaml")
    monkeypatch.setattr(loader, "_FAST_NESTING_BOUND", 0)
    assert loader.load_yaml(text, "segment.yaml") == fast

"""Dates in conditions (SPEC 3.6), the as-of date (SPEC 3.7), consent history (SPEC 2.2)
and money compared exactly (SPEC 2.1, 3.2), each at its boundary, through the CLI.

Members are read with ``segment export --criteria ... --fields person_key``.
"""

from __future__ import annotations

import csv
import io

import pytest

pytestmark = pytest.mark.both_engines


def import_files(segcli, **files: str) -> None:
    for kind, text in files.items():
        result = segcli("import", kind, segcli.write(f"{kind}.csv", text))
        assert result.exit_code == 0, result.stderr


def export(segcli, as_of: str, fields: str, *selection: str) -> list[list[str]]:
    result = segcli("segment", "export", *selection, "--as-of", as_of, "--fields", fields)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    return list(csv.reader(io.StringIO(result.stdout)))[1:]


def matching(segcli, criteria: str, as_of: str) -> list[str]:
    """Customer ids (else person keys) of the people the quick filter selects."""
    rows = export(segcli, as_of, "customer_id,person_key", "--criteria", criteria)
    return [customer_id or key for customer_id, key in rows]


# --- date operators on a date field, at the boundary day ---------------------------

CREATED = """\
customer_id,email,created_at
D1,d1@example.com,2024-03-14T23:59:59Z
D2,d2@example.com,2024-03-15T00:00:00Z
D3,d3@example.com,2024-03-15T23:59:59Z
D4,d4@example.com,2024-03-16T00:00:00Z
D5,d5@example.com,2024-03-15T01:00:00+02:00
D6,d6@example.com,2024-03-14T23:30:00-01:00
N,n@example.com,
"""
# In UTC: D5 is 2024-03-14 23:00 (the 14th) and D6 is 2024-03-15 00:30 (the 15th).
# N has no date at all: always in, never matches a comparison.
ON_15TH = ["D2", "D3", "D6"]


@pytest.fixture
def created(segcli):
    import_files(segcli, customers=CREATED)
    return segcli


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        # a day stands for the whole UTC day
        ("{before: 2024-03-15}", ["D1", "D5"]),
        ("{lt: 2024-03-15}", ["D1", "D5"]),
        ("{'<': 2024-03-15}", ["D1", "D5"]),
        ("{after: 2024-03-15}", ["D4"]),
        ("{gt: 2024-03-15}", ["D4"]),
        ("{on: 2024-03-15}", ON_15TH),
        ("{eq: 2024-03-15}", ON_15TH),
        ("{lte: 2024-03-15}", ["D1", "D2", "D3", "D5", "D6"]),
        ("{gte: 2024-03-15}", ["D2", "D3", "D4", "D6"]),
        ("{ne: 2024-03-15}", ["D1", "D4", "D5"]),
        ("{between: [2024-03-15, 2024-03-15]}", ON_15TH),
        ("{between: [2024-03-14, 2024-03-15]}", ["D1", "D2", "D3", "D5", "D6"]),
        ("{between: [2024-03-16, 2024-03-14]}", []),
        ("{after: 2024-03-14, before: 2024-03-16}", ON_15TH),
        # a date-time is an instant
        ("{before: '2024-03-15T00:00:00'}", ["D1", "D5"]),
        ("{lt: '2024-03-15T00:00:00Z'}", ["D1", "D5"]),
        ("{after: '2024-03-15T00:00:00'}", ["D3", "D4", "D6"]),
        ("{gt: '2024-03-15 00:00:00'}", ["D3", "D4", "D6"]),
        ("{lte: '2024-03-15T00:00:00'}", ["D1", "D2", "D5"]),
        ("{gte: '2024-03-15T00:00:00'}", ["D2", "D3", "D4", "D6"]),
        ("{on: '2024-03-15T12:00:00'}", ON_15TH),
        # offsets are converted to UTC before anything else
        ("{on: '2024-03-15T01:00:00+02:00'}", ["D1", "D5"]),
        ("{before: '2024-03-15T02:00:00+02:00'}", ["D1", "D5"]),
        ("{after: '2024-03-14T23:30:00-01:00'}", ["D3", "D4"]),
        ("{gte: '2024-03-14T23:30:00-01:00'}", ["D3", "D4", "D6"]),
        ("{between: ['2024-03-15T00:00:00', '2024-03-15T23:59:59']}", ON_15TH),
        ("{between: ['2024-03-15T00:30:00Z', 2024-03-16]}", ["D3", "D4", "D6"]),
        ("{between: [2024-03-15, '2024-03-15T00:30:00Z']}", ["D2", "D6"]),
        ("{is_set: true}", ["D1", "D2", "D3", "D4", "D5", "D6"]),
        ("{is_set: false}", ["N"]),
    ],
)
def test_date_operator_at_the_boundary(created, condition, expected):
    assert matching(created, f"created_at: {condition}", "2024-12-31") == expected


def test_date_shorthand_means_on(created):
    result = created("segment", "export", "--criteria", "created_at: 2024-03-15")
    assert result.stderr == ""
    assert result.exit_code == 0
    assert matching(created, "created_at: 2024-03-15", "2024-12-31") == ON_15TH


def test_not_of_a_date_condition_includes_unset(created):
    got = matching(created, "not: {created_at: {before: 2024-03-15}}", "2024-12-31")
    assert got == ["D2", "D3", "D4", "D6", "N"]


@pytest.mark.parametrize(
    ("duration", "expected"),
    [
        ("1 day", ["D4"]),
        ("1d", ["D4"]),
        ("2 days", ["D2", "D3", "D4", "D6"]),
        ("-2d", ["D2", "D3", "D4", "D6"]),
        ("1 week", ["D1", "D2", "D3", "D4", "D5", "D6"]),
    ],
)
def test_within_is_after_the_day_that_long_ago(created, duration, expected):
    assert matching(created, f"created_at: {{within: {duration}}}", "2024-03-16") == expected


@pytest.mark.no_engine
def test_bad_date_is_a_validation_error(created):
    result = created("segment", "export", "--criteria", "created_at: {before: 2024-02-30}")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(
        "Error: 1 problem in segment files:\n"
        "--criteria:1:22: created_at before: expected an ISO date (2024-03-31), a date-time"
    )


# --- relative dates by the calendar ------------------------------------------------

RELATIVE = """\
customer_id,email,created_at
FEB28,feb28@example.com,2024-02-28
FEB29,feb29@example.com,2024-02-29
MAR01,mar01@example.com,2024-03-01
Y23FEB28,y1@example.com,2023-02-28
Y23MAR01,y2@example.com,2023-03-01
MAR17,mar17@example.com,2024-03-17
MAR28,mar28@example.com,2024-03-28
MAR30,mar30@example.com,2024-03-30
MAR31,mar31@example.com,2024-03-31T23:59:59
"""


@pytest.mark.parametrize(
    ("condition", "as_of", "expected"),
    [
        ("{on: 1 month ago}", "2024-03-31", ["FEB29"]),
        ("{on: -1m}", "2024-03-31", ["FEB29"]),
        ("{on: 1 year ago}", "2024-02-29", ["Y23FEB28"]),
        ("{on: -1y}", "2024-02-29", ["Y23FEB28"]),
        ("{on: -1y}", "2024-03-01", ["Y23MAR01"]),
        ("{on: 12 months ago}", "2024-02-29", ["Y23FEB28"]),
        ("{on: today}", "2024-03-31", ["MAR31"]),
        ("{on: yesterday}", "2024-03-31", ["MAR30"]),
        ("{on: 3 days ago}", "2024-03-31", ["MAR28"]),
        ("{on: 2 weeks ago}", "2024-03-31", ["MAR17"]),
        ("{on: -14d}", "2024-03-31", ["MAR17"]),
        ("{after: -2w}", "2024-03-31", ["MAR28", "MAR30", "MAR31"]),
        ("{before: 1 month ago}", "2024-03-31", ["FEB28", "Y23FEB28", "Y23MAR01"]),
        ("{gte: 1 month ago}", "2024-03-30", ["FEB29", "MAR01", "MAR17", "MAR28", "MAR30"]),
    ],
)
def test_relative_dates_count_back_by_the_calendar(segcli, condition, as_of, expected):
    import_files(segcli, customers=RELATIVE)
    assert sorted(matching(segcli, f"created_at: {condition}", as_of)) == sorted(expected)


# --- the as-of date ------------------------------------------------------------------

ASOF_FILES = {
    "customers": """\
customer_id,email,created_at
K1,k1@example.com,2024-01-01
K2,k2@example.com,2024-05-01
K3,k3@example.com,2024-05-01
K4,k4@example.com,
K5,k5@example.com,
K6,k6@example.com,
""",
    "orders": """\
order_id,customer_id,created_at,total,status
O1,K1,2024-02-01,100,paid
O2,K1,2024-03-01T23:59:59,50,paid
O3,K1,2024-03-02T00:00:00,25,paid
O4,K1,2024-03-02T01:00:00+02:00,10,paid
O5,K2,2024-02-01,70,cancelled
""",
    "reviews": """\
customer_id,product_id,rating,created_at
K1,P1,5,2024-03-05
K5,P2,4,
""",
    "carts": """\
customer_id,email,created_at
K1,,2024-03-02
K6,,2024-04-01
""",
    "subscribers": """\
email,subscribed_at,status
k7@example.com,,subscribed
k8@example.com,2024-04-01,subscribed
""",
}
# As of 2024-03-01: K1 (created Jan 1), K2 (a cancelled order on Feb 1 although its
# account is dated May 1), K4 and K5 and k7 (no date known at all: an undated review, an
# undated subscription). Not K3 (May 1), K6 (a cart on Apr 1) or k8 (subscribed Apr 1).
KNOWN_ON_MARCH_1 = ["K1", "K2", "K4", "K5", "e:k7@example.com"]


@pytest.fixture
def dated(segcli):
    import_files(segcli, **ASOF_FILES)
    return segcli


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        ("2023-12-31", ["K4", "K5", "e:k7@example.com"]),
        ("2024-01-31", ["K1", "K4", "K5", "e:k7@example.com"]),
        ("2024-03-01", KNOWN_ON_MARCH_1),
        ("2024-04-01", [*KNOWN_ON_MARCH_1[:4], "K6", "e:k7@example.com", "e:k8@example.com"]),
        (
            "2024-05-01",
            ["K1", "K2", "K3", "K4", "K5", "K6", "e:k7@example.com", "e:k8@example.com"],
        ),
    ],
)
def test_people_first_seen_later_are_left_out(dated, as_of, expected):
    assert matching(dated, "{orders_count: {gte: 0}}", as_of) == expected
    rows = export(dated, as_of, "customer_id,person_key", "everyone")
    assert [customer_id or key for customer_id, key in rows] == expected


def test_orders_after_the_as_of_day_are_left_out(dated):
    # O4 is 2024-03-01 23:00 UTC: in. O3 is 2024-03-02 00:00 UTC: out.
    fields = "customer_id,orders_count,total_spent,first_order_at,last_order_at"
    assert export(dated, "2024-03-01", fields, "all-customers") == [
        ["K1", "3", "160.00", "2024-02-01T00:00:00Z", "2024-03-01T23:59:59Z"]
    ]
    assert export(dated, "2024-03-02", fields, "all-customers") == [
        ["K1", "4", "185.00", "2024-02-01T00:00:00Z", "2024-03-02T00:00:00Z"]
    ]
    assert matching(dated, "purchased: {after: 2024-03-01}", "2024-03-01") == []
    assert matching(dated, "purchased: {after: 2024-03-01}", "2024-03-02") == ["K1"]
    assert matching(dated, "has_order: {status: cancelled}", "2024-03-01") == ["K2"]
    assert matching(dated, "has_order: {total: {lt: 30}}", "2024-03-01") == ["K1"]


def test_reviews_after_the_as_of_day_are_left_out(dated):
    assert matching(dated, "reviewed: {product: P1}", "2024-03-04") == []
    assert matching(dated, "reviewed: {product: P1}", "2024-03-05") == ["K1"]
    # an undated review always counts
    assert matching(dated, "reviewed: {product: P2}", "2023-01-01") == ["K5"]


def test_carts_after_the_as_of_day_are_left_out(dated):
    assert matching(dated, "abandoned_cart: true", "2024-03-01") == []
    assert matching(dated, "abandoned_cart: true", "2024-03-02") == ["K1"]
    assert matching(dated, "abandoned_cart: true", "2024-04-01") == ["K1", "K6"]
    # K6 is known only from its cart: not yet on Mar 31, a potential customer on Apr 1.
    stages = dict(export(dated, "2024-03-31", "person_key,lifecycle", "everyone"))
    assert "c:K6" not in stages
    stages = dict(export(dated, "2024-04-01", "person_key,lifecycle", "everyone"))
    assert stages["c:K6"] == "potential-customers"


def test_subscriptions_after_the_as_of_day_are_left_out(dated):
    assert matching(dated, "accepts_marketing: true", "2024-03-31") == ["e:k7@example.com"]
    assert matching(dated, "accepts_marketing: true", "2024-04-01") == [
        "e:k7@example.com",
        "e:k8@example.com",
    ]


def test_same_as_of_gives_the_same_members(dated):
    first = dated("segment", "export", "everyone", "--as-of", "2024-03-01")
    again = dated("segment", "export", "everyone", "--as-of", "2024-03-01")
    assert first.exit_code == again.exit_code == 0
    assert first.stdout == again.stdout


# --- accepts_marketing from the subscriber history ---------------------------------

CONSENT_FILES = {
    "customers": """\
customer_id,email,created_at,accepts_marketing
S1,s1@example.com,2023-01-01,yes
S2,s2@example.com,2023-01-01,no
S3,s3@example.com,2023-01-01,yes
S3B,s3b@example.com,2023-01-01,yes
S4,s4@example.com,2023-01-01,yes
S5,s5@example.com,2023-01-01,yes
S5B,s5b@example.com,2023-01-01,no
S6,s6@example.com,2023-01-01,
S7,s7@example.com,2023-01-01,no
S8,s8@example.com,2023-01-01,yes
""",
    "subscribers": """\
email,subscribed_at,status
s1@example.com,2024-01-01,subscribed
s1@example.com,2024-02-01,unsubscribed
s2@example.com,,unsubscribed
s2@example.com,2023-06-01,subscribed
s3@example.com,2024-01-01,subscribed
s3@example.com,2024-01-01,unsubscribed
s3b@example.com,2024-01-01,unsubscribed
s3b@example.com,2024-01-01,subscribed
s4@example.com,,unsubscribed
s5@example.com,2024-06-01,unsubscribed
s5b@example.com,2024-06-01,subscribed
s7@example.com,,subscribed
s8@example.com,,subscribed
s8@example.com,,unsubscribed
""",
}


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        # S1: its customer row before any subscriber row, then subscribed, then not.
        # S2: a dated subscription beats an undated unsubscription (undated is oldest).
        # S3, S3B: subscribed and unsubscribed at the same time: unsubscribed wins.
        # S4: only an undated unsubscription: it beats the customer row.
        # S5, S5B: subscriber rows after the as-of date are left out, so the customer
        #   row decides until then.
        # S6: unknown is false. S7: an undated subscription. S8: an undated tie.
        ("2023-12-31", {"S1", "S2", "S3", "S3B", "S5", "S7"}),
        ("2024-01-01", {"S1", "S2", "S5", "S7"}),
        ("2024-01-31", {"S1", "S2", "S5", "S7"}),
        ("2024-02-01", {"S2", "S5", "S7"}),
        ("2024-06-01", {"S2", "S5B", "S7"}),
    ],
)
def test_accepts_marketing_from_the_latest_subscriber_row(segcli, as_of, expected):
    import_files(segcli, **CONSENT_FILES)
    rows = export(segcli, as_of, "customer_id,accepts_marketing", "everyone")
    assert {customer_id for customer_id, accepts in rows if accepts == "true"} == expected
    assert len(rows) == 10
    assert set(matching(segcli, "accepts_marketing: true", as_of)) == expected
    subscribed = export(segcli, as_of, "customer_id", "everyone", "--subscribed-only")
    assert {row[0] for row in subscribed} == expected


# --- money to the fourth decimal ---------------------------------------------------

MONEY_FILES = {
    "customers": "customer_id,email\nNONE,none@example.com\n",
    "orders": """\
order_id,customer_id,created_at,total
A1,M1,2024-01-01,500.0001
B1,M2,2024-01-01,500.0001
B2,M2,2024-01-02,0.0001
C1,M3,2024-01-01,500
D1,AV,2024-01-01,33.3333
D2,AV,2024-01-02,33.3333
D3,AV,2024-01-03,33.3334
""",
}
# total_spent: M1 500.0001, M2 500.0002, M3 500, AV 100, NONE 0.
# average_order_value: M1 500.0001, M2 250.0001, M3 500, AV 100/3 = 33.333..., NONE unset.


@pytest.fixture
def money(segcli):
    import_files(segcli, **MONEY_FILES)
    return segcli


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("total_spent: {gt: 500.0001}", ["M2"]),
        ("total_spent: {gt: 500.00010}", ["M2"]),
        ("total_spent: {gte: 500.0001}", ["M1", "M2"]),
        ("total_spent: 500.0001", ["M1"]),
        ("total_spent: {ne: 500.0001}", ["AV", "M2", "M3", "NONE"]),
        ("total_spent: {lt: 500.0001}", ["AV", "M3", "NONE"]),
        ("total_spent: {between: [500, 500.0001]}", ["M1", "M3"]),
        ("total_spent: {in: [100, 500.0002]}", ["AV", "M2"]),
        ("total_spent: {lte: 0}", ["NONE"]),
        ("average_order_value: {gt: 33.3333}", ["AV", "M1", "M2", "M3"]),
        ("average_order_value: {lt: 33.3334}", ["AV"]),
        ("average_order_value: {eq: 33.3333}", []),
        ("average_order_value: {lte: 33.3333}", []),
        ("average_order_value: {gte: 33.3334}", ["M1", "M2", "M3"]),
        ("average_order_value: {between: [33.3333, 33.3334]}", ["AV"]),
        ("average_order_value: 250.0001", ["M2"]),
        ("not: {average_order_value: {lt: 33.3334}}", ["M1", "M2", "M3", "NONE"]),
    ],
)
def test_money_compared_exactly(money, condition, expected):
    assert sorted(matching(money, condition, "2024-12-31")) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [("false", ["NONE"]), ("true", ["AV", "M1", "M2", "M3"])]
)
def test_average_order_value_is_set(money, value, expected):
    criteria = f"average_order_value: {{is_set: {value}}}"
    result = money("segment", "export", "--criteria", criteria)
    assert result.stderr == ""
    assert result.exit_code == 0
    assert sorted(matching(money, criteria, "2024-12-31")) == expected


def test_money_totals_are_exact(money):
    rows = export(money, "2024-12-31", "customer_id,total_spent,orders_count", "everyone")
    assert rows == [
        ["AV", "100.00", "3"],
        ["M1", "500.0001", "1"],
        ["M2", "500.0002", "2"],
        ["M3", "500.00", "1"],
        ["NONE", "0.00", "0"],
    ]


@pytest.mark.no_engine
def test_money_with_five_decimals_is_a_validation_error(money):
    result = money("segment", "export", "--criteria", "total_spent: {gt: 500.00001}")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "Error: 1 problem in segment files:\n"
        "--criteria:1:19: total_spent gt: expected an amount with at most four decimals, "
        "got '500.00001'\n"
    )

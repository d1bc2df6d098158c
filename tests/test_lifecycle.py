"""Lifecycle stages (SPEC 3.5) on small stores whose figures are worked out by hand.

A is the mean of all the calendar-day gaps between consecutive counted orders of every
person with 2+ counted orders, pooled. Each test says how A comes out, and where each
person falls, at the boundaries A-1, A, 3A-1 and 3A.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest

from segcli.rules.fields import LIFECYCLE_STAGES as STAGES

pytestmark = pytest.mark.both_engines
AS_OF = date(2024, 6, 30)


def ago(days: int, time: str = "") -> str:
    """The date ``days`` before AS_OF (negative: after), with an optional time of day."""
    day = (AS_OF - timedelta(days=days)).isoformat()
    return f"{day}T{time}" if time else day


def import_files(segcli, **files: str) -> None:
    for kind, text in files.items():
        result = segcli("import", kind, segcli.write(f"{kind}.csv", text))
        assert result.exit_code == 0, result.stderr


def exported(segcli, segment: str, as_of, fields: str = "person_key") -> list[list[str]]:
    result = segcli("segment", "export", segment, "--as-of", str(as_of), "--fields", fields)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    return list(csv.reader(io.StringIO(result.stdout)))[1:]


def stages_of(segcli, as_of) -> dict[str, str]:
    """person_key → lifecycle stage, from the everyone export."""
    return dict(exported(segcli, "everyone", as_of, "person_key,lifecycle"))


def members(segcli, segment: str, as_of) -> set[str]:
    return {row[0] for row in exported(segcli, segment, as_of)}


def repeat_time(segcli, as_of) -> str:
    """A as shown in the caption of segment calculate's table."""
    result = segcli("segment", "calculate", "everyone", "--as-of", str(as_of))
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    # The caption is the table's last line, after the blank line that ends its rows.
    match = re.fullmatch(
        r"\d+ (?:person|people); average repeat-purchase time A = (\S+) days",
        result.stdout.splitlines()[-1],
    )
    assert match, result.stdout
    return match[1]


def order_rows(orders: dict[str, list[tuple[str, str]]]) -> str:
    """Orders file from {customer id: [(created_at, status), ...]}, each total 10."""
    lines = ["order_id,customer_id,created_at,total,status"]
    number = 0
    for customer_id, placed in orders.items():
        for created_at, status in placed:
            number += 1
            lines.append(f"O{number},{customer_id},{created_at},10,{status}")
    return "\n".join(lines) + "\n"


# Store 1: A = 20.
#   X orders 100, 90 and 60 days before the as-of date: gaps 10 and 30.
#   Every other repeat customer has two orders 20 days apart: gap 20.
#   Gaps 10 + 30 + 20 * 5 = 140 over 7 gaps: A = 20, 3A = 60.
#   Uncounted orders (cancelled, refunded, ...) would add gaps if they were counted.
REPEAT_ORDERS = {
    "X": [(ago(100), "paid"), (ago(90), "paid"), (ago(60), "paid")],  # 60 = 3A: inactive
    "A19": [(ago(39), "paid"), (ago(19), "")],  # 19 = A-1: active
    "A20": [(ago(40), "paid"), (ago(20), "Pending")],  # 20 = A: at-risk
    "A59": [(ago(79), "paid"), (ago(59), "paid")],  # 59 = 3A-1: at-risk
    "A60": [(ago(80), "shipped"), (ago(60), "paid")],  # 60 = 3A: inactive
    "A0": [(ago(20), "paid"), (ago(0, "23:59:59"), "paid")],  # 0: active
    # the second order is after the as-of date: one counted order as of then
    "LATER": [(ago(30), "paid"), (ago(-1, "00:00:00"), "paid")],
    # only the first order counts: a first-time buyer whose other orders add no gap
    "ONE": [
        (ago(50), ""),
        (ago(45), "cancelled"),
        (ago(44), "CANCELED"),
        (ago(43), "Refunded"),
        (ago(42), "voided"),
        (ago(41), "FAILED"),
    ],
    "NONE": [(ago(10), "cancelled"), (ago(9), "refunded")],  # no counted order
    "NONE2": [(ago(10), "failed")],
    "NONE3": [(ago(10), "voided")],
}
CUSTOMERS = """\
customer_id,email,accepts_marketing,created_at
X,x@example.com,no,2023-01-01
A19,a19@example.com,,2023-01-01
NONE,none@example.com,yes,2023-01-01
NONE2,none2@example.com,no,2023-01-01
NONE3,none3@example.com,,2023-01-01
P1,p1@example.com,yes,2023-01-01
P2,p2@example.com,yes,2023-01-01
U1,u1@example.com,no,2023-01-01
U2,u2@example.com,,2023-01-01
U3,u3@example.com,no,
U4,u4@example.com,no,2023-01-01
"""
SUBSCRIBERS = """\
email,subscribed_at,status
sub@example.com,2024-01-01,subscribed
u1@example.com,2024-01-01,unsubscribed
"""
CARTS = f"""\
customer_id,email,created_at
NONE2,,{ago(5)}
P2,,{ago(5)}
,cart@example.com,{ago(3)}
U4,,{ago(-1)}
,future@example.com,{ago(-1)}
"""
EXPECTED_STAGES = {
    "c:X": "inactive-repeat",
    "c:A19": "active-repeat",
    "c:A20": "at-risk-repeat",
    "c:A59": "at-risk-repeat",
    "c:A60": "inactive-repeat",
    "c:A0": "active-repeat",
    "c:LATER": "first-time-buyers",
    "c:ONE": "first-time-buyers",
    "c:NONE": "prospects",  # cancelled orders only, accepts marketing
    "c:NONE2": "potential-customers",  # cancelled only, no consent, a cart
    "c:NONE3": "unengaged",  # voided only, consent unknown (false), no cart
    "c:P1": "prospects",
    "c:P2": "prospects",  # consent wins over the cart
    "e:sub@example.com": "prospects",  # a newsletter subscriber only
    "e:cart@example.com": "potential-customers",  # a cart abandoner only
    "c:U1": "unengaged",  # unsubscribed
    "c:U2": "unengaged",  # consent unknown
    "c:U3": "unengaged",  # no date known at all: always in
    "c:U4": "unengaged",  # the cart is after the as-of date
    # e:future@example.com is known only from a cart after the as-of date: not in at all
}


@pytest.fixture
def store(segcli):
    import_files(
        segcli,
        customers=CUSTOMERS,
        orders=order_rows(REPEAT_ORDERS),
        subscribers=SUBSCRIBERS,
        carts=CARTS,
    )
    return segcli


def test_repeat_purchase_time_is_the_mean_of_pooled_gaps(store):
    assert repeat_time(store, AS_OF) == "20.0"


def test_every_stage_at_its_boundaries(store):
    assert stages_of(store, AS_OF) == EXPECTED_STAGES


def test_stage_segments_partition_everyone(store):
    everyone = members(store, "everyone", AS_OF)
    assert everyone == set(EXPECTED_STAGES)
    seen: dict[str, str] = {}
    for stage in STAGES:
        in_stage = members(store, stage, AS_OF)
        assert in_stage == {key for key, value in EXPECTED_STAGES.items() if value == stage}
        for key in in_stage:
            assert key not in seen, f"{key} is in {seen[key]} and {stage}"
            seen[key] = stage
    assert set(seen) == everyone


def test_builtin_customer_segments(store):
    repeat = {"c:X", "c:A19", "c:A20", "c:A59", "c:A60", "c:A0"}
    assert members(store, "repeat-customers", AS_OF) == repeat
    assert members(store, "all-customers", AS_OF) == repeat | {"c:LATER", "c:ONE"}


def test_counted_orders_only(store):
    rows = exported(store, "everyone", AS_OF, "person_key,orders_count,total_spent")
    counts = {key: (count, spent) for key, count, spent in rows}
    assert counts["c:ONE"] == ("1", "10.00")
    assert counts["c:NONE"] == ("0", "0.00")
    assert counts["c:A20"] == ("2", "20.00")  # "Pending" counts
    assert counts["c:A60"] == ("2", "20.00")  # "shipped" counts
    assert counts["c:A19"] == ("2", "20.00")  # an empty status counts
    assert counts["c:LATER"] == ("1", "10.00")


def test_stages_move_with_the_as_of_date(store):
    # One day later the gaps are the same (A = 20) but everyone's last order is older;
    # LATER's second order now counts: gap 31, A = (140 + 31) / 8 = 21.375, 3A = 64.125.
    later = AS_OF + timedelta(days=1)
    assert repeat_time(store, later) == "21.4"
    stages = stages_of(store, later)
    assert stages["c:A19"] == "active-repeat"  # 20 < 21.375
    assert stages["c:A20"] == "active-repeat"  # 21 < 21.375
    assert stages["c:A59"] == "at-risk-repeat"  # 60
    assert stages["c:A60"] == "at-risk-repeat"  # 61 < 64.125
    assert stages["c:X"] == "at-risk-repeat"
    assert stages["c:A0"] == "active-repeat"  # 1
    assert stages["c:LATER"] == "active-repeat"  # 0
    assert stages["c:U4"] == "potential-customers"  # its cart now counts
    assert stages["e:future@example.com"] == "potential-customers"


# Store 2: A is not a whole number. Gaps 20, 20, 20 and 21: A = 81/4 = 20.25, 3A = 60.75.
# Rounding A to 20 would move Q20 to at-risk and Q60 to inactive.
FRACTIONAL_ORDERS = {
    "Q20": [(ago(40), "paid"), (ago(20), "paid")],  # 20 < 20.25: active
    "Q21": [(ago(41), "paid"), (ago(21), "paid")],  # 21: at-risk
    "Q60": [(ago(80), "paid"), (ago(60), "paid")],  # 60 < 60.75: at-risk
    "Q61": [(ago(82), "paid"), (ago(61), "paid")],  # 61 >= 60.75: inactive
}


def test_fractional_repeat_time_is_compared_exactly(segcli):
    import_files(segcli, orders=order_rows(FRACTIONAL_ORDERS))
    assert stages_of(segcli, AS_OF) == {
        "c:Q20": "active-repeat",
        "c:Q21": "at-risk-repeat",
        "c:Q60": "at-risk-repeat",
        "c:Q61": "inactive-repeat",
    }


# Store 3: gaps are whole calendar days in UTC, not 24-hour periods.
#   Z: 23:30 and 00:30 the next day: gap 1 (an hour apart).
#   W: 10:00 and 01:30+02:00 the next day, which is 23:30 UTC the same day: gap 0.
#   A = 1/2 = 0.5, 3A = 1.5.
CALENDAR_ORDERS = """\
order_id,customer_id,created_at,total
Z1,Z,2024-06-01T23:30:00Z,10
Z2,Z,2024-06-02T00:30:00Z,10
W1,W,2024-06-01T10:00:00,10
W2,W,2024-06-02T01:30:00+02:00,10
"""


def test_gaps_and_days_since_are_calendar_days_in_utc(segcli):
    import_files(segcli, orders=CALENDAR_ORDERS)
    assert repeat_time(segcli, "2024-06-02") == "0.5"
    # Z bought last on June 2 (0 days), W on June 1 (1 day).
    assert stages_of(segcli, "2024-06-02") == {"c:W": "at-risk-repeat", "c:Z": "active-repeat"}
    assert stages_of(segcli, "2024-06-03") == {"c:W": "inactive-repeat", "c:Z": "at-risk-repeat"}
    rows = exported(segcli, "everyone", "2024-06-03", "person_key,days_since_last_order")
    assert rows == [["c:W", "2"], ["c:Z", "1"]]


def test_no_repeat_customers_means_no_a(segcli):
    import_files(segcli, orders="order_id,customer_id,created_at,total\nO1,C1,2024-01-01,5\n")
    assert repeat_time(segcli, AS_OF) == "-"
    assert stages_of(segcli, AS_OF) == {"c:C1": "first-time-buyers"}

"""Value parsing at the door (SPEC 2.1): every accepted and rejected spelling, and money display."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segcli.errors import BadValue
from segcli.importer import values
from segcli.money import format_money

STORED_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{6})?$")


def rejects(parse, raw: str) -> str:
    """The reason ``parse`` gives for refusing ``raw``."""
    with pytest.raises(BadValue) as caught:
        parse(raw)
    return caught.value.reason


# --- dates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("2024-01-02", "2024-01-02 00:00:00"),
        ("2024-02-29", "2024-02-29 00:00:00"),
        ("2024-01-02T03:04", "2024-01-02 03:04:00"),
        ("2024-01-02T03:04:05", "2024-01-02 03:04:05"),
        ("2024-01-02 03:04:05", "2024-01-02 03:04:05"),
        ("2024-01-02T03:04:05Z", "2024-01-02 03:04:05"),
        ("2024-01-02T03:04:05+00:00", "2024-01-02 03:04:05"),
        ("2024-01-02T03:04:05+02:00", "2024-01-02 01:04:05"),
        ("2024-01-02T03:04:05+0200", "2024-01-02 01:04:05"),
        ("2024-01-02T01:00:00-05:30", "2024-01-02 06:30:00"),
        ("2024-01-01T23:30:00-01:00", "2024-01-02 00:30:00"),
        ("2024-03-01T00:30:00+01:00", "2024-02-29 23:30:00"),
        ("2025-01-01T00:00:00+14:00", "2024-12-31 10:00:00"),
        ("2024-01-02T03:04:05.250+01:00", "2024-01-02 02:04:05.250000"),
        ("  2024-01-02  ", "2024-01-02 00:00:00"),
        ("", None),
        ("   ", None),
    ],
)
def test_timestamp_accepts_iso_dates_and_converts_offsets_to_utc(raw, stored):
    assert values.timestamp(raw) == stored


@pytest.mark.parametrize(
    "raw",
    [
        "2024-02-30",
        "0000-00-00",
        "2023-02-29",
        "2024-13-01",
        "2024-01-32",
        "2024-1-2",
        "1704153600",
        "today",
        "2024-01-02T25:00",
        "2024-01-02T03:04:05 PM",
        "2024-01-02T03:04:05+25:00",
        # Valid locally, but before year 1 once converted to UTC.
        "0001-01-01T00:00:00+01:00",
    ],
)
def test_timestamp_rejects_what_is_not_an_iso_date(raw):
    reason = rejects(values.timestamp, raw)
    assert raw in reason
    assert "date" in reason


# --- money ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "units"),
    [
        ("12.5", 125_000),
        ("12.50", 125_000),
        ("12", 120_000),
        ("0", 0),
        ("-3.25", -32_500),
        ("+1", 10_000),
        (".5", 5_000),
        ("0.0001", 1),
        ("-0.0001", -1),
        ("1234.5678", 12_345_678),
        ("999999999999.9999", 9_999_999_999_999_999),
        ("  7  ", 70_000),
        ("", None),
    ],
)
def test_money_is_exact_ten_thousandths(raw, units):
    assert values.money(raw) == units


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("12,50", "dot"),
        ("1,234.50", "dot"),
        ("12.34567", "four decimals"),
        ("0.00001", "four decimals"),
        ("NaN", "money"),
        ("nan", "money"),
        ("Infinity", "money"),
        ("-inf", "money"),
        ("1e309", "large"),
        ("1000000000000", "large"),
        ("-1000000000000", "large"),
        ("$12", "money"),
        ("12 EUR", "money"),
        ("12.5.1", "money"),
        ("abc", "money"),
    ],
)
def test_money_rejects(raw, words):
    reason = rejects(values.money, raw)
    assert raw in reason
    assert words in reason


@pytest.mark.parametrize("raw", ["1_000", "\u0661\u0662", "\uff11\uff12", "0x10", "1.2.3"])
@pytest.mark.parametrize("parse", [values.money, values.integer])
def test_numbers_reject_spellings_that_are_not_csv_decimals(parse, raw):
    rejects(parse, raw)


@pytest.mark.parametrize(
    ("units", "shown"),
    [
        (None, ""),
        (0, "0.00"),
        (1, "0.0001"),
        (100, "0.01"),
        (1_000, "0.10"),
        (10_000, "1.00"),
        (125_000, "12.50"),
        (12_345_678, "1234.5678"),
        (-1, "-0.0001"),
        (-32_500, "-3.25"),
        (9_999_999_999_999_999, "999999999999.9999"),
    ],
)
def test_format_money_shows_the_exact_amount_with_at_least_two_decimals(units, shown):
    assert format_money(units) == shown


# --- whole numbers, ratings ----------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "number"),
    [("2", 2), ("2.0", 2), ("-3", -3), ("0", 0), (" 4 ", 4), ("", None)],
)
def test_integer_accepts_whole_numbers(raw, number):
    assert values.integer(raw) == number


@pytest.mark.parametrize("raw", ["2.5", "-0.5", "abc", "1,000", "NaN", "1e309"])
def test_integer_rejects(raw):
    assert raw in rejects(values.integer, raw)


@pytest.mark.parametrize("raw", ["1", "2", "3", "4", "5", "5.0"])
def test_rating_accepts_one_to_five(raw):
    assert values.rating(raw) == int(Decimal(raw))


@pytest.mark.parametrize("raw", ["0", "6", "-1", "4.5", "five"])
def test_rating_rejects_outside_one_to_five(raw):
    assert raw in rejects(values.rating, raw)


# --- booleans ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        *[(word, 1) for word in ("true", "TRUE", "True", "yes", "YES", "1", "y", "Y", "t", "T")],
        *[(word, 0) for word in ("false", "FALSE", "False", "no", "No", "0", "n", "N", "f", "F")],
        ("  yes ", 1),
        ("", None),
        ("  ", None),
    ],
)
def test_boolean_spellings(raw, stored):
    assert values.boolean(raw) == stored


@pytest.mark.parametrize("raw", ["on", "off", "maybe", "2", "-1", "truee", "yes please"])
def test_boolean_rejects(raw):
    assert raw in rejects(values.boolean, raw)


# --- emails --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        (" Ann@Example.COM ", "ann@example.com"),
        ("a.b+tag@sub.example.org", "a.b+tag@sub.example.org"),
        ("", None),
        ("   ", None),
    ],
)
def test_email_is_trimmed_and_lower_cased(raw, stored):
    assert values.email(raw) == stored


@pytest.mark.parametrize("raw", ["plain", "@x.com", "ann@", "a b@x.com", "ann@exa mple.com"])
def test_email_rejects(raw):
    reason = rejects(values.email, raw)
    assert raw in reason
    assert "email" in reason


# --- lists, statuses -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("vip, wholesale", ["vip", "wholesale"]),
        (" vip ", ["vip"]),
        ("a,,b,", ["a", "b"]),
        ("Ünïcode, b", ["Ünïcode", "b"]),
        ("", []),
        (" , ", []),
    ],
)
def test_tags_are_a_json_array_never_unset(raw, stored):
    assert json.loads(values.tags(raw)) == stored


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("Kitchen; Gifts", ["Kitchen", "Gifts"]),
        ("Tea, Coffee", ["Tea, Coffee"]),
        ("", []),
    ],
)
def test_collections_are_separated_by_semicolons(raw, stored):
    assert json.loads(values.collections(raw)) == stored


@pytest.mark.parametrize(
    ("raw", "stored"),
    [("subscribed", "subscribed"), ("unsubscribed", "unsubscribed"), ("", "subscribed")],
)
def test_subscription_status(raw, stored):
    assert values.subscription_status(raw) == stored


@pytest.mark.parametrize("raw", ["pending", "yes", "unsubscribe"])
def test_subscription_status_rejects(raw):
    assert raw in rejects(values.subscription_status, raw)


@pytest.mark.parametrize(
    ("status", "counted"),
    [
        (None, 1),
        ("paid", 1),
        ("pending", 1),
        *[(status, 0) for status in ("cancelled", "canceled", "refunded", "voided", "failed")],
    ],
)
def test_uncounted_statuses(status, counted):
    assert values.is_counted(status) == counted


@pytest.mark.parametrize("raw", ["Cancelled", "REFUNDED", " Voided "])
def test_order_status_is_matched_in_any_case(raw):
    assert values.is_counted(values.status(raw)) == 0


# --- properties ----------------------------------------------------------------------

_LIMIT_UNITS = 10**16  # MONEY_LIMIT (10**12) in ten-thousandths


@st.composite
def four_place_decimals(draw) -> Decimal:
    """Any amount with at most 4 decimals under the limit, in any of Decimal's spellings."""
    units = draw(st.integers(min_value=-_LIMIT_UNITS + 1, max_value=_LIMIT_UNITS - 1))
    amount = Decimal(units).scaleb(-4)
    if draw(st.booleans()):
        amount = amount.normalize()  # e.g. 1E+2, the form str() gives after arithmetic
    return amount


@settings(deadline=None)
@given(four_place_decimals())
def test_money_round_trips_exactly(amount):
    units = values.money(str(amount))
    assert units == amount * 10_000
    assert Decimal(format_money(units)) == amount


@settings(deadline=None)
@given(st.integers(min_value=-(10**15), max_value=10**15).filter(lambda n: n % 10))
def test_money_refuses_a_fifth_decimal(hundred_thousandths):
    with pytest.raises(BadValue):
        values.money(str(Decimal(hundred_thousandths).scaleb(-5)))


_OFFSETS = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
_MOMENTS = st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31))


def _instant(stored: str) -> datetime:
    assert STORED_TIMESTAMP.match(stored), stored
    return datetime.fromisoformat(stored).replace(tzinfo=UTC)


@settings(deadline=None)
@given(_MOMENTS, _OFFSETS, st.sampled_from(["T", " "]))
def test_timestamp_with_any_offset_is_the_same_utc_instant(moment, offset, separator):
    aware = moment.replace(tzinfo=offset)
    stored = values.timestamp(aware.isoformat(sep=separator))
    assert _instant(stored) == aware.astimezone(UTC)


@settings(deadline=None)
@given(_MOMENTS)
def test_timestamp_without_offset_is_utc(moment):
    assert _instant(values.timestamp(moment.isoformat())) == moment.replace(tzinfo=UTC)


@settings(deadline=None)
@given(st.dates())
def test_date_alone_is_midnight_utc(day: date):
    stored = values.timestamp(day.isoformat())
    assert _instant(stored) == datetime(day.year, day.month, day.day, tzinfo=UTC)


@settings(deadline=None)
@given(_MOMENTS, _OFFSETS, _MOMENTS, _OFFSETS)
def test_stored_timestamps_sort_in_time_order(first, first_offset, second, second_offset):
    first, second = first.replace(tzinfo=first_offset), second.replace(tzinfo=second_offset)
    stored_first = values.timestamp(first.isoformat())
    stored_second = values.timestamp(second.isoformat())
    assert (stored_first < stored_second) == (first < second)
    assert (stored_first == stored_second) == (first == second)

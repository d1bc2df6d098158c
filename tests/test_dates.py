"""Reading dates: ISO and Shopify offsets, numeric day/month dates in a given or proven
order, month names (segcli.importer.dates), and the import options that choose the order
(--dayfirst, --monthfirst, --date-format) through the CLI.

Every expected stored value below was worked out by hand from the value the test writes.
"""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segcli.errors import BadValue
from segcli.importer.dates import (
    DAY_FIRST,
    MONTH_FIRST,
    DateReader,
    collect_evidence,
    describe,
    readings,
)
from tests.conftest import checked

ORDERS = "order_id,customer_id,created_at,total"


def lines(*rows: str) -> str:
    return "\n".join(rows) + "\n"


def created(segcli, table: str = "orders") -> dict[str, str]:
    key = "order_id" if table == "orders" else "customer_id"
    return dict(segcli.rows(f"SELECT {key}, created_at FROM {table} ORDER BY 1"))


def summary(result, path, *, read, inserted=0, updated=0, unchanged=0, rejected=0) -> None:
    pattern = (
        rf"^{re.escape(str(path))}: {read} rows? read: {inserted} inserted, {updated} updated, "
        rf"{unchanged} unchanged, {rejected} rejected$"
    )
    assert re.search(pattern, result.stderr, re.MULTILINE), result.stderr


# --- ISO dates and Shopify's offsets --------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-01", "2024-03-01 00:00:00"),
        ("2024-01-02T03:04:05", "2024-01-02 03:04:05"),
        ("2024-01-02T03:04:05Z", "2024-01-02 03:04:05"),
        ("2024-01-02T03:04:05+02:00", "2024-01-02 01:04:05"),
        # Shopify's orders export: a space before the offset, no colon in it.
        ("2025-05-11 09:55:16 -0400", "2025-05-11 13:55:16"),
        ("2025-05-11 22:10:00 -0400", "2025-05-12 02:10:00"),
        ("2024-12-31 23:30:00 -0100", "2025-01-01 00:30:00"),
        ("2024-03-01 00:30:00 +0530", "2024-02-29 19:00:00"),
        ("  2024-03-01 10:00:00  ", "2024-03-01 10:00:00"),
    ],
)
@pytest.mark.parametrize("order", [None, DAY_FIRST, MONTH_FIRST])
def test_iso_and_shopify_dates_are_stored_as_utc_text(value, expected, order):
    assert DateReader(order)(value) == expected


@pytest.mark.parametrize("order", [None, DAY_FIRST, MONTH_FIRST])
def test_empty_cell_is_no_date(order):
    assert DateReader(order)("") is None
    assert DateReader(order)("   ") is None


# --- numeric day/month dates ----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "order", "expected"),
    [
        ("1/12/2010", DAY_FIRST, "2010-12-01 00:00:00"),
        ("1/12/2010", MONTH_FIRST, "2010-01-12 00:00:00"),
        ("01.12.2010", DAY_FIRST, "2010-12-01 00:00:00"),
        ("01.12.2010", MONTH_FIRST, "2010-01-12 00:00:00"),
        ("1-12-2010", DAY_FIRST, "2010-12-01 00:00:00"),
        ("1-12-10", MONTH_FIRST, "2010-01-12 00:00:00"),
        # Two-digit years: 00-29 are the 2000s, 30-99 the 1900s.
        ("5/6/00", DAY_FIRST, "2000-06-05 00:00:00"),
        ("5/6/29", DAY_FIRST, "2029-06-05 00:00:00"),
        ("5/6/30", DAY_FIRST, "1930-06-05 00:00:00"),
        ("5/6/99", MONTH_FIRST, "1999-05-06 00:00:00"),
        # Times: H:MM, HH:MM:SS, AM/PM.
        ("1/12/2010 8:26", DAY_FIRST, "2010-12-01 08:26:00"),
        ("1/12/2010 08:26:59", MONTH_FIRST, "2010-01-12 08:26:59"),
        ("1.12.2010 23:59:58", DAY_FIRST, "2010-12-01 23:59:58"),
        ("1/12/2010 12:05 AM", DAY_FIRST, "2010-12-01 00:05:00"),
        ("1/12/2010 12:05 PM", DAY_FIRST, "2010-12-01 12:05:00"),
        ("1/12/2010 3:04 pm", MONTH_FIRST, "2010-01-12 15:04:00"),
        ("1/12/2010 11:59:30 AM", MONTH_FIRST, "2010-01-12 11:59:30"),
        # Shopify orders re-saved by Excel: M/D/YY H:MM.
        ("11/10/24 09:17", MONTH_FIRST, "2024-11-10 09:17:00"),
        ("11/10/24 09:17", DAY_FIRST, "2024-10-11 09:17:00"),
    ],
)
def test_numeric_date_is_read_in_the_given_order(value, order, expected):
    assert DateReader(order)(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("13/12/2010", "2010-12-13 00:00:00"),
        ("12/13/2010", "2010-12-13 00:00:00"),
        ("31.01.99 10:00", "1999-01-31 10:00:00"),
        ("1-31-2010 1:05 PM", "2010-01-31 13:05:00"),
        # Day and month equal: both readings are the same day.
        ("3/3/2020", "2020-03-03 00:00:00"),
    ],
)
def test_value_only_one_order_can_read_needs_no_order(value, expected):
    assert DateReader()(value) == expected


@pytest.mark.parametrize(
    ("value", "order", "words"),
    [
        ("13/12/2010", MONTH_FIRST, "month/day"),
        ("12/13/2010", DAY_FIRST, "day/month"),
        ("31/01/2010 10:00", MONTH_FIRST, "month/day"),
    ],
)
def test_value_contradicting_the_given_order_is_bad(value, order, words):
    with pytest.raises(BadValue) as error:
        DateReader(order)(value)
    assert value in error.value.reason
    assert words in error.value.reason


def test_ambiguous_value_without_an_order_is_bad_and_says_both_readings():
    with pytest.raises(BadValue) as error:
        DateReader()("1/12/2010")
    reason = error.value.reason
    assert "'1/12/2010'" in reason
    assert "1 December 2010" in reason
    assert "12 January 2010" in reason


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "12:00",
        "2024-02-30",
        "31/02/2010",
        "1/12/2010 13:00 PM",
        "1/12/2010 0:30 AM",
        "1/12/2010 25:00",
        "1/12.2010",
        "Feb 30 2024",
    ],
)
def test_values_that_are_no_date_are_bad(value):
    with pytest.raises(BadValue) as error:
        DateReader(DAY_FIRST)(value)
    assert value.strip() in error.value.reason


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2010/12/01", "2010-12-01 00:00:00"),
        ("2010/1/5", "2010-01-05 00:00:00"),
        ("2010.12.01 10:00", "2010-12-01 10:00:00"),
        ("2010/12/01 10:00:30", "2010-12-01 10:00:30"),
    ],
)
@pytest.mark.parametrize("order", [None, DAY_FIRST, MONTH_FIRST])
def test_year_first_dates_need_no_order(value, expected, order):
    assert DateReader(order)(value) == expected


def test_year_first_date_with_a_one_digit_hour_is_read():
    assert DateReader()("2024/11/10 9:17") == "2024-11-10 09:17:00"


# --- month names ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("8 Feb 2024", "2024-02-08 00:00:00"),
        ("08 February 2024", "2024-02-08 00:00:00"),
        ("Feb 8 2024", "2024-02-08 00:00:00"),
        ("February 8, 2024 3:04 PM", "2024-02-08 15:04:00"),
        ("8 Feb 2024 10:00 +0100", "2024-02-08 09:00:00"),
        ("Sept 30, 2023", "2023-09-30 00:00:00"),
    ],
)
@pytest.mark.parametrize("order", [None, DAY_FIRST, MONTH_FIRST])
def test_month_name_dates_are_read(value, expected, order):
    assert DateReader(order)(value) == expected


@pytest.mark.parametrize("value", ["March 2024", "8 Feb"])
def test_month_name_value_missing_its_day_or_year_is_bad(value):
    with pytest.raises(BadValue):
        DateReader()(value)


# --- readings, describe, collect_evidence ---------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1/12/2010", (date(2010, 12, 1), date(2010, 1, 12))),
        ("01.02.03", (date(2003, 2, 1), date(2003, 1, 2))),
        ("1-12-2010 10:00 PM", (date(2010, 12, 1), date(2010, 1, 12))),
        ("13/12/2010", None),
        ("12/13/2010", None),
        ("3/3/2020", None),
        ("2010-12-01", None),
        ("8 Feb 2024", None),
        ("", None),
    ],
)
def test_readings_of_a_value(value, expected):
    assert readings(value) == expected


def test_describe_names_both_readings_in_words_with_their_options():
    text = describe("1/12/2010")
    assert "'1/12/2010'" in text
    assert re.search(r"12 January 2010 \(month first, --monthfirst\)", text), text
    assert re.search(r"1 December 2010 \(day first, --dayfirst\)", text), text


def test_evidence_of_values_that_all_read_both_ways_is_ambiguous():
    evidence = collect_evidence([(2, "3/3/2010"), (3, ""), (4, "1/12/2010"), (5, "5/6/2010")])
    assert evidence.ambiguous
    assert evidence.decided is None
    assert evidence.numeric
    assert (evidence.example, evidence.example_line) == ("1/12/2010", 4)


@pytest.mark.parametrize(
    ("proof", "order"), [("13/12/2010", DAY_FIRST), ("12/13/2010 10:00", MONTH_FIRST)]
)
def test_evidence_proven_by_a_later_value_stops_reading_there(proof, order):
    def cells():
        yield 2, "1/12/2010"
        yield 3, "  "
        yield 4, proof
        raise AssertionError("read past the value that proves the order")

    evidence = collect_evidence(cells())
    assert evidence.decided == order
    assert not evidence.ambiguous
    assert (evidence.proof, evidence.proof_line) == (proof, 4)


def test_evidence_of_iso_dates_needs_no_order():
    evidence = collect_evidence([(2, "2024-01-02"), (3, "1/12/2010")])
    assert not evidence.ambiguous
    assert evidence.decided is None


def test_evidence_of_equal_day_and_month_is_not_ambiguous():
    evidence = collect_evidence([(2, "3/3/2020"), (3, "12/12/2020 10:00")])
    assert evidence.numeric
    assert not evidence.ambiguous
    assert evidence.decided is None


# --- properties -----------------------------------------------------------------------

# Times as they are written: none, H:MM, HH:MM:SS, and the AM/PM forms.
TIME_STYLES = ("none", "hm", "hms", "ampm", "ampm_seconds")


def written(moment: datetime, order: str, year_digits: int, sep: str, pad: bool, time: str):
    """A date-time written day first or month first, and the stored text it stands for."""
    day = f"{moment.day:02d}" if pad else str(moment.day)
    month = f"{moment.month:02d}" if pad else str(moment.month)
    year = f"{moment.year % 100:02d}" if year_digits == 2 else f"{moment.year:04d}"
    first, second = (day, month) if order == DAY_FIRST else (month, day)
    text = f"{first}{sep}{second}{sep}{year}"
    hour, minute, second_ = moment.hour, moment.minute, moment.second
    if time == "none":
        hour = minute = second_ = 0
    elif time == "hm":
        text += f" {hour}:{minute:02d}"
        second_ = 0
    elif time == "hms":
        text += f" {hour:02d}:{minute:02d}:{second_:02d}"
    else:
        twelve = hour % 12 or 12
        noon = "PM" if hour >= 12 else "AM"
        seconds = f":{second_:02d}" if time == "ampm_seconds" else ""
        if not seconds:
            second_ = 0
        text += f" {twelve}:{minute:02d}{seconds} {noon}"
    stored = (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d} "
        f"{hour:02d}:{minute:02d}:{second_:02d}"
    )
    return text, stored


YEARS = {
    2: (datetime(1930, 1, 1), datetime(2029, 12, 31, 23, 59, 59)),
    4: (datetime(1000, 1, 1), datetime(9999, 12, 31, 23, 59, 59)),
}


@pytest.mark.parametrize("year_digits", [2, 4])
@pytest.mark.parametrize("order", [DAY_FIRST, MONTH_FIRST])
@settings(deadline=None)
@given(
    data=st.data(),
    sep=st.sampled_from("/.-"),
    pad=st.booleans(),
    time=st.sampled_from(TIME_STYLES),
)
def test_a_date_written_in_an_order_reads_back_in_that_order(
    order, year_digits, data, sep, pad, time
):
    low, high = YEARS[year_digits]
    moment = data.draw(st.datetimes(min_value=low, max_value=high), label="moment")
    text, stored = written(moment, order, year_digits, sep, pad, time)
    assert DateReader(order)(text) == stored


def _date_or_none(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


@settings(deadline=None)
@given(
    a=st.integers(1, 31),
    b=st.integers(1, 31),
    year=st.integers(1000, 9999) | st.integers(0, 99),
    sep=st.sampled_from("/.-"),
)
def test_readings_is_none_exactly_when_day_equals_month_or_a_reading_is_no_date(a, b, year, sep):
    written_year = f"{year:02d}" if year < 100 else str(year)
    full_year = year if year >= 100 else (2000 + year if year < 30 else 1900 + year)
    day_first = _date_or_none(full_year, b, a)
    month_first = _date_or_none(full_year, a, b)
    value = f"{a}{sep}{b}{sep}{written_year}"
    if a == b or day_first is None or month_first is None:
        assert readings(value) is None
    else:
        assert readings(value) == (day_first, month_first)


@settings(deadline=None)
@given(a=st.integers(1, 31), b=st.integers(1, 31), year=st.integers(1000, 9999))
def test_without_an_order_only_a_value_that_reads_one_way_is_read(a, b, year):
    day_first = _date_or_none(year, b, a)
    month_first = _date_or_none(year, a, b)
    value = f"{a}/{b}/{year}"
    both_ways = day_first is not None and month_first is not None and day_first != month_first
    neither = day_first is None and month_first is None
    if both_ways or neither:
        with pytest.raises(BadValue):
            DateReader()(value)
    else:
        only = day_first or month_first
        assert DateReader()(value) == f"{only.isoformat()} 00:00:00"


# --- through the CLI ------------------------------------------------------------------

# Every numeric date reads both ways (3/3 is the same day either way).
AMBIGUOUS = lines(
    ORDERS,
    "O1,C1,3/3/2010,10",
    "O2,C1,1/12/2010,10",
    "O3,C1,5/6/2010 10:00,10",
)


def test_file_whose_dates_all_read_both_ways_is_refused_without_an_order(segcli):
    path = segcli.write("orders.csv", AMBIGUOUS)
    result = checked(segcli, "import", "orders", path, exit_code=1)
    assert segcli.value("SELECT count(*) FROM orders") == 0
    assert segcli.value("SELECT count(*) FROM people") == 0
    message = result.stderr
    assert f"{path}, line 3" in message
    assert "'1/12/2010'" in message
    assert "1 December 2010" in message
    assert "12 January 2010" in message
    assert "--dayfirst" in message
    assert "--monthfirst" in message
    # Refused before anything was read: no summary line.
    assert "rows read" not in message


@pytest.mark.parametrize(
    ("option", "expected", "words"),
    [
        (
            "--dayfirst",
            {"O1": "2010-03-03 00:00:00", "O2": "2010-12-01 00:00:00", "O3": "2010-06-05 10:00:00"},
            "day first (--dayfirst)",
        ),
        (
            "--monthfirst",
            {"O1": "2010-03-03 00:00:00", "O2": "2010-01-12 00:00:00", "O3": "2010-05-06 10:00:00"},
            "month first (--monthfirst)",
        ),
    ],
)
def test_the_given_order_reads_an_ambiguous_file(segcli, option, expected, words):
    path = segcli.write("orders.csv", AMBIGUOUS)
    result = checked(segcli, "import", "orders", path, option)
    summary(result, path, read=3, inserted=3)
    assert words in result.stderr
    assert created(segcli) == expected


@pytest.mark.parametrize(
    ("proof", "order", "expected"),
    [
        (
            "13/12/2010",
            "day first",
            {"O1": "2010-12-01 00:00:00", "O2": "2010-06-05 00:00:00", "O3": "2010-12-13 00:00:00"},
        ),
        (
            "12/13/2010",
            "month first",
            {"O1": "2010-01-12 00:00:00", "O2": "2010-05-06 00:00:00", "O3": "2010-12-13 00:00:00"},
        ),
    ],
)
def test_a_later_row_proves_the_order_of_the_whole_file(segcli, proof, order, expected):
    path = segcli.write(
        "orders.csv",
        lines(ORDERS, "O1,C1,1/12/2010,10", "O2,C1,5/6/2010,10", f"O3,C1,{proof},10"),
    )
    result = checked(segcli, "import", "orders", path)
    summary(result, path, read=3, inserted=3)
    assert created(segcli) == expected
    [read_as] = [line for line in result.stderr.splitlines() if "read as" in line]
    assert f"dates {order}" in read_as
    assert f"'{proof}'" in read_as
    assert "line 4" in read_as


def test_value_contradicting_the_given_order_is_a_rejected_row(segcli):
    path = segcli.write(
        "orders.csv",
        lines(ORDERS, "O1,C1,1/12/2010,10", "O2,C1,13/12/2010,10", "O3,C1,2/1/2010,10"),
    )
    result = checked(segcli, "import", "orders", path, "--monthfirst", exit_code=3)
    [message] = [line for line in result.stderr.splitlines() if "line 3" in line]
    assert "rejected" in message
    assert "created_at" in message
    assert "13/12/2010" in message
    summary(result, path, read=3, inserted=2, rejected=1)
    assert created(segcli) == {"O1": "2010-01-12 00:00:00", "O3": "2010-02-01 00:00:00"}


def test_date_format_reads_its_dates_and_iso_dates_still(segcli):
    path = segcli.write(
        "orders.csv",
        lines(ORDERS, "O1,C1,01.12.2010,10", "O2,C1,2024-01-01T10:00:00+01:00,10"),
    )
    result = checked(segcli, "import", "orders", path, "--date-format", "%d.%m.%Y")
    summary(result, path, read=2, inserted=2)
    assert "%d.%m.%Y" in result.stderr
    assert created(segcli) == {"O1": "2010-12-01 00:00:00", "O2": "2024-01-01 09:00:00"}


@pytest.mark.parametrize("fmt", ["dd/mm", "%d/%m/%Q"])
def test_bad_date_format_is_a_usage_error(segcli, fmt):
    path = segcli.write("orders.csv", lines(ORDERS, "O1,C1,01/12/2010,10"))
    result = checked(segcli, "import", "orders", path, "--date-format", fmt, exit_code=2)
    assert "--date-format" in result.stderr
    assert fmt in result.stderr
    assert not segcli.db.exists() or segcli.value("SELECT count(*) FROM orders") == 0


@pytest.mark.parametrize(
    ("option", "expected"),
    [("--dayfirst", "2010-12-01 00:00:00"), ("--monthfirst", "2010-01-12 00:00:00")],
)
def test_order_options_apply_to_native_customers_files(segcli, option, expected):
    path = segcli.write(
        "customers.csv", lines("customer_id,email,created_at", "C1,c1@example.com,1/12/2010")
    )
    checked(segcli, "import", "customers", path, option)
    assert created(segcli, "customers") == {"C1": expected}


def test_native_orders_with_an_unambiguous_numeric_date_import_without_an_option(segcli):
    path = segcli.write("orders.csv", lines(ORDERS, "O1,C1,25/12/2010 18:30,10"))
    result = checked(segcli, "import", "orders", path)
    summary(result, path, read=1, inserted=1)
    assert created(segcli) == {"O1": "2010-12-25 18:30:00"}


def test_refusal_names_the_first_value_that_really_reads_both_ways(segcli):
    path = segcli.write("orders.csv", lines(ORDERS, "O1,C1,13/14/2010,10", "O2,C1,1/12/2010,10"))
    result = checked(segcli, "import", "orders", path, exit_code=1)
    assert f"{path}, line 3" in result.stderr
    assert "1 December 2010" in result.stderr
    assert "12 January 2010" in result.stderr


def test_value_contradicting_the_date_format_is_a_rejected_row(segcli):
    path = segcli.write("orders.csv", lines(ORDERS, "O1,C1,12/01/2010,10", "O2,C1,13/12/2010,10"))
    result = checked(segcli, "import", "orders", path, "--date-format", "%m/%d/%Y", exit_code=3)
    summary(result, path, read=2, inserted=1, rejected=1)
    assert created(segcli) == {"O1": "2010-12-01 00:00:00"}

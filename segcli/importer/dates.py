"""Reading the dates files hold: ISO first, then the numeric and written forms people save.

A date such as ``1/12/2010`` reads as 1 December or as 12 January depending on the file's
day and month order. segcli never guesses it: the order is given (``--dayfirst``,
``--monthfirst``, ``--date-format``) or proven by the file itself (a value such as
``13/12/2010`` can only be day first); otherwise the file is refused (see ``DateEvidence``).
A date without a UTC offset is taken as UTC, as in native files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from dateutil import parser as dateutil_parser

from segcli.errors import BadValue

DAY_FIRST = "dayfirst"
MONTH_FIRST = "monthfirst"

# A time of day after a date: 8:26, 08:26:00, 08:26:00.5, 9:17 PM, then an optional offset.
_TIME = (
    r"(?:[ T,]+(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<frac>\d{1,6}))?)?"
    r"\s*(?P<ampm>[AaPp][Mm])?)?"
    r"\s*(?P<offset>Z|UTC|GMT|[+-]\d{2}:?\d{2})?"
)
# 1/12/2010, 01.12.2010, 1-12-10, each optionally followed by a time. The separators agree.
_NUMERIC = re.compile(
    r"(?P<a>\d{1,2})(?P<sep>[/.-])(?P<b>\d{1,2})(?P=sep)(?P<year>\d{4}|\d{2})" + _TIME
)
# 2010/12/01: the year first is never ambiguous. Its month is group b and its day group a,
# so that it reads as a day-first numeric date.
_YEAR_FIRST = re.compile(
    r"(?P<year>\d{4})(?P<sep>[/.])(?P<b>\d{1,2})(?P=sep)(?P<a>\d{1,2})" + _TIME
)
_MONTH_NAMES = re.compile(
    r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b", re.IGNORECASE
)

# Two defaults that differ in day, month and year: a value that reads the same with both
# gives all three itself.
_DEFAULTS = (datetime(2001, 1, 1), datetime(2002, 2, 2))

# An ISO date-time in UTC to the second (the offset, if any, is zero).
_PLAIN_ISO = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:Z|[+-]00:00)?")

_ISO_HINT = "YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS, optionally with a UTC offset such as +02:00"


def format_timestamp(moment: datetime) -> str:
    """The stored form of a naive UTC date-time."""
    return moment.isoformat(sep=" ", timespec="microseconds" if moment.microsecond else "seconds")


def _stored(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return format_timestamp(moment)


def _full_year(digits: str) -> int:
    """A year as written; two digits follow the spreadsheet rule (00-29 → 2000s, else 1900s)."""
    year = int(digits)
    if len(digits) == 2:
        year += 2000 if year < 30 else 1900
    return year


def readings(value: str) -> tuple[date, date] | None:
    """The (day-first, month-first) readings of an ambiguous numeric date, else None.

    None means the value is not numeric day/month, or only one reading is a date, or both
    readings are the same day (``3/3/2020``).
    """
    match = _NUMERIC.fullmatch(value.strip())
    if match is None:
        return None
    a, b, year = int(match["a"]), int(match["b"]), _full_year(match["year"])
    try:
        day_first = date(year, b, a)
        month_first = date(year, a, b)
    except ValueError:
        return None
    return None if day_first == month_first else (day_first, month_first)


def describe(value: str) -> str:
    """The two readings of an ambiguous value, in words, for messages."""
    day_first, month_first = readings(value) or (None, None)
    if day_first is None:
        return repr(value)
    return (
        f"{value.strip()!r} could be {month_first:%-d %B %Y} (month first, --monthfirst) "
        f"or {day_first:%-d %B %Y} (day first, --dayfirst)"
    )


@dataclass
class DateReader:
    """Turns a cell into the stored UTC text, following the file's day/month order."""

    order: str | None = None
    date_format: str | None = None

    def __call__(self, raw: str) -> str | None:
        value = raw.strip()
        if not value:
            return None
        if self.date_format is not None:
            try:
                return _stored(datetime.strptime(value, self.date_format))
            except ValueError:
                pass  # an ISO date is still read; nothing else is
        try:
            moment = datetime.fromisoformat(value)
            if (moment.tzinfo is None or moment.tzinfo is UTC) and _PLAIN_ISO.fullmatch(value):
                # Already UTC to the second, as most files write it: the text is the answer.
                return f"{value[:10]} {value[11:19]}"
            if moment.tzinfo is not None:
                moment = moment.astimezone(UTC).replace(tzinfo=None)
        except (ValueError, OverflowError):
            if self.date_format is not None:
                raise BadValue(self._not_a_date(value)) from None
        else:
            # The stored form (format_timestamp): microseconds only when there are some.
            return moment.isoformat(" ")
        if (match := _NUMERIC.fullmatch(value)) is not None:
            return self._numeric(value, match, self._order(value, match))
        if (match := _YEAR_FIRST.fullmatch(value)) is not None:
            return self._numeric(value, match, DAY_FIRST)
        if _MONTH_NAMES.search(value):
            return self._written(value)
        raise BadValue(self._not_a_date(value))

    def _not_a_date(self, value: str) -> str:
        if self.date_format is not None:
            return f"{value!r} is not a date in the format {self.date_format!r}"
        return f"{value!r} is not a date (expected {_ISO_HINT})"

    def _order(self, value: str, match: re.Match) -> str:
        """The order to read a day/month value in: the file's, or the only one that works."""
        if self.order is not None:
            return self.order
        a, b = int(match["a"]), int(match["b"])
        if a == b or b > 12:
            return MONTH_FIRST
        if a > 12:
            return DAY_FIRST
        raise BadValue(f"{describe(value)}: give the file's order")

    def _numeric(self, value: str, match: re.Match, order: str) -> str:
        """A numeric date: ``a`` and ``b`` are the day and month in ``order``."""
        a, b = int(match["a"]), int(match["b"])
        day, month = (a, b) if order == DAY_FIRST else (b, a)
        hour = int(match["hour"] or 0)
        if match["ampm"]:
            if not 1 <= hour <= 12:
                raise BadValue(f"{value!r} has an hour that is not 1 to 12 before AM/PM")
            hour = hour % 12 + (12 if match["ampm"].lower() == "pm" else 0)
        try:
            moment = datetime(
                _full_year(match["year"]),
                month,
                day,
                hour,
                int(match["minute"] or 0),
                int(match["second"] or 0),
                int((match["frac"] or "0").ljust(6, "0")),
            )
        except ValueError:
            words = "day/month" if order == DAY_FIRST else "month/day"
            raise BadValue(f"{value!r} is not a date read in {words} order") from None
        offset = match["offset"]
        if offset and offset not in ("Z", "UTC", "GMT"):
            sign = -1 if offset[0] == "-" else 1
            digits = offset[1:].replace(":", "")
            minutes = sign * (int(digits[:2]) * 60 + int(digits[2:]))
            try:
                moment = moment.replace(tzinfo=UTC) - timedelta(minutes=minutes)
            except OverflowError:
                raise BadValue(
                    f"{value!r} is not a date (its offset takes it past the calendar)"
                ) from None
            return _stored(moment)
        return format_timestamp(moment)

    def _written(self, value: str) -> str:
        """A date with a month name (``8 Feb 2024``, ``February 8, 2024 3:04 PM``).

        It must give its day, month and year: what it leaves out is not taken from today.
        """
        readings = []
        for default in _DEFAULTS:
            try:
                readings.append(
                    dateutil_parser.parse(value, default=default, dayfirst=self.order == DAY_FIRST)
                )
            except (ValueError, OverflowError):
                raise BadValue(self._not_a_date(value)) from None
        if readings[0].date() != readings[1].date():
            raise BadValue(f"{value!r} is not a whole date (it needs a day, a month and a year)")
        try:
            return _stored(readings[0])
        except OverflowError:
            raise BadValue(
                f"{value!r} is not a date (its offset takes it past the calendar)"
            ) from None


@dataclass
class DateEvidence:
    """What a file's date cells say about its day and month order.

    ``decided`` is the order the values prove (a day above 12 in one position), or None
    when every numeric date reads both ways (``example`` holds the first such value).
    ``numeric`` says whether the file has numeric day/month dates at all.
    """

    decided: str | None = None
    numeric: bool = False
    example: str | None = None
    example_line: int | None = None
    # The value that proved the order.
    proof: str | None = None
    proof_line: int | None = None

    def add(self, value: str, line: int) -> bool:
        """Take one cell; True once the order is proven (nothing more to learn)."""
        value = value.strip()
        match = _NUMERIC.fullmatch(value)
        if match is None:
            return False
        self.numeric = True
        a, b = int(match["a"]), int(match["b"])
        if a > 12 and b > 12:
            return False  # no order reads it: the row is rejected when it is imported
        if b > 12 >= a:
            self.decided = MONTH_FIRST
        elif a > 12 >= b:
            self.decided = DAY_FIRST
        elif a != b and self.example is None:
            self.example, self.example_line = value, line
        if self.decided is not None:
            self.proof, self.proof_line = value, line
            return True
        return False

    @property
    def ambiguous(self) -> bool:
        return self.decided is None and self.example is not None


def collect_evidence(cells: Iterable[tuple[int, str]]) -> DateEvidence:
    """Read date cells (line, value) until their order is proven or they run out.

    Reading stops early at the first ISO date too: a file whose dates are ISO needs no
    order, and a stray numeric date later on is rejected with its own message.
    """
    evidence = DateEvidence()
    for line, value in cells:
        value = value.strip()
        if not value:
            continue
        if evidence.add(value, line):
            break
        if not evidence.numeric and _looks_iso(value):
            break
    return evidence


def _looks_iso(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except (ValueError, OverflowError):
        return False
    return True

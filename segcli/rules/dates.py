"""Dates in conditions (SPEC 3.6): spellings, and their resolution against the as-of date.

A value is either a *day* (an ISO date, ``today``, ``3 months ago``, ``-2w``) standing for
the whole UTC day, or an *instant* (an ISO date-time with a time of day). Relative days
count back from the as-of date by the calendar: ``1 month ago`` from 2024-03-31 is
2024-02-29.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from dateutil.relativedelta import relativedelta

UNITS = {"day": "days", "week": "weeks", "month": "months", "year": "years"}
_SHORT_UNITS = {"d": "days", "w": "weeks", "m": "months", "y": "years"}
_AGO = re.compile(r"(\d+)\s*(day|week|month|year)s?\s+ago")
_SHORT = re.compile(r"-(\d+)([dwmy])")
_DURATION = re.compile(r"(\d+)\s*(day|week|month|year)s?")
_SHORT_DURATION = re.compile(r"-?(\d+)([dwmy])")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

# The as-of bounds, bound by the evaluation under these names: the as-of day, and the
# start of the next (records dated before it count).
AS_OF = "as_of"
AS_OF_END = "as_of_end"


@dataclass(frozen=True)
class Duration:
    """A span counted back by the calendar: ``count`` days, weeks, months or years."""

    count: int
    unit: str  # days | weeks | months | years

    def back_from(self, day: date) -> date:
        """The day this span before ``day``; the calendar's first day if it reaches past it."""
        try:
            # The unit is days, weeks, months or years, a count relativedelta takes by that
            # keyword; mypy checks a ** mapping against its date parameters too.
            return day - relativedelta(**{self.unit: self.count})  # type: ignore[arg-type]
        except (ValueError, OverflowError):
            return date.min

    def __str__(self) -> str:
        unit = self.unit if self.count != 1 else self.unit[:-1]
        return f"{self.count} {unit}"


@dataclass(frozen=True)
class DateValue:
    """A date as written in a condition, resolved only when the as-of date is known."""

    text: str
    day: date | None = None  # a fixed day
    instant: datetime | None = None  # a fixed instant (naive UTC)
    ago: Duration | None = None  # a day counted back from the as-of date

    @property
    def is_instant(self) -> bool:
        return self.instant is not None

    def resolve_day(self, as_of: date) -> date:
        if self.day is not None:
            return self.day
        if self.ago is not None:
            return self.ago.back_from(as_of)
        raise ValueError("an instant has no day")


def parse_duration(text: str) -> Duration | None:
    """``30 days``, ``2 weeks``, ``1 month``, ``1 year`` or ``30d`` / ``-2w``; None if not one."""
    value = text.strip().lower()
    if match := _DURATION.fullmatch(value):
        return Duration(int(match[1]), UNITS[match[2]])
    if match := _SHORT_DURATION.fullmatch(value):
        return Duration(int(match[1]), _SHORT_UNITS[match[2]])
    return None


def parse_date(text: str) -> DateValue | None:
    """Parse a date spelling of SPEC 3.6; None when it is not one."""
    value = text.strip()
    lowered = value.lower()
    if lowered == "today":
        return DateValue(value, ago=Duration(0, "days"))
    if lowered == "yesterday":
        return DateValue(value, ago=Duration(1, "days"))
    if match := _AGO.fullmatch(lowered):
        return DateValue(value, ago=Duration(int(match[1]), UNITS[match[2]]))
    if match := _SHORT.fullmatch(lowered):
        return DateValue(value, ago=Duration(int(match[1]), _SHORT_UNITS[match[2]]))
    if _ISO_DATE.fullmatch(value):
        try:
            return DateValue(value, day=date.fromisoformat(value))
        except ValueError:
            return None
    if len(value) > 10 and _ISO_DATE.match(value):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
        if moment.tzinfo is not None:
            try:
                moment = moment.astimezone(UTC).replace(tzinfo=None)
            except OverflowError:
                return None  # its UTC time falls before year 1 or after 9999
        return DateValue(value, instant=moment)
    return None


def day_start(day: date) -> str:
    """The stored text of a day's first instant (UTC)."""
    return f"{day.isoformat()} 00:00:00"


def next_day_start(day: date) -> str:
    if day == date.max:
        # The end of the calendar: still sorts after every stored instant of that day.
        return f"{day.isoformat()} 24:00:00"
    return day_start(day + timedelta(days=1))


def instant_text(moment: datetime) -> str:
    return moment.isoformat(sep=" ", timespec="microseconds" if moment.microsecond else "seconds")


DATE_SPELLINGS = (
    "an ISO date (2024-03-31), a date-time (2024-03-31T18:00:00+02:00), today, yesterday, "
    "'N days ago' (or weeks, months, years), or -Nd / -Nw / -Nm / -Ny"
)

"""Options shared by commands."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import click


def today() -> date:
    """Today's date in UTC, the day every command's "today" means."""
    return datetime.now(UTC).date()


class AsOfDate(click.ParamType):
    """An ISO date, ``today`` or ``yesterday`` (UTC)."""

    name = "DATE"

    def convert(self, value, param, ctx):
        if isinstance(value, date):
            return value
        text = str(value).strip().lower()
        if text == "today":
            return today()
        if text == "yesterday":
            return today() - timedelta(days=1)
        try:
            return date.fromisoformat(text)
        except ValueError:
            self.fail(f"{value!r} is not a date: use YYYY-MM-DD, today or yesterday", param, ctx)


def as_of_option(function):
    return click.option(
        "--as-of",
        type=AsOfDate(),
        default="today",
        show_default="today, UTC",
        help="Evaluate as the store stood at the end of this day.",
    )(function)


def criteria_option(function):
    return click.option(
        "--criteria",
        metavar="YAML",
        help="Evaluate an unsaved segment given inline, e.g. 'total_spent: {gt: 500}'.",
    )(function)

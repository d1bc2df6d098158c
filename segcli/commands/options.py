"""Options shared by commands."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation

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


def _one_criteria(ctx, param, values):
    # Taken as repeatable only to see a second one: click would keep the last silently,
    # and a merchant who gave two filters expects both to apply.
    if len(values) > 1:
        raise click.BadParameter(
            f"given {len(values)} times; give one, with the conditions together, "
            "e.g. '{country: FR, total_spent: {gt: 500}}'",
            ctx,
            param,
        )
    return values[0] if values else None


def criteria_option(function):
    return click.option(
        "--criteria",
        metavar="YAML",
        multiple=True,
        callback=_one_criteria,
        help="Evaluate an unsaved segment given inline, e.g. 'total_spent: {gt: 500}'.",
    )(function)


def format_option(*formats: str, help: str | None = None, unset_means: str | None = None):
    """``--format``: how the command's answer is written, all of it on stdout.

    The first of ``formats`` is the default; with ``unset_means``, the option is None
    when not given, and ``--help`` says what the command then does.
    """
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(formats),
        default=formats[0] if unset_means is None else None,
        show_default=unset_means or True,
        help=help
        or "table for people; csv, tsv, json or jsonl for scripts (exact values). On stdout.",
    )


class Percent(click.ParamType):
    """A percentage: ``20`` or ``20%``, at least 0."""

    name = "PERCENT"

    def convert(self, value, param, ctx):
        if isinstance(value, Decimal):
            return value
        text = str(value).strip().removesuffix("%").strip()
        try:
            percent = Decimal(text)
        except InvalidOperation:
            percent = Decimal(-1)
        if not percent.is_finite() or percent < 0:
            self.fail(f"{value!r} is not a percentage: use a number such as 20 or 20%", param, ctx)
        return percent


# Segments smaller than this at both dates are not compared by --max-change: one member
# more in a segment of two is a move of 50%, and no sign of a broken import.
MAX_CHANGE_MIN = 20


def max_change_option(function):
    """``--max-change PERCENT`` and ``--max-change-min N``: the guard for automated sends."""
    function = click.option(
        "--max-change-min",
        type=click.IntRange(min=0),
        default=MAX_CHANGE_MIN,
        show_default=True,
        metavar="N",
        help="With --max-change: segments with fewer than N members at both dates are not "
        "compared.",
    )(function)
    return click.option(
        "--max-change",
        type=Percent(),
        help="Refuse (exit 4, nothing written) when a segment's size moved more than "
        "PERCENT since its last snapshot.",
    )(function)

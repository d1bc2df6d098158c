"""segcli segment snapshot|changes|history: who was in a segment on a date, who entered and
left, and how its members moved over time."""

from __future__ import annotations

import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from segcli.commands.options import (
    AsOfDate,
    as_of_option,
    format_option,
    max_change_option,
    today,
)
from segcli.commands.segment import _chosen, segment_group, warn_unmatched
from segcli.errors import SegcliError
from segcli.money import to_decimal
from segcli.output import (
    ANSWER_FORMATS,
    counted,
    money_for_people,
    new_table,
    say,
    show_table,
    stdout_console,
    write_answer,
)
from segcli.segments import export as exporter


def guard(store, moves, limit: Decimal | None, smallest: int, what: str) -> None:
    """The --max-change check (segments/snapshots.py), and a line for the segments that
    have no snapshot to compare with yet."""
    from segcli.segments.snapshots import guard as check

    if limit is None:
        return
    first = check(store, moves, limit, smallest, what)
    if first:
        names = first[0] if len(first) == 1 else f"{len(first)} segments ({first[0]}, ...)"
        have = "has" if len(first) == 1 else "have"
        say(f"--max-change: {names} {have} no snapshot before {moves[0][1].isoformat()} yet")


def _open(app, catalog, as_of, chosen):
    """The store and the evaluation of the catalog's segments as of ``as_of``, after the
    warnings about names no row has."""
    from segcli.segments.evaluate import open_evaluation

    store = app.open_store(create=False)
    evaluation = open_evaluation(store, as_of, catalog.segments, engine=app.engine)
    warn_unmatched(store, chosen, catalog.segments, evaluation)
    return store, evaluation


@segment_group.command("snapshot")
@click.argument("segments", nargs=-1)
@as_of_option
@click.option(
    "--replace",
    is_flag=True,
    help="Take the snapshots of this date again, also those of an unchanged definition.",
)
@max_change_option
@click.option("-v", "--verbose", is_flag=True, help="Say what was recorded, also off a terminal.")
@click.pass_obj
def snapshot_command(app, segments, as_of, replace, max_change, max_change_min, verbose):
    """Record who is in SEGMENTS (default: all) as of a date, for changes and history.

    Quiet on success, unless on a terminal or with --verbose; taking the same snapshot
    again (same segment, date and definition) changes nothing.
    """
    from segcli.segments.snapshots import (
        Taken,
        definition_digest,
        member_counts,
        members_cache,
        needs_taking,
        record,
        snapshot_on,
    )

    catalog, chosen = _chosen(app, segments, None)
    digests = {segment.name: definition_digest(segment, catalog.segments) for segment in chosen}
    with app.open_store(create=False) as store:
        wanted = [s for s in chosen if needs_taking(store, s.name, as_of, digests[s.name], replace)]
        existing = {s.name: snapshot_on(store, s.name, as_of) for s in chosen if s not in wanted}
    sizes = {name: snapshot.members for name, snapshot in existing.items() if snapshot}
    taken = []
    if wanted:
        store, evaluation = _open(app, catalog, as_of, wanted)
        with store, evaluation, evaluation.members_table(wanted) as con:
            counted_members = member_counts(con)
            for i, segment in enumerate(wanted):
                sizes[segment.name] = counted_members.get(i, 0)
            moves = [(s.name, as_of, sizes[s.name]) for s in chosen]
            guard(store, moves, max_change, max_change_min, "no snapshot was recorded")
            taken = record(
                store,
                as_of,
                [(s.name, digests[s.name]) for s in wanted],
                con,
                members_cache(store),
            )
    else:
        with app.open_store(create=False) as store:
            moves = [(s.name, as_of, sizes[s.name]) for s in chosen]
            guard(store, moves, max_change, max_change_min, "no snapshot was recorded")
    kept = [Taken(s.name, as_of, "kept", sizes[s.name], 0, 0) for s in chosen if s not in wanted]
    if verbose or sys.stderr.isatty():
        for t in sorted([*taken, *kept], key=lambda t: t.segment):
            detail = (
                "already recorded"
                if t.outcome == "kept"
                else f"{t.entered:,} entered, {t.exited:,} left since the snapshot before"
            )
            say(
                f"{t.segment} as of {as_of.isoformat()}: {counted(t.members, 'member')} "
                f"({t.outcome}; {detail})"
            )


def _dates(store, segment, since, start, end) -> tuple[date, date]:
    """The two dates of ``segment changes`` (segments/changes.py says the defaults)."""
    from segcli.segments.changes import dates_of

    if since is not None and start is not None:
        raise click.UsageError("give --since or --from, not both")
    first, last = dates_of(store, segment.name, since or start, end or today())
    if first >= last:
        raise click.UsageError(
            f"the start date {first.isoformat()} is not before the end date {last.isoformat()}"
        )
    return first, last


@segment_group.command("changes")
@click.argument("segment")
@click.option("--since", type=AsOfDate(), help="From this date to --to (default: today).")
@click.option("--from", "start", type=AsOfDate(), help="The same as --since.")
@click.option("--to", "end", type=AsOfDate(), help="The end date.  [default: today, UTC]")
@click.option("-o", "--output", "output", default="-", help="File to write, or - for stdout.")
@format_option(
    *ANSWER_FORMATS,
    unset_means="table, or what the -o file's extension says",
    help="table for people; csv, tsv, json or jsonl for scripts; with -o FILE the file's "
    "extension chooses.",
)
@click.option(
    "--fields",
    default=None,
    help="Comma-separated fields to write: those of segment export, segment, change, "
    "from_date, to_date, and NAME_from and NAME_to for the figures at each date.",
)
@click.option("--subscribed-only", is_flag=True, help="Only people who accept marketing.")
@click.option("--raw", is_flag=True, help="Do not escape cells that spreadsheets run as formulas.")
@click.option(
    "--exec",
    "command",
    metavar="COMMAND",
    help="Run COMMAND (through the shell) once per change not delivered before, with the "
    "change as JSON on stdin and in SEGCLI_* variables.",
)
@click.option(
    "--jobs",
    default=4,
    show_default=True,
    type=click.IntRange(1, 64),
    help="How many COMMANDs run at once.",
)
@max_change_option
@click.pass_obj
def changes_command(
    app,
    segment,
    since,
    start,
    end,
    output,
    output_format,
    fields,
    subscribed_only,
    raw,
    command,
    jobs,
    max_change,
    max_change_min,
):
    """Who entered and who left SEGMENT between two dates, with their figures at both.

    Each date's members come from the segment's snapshot of that date, or are evaluated
    when it has none (stderr says which). Without dates: since its latest snapshot.
    """
    from segcli.segments.changes import (
        DEFAULT_CHANGE_FIELDS,
        check_change_fields,
        find_changes,
        subscribed,
    )
    from segcli.segments.evaluate import open_evaluation
    from segcli.segments.history import DatedEvaluations

    asked_for_output = output != "-" or output_format is not None
    if output_format == "table" and output != "-":
        raise click.BadParameter(
            "a table is for the terminal; write a file as csv, tsv, json or jsonl",
            param_hint="'--format'",
        )
    if output_format is None and output == "-":
        output_format = "table"
    if output_format != "table":
        try:
            output_format = exporter.output_format(output, output_format)
        except SegcliError as error:
            raise click.BadParameter(str(error), param_hint="'-o' / '--output'") from error
    names = check_change_fields(fields) if fields else list(DEFAULT_CHANGE_FIELDS)
    if output != "-":
        exporter.check_output_path(Path(output))
    catalog, [chosen] = _chosen(app, (segment,), None)

    with app.open_store(create=False) as store:
        warn_unmatched(store, [chosen], catalog.segments)
        first, last = _dates(store, chosen, since, start, end)

        def evaluate(day):
            return open_evaluation(store, day, catalog.segments, engine=app.engine)

        with DatedEvaluations(evaluate) as dated:
            changes = find_changes(store, chosen, catalog.segments, first, last, dated)
        say(
            f"{chosen.name}: {first.isoformat()} ({changes.start.source}) to "
            f"{last.isoformat()} ({changes.end.source}): {changes.entered:,} entered, "
            f"{changes.exited:,} left"
        )
        if changes.definition_changed:
            say(
                f"note: {chosen.name}'s definition is not the same at both dates (its file "
                "changed between the snapshots): some of these changes come from that"
            )
        guard(
            store,
            [(chosen.name, last, len(changes.end.keys))],
            max_change,
            max_change_min,
            "no change was written or delivered",
        )
        rows = list(subscribed(changes.rows)) if subscribed_only else changes.rows
        if not (command and not asked_for_output):
            _write_changes(changes, rows, names, output, output_format, raw)
        if command:
            _deliver(store, changes, rows, command, names, jobs)


def _write_changes(changes, rows, names, output, output_format, raw) -> None:
    if output_format in (None, "table"):
        show_table(_changes_table(changes, rows))
        return
    if output == "-":
        exporter.write_members(rows, names, output_format, sys.stdout, raw=raw)
        sys.stdout.flush()
        return
    path = Path(output)
    with exporter.private_output(path) as out:
        count = exporter.write_members(rows, names, output_format, out, raw=raw)
    say(
        f"{counted(count, 'change')} of {changes.segment} written to {path} "
        f"as {exporter.FORMAT_NAMES[output_format]}"
    )


def _both(row: dict, name: str, show) -> str:
    before, after = row[f"{name}_from"], row[f"{name}_to"]
    left = "-" if before is None else show(before)
    right = "-" if after is None else show(after)
    return left if left == right else f"{left} -> {right}"


def _changes_table(changes, rows) -> Table:
    table = new_table(
        "change",
        "customer",
        "email",
        "name",
        "orders",
        "total spent",
        "lifecycle",
        numeric=("orders", "total spent"),
        title=(
            f"{changes.segment}: {changes.entered:,} entered, {changes.exited:,} left, "
            f"{changes.start.day.isoformat()} -> {changes.end.day.isoformat()}"
        ),
    )
    for row in rows:
        name = " ".join(part for part in (row.get("first_name"), row.get("last_name")) if part)
        table.add_row(
            row["change"],
            Text(row.get("customer_id") or ""),
            Text(row.get("email") or ""),
            Text(name),
            _both(row, "orders_count", lambda v: f"{v:,}"),
            _both(row, "total_spent", lambda v: money_for_people(to_decimal(v))),
            _both(row, "lifecycle", str),
        )
    return table


def _deliver(store, changes, rows, command, names, jobs) -> None:
    from segcli.segments.hooks import HooksFailed, deliver

    def waiting() -> None:
        say("another segcli is delivering changes of this database: waiting for it")

    result = deliver(store, changes.segment, rows, command, names, jobs=jobs, on_wait=waiting)
    before = f" ({result.before:,} delivered before)" if result.before else ""
    if result.delivered:
        done = f"delivered {counted(result.delivered, 'change')} to the command"
    else:
        done = "nothing new to deliver" if rows else "no change to deliver"
    say(f"{changes.segment}: {done}{before}")
    if result.failures:
        for failure in result.failures:
            say(f"  failed: {failure}")
        raise HooksFailed(
            f"the command failed for {len(result.failures):,} of "
            f"{result.delivered + len(result.failures):,} changes",
            hint="the next run delivers only those that failed",
        )


# Each lifecycle stage's mark in a stacked bar: a colour on a terminal, a letter in plain
# text (a pipe, a file, NO_COLOR).
_STAGE_MARKS = {
    "first-time-buyers": ("F", "green"),
    "active-repeat": ("A", "bright_green"),
    "at-risk-repeat": ("R", "yellow"),
    "inactive-repeat": ("I", "red"),
    "prospects": ("P", "cyan"),
    "potential-customers": ("C", "blue"),
    "unengaged": ("U", "bright_black"),
}
_BAR_WIDTH = 40
_EIGHTHS = " ▏▎▍▌▋▊▉"


def _bar(value: int, most: int, width: int = _BAR_WIDTH) -> str:
    """A horizontal bar of ``value`` against ``most``, to an eighth of a character."""
    if most <= 0:
        return ""
    eighths = round(value * width * 8 / most)
    return "█" * (eighths // 8) + (_EIGHTHS[eighths % 8] if eighths % 8 else "")


def _stacked(counts: list[int], total: int, colours: bool) -> Text:
    """A bar of ``_BAR_WIDTH`` characters shared by the stages as their counts are."""
    bar = Text()
    if total <= 0:
        return bar
    used = 0
    running = 0
    for (letter, colour), count in zip(_STAGE_MARKS.values(), counts, strict=True):
        running += count
        # Cut by the running total: the bar is always exactly as wide as the total's.
        end = round(running * _BAR_WIDTH / total)
        cells = end - used
        used = end
        bar.append("█" * cells if colours else letter * cells, style=colour if colours else "")
    return bar


def _history_dates(end, every, start):
    from segcli.segments.history import points

    if start is not None and start > end:
        raise click.UsageError(f"--from {start.isoformat()} is after --to {end.isoformat()}")
    return points(end, every, start)


@segment_group.command("history")
@click.argument("segment", required=False)
@click.option("--lifecycle", is_flag=True, help="The seven lifecycle stages, stacked.")
@click.option("--from", "start", type=AsOfDate(), help="The first date.")
@click.option("--to", "end", type=AsOfDate(), help="The last date.  [default: today, UTC]")
@click.option(
    "--every",
    type=click.Choice(["day", "week", "month"]),
    default="week",
    show_default=True,
    help="The time between points, counted back from --to.",
)
@format_option(*ANSWER_FORMATS)
@click.option(
    "--chart/--no-chart",
    default=None,
    help="Draw the bars also off a terminal (--chart), or not on one (--no-chart).",
)
@click.pass_obj
def history_command(app, segment, lifecycle, start, end, every, output_format, chart):
    """Members of SEGMENT, and who entered and left, per day, week or month.

    Each date is read from the segment's snapshot where there is one, else evaluated.
    Without --from: 13 weeks, 31 days or 13 months up to --to.
    """
    from segcli.segments.evaluate import open_evaluation
    from segcli.segments.history import DatedEvaluations

    if (segment is None) == (not lifecycle):
        raise click.UsageError("give a SEGMENT or --lifecycle")
    days = _history_dates(end or today(), every, start)
    catalog, chosen = _chosen(app, (segment,) if segment else (), None)
    colours = stdout_console().is_terminal and not stdout_console().no_color
    draw = chart if chart is not None else stdout_console().is_terminal
    with app.open_store(create=False) as store:
        warn_unmatched(store, chosen, catalog.segments)

        def evaluate(day):
            return open_evaluation(store, day, catalog.segments, engine=app.engine)

        with DatedEvaluations(evaluate) as dated:
            table, fields, records = _history(
                store, catalog, chosen, lifecycle, days, every, dated, draw, colours
            )
    write_answer(output_format, table, fields=fields, records=records)


def _history(store, catalog, chosen, lifecycle, days, every, dated, draw, colours):
    """The history's table for people, and its fields and records for scripts."""
    from segcli.segments.history import segment_history, stages_history

    if lifecycle:
        stages = [catalog.segments[name] for name in _STAGE_MARKS]
        rows = stages_history(store, stages, days, dated)
        records = [
            {"date": day.isoformat(), **dict(zip(_STAGE_MARKS, counts, strict=True))}
            for day, counts, _ in rows
        ]
        table = new_table(
            "date",
            *_STAGE_MARKS,
            numeric=tuple(_STAGE_MARKS),
            title=f"Lifecycle stages, every {every}",
        )
        if draw:
            table.add_column("stages")
        for day, counts, _ in rows:
            cells = [day.isoformat(), *(f"{count:,}" for count in counts)]
            if draw:
                cells.append(_stacked(counts, sum(counts), colours))
            table.add_row(*cells)
        if draw:
            table.caption = "  ".join(
                f"{letter if not colours else '█'} {name}"
                for name, (letter, _) in _STAGE_MARKS.items()
            )
        fields = ("date", *_STAGE_MARKS)
    else:
        [chosen_segment] = chosen
        points = segment_history(store, chosen_segment, days, dated)
        records = [
            {
                "segment": chosen_segment.name,
                "date": p.day.isoformat(),
                "members": p.members,
                "entered": p.entered,
                "exited": p.exited,
                "source": p.source,
            }
            for p in points
        ]
        table = new_table(
            "date",
            "members",
            "entered",
            "exited",
            "source",
            numeric=("members", "entered", "exited"),
            title=f"{chosen_segment.name}: members every {every}",
        )
        if draw:
            table.add_column("chart")
        most = max((p.members for p in points), default=0)
        for p in points:
            cells = [
                p.day.isoformat(),
                f"{p.members:,}",
                "-" if p.entered is None else f"{p.entered:,}",
                "-" if p.exited is None else f"{p.exited:,}",
                p.source,
            ]
            if draw:
                cells.append(_bar(p.members, most))
            table.add_row(*cells)
        fields = ("segment", "date", "members", "entered", "exited", "source")
    return table, fields, records

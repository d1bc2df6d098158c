"""segcli segment list|validate|calculate|show|export|sql."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.table import Table
from rich.text import Text

from segcli.commands.options import (
    as_of_option,
    criteria_option,
    format_option,
    max_change_option,
    today,
)
from segcli.errors import SegcliError
from segcli.money import to_decimal
from segcli.output import (
    ANSWER_FORMATS,
    counted,
    money_for_people,
    new_table,
    say,
    show_table,
    warn,
    write_answer,
)
from segcli.rules import fields as F
from segcli.segments import export as exporter
from segcli.segments.catalog import (
    LISTING_FIELDS,
    Catalog,
    choose,
    listing,
    open_catalog,
    validate_files,
)

if TYPE_CHECKING:
    from segcli.segments.evaluate import AnyEvaluation


def _chosen(app, arguments, criteria):
    """The catalog and the segments the command is about (all of them by default).

    Every problem of every segment file read shows in one run: in the error when the
    command cannot go on, else as warnings about the files it does not use.
    """
    catalog = open_catalog(app.segments_dir, arguments)
    if criteria is not None and arguments:
        raise click.UsageError("give segment names or --criteria, not both")
    chosen = choose(catalog, list(arguments), criteria)
    if catalog.problems:
        warn(
            f"{counted(len(catalog.problems), 'problem')} in "
            f"{counted(catalog.files_with_problems(), 'segment file')} "
            "that this command does not use:"
        )
        for problem in catalog.problems:
            say(str(problem))
    return catalog, chosen


def _evaluation(app, catalog: Catalog, as_of, chosen=(), *, engine=None) -> AnyEvaluation:
    """The evaluation of the catalog's segments by the chosen engine; first, a warning
    on stderr for each name in the ``chosen`` segments that no row of the store has."""
    # Imported here: segment list and validate need none of the evaluation's code.
    from segcli.segments.evaluate import open_evaluation

    store = app.open_store(create=False)
    evaluation = open_evaluation(store, as_of, catalog.segments, engine=engine or app.engine)
    warn_unmatched(store, chosen, catalog.segments, evaluation)
    return evaluation


def warn_unmatched(store, segments, known, evaluation=None) -> None:
    """A warning for each name the segments give that no row of the store has: such a
    condition matches nobody, and is most often a typo. The evaluation, where it has a
    faster reader of the store's values than SQLite, reads them."""
    from segcli.segments.unmatched import unmatched_values

    distinct = getattr(evaluation, "distinct_values", None)
    for problem in unmatched_values(store, segments, known, distinct=distinct):
        warn(str(problem))


def _share(members: int, people: int) -> str:
    return f"{members / people:.1%}" if people else "-"


def _exact_share(members: int, people: int) -> Decimal:
    """The share for scripts, to six decimals."""
    if not people:
        return Decimal(0)
    return (Decimal(members) / Decimal(people)).quantize(Decimal("0.000001"))


def _days(repeat_time) -> str:
    return "-" if repeat_time is None else f"{float(repeat_time):.1f}"


@click.group("segment")
def segment_group():
    """List, check, count, show and export customer segments."""


@segment_group.command("list")
@format_option(*ANSWER_FORMATS)
@click.pass_obj
def list_command(app, output_format):
    """List every segment: the built-ins and each YAML file in the segments directory."""
    rows = listing(open_catalog(app.segments_dir))
    table = new_table("segment", "title", "description", "source")
    for row in rows:
        description = "has problems" if row["problems"] else ""
        table.add_row(
            Text(row["segment"]),
            Text(row["title"]),
            Text(description or row["description"], style="red" if row["problems"] else ""),
            Text(row["source"]),
        )
    broken = sum(1 for row in rows if row["problems"])
    verb = "has" if broken == 1 else "have"
    note = f"{counted(broken, 'segment file')} {verb} problems: run segcli segment validate"
    write_answer(
        output_format, table, fields=LISTING_FIELDS, records=rows, note=note if broken else None
    )


@segment_group.command("validate")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.pass_obj
def validate_command(app, files):
    """Check segment FILES (default: all in the segments directory); exit 1 on any problem."""
    validation = validate_files(app.segments_dir, list(files))
    for problem in validation.problems:
        say(str(problem))
    if app.db_path.exists():
        # With a database, names no row has are warned about (they never fail the check).
        with app.open_store(create=False) as store:
            warn_unmatched(store, validation.usable(), validation.catalog.segments)
    if validation.problems:
        files = counted(len(validation.files), "file")
        say(
            f"{counted(len(validation.problems), 'problem')} in "
            f"{validation.files_with_problems():,} of {files}"
        )
        click.get_current_context().exit(1)
    say(f"{counted(len(validation.files), 'segment file')} checked: no problems")


CALCULATION_FIELDS = ("segment", "title", "count", "share", "total_spent", "as_of")


@segment_group.command("calculate")
@click.argument("segments", nargs=-1)
@as_of_option
@format_option(*ANSWER_FORMATS)
@criteria_option
@click.option(
    "--save",
    "save_as",
    metavar="NAME",
    help="Save the --criteria quick filter as NAME.yaml in the segments directory.",
)
@click.option("--title", help="The title of the segment --save writes.")
@click.option("--force", is_flag=True, help="With --save: replace an existing file.")
@click.pass_obj
def calculate_command(app, segments, as_of, output_format, criteria, save_as, title, force):
    """Count the members of SEGMENTS (default: all) as of a date."""
    from segcli.segments.authoring import quick_filter_to_save, write_segment

    if (save_as is not None or title is not None or force) and criteria is None:
        raise click.UsageError("--save, --title and --force go with --criteria")
    if title is not None and save_as is None:
        raise click.UsageError("--title goes with --save")
    catalog, chosen = _chosen(app, segments, criteria)
    # Checked before anything is counted (a name that cannot be saved is said at once),
    # written once the counts are done.
    saved = None
    if save_as is not None:
        saved = quick_filter_to_save(
            app.segments_dir,
            catalog,
            save_as,
            title,
            criteria,
            today=today().isoformat(),
            force=force,
        )
    calculated = _calculated(app, catalog, chosen, as_of)
    if saved is not None:
        path, text = saved
        write_segment(path, text)
        say(f"saved the quick filter as {path}")
    write_answer(
        output_format,
        calculation_table(calculated, as_of),
        fields=CALCULATION_FIELDS,
        records=calculation_records(calculated, as_of),
    )


def _calculated(app, catalog, chosen, as_of) -> tuple[AnyEvaluation, list]:
    """The evaluation, and each chosen segment with its figures."""
    with _evaluation(app, catalog, as_of, chosen) as evaluation:
        rows = list(zip(chosen, evaluation.all_figures(list(chosen)), strict=True))
    return evaluation, rows


def calculate_all(app, as_of) -> Table:
    """Every segment's figures, in the table ``segment calculate`` shows."""
    catalog, chosen = _chosen(app, (), None)
    return calculation_table(_calculated(app, catalog, chosen, as_of), as_of)


def calculation_records(calculated, as_of) -> list[dict]:
    """Each segment's figures for scripts, exact."""
    evaluation, rows = calculated
    return [
        {
            "segment": s.name,
            "title": s.title,
            "count": f.members,
            "share": _exact_share(f.members, evaluation.people),
            "total_spent": to_decimal(f.total_spent),
            "as_of": as_of.isoformat(),
        }
        for s, f in rows
    ]


def calculation_table(calculated, as_of) -> Table:
    """Each segment's figures for people, with the store's people and A under them."""
    evaluation, rows = calculated
    table = new_table(
        "segment",
        "title",
        "members",
        "share",
        "total spent",
        numeric=("members", "share", "total spent"),
        title=f"Segments as of {as_of.isoformat()}",
    )
    for s, f in rows:
        table.add_row(
            Text(s.name),
            Text(s.title),
            f"{f.members:,}",
            _share(f.members, evaluation.people),
            money_for_people(to_decimal(f.total_spent)),
        )
    table.caption = (
        f"{counted(evaluation.people, 'person', 'people')}; average repeat-purchase time "
        f"A = {_days(evaluation.repeat_time)} days"
    )
    return table


@segment_group.command("templates")
@format_option("table", "json", help="table for people, json for scripts. On stdout.")
def templates_command(output_format):
    """List the segment templates and the parameters each one takes."""
    from segcli.segments.templates import load_templates

    templates = load_templates()
    table = new_table("template", "title", "description", "parameters (default)")
    # Never cut: the name is what --template takes, the defaults what --set changes.
    table.columns[0].no_wrap = True
    table.columns[0].min_width = max((len(name) for name in templates), default=8)
    for t in templates.values():
        parameters = "\n".join(f"{p.name}={p.default} ({p.description})" for p in t.parameters)
        cells = (t.name, t.title, t.description, parameters or "-")
        table.add_row(*(Text(cell, overflow="fold") for cell in cells))
    document = [
        {
            "template": t.name,
            "title": t.title,
            "description": t.description,
            "parameters": [
                {
                    "name": p.name,
                    "kind": p.kind,
                    "default": p.default,
                    "description": p.description,
                }
                for p in t.parameters
            ],
        }
        for t in templates.values()
    ]
    note = "make one: segcli segment new NAME --template TEMPLATE --set PARAMETER=VALUE"
    write_answer(output_format, table, document=document, note=note)


def _assignment(ctx, param, values) -> dict[str, str]:
    settings = {}
    for value in values:
        key, equals, given = value.partition("=")
        if not equals or not key.strip():
            raise click.BadParameter(f"{value!r} is not KEY=VALUE", ctx, param)
        if key.strip() in settings:
            raise click.BadParameter(f"{key.strip()} is given twice", ctx, param)
        settings[key.strip()] = given
    return settings


@segment_group.command("new")
@click.argument("name")
@click.option("--template", "template_name", metavar="TEMPLATE", help="Start from a template.")
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="KEY=VALUE",
    callback=_assignment,
    help="A template parameter's value (repeatable), e.g. --set threshold=750.",
)
@click.option("--title", help="The new segment's title.")
@click.option("--force", is_flag=True, help="Replace NAME.yaml if it exists.")
@click.pass_obj
def new_command(app, name, template_name, settings, title, force):
    """Write NAME.yaml in the segments directory, from a template or a blank skeleton."""
    from segcli.segments.authoring import checked_name, validated, write_segment
    from segcli.segments.templates import (
        fill,
        find_template,
        load_templates,
        needed_first,
        skeleton,
    )

    if settings and template_name is None:
        raise click.UsageError("--set goes with --template")
    catalog = open_catalog(app.segments_dir)
    path = app.segments_dir / f"{name}.yaml"
    checked_name(name, catalog, path, force=force)
    if template_name is None:
        text = skeleton(name, title)
    else:
        templates = load_templates()
        template = find_template(template_name, templates)
        needed_first(template, catalog.segments, templates)
        text = fill(template, name, settings, title)
    segment = validated(text, path, catalog)
    write_segment(path, text)
    say(f"wrote {path}")
    _count_today(app, catalog, segment)


def _count_today(app, catalog, segment) -> None:
    """The new segment's members as of today, when there is a database to count them in."""
    from segcli.commands.options import today

    if not app.db_path.exists():
        say(f"no database at {app.db_path} yet: import your data to count its members")
        return
    day = today()
    catalog.segments[segment.name] = segment
    with _evaluation(app, catalog, day, [segment]) as evaluation:
        figures = evaluation.figures(segment)
    say(
        f"{segment.name}: {counted(figures.members, 'member')} as of {day.isoformat()} "
        f"({_share(figures.members, evaluation.people)} of "
        f"{counted(evaluation.people, 'person', 'people')})"
    )


def _order_by(sort: str) -> str:
    name = sort.lstrip("-")
    if name not in F.SORTABLE:
        raise click.BadParameter(
            f"{name!r} is not sortable; use one of {', '.join(F.SORTABLE)} "
            "(prefix - for descending)",
            param_hint="--sort",
        )
    return F.sort_sql(name, descending=sort.startswith("-"))


@segment_group.command("show")
@click.argument("segment", required=False)
@as_of_option
@click.option(
    "--limit", default=50, show_default=True, type=click.IntRange(min=1), help="Rows to show."
)
@click.option(
    "--sort",
    default="-total_spent",
    show_default=True,
    help="Field to sort by; prefix - for descending.",
)
@format_option(*ANSWER_FORMATS)
@criteria_option
@click.pass_obj
def show_command(app, segment, as_of, limit, sort, output_format, criteria):
    """Show the members of SEGMENT as a table, with their key figures."""
    if segment is None and criteria is None:
        raise click.UsageError("give a SEGMENT or --criteria")
    order_by = _order_by(sort)
    catalog, [chosen] = _chosen(app, (segment,) if segment else (), criteria)
    with _evaluation(app, catalog, as_of, [chosen]) as evaluation:
        figures = evaluation.figures(chosen)
        members = evaluation.members(chosen, order_by=order_by, limit=limit)
        more = f"first {limit:,} of {figures.members:,}; --limit N for more"
        if output_format != "table":
            # For scripts, the fields and values segment export writes by default.
            fields = list(F.DEFAULT_EXPORT_FIELDS)
            exporter.write_members(members, fields, output_format, sys.stdout, raw=False)
            sys.stdout.flush()
            if figures.members > limit:
                say(f"{chosen.name}: {more}")
            return
        table = _members_table(chosen, figures, as_of, members)
    if figures.members > limit:
        table.caption = more
    show_table(table)


def _members_table(segment, figures, as_of, members) -> Table:
    """The members shown for people, with their key figures."""
    table = new_table(
        "customer",
        "email",
        "name",
        "orders",
        "total spent",
        "last order",
        "lifecycle",
        numeric=("orders", "total spent"),
        title=f"{segment.name}: {counted(figures.members, 'member')} as of {as_of.isoformat()}",
    )
    for member in members:
        name = " ".join(part for part in (member["first_name"], member["last_name"]) if part)
        table.add_row(
            Text(member["customer_id"] or ""),
            Text(member["email"] or ""),
            Text(name),
            f"{member['orders_count']:,}",
            money_for_people(to_decimal(member["total_spent"])),
            (member["last_order_at"] or "")[:10],
            member["lifecycle"],
        )
    return table


@segment_group.command("export")
@click.argument("segment", required=False)
@as_of_option
@click.option("-o", "--output", "output", default="-", help="File to write, or - for stdout.")
@format_option(
    *exporter.FORMATS,
    unset_means="csv, or what the -o file's extension says",
    help="Output format; with -o FILE the file's extension (.csv, .tsv, .json, .jsonl, "
    ".ndjson) chooses it.",
)
@click.option(
    "--fields",
    default=",".join(F.DEFAULT_EXPORT_FIELDS),
    show_default=True,
    help="Comma-separated fields to write (also custom.NAME).",
)
@click.option("--subscribed-only", is_flag=True, help="Only people who accept marketing.")
@click.option("--raw", is_flag=True, help="Do not escape cells that spreadsheets run as formulas.")
@max_change_option
@criteria_option
@click.pass_obj
def export_command(
    app,
    segment,
    as_of,
    output,
    output_format,
    fields,
    subscribed_only,
    raw,
    max_change,
    max_change_min,
    criteria,
):
    """Write the members of SEGMENT as CSV, TSV, JSON or JSON Lines."""
    if segment is None and criteria is None:
        raise click.UsageError("give a SEGMENT or --criteria")
    try:
        output_format = exporter.output_format(output, output_format)
    except SegcliError as error:
        raise click.BadParameter(str(error), param_hint="'-o' / '--output'") from error
    names = exporter.check_fields(fields)
    if output != "-":
        exporter.check_output_path(Path(output))
    catalog, [chosen] = _chosen(app, (segment,) if segment else (), criteria)
    with _evaluation(app, catalog, as_of, [chosen]) as evaluation:
        if max_change is not None:
            from segcli.commands.membership import guard

            size = evaluation.figures(chosen).members
            guard(
                evaluation.store,
                [(chosen.name, as_of, size)],
                max_change,
                max_change_min,
                "nothing written",
            )

        def write(out) -> int:
            return exporter.write_segment(
                evaluation,
                chosen,
                names,
                output_format,
                out,
                raw=raw,
                subscribed_only=subscribed_only,
            )

        if output == "-":
            write(sys.stdout)
            sys.stdout.flush()
            return
        path = Path(output)
        try:
            with exporter.private_output(path) as out:
                count = write(out)
        except OSError as error:
            raise SegcliError(f"cannot write {path}: {error.strerror}") from error
    say(
        f"{counted(count, 'member')} of {chosen.name} written to {path} "
        f"as {exporter.FORMAT_NAMES[output_format]}"
    )


@segment_group.command("sql")
@click.argument("segment", required=False)
@as_of_option
@criteria_option
@click.option(
    "--plan",
    is_flag=True,
    help="Print SQLite's query plan (EXPLAIN QUERY PLAN) instead: which indexes it uses.",
)
@click.pass_obj
def sql_command(app, segment, as_of, criteria, plan):
    """Print the SQL query SEGMENT compiles to, with its parameters."""
    if segment is None and criteria is None:
        raise click.UsageError("give a SEGMENT or --criteria")
    catalog, [chosen] = _chosen(app, (segment,) if segment else (), criteria)
    # The SQL shown is SQLite's: the store's own, which the sqlite3 shell runs.
    with _evaluation(app, catalog, as_of, engine="sqlite") as evaluation:
        lines = evaluation.plan(chosen) if plan else None
        sql, params = evaluation.standalone_sql(chosen)
    out = sys.stdout
    if lines is not None:
        out.write(f"-- query plan of segment {chosen.name}, as of {as_of.isoformat()}\n")
        out.write("-- over facts f: one row per person, stored per as-of date until an import\n")
        out.write(
            "-- the people each purchased, reviewed, has_order or abandoned_cart condition"
            " matches are computed here; commands keep them with the facts\n"
        )
        out.write("".join(f"{line}\n" for line in lines))
        out.flush()
        return
    out.write(f"-- segment {chosen.name}, as of {as_of.isoformat()}\n")
    out.write("-- segcli_fold(x) folds case; segcli_compare(a, b) compares custom fields\n")
    out.write(sql + ";\n")
    out.write("-- parameters:\n")
    for name, value in params.items():
        out.write(f"--   :{name} = {value!r}\n")
    # Inside the command, so that a reader gone away (`| head`) ends it quietly.
    out.flush()


# The membership commands (snapshot, changes) are segment commands of their own module.
from segcli.commands import membership as _membership  # noqa: E402, F401

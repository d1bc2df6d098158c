"""segcli demo: import the bundled example store and show what it holds."""

from __future__ import annotations

import shlex

import click

from segcli.commands.import_cmd import report
from segcli.commands.info import info_tables
from segcli.commands.segment import calculate_all
from segcli.examples.demo import (
    EXAMPLE_FILES,
    EXAMPLE_STORE_TODAY,
    add_example_segments,
    example_data_dir,
)
from segcli.importer.load import ImportOptions, import_file
from segcli.output import counted, file_progress, say, show_table
from segcli.store.info import store_info

DEMO_DB = "demo.db"


@click.command("demo")
@click.pass_obj
def demo_command(app):
    """Import the bundled example store into demo.db (or --db) and show its segments.

    The example segment files are copied into the segments directory (segments/, or
    --segments), except where a file or segment of that name is there already.
    """
    if not app.db_given:
        app.db_path = app.db_path.with_name(DEMO_DB)
    examples = add_example_segments(app.segments_dir)
    if examples.copied:
        copied = counted(len(examples.copied), "example segment file")
        say(f"copied {copied} to {app.segments_dir}/")
    for path in examples.kept:
        say(f"kept your {path}: the example segment of that name was not copied")
    data = example_data_dir()
    say(f"Importing the example store from {data} into {app.db_path}")
    with app.open_store() as store:
        for kind, name in EXAMPLE_FILES:
            with file_progress(f"{kind} {name}") as (on_start, on_progress, on_phase):
                result = import_file(
                    store,
                    kind,
                    data / name,
                    ImportOptions(),
                    on_start=on_start,
                    on_progress=on_progress,
                    on_phase=on_phase,
                )
            report(name, result)
    with app.open_store(create=False) as store:
        info = store_info(store)
    show_table(*info_tables(info), calculate_all(app, EXAMPLE_STORE_TODAY))
    say(
        f"Explore it (the example store's today is {EXAMPLE_STORE_TODAY}: hence --as-of):\n"
        + "".join(f"  {command}\n" for command in explore_commands(app)).rstrip("\n")
    )


def explore_commands(app) -> list[str]:
    """Commands to run next, as a merchant types them: they work as printed."""
    segcli = f"segcli --db {shlex.quote(str(app.db_path))}"
    if app.segments_given:
        segcli += f" --segments {shlex.quote(str(app.segments_dir))}"
    as_of = f"--as-of {EXAMPLE_STORE_TODAY}"
    return [
        f"{segcli} segment show vip-customers {as_of}",
        f"{segcli} customer show C000005 --explain gift-shoppers {as_of}",
        f"{segcli} segment export vip-customers {as_of} -o vip-customers.csv",
    ]

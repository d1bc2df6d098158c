"""segcli demo: import the bundled example store and show what it holds."""

from __future__ import annotations

import click

from segcli.commands.import_cmd import report
from segcli.commands.info import info_command
from segcli.commands.segment import calculate_command
from segcli.demo import EXAMPLE_FILES, EXAMPLE_STORE_TODAY, example_data_dir, example_segments_dir
from segcli.importer.load import ImportOptions, import_file
from segcli.output import file_progress, say

DEMO_DB = "demo.db"


@click.command("demo")
@click.pass_context
def demo_command(ctx):
    """Import the bundled example store into demo.db (or --db) and show its segments."""
    app = ctx.obj
    if not app.db_given:
        app.db_path = app.db_path.with_name(DEMO_DB)
    if not app.segments_given:
        app.segments_dir = example_segments_dir()
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
    ctx.invoke(info_command)
    ctx.invoke(calculate_command, segments=(), output_format="table", as_of=EXAMPLE_STORE_TODAY)
    say(
        f"Explore it: segcli --db {app.db_path} --segments {app.segments_dir} "
        f"segment show vip-customers --as-of {EXAMPLE_STORE_TODAY}"
    )

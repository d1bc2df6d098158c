"""segcli demo: import the bundled example store and show what it holds."""

from __future__ import annotations

import click

from segcli.commands.import_cmd import import_command
from segcli.commands.info import info_command
from segcli.commands.segment import calculate_command
from segcli.demo import EXAMPLE_FILES, EXAMPLE_STORE_TODAY, example_data_dir, example_segments_dir
from segcli.output import say

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
    for kind, name in EXAMPLE_FILES:
        try:
            ctx.invoke(import_command, kind=kind, files=(data / name,))
        except click.exceptions.Exit as done:
            if done.exit_code != 0:
                raise
    ctx.invoke(info_command)
    ctx.invoke(calculate_command, segments=(), output_format="table", as_of=EXAMPLE_STORE_TODAY)
    say(
        f"Explore it: segcli --db {app.db_path} --segments {app.segments_dir} "
        f"segment show vip-customers --as-of {EXAMPLE_STORE_TODAY}"
    )

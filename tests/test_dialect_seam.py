"""The compiler's dialect seam: everything engine-specific in a compiled segment comes
from the dialect, and compiled segments are values (SQL, parameters, sets of people).

A dialect that writes every piece of its own in a recognisable way compiles every example
segment and built-in without one piece of SQLite's showing: a second engine is a second
subclass, with the tree, the parser and the operator rows as they are.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

import segcli
from segcli.rules.compile import Context, as_of_params, compile_condition, compile_segment
from segcli.rules.dialect import Dialect
from segcli.rules.parse import parse_criteria_text
from segcli.segments.catalog import load_catalog
from segcli.segments.evaluate import FACTS_SQL
from segcli.store.db import open_store

EXAMPLES = Path(segcli.__file__).parent / "examples" / "segments"
CATALOG = load_catalog(EXAMPLES)
AS_OF = date(2026, 11, 1)

# What only SQLite writes so: its placeholders, its JSON functions, segcli's functions
# registered in it, its planner hints.
SQLITE_PIECES = re.compile(
    r":(p\d+|as_of_end|as_of)\b|json_each|json_extract|json_array_length|segcli_fold"
    r"|segcli_compare|NOT INDEXED|LIMIT -1|\+o\.|lower\("
)


class Marked(Dialect):
    """A dialect whose every piece is written in its own marked way."""

    name = "marked"

    def placeholder(self, name):
        return f"$param[{name}]"

    def fold(self, expression, *, numbers=False):
        return f"FOLD({expression}, {numbers})"

    def fold_call(self, expression):
        return f"FOLD1({expression})"

    def custom_field(self, column, path):
        return f"CUSTOM({column}, {path})"

    def compare_custom(self, field, value):
        return f"COMPARE({field}, {value})"

    def bound_list(self, values):
        return list(values)

    def json_values(self, array):
        return f"SELECT value FROM ELEMENTS({array})"

    def tags(self, tags):
        return f"TAGS({tags}) AS tag"

    def tag_value(self):
        return "TAG"

    def tag_count(self, tags):
        return f"TAG_COUNT({tags})"


def _conditions():
    for name, segment in sorted(CATALOG.segments.items()):
        yield name, segment.criteria
    long = ", ".join(f"x{n}@example.com" for n in range(100))
    for text in (
        f"email: {{in: [{long}]}}",
        f"purchased: {{product: [{long}]}}",
        "custom.size: {gt: 4}",
        "custom.size: {contains: L}",
        "tags: {contains_all: [a, b]}",
        "tags: {ne: a}",
        "tags: {is_set: true}",
        "has_order: {status: paid}",
        "purchased: {collection: Sale, times: {lte: 2}}",
    ):
        condition, problems = parse_criteria_text(text)
        assert not problems
        yield text, condition


@pytest.mark.parametrize(("name", "condition"), list(_conditions()))
def test_no_sqlite_piece_is_written_but_through_the_dialect(name, condition):
    context = Context(AS_OF, CATALOG.segments, dialect=Marked())
    sql = compile_condition(condition, context)
    assert not SQLITE_PIECES.search(sql), SQLITE_PIECES.search(sql)
    # Where SQLite writes pieces of its own, the marked dialect wrote its own instead.
    sqlite = compile_condition(condition, Context(AS_OF, CATALOG.segments))
    if SQLITE_PIECES.search(sqlite):
        assert re.search(r"\$param\[|FOLD|ELEMENTS|TAG|CUSTOM|COMPARE", sql)


def test_a_compiled_segment_is_its_sql_its_parameters_and_its_sets():
    condition, _ = parse_criteria_text(
        "[accepts_marketing: true, purchased: {collection: Outdoor}, "
        "any: [has_order: {status: refunded}, purchased: {collection: outdoor}]]"
    )
    compiled = compile_segment(condition, Context(AS_OF, CATALOG.segments))
    # Two sets, each with its own parameters: the same set twice is one digest.
    assert len(compiled.sets) == 3
    digests = [people.digest for people in compiled.sets]
    assert digests[0] == digests[2] != digests[1]
    for people in compiled.sets:
        assert people.sql.startswith("SELECT DISTINCT o.person_id")
        assert set(re.findall(r":(\w+)", people.sql)) == set(people.params)
    # Placed, the SQL reads each set where the evaluation says it is.
    placed = compiled.sql(lambda people: f"SELECT person_id FROM kept_{people.digest[:6]}")
    assert placed.count(f"kept_{digests[0][:6]}") == 2
    assert set(re.findall(r":(\w+)", placed)) <= {*compiled.params, "as_of_end"}
    # In place, the same condition: every set written into the SQL.
    inline = compile_condition(condition, Context(AS_OF, CATALOG.segments))
    assert inline.count("SELECT DISTINCT o.person_id") == 3


def test_the_stored_facts_table_has_the_columns_of_the_facts_query(tmp_path):
    """Migration m009 creates facts_cache with FACTS_SQL's columns, in its order."""
    with open_store(tmp_path / "store.db") as store:
        columns = [row[1] for row in store.execute("PRAGMA table_info(facts_cache)")]
        store.execute(
            "CREATE TEMP TABLE counted_orders (person_id, orders_count, total_spent, "
            "first_order_at, last_order_at)"
        )
        cursor = store.execute(
            f"SELECT * FROM ({FACTS_SQL}) LIMIT 0",
            {**as_of_params(AS_OF), "repeat_num": 0, "repeat_den": 1},
        )
        assert columns == [column[0] for column in cursor.description]

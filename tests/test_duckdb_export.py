"""Exports written by DuckDB (issue 17 point 4): segcli/analytic/export.py writes exactly
the bytes today's export writes (segments/export.py's write_segment over the SQLite facts)
for the same members, fields, format and --raw.

Each test evaluates a segment with the SQLite Evaluation, loads the same facts into DuckDB
through Arrow, and compares the two outputs byte for byte.
"""

from __future__ import annotations

import csv
import io
import json
import random
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import date
from pathlib import Path
from unittest.mock import patch

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segcli.analytic import export as duckdb_export
from segcli.importer import kinds
from segcli.money import format_money
from segcli.rules import ast
from segcli.rules.fields import DEFAULT_EXPORT_FIELDS, EXPORT_FIELDS
from segcli.rules.parse import parse_criteria_text
from segcli.segments.evaluate import Evaluation
from segcli.segments.export import FORMATS, write_segment
from segcli.store.db import open_store
from tests.conftest import Segcli

AS_OF = date(2026, 1, 1)
INTEGER_COLUMNS = {
    "position",
    "person_id",
    "accepts_marketing",
    "orders_count",
    "total_spent",
    "days_since_last_order",
    "has_cart",
}
# The members, in DuckDB, of the people the SQLite evaluation chose, in no particular
# order (the writer sorts them): the query takes a parameter of its own, which must reach
# DuckDB beside the export's.
MEMBERS_SQL = (
    "SELECT f.* FROM facts f WHERE f.person_id IN (SELECT person_id FROM chosen) "
    "AND f.position >= $from_position"
)
MEMBERS_PARAMS = {"from_position": 0}


def segment(criteria: str) -> ast.Segment:
    condition, problems = parse_criteria_text(criteria)
    assert condition is not None, problems
    return ast.Segment("chosen", "chosen", "", condition, "test")


EVERYONE = segment("any: [{orders_count: {gte: 0}}, {orders_count: {lt: 0}}]")
BUYERS = segment("orders_count: {gte: 1}")


def facts_table(evaluation: Evaluation, *, shuffled: bool = False) -> pa.Table:
    """The evaluation's facts (position included) as Arrow, typed as the analytic copy
    types them: integers as int64, everything else as text."""
    cursor = evaluation.store.execute("SELECT * FROM facts")
    names = [column[0] for column in cursor.description]
    rows = cursor.fetchall()
    if shuffled:
        # Rows stored out of export order: the order must come from position.
        random.Random(17).shuffle(rows)
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    return pa.table(
        {
            name: pa.array(values, pa.int64() if name in INTEGER_COLUMNS else pa.string())
            for name, values in zip(names, columns, strict=True)
        }
    )


def chosen_people(evaluation: Evaluation, chosen: ast.Segment, subscribed_only: bool) -> list:
    return [
        member["person_id"]
        for member in evaluation.members(chosen)
        if member["accepts_marketing"] or not subscribed_only
    ]


@contextmanager
def evaluated(path: Path) -> Iterator[Evaluation]:
    with closing(open_store(path)) as store, Evaluation(store, AS_OF, {}) as evaluation:
        yield evaluation


def duckdb_facts(
    evaluation: Evaluation,
    people: list,
    *,
    shuffled: bool = False,
    con: duckdb.DuckDBPyConnection | None = None,
    **config: object,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB (``con``, or a new one in memory) holding the evaluation's facts and the
    chosen people."""
    if con is None:
        con = duckdb.connect(config={key: str(value) for key, value in config.items()})
    for name, table in (
        ("facts", facts_table(evaluation, shuffled=shuffled)),
        ("chosen", pa.table({"person_id": pa.array(people, pa.int64())})),
    ):
        con.register("arrow_table", table)
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM arrow_table")
        con.unregister("arrow_table")
    return con


@pytest.fixture(scope="module")
def shared_duckdb() -> Iterator[duckdb.DuckDBPyConnection]:
    """One connection for the many examples of a property (connecting takes 40 ms)."""
    with closing(duckdb.connect()) as con:
        yield con


def by_sqlite(evaluation, chosen, fields, output_format, *, raw, subscribed_only=False):
    out = io.StringIO()
    count = write_segment(
        evaluation, chosen, fields, output_format, out, raw=raw, subscribed_only=subscribed_only
    )
    return count, out.getvalue()


def by_duckdb(con, fields, output_format, *, raw, out=None):
    out = io.StringIO() if out is None else out
    count = duckdb_export.write_members(
        con, MEMBERS_SQL, MEMBERS_PARAMS, fields, output_format, out, raw=raw
    )
    return count, out.getvalue()


def assert_same_export(evaluation, con, chosen, fields, output_format, *, raw, subscribed_only):
    expected = by_sqlite(
        evaluation, chosen, fields, output_format, raw=raw, subscribed_only=subscribed_only
    )
    assert by_duckdb(con, fields, output_format, raw=raw) == expected


# A store imported from files, as merchants' files come: formula starts, quotes, commas,
# a line break, Unicode beyond the first plane, custom columns with odd names, and money
# negative, fractional and large.
CUSTOMERS = [
    # segcli's own columns, and three it keeps as custom fields.
    [*(name for name in kinds.CUSTOMERS.stored if name != "custom")]
    + ["Loyalty Tier", "odd/name~x", 'quote"col'],
    [
        "=C1",
        "=cmd@example.com",
        "=SUM(A1)",
        "+plus",
        "2024-01-02 03:04:05",
        "yes",
        "FR",
        "Île-de-France",
        "Paris, 1er",
        'vip, "quoted" tag, a;b',
        "retail",
        "web",
        "gold",
        "x",
        'q"v',
    ],
    ["C2", "tab@example.com", "Tab", "-minus", "2024-01-03", "no", "DE", "Bayern"]
    + ["Mün\nchen", "-10% off, vip", "", "", "", "=1+1", ""],
    ["C3", "astral@example.com", "Zoë", "@at", "", "", "JP", "東京都", "😀 city", "🎉, ß"]
    + ["wholesale", "pos", "İstanbul", "", ""],
    ["C4", "quote@example.com", 'Say "hi"', "O'Brien", "2025-05-05T10:00:00Z", "1", "", ""]
    + ["", "", "", "", "", "", ""],
    ["C5"] + [""] * 14,
    ["C6", "-5@example.com", "Ann\tTab", "Lee", "", "yes", "US", "", "", "", "", "", "", "", ""],
]
ORDERS = [
    ["order_id", "customer_id", "email", "created_at", "total", "status", "currency"],
    ["O1", "=C1", "", "2025-01-01 10:00:00", "-12.3456", "paid", "EUR"],
    ["O2", "C2", "", "2025-02-01 10:00:00", "999999999999.9999", "paid", "EUR"],
    ["O3", "C3", "", "2025-03-01 10:00:00", "0.0001", "paid", "EUR"],
    ["O4", "C3", "", "2025-03-05 10:00:00", "10.5", "paid", "EUR"],
    ["O5", "C4", "", "2025-03-05 10:00:00", "-0.5", "refunded", "EUR"],
    ["O6", "C6", "", "2025-06-01 10:00:00", "0.10", "paid", "EUR"],
]
CUSTOM_FIELDS = [
    "custom.loyalty tier",
    "custom.Loyalty Tier",
    "custom.odd/name~x",
    'custom.quote"col',
    "custom.missing",
    "custom. loyalty tier",
]
FIELD_LISTS = [
    list(DEFAULT_EXPORT_FIELDS),
    [*EXPORT_FIELDS, *CUSTOM_FIELDS],
    # Named twice: two columns, one JSON key.
    ["email", "email", "total_spent", "custom.odd/name~x", "custom.odd/name~x"],
]


def csv_text(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


@pytest.fixture(scope="module")
def imported_store(tmp_path_factory) -> Path:
    segcli = Segcli(tmp_path_factory.mktemp("imported"))
    for kind, rows, options in (
        ("customers", CUSTOMERS, ["--keep-unknown"]),
        ("orders", ORDERS, []),
    ):
        result = segcli("import", kind, segcli.write(f"{kind}.csv", csv_text(rows)), *options)
        assert result.exit_code == 0, result.stderr
    return segcli.db


def assert_same_exports(store: Path, field_lists: list[list[str]], output_format, raw) -> None:
    with evaluated(store) as evaluation:
        for subscribed_only in (False, True):
            people = chosen_people(evaluation, EVERYONE, subscribed_only)
            with closing(duckdb_facts(evaluation, people)) as con:
                for fields in field_lists:
                    assert_same_export(
                        evaluation,
                        con,
                        EVERYONE,
                        fields,
                        output_format,
                        raw=raw,
                        subscribed_only=subscribed_only,
                    )


@pytest.mark.parametrize("output_format", FORMATS)
@pytest.mark.parametrize("raw", [False, True])
def test_an_imported_store_exports_the_same_bytes(imported_store, output_format, raw):
    assert_same_exports(imported_store, FIELD_LISTS, output_format, raw)


@pytest.mark.slow
@pytest.mark.parametrize("output_format", FORMATS)
@pytest.mark.parametrize("raw", [False, True])
def test_each_field_alone_exports_the_same_bytes(imported_store, output_format, raw):
    alone = [[name] for name in [*EXPORT_FIELDS, *CUSTOM_FIELDS]]
    assert_same_exports(imported_store, alone, output_format, raw)


def test_the_imported_store_has_the_values_the_test_is_about(imported_store):
    """The store the test above compares holds what it is meant to: cells to escape and
    quote, JSON strings to escape, and money of every shape."""
    with evaluated(imported_store) as evaluation:
        people = chosen_people(evaluation, EVERYONE, False)
        with closing(duckdb_facts(evaluation, people)) as con:
            fields = ["first_name", "city", "tags", "total_spent"]
            _, text = by_duckdb(con, fields, "csv", raw=False)
    assert text.splitlines()[1:4] == [
        '\'=SUM(A1),"Paris, 1er","vip, ""quoted"" tag, a;b",-12.3456',
        'Tab,"Mün',
        'chen","\'-10% off, vip",999999999999.9999',
    ]
    assert "10.5001" in text and "0.10" in text and 'Zoë,😀 city,"🎉, ß"' in text


@pytest.mark.parametrize("output_format", FORMATS)
def test_no_members_is_a_header_or_an_empty_list(imported_store, output_format):
    with evaluated(imported_store) as evaluation, closing(duckdb_facts(evaluation, [])) as con:
        count, text = by_duckdb(con, ["email", "total_spent"], output_format, raw=False)
    assert count == 0
    assert text == {"csv": "email,total_spent\n", "tsv": "email\ttotal_spent\n"}.get(
        output_format, "[]\n" if output_format == "json" else ""
    )


STRING_VIEWS = {"produce_arrow_string_view": True, "arrow_output_version": "1.4"}
LARGE_STRINGS = {"arrow_large_buffer_size": True}


@pytest.mark.parametrize(
    ("config", "arrow_type"),
    [({}, pa.string()), (STRING_VIEWS, pa.string_view()), (LARGE_STRINGS, pa.large_string())],
)
def test_the_settings_give_the_arrow_strings_they_are_tested_for(config, arrow_type):
    with closing(duckdb.connect(config={k: str(v) for k, v in config.items()})) as con:
        assert con.sql("SELECT 'line' AS line").to_arrow_table().schema[0].type == arrow_type


@pytest.mark.parametrize(
    "config",
    [
        {},
        # Without insertion order kept, the lines are sorted by position again.
        {"preserve_insertion_order": False},
        # Lines as Arrow string views and as large strings: read from their buffers too.
        STRING_VIEWS,
        LARGE_STRINGS,
        {"threads": 1},
    ],
    ids=lambda config: ",".join(config) or "default",
)
@pytest.mark.parametrize("output_format", FORMATS)
def test_members_come_in_position_order_whatever_the_table_order(
    imported_store, config, output_format
):
    fields = [*EXPORT_FIELDS, "custom.loyalty tier"]
    with evaluated(imported_store) as evaluation:
        people = chosen_people(evaluation, EVERYONE, False)
        expected = by_sqlite(evaluation, EVERYONE, fields, output_format, raw=False)
        # A batch of two lines: the first object of a JSON array is in the first batch
        # only, and every batch is written whole.
        with (
            closing(duckdb_facts(evaluation, people, shuffled=True, **config)) as con,
            patch.object(duckdb_export, "_LINES_PER_BATCH", 2),
        ):
            assert by_duckdb(con, fields, output_format, raw=False) == expected


class GoneAway(io.StringIO):
    """Output whose reader went away after the first write (`segcli ... | head`)."""

    def write(self, text: str) -> int:
        if self.tell():
            raise BrokenPipeError
        return super().write(text)


@pytest.mark.parametrize("by_python", [False, True], ids=["by DuckDB", "by Python"])
def test_a_reader_gone_away_leaves_the_connection_free(imported_store, by_python):
    with evaluated(imported_store) as evaluation:
        people = chosen_people(evaluation, EVERYONE, False)
        with (
            closing(duckdb_facts(evaluation, people)) as con,
            patch.object(duckdb_export, "_LINES_PER_BATCH", 1),
            # As when a custom field is not text: the members are written by Python.
            patch.object(duckdb_export, "_non_text_custom", return_value=by_python),
        ):
            try:
                by_duckdb(con, ["email"], "jsonl", raw=False, out=GoneAway())
            except BrokenPipeError:
                # Still in the handler, where the traceback keeps the writer's frame.
                assert con.sql("SELECT count(*) FROM facts").fetchall() == [(len(people),)]
            else:
                pytest.fail("the export did not meet the broken pipe")


def test_user_text_reaches_duckdb_only_as_parameters():
    name = "custom.x'); DROP TABLE facts; --"
    sql, params = duckdb_export.lines_sql(
        MEMBERS_SQL, MEMBERS_PARAMS, ["email", name], "jsonl", raw=False
    )
    assert "DROP" not in sql
    assert "/x'); drop table facts; --" in params.values()
    assert '"custom.x\'); DROP TABLE facts; --": ' in "".join(map(str, params.values()))
    assert params["from_position"] == 0


def test_parameters_of_the_members_query_are_never_taken():
    taken = {"export_0": "a", "export_2": "b"}
    _, params = duckdb_export.lines_sql(
        "SELECT * FROM facts f", taken, ["custom.x", "custom.y"], "json", raw=False
    )
    assert {name: params[name] for name in taken} == taken
    assert len(params) == 2 + 2 + 2


@pytest.mark.parametrize(
    "fields, problem",
    [
        (["email", "average_order_value"], "is not a field exports write"),
        (["custom."], "is not a field exports write"),
        (["has_cart"], "is not a field exports write"),
        ([], "at least one field"),
    ],
)
def test_only_exported_fields_are_written(fields, problem):
    with pytest.raises(ValueError, match=problem):
        duckdb_export.lines_sql("SELECT * FROM facts f", {}, fields, "csv", raw=False)


# Stored facts written directly: every value the facts' columns can hold, beyond what the
# importer writes, with their types (text stays text, numbers numbers).
SPECIAL = "=+-@\t\r\n\",;'\\ \x00\x01\x0b\x1f\x7f\u2028\u2029ßİ😀\U0010ffffA"
# Text made of pieces, so that each special character and sequence is frequent.
PIECES = [*SPECIAL, "=SUM(A1)", "\\u000B", "\\\x0b", "\r\n", '""', "'", "-5"]
strings = st.lists(
    st.one_of(
        st.sampled_from(PIECES), st.text(st.characters(exclude_categories=("Cs",)), max_size=3)
    ),
    max_size=4,
).map("".join)
texts = st.one_of(st.none(), strings)
dates = st.one_of(
    st.none(),
    st.sampled_from(["2024-01-02 03:04:05", "2026-10-31 23:59:59.250000", "2024-01-02"]),
    texts,
)
money = st.one_of(
    st.none(),
    st.integers(-(10**6), 10**6),
    st.integers(-(10**9), 10**9).map(lambda cents: cents * 100),
    # The smallest BIGINT is left out: SQLite's abs() of it overflows in today's writer.
    st.integers(-(2**63) + 1, 2**63 - 1),
)
integers = st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1), st.integers(-5, 500))
tag_lists = st.one_of(
    st.none(),
    st.tuples(st.lists(strings, max_size=4), st.booleans()).map(
        lambda tags: json.dumps(tags[0], ensure_ascii=tags[1])
    ),
)
CUSTOM_KEYS = ["tier", "a/b", "a~b", 'a"b', "a\\b", " tier ", "ß", "i̇", "x.y", "0"]
custom_texts = st.one_of(
    st.none(),
    st.just(""),
    st.tuples(
        st.dictionaries(st.sampled_from(CUSTOM_KEYS), texts, max_size=4),
        st.booleans(),
        st.booleans(),
    ).map(lambda c: json.dumps(c[0], ensure_ascii=c[1], sort_keys=c[2])),
)
# Custom fields as segcli stores them are text; a store written by another tool may hold
# any JSON value, which the Python writers write.
odd_custom = st.dictionaries(
    st.sampled_from(CUSTOM_KEYS),
    st.one_of(
        st.integers(), st.floats(allow_nan=False), st.booleans(), st.lists(st.text(max_size=3))
    ),
    min_size=1,
).map(json.dumps)
COLUMNS = {
    "person_key": texts.map(str),
    **dict.fromkeys(
        [
            "customer_id",
            "email",
            "email_domain",
            "first_name",
            "last_name",
            "country",
            "region",
            "city",
            "customer_group",
            "channel",
            "lifecycle",
        ],
        texts,
    ),
    **dict.fromkeys(["created_at", "first_order_at", "last_order_at"], dates),
    "accepts_marketing": st.sampled_from([None, 0, 1]),
    "tags": tag_lists,
    "custom": custom_texts,
    "orders_count": integers,
    "total_spent": money,
    "days_since_last_order": integers,
}
facts = st.fixed_dictionaries(COLUMNS)
NAMES = [*EXPORT_FIELDS, *(f"custom.{key}" for key in CUSTOM_KEYS), "custom.TIER", "custom.İ"]
field_lists = st.lists(st.sampled_from(NAMES), min_size=1, max_size=12)
PEOPLE = 4


@pytest.fixture(scope="module")
def facts_store(tmp_path_factory) -> Path:
    """A store of four people whose stored facts each example writes over."""
    segcli = Segcli(tmp_path_factory.mktemp("facts"))
    customers = "customer_id,email\n" + "".join(f"C{n},c{n}@example.com\n" for n in range(PEOPLE))
    result = segcli("import", "customers", segcli.write("customers.csv", customers))
    assert result.exit_code == 0, result.stderr
    with evaluated(segcli.db):
        pass
    return segcli.db


def store_facts(path: Path, people: list[dict]) -> None:
    """Write each person's facts over the stored ones, the person key kept unique."""
    with closing(sqlite3.connect(path)) as conn, conn:
        for rowid, person in enumerate(people, start=1):
            values = {**person, "person_key": f"{person['person_key']}#{rowid}"}
            assignments = ", ".join(f"{name} = :{name}" for name in values)
            conn.execute(
                f"UPDATE facts_cache SET {assignments} WHERE rowid = :rowid",
                {**values, "rowid": rowid},
            )


@pytest.mark.slow
@settings(
    deadline=None, max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    people=st.lists(facts, min_size=PEOPLE, max_size=PEOPLE),
    fields=field_lists,
    output_format=st.sampled_from(FORMATS),
    raw=st.booleans(),
    subscribed_only=st.booleans(),
)
def test_any_stored_facts_export_the_same_bytes(
    facts_store, shared_duckdb, people, fields, output_format, raw, subscribed_only
):
    store_facts(facts_store, people)
    with evaluated(facts_store) as evaluation:
        chosen = chosen_people(evaluation, BUYERS, subscribed_only)
        con = duckdb_facts(evaluation, chosen, shuffled=True, con=shared_duckdb)
        with patch.object(duckdb_export, "_LINES_PER_BATCH", 3):
            assert_same_export(
                evaluation,
                con,
                BUYERS,
                fields,
                output_format,
                raw=raw,
                subscribed_only=subscribed_only,
            )


@settings(
    deadline=None, max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    people=st.lists(facts, min_size=PEOPLE, max_size=PEOPLE),
    odd=st.lists(odd_custom, min_size=1, max_size=PEOPLE),
    output_format=st.sampled_from(FORMATS),
)
def test_custom_fields_that_are_not_text_are_written_as_python_writes_them(
    facts_store, shared_duckdb, people, odd, output_format
):
    for person, custom in zip(people, odd, strict=False):
        person["custom"] = custom
    store_facts(facts_store, people)
    fields = ["email", *(f"custom.{key}" for key in CUSTOM_KEYS)]
    with evaluated(facts_store) as evaluation:
        people_ids = chosen_people(evaluation, EVERYONE, False)
        con = duckdb_facts(evaluation, people_ids, shuffled=True, con=shared_duckdb)
        assert_same_export(
            evaluation, con, EVERYONE, fields, output_format, raw=False, subscribed_only=False
        )


@settings(
    deadline=None, max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    amounts=st.lists(
        st.one_of(
            st.integers(-(2**63), 2**63 - 1),
            st.integers(-(10**7), 10**7),
            st.integers(-(10**7), 10**7).map(lambda cents: cents * 100),
        ),
        min_size=1,
        max_size=50,
    )
)
def test_money_is_written_as_format_money_writes_it(shared_duckdb, amounts):
    amounts += [None, 0, 1, 10, 100, 10_000, -1, -10, -100, -10_000, 2**63 - 1, -(2**63)]
    shared_duckdb.register("amounts", pa.table({"x": pa.array(amounts, pa.int64())}))
    sql = duckdb_export._MONEY_SQL.format(x="x")
    written = [row[0] for row in shared_duckdb.sql(f"SELECT {sql} FROM amounts").fetchall()]
    assert written == [None if amount is None else format_money(amount) for amount in amounts]


def test_json_strings_are_escaped_as_json_dumps_escapes_them():
    """Every character but the surrogates in runs of 64, the first 12,288 alone, ASCII
    after a backslash, and text that reads like an escape (which must stay text)."""
    characters = [chr(code) for code in range(0x110000) if not 0xD800 <= code <= 0xDFFF]
    texts = ["".join(characters[i : i + 64]) for i in range(0, len(characters), 64)]
    texts += [c for c in characters[:0x3000]] + [f"\\{c}" for c in characters[:0x80]]
    texts += ["\\u000B", "\\\\u000B", "\\\x0b", "\x0b\\", "", None]
    with closing(duckdb.connect()) as con:
        con.register("texts", pa.table({"x": pa.array(texts, pa.string())}))
        sql = duckdb_export._json_string_sql("x")
        written = [row[0] for row in con.sql(f"SELECT {sql} FROM texts").fetchall()]
    assert written == [json.dumps(text, ensure_ascii=False) for text in texts]

"""The CSV exporter's per-field cell writers, in Python and in SQL, give exactly the
cells of the plain path."""

from __future__ import annotations

import csv
import io
import json
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segcli.segments.export import (
    EXPORT_FIELDS,
    _cell,
    _cell_writer,
    cells_sql,
    value_of,
    write_cells,
    write_members,
)

texts = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.sampled_from(["=SUM(A1)", "+1", "-5", "@x", "\tx", "a,b", 'say "hi"', "two\nlines"]),
)
members = st.fixed_dictionaries(
    {
        **{name: texts for name in EXPORT_FIELDS},
        "accepts_marketing": st.sampled_from([None, 0, 1]),
        "orders_count": st.one_of(st.none(), st.integers(-5, 10**6)),
        "days_since_last_order": st.one_of(st.none(), st.integers(0, 10**5)),
        "total_spent": st.one_of(st.none(), st.integers(-(10**12), 10**12)),
        "created_at": st.one_of(st.none(), st.just("2024-01-02 03:04:05")),
        "first_order_at": st.one_of(st.none(), st.just("2024-01-02 03:04:05.250000")),
        "last_order_at": st.one_of(st.none(), st.just("2025-12-31 23:59:59")),
        "tags": st.one_of(st.none(), st.lists(st.text(max_size=6), max_size=3).map(json.dumps)),
        "custom": st.one_of(
            st.none(), st.dictionaries(st.sampled_from(["tier", "x"]), texts).map(json.dumps)
        ),
    }
)


@pytest.mark.slow
@settings(deadline=None, max_examples=300)
@given(member=members, raw=st.booleans())
def test_cell_writers_match_the_plain_cells(member, raw):
    for name in (*EXPORT_FIELDS, "custom.tier"):
        assert _cell_writer(name, raw)(member) == _cell(value_of(member, name), raw), name


# The same cells made by SQLite (cells_sql): a text column may hold a number, and any text.
anything = st.one_of(texts, st.text(), st.integers(-(10**6), 10**6))
stored_members = members.flatmap(
    lambda member: st.fixed_dictionaries(
        {
            **{name: st.just(value) for name, value in member.items()},
            **{name: anything for name in ("customer_id", "first_name", "city", "lifecycle")},
        }
    )
)
SQL_FIELDS = [name for name in EXPORT_FIELDS if name != "tags"]


def _sql_cells(member: dict, raw: bool) -> list[str]:
    conn = sqlite3.connect(":memory:")
    # No declared types: each value is stored as it is given, numbers in text columns too.
    conn.execute(f"CREATE TABLE f ({', '.join(SQL_FIELDS)})")
    conn.execute(
        f"INSERT INTO f VALUES ({', '.join('?' for _ in SQL_FIELDS)})",
        [member[name] for name in SQL_FIELDS],
    )
    row = conn.execute(f"SELECT {', '.join(cells_sql(SQL_FIELDS, raw))} FROM f").fetchone()
    conn.close()
    return list(row)


@pytest.mark.slow
@settings(deadline=None, max_examples=300)
@given(member=stored_members, raw=st.booleans())
def test_sql_cells_match_the_cell_writers(member, raw):
    expected = [_cell_writer(name, raw)(member) for name in SQL_FIELDS]
    assert _sql_cells(member, raw) == expected


@pytest.mark.slow
@settings(deadline=None, max_examples=150)
@given(
    chosen=st.lists(stored_members, max_size=4),
    raw=st.booleans(),
    output_format=st.sampled_from(["csv", "tsv"]),
)
def test_lines_from_sql_cells_match_the_member_writer(chosen, raw, output_format):
    fields = [*SQL_FIELDS]
    delimiter = "," if output_format == "csv" else "\t"
    by_sql, by_python = io.StringIO(), io.StringIO()
    rows = [tuple(_sql_cells(member, raw)) for member in chosen]
    assert write_cells(fields, delimiter, rows, by_sql) == len(chosen)
    write_members(chosen, fields, output_format, by_python, raw=raw)
    assert by_sql.getvalue() == by_python.getvalue()
    # And a CSV reader gets every cell back whole.
    text = io.StringIO(by_sql.getvalue(), newline="")
    assert list(csv.reader(text, delimiter=delimiter)) == [fields, *map(list, rows)]


def test_tags_and_custom_fields_are_left_to_python():
    assert cells_sql(["email", "tags"], raw=False) is None
    assert cells_sql(["email", "custom.tier"], raw=False) is None
    assert len(cells_sql(["email", "total_spent"], raw=False)) == 2

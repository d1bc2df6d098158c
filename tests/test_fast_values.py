"""The parsers in DuckDB SQL (importer/fast_values.py) against the parsers of values.py.

The contract, for every string: where the SQL does not send the cell to Python, the
Python parser accepts it and gives exactly the SQL's value, of the same Python type.
Each hypothesis example is a batch of cells read by one DuckDB query.
"""

from __future__ import annotations

import functools
import string
import sys

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segcli.errors import BadValue
from segcli.importer import fast_values, values
from segcli.importer.dates import DAY_FIRST, MONTH_FIRST, DateReader

PARSERS = [
    values.text,
    values.identifier,
    values.email,
    values.timestamp,
    values.money,
    values.integer,
    values.boolean,
    values.tags,
    values.collections,
    values.status,
    values.currency,
    values.rating,
    values.subscription_status,
]
PARSER_IDS = [getattr(parser, "__name__", "timestamp") for parser in PARSERS]
READERS = [values.timestamp, DateReader(DAY_FIRST), DateReader(MONTH_FIRST)]


@functools.cache
def connection() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


def read_fast(parser, cells: list[str | None]) -> list[tuple[object, bool]]:
    """Each cell's (fast value, sent to Python), from one query over all the cells."""
    fast = fast_values.fast_for(parser)
    assert fast is not None
    value, python = fast.over("cell")
    cell_table = pa.table(
        {"position": list(range(len(cells))), "cell": pa.array(cells, pa.string())}
    )
    con = connection()
    con.register("cells", cell_table)
    try:
        rows = con.sql(f"SELECT {value}, {python} FROM cells ORDER BY position").fetchall()
    finally:
        con.unregister("cells")
    return [(row[0], row[1]) for row in rows]


def check_contract(parser, cells: list[str | None]) -> list[bool]:
    """Assert the contract on every cell; return which cells were sent to Python."""
    sent = []
    for cell, (fast, python) in zip(cells, read_fast(parser, cells), strict=True):
        assert python in (True, False), cell
        sent.append(python)
        if python:
            continue
        try:
            expected = parser(cell or "")
        except BadValue as error:
            raise AssertionError(
                f"{cell!r} read fast as {fast!r}; Python rejects it: {error}"
            ) from None
        assert fast == expected, cell
        assert type(fast) is type(expected), cell
    return sent


# --- strategies: any text, and the plain forms each parser reads fast -----------------

PYTHON_SPACES = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()]
padding = st.text(st.sampled_from([" ", " ", "\t", "\n", "\u00a0", "\u3000", "\x1f"]), max_size=2)
any_text = st.one_of(
    st.text(),
    st.text(st.sampled_from([*PYTHON_SPACES, "\x00", "a", "A", "1", ",", ";", '"', "\\", "İ"])),
)


def padded(core: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(padding, core, padding).map("".join) | core


def digits(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    return st.text(st.sampled_from(string.digits), min_size=min_size, max_size=max_size)


two_digits = st.integers(0, 99).map("{:02d}".format)
dates = st.tuples(
    st.one_of(st.integers(0, 9999), st.sampled_from([1, 2000, 2023, 2024, 2100, 9999])).map(
        "{:04d}".format
    ),
    st.one_of(st.integers(0, 13), two_digits.map(int)).map("{:02d}".format),
    st.one_of(st.sampled_from([28, 29, 30, 31, 1, 0, 32]), st.integers(0, 99)).map("{:02d}".format),
).map("-".join)
offsets = st.one_of(
    st.sampled_from(["", "Z", "+00:00", "-00:00", "z", "+0200", "+02", "UTC"]),
    st.tuples(st.sampled_from("+-"), st.integers(0, 25), st.integers(0, 61)).map(
        lambda o: f"{o[0]}{o[1]:02d}:{o[2]:02d}"
    ),
)
times = st.tuples(
    st.sampled_from(["T", " ", "t", "_"]),
    st.integers(0, 25).map("{:02d}".format),
    st.integers(0, 61).map(":{:02d}".format),
    st.one_of(st.just(""), st.integers(0, 61).map(":{:02d}".format)),
    st.one_of(st.just(""), digits(0, 8).map(".{}".format)),
    offsets,
).map("".join)
date_cells = padded(st.tuples(dates, st.one_of(st.just(""), times)).map("".join))

amount_cells = padded(
    st.tuples(
        st.sampled_from(["", "", "-", "+", "--"]),
        st.one_of(digits(0, 3), digits(0, 16), st.sampled_from(["999999999999", "1000000000000"])),
        st.sampled_from(["", ".", ".", ","]),
        st.one_of(digits(0, 6), st.sampled_from(["9999", "00000", "00001"])),
        st.sampled_from(["", "", "", "e3", "E-2", "e"]),
    ).map("".join)
)
email_cells = padded(
    st.text(
        st.sampled_from(["a", "Z", "0", ".", "-", "+", "@", "@", " ", "\t", "İ", "é", "\x7f"]),
        max_size=8,
    )
)


def cased(words) -> st.SearchStrategy[str]:
    """Words in any mix of upper and lower case."""
    return st.sampled_from(sorted(words)).flatmap(
        lambda word: st.tuples(*(st.sampled_from([c.lower(), c.upper()]) for c in word)).map(
            "".join
        )
    )


word_cells = padded(
    st.one_of(
        cased(values.TRUE_WORDS | values.FALSE_WORDS | {"subscribed", "unsubscribed", "paid"}),
        cased({"usd", "eur", "cancelled"}),
        st.sampled_from(["", "nope", "İ", "ſ", "\u212a"]),
    )
)
list_cells = st.lists(
    padded(st.sampled_from(["a", "b", "B", "", "x y", "é", '"', "a\\b", "\u00a0c"])),
    max_size=5,
).flatmap(lambda parts: st.sampled_from([",", ";"]).map(lambda sep: sep.join(parts)))
identifier_cells = padded(
    st.one_of(digits(1, 6), st.tuples(digits(0, 5), st.just("."), digits(0, 3)).map("".join))
)

CELLS = {
    "text": st.one_of(any_text, padded(st.text(max_size=5))),
    "identifier": st.one_of(any_text, identifier_cells),
    "email": st.one_of(any_text, email_cells),
    "timestamp": st.one_of(any_text, date_cells),
    "money": st.one_of(any_text, amount_cells),
    "integer": st.one_of(any_text, amount_cells),
    "rating": st.one_of(any_text, amount_cells, padded(digits(1, 2))),
    "boolean": st.one_of(any_text, word_cells),
    "status": st.one_of(any_text, word_cells),
    "currency": st.one_of(any_text, word_cells),
    "subscription_status": st.one_of(any_text, word_cells),
    "tags": st.one_of(any_text, list_cells),
    "collections": st.one_of(any_text, list_cells),
}


@pytest.mark.parametrize("parser", PARSERS, ids=PARSER_IDS)
@settings(deadline=None, max_examples=150)
@given(data=st.data())
def test_fast_value_is_the_parsers_wherever_python_is_not_asked(parser, data):
    name = getattr(parser, "__name__", "timestamp")
    cells = data.draw(st.lists(st.one_of(st.none(), CELLS[name]), max_size=40))
    check_contract(parser, cells)


@pytest.mark.slow
@pytest.mark.parametrize("reader", READERS, ids=["no order", "day first", "month first"])
@settings(deadline=None, max_examples=100)
@given(cells=st.lists(date_cells, min_size=1, max_size=40))
def test_a_reader_with_an_order_reads_iso_dates_fast_all_the_same(reader, cells):
    assert fast_values.reads_dates_fast(reader)
    check_contract(reader, cells)


# --- the plain forms are read fast, so that Python sees only what is rare ---------------


@settings(deadline=None, max_examples=100)
@given(
    moments=st.lists(
        st.tuples(
            st.datetimes(),
            st.sampled_from(["T", " "]),
            st.sampled_from(["seconds", "minutes", "microseconds", "milliseconds"]),
            st.sampled_from(["", "Z", "+00:00", "+02:00", "-05:30", "+14:00"]),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_iso_dates_with_offsets_are_read_fast(moments):
    cells = [
        moment.isoformat(sep, timespec) + offset
        for moment, sep, timespec, offset in moments
        # Python refuses what an offset takes past year 9999 or before year 1.
        if 1 < moment.year < 9999
    ]
    assert not any(check_contract(values.timestamp, cells))


@settings(deadline=None, max_examples=100)
@given(
    amounts=st.lists(
        st.tuples(st.sampled_from(["", "-", "+"]), st.integers(0, 10**12 - 1), digits(0, 4)),
        min_size=1,
        max_size=30,
    )
)
def test_amounts_with_up_to_four_decimals_are_read_fast(amounts):
    cells = [
        f"{sign}{whole}.{decimals}" if decimals else f"{sign}{whole}"
        for sign, whole, decimals in amounts
    ]
    assert not any(check_contract(values.money, cells))


# --- named cases -----------------------------------------------------------------------

ts = values.timestamp


@pytest.mark.parametrize(
    ("parser", "cell", "python", "stored"),
    [
        # The fast path checks the calendar by a round trip; a cast alone is not trusted.
        (ts, "2026-02-30", True, BadValue),
        (ts, "2024-02-29", False, "2024-02-29 00:00:00"),
        (ts, "2023-02-29", True, BadValue),
        (ts, "2024-02-29T23:30:00-01:00", False, "2024-03-01 00:30:00"),
        (ts, "2025-01-02T16:17:14Z", False, "2025-01-02 16:17:14"),
        (ts, "2025-01-02 16:17:14.5+05:30", False, "2025-01-02 10:47:14.500000"),
        (ts, "2025-01-02T16:17:14.000Z", False, "2025-01-02 16:17:14"),
        (ts, "2025-01-02T24:00:00", True, BadValue),
        (ts, "0001-01-01T00:00:00+01:00", True, BadValue),
        (ts, "2/1/2025", True, BadValue),
        (ts, "13/1/2025", True, "2025-01-13 00:00:00"),
        (ts, "8 Feb 2024", True, "2024-02-08 00:00:00"),
        (values.money, "1e3", True, 10_000_000),
        (values.money, " 12.50 ", False, 125_000),
        (values.money, "12,50", True, BadValue),
        (values.money, "-0.5", False, -5_000),
        (values.money, "999999999999.9999", False, 9_999_999_999_999_999),
        (values.money, "1000000000000", True, BadValue),
        (values.money, "1.23450", True, 12_345),
        (values.money, "1.23456", True, BadValue),
        (values.money, "\u00a012\u00a0", True, 120_000),
        (values.integer, "2.0", False, 2),
        (values.integer, "2.5", True, BadValue),
        (values.rating, "6", True, BadValue),
        (values.boolean, "TRUE", False, 1),
        (values.boolean, " yes ", False, 1),
        (values.boolean, "maybe", True, BadValue),
        (values.text, "\u00a012\u00a0", False, "12"),
        (values.text, "\t12\u00a0", True, "12"),
        (values.text, "12\u2028", True, "12"),
        (values.text, " Rossi ", False, "Rossi"),
        (values.identifier, "17850.0", False, "17850"),
        (values.email, " Michael.Rossi@Shop.Example ", False, "michael.rossi@shop.example"),
        (values.email, "İ@x.com", True, "i\u0307@x.com"),
        (values.email, "a@b@c", True, BadValue),
        (values.status, "Cancelled", False, "cancelled"),
        (values.currency, " usd", False, "USD"),
        (values.subscription_status, "", False, "subscribed"),
        (values.tags, " a, b ,a", False, '["a", "b"]'),
        (values.tags, "", False, "[]"),
        (values.tags, 'say "hi"', True, '["say \\"hi\\""]'),
        (values.collections, "Summer; Sale;Summer", False, '["Summer", "Sale"]'),
    ],
)
def test_named_cells(parser, cell, python, stored):
    [(fast, sent)] = read_fast(parser, [cell])
    assert sent is python
    if stored is BadValue:
        with pytest.raises(BadValue):
            parser(cell)
    else:
        assert parser(cell) == stored
        if not python:
            assert fast == stored


def test_nul_is_a_character_duckdb_keeps_in_text():
    [(fast, sent)] = read_fast(values.text, [" a\x00b "])
    assert (fast, sent) == ("a\x00b", False)


def test_duckdb_trim_strips_nothing_python_keeps():
    """The fast path rests on DuckDB's trim() stripping only what str.strip() strips."""
    points = [c for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
    cells = pa.table({"point": points, "cell": [chr(c) + "a" + chr(c) for c in points]})
    con = duckdb.connect()
    con.register("cells", cells)
    trimmed = con.sql("SELECT point FROM cells WHERE trim(cell) <> cell").fetchall()
    assert {chr(point) for (point,) in trimmed} <= set(PYTHON_SPACES)
    assert "\u00a0" in {chr(point) for (point,) in trimmed}


def test_python_whitespace_is_every_code_point_python_strips():
    listed = {chr(c) for first, last in fast_values.PYTHON_SPACE for c in range(first, last + 1)}
    assert listed == set(PYTHON_SPACES)


# --- the registry and the one query ---------------------------------------------------


def test_every_parser_of_a_native_column_has_a_fast_path():
    from segcli.importer.kinds import KINDS

    parsers = {
        id(parser): parser
        for kind in KINDS.values()
        for parser in (*kind.columns.values(), *kind.line_item_columns.values())
    }
    assert [p for p in parsers.values() if fast_values.fast_for(p) is None] == []


def test_a_reader_with_a_date_format_has_no_fast_path():
    reader = DateReader(date_format="%d/%m/%Y")
    assert not fast_values.reads_dates_fast(reader)
    assert fast_values.fast_for(reader) is None
    assert fast_values.fast_for(DateReader()) is fast_values.TIMESTAMP


def test_fast_batches_reads_every_column_in_one_query_as_arrow_batches():
    con = duckdb.connect()
    con.execute(
        'CREATE TABLE "file rows" (line BIGINT, total VARCHAR, "created""at" VARCHAR, d VARCHAR)'
    )
    con.executemany(
        'INSERT INTO "file rows" VALUES (?, ?, ?, ?)',
        [(2, "12.50", "2024-01-02", "2/1/2025"), (3, "1e3", None, ""), (4, None, "x", "")],
    )
    reader = fast_values.fast_batches(
        con,
        "file rows",
        [
            ("total", values.money),
            ('created"at', values.timestamp),
            ("d", DateReader(date_format="%d/%m/%Y")),
        ],
        keep=["line"],
        rows_per_batch=2,
    )
    batches = list(reader)
    assert len(batches) == 2
    table = pa.Table.from_batches(batches)
    assert table.column_names == [
        "line",
        "v_total",
        "py_total",
        'v_created"at',
        'py_created"at',
        "v_d",
        "py_d",
    ]
    rows = sorted(table.to_pylist(), key=lambda row: row["line"])
    # Where a cell is Python's, its fast value means nothing and is not compared.
    assert [r["py_total"] for r in rows] == [False, True, False]
    assert [rows[0]["v_total"], rows[2]["v_total"]] == [125_000, None]
    assert [r['py_created"at'] for r in rows] == [False, False, True]
    assert [rows[0]['v_created"at'], rows[1]['v_created"at']] == ["2024-01-02 00:00:00", None]
    # A column without a fast path is Python's, every cell of it.
    assert [r["py_d"] for r in rows] == [True, True, True]

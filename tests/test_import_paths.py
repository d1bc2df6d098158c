"""The importer's fast paths give exactly what its general paths give.

The importer reads plain numbers and plain UTC dates without Decimal or time-zone
arithmetic, parses a batch column by column, builds stored rows a batch at a time, and
loads the first file of a kind straight into its empty table, numbering line items as
they stream. Each shortcut is checked here against the general path it stands in for:
Decimal, ``datetime.fromisoformat``, one row at a time, and the staging tables.
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from segcli.errors import BadValue
from segcli.importer import first_file, items, kinds, load, values
from segcli.importer.batches import BATCH_ROWS, Bad, parse_batch, parse_column
from segcli.importer.currencies import Rates
from segcli.importer.dates import DAY_FIRST, MONTH_FIRST, DateReader, format_timestamp
from segcli.importer.load import ImportOptions, import_file
from segcli.importer.plan import plan_columns
from segcli.store.db import open_store
from tests.conftest import checked

# The kinds whose first file goes straight into its table (products are always staged).
DIRECT_KINDS = ("customers", "orders", "items", "reviews", "subscribers", "carts")


@pytest.fixture
def store(tmp_path):
    """An empty store in the test's own directory."""
    with open_store(tmp_path / "store.db") as opened:
        yield opened


def outcome(parse, raw: str):
    """What a parser makes of a cell: ("value", value) or ("rejected", reason)."""
    try:
        return "value", parse(raw)
    except BadValue as error:
        return "rejected", error.reason


# --- Plain numbers: the regex fast path against Decimal -------------------------------


def money_by_decimal(raw: str):
    """values.money by Decimal alone: the general path and the limits it states."""
    value = raw.strip()
    if not value:
        return "value", None
    try:
        number = Decimal(value)
    except InvalidOperation:
        return "rejected", f"{value!r} is not an amount of money"
    if abs(number) >= Decimal(10) ** 12:
        return "rejected", f"{value!r} is too large for an amount of money"
    units = number * 10_000
    if units != units.to_integral_value():
        return "rejected", f"{value!r} has more than four decimals"
    return "value", int(units)


def integer_by_decimal(raw: str):
    """values.integer by Decimal alone: the general path and the limits it states."""
    value = raw.strip()
    if not value:
        return "value", None
    try:
        number = Decimal(value)
    except InvalidOperation:
        return "rejected", f"{value!r} is not a whole number"
    if number != number.to_integral_value():
        return "rejected", f"{value!r} is not a whole number"
    if abs(number) >= 10**9:
        return "rejected", f"{value!r} is too large"
    return "value", int(number)


# Numbers as files write them, in and out of the plain form: whole parts of every length
# (and those either side of the fast paths' limits), long fractions, signs, exponents and
# whitespace around. Decimal reads every one of them.
whole_parts = st.one_of(
    st.from_regex(r"[0-9]{1,15}", fullmatch=True),
    st.integers(0, 10**15).map(str),
    st.sampled_from(["999999999", "1000000000", "999999999999", "1000000000000"]),
)
fractions = st.just("") | st.from_regex(r"\.[0-9]{0,7}", fullmatch=True)
numbers_in_any_form = st.one_of(
    # Just outside the plain form: too many digits either side of the dot.
    st.builds("{}{}".format, whole_parts, fractions),
    st.builds(
        "{0}{1}{2}{3}{4}{0}".format,
        st.sampled_from(["", " ", "\t"]),
        st.sampled_from(["", "+", "-"]),
        whole_parts,
        fractions,
        st.just("") | st.from_regex(r"[eE][+-]?[0-9]{1,2}", fullmatch=True),
    ),
)


@pytest.mark.slow
@settings(max_examples=300)
@given(st.from_regex(r"[0-9]{1,12}(\.[0-9]{0,4})?", fullmatch=True))
def test_plain_money_is_read_as_decimal_reads_it(raw):
    """A plain amount (the fast path) is its exact number of ten-thousandths."""
    amount = values.money(raw)
    assert type(amount) is int
    assert amount == int(Decimal(raw) * 10_000)
    # Spaces around it send the same number down the general path.
    assert amount == values.money(f" {raw} ")


@pytest.mark.slow
@settings(max_examples=300)
@given(numbers_in_any_form)
def test_money_in_any_form_is_read_as_decimal_reads_it(raw):
    assert outcome(values.money, raw) == money_by_decimal(raw)


@pytest.mark.slow
@settings(max_examples=300)
@given(st.from_regex(r"[0-9]{1,9}", fullmatch=True))
def test_plain_integer_is_read_as_decimal_reads_it(raw):
    quantity = values.integer(raw)
    assert type(quantity) is int
    assert quantity == int(Decimal(raw)) == values.integer(f" {raw} ")


@pytest.mark.slow
@settings(max_examples=300)
@given(numbers_in_any_form)
def test_integer_in_any_form_is_read_as_decimal_reads_it(raw):
    assert outcome(values.integer, raw) == integer_by_decimal(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12", ("value", 120_000)),
        ("12.", ("value", 120_000)),
        (".5", ("value", 5_000)),
        ("0012.3400", ("value", 123_400)),
        ("999999999999.9999", ("value", 9_999_999_999_999_999)),
        ("1e2", ("value", 1_000_000)),
        (" 12.5 ", ("value", 125_000)),
        ("12.5\n", ("value", 125_000)),
        ("-3.25", ("value", -32_500)),
        ("+7", ("value", 70_000)),
        ("12.34560", ("value", 123_456)),
        ("", ("value", None)),
        ("   ", ("value", None)),
        ("12.34567", ("rejected", "'12.34567' has more than four decimals")),
        ("1000000000000", ("rejected", "'1000000000000' is too large for an amount of money")),
        ("1_000", ("rejected", "'1_000' is not an amount of money")),
        ("١٢", ("rejected", "'١٢' is not an amount of money")),
        ("NaN", ("rejected", "'NaN' is not an amount of money")),
        (
            "1,5",
            (
                "rejected",
                "'1,5' is not an amount of money "
                "(use a dot for decimals and no thousands separators)",
            ),
        ),
    ],
)
def test_money_outside_the_plain_form(raw, expected):
    """Only ASCII digits with at most four decimals take the fast path; the rest is as before."""
    assert outcome(values.money, raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("7", ("value", 7)),
        ("007", ("value", 7)),
        ("999999999", ("value", 999_999_999)),
        ("2.0", ("value", 2)),
        ("1e2", ("value", 100)),
        (" 3 ", ("value", 3)),
        ("-3", ("value", -3)),
        ("", ("value", None)),
        ("2.5", ("rejected", "'2.5' is not a whole number")),
        ("1000000000", ("rejected", "'1000000000' is too large")),
        ("1_000", ("rejected", "'1_000' is not a whole number")),
        ("١٢", ("rejected", "'١٢' is not a whole number")),
    ],
)
def test_integer_outside_the_plain_form(raw, expected):
    assert outcome(values.integer, raw) == expected


# --- ISO dates: the text fast path against datetime arithmetic ------------------------


def stored_by_datetime(text: str) -> str:
    """The stored form of an ISO date-time, by the general conversion to naive UTC."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return format_timestamp(moment)


@st.composite
def iso_texts(draw) -> str:
    """An ISO date or date-time as files write it: T or space, fractions, any offset."""
    # Years 2 to 9998 keep every offset inside datetime's range.
    moment = draw(st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31)))
    day = f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
    if draw(st.booleans()):
        return day
    clock = f"{moment.hour:02d}:{moment.minute:02d}"
    if draw(st.booleans()):
        clock += f":{moment.second:02d}"
        fraction = draw(st.sampled_from(["", "micro", "zeros"]))
        if fraction == "micro":
            clock += "." + f"{moment.microsecond:06d}"[: draw(st.integers(1, 6))]
        elif fraction == "zeros":
            clock += "." + "0" * draw(st.integers(1, 6))
    offset = draw(
        st.one_of(
            st.sampled_from(["", "Z", "+00:00", "-00:00"]),
            st.builds(
                "{}{:02d}:{:02d}".format,
                st.sampled_from("+-"),
                st.integers(0, 23),
                st.sampled_from([0, 15, 30, 45]),
            ),
        )
    )
    return f"{day}{draw(st.sampled_from('T '))}{clock}{offset}"


READERS = (
    DateReader(),
    DateReader(DAY_FIRST),
    DateReader(MONTH_FIRST),
    # An ISO date is still read when the file's format is given.
    DateReader(date_format="%d.%m.%Y %H:%M"),
)


@pytest.mark.slow
@settings(max_examples=500, deadline=None)
@given(iso_texts(), st.sampled_from(["", " "]))
def test_iso_dates_are_stored_as_the_general_conversion_stores_them(text, pad):
    expected = stored_by_datetime(text)
    for reader in READERS:
        assert reader(f"{pad}{text}{pad}") == expected, reader


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-05T10:00:00", "2024-03-05 10:00:00"),
        ("2024-03-05 10:00:00Z", "2024-03-05 10:00:00"),
        ("2024-03-05T10:00:00-00:00", "2024-03-05 10:00:00"),
        ("2024-03-05T23:30:00-02:00", "2024-03-06 01:30:00"),
        ("2024-03-05T00:30:00+01:00", "2024-03-04 23:30:00"),
        ("2024-03-05T10:00:00.000000Z", "2024-03-05 10:00:00"),
        ("2024-03-05T10:00:00.5Z", "2024-03-05 10:00:00.500000"),
        ("2024-03-05T10:00:00.000001", "2024-03-05 10:00:00.000001"),
        ("2024-03-05t10:00:00", "2024-03-05 10:00:00"),
        ("2024-03-05T10:00", "2024-03-05 10:00:00"),
        ("2024-03-05", "2024-03-05 00:00:00"),
        ("20240305T100000Z", "2024-03-05 10:00:00"),
    ],
)
def test_iso_date_shapes(text, expected):
    assert DateReader()(text) == expected


def test_an_offset_before_the_first_year_is_rejected():
    """Converting to UTC would leave datetime's range: a rejected cell, not a crash."""
    with pytest.raises(BadValue, match="is not a date"):
        DateReader()("0001-01-01T00:30:00+01:00")


@pytest.mark.parametrize("text", ["01/01/0001 00:30+01:00", "Dec 31 9999 11:30 PM -01:00"])
def test_a_date_carried_past_the_calendar_by_its_offset_is_rejected(text):
    with pytest.raises(BadValue):
        DateReader()(text)


# --- Parsing a batch column by column -------------------------------------------------

CELLS = ["1", "2.5", " 3 ", "", "1e2", "abc", "1,5", "12.34567", "ten"]
NUMBER_PARSERS = [values.money, values.integer]


@pytest.mark.slow
@settings(max_examples=300)
@given(st.lists(st.sampled_from(CELLS), max_size=30), st.sampled_from(NUMBER_PARSERS))
def test_parse_column_parses_as_one_cell_at_a_time(cells, parse):
    """Repeated cells (parsed once each) and distinct ones give what each cell gives alone."""
    parsed, bad = parse_column(parse, tuple(cells))
    got = [("rejected", v.reason) if isinstance(v, Bad) else ("value", v) for v in parsed]
    expected = [outcome(parse, cell) for cell in cells]
    assert got == expected
    assert bad == any(kind == "rejected" for kind, _ in expected)


# Cells a generated file may hold, by kind and column: (good cells, bad cells). A few
# values repeat, so that keys collide (the last row wins) and columns take the
# distinct-cell path; blank cells are among the good ones. None is free text.
TEXT_CELLS = ["", "Oslo", " Zoë ", "a,b", 'say "hi"', "two\nlines", "cr\r", "  "]
IDS = (["1", "2", "3", "17850.0", " 2 ", ""], [])
EMAILS = (["ann@example.com", " ANN@Example.com ", "ben@example.org", ""], ["nope"])
DATES = (
    [
        "2024-01-05T10:00:00Z",
        "2024-01-05 10:00:00",
        "2024-01-05T12:00:00+02:00",
        "2024-01-05T10:00:00.250Z",
        "2024-02-29",
        "13/01/2024 08:00",
        "",
    ],
    ["someday", "2024-02-30"],
)
MONEY = (["10", "10.5", "0.0001", " 7 ", "1e2", "-3.25", ""], ["12.34567", "abc"])
PRODUCT_IDS = (["p1", "p2", ""], [])
SKUS = (["S-1", ""], [])
FILE_CELLS: dict[str, dict[str, tuple[list[str], list[str]] | None]] = {
    "customers": {
        "customer_id": IDS,
        "email": EMAILS,
        "first_name": None,
        "created_at": DATES,
        "accepts_marketing": (["true", "no", "1", ""], ["maybe"]),
        "country": None,
        "tags": (["vip, new", "", "a,a, b"], []),
        # Not a native column: kept as a custom field.
        "loyalty_tier": None,
    },
    "orders": {
        "order_id": (["A", "B", "C", " B "], [""]),
        "customer_id": IDS,
        "email": EMAILS,
        "created_at": DATES,
        "total": MONEY,
        "status": (["paid", "Cancelled", "refunded", ""], []),
        "currency": (["usd", "EUR", "", "jpy"], []),
        "accepts_marketing": (["yes", "0", ""], ["maybe"]),
        "city": None,
    },
    "items": {
        "order_id": (["A", "B", "C"], [""]),
        "product_id": PRODUCT_IDS,
        "sku": SKUS,
        "title": None,
        "quantity": (["1", "2", "2.0", ""], ["2.5", "x", "1000000000"]),
        "price": MONEY,
        "vendor": None,
    },
    "reviews": {
        "review_id": (["r1", "r2", ""], []),
        "customer_id": IDS,
        "email": EMAILS,
        "product_id": PRODUCT_IDS,
        "sku": SKUS,
        "rating": (["1", "5", "3.0"], ["6", "", "x"]),
        "created_at": DATES,
        "body": None,
    },
    "subscribers": {
        "email": EMAILS,
        "subscribed_at": DATES,
        "status": (["subscribed", "unsubscribed", ""], ["maybe"]),
        "source": None,
    },
    "products": {
        "product_id": PRODUCT_IDS,
        "sku": SKUS,
        "title": None,
        "collections": (["Kitchen; Sale", "", "Sale;Sale"], []),
        "product_type": None,
        "vendor": None,
        "tags": (["gift", ""], []),
    },
    "carts": {
        "cart_id": (["k1", "k2", ""], []),
        "customer_id": IDS,
        "email": EMAILS,
        "created_at": DATES,
        "total": MONEY,
    },
}


def pool(cells: tuple[list[str], list[str]] | None) -> list[str]:
    """A column's cells weighted as files hold them: mostly good, now and then bad."""
    good, bad = cells or (TEXT_CELLS, [])
    return [*good * 6, *bad]


def column_cells(cells: tuple[list[str], list[str]] | None) -> st.SearchStrategy[str]:
    if cells is None:
        printable = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
        return st.one_of(st.sampled_from(TEXT_CELLS), st.text(printable, max_size=5))
    return st.sampled_from(pool(cells))


@st.composite
def native_files(draw, kind: str) -> tuple[list[str], list[list[str]]]:
    """A header (columns in any order) and rows, some shorter or longer than the header."""
    header = draw(st.permutations(list(FILE_CELLS[kind])))
    rows = []
    for _ in range(draw(st.integers(0, 12))):
        fields = [draw(column_cells(FILE_CELLS[kind][name])) for name in header]
        shape = draw(st.sampled_from(["whole"] * 6 + ["short", "extra", "overflow"]))
        if shape == "short":
            fields = fields[: draw(st.integers(1, len(fields) - 1))]
        elif shape == "extra":
            fields += ["", " "]
        elif shape == "overflow":
            fields += ["", "surplus"]
        rows.append(fields)
    return header, rows


def parsed_one_row_at_a_time(plan, lines, rows):
    """What the importer did before batches: each row parsed alone, naming every bad cell."""
    kept, rejects = [], []
    columns = {name: [] for _, name, _ in plan.parsers} | ({"custom": []} if plan.custom else {})
    for line, fields in zip(lines, rows, strict=True):
        if len(fields) > plan.width and any(f.strip() for f in fields[plan.width :]):
            reason = f"the row has {len(fields)} fields but the header has {plan.width}"
            rejects.append((line, reason))
            continue
        cells = fields + [""] * (plan.width - len(fields))
        results = [(name, outcome(parse, cells[at])) for at, name, parse in plan.parsers]
        problems = [f"{name}: {reason}" for name, (how, reason) in results if how == "rejected"]
        if problems:
            rejects.append((line, "; ".join(problems)))
            continue
        kept.append(line)
        for name, (_, value) in results:
            columns[name].append(value)
        if plan.custom:
            custom = {name: cells[at].strip() for at, name in plan.custom if cells[at].strip()}
            columns["custom"].append(json.dumps(custom, ensure_ascii=False, sort_keys=True))
    return kept, columns, rejects


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(FILE_CELLS))
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_batches_parse_and_build_as_rows_one_at_a_time(kind, data):
    """parse_batch equals parsing row by row; BATCH_BUILDERS equal ROW_BUILDERS, or give up."""
    header, rows = data.draw(native_files(kind))
    plan, _, _ = plan_columns(kinds.KINDS[kind], header, {}, Path("generated.csv"))
    lines = list(range(2, 2 + len(rows)))
    parsed = parse_batch(plan, (lines, [list(r) for r in rows], None))

    kept, columns, rejects = parsed_one_row_at_a_time(plan, lines, rows)
    assert sorted(parsed.rejects) == sorted(rejects)
    assert parsed.lines == kept
    assert parsed.columns == columns

    n = len(parsed.lines)
    by_batch = kinds.BATCH_BUILDERS[kind](parsed.columns, n)
    by_row, failures = [], 0
    for row in parsed.rows():
        try:
            by_row.append(kinds.ROW_BUILDERS[kind](row))
        except BadValue:
            failures += 1
    if by_batch is None:
        assert failures, "the batch builder gave up on a batch every row builds"
    else:
        assert failures == 0
        assert list(zip(*by_batch, strict=True)) == by_row


def test_a_row_names_every_bad_cell_in_the_files_column_order(store, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,customer_id,total,created_at,status\n"
        "1,c1,abc,someday,paid\n"
        "2,c1,10,2024-01-05,paid\n"
        "3,c2,1,2024-01-05T10:00:00Z,paid\n",
        encoding="utf-8",
    )
    result = import_file(store, "orders", path, ImportOptions())
    assert [(r.line, r.reason) for r in result.rejects] == [
        (
            2,
            "total: 'abc' is not an amount of money; created_at: 'someday' is not a date "
            "(expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS, optionally with a UTC offset "
            "such as +02:00)",
        )
    ]
    assert store.execute("SELECT order_id, total FROM orders ORDER BY 1").fetchall() == [
        ("2", 100_000),
        ("3", 10_000),
    ]


def test_a_repeated_bad_cell_rejects_every_row_that_holds_it(store, tmp_path):
    """Parsed once for the whole column, the bad cell still rejects each of its rows."""
    path = tmp_path / "orders.csv"
    rows = [f"{n},c{n},{'abc' if n % 3 == 0 else '5'},2024-01-05" for n in range(1, 31)]
    path.write_text("order_id,customer_id,total,created_at\n" + "\n".join(rows) + "\n")
    result = import_file(store, "orders", path, ImportOptions())
    assert [(r.line, r.reason) for r in result.rejects] == [
        (n + 1, "total: 'abc' is not an amount of money") for n in range(3, 31, 3)
    ]
    assert (result.inserted, result.rejected) == (20, 10)


def test_a_row_that_fails_its_kinds_check_gets_its_own_message(store, tmp_path):
    """One such row sends its batch to the row builders; the good rows are still stored."""
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,customer_id,created_at,total\n"
        "1,c1,2024-01-05,10\n"
        "2,c1,,10\n"
        ",c1,2024-01-05,10\n"
        "4,c1,2024-01-05,\n"
        "5,c1,2024-01-05,oops\n"
        "6,c2,2024-01-06,20\n",
        encoding="utf-8",
    )
    result = import_file(store, "orders", path, ImportOptions())
    assert [(r.line, r.reason) for r in result.rejects] == [
        (3, "created_at is empty"),
        (4, "order_id is empty"),
        (5, "total is empty"),
        (6, "total: 'oops' is not an amount of money"),
    ]
    assert store.execute("SELECT order_id, total FROM orders ORDER BY 1").fetchall() == [
        ("1", 100_000),
        ("6", 200_000),
    ]


# --- The first file of a kind: straight into the table, or through staging ------------


@pytest.fixture(scope="module")
def empty_store_file(tmp_path_factory) -> Path:
    """A migrated, empty store, copied for each store a test needs (migrating is slow)."""
    path = tmp_path_factory.mktemp("template") / "empty.db"
    open_store(path).close()
    return path


@contextmanager
def watching_direct_path() -> Iterator[list]:
    """Record each call of first_file.load_into_empty: None, or the exception it raised."""
    original = first_file.load_into_empty
    calls: list = []

    def watched(*args, **kwargs):
        try:
            loaded = original(*args, **kwargs)
        except BaseException as error:
            calls.append(type(error))
            raise
        calls.append(None)
        return loaded

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(first_file, "load_into_empty", watched)
        yield calls


@contextmanager
def staging_only() -> Iterator[None]:
    """Every table looks stored-into, so that even an empty one is loaded through staging;
    staged line items are numbered by SQL (row_number), not as they stream."""
    stage_items = items._stage_items_file
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(load, "is_empty", lambda store, table: False)
        patch.setattr(
            items,
            "_stage_items_file",
            lambda store, feed, **_: stage_items(store, feed, numbered=False),
        )
        yield


def write_csv(path: Path, header: list[str], rows: list[list[str]], newline: str = "\n") -> Path:
    """A CSV file quoted as spreadsheets quote it. (csv.writer leaves a lone carriage
    return unquoted when lines end in a bare newline, and no reader takes that back.)"""

    def field(value: str) -> str:
        if any(c in value for c in ',"\r\n'):
            return '"' + value.replace('"', '""') + '"'
        return value

    text = "".join(",".join(map(field, fields)) + newline for fields in [header, *rows])
    path.write_bytes(text.encode("utf-8"))
    return path


def table_rows(store, table: str) -> list[tuple]:
    """Every stored row but its person id (which depends on the order people were made)."""
    columns = [row[1] for row in store.execute(f"PRAGMA table_info({table})")]
    columns = [name for name in columns if name != "person_id"]
    return store.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY 1, 2").fetchall()


def indexes(store) -> list[tuple]:
    """Every index of the store, with the SQL that makes it."""
    return store.execute(
        "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name"
    ).fetchall()


def summary(result) -> dict:
    """What an import reports, rejects included."""
    return {
        "rows_read": result.rows_read,
        "inserted": result.inserted,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "rejected": result.rejected,
        "replaced": result.replaced,
        "anonymous": result.anonymous,
        "written": result.written,
        "rejects": [(reject.line, reject.reason) for reject in result.rejects],
    }


# What a store may hold before the first file of a kind: people to link the file's records
# to, so that people are derived again only in part (identity.resolve_touched).
PRELOADS = {
    "customers": (
        "orders",
        "order_id,customer_id,email,created_at,total\n"
        "X1,1,ann@example.com,2024-01-01,5\n"
        "X2,,ben@example.org,2024-01-02,5\n"
        "X3,9,,2024-01-03,5\n",
    ),
    **dict.fromkeys(
        ("orders", "items", "reviews", "subscribers", "carts"),
        (
            "customers",
            "customer_id,email,first_name\n"
            "1,ann@example.com,Ann\n"
            "2,,Bo\n"
            "4,dee@example.com,Dee\n"
            "5,eve@example.com,Eve\n"
            "6,,Fay\n"
            ",ben@example.org,Ben\n",
        ),
    ),
}


def first_import(
    template: Path, directory: Path, kind: str, path: Path, *, staged: bool, preload: bool
):
    """Import the first file of a kind into a copy of the empty store (with another kind's
    file in it first when ``preload``), directly or through staging; what it reports and
    what the store then holds."""
    db = directory / f"{kind}-{'staged' if staged else 'direct'}.db"
    shutil.copyfile(template, db)
    with open_store(db) as store:
        if preload:
            other, text = PRELOADS[kind]
            (directory / "preload.csv").write_text(text, encoding="utf-8")
            import_file(store, other, directory / "preload.csv", ImportOptions())
        with watching_direct_path() as direct, staging_only() if staged else nullcontext():
            result = import_file(store, kind, path, _options(kind))
        assert direct == ([] if staged else [None])
        assert store.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        table = kinds.KINDS[kind].table
        return summary(result), {
            table: table_rows(store, table),
            "people": table_rows(store, "people"),
            "indexes": indexes(store),
        }


def _options(kind: str) -> ImportOptions:
    """Orders in US dollars, with a rate for euros and none for yen (those are rejected)."""
    if kind != "orders":
        return ImportOptions()
    return ImportOptions(currency="USD", rates=Rates(fixed={"EUR": Decimal("1.0837")}))


def assert_same_either_way(template: Path, kind: str, path: Path, *, preload: bool = False):
    """The first file stores the same whether loaded straight into its table or staged."""
    straight = first_import(template, path.parent, kind, path, staged=False, preload=preload)
    staged = first_import(template, path.parent, kind, path, staged=True, preload=preload)
    assert straight == staged
    counts, stored = straight
    assert counts["inserted"] + counts["rejected"] == counts["rows_read"]
    assert stored["indexes"] == indexes_of(template)
    if kind != "items":
        table = kinds.KINDS[kind].table
        assert len(stored[table]) == counts["inserted"] - counts["replaced"]
    return counts


def indexes_of(db: Path) -> list[tuple]:
    with open_store(db) as store:
        return indexes(store)


@pytest.mark.slow
@pytest.mark.parametrize("kind", DIRECT_KINDS)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_the_first_file_stores_what_staging_would_store(kind, data, empty_store_file):
    """Same rows, people, indexes, counts and rejects, whichever way the file is loaded."""
    header, rows = data.draw(native_files(kind))
    newline = data.draw(st.sampled_from(["\n", "\r\n"]))
    preload = data.draw(st.booleans())
    with tempfile.TemporaryDirectory(dir=empty_store_file.parent) as scratch:
        path = write_csv(Path(scratch) / f"{kind}.csv", header, rows, newline)
        counts = assert_same_either_way(empty_store_file, kind, path, preload=preload)
    event(f"rows rejected: {min(counts['rejected'], 2)}, replaced: {min(counts['replaced'], 2)}")


def spread(column: str, cell: str, number: int) -> str:
    """A key cell made one of thousands (``A`` → ``A-17``), so that keys repeat now and then."""
    if column in ("customer_id", "order_id", "cart_id", "review_id") and cell.strip():
        return f"{cell.strip()}-{number}"
    if column == "email" and "@" in cell:
        return cell.replace("@", f"{number}@", 1)
    return cell


@pytest.mark.slow
@pytest.mark.parametrize("kind", DIRECT_KINDS)
def test_a_large_first_file_stores_what_staging_would_store(kind, empty_store_file, tmp_path):
    """Several batches and multi-row statements, with keys repeating across both."""
    rng = random.Random(kind)
    header = list(FILE_CELLS[kind])
    rows = []
    for _ in range(3 * BATCH_ROWS + 17):
        number = rng.randrange(2_500)
        rows.append(
            [spread(name, rng.choice(pool(FILE_CELLS[kind][name])), number) for name in header]
        )
    path = write_csv(tmp_path / f"{kind}.csv", header, rows)
    counts = assert_same_either_way(empty_store_file, kind, path, preload=True)
    assert counts["rejected"] > 0
    if kind != "items":
        assert counts["replaced"] > 0


def test_the_last_row_of_a_key_wins_in_an_empty_table(store, tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text(
        "customer_id,email,first_name\n"
        "c1,ann@example.com,Ann\n"
        "c2,ben@example.com,Ben\n"
        "c1,ann@example.org,Annie\n",
        encoding="utf-8",
    )
    with watching_direct_path() as direct:
        result = import_file(store, "customers", path, ImportOptions())
    assert direct == [None]
    assert (result.rows_read, result.inserted, result.replaced) == (3, 3, 1)
    assert store.execute(
        "SELECT customer_id, email, first_name FROM customers ORDER BY 1"
    ).fetchall() == [("c1", "ann@example.org", "Annie"), ("c2", "ben@example.com", "Ben")]


# --- Line items numbered as they stream -----------------------------------------------


def items_file(path: Path, orders: list[tuple[str, str]]) -> Path:
    """An items file: one (order_id, sku) per line, in this order."""
    text = "order_id,sku,quantity,price\n" + "".join(
        f"{order},{sku},1,2.50\n" for order, sku in orders
    )
    path.write_text(text, encoding="utf-8")
    return path


def lines_of(store, order_id: str) -> list[tuple]:
    return store.execute(
        "SELECT line_no, sku FROM items WHERE order_id = ? ORDER BY line_no", (order_id,)
    ).fetchall()


def test_an_order_whose_lines_come_back_too_late_is_numbered_through_staging(
    store, tmp_path, empty_store_file
):
    """Between A's lines, more orders than the numbering remembers: the file is staged."""
    # The numbering keeps the newest _REMEMBERED orders once it holds twice that many,
    # checked after each batch: this many orders in between always forget A.
    between = 2 * items._LineNumbers._REMEMBERED + BATCH_ROWS + 1
    others = [(f"o{n}", f"s{n}") for n in range(between)]
    path = items_file(tmp_path / "items.csv", [("A", "first"), *others, ("A", "second")])
    # A bad row too: the retry must reject it once, not twice.
    with path.open("a", encoding="utf-8") as handle:
        handle.write("B,bad,2.5,1\n")
    with watching_direct_path() as direct:
        result = import_file(store, "items", path, ImportOptions())

    assert direct == [items.Scattered]
    assert lines_of(store, "A") == [(1, "first"), (2, "second")]
    assert lines_of(store, "o0") == [(1, "s0")]
    assert (result.rows_read, result.inserted, result.updated, result.rejected) == (
        between + 3,
        between + 2,
        0,
        1,
    )
    assert [(r.line, r.reason) for r in result.rejects] == [
        (between + 4, "quantity: '2.5' is not a whole number")
    ]
    assert store.scalar("SELECT count(*) FROM items") == between + 2
    assert indexes(store) == indexes_of(empty_store_file)


@pytest.mark.parametrize("gap", [1, 5, BATCH_ROWS + 500])
def test_an_order_whose_lines_are_a_little_apart_is_numbered_as_it_streams(store, tmp_path, gap):
    """Lines a few rows apart, or in the next batch, number on without staging."""
    others = [(f"o{n}", f"s{n}") for n in range(gap)]
    orders = [("A", "a1"), ("B", "b1"), *others, ("A", "a2"), ("B", "b2"), ("A", "a3")]
    path = items_file(tmp_path / "items.csv", orders)
    with watching_direct_path() as direct:
        result = import_file(store, "items", path, ImportOptions())

    assert direct == [None]
    assert lines_of(store, "A") == [(1, "a1"), (2, "a2"), (3, "a3")]
    assert lines_of(store, "B") == [(1, "b1"), (2, "b2")]
    assert (result.rows_read, result.inserted, result.rejected) == (gap + 5, gap + 5, 0)


# --- Indexes: set aside for the first file, then built again --------------------------

VALID_FILES = {
    "customers": "customer_id,email,first_name\nc1,ann@example.com,Ann\n,ben@example.com,Ben\n",
    "orders": "order_id,customer_id,email,created_at,total\n"
    "1,c1,,2024-01-05,10\n2,,ben@example.com,2024-01-06,20\n",
    "items": "order_id,product_id,sku,title,vendor\n1,p1,,Mug,Acme\n1,,,Gift card,\n",
    "products": "product_id,title,collections\np1,Mug,Kitchen;Sale\n",
    "reviews": "customer_id,product_id,rating,created_at\nc1,p1,5,2024-01-05\n",
    "subscribers": "email,subscribed_at\nann@example.com,2024-01-05\n",
    "carts": "cart_id,customer_id,created_at,total\nk1,c1,2024-01-05,10\n",
}
# A file of each kind with valid rows and one rejected row.
FILES_WITH_A_BAD_ROW = {
    "customers": VALID_FILES["customers"] + "c3,not-an-email,Cleo\n",
    "orders": VALID_FILES["orders"] + "3,c3,,2024-01-07,abc\n",
    "items": VALID_FILES["items"] + "2,,,,Acme\n",
    "reviews": VALID_FILES["reviews"] + "c1,p2,9,2024-01-05\n",
    "subscribers": VALID_FILES["subscribers"] + "nope,2024-01-05\n",
    "carts": VALID_FILES["carts"] + "k2,c2,someday,10\n",
}
ALL_REJECTED = {
    "customers": "customer_id,email\n,not-an-email\n",
    "orders": "order_id,customer_id,created_at,total\n1,c1,someday,10\n",
    "reviews": "customer_id,product_id,rating\nc1,p1,6\n",
    "subscribers": "email\nnope\n",
    "carts": "customer_id,created_at\nc1,\n",
}


@pytest.mark.parametrize("kind", sorted(VALID_FILES))
def test_a_first_import_leaves_every_index_of_the_schema(store, tmp_path, kind):
    before = indexes(store)
    path = tmp_path / f"{kind}.csv"
    path.write_text(VALID_FILES[kind], encoding="utf-8")
    with watching_direct_path() as direct:
        result = import_file(store, kind, path, ImportOptions())
    assert direct == ([] if kind == "products" else [None])
    assert result.written and result.rejected == 0
    assert indexes(store) == before
    assert store.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    table = kinds.KINDS[kind].table
    # The rebuilt indexes hold every row: counting through each finds them all. (A partial
    # index only serves queries with its own condition.)
    for name, indexed, sql in before:
        if indexed == table and sql is not None and " WHERE " not in sql:
            assert store.scalar(f"SELECT count(*) FROM {table} INDEXED BY {name}") == (
                store.scalar(f"SELECT count(*) FROM {table}")
            )


@pytest.mark.parametrize("kind", sorted(ALL_REJECTED))
def test_a_first_file_with_every_row_rejected_leaves_every_index(store, tmp_path, kind):
    """Nothing inserted, so no people to link: the person indexes are built all the same."""
    before = indexes(store)
    path = tmp_path / f"{kind}.csv"
    path.write_text(ALL_REJECTED[kind], encoding="utf-8")
    result = import_file(store, kind, path, ImportOptions())
    assert (result.written, result.inserted, result.rejected) == (True, 0, 1)
    assert indexes(store) == before


@pytest.mark.parametrize("kind", DIRECT_KINDS)
@pytest.mark.parametrize("how", ["dry_run", "strict"])
def test_a_first_import_that_writes_nothing_leaves_rows_and_indexes(store, tmp_path, kind, how):
    before = indexes(store)
    path = tmp_path / f"{kind}.csv"
    path.write_text(FILES_WITH_A_BAD_ROW[kind], encoding="utf-8")
    options = ImportOptions(dry_run=how == "dry_run", strict=how == "strict")
    with watching_direct_path() as direct:
        result = import_file(store, kind, path, options)
    assert direct == [None]
    assert not result.written
    assert result.rejected == 1
    assert (result.refused is not None) == (how == "strict")
    assert result.inserted >= 1
    assert indexes(store) == before
    for table in ("customers", "orders", "items", "reviews", "subscribers", "carts", "people"):
        assert store.scalar(f"SELECT count(*) FROM {table}") == 0, table
    assert store.scalar("SELECT count(*) FROM imports") == 0


def index_sql(segcli) -> list[tuple]:
    return segcli.rows("SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY 1")


def test_cli_dry_run_and_strict_first_imports_write_nothing(segcli):
    """Through the CLI: a dry run and a --strict refusal leave the store as it was."""
    open_store(segcli.db).close()
    before = index_sql(segcli)
    path = segcli.write(
        "orders.csv",
        "order_id,customer_id,created_at,total\n"
        "1,c1,2024-01-05T10:00:00Z,10\n"
        "2,c2,2024-01-06,12.5\n"
        "3,c3,2024-01-07,abc\n",
    )

    result = checked(segcli, "import", "orders", path, "--dry-run", exit_code=3)
    assert f"{path}, line 4: rejected: total: 'abc' is not an amount of money" in result.stderr
    assert (
        f"{path}: dry run, nothing written; 3 rows read: would be 2 inserted, 0 updated, "
        "0 unchanged, 1 rejected" in result.stderr
    )
    result = checked(segcli, "import", "orders", path, "--strict", exit_code=1)
    assert (
        f"{path}: refused: 1 row rejected and --strict is set: nothing from this file "
        "was written" in result.stderr
    )
    assert index_sql(segcli) == before
    assert segcli.dump()["orders"] == []
    assert segcli.rows("SELECT * FROM people") == []

    result = checked(segcli, "import", "orders", path, exit_code=3)
    assert "3 rows read: 2 inserted, 0 updated, 0 unchanged, 1 rejected" in result.stderr
    assert index_sql(segcli) == before
    assert segcli.rows("SELECT order_id, created_at, total FROM orders ORDER BY 1") == [
        ("1", "2024-01-05 10:00:00", 100_000),
        ("2", "2024-01-06 00:00:00", 125_000),
    ]
    assert segcli.rows("SELECT person_key FROM people ORDER BY 1") == [("c:c1",), ("c:c2",)]


# --- The shapes CSV files come in, through the direct path ----------------------------

SHAPED_CUSTOMERS = (
    "customer_id,email,first_name,city,note\n"
    'c1,ann@example.com,"Anna\nMaria",Oslo,hello\n'  # lines 2-3: a quoted newline
    "c2,ben@example.com,Ben\n"  # line 4: two fields short
    "\n"  # line 5: blank, skipped
    "c3,cleo@example.com,Cleo,Rome,hi,,\n"  # line 6: extra empty fields
    "c4,dan@example.com,Dan,Rome,hi,surplus\n"  # line 7: an extra value
    'c5,bad-email,"Eve\nLyn",Paris,\n'  # lines 8-9: a bad cell after a quoted newline
    "c6,fay@example.com,Fay,,\n"  # line 10
)


@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
def test_quoted_newlines_and_short_and_long_rows_in_the_first_file(store, tmp_path, line_end):
    path = tmp_path / "customers.csv"
    path.write_bytes(SHAPED_CUSTOMERS.replace("\n", line_end).encode())
    # The newline inside a quoted field stays as the file writes it.
    inner = line_end
    with watching_direct_path() as direct:
        result = import_file(store, "customers", path, ImportOptions())

    assert direct == [None]
    assert [(r.line, r.reason) for r in result.rejects] == [
        (7, "the row has 6 fields but the header has 5"),
        (8, "email: 'bad-email' is not an email address"),
    ]
    assert (result.rows_read, result.inserted, result.rejected) == (6, 4, 2)
    assert store.execute(
        "SELECT customer_id, email, first_name, city, custom FROM customers ORDER BY 1"
    ).fetchall() == [
        ("c1", "ann@example.com", f"Anna{inner}Maria", "Oslo", '{"note": "hello"}'),
        ("c2", "ben@example.com", "Ben", None, "{}"),
        ("c3", "cleo@example.com", "Cleo", "Rome", '{"note": "hi"}'),
        ("c6", "fay@example.com", "Fay", None, "{}"),
    ]


def test_cli_reports_the_line_a_rejected_row_starts_on(segcli):
    """A rejected row after multi-line quoted fields is named by its first line."""
    path = segcli.write("customers.csv", SHAPED_CUSTOMERS)
    result = checked(segcli, "import", "customers", path, exit_code=3)
    assert result.stderr.count("rejected: ") == 2
    assert f"{path}, line 7: rejected: the row has 6 fields but the header has 5" in result.stderr
    assert f"{path}, line 8: rejected: email: 'bad-email' is not an email address" in (
        result.stderr
    )
    assert "6 rows read: 4 inserted, 0 updated, 0 unchanged, 2 rejected" in result.stderr
    assert segcli.value("SELECT first_name FROM customers WHERE customer_id = 'c1'") == (
        "Anna\nMaria"
    )

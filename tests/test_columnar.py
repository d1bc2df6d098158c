"""A plain file's records parsed column by column (segcli/importer/columnar.py) are what
parse_batch makes of the csv module's records: the same values, lines and rejects, whether
a column is parsed in Python or by a form in SQL that sends some cells to Python."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segcli.importer import values
from segcli.importer.batches import Bad, parse_batch
from segcli.importer.columnar import parsed_batches
from segcli.importer.fast_values import Fast
from segcli.importer.kinds import KINDS
from segcli.importer.options import ImportOptions, ImportResult
from segcli.importer.plain import plain_file
from segcli.importer.plan import plan_file
from segcli.importer.reader import CsvFile

# Forms in SQL for tests: cells of printable ASCII of even length are read in SQL (as
# text: the value is the cell); every other cell goes to Python. And every cell of a money
# column to Python: the parser's rejects come through the SQL path.
EVEN_ASCII = Fast(
    value="nullif({x}, '')", python="NOT regexp_full_match({x}, '[!-~]*') OR length({x}) % 2 = 1"
)
ALL_TO_PYTHON = Fast(value="NULL", python="true")


def no_fast_form(parse):
    """Every column parsed in Python."""
    return None


def sql_forms(parse):
    if parse in (values.text, values.identifier):
        return EVEN_ASCII
    if parse is values.money:
        return ALL_TO_PYTHON
    return None


def flattened(batches) -> tuple[list, dict, list]:
    lines, columns, rejects = [], {}, []
    for parsed in batches:
        lines += parsed.lines
        for name, column in parsed.columns.items():
            if column:  # a batch of blank lines only has no values
                columns.setdefault(name, []).extend(column)
        rejects += parsed.rejects
    return lines, columns, sorted(rejects)


def by_csv_module(path: Path, kind: str):
    with CsvFile(path) as source:
        plan = plan_file(
            KINDS[kind], path, ImportOptions(), source.header, None, ImportResult(kind, path)
        )
        batches = [parse_batch(plan, (lines, rows, None)) for lines, rows in source.chunks(3)]
    return flattened(batches)


def by_columns(path: Path, kind: str, fast_for, size: int = 2):
    plain = plain_file(path, encoding="utf-8", delimiter=",")
    assert plain is not None
    with CsvFile(path) as source:
        plan = plan_file(
            KINDS[kind], path, ImportOptions(), source.header, None, ImportResult(kind, path)
        )
        after = source.header_line
    return flattened(parsed_batches(plain, plan, after=after, size=size, fast_for=fast_for))


ORDERS = (
    "order_id,customer_id,email,created_at,total,status\n"
    "O1,C1,ann@example.com,2026-01-02,10.50,paid\n"
    "O2,C2,BEN@example.com,2026-01-03T10:00:00Z,abc,paid\n"  # a bad amount
    "O3,,guest@example.com,not a date,1e2,Refunded\n"  # a bad date, an odd amount
    "O4,C1,ann@example.com,2026-01-05,  7 ,paid,extra\n"  # too many cells
    "\n"
    "O5, C\u00a01 ,x@y,2026-01-06,3,\n"  # a cell Python trims otherwise than SQL would
    "O6,C3,bad-email,2026-01-07,4,paid\n"
)


def test_an_orders_file_parses_the_same_in_python_and_through_sql(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS, encoding="utf-8")
    expected = by_csv_module(path, "orders")
    lines, columns, rejects = expected
    assert [line for line, _ in rejects] == [3, 4, 5, 8]  # the test is about these
    assert by_columns(path, "orders", no_fast_form) == expected
    assert by_columns(path, "orders", sql_forms) == expected


def same(a, b) -> bool:
    """Parsed values are equal, Bad cells by their reason."""
    return [(v.reason if isinstance(v, Bad) else v) for v in a] == [
        (v.reason if isinstance(v, Bad) else v) for v in b
    ]


CELL = st.text(st.sampled_from(list("abC9.-@é ") + ["\u00a0", "\t", "1", "0", "x"]), max_size=8)


@settings(
    deadline=None, max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(st.lists(CELL, min_size=1, max_size=7), max_size=12), size=st.integers(1, 4))
def test_any_customers_file_parses_the_same(tmp_path, rows, size):
    path = tmp_path / "customers.csv"
    header = "customer_id,email,first_name,accepts_marketing,loyalty,tags,country"
    path.write_text(header + "\n" + "".join(",".join(r) + "\n" for r in rows), encoding="utf-8")
    expected = by_csv_module(path, "customers")
    for fast_for in (no_fast_form, sql_forms):
        lines, columns, rejects = by_columns(path, "customers", fast_for, size)
        assert (lines, rejects) == (expected[0], expected[2])
        assert columns.keys() == expected[1].keys()
        assert all(same(columns[name], expected[1][name]) for name in columns)

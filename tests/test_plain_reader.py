"""The DuckDB reader of plain CSV files (segcli/importer/plain.py) reads exactly what the
csv module's reader gives the importer: the same records, on the same lines, shaped to
the header's width, and the same rejects."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segcli.errors import ImportRefused
from segcli.importer.batches import _shaped
from segcli.importer.plain import PlainFile, Unavailable, plain_batches, plain_file
from segcli.importer.reader import CsvFile

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"


def by_csv_module(path: Path, delimiter: str) -> tuple[list[str], list, list, list]:
    """The header, the kept records' lines and rows, and the rejects, as today."""
    with CsvFile(path, delimiter=delimiter) as source:
        header = source.header
        lines, rows, rejects = [], [], []
        for chunk_lines, chunk_rows in source.chunks(3):
            kept_lines, kept_rows = _shaped(chunk_lines, chunk_rows, None, len(header), rejects)
            lines += kept_lines
            rows += kept_rows
    return header, lines, rows, rejects


def by_duckdb(path: Path, delimiter: str, *, rows: int = 4) -> tuple[list[str], list, list, list]:
    plain = plain_file(path, encoding="utf-8", delimiter=delimiter)
    assert plain is not None
    with CsvFile(path, delimiter=delimiter) as source:
        header, after = source.header, source.header_line
    lines, kept, rejects = [], [], []
    for batch in plain_batches(plain, after=after, width=len(header), rows=rows):
        columns = [column.to_pylist() for column in batch.records.columns]
        batch_lines, batch_rows = columns[0], [list(r) for r in zip(*columns[1:], strict=True)]
        lines += batch_lines
        kept += batch_rows
        rejects += batch.rejects
    return header, lines, kept, rejects


def write(tmp_path: Path, text: str, name: str = "file.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def test_a_file_of_every_shape_of_record_reads_the_same(tmp_path):
    text = (
        "\n \norder_id,total,status\n"  # blank lines before the header
        "O1,10.00,paid\n"
        "\n"  # blank
        ",,\n"  # only empty cells
        " \u00a0, \u3000 ,\t\n"  # only Unicode spaces: skipped by the csv module too
        "O2,5\n"  # short: filled
        "O3,1,paid,,  \n"  # long, the extra cells blank: cut
        "O4,1,paid,extra\n"  # long with a value: rejected
        "#O5,3,paid\n"  # a first cell starting with # is data
        "O6, 7 ,\u00e9t\u00e9\n"
        "O7,8,paid"  # no newline at the end
    )
    path = write(tmp_path, text)
    header, lines, rows, rejects = by_duckdb(path, ",")
    assert (header, lines, rows, rejects) == by_csv_module(path, ",")
    assert lines == [4, 8, 9, 11, 12, 13]
    assert rejects == [(10, "the row has 4 fields but the header has 3")]
    assert rows[1] == ["O2", "5", ""]


@pytest.mark.parametrize(
    "text",
    [
        'a,b\n"1",2\n',  # a quote
        "a,b\r\n1,2\n",  # lines that end in two ways
        "a,b\n1,2\r\n",
        "a,b\r1,2\r",  # carriage returns alone
        "a,b\r\n1\r,2\r\n",
        "a,b\r\n1,2\r",
        "a,b\n1\x00,2\n",  # NUL
        "a,b\n1\x1f,2\n",  # the line separator DuckDB reads with
    ],
    ids=["quote", "mixed", "mixed-last", "cr", "cr-in-cell", "cr-last", "nul", "unit-separator"],
)
def test_a_file_that_is_not_plain_is_left_to_the_csv_module(tmp_path, text):
    assert plain_file(write(tmp_path, text), encoding="utf-8", delimiter=",") is None


def test_a_file_with_windows_line_ends_reads_the_same(tmp_path):
    text = (
        "\r\n \r\norder_id,total,status\r\n"
        "O1,10.00,paid\r\n"
        "\r\n"
        " \u00a0, \u3000 ,\t\r\n"
        "O2,5\r\n"
        "O3,1,paid,,  \r\n"
        "O4,1,paid,extra\r\n"
        "O5,8,paid"  # no line end at the end
    )
    path = write(tmp_path, text)
    plain = plain_file(path, encoding="utf-8", delimiter=",")
    assert plain is not None and (plain.lines, plain.line_end) == (10, "\r\n")
    header, lines, rows, rejects = by_duckdb(path, ",")
    assert (header, lines, rows, rejects) == by_csv_module(path, ",")
    assert lines == [4, 7, 8, 10]
    assert rows[2] == ["O3", "1", "paid"]
    assert rejects == [(9, "the row has 4 fields but the header has 3")]


def test_a_line_end_split_between_two_blocks_of_the_scan_is_one(tmp_path, monkeypatch):
    from segcli.importer import plain as plain_module

    monkeypatch.setattr(plain_module, "_SCAN_BLOCK", 4)  # "a,b\r" | "\n1,2" | "\r\n"
    plain = plain_file(write(tmp_path, "a,b\r\n1,2\r\n"), encoding="utf-8", delimiter=",")
    assert plain is not None and (plain.lines, plain.line_end) == (2, "\r\n")


def test_a_compressed_or_other_encoding_file_is_left_to_the_csv_module(tmp_path):
    import gzip

    gzipped = tmp_path / "file.csv.gz"
    gzipped.write_bytes(gzip.compress(b"a,b\n1,2\n"))
    assert plain_file(gzipped, encoding="utf-8", delimiter=",") is None
    latin = write(tmp_path, "a,b\n1,2\n")
    assert plain_file(latin, encoding="latin-1", delimiter=",") is None


def test_text_that_is_not_utf8_fails_the_fast_path(tmp_path):
    path = tmp_path / "file.csv"
    path.write_bytes(b"a,b\n1,caf\xe9\n")
    plain = plain_file(path, encoding="utf-8", delimiter=",")
    assert plain is not None
    with pytest.raises(Unavailable):
        list(plain_batches(plain, after=1, width=2, rows=10))


def test_a_line_longer_than_duckdb_reads_fails_the_fast_path(tmp_path):
    from segcli.importer.plain import _MAX_LINE

    path = write(tmp_path, "a,b\n1,2\n3," + "x" * (_MAX_LINE + 1) + "\n")
    plain = plain_file(path, encoding="utf-8", delimiter=",")
    assert plain is not None
    with pytest.raises(Unavailable):
        list(plain_batches(plain, after=1, width=2, rows=10))


def test_lines_read_otherwise_than_counted_fail_the_fast_path(tmp_path):
    path = write(tmp_path, "a,b\n1,2\n3,4\n")
    wrong = PlainFile(path, ",", lines=4)
    with pytest.raises(Unavailable):
        list(plain_batches(wrong, after=1, width=2, rows=10))


# Cells of plain files: separators, spaces of every kind, letters, digits, a #.
CELL_CHARS = st.sampled_from(
    list("ab9#.-@é") + [" ", "\t", "\u00a0", "\u2028", "\u3000", "\x0b", "\x1c", ",", ";", "|"]
)
LINES = st.lists(st.text(CELL_CHARS, max_size=12), min_size=1, max_size=12)


@settings(
    deadline=None, max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lines=LINES,
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    ending=st.booleans(),
    rows=st.integers(1, 5),
)
def test_any_plain_file_reads_the_same(tmp_path, lines, delimiter, ending, rows):
    path = write(tmp_path, "\n".join(lines) + ("\n" if ending else ""))
    try:
        CsvFile(path, delimiter=delimiter).close()
    except ImportRefused:
        return  # a file of blank lines has no header
    assert by_duckdb(path, delimiter, rows=rows) == by_csv_module(path, delimiter)


@settings(
    deadline=None, max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=LINES, delimiter=st.sampled_from([",", ";", "\t", "|"]), ending=st.booleans())
def test_any_plain_file_with_windows_line_ends_reads_the_same(tmp_path, lines, delimiter, ending):
    path = write(tmp_path, "\r\n".join(lines) + ("\r\n" if ending else ""))
    try:
        CsvFile(path, delimiter=delimiter).close()
    except ImportRefused:
        return  # a file of blank lines has no header
    if len(lines) > 1 or ending:
        assert plain_file(path, encoding="utf-8", delimiter=delimiter) is not None
    assert by_duckdb(path, delimiter, rows=3) == by_csv_module(path, delimiter)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["orders.csv", "items.csv", "carts.csv", "subscribers.csv"])
def test_the_generated_store_files_read_the_same(tmp_path, name):
    from segcli.examples.generator import main as generate

    generate([str(tmp_path), "--people", "2000", "--seed", "3"])
    path = tmp_path / name
    assert by_duckdb(path, ",", rows=1000) == by_csv_module(path, ",")

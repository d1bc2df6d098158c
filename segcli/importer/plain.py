"""Reading a plain CSV file with DuckDB: the same records, lines and rejects as the csv module.

Most large files a store exports write no quotes at all (orders, line items, carts: ids,
dates, amounts). In such a file a record is one physical line and its fields are the line
split at the separator, so DuckDB's C reader, told every option, reads exactly what
``reader.CsvFile`` reads, many times faster. A file is plain when a scan of its bytes
finds no quote, no NUL and no byte 0x1F (the separator the lines are read with), its
lines all end alike (a newline, or a carriage return and a newline: a spreadsheet's or
Windows' file), and it is not compressed: anything else is read by the csv module as
before.
Whether the text is valid in the file's encoding DuckDB checks as it reads (an invalid
file fails the fast path, and the csv module then says where).

A batch is the lines of up to ``rows`` records: each kept record's line number and cells
(shaped to the header's width as ``batches.parse_batch`` shapes them), and the records
rejected for having more non-blank cells than the header.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

from segcli.analytic.macros import SPACES, character_class
from segcli.importer.reader import GZIP_MAGIC

if TYPE_CHECKING:
    import duckdb

# Bytes that make a file not plain: a quote starts a quoted field, NUL is an error to the
# csv module, and 0x1F is the separator DuckDB reads lines with (the unit separator: no
# text file writes it). Each is looked for on its own: a search for one byte is memchr,
# twenty times faster than a regular expression's class. (A carriage return is counted:
# plain_file.)
_NOT_PLAIN = (b'"', b"\x00", b"\x1f")
_LINE_SEPARATOR = "\x1f"
# How DuckDB's new_line option spells each line end.
_LINE_ENDS = {"\n": "\\n", "\r\n": "\\r\\n"}
_SCAN_BLOCK = 16 << 20
# DuckDB's longest line, in bytes. A longer line fails the fast path and the csv module
# reads the file, as it read every file before (its own limit is a field of 16 MiB). DuckDB
# holds a few buffers of a line and a MiB per thread: with lines up to 16 MiB, reading
# a million orders took 372 MB at its peak, 306 MB with 1 MiB (100,000 orders: 290 and
# 286 MB), and no plain export writes a line of a MiB.
_MAX_LINE = 1 << 20


class Unavailable(Exception):
    """DuckDB could not read the file exactly as the csv module does: read it with that."""


@dataclass(frozen=True)
class PlainFile:
    """A plain file (see the module), its number of physical lines, and what ends them."""

    path: Path
    delimiter: str
    lines: int
    line_end: str = "\n"


def plain_file(path: Path, *, encoding: str, delimiter: str) -> PlainFile | None:
    """The file, when it is plain and DuckDB can read it as the csv module does; else None."""
    if encoding != "utf-8" or len(delimiter) != 1 or delimiter in '"\x00\r\n\x1f':
        return None
    newlines = returns = pairs = 0
    last = b""
    try:
        with path.open("rb") as handle:
            if handle.peek(2)[:2] == GZIP_MAGIC:
                return None
            while block := handle.read(_SCAN_BLOCK):
                if any(byte in block for byte in _NOT_PLAIN):
                    return None
                newlines += block.count(b"\n")
                returns += block.count(b"\r")
                # A pair may straddle two blocks.
                pairs += block.count(b"\r\n") + (last == b"\r" and block[:1] == b"\n")
                last = block[-1:]
    except OSError:
        return None
    if returns and not returns == pairs == newlines:
        # A carriage return alone, or lines that end in two ways.
        return None
    # A last line without a line end is a line too.
    lines = newlines + (1 if last not in (b"", b"\n") else 0)
    return PlainFile(path, delimiter, lines, "\r\n" if returns else "\n")


@dataclass
class PlainBatch:
    """Records of a plain file: the kept ones as Arrow (``line``, then ``c1`` .. ``cN``, the
    cells shaped to the header's width, or the columns a caller selected over them), and
    the lines and reasons of the rejected."""

    records: Any
    rejects: list[tuple[int, str]]


def plain_batches(
    plain: PlainFile, *, after: int, width: int, rows: int, select: str | None = None
) -> Iterator[PlainBatch]:
    """The records after line ``after`` (the header's), about ``rows`` lines at a time.

    ``select``: SQL over the cells ``c1`` .. ``cN`` giving the columns each batch keeps
    after ``line`` (the cells themselves when None), computed by the same query.

    One query reads the whole file as a stream: the lines come from DuckDB's reader on
    one connection, numbered here, and are shaped (and selected) on another. A query per
    batch cost 40-80 ms of planning each: reading and parsing 700,000 orders took 3.5 s
    that way and 2.8 s as one stream, 1.5 million line items 4.2 and 3.6 s."""
    import duckdb
    import pyarrow as pa  # type: ignore[import-untyped]

    cells = ", ".join(f"c{i}" for i in range(1, width + 1))
    query = (
        f"SELECT line, {select or cells}, count, overlong "
        f"FROM ({_shape_sql(plain.delimiter, width)})"
    )
    numbered = 0

    def numbered_lines() -> Iterator[Any]:
        nonlocal numbered
        for text in _lines(reading, plain, rows):
            first, numbered = numbered + 1, numbered + len(text)
            if numbered > after:
                numbers = pa.array(range(first, numbered + 1), pa.int64())
                yield pa.RecordBatch.from_arrays([numbers, text], names=["line", "text"])

    with closing(duckdb.connect()) as reading, closing(duckdb.connect()) as shaping:
        # The records must come out in the lines' order (checked in each batch and between
        # them): with two threads, the records of 800,000 lines did not.
        shaping.execute("SET preserve_insertion_order = true")
        shaping.execute("SET threads = 1")
        last = 0
        try:
            lines = numbered_lines()
            first = next(lines, None)
            # A file of a header only has no lines to stream: an empty stream of its shape.
            schema = pa.schema([("line", pa.int64()), ("text", pa.string())])
            stream = pa.RecordBatchReader.from_batches(
                schema if first is None else first.schema,
                chain([] if first is None else [first], lines),
            )
            shaping.register("plain_batch", stream)
            params = [plain.delimiter, after]
            with shaping.sql(query, params=params).to_arrow_reader(rows) as reader:
                for shaped in reader:
                    if shaped.num_rows:
                        if shaped.column(0)[0].as_py() <= last:
                            raise Unavailable("the records came out of order")
                        last = shaped.column(0)[-1].as_py()
                    yield _kept_and_rejected(pa.Table.from_batches([shaped]), width)
        except Unavailable:
            raise
        except Exception as error:  # DuckDB's errors have no common base class
            raise Unavailable(str(error)) from error
    if numbered != plain.lines:
        # DuckDB read the lines otherwise than the file's newlines count them.
        raise Unavailable(f"read {numbered:,} lines of {plain.lines:,}")


def _lines(con: duckdb.DuckDBPyConnection, plain: PlainFile, rows: int) -> Iterator[Any]:
    """Each batch of the file's physical lines, in order, as an Arrow string array."""
    # Every option given: no sniffing (a file whose first cell starts with # was read as
    # all comments), no header, no quotes, one column per line.
    relation = con.sql(
        "SELECT line FROM read_csv($path, columns = {'line': 'VARCHAR'}, header = false, "
        f"delim = '{_LINE_SEPARATOR}', quote = '', escape = '', comment = '', "
        f"auto_detect = false, new_line = '{_LINE_ENDS[plain.line_end]}', strict_mode = false, "
        # The smallest buffer that holds the longest line (_MAX_LINE).
        f"max_line_size = {_MAX_LINE}, buffer_size = {_MAX_LINE + (1 << 20)})",
        params={"path": str(plain.path)},
    )
    with relation.to_arrow_reader(rows) as reader:
        for batch in reader:
            if batch.num_rows:
                yield batch.column(0)


def _shape_sql(delimiter: str, width: int) -> str:
    """A query of ``plain_batch``'s records, shaped to ``width`` cells as
    ``batches.parse_batch`` shapes them (short ones filled with empty cells, blank cells
    past the header's dropped), each with its number of cells and whether it has more
    non-blank cells than the header. $1 is the separator, $2 the header's line; the
    patterns are segcli's own.

    A record the csv module's reader skips is blank, or only blank cells (CsvFile), and
    str.strip() strips exactly the characters of Python's ``\\s`` (macros.SPACES)."""
    # Any character but a space or the separator (which may be a space itself, a tab):
    # found at once in most records, where matching a whole record against the blanks
    # read it all.
    filled = "[^" + character_class(SPACES | {delimiter})[1:]
    # A record that starts with a printable ASCII character other than the separator is
    # not blank (no such character is a space): the pattern is searched for in the rest.
    kept = (
        f"(ascii(text) BETWEEN 33 AND 126 AND ascii(text) != {ord(delimiter)} "
        f"OR regexp_matches(text, '{filled}'))"
    )
    cells = ", ".join(f"coalesce(cells[{i}], '') AS c{i}" for i in range(1, width + 1))
    # In the order of plain_batch: the connection keeps insertion order (checked after).
    return (
        f"SELECT line, {cells}, len(cells) AS count, len(cells) > {width} "
        f"AND regexp_matches(array_to_string(cells[{width + 1}:], $1), '{filled}') "
        "AS overlong FROM (SELECT line, string_split(text, $1) AS cells FROM plain_batch "
        f"WHERE line > $2 AND {kept})"
    )


def _kept_and_rejected(shaped: Any, width: int) -> PlainBatch:
    """The batch's kept records, and its rejected ones with the csv path's message."""
    import pyarrow.compute as pc  # type: ignore[import-untyped]

    lines = shaped.column("line")
    if len(lines) > 1 and not pc.all(pc.less(lines[:-1], lines[1:])).as_py():
        raise Unavailable("the records came out of order")
    kept = [name for name in shaped.column_names if name not in ("count", "overlong")]
    overlong = shaped.column("overlong")
    if not pc.any(overlong).as_py():
        return PlainBatch(shaped.select(kept), [])
    rejected = shaped.filter(overlong)
    rejects = [
        (line, f"the row has {count} fields but the header has {width}")
        for line, count in zip(
            rejected.column("line").to_pylist(), rejected.column("count").to_pylist(), strict=True
        )
    ]
    return PlainBatch(shaped.filter(pc.invert(overlong)).select(kept), rejects)

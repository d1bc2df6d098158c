"""Streaming CSV reading with physical line numbers, byte progress and clear decoding errors."""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

from segcli.errors import ImportRefused

# Python's csv module refuses fields over 128 KiB by default; review bodies and notes can be
# longer. Larger fields still get a clear message instead of unbounded memory.
FIELD_SIZE_LIMIT = 16 * 1024 * 1024
csv.field_size_limit(FIELD_SIZE_LIMIT)

UTF8_BOM = codecs.BOM_UTF8
GZIP_MAGIC = b"\x1f\x8b"


@dataclass(slots=True)
class Record:
    """One CSV record: the line it starts on and its fields."""

    line: int
    fields: list[str]
    # Set when the record is known to be unreadable before its cells are parsed.
    problem: str | None = None


# How often, in records, the progress callback is told the position.
_PROGRESS_EVERY = 8192

# Read after the file's last line. csv takes a quoted field that is never closed to the
# end of the file without a word; then this text ends that field and tells. Otherwise it
# is a line of whitespace, which is skipped like any blank line.
_AFTER_THE_END = "\u2028\u3000\u2029"


class CsvFile:
    """A CSV file opened for streaming: ``header`` first, then ``records()`` once.

    The bytes are decoded and split by C code (``io.TextIOWrapper`` and ``csv``); only
    when the text turns out not to be in the encoding is the file read again line by line
    to say where.
    """

    def __init__(
        self,
        path: Path,
        *,
        encoding: str = "utf-8",
        delimiter: str = ",",
        on_progress: Callable[[int], None] | None = None,
    ):
        self.path = path
        self.encoding = _checked_encoding(encoding)
        self.delimiter = delimiter
        self.on_progress = on_progress
        try:
            self.size = path.stat().st_size
            self._raw = path.open("rb")
        except IsADirectoryError:
            raise ImportRefused(path, "is a directory, not a CSV file") from None
        except FileNotFoundError:
            raise ImportRefused(path, "no such file") from None
        except OSError as error:
            raise ImportRefused(path, f"cannot be read: {error.strerror}") from None
        # A gzip-compressed CSV (export.csv.gz) is read as it is; progress counts the
        # compressed bytes, which is what the file's size measures.
        self.compressed = self._raw.peek(2)[:2] == GZIP_MAGIC
        self._handle = gzip.GzipFile(fileobj=self._raw) if self.compressed else self._raw
        if self._peek(2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            raise ImportRefused(
                path,
                "is UTF-16 text, which segcli does not read",
                hint="save it as CSV UTF-8, or convert it: iconv -f UTF-16 -t UTF-8",
            )
        # Excel and many exports write a byte-order mark before the header.
        text_encoding = "utf-8-sig" if self.encoding == "utf-8" else self.encoding
        # Lines end at \n only, as in the file's bytes; csv reads a \r before it.
        self._text = io.TextIOWrapper(self._handle, encoding=text_encoding, newline="\n")
        self._reader = csv.reader(
            chain(self._text, (_AFTER_THE_END,)), delimiter=delimiter, strict=False
        )
        self.header = self._read_header()

    def close(self) -> None:
        self._handle.close()
        self._raw.close()

    def _peek(self, size: int) -> bytes:
        try:
            return self._handle.peek(size)[:size]
        except (OSError, EOFError, zlib.error):
            return b""  # a damaged gzip file is refused when it is read

    def _position(self) -> int:
        return self._raw.tell()

    def __enter__(self) -> CsvFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _unclosed_quote(self, line: int) -> ImportRefused:
        return ImportRefused(
            self.path,
            "has a quoted field that is never closed: it runs from this line to the end "
            "of the file",
            line=line,
            hint='a field that starts with " must end with "; a " inside it is written ""',
        )

    def _not_csv(self, error: csv.Error, line: int) -> ImportRefused:
        if "new-line character seen in unquoted field" in str(error):
            return ImportRefused(
                self.path,
                "ends its lines with a carriage return only (an old Mac format)",
                line=line,
                hint="convert the line ends first: tr '\\r' '\\n' < IN.csv > OUT.csv",
            )
        if "field larger than field limit" in str(error):
            return ImportRefused(
                self.path,
                f"has a field longer than {FIELD_SIZE_LIMIT // (1024 * 1024)} MiB",
                line=line,
                hint="a quote that opens a field and is never closed reads on to the end: "
                'a " inside a field is written ""',
            )
        return ImportRefused(self.path, f"is not readable as CSV: {error}", line=line)

    def _unreadable(self, error: Exception, line: int) -> ImportRefused:
        if not self.compressed:
            return ImportRefused(self.path, f"cannot be read: {error}")
        return ImportRefused(
            self.path,
            f"is a damaged gzip file ({error})",
            line=line,
            hint="check the download, or decompress it with gunzip to see the damage",
        )

    def _undecodable(self) -> ImportRefused:
        """Read the file again line by line to say which line and byte are not text."""
        with self.path.open("rb") as raw:
            handle = gzip.GzipFile(fileobj=raw) if self.compressed else raw
            decode = codecs.getdecoder(self.encoding)
            for number, line in enumerate(handle, 1):
                if number == 1 and line.startswith(UTF8_BOM) and self.encoding == "utf-8":
                    line = line[len(UTF8_BOM) :]
                try:
                    decode(line)
                except UnicodeDecodeError as error:
                    bad = line[error.start : error.start + 1].hex().upper()
                    return ImportRefused(
                        self.path,
                        f"is not valid {self.encoding} text "
                        f"(byte 0x{bad} at column {error.start + 1})",
                        line=number,
                        hint="if the file was saved by Excel or an older system, "
                        "try --encoding latin-1 or --encoding cp1252",
                    )
        return ImportRefused(self.path, f"is not valid {self.encoding} text")

    def _read_header(self) -> list[str]:
        for lines, rows in self.chunks(1):
            if _unclosed(rows[0]):
                raise self._unclosed_quote(lines[0])
            # The line the header ends on: the records start after it.
            self.header_line = self._reader.line_num
            return rows[0]
        raise ImportRefused(self.path, "is empty: it has no header line")

    def records(self) -> Iterator[Record]:
        """Every data record; blank lines and rows of empty cells (left by Excel) are skipped."""
        for lines, rows in self.chunks(1):
            yield Record(lines[0], rows[0])

    def chunks(self, size: int) -> Iterator[tuple[list[int], list[list[str]]]]:
        """The data records in lists of ``size``: the lines they start on, and their fields.

        Blank lines and rows of empty cells (left by Excel) are skipped.
        """
        reader = self._reader
        progress = self.on_progress
        countdown = _PROGRESS_EVERY
        lines: list[int] = []
        rows: list[list[str]] = []
        start = reader.line_num + 1
        fields: list[str] = []
        try:
            for fields in reader:
                began = start
                if fields and (fields[0].strip() or any(field.strip() for field in fields)):
                    lines.append(start)
                    rows.append(fields)
                    if len(rows) >= size:
                        yield lines, rows
                        lines, rows = [], []
                start = reader.line_num + 1
                if progress is not None:
                    countdown -= 1
                    if not countdown:
                        countdown = _PROGRESS_EVERY
                        progress(self._position())
        except csv.Error as error:
            raise self._not_csv(error, start) from None
        except UnicodeDecodeError:
            raise self._undecodable() from None
        except (OSError, EOFError, zlib.error) as error:
            raise self._unreadable(error, start) from None
        if _unclosed(fields):
            raise self._unclosed_quote(began)
        if rows:
            yield lines, rows
        if progress is not None:
            progress(self._position())


def _unclosed(fields: list[str]) -> bool:
    """Whether the file's last record ended inside a quoted field (see ``_AFTER_THE_END``)."""
    return bool(fields) and fields[-1].endswith(_AFTER_THE_END) and fields != [_AFTER_THE_END]


def _checked_encoding(encoding: str) -> str:
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise ImportRefused(
            "--encoding", f"unknown encoding {encoding!r}", hint="try utf-8, latin-1 or cp1252"
        ) from None
    # Line-by-line decoding needs an encoding in which a newline is the byte 0x0A.
    if "\n".encode(name) != b"\n" or "a".encode(name) != b"a":
        raise ImportRefused(
            "--encoding",
            f"{encoding} is not supported",
            hint="convert the file to UTF-8 first (iconv -f UTF-16 -t UTF-8)",
        )
    return name

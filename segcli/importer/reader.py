"""Streaming CSV reading with physical line numbers, byte progress and clear decoding errors."""

from __future__ import annotations

import codecs
import csv
import gzip
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from segcli.errors import ImportRefused

# Python's csv module refuses fields over 128 KiB by default; review bodies and notes can be
# longer. Larger fields still get a clear message instead of unbounded memory.
FIELD_SIZE_LIMIT = 16 * 1024 * 1024
csv.field_size_limit(FIELD_SIZE_LIMIT)

UTF8_BOM = codecs.BOM_UTF8
GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class Record:
    """One CSV record: the line it starts on and its fields."""

    line: int
    fields: list[str]
    # Set when the record is known to be unreadable before its cells are parsed.
    problem: str | None = None


class CsvFile:
    """A CSV file opened for streaming: ``header`` first, then ``records()`` once."""

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
        self.bytes_read = 0
        self._lines_read = 0
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
        self._reader = csv.reader(self._text_lines(), delimiter=delimiter, strict=False)
        self.header = self._read_header()

    def close(self) -> None:
        self._handle.close()
        self._raw.close()

    def _position(self) -> int:
        return self._raw.tell() if self.compressed else self.bytes_read

    def __enter__(self) -> CsvFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _text_lines(self) -> Iterator[str]:
        """Decode line by line, so that a bad byte is reported with its line number."""
        decode = codecs.getdecoder(self.encoding)
        first = True
        report_every = 1 << 20
        next_report = report_every
        for raw in self._raw_lines():
            self._lines_read += 1
            self.bytes_read += len(raw)
            if first:
                first = False
                if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                    raise ImportRefused(
                        self.path,
                        "is UTF-16 text, which segcli does not read",
                        hint="save it as CSV UTF-8, or convert it: iconv -f UTF-16 -t UTF-8",
                    )
                # Excel and many exports write a byte-order mark before the header.
                if raw.startswith(UTF8_BOM) and self.encoding in ("utf-8", "utf-8-sig"):
                    raw = raw[len(UTF8_BOM) :]
            try:
                line, _ = decode(raw)
            except UnicodeDecodeError as error:
                bad = raw[error.start : error.start + 1].hex().upper()
                raise ImportRefused(
                    self.path,
                    f"is not valid {self.encoding} text (byte 0x{bad} at column {error.start + 1})",
                    line=self._lines_read,
                    hint="if the file was saved by Excel or an older system, "
                    "try --encoding latin-1 or --encoding cp1252",
                ) from None
            if self.on_progress is not None and self._position() >= next_report:
                next_report = self._position() + report_every
                self.on_progress(self._position())
            yield line

    def _raw_lines(self) -> Iterator[bytes]:
        """The file's lines as bytes; a damaged gzip file is refused at the line it breaks."""
        try:
            yield from self._handle
        except (OSError, EOFError, zlib.error) as error:
            if not self.compressed:
                raise ImportRefused(self.path, f"cannot be read: {error}") from None
            raise ImportRefused(
                self.path,
                f"is a damaged gzip file ({error})",
                line=self._lines_read + 1,
                hint="check the download, or decompress it with gunzip to see the damage",
            ) from None

    def _next(self) -> Record | None:
        start = self._lines_read + 1
        try:
            fields = next(self._reader)
        except StopIteration:
            return None
        except csv.Error as error:
            if "new-line character seen in unquoted field" in str(error):
                raise ImportRefused(
                    self.path,
                    "ends its lines with a carriage return only (an old Mac format)",
                    line=start,
                    hint="convert the line ends first: tr '\\r' '\\n' < IN.csv > OUT.csv",
                ) from None
            raise ImportRefused(self.path, f"is not readable as CSV: {error}", line=start) from None
        return Record(start, fields)

    def _read_header(self) -> list[str]:
        while True:
            record = self._next()
            if record is None:
                raise ImportRefused(self.path, "is empty: it has no header line")
            if any(field.strip() for field in record.fields):
                return record.fields

    def records(self) -> Iterator[Record]:
        """Every data record; blank lines and rows of empty cells (left by Excel) are skipped."""
        while (record := self._next()) is not None:
            fields = record.fields
            if fields and (fields[0].strip() or any(field.strip() for field in fields)):
                yield record
        if self.on_progress is not None:
            self.on_progress(self._position())


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

"""The analytic copy: the store's tables as DuckDB reads them, one Parquet file a table.

SQLite stays the store of record; this copy is derived from it, never authoritative, and
safe to delete. Each file is named after the data version its table had when it was read
(``data_versions``, which every import stamps in its own transaction), so a copy is
current exactly when each table's file of its current version is there. A table whose
version moved on is read again, and only that table: a new orders file refreshes orders
(and people, when it brought new ones), not a million people's line items.

Files are written under a temporary name and renamed when complete: a refresh killed
half-way leaves the old file or the new one, never a mix. Two processes never block each
other beyond one table's refresh: a table is refreshed under its own lock, a process that
finds it being refreshed waits for that and takes the result, and a file in use (a shared
lock on it) is not deleted when a newer one replaces it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from segcli.errors import StoreError
from segcli.files import OWNER_ONLY
from segcli.store.db import Store

if TYPE_CHECKING:
    from segcli.analytic.reading import StoreReader

# The columns evaluation reads, per table, with their type in the copy. Only these are
# copied: an order's addresses and currencies are the store's business, not a segment's.
TEXT, INTEGER = "text", "integer"
COPIED: dict[str, dict[str, str]] = {
    "people": {
        "person_id": INTEGER,
        "person_key": TEXT,
        "customer_id": TEXT,
        "email": TEXT,
        "first_name": TEXT,
        "last_name": TEXT,
        "created_at": TEXT,
        "first_seen_at": TEXT,
        "customer_accepts_marketing": INTEGER,
        "country": TEXT,
        "region": TEXT,
        "city": TEXT,
        "tags": TEXT,
        "customer_group": TEXT,
        "channel": TEXT,
        "custom": TEXT,
    },
    "orders": {
        "order_id": TEXT,
        "person_id": INTEGER,
        "created_at": TEXT,
        "total": INTEGER,
        "status": TEXT,
        "counted": INTEGER,
        "accepts_marketing": INTEGER,
    },
    "items": {
        "order_id": TEXT,
        "product_id": TEXT,
        "sku": TEXT,
        "title": TEXT,
        "collection": TEXT,
        "vendor": TEXT,
    },
    "products": {
        "record_key": TEXT,
        "product_id": TEXT,
        "sku": TEXT,
        "title": TEXT,
        "product_type": TEXT,
        "vendor": TEXT,
    },
    "product_collections": {"record_key": TEXT, "collection": TEXT},
    "reviews": {
        "person_id": INTEGER,
        "product_id": TEXT,
        "sku": TEXT,
        "rating": INTEGER,
        "created_at": TEXT,
    },
    "subscribers": {"person_id": INTEGER, "subscribed_at": TEXT, "status": TEXT},
    "carts": {"person_id": INTEGER, "created_at": TEXT},
}

# An order is known in the copy by a number made from the MD5 of its order id, in the
# orders and in their line items alike: a line item finds its order by a join on numbers
# instead of text (at a million people, the text join was most of the time of a
# "purchased" condition), and neither table depends on the other, so a new orders file
# does not read a million people's line items again. The number is 126 of the digest's
# bits, kept exactly as a DECIMAL(38, 0): Parquet has no 128-bit integer, and DuckDB
# writes one as a DOUBLE, whose 53 bits would let two orders of a large store meet. (Two
# of a store's order ids meeting in 126 bits is beyond any store: about n^2 / 2^127.)
KEYED_BY_DIGEST: dict[str, str] = {"orders": "order_id", "items": "order_id"}
# The number, from the order id {key} (md5_number reads the digest little-endian).
ORDER_KEY_SQL = "CAST(md5_number({key}) >> 2 AS DECIMAL(38, 0))"

# The directory holding the copy, beside the store: ``shop.db`` → ``shop.db.analytic``.
SUFFIX = ".analytic"
_PARQUET = ".parquet"


def copy_directory(store_path: Path) -> Path:
    """Where the analytic copy of the store at ``store_path`` lives."""
    return store_path.with_name(store_path.name + SUFFIX)


# How the files are laid out beyond their columns (people sorted, with a position;
# orders keyed by digest, exactly).
_LAYOUT = 4


def _stamp(table: str, schema_version: int) -> str:
    """What a table's file holds besides its data version: its columns and the store's
    schema, so that a new segcli or a migration never reads an older file as current."""
    text = f"{table} {sorted(COPIED[table].items())} {schema_version} {_LAYOUT}"
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def file_name(table: str, versions: dict[str, int], schema_version: int) -> str:
    """The name of the table's file at the store's data ``versions``."""
    return f"{table}-{versions.get(table, 0)}-{_stamp(table, schema_version)}{_PARQUET}"


@dataclass(frozen=True)
class Size:
    """How big the copy is, for ``info``."""

    files: int
    bytes: int


def copy_size(store_path: Path) -> Size:
    directory = copy_directory(store_path)
    if not directory.is_dir():
        return Size(0, 0)
    files = [path for path in directory.iterdir() if path.suffix == _PARQUET]
    return Size(len(files), sum(path.stat().st_size for path in files))


def copy_state(store: Store) -> dict[str, object]:
    """Where the analytic copy is, how big, and the tables it lacks at the store's
    current data versions (read again by the next evaluating command)."""
    directory = copy_directory(store.path)
    versions = store.data_versions()
    schema = store.schema_version()
    stale = [
        table for table in COPIED if not (directory / file_name(table, versions, schema)).exists()
    ]
    size = copy_size(store.path)
    return {
        "path": str(directory.resolve()),
        "files": size.files,
        "bytes": size.bytes,
        "stale_tables": stale,
    }


class AnalyticCopy:
    """The current copy of one store, held in use (shared locks) until ``close``."""

    def __init__(self, store: Store):
        self.store = store
        self.directory = copy_directory(store.path)
        # The file of each table this process reads, and the lock that keeps it.
        self.files: dict[str, Path] = {}
        self._held: list[IO[bytes]] = []
        # The tables refreshed by this process, for the command and the tests.
        self.refreshed: list[str] = []

    def __enter__(self) -> AnalyticCopy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for handle in self._held:
            handle.close()
        self._held.clear()

    def open(self) -> dict[str, Path]:
        """The file of every table at the store's current data versions, each refreshed
        first when it is not there; held in use until ``close``."""
        self._make_directory()
        for _ in range(10):
            versions = self._versions()
            wanted = {table: self.directory / name for table, name in versions.items()}
            stale = [table for table, path in wanted.items() if not path.exists()]
            if stale:
                self._refresh(stale)
                continue
            if self._hold(wanted):
                self.files = wanted
                return wanted
        raise StoreError(
            f"the analytic copy in {self.directory} keeps changing under this command",
            hint="imports are running one after another; try again when they are done",
        )

    def _versions(self) -> dict[str, str]:
        store = self.store
        versions = store.data_versions()
        schema = store.schema_version()
        return {table: file_name(table, versions, schema) for table in COPIED}

    def _make_directory(self) -> None:
        try:
            self.directory.mkdir(mode=0o700, exist_ok=True)
        except OSError as error:
            raise StoreError(
                f"cannot create the analytic copy {self.directory}: {error.strerror}",
                hint="segcli needs to write beside the database; or use --engine sqlite",
            ) from error
        if not self.directory.is_dir():
            raise StoreError(f"{self.directory} is in the way of segcli's analytic copy")

    def hold(self, path: Path) -> bool:
        """Hold one more file in use; False when it is gone."""
        return self._hold({path.name: path}, keep=True)

    def _hold(self, wanted: dict[str, Path], *, keep: bool = False) -> bool:
        """Take a shared lock on each file (a newer copy does not delete a file in use);
        False when one was replaced meanwhile. ``keep``: besides those held already."""
        if not keep:
            self.close()
        for path in wanted.values():
            try:
                handle = path.open("rb")
            except FileNotFoundError:
                self.close()
                return False
            fcntl.flock(handle, fcntl.LOCK_SH)
            self._held.append(handle)
            # Deleted between the open and the lock: not the file of that name any more.
            if not _same_file(handle, path):
                self.close()
                return False
        return True

    def _refresh(self, tables: list[str]) -> None:
        """Read ``tables`` from the store into new files, in a child process.

        The reading is done by ADBC's own SQLite library. Two SQLite libraries in one
        process must not open the same database: closing a file in one drops the POSIX
        locks the other holds on it (SQLite's "multiple copies" warning; seen here as
        "disk I/O error" in the next read). A child process has locks of its own.
        """
        command = [
            sys.executable,
            "-m",
            "segcli.analytic.reading",
            str(self.store.path),
            str(self.store.schema_version()),
            *tables,
        ]
        child = subprocess.run(command, capture_output=True, text=True, check=False)
        if child.returncode != 0:
            message = child.stderr.strip().splitlines() or [f"exit code {child.returncode}"]
            raise StoreError(
                f"cannot refresh the analytic copy {self.directory}: {message[-1]}",
                hint="--engine sqlite evaluates in the store without the copy",
            )
        self.refreshed += [table for table in child.stdout.split() if table in COPIED]


def refresh(store_path: Path, schema_version: int, tables: list[str]) -> list[str]:
    """Write the files of ``tables`` at the store's current data versions (in the child
    process ``AnalyticCopy._refresh`` starts); returns the tables written."""
    from segcli.analytic.reading import StoreReader

    directory = copy_directory(store_path)
    written = []
    with StoreReader(store_path) as reader:
        versions = reader.versions()
        for table in tables:
            target = directory / file_name(table, versions, schema_version)
            with _lock(directory, table):
                if not target.exists():
                    _write(reader, table, target)
                    written.append(table)
                _forget_older(directory, table, keep=target)
    return written


@contextlib.contextmanager
def _lock(directory: Path, table: str) -> Iterator[None]:
    """One process refreshes a table at a time; another waits, then finds it done."""
    fd = os.open(directory / f".{table}.lock", os.O_RDWR | os.O_CREAT, OWNER_ONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _write(reader: StoreReader, table: str, target: Path) -> None:
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        reader.write_parquet(table, COPIED[table], temporary)
        # Owner-only, as the store is (the directory already is).
        os.chmod(temporary, OWNER_ONLY)
        fd = os.open(temporary, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise


def _forget_older(directory: Path, table: str, keep: Path) -> None:
    """Delete the table's other files that no process is reading, and temporary files
    left by a refresh that was killed."""
    for path in directory.glob(f"{table}-*{_PARQUET}"):
        if path != keep:
            _delete_unused(path)
    for path in directory.glob(f".{table}-*.tmp"):
        pid = path.name.rsplit(".", 2)[-2]
        if pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


# Everyone's facts are kept for this many as-of dates at most (each is about the size of
# the people's file); the oldest written go first.
KEPT_FACTS = 4


def forget_facts(directory: Path, keep: Path) -> None:
    """Delete kept facts of other data than ``keep``'s, and all but the newest few."""
    data = keep.name.split("-")[4]
    kept = sorted(
        directory.glob("facts-*.parquet"), key=lambda path: path.stat().st_mtime, reverse=True
    )
    for number, path in enumerate(kept):
        if path != keep and (path.name.split("-")[4] != data or number >= KEPT_FACTS):
            _delete_unused(path)


def forget_sets(directory: Path, keep: str) -> None:
    """Delete kept sets of people of other data than those named ``keep``-*: of an
    earlier state of the store, or of another as-of date."""
    for path in directory.glob("set-*.parquet"):
        if not path.name.startswith(keep + "-"):
            _delete_unused(path)


def _delete_unused(path: Path) -> None:
    """Delete a file unless a process holds it in use (a shared lock)."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _same_file(handle: IO[bytes], path: Path) -> bool:
    try:
        found = path.stat()
    except FileNotFoundError:
        return False
    held = os.fstat(handle.fileno())
    return (held.st_dev, held.st_ino) == (found.st_dev, found.st_ino)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

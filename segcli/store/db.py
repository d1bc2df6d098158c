"""Opening the store database: file creation, pragmas, migrations and transactions."""

from __future__ import annotations

import os
import secrets
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from segcli.errors import StoreBusy, StoreError

if TYPE_CHECKING:
    from sqlite_utils import Database

# Values bound to a statement: by position, or by name.
Parameters = Sequence[object] | Mapping[str, object]

# How long a writer waits for another segcli process to finish before giving up.
BUSY_TIMEOUT_MS = 30_000

# The newest of the migrations in segcli/store/schema.py, and how many there are
# (tests/test_upgrades.py checks both). A database that has applied exactly these is
# opened without loading sqlite-utils, which applies them: it takes 50 ms to load, a
# sixth of a quick command.
NEWEST_MIGRATION = "m012_membership_snapshots"
MIGRATIONS = 12
# Where sqlite-utils' migrations record what they applied, and segcli's set's name there.
MIGRATIONS_TABLE = "_sqlite_migrations"
MIGRATION_SET = "segcli"


class Store:
    """An open segcli database: a sqlite3 connection in autocommit mode plus sqlite-utils."""

    def __init__(self, path: Path, conn: sqlite3.Connection):
        self.path = path
        self.conn = conn
        # A read transaction held open so that a series of queries sees one state of the
        # database, even while another process writes (see ``begin_reading``).
        self.reading = False
        # Told when a write must wait for another process (the command says so).
        self.on_wait: Callable[[], None] | None = None
        self._patient = True
        # The tables the current write transaction changed, stamped with a new data
        # version before it commits (``stamp_versions``).
        self.written: set[str] = set()

    @property
    def db(self) -> Database:
        """The connection as sqlite-utils works with it (migrations)."""
        from sqlite_utils import Database

        return Database(self.conn)

    def execute(self, sql: str, params: Parameters = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    def scalar(self, sql: str, params: Parameters = ()) -> Any:
        """The first column of the first row (None when there is none): any SQLite value."""
        row = self.conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def begin_reading(self) -> None:
        """Read one state of the database until ``end_reading`` or the next write.

        In WAL mode other processes may write meanwhile; this connection goes on seeing
        the database as it was at its first read (SQLite's snapshot isolation).
        """
        self.end_reading()
        self.conn.execute("BEGIN")
        self.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        self.reading = True

    def end_reading(self) -> None:
        if self.reading and self.conn.in_transaction:
            self.conn.execute("COMMIT")
        self.reading = False

    @contextmanager
    def not_waiting(self) -> Iterator[Store]:
        """Within this block, a database locked by another writer is busy at once."""
        self.conn.execute("PRAGMA busy_timeout = 0")
        self._patient = False
        try:
            yield self
        finally:
            self._patient = True
            self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """One write transaction: committed whole or not at all (also on kill -9)."""
        self.end_reading()
        # BEGIN IMMEDIATE and COMMIT fail only when the file cannot be written (another
        # writer, a read-only file or directory, a full or failing disk): said as such.
        try:
            self._begin_writing()
        except sqlite3.OperationalError as error:
            raise _busy_or_error(self.path, error) from error
        self.written = set()
        try:
            yield self
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        try:
            self.conn.execute("COMMIT")
        except sqlite3.OperationalError as error:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise _busy_or_error(self.path, error) from error

    def _begin_writing(self) -> None:
        """BEGIN IMMEDIATE; when another process is writing, say so, then wait for it."""
        if self._patient and self.on_wait is not None:
            self.conn.execute("PRAGMA busy_timeout = 0")
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if not _is_busy(error):
                    raise
            finally:
                self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self.on_wait()
        self.conn.execute("BEGIN IMMEDIATE")

    def wrote(self, *tables: str) -> None:
        """Say that the current write transaction changed ``tables``."""
        self.written.update(tables)

    def stamp_versions(self) -> int | None:
        """Give every table the transaction changed a new data version (in the
        transaction); returns that version, or None when nothing was changed."""
        if not self.written:
            return None
        # Random, not counted: another history of the store (a backup restored and
        # imported into) never reaches a version that a copied file is named after.
        version = secrets.randbits(62)
        self.conn.executemany(
            "INSERT INTO data_versions (name, version) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET version = excluded.version",
            [(table, version) for table in sorted(self.written)],
        )
        self.written = set()
        return version

    def data_versions(self) -> dict[str, int]:
        """Each table's data version (migration m010 gives every table one)."""
        return dict(self.execute("SELECT name, version FROM data_versions").fetchall())

    def schema_version(self) -> int:
        return len(applied_migrations(self.conn))

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# A database that cannot be written now: another process writes it, it is read-only,
# or its disk is full. Writing what is only kept for later (stored facts, kept sets) is
# then skipped: the next command computes them again.
_CANNOT_WRITE = {
    sqlite3.SQLITE_BUSY,
    sqlite3.SQLITE_LOCKED,
    sqlite3.SQLITE_READONLY,
    sqlite3.SQLITE_FULL,
    sqlite3.SQLITE_IOERR,
    sqlite3.SQLITE_CANTOPEN,
}


def cannot_write(error: sqlite3.Error) -> bool:
    """Whether a database error says the database cannot be written now (by SQLite's
    primary result code)."""
    return (getattr(error, "sqlite_errorcode", 0) & 0xFF) in _CANNOT_WRITE


def _is_busy(error: sqlite3.Error) -> bool:
    return "locked" in str(error) or "busy" in str(error)


def _busy_or_error(path: Path, error: sqlite3.Error) -> StoreError:
    if _is_busy(error):
        return StoreBusy(
            f"database is busy: {path} is being written by another process",
            hint=f"another segcli import may be running; it waited {BUSY_TIMEOUT_MS // 1000} s",
        )
    return StoreError(f"cannot write to {path}: {error}")


def open_store(
    path: Path | str,
    *,
    create: bool = True,
    in_memory: bool = False,
    on_wait: Callable[[], None] | None = None,
) -> Store:
    """Open the database at ``path`` (creating it if allowed), migrated to the newest schema.

    ``in_memory`` opens an empty database that lives only as long as the connection, for
    a dry run against a database that does not exist yet. ``on_wait`` is called when a
    write has to wait for another process.
    """
    path = Path(path)
    if in_memory:
        from segcli.store.schema import migrations

        store = Store(path, sqlite3.connect(":memory:", isolation_level=None))
        with store.transaction():
            migrations.apply(store.db)
        return store
    if not path.exists():
        if not create:
            raise StoreError(
                f"no database at {path}",
                hint="import some data first (segcli import KIND FILE), or pass --db",
            )
        _create_private_file(path)
    elif path.is_dir():
        raise StoreError(f"{path} is a directory, not a database file")
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # Reading the schema fails here, not later, when the file is not a database.
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        applied = applied_migrations(conn)
        current = len(applied) == MIGRATIONS and applied[-1] == NEWEST_MIGRATION
        if not current:
            _refuse_a_newer_schema(path, conn, applied)
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("PRAGMA cache_size = -65536")
        conn.execute("PRAGMA temp_store = FILE")
    except sqlite3.DatabaseError as error:
        if "locked" in str(error) or "busy" in str(error):
            raise _busy_or_error(path, error) from error
        raise StoreError(f"cannot open database {path}: {error}") from error
    store = Store(path, conn)
    store.on_wait = on_wait
    if not current:
        from segcli.store.schema import migrations

        if migrations.pending(store.db):
            with store.transaction():
                migrations.apply(store.db)
    return store


def applied_migrations(conn: sqlite3.Connection) -> list[str]:
    """The names of segcli's migrations the database has applied, in their order."""
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (MIGRATIONS_TABLE,)
    ).fetchone()
    if found is None:
        return []
    rows = conn.execute(
        f"SELECT name FROM {MIGRATIONS_TABLE} WHERE migration_set = ? ORDER BY rowid",
        (MIGRATION_SET,),
    )
    return [name for (name,) in rows]


def _refuse_a_newer_schema(path: Path, conn: sqlite3.Connection, applied: list[str]) -> None:
    """Stop, before anything is written, when a newer segcli has migrated the database."""
    from segcli.store.schema import MIGRATION_NAMES

    unknown = [name for name in applied if name not in MIGRATION_NAMES]
    if unknown:
        conn.close()
        raise StoreError(
            f"{path} was written by a newer segcli (its schema has {', '.join(unknown)}), "
            "which this one cannot read",
            hint="use the segcli that wrote it (or a newer one), or another --db",
        )


def _create_private_file(path: Path) -> None:
    """Create an empty database file readable by its owner only: it holds personal data."""
    if not path.parent.exists():
        raise StoreError(f"cannot create database {path}: directory {path.parent} does not exist")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError as error:
        raise StoreError(f"cannot create database {path}: {error.strerror}") from error
    os.close(fd)


def is_empty(store: Store, table: str) -> bool:
    """Whether one of the store's tables has no rows."""
    return bool(store.scalar(f"SELECT NOT EXISTS (SELECT 1 FROM main.{table})"))


def set_indexes_aside(store: Store, table: str) -> list[str]:
    """Drop a table's own indexes (not its key's) before a bulk load; returns the SQL that
    creates them again, as the schema defines them."""
    found = store.execute(
        "SELECT name, sql FROM main.sqlite_master WHERE type = 'index' AND tbl_name = ? "
        "AND sql IS NOT NULL ORDER BY name",
        (table,),
    ).fetchall()
    for name, _ in found:
        store.execute(f'DROP INDEX main."{name}"')
    return [sql for _, sql in found]


@contextmanager
def page_cache(store: Store, kib: int) -> Iterator[None]:
    """SQLite's page cache set to ``kib`` KiB for the block, then put back."""
    before = int(store.scalar("PRAGMA cache_size"))
    store.execute(f"PRAGMA cache_size = -{int(kib)}")
    try:
        yield
    finally:
        store.execute(f"PRAGMA cache_size = {before}")


def create_indexes(store: Store, statements: list[str]) -> None:
    """Build indexes with a small page cache and a second sorting thread: SQLite's sorter
    sorts in runs the size of the cache, and small runs merged by two threads were about
    twice as fast as one large run (items_product_id at 630,000 lines: 1.0 s to 0.45 s)."""
    with page_cache(store, 2000):
        store.execute(f"PRAGMA threads = {min(os.cpu_count() or 1, 4)}")
        try:
            for sql in statements:
                store.execute(sql)
        finally:
            store.execute("PRAGMA threads = 0")

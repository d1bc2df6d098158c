"""Two segcli processes on one database (README "The database").

Imports run at once end as if they had run one after the other; a writer that finds the
database locked waits up to the busy timeout, then says the database is busy; an export
during an import sees the database as it was before the import, never a mix, and does not
wait for it. The imports are real processes (``python -m segcli``) on generated files.
Where the timing matters, a connection of the test's own holds the write lock, as
another import would, so that the processes are sure to meet.
"""

from __future__ import annotations

import csv
import re
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from segcli.examples.generator import generate_store
from segcli.segments.evaluate import Evaluation
from segcli.store import db as store_db
from tests.conftest import Segcli, checked

# Enough that an import of the orders holds the write lock for half a second or more.
PEOPLE = 5_000
AS_OF = "2026-10-31"
IMPORT_COLUMNS = (
    "kind, file, rows_read, inserted, updated, unchanged, rejected, dialect, anonymous_orders"
)


@pytest.fixture(scope="module")
def store_files(tmp_path_factory) -> Path:
    """A generated store, with its orders also split into two files that share a fifth of
    the orders, whose totals differ between the two."""
    directory = tmp_path_factory.mktemp("store")
    generate_store(directory, people=PEOPLE, seed=23)
    with (directory / "orders.csv").open(encoding="utf-8", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    first, second = rows[: len(rows) * 3 // 5], rows[len(rows) * 2 // 5 :]
    shared = len(first) - len(rows) * 2 // 5
    total = header.index("total")
    for row in second[:shared]:
        row[total] = f"{float(row[total]) + 1.25:.2f}"
    for name, part in (("orders-a.csv", first), ("orders-b.csv", second)):
        with (directory / name).open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerows([header, *part])
    return directory


@pytest.fixture(scope="module")
def databases(store_files, tmp_path_factory) -> dict[str, Path]:
    """Starting points, each imported once: products and customers; and those with the
    first orders file."""
    directory = tmp_path_factory.mktemp("databases")
    steps = {
        "customers": ["products.csv", "customers.csv"],
        "first orders": ["products.csv", "customers.csv", "orders-a.csv"],
    }
    databases = {}
    for name, files in steps.items():
        segcli = Segcli(directory / name.replace(" ", "-"))
        segcli.dir.mkdir()
        for file in files:
            _import_in_process(segcli, store_files / file)
        databases[name] = segcli.db
    return databases


def _import_in_process(segcli: Segcli, path: Path) -> None:
    checked(segcli, "import", _kind(path), path)


def _kind(path: Path) -> str:
    return "orders" if path.name.startswith("orders") else path.stem


def _at(db: Path) -> Segcli:
    segcli = Segcli(db.parent)
    segcli.db = db
    return segcli


def _copy(db: Path, directory: Path) -> Segcli:
    """A Segcli on a copy of ``db`` (through SQLite's backup: no -wal file is missed)."""
    segcli = Segcli(directory)
    directory.mkdir(exist_ok=True)
    with closing(sqlite3.connect(db)) as source, closing(sqlite3.connect(segcli.db)) as target:
        source.backup(target)
    return segcli


def _stored(segcli: Segcli) -> dict[str, list]:
    """What a database holds, independent of person ids; and its import log in order."""
    assert segcli.value("PRAGMA integrity_check") == "ok"
    return {
        **segcli.dump(),
        "people": segcli.people(),
        "imports": segcli.rows(f"SELECT {IMPORT_COLUMNS} FROM imports ORDER BY import_id"),
    }


def _start(db: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "segcli", "--db", str(db), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen) -> tuple[int, str, str]:
    stdout, stderr = process.communicate(timeout=120)
    assert "Traceback" not in stderr, stderr
    return process.returncode, stdout, stderr


def _write_locked(db: Path) -> bool:
    """True when another connection holds the database's write lock right now."""
    probe = sqlite3.connect(db, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        if "locked" in str(error) or "busy" in str(error):
            return True
        raise
    else:
        probe.execute("ROLLBACK")
        return False
    finally:
        probe.close()


def _hold_write_lock(db: Path) -> sqlite3.Connection:
    """A connection holding the write lock, as another segcli import would."""
    holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def _release(holder: sqlite3.Connection) -> None:
    holder.execute("ROLLBACK")
    holder.close()


def _imports_logged(db: Path) -> int | None:
    """The number of committed imports, or None when the database cannot be read now."""
    try:
        with closing(sqlite3.connect(db, timeout=0)) as reader:
            return reader.execute("SELECT count(*) FROM imports").fetchone()[0]
    except sqlite3.OperationalError:
        return None


def _start_writing(db: Path, *args: str) -> subprocess.Popen:
    """Start an import and return once it holds the write lock in its transaction, with
    nothing committed yet.

    A lock seen by a probe alone is not enough: SQLite also locks briefly when a process
    opens the database (recovering its WAL index) and when the last connection closes
    (its checkpoint). So the import is started while the test holds the lock and returns
    once the import says it waits: it has opened the database and asks for the lock in
    its transaction. Released, the lock can be taken by the import alone, and while it
    holds it the committed imports are still as many as before."""
    logged = _imports_logged(db)
    holder = _hold_write_lock(db)
    try:
        process = _start(db, *args)
        said = process.stderr.readline()
        assert "waiting for it" in said, said + process.stderr.read()
    finally:
        _release(holder)
    deadline = time.monotonic() + 60
    while not (_write_locked(db) and _imports_logged(db) == logged):
        assert process.poll() is None, "the import ended before it was seen writing"
        assert _imports_logged(db) in (logged, None), "the import committed unseen"
        assert time.monotonic() < deadline, "the import never took the write lock"
        time.sleep(0.01)
    return process


# -- two imports at once ---------------------------------------------------------------


# Seconds a lock is held on once an import has said that it waits for it.
HELD = 1.5


@pytest.mark.slow
def test_two_imports_at_once_end_as_if_run_one_after_the_other(store_files, databases, tmp_path):
    """The import that comes second waits for the first (or reports a busy database and
    writes nothing); the database ends as the same imports run one by one leave it.

    Two files of orders into an empty orders table: the first to write loads it as an
    empty table, the other must see it filled and merge into it."""
    segcli = _copy(databases["customers"], tmp_path / "at-once")
    paths = [store_files / "orders-a.csv", store_files / "orders-b.csv"]
    # Both start while the database is locked, so that both are waiting when it is let
    # go: whichever takes it first, the other waits for its whole import.
    holder = _hold_write_lock(segcli.db)
    try:
        processes = [_start(segcli.db, "import", _kind(path), path) for path in paths]
        for process in processes:
            said = process.stderr.readline()
            assert "waiting for it" in said, said
        ended = [
            p.name
            for p, process in zip(paths, processes, strict=True)
            if process.poll() is not None
        ]
        assert ended == [], "ended while the database was locked"
    finally:
        _release(holder)

    finished = []
    for path, process in zip(paths, processes, strict=True):
        exit_code, stdout, stderr = _finish(process)
        assert stdout == ""
        if exit_code == 1:
            assert f"database is busy: {segcli.db}" in stderr
        else:
            assert exit_code == 0, stderr
            finished.append(path)
    assert finished, "neither import finished"

    after = _stored(segcli)
    logged = [row[1] for row in after["imports"][-len(finished) :]]
    order = sorted(finished, key=lambda path: logged.index(str(path.resolve())))
    serial = _copy(databases["customers"], tmp_path / "one-by-one")
    for path in order:
        _import_in_process(serial, path)
    assert after == _stored(serial)


# -- a writer that finds the database locked -------------------------------------------


@pytest.fixture(scope="module")
def waited_import(store_files, databases, tmp_path_factory):
    """An import started while another connection holds the write lock, held for HELD
    seconds more (well within the busy timeout) once the import has written its first
    line (however long it took to start): its result, run time and database."""
    segcli = _copy(databases["customers"], tmp_path_factory.mktemp("waited") / "db")
    holder = _hold_write_lock(segcli.db)
    try:
        started = time.monotonic()
        process = _start(segcli.db, "import", "orders", store_files / "orders-a.csv")
        first_line = process.stderr.readline()
        time.sleep(HELD)
        still_waiting = process.poll() is None
    finally:
        _release(holder)
    exit_code, stdout, stderr = _finish(process)
    return {
        "still waiting": still_waiting,
        "exit code": exit_code,
        "stdout": stdout,
        "stderr": first_line + stderr,
        "seconds": time.monotonic() - started,
        "segcli": segcli,
    }


@pytest.mark.slow
def test_an_import_waits_for_a_lock_released_within_the_busy_timeout(waited_import, databases):
    assert waited_import["still waiting"], "the import did not wait for the lock"
    assert waited_import["exit code"] == 0, waited_import["stderr"]
    assert waited_import["stdout"] == ""
    assert waited_import["seconds"] >= HELD
    # The same import, alone: orders-a.csv into the database with the customers.
    assert _stored(waited_import["segcli"]) == _stored(_at(databases["first orders"]))


@pytest.mark.slow
def test_an_import_that_waits_for_the_lock_says_so(waited_import):
    assert waited_import["exit code"] == 0, waited_import["stderr"]
    assert re.search(r"\bwait", waited_import["stderr"], re.IGNORECASE), waited_import["stderr"]


def test_an_import_gives_up_after_the_busy_timeout_and_writes_nothing(
    store_files, databases, tmp_path, monkeypatch
):
    monkeypatch.setattr(store_db, "BUSY_TIMEOUT_MS", 400)
    segcli = _copy(databases["customers"], tmp_path)
    before = _stored(segcli)
    holder = _hold_write_lock(segcli.db)
    try:
        started = time.monotonic()
        result = segcli("import", "orders", store_files / "orders-a.csv")
        seconds = time.monotonic() - started
    finally:
        _release(holder)
    assert result.exit_code == 1, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert (
        f"Error: database is busy: {segcli.db} is being written by another process\n"
        in result.stderr
    )
    assert seconds >= 0.4  # it waited the busy timeout first
    assert _stored(segcli) == before


# -- an export while an import runs ----------------------------------------------------


def _export_in_process(segcli: Segcli, out: Path) -> str:
    checked(segcli, "segment", "export", "everyone", "--as-of", AS_OF, "-o", out)
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def exports(store_files, databases, tmp_path_factory) -> dict[str, str]:
    """Everyone exported before and after orders-b.csv is imported over the first orders
    (each from a copy: the starting database keeps no stored facts)."""
    directory = tmp_path_factory.mktemp("exports")
    before = _copy(databases["first orders"], directory / "before")
    after = _copy(databases["first orders"], directory / "after")
    _import_in_process(after, store_files / "orders-b.csv")
    return {
        "before": _export_in_process(before, directory / "before.csv"),
        "after": _export_in_process(after, directory / "after.csv"),
    }


@pytest.mark.slow
def test_an_export_during_an_import_sees_the_database_as_it_was(
    store_files, databases, exports, tmp_path, monkeypatch
):
    """The export reads one state of the database although the import commits while it
    reads: here right after it counted everyone's orders and before it reads the people.
    Nor does it wait for the import to store its facts: it builds them while the import
    still runs."""
    segcli = _copy(databases["first orders"], tmp_path / "db")
    importing = _start_writing(segcli.db, "import", "orders", store_files / "orders-b.csv")
    importing_meanwhile = []
    counted_orders = Evaluation._counted_orders

    def counted_then_let_the_import_commit(self):
        figures = counted_orders(self)
        importing_meanwhile.append(importing.poll() is None)
        importing.wait(timeout=120)
        return figures

    monkeypatch.setattr(Evaluation, "_counted_orders", counted_then_let_the_import_commit)
    monkeypatch.setenv("SEGCLI_ENGINE", "sqlite")
    exported = _export_in_process(segcli, tmp_path / "everyone.csv")
    exit_code, stdout, stderr = _finish(importing)
    assert (exit_code, stdout) == (0, ""), stderr
    assert importing_meanwhile == [True]
    assert exports["before"] != exports["after"]  # else there would be nothing to mix
    assert exported == exports["before"]

"""A database or export that cannot be written (SPEC 1 exit codes, SPEC 4, README "The
database").

A path in a missing or read-only directory, a read-only database and a disk that fills up
part-way end in a clear message and exit 1, with nothing created, nothing partial left
and the database as it was before. A full disk is a file size limit (RLIMIT_FSIZE) on the
segcli process: Python ignores SIGXFSZ, so a write past the limit fails with EFBIG.

Root ignores permission bits. When the tests run as root, segcli runs as user nobody or,
where nobody cannot run this Python, as root without the capabilities that bypass the
bits (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER).
"""

from __future__ import annotations

import ctypes
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from segcli.examples.generator import generate_store
from tests.conftest import Segcli, checked

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="needs Linux rlimits and uids")

AS_OF = "2026-10-31"
EXPORT = ("segment", "export", "everyone", "--as-of", AS_OF)
TABLES = ("customers", "orders", "items", "products", "reviews", "subscribers", "carts")
NOBODY = 65534
PR_CAPBSET_DROP = 24
# CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER: what lets root ignore permission bits.
FILE_CAPABILITIES = (1, 2, 3)


# -- running segcli -------------------------------------------------------------------


@dataclass
class Runner:
    """Runs segcli in a subprocess as a user whose permission bits apply."""

    uid: int
    drop: Callable[[], None] | None

    def __call__(self, cwd: Path, *args, limit: int | None = None) -> subprocess.CompletedProcess:
        def before_exec() -> None:
            if limit is not None:
                resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
            if self.drop is not None:
                self.drop()

        return subprocess.run(
            [sys.executable, "-m", "segcli", *map(str, args)],
            cwd=cwd,
            env={**os.environ, "HOME": str(cwd)},
            preexec_fn=before_exec,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def directory(self, path: Path, mode: int = 0o755) -> Path:
        """A directory the runner's user owns (``mode`` set last)."""
        path.mkdir()
        os.chown(path, self.uid, self.uid)
        path.chmod(mode)
        return path

    def file(self, path: Path, source: Path) -> Path:
        """A copy of ``source`` the runner's user owns; of a database, through SQLite's
        backup (a copy of the file alone would miss what its -wal file holds)."""
        if source.suffix == ".db":
            _copy(source, path)
        else:
            shutil.copyfile(source, path)
        os.chown(path, self.uid, self.uid)
        return path


def _as_nobody() -> None:
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def _without_file_capabilities() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in FILE_CAPABILITIES:
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


# Imports segcli, then writes into a read-only directory: exit 0 when that is refused.
PROBE = """
import sys
import segcli.cli
try:
    open(sys.argv[1], "w")
except PermissionError:
    sys.exit(0)
sys.exit(1)
"""


@pytest.fixture(scope="module")
def unprivileged() -> Iterator[tuple[Runner, Path]]:
    """A runner whose permission bits apply, and a directory its user owns."""
    if os.geteuid() != 0:
        with tempfile.TemporaryDirectory(prefix="segcli-disk-") as directory:
            yield Runner(os.geteuid(), None), Path(directory)
        return
    tried = []
    for uid, drop in ((NOBODY, _as_nobody), (0, _without_file_capabilities)):
        # Outside pytest's own temporary directory, which only root may enter.
        directory = Path(tempfile.mkdtemp(prefix="segcli-disk-"))
        try:
            runner = Runner(uid, drop)
            os.chown(directory, uid, uid)
            locked = runner.directory(directory / "read-only", 0o555)
            probe = subprocess.run(
                [sys.executable, "-c", PROBE, str(locked / "file")],
                preexec_fn=drop,
                capture_output=True,
                text=True,
                timeout=60,
            )
            if probe.returncode == 0:
                locked.rmdir()
                yield runner, directory
                return
            tried.append(f"uid {uid}: {probe.stderr.strip().splitlines()[-1:]}")
        except OSError as error:
            tried.append(f"uid {uid}: {error}")
        finally:
            shutil.rmtree(directory, ignore_errors=True)
    pytest.skip(f"running as root and cannot run segcli without root's privileges: {tried}")


@pytest.fixture
def workspace(unprivileged) -> Iterator[tuple[Runner, Path]]:
    """A fresh directory for one test, owned by the runner's user."""
    runner, root = unprivileged
    directory = Path(tempfile.mkdtemp(dir=root))
    os.chown(directory, runner.uid, runner.uid)
    yield runner, directory
    for path in [directory, *directory.rglob("*")]:
        if path.is_dir():
            path.chmod(0o755)
    shutil.rmtree(directory)


@pytest.fixture(scope="module")
def store_files(tmp_path_factory) -> Path:
    """A generated store; its orders also in two files that share a third of them."""
    directory = tmp_path_factory.mktemp("store")
    generate_store(directory, people=2_000, seed=5)
    header, *rows = (directory / "orders.csv").read_text(encoding="utf-8").splitlines()
    (directory / "orders-1.csv").write_text(
        "\n".join([header, *rows[: len(rows) * 2 // 3]]) + "\n", encoding="utf-8"
    )
    (directory / "orders-2.csv").write_text(
        "\n".join([header, *rows[len(rows) // 3 :]]) + "\n", encoding="utf-8"
    )
    return directory


def _at(db: Path) -> Segcli:
    segcli = Segcli(db.parent)
    segcli.db = db
    return segcli


def _import(segcli: Segcli, kind: str, path: Path) -> None:
    checked(segcli, "import", kind, path)


def _copy(db: Path, target: Path) -> Path:
    """A copy of ``db`` (through SQLite's backup: no -wal file is missed)."""
    with closing(sqlite3.connect(db)) as source, closing(sqlite3.connect(target)) as copy:
        source.backup(copy)
    return target


def _stored(db: Path) -> dict[str, list]:
    """Every record and person a database holds, and its import log."""
    segcli = _at(db)
    assert segcli.value("PRAGMA integrity_check") == "ok"
    return {
        **segcli.dump(),
        "people": segcli.people(),
        "imports": segcli.rows("SELECT kind, file, rows_read, inserted FROM imports"),
    }


def _files(directory: Path) -> list[str]:
    return sorted(str(path.relative_to(directory)) for path in directory.rglob("*"))


@pytest.fixture(scope="module")
def databases(store_files, tmp_path_factory) -> dict[str, Path]:
    """Databases to copy from, imported once: customers; with the first orders file; with
    all the orders (and everyone's facts stored, as an export leaves them)."""
    directory = tmp_path_factory.mktemp("databases")
    steps = {
        "customers": [("customers", "customers.csv")],
        "first orders": [("customers", "customers.csv"), ("orders", "orders-1.csv")],
        "orders": [("customers", "customers.csv"), ("orders", "orders.csv")],
    }
    databases = {}
    for name, imports in steps.items():
        segcli = Segcli(directory / name.replace(" ", "-"))
        segcli.dir.mkdir()
        for kind, file in imports:
            _import(segcli, kind, store_files / file)
        databases[name] = segcli.db
    checked(_at(databases["orders"]), *EXPORT, "-o", directory / "members.csv")
    return databases


def _failed_plainly(result: subprocess.CompletedProcess) -> None:
    """Exit 1 with a message, nothing on stdout and no traceback."""
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("Error: "), result.stderr
    assert "Traceback" not in result.stderr


def _clear(message: str, path: Path) -> bool:
    """segcli's own words about ``path``, not the catch-all for the unexpected."""
    first_line = message.splitlines()[0]
    return str(path) in first_line and "unexpected error" not in first_line


# -- a database that cannot be created or written --------------------------------------


@pytest.mark.parametrize(
    "command",
    [("import", "customers"), ("info",), (*EXPORT, "-o", "members.csv")],
    ids=["import", "info", "export"],
)
def test_a_database_in_a_missing_directory_is_not_created(tmp_path, store_files, command):
    segcli = _at(tmp_path / "missing" / "store.db")
    if command[0] == "import":
        command = (*command, store_files / "customers.csv")
    result = segcli(*command)
    assert result.exit_code == 1, result.stderr
    assert result.stdout == ""
    assert _clear(result.stderr, segcli.db), result.stderr
    if command[0] == "import":
        assert f"directory {segcli.db.parent} does not exist" in result.stderr
    else:
        assert f"no database at {segcli.db}" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_database_in_a_read_only_directory_is_not_created(workspace, store_files):
    runner, directory = workspace
    runner.file(directory / "customers.csv", store_files / "customers.csv")
    db = runner.directory(directory / "read-only", 0o555) / "store.db"
    result = runner(directory, "--db", db, "import", "customers", "customers.csv")
    _failed_plainly(result)
    assert _clear(result.stderr, db), result.stderr
    assert "Permission denied" in result.stderr
    assert list(db.parent.iterdir()) == []


@pytest.fixture(scope="module", params=["file", "directory"])
def read_only_import(request, unprivileged, store_files, databases):
    """An import of orders into the runner's own database of customers, made read-only:
    the file itself, or its directory."""
    runner, root = unprivileged
    directory = runner.directory(root / f"read-only-{request.param}")
    db = runner.file(runner.directory(directory / "db") / "store.db", databases["customers"])
    runner.file(directory / "orders.csv", store_files / "orders.csv")
    if request.param == "file":
        db.chmod(0o400)
    else:
        db.parent.chmod(0o555)
    content, files = db.read_bytes(), _files(db.parent)
    result = runner(directory, "--db", db, "import", "orders", "orders.csv")
    unchanged = db.read_bytes() == content
    created = sorted(set(_files(db.parent)) - set(files))
    db.parent.chmod(0o755)
    return {
        "what": request.param,
        "db": db,
        "result": result,
        "unchanged": unchanged,
        "created": created,
    }


def test_an_import_into_a_read_only_database_changes_nothing(read_only_import, databases):
    _failed_plainly(read_only_import["result"])
    assert read_only_import["unchanged"]
    if read_only_import["what"] == "directory":
        assert read_only_import["created"] == []
    assert _stored(read_only_import["db"]) == _stored(databases["customers"])


def test_an_import_into_a_read_only_database_says_so(read_only_import):
    result = read_only_import["result"]
    assert _clear(result.stderr, read_only_import["db"]), result.stderr
    assert "readonly" in result.stderr or "read-only" in result.stderr


def test_a_read_only_database_file_can_be_exported(workspace, databases):
    """README: a command that finds the database read-only builds its facts for itself."""
    runner, directory = workspace
    db = runner.file(runner.directory(directory / "db") / "store.db", databases["first orders"])
    db.chmod(0o400)
    writable = _copy(databases["first orders"], directory / "writable.db")
    expected = checked(_at(writable), *EXPORT, "-o", directory / "expected.csv")
    assert expected.stderr.startswith("1,")  # a thousand members or more
    out = runner.directory(directory / "out")
    result = runner(directory, "--db", db, *EXPORT, "-o", out / "members.csv")
    assert result.returncode == 0, result.stderr
    assert (out / "members.csv").read_bytes() == (directory / "expected.csv").read_bytes()


# -- an export that cannot be written --------------------------------------------------


@pytest.mark.parametrize(
    ("output", "reason"),
    [("directory", "is a directory"), ("missing directory", "does not exist")],
)
def test_an_export_to_a_path_that_cannot_be_a_file_leaves_nothing(
    tmp_path, databases, output, reason
):
    segcli = _at(_copy(databases["orders"], tmp_path / "store.db"))
    out = tmp_path / "out"
    out.mkdir()
    path = out / "members.csv"
    if output == "directory":
        path.mkdir()
    else:
        path = out / "missing" / "members.csv"
    result = segcli(*EXPORT, "-o", path)
    assert result.exit_code == 1, result.stderr
    assert result.stdout == ""
    assert _clear(result.stderr, path), result.stderr
    assert reason in result.stderr
    assert _files(out) == (["members.csv"] if output == "directory" else [])


def test_an_export_into_a_read_only_directory_leaves_nothing(workspace, databases):
    runner, directory = workspace
    db = runner.file(runner.directory(directory / "db") / "store.db", databases["orders"])
    path = runner.directory(directory / "read-only", 0o555) / "members.csv"
    result = runner(directory, "--db", db, *EXPORT, "-o", path)
    _failed_plainly(result)
    assert _clear(result.stderr, path), result.stderr
    assert "Permission denied" in result.stderr
    assert list(path.parent.iterdir()) == []


# -- a disk that fills up --------------------------------------------------------------

# Each limit stops the command at a different stage (for the files of ``store_files``):
# 16 KiB while opening the database (its -shm file needs 32 KiB); 64 KiB while creating
# a new database's tables or while building everyone's facts; 256 KiB while merging a
# second file's rows; at the commit of an import, 768 KiB for the second orders file
# (whose rows are linked to their people as they are written: it writes less than 1 MiB)
# and 1 MiB for a new database's customers; 64 KiB while writing an export.
KiB = 1024


@dataclass
class Attempt:
    limit: int
    db: Path
    result: subprocess.CompletedProcess


def _under_limits(directory: Path, base: Path | None, limits: list[int], *args) -> list[Attempt]:
    """Run segcli under each file size limit, each time on a fresh copy of ``base`` (or on
    no database)."""
    attempts = []
    runner = Runner(os.getuid(), None)
    for limit in limits:
        db = directory / f"limit-{limit}" / "store.db"
        db.parent.mkdir()
        if base is not None:
            _copy(base, db)
        attempts.append(Attempt(limit, db, runner(db.parent, "--db", db, *args, limit=limit)))
    return attempts


IMPORTS = {
    "into a new database": (None, "customers.csv", [16 * KiB, 64 * KiB, 1024 * KiB]),
    "a second orders file": ("first orders", "orders-2.csv", [16 * KiB, 256 * KiB, 768 * KiB]),
}


@pytest.fixture(scope="module", params=IMPORTS)
def full_disk_import(request, store_files, databases, tmp_path_factory):
    """An import under each limit; the database before it, and after it without limit."""
    start, name, limits = IMPORTS[request.param]
    kind = name.split(".")[0].split("-")[0]
    path = store_files / name
    directory = tmp_path_factory.mktemp("full-disk")
    base = databases.get(start)
    reference = Segcli(directory)
    if base is not None:
        _copy(base, reference.db)
    _import(reference, kind, path)
    return {
        "before": None if base is None else _stored(base),
        "after": _stored(reference.db),
        "attempts": _under_limits(directory, base, limits, "import", kind, path),
        "import": (kind, path),
    }


def _no_records(db: Path) -> bool:
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        return all(
            conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0
            for table in {*TABLES, "people", "imports"} & tables
        )


@pytest.mark.slow
def test_an_import_that_fills_the_disk_changes_nothing(full_disk_import):
    """Whatever stage the import reached, the database is as it was and opens; the one
    that went furthest takes the same import again once there is room."""
    failed = full_disk_import["attempts"]
    for attempt in failed:
        _failed_plainly(attempt.result)
        if full_disk_import["before"] is None:
            assert _no_records(attempt.db), attempt.limit
        else:
            assert _stored(attempt.db) == full_disk_import["before"], attempt.limit
        opened = _at(attempt.db)("info")
        assert opened.exit_code == 0, opened.stderr
        assert opened.stdout.startswith("segcli database\n")
    _import(_at(failed[-1].db), *full_disk_import["import"])
    assert _stored(failed[-1].db) == full_disk_import["after"]


@pytest.mark.slow
def test_an_import_that_fills_the_disk_says_so(full_disk_import):
    unclear = [
        (attempt.limit, attempt.result.stderr)
        for attempt in full_disk_import["attempts"]
        if not _clear(attempt.result.stderr, attempt.db)
    ]
    assert unclear == []


@pytest.fixture(scope="module")
def full_disk_export(databases, tmp_path_factory):
    """An export under each limit, from a database with everyone's facts stored."""
    directory = tmp_path_factory.mktemp("full-disk-export")
    return {
        "before": _stored(databases["orders"]),
        "attempts": _under_limits(
            directory, databases["orders"], [16 * KiB, 64 * KiB], *EXPORT, "-o", "members.csv"
        ),
    }


def test_an_export_that_fills_the_disk_leaves_no_file(full_disk_export):
    failed = full_disk_export["attempts"]
    assert "File too large" in failed[-1].result.stderr
    for attempt in failed:
        _failed_plainly(attempt.result)
        assert _clear(attempt.result.stderr, attempt.db) or _clear(
            attempt.result.stderr, Path("members.csv")
        ), attempt.result.stderr
        assert [name for name in _files(attempt.db.parent) if "members" in name] == []
        assert _stored(attempt.db) == full_disk_export["before"]


def test_an_export_that_cannot_build_its_facts_says_so(databases, tmp_path):
    """The SQLite engine's facts of a database just imported are not stored: they are
    built, here in a temporary file that the limit stops (the database can be opened
    under 64 KiB)."""
    [attempt] = _under_limits(
        tmp_path,
        databases["first orders"],
        [64 * KiB],
        "--engine",
        "sqlite",
        *EXPORT,
        "-o",
        "members.csv",
    )
    _failed_plainly(attempt.result)
    assert [name for name in _files(tmp_path) if "members" in name] == []
    assert _clear(attempt.result.stderr, attempt.db), attempt.result.stderr


def test_an_export_that_cannot_write_the_analytic_copy_says_so(databases, tmp_path):
    """DuckDB's copy of the store cannot be written under the limit: said of the copy
    beside the database, with the way around it; nothing else is left behind."""
    attempts = _under_limits(
        tmp_path,
        databases["orders"],
        [32 * KiB, 64 * KiB],
        "--engine",
        "duckdb",
        *EXPORT,
        "-o",
        "members.csv",
    )
    for attempt in attempts:
        _failed_plainly(attempt.result)
        assert [name for name in _files(attempt.db.parent) if "members" in name] == []
        assert _clear(attempt.result.stderr, attempt.db), attempt.result.stderr
        assert "analytic copy" in attempt.result.stderr
        assert "File too large" in attempt.result.stderr
        assert "--engine sqlite" in attempt.result.stderr
        copy = attempt.db.parent / "store.db.analytic"
        assert not [path.name for path in copy.glob(".*.tmp")]

"""segcli's benchmark: a generated store of N people, imported and evaluated through the CLI.

    python benchmarks/run.py                    # 1,000,000 people (about 10M rows)
    python benchmarks/run.py --people 100000    # a quick run
    python benchmarks/run.py --json figures.json

Every phase runs segcli as a child process, as a merchant would, and is timed from the
outside; peak memory is that child's maximum resident set. The sqlite3 shell importing the
same CSV files into plain tables in one transaction is timed as the reference, so that the
import figure is a ratio that means the same on any machine. The shell copying the imported
store's rows into an empty copy of its schema (its keys and indexes, in WAL mode) is timed
too: what SQLite alone spends writing that store, the floor of any importer. DuckDB alone,
reading the same CSV files and counting the members of every segment in hand-written SQL
(benchmarks/peer.py), is the peer of segcli's evaluation: `segment calculate` of all
segments is printed as a ratio to it, and the peer's counts are checked against segcli's.
Figures are printed, never asserted: machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from peer import differences

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_SEGMENTS = ROOT / "segcli" / "examples" / "segments"
PEER = Path(__file__).resolve().parent / "peer.py"
KINDS = ("products", "customers", "orders", "items", "reviews", "subscribers", "carts")
AS_OF = "2026-11-01"


@dataclass
class Phase:
    name: str
    rows: int | None
    seconds: float
    peak_mb: float
    ratio: float | None = None

    @property
    def rows_per_second(self) -> float | None:
        return self.rows / self.seconds if self.rows and self.seconds else None


def run(command: list[str], *, stdout=subprocess.DEVNULL, stdin=None) -> tuple[float, float]:
    """Run a child to its end; its wall time in seconds and its peak memory in MB."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=stdout, stderr=subprocess.PIPE, stdin=stdin)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    errors = child.stderr.read().decode(errors="replace") if child.stderr else ""
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode not in (0, 3):
        raise SystemExit(f"{' '.join(command)} failed ({child.returncode}):\n{errors}")
    return seconds, usage.ru_maxrss / 1024  # Linux reports kilobytes


def segcli(db: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "segcli", "--db", str(db), *args]


def sqlite3_shell() -> str | None:
    """The sqlite3 shell, installed from the system's packages when it is missing."""
    found = shutil.which("sqlite3")
    if found is None and shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "sqlite3"],
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        found = shutil.which("sqlite3")
    return found


def reference_import(shell: str, data: Path, work: Path) -> tuple[float, float]:
    """The sqlite3 shell importing every file into pre-created tables in one transaction."""
    db = work / "reference.db"
    db.unlink(missing_ok=True)
    script = ["PRAGMA journal_mode=OFF;", "BEGIN;"]
    for kind in KINDS:
        with (data / f"{kind}.csv").open(encoding="utf-8") as handle:
            columns = handle.readline().strip().split(",")
        script.append(f"CREATE TABLE {kind} ({', '.join(f'{c} TEXT' for c in columns)});")
        script.append(f".import --csv --skip 1 {data / f'{kind}.csv'} {kind}")
    script.append("COMMIT;")
    path = work / "reference.sql"
    path.write_text("\n".join(script) + "\n", encoding="utf-8")
    with path.open("rb") as stdin:
        return run([shell, str(db)], stdin=stdin)


def store_floor(shell: str, db: Path, work: Path) -> tuple[float, float]:
    """The sqlite3 shell copying the imported store's rows, as they are, into an empty copy
    of its schema (keys in place, the other indexes built after) in one transaction, in
    the store's WAL mode: what SQLite alone spends writing this store, before any CSV is
    read or parsed and any person worked out. No importer that writes it can be faster."""
    floor = work / "floor.db"
    for stale in (floor, work / "floor.db-wal", work / "floor.db-shm"):
        stale.unlink(missing_ok=True)
    with contextlib.closing(sqlite3.connect(db)) as conn:
        tables = [
            (name, sql)
            for name, sql in conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite%' ORDER BY rowid"
            )
        ]
        indexes = [
            sql
            for (sql,) in conn.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            )
        ]
    attach = str(db).replace("'", "''")
    script = ["PRAGMA journal_mode=WAL;", f"ATTACH '{attach}' AS store;", "BEGIN;"]
    script += [sql + ";" for _, sql in tables]
    script += [f"INSERT INTO main.{name} SELECT * FROM store.{name};" for name, _ in tables]
    script += [sql + ";" for sql in indexes]
    script.append("COMMIT;")
    path = work / "floor.sql"
    path.write_text("\n".join(script) + "\n", encoding="utf-8")
    with path.open("rb") as stdin:
        return run([shell, "-bail", str(floor)], stdin=stdin)


def forget_facts(db: Path) -> None:
    """Make the next evaluation build everyone's facts instead of using stored ones."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("DELETE FROM facts_cache_key")
        conn.commit()


def store_rows(db: Path) -> int:
    """Rows in the store's tables (people and products' collections included)."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        names = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'"
            )
        ]
        return sum(conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0] for name in names)


def data_rows(path: Path) -> int:
    with path.open("rb") as handle:
        return max(sum(1 for _ in handle) - 1, 0)


@dataclass
class Outcome:
    phases: list[Phase]
    # The peer's disagreements with segcli, one line each (none: every segment agrees).
    peer_differences: list[str]
    peer_segments: int


def forget_kept(db: Path) -> None:
    """Make the next evaluation build everyone's facts and sets of people anew, on both
    engines (the analytic copy itself stays)."""
    forget_facts(db)
    for kept in ("facts-*.parquet", "set-*.parquet"):
        for path in copy_of(db).glob(kept):
            path.unlink()


def copy_of(db: Path) -> Path:
    return db.with_name(db.name + ".analytic")


def more_orders(data: Path, work: Path, orders: int) -> Path:
    """One more orders file: ``orders`` new orders of the generated customers."""
    path = work / "more-orders.csv"
    # New order ids on every run, so that a run on a reused store imports new orders.
    stamp = time.strftime("%Y%m%d%H%M%S")
    with (data / "orders.csv").open(encoding="utf-8") as source:
        header = source.readline()
        lines = [line for line in (source.readline() for _ in range(orders)) if line.strip()]
    with path.open("w", encoding="utf-8") as out:
        out.write(header)
        for number, line in enumerate(lines):
            out.write(f"MORE-{stamp}-{number}," + line.split(",", 1)[1])
    return path


def benchmark(people: int, work: Path, seed: int, *, reuse: bool = False) -> Outcome:
    data = work / "data"
    db = work / "store.db"
    phases = [] if reuse else import_phases(people, work, seed)
    rows = {kind: data_rows(data / f"{kind}.csv") for kind in KINDS}
    return evaluation_phases(phases, data, db, work, rows)


def import_phases(people: int, work: Path, seed: int) -> list[Phase]:
    phases: list[Phase] = []
    data = work / "data"
    db = work / "store.db"
    for leftover in work.glob("store.db*"):
        if leftover.is_dir():
            shutil.rmtree(leftover)
        else:
            leftover.unlink()

    seconds, peak = run(
        [
            sys.executable,
            "-m",
            "segcli.examples.generator",
            str(data),
            "--people",
            str(people),
            "--seed",
            str(seed),
        ]
    )
    rows = {kind: data_rows(data / f"{kind}.csv") for kind in KINDS}
    phases.append(Phase("generate the CSV files (not segcli)", sum(rows.values()), seconds, peak))

    shell = sqlite3_shell()
    reference = None
    if shell is not None:
        reference, peak = reference_import(shell, data, work)
        phases.append(
            Phase("reference: sqlite3 shell .import", sum(rows.values()), reference, peak, 1.0)
        )

    total, total_peak = 0.0, 0.0
    for kind in KINDS:
        seconds, peak = run(segcli(db, "import", kind, str(data / f"{kind}.csv")))
        phases.append(Phase(f"import {kind}", rows[kind], seconds, peak))
        total += seconds
        total_peak = max(total_peak, peak)
    phases.append(
        Phase(
            "import: all kinds",
            sum(rows.values()),
            total,
            total_peak,
            total / reference if reference else None,
        )
    )
    if shell is not None:
        seconds, peak = store_floor(shell, db, work)
        rows_stored = store_rows(db)
        phases.append(
            Phase(
                "floor: sqlite3 shell copying the store",
                rows_stored,
                seconds,
                peak,
                seconds / reference if reference else None,
            )
        )
    for kind in ("orders", "items"):
        first = next(p for p in phases if p.name == f"import {kind}")
        seconds, peak = run(segcli(db, "import", kind, str(data / f"{kind}.csv")))
        phases.append(
            Phase(
                f"re-import {kind} (unchanged)", rows[kind], seconds, peak, seconds / first.seconds
            )
        )

    return phases


def evaluation_phases(
    phases: list[Phase], data: Path, db: Path, work: Path, rows: dict[str, int]
) -> Outcome:
    # The peer reads the CSV files itself, so its time starts where the import's does.
    answer = work / "peer.json"
    with answer.open("wb") as handle:
        peer_seconds, peak = run(
            [sys.executable, str(PEER), str(data), "--as-of", AS_OF], stdout=handle
        )
    peer_segments = json.loads(answer.read_text(encoding="utf-8"))["segments"]
    phases.append(
        Phase(
            f"peer: DuckDB, CSV to {len(peer_segments)} segments",
            sum(rows.values()),
            peer_seconds,
            peak,
            1.0,
        )
    )

    segments = ("--segments", str(EXAMPLE_SEGMENTS))
    everyone = (*segments, "segment", "calculate", "everyone", "--as-of", AS_OF)
    copied = sum(rows.values())

    # DuckDB evaluates over the analytic copy: built from nothing by the first command,
    # then current until an import. "Nothing kept": the facts of the as-of date and the
    # sets of people are built by the command; "kept": an earlier command kept them.
    shutil.rmtree(copy_of(db), ignore_errors=True)
    forget_kept(db)
    scratch, scratch_peak = run(segcli(db, *everyone))
    forget_kept(db)
    one, one_peak = run(segcli(db, *everyone))
    phases.append(
        Phase("build the analytic copy from scratch", copied, scratch - one, scratch_peak)
    )
    phases.append(Phase("calculate one segment, copy current, nothing kept", 1, one, one_peak))

    out = work / "calculate.json"
    forget_kept(db)
    with out.open("wb") as handle:
        every, peak = run(
            segcli(db, *segments, "segment", "calculate", "--as-of", AS_OF, "--format", "json"),
            stdout=handle,
        )
    # Spend as exact decimals, to be compared with the peer's to the last digit.
    figures = json.loads(out.read_text(encoding="utf-8"), parse_float=Decimal)
    count = len(figures)
    phases.append(
        Phase(
            f"calculate all {count} segments, nothing kept",
            count,
            every,
            peak,
            every / peer_seconds,
        )
    )
    kept, peak = run(segcli(db, *segments, "segment", "calculate", "--as-of", AS_OF))
    phases.append(
        Phase(f"calculate all {count} segments, kept", count, kept, peak, kept / peer_seconds)
    )
    if count > 1:
        each = (every - one) / (count - 1)
        phases.append(Phase("calculate: each further segment", 1, each, 0.0))
    forget_kept(db)
    lite, peak = run(
        segcli(db, "--engine", "sqlite", *segments, "segment", "calculate", "--as-of", AS_OF)
    )
    phases.append(
        Phase(
            f"calculate all {count} segments, --engine sqlite",
            count,
            lite,
            peak,
            lite / peer_seconds,
        )
    )

    # The export of the segment closest to 500,000 members (of a million people).
    target = max(f["count"] for f in figures) // 2
    half = min(figures, key=lambda f: (abs(f["count"] - target), f["segment"]))
    exported = work / "export.csv"
    for state in ("kept", "nothing kept"):
        if state == "nothing kept":
            forget_kept(db)
        else:
            run(segcli(db, *segments, "segment", "calculate", half["segment"], "--as-of", AS_OF))
        with exported.open("wb") as handle:
            seconds, peak = run(
                segcli(db, *segments, "segment", "export", half["segment"], "--as-of", AS_OF),
                stdout=handle,
            )
        phases.append(
            Phase(f"export {half['segment']}, {state}", data_rows(exported), seconds, peak)
        )

    with (data / "customers.csv").open(encoding="utf-8") as handle:
        handle.readline()
        key = handle.readline().split(",", 1)[0] or "1"
    explain = ("--explain", "boots-sale-not-owned")
    for state in ("kept", "nothing kept"):
        if state == "nothing kept":
            forget_kept(db)
        else:
            run(segcli(db, *everyone))
        seconds, peak = run(
            segcli(db, *segments, "customer", "show", key, *explain, "--as-of", AS_OF)
        )
        phases.append(Phase(f"customer show --explain, {state}", 1, seconds, peak))

    # Membership over time: every segment's snapshot as of the benchmark's day (every
    # member recorded), then of the day after (only who entered and left), each with
    # nothing kept, as "calculate all, nothing kept" is; then a year of weekly points of
    # one segment, computed (no snapshot of those dates).
    after = (date.fromisoformat(AS_OF) + timedelta(days=1)).isoformat()
    # A reused store may hold snapshots of an earlier run: the first one is timed anew.
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:
        for table in ("snapshot_changes", "snapshots", "snapshot_people"):
            conn.execute(f"DELETE FROM {table}")
    (copy_of(db) / "snapshot-members.parquet").unlink(missing_ok=True)
    for day, which in ((AS_OF, "first"), (after, "the day after")):
        forget_kept(db)
        seconds, peak = run(segcli(db, *segments, "segment", "snapshot", "--as-of", day))
        phases.append(
            Phase(f"snapshot all {count} segments, {which}", count, seconds, peak, seconds / every)
        )
    with sqlite3.connect(db) as conn:
        changes = conn.execute("SELECT count(*) FROM snapshot_changes").fetchone()[0]
    phases.append(Phase("  snapshot changes recorded (rows; not a time)", changes, 0.0, 0.0))
    start = (date.fromisoformat(AS_OF) - timedelta(weeks=51)).isoformat()
    seconds, peak = run(
        segcli(
            db,
            *segments,
            "segment",
            "history",
            "repeat-customers",
            "--from",
            start,
            "--to",
            AS_OF,
            "--format",
            "csv",
        )
    )
    phases.append(Phase("history of repeat-customers, 52 weekly points", 52, seconds, peak))

    # One more orders file: the copy reads again what it changed (orders, and the people
    # it brought), not the line items.
    more = more_orders(data, work, 1_000)
    seconds, peak = run(segcli(db, "import", "orders", str(more)))
    phases.append(Phase("one more orders file, imported", data_rows(more), seconds, peak))
    info = subprocess.run(
        segcli(db, "info", "--format", "json"), capture_output=True, text=True, check=True
    )
    stale = json.loads(info.stdout)["analytic_copy"]["stale_tables"]
    forget_kept(db)
    refreshed, peak = run(segcli(db, *everyone))
    forget_kept(db)
    current, _ = run(segcli(db, *everyone))
    phases.append(
        Phase(f"refresh the copy after it ({', '.join(stale)})", None, refreshed - current, peak)
    )

    for args, name in ((("--help",), "segcli --help"), (("segment", "list"), "segment list")):
        best = min(run(segcli(db, *segments, *args)) for _ in range(3))
        phases.append(Phase(f"{name} (best of 3)", None, *best))
    return Outcome(phases, differences(peer_segments, figures), len(peer_segments))


def peer_check(outcome: Outcome) -> str:
    """Whether the peer's counts are segcli's, and where they are not."""
    if not outcome.peer_differences:
        return f"peer: all {outcome.peer_segments} segments give segcli's counts and spend"
    return "\n".join(
        [f"peer: {len(outcome.peer_differences)} differences from segcli:"]
        + [f"  {line}" for line in outcome.peer_differences]
    )


def table(phases: list[Phase], people: int) -> str:
    lines = [
        f"segcli benchmark: {people:,} people, {os.cpu_count()} cores, Python "
        f"{sys.version.split()[0]}",
        f"{'phase':<45} {'rows':>11} {'seconds':>9} {'rows/s':>11} {'peak MB':>8} {'ratio':>6}",
    ]
    for phase in phases:
        rows = f"{phase.rows:,}" if phase.rows is not None else ""
        speed = f"{phase.rows_per_second:,.0f}" if phase.rows_per_second else ""
        peak = f"{phase.peak_mb:.0f}" if phase.peak_mb else ""
        ratio = f"{phase.ratio:.2f}" if phase.ratio is not None else ""
        lines.append(
            f"{phase.name:<45} {rows:>11} {phase.seconds:>9.3f} {speed:>11} {peak:>8} {ratio:>6}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000, help="store size")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dir", type=Path, help="work directory (default: a temporary one)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="evaluate the store already imported in --dir (its data and store.db)",
    )
    options = parser.parse_args(argv)
    if options.reuse and options.dir is None:
        parser.error("--reuse needs --dir")
    # segcli timed as installed: pip compiles its modules to bytecode, which a checkout
    # run with PYTHONDONTWRITEBYTECODE would compile again at every start (about 75 ms).
    import segcli

    compileall.compile_dir(Path(segcli.__file__).parent, quiet=1)
    if options.dir is not None:
        options.dir.mkdir(parents=True, exist_ok=True)
        outcome = benchmark(options.people, options.dir, options.seed, reuse=options.reuse)
    else:
        with tempfile.TemporaryDirectory(prefix="segcli-bench-") as work:
            outcome = benchmark(options.people, Path(work), options.seed)
    print(table(outcome.phases, options.people))
    print(peer_check(outcome))
    if options.json is not None:
        written = {
            "people": options.people,
            "phases": [asdict(p) | {"rows_per_second": p.rows_per_second} for p in outcome.phases],
            "peer_differences": outcome.peer_differences,
        }
        options.json.write_text(json.dumps(written, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

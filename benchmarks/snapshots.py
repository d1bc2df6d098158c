"""How big a year of daily snapshots is: `segment snapshot` of every segment, once a day.

    python benchmarks/snapshots.py STORE.db [--days 365] [--to 2026-11-01]

Takes the snapshots of every example segment and built-in as of each of ``--days`` days
up to ``--to`` (oldest first, as a daily cron job would), on a copy of STORE.db (the
benchmark's store: `benchmarks/run.py --dir DIR` leaves it as DIR/store.db), and prints
the time of each tenth snapshot, the total, and the room the snapshot tables take (their
pages, by SQLite's dbstat) with the rows they hold. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_SEGMENTS = ROOT / "segcli" / "examples" / "segments"
TABLES = ("snapshots", "snapshot_changes", "snapshot_people")


def room(db: Path) -> tuple[int, dict[str, int]]:
    """Bytes of the snapshot tables and their indexes, and each table's rows."""
    with sqlite3.connect(db) as conn:
        size = conn.execute(
            "SELECT sum(pgsize) FROM dbstat WHERE name IN (SELECT name FROM sqlite_master "
            "WHERE tbl_name IN ('snapshots', 'snapshot_changes', 'snapshot_people'))"
        ).fetchone()[0]
        rows = {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in TABLES
        }
    return int(size or 0), rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--to", type=date.fromisoformat, default=date(2026, 11, 1))
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="segcli-snapshots-") as work:
        db = Path(work) / "store.db"
        shutil.copyfile(options.store, db)
        days = [options.to - timedelta(days=k) for k in range(options.days)][::-1]
        started = time.perf_counter()
        for n, day in enumerate(days, 1):
            began = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "segcli",
                    "--db",
                    str(db),
                    "--segments",
                    str(EXAMPLE_SEGMENTS),
                    "segment",
                    "snapshot",
                    "--as-of",
                    day.isoformat(),
                ],
                check=True,
                stderr=subprocess.DEVNULL,
            )
            if n % 10 == 0 or n == len(days):
                size, rows = room(db)
                print(
                    f"{n:4d} snapshots, to {day}: this one {time.perf_counter() - began:.2f} s; "
                    f"{size / 1e6:.1f} MB, {rows['snapshot_changes']:,} changes",
                    flush=True,
                )
        total = time.perf_counter() - started
        size, rows = room(db)
        store = db.stat().st_size
    each = total / len(days)
    print(f"{len(days)} daily snapshots of every segment in {total:.0f} s ({each:.2f} s each)")
    print(
        f"snapshot tables: {size / 1e6:.1f} MB ({size / len(days) / 1e3:.0f} kB a day) in a "
        f"store of {store / 1e6:.0f} MB; rows: "
        + ", ".join(f"{table} {count:,}" for table, count in rows.items())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

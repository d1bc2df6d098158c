"""Personal data stays private (SPEC 4, README "The database" and "Exports").

Files segcli writes are readable by their owner only, whatever the umask; a message names
no one but the row it reports; and CSV/TSV exports defuse the cells a spreadsheet would
run as formulas. Exports to files with a umask of 0 for CSV only, and the formula rule on
a few fixed cells, are in test_segment_cli.py; this file covers every format, overwritten
files, the database, messages and a property over any cell.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segcli.store import db as store_db
from tests.conftest import Segcli, fuzz_examples

AS_OF = "2024-06-30"
ROOT = Path(__file__).resolve().parents[1]
EXPORT_FORMATS = ["csv", "tsv", "json", "jsonl"]
# README "Exports": a CSV or TSV text cell starting with one of these gets a "'" before it.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def file_mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def segcli_process(*args, debug: bool = False) -> subprocess.CompletedProcess:
    """segcli in a process of its own started with umask 0, as a careless shell would."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("SEGCLI_DEBUG", None)
    if debug:
        env["SEGCLI_DEBUG"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "segcli", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        preexec_fn=lambda: os.umask(0),
        timeout=120,
    )


# --- a store of people with names and emails no message should carry -------------------

PEOPLE = 40
# Line 24 of each file is the bad row (the header is line 1).
BAD_LINE = 24


def first_name(n: int) -> str:
    return f"Quilla{n:04d}"


def last_name(n: int) -> str:
    return f"Vorstrand{n:04d}"


def email(n: int) -> str:
    return f"q{n:04d}.vorstrand@privy.test"


def customers_csv(people: int = PEOPLE, bad: dict[int, tuple[str, str]] | None = None) -> str:
    """Customers 1..people; ``bad`` maps a person to (column, value) to spoil."""
    columns = ["customer_id", "email", "first_name", "last_name", "created_at"]
    columns += ["accepts_marketing", "tags"]
    lines = [",".join(columns)]
    for n in range(1, people + 1):
        row = {
            "customer_id": f"C{n:04d}",
            "email": email(n),
            "first_name": first_name(n),
            "last_name": last_name(n),
            "created_at": f"2024-01-{n % 28 + 1:02d}",
            "accepts_marketing": "yes" if n % 2 else "no",
            "tags": f"=tag{n}",
        }
        column, value = (bad or {}).get(n, (None, None))
        if column is not None:
            row[column] = value
        lines.append(",".join(row[c] for c in columns))
    return "\n".join(lines) + "\n"


def orders_csv(bad: tuple[str, str] | None = None) -> str:
    columns = ["order_id", "email", "created_at", "total"]
    lines = [",".join(columns)]
    for n in range(1, PEOPLE + 1):
        row = {
            "order_id": f"O{n:04d}",
            "email": email(n),
            "created_at": f"2024-02-{n % 28 + 1:02d}",
            "total": f"{n}.50",
        }
        if n == BAD_LINE - 1 and bad is not None:
            row[bad[0]] = bad[1]
        lines.append(",".join(row[c] for c in columns))
    return "\n".join(lines) + "\n"


def personal_data(people: range | list[int]) -> list[str]:
    """The emails and names of these people, as they would show in a message."""
    return [text for n in people for text in (email(n), first_name(n), last_name(n))]


def assert_names_no_one(
    output: str, *, except_person: int | None = None, people: int = PEOPLE
) -> None:
    others = [n for n in range(1, people + 1) if n != except_person]
    leaked = [text for text in personal_data(others) if text.casefold() in output.casefold()]
    assert leaked == [], output


@pytest.fixture(scope="module")
def people_db(tmp_path_factory) -> Path:
    """A database of PEOPLE customers with an order each, built once for the module."""
    directory = tmp_path_factory.mktemp("people")
    segcli = Segcli(directory)
    for kind, text in (("customers", customers_csv()), ("orders", orders_csv())):
        result = segcli("import", kind, segcli.write(f"{kind}.csv", text))
        assert result.exit_code == 0, result.stderr
    return segcli.db


@pytest.fixture
def people(people_db, tmp_path) -> Segcli:
    """A copy of the people database for one test."""
    segcli = Segcli(tmp_path)
    # The backup API copies what the WAL holds too.
    with sqlite3.connect(people_db) as source, sqlite3.connect(segcli.db) as copy:
        source.backup(copy)
    source.close()
    copy.close()
    return segcli


# --- files readable by their owner only ------------------------------------------------


# Runs each command line of argv[1] (JSON) as `segcli` would, in this one process, and
# prints their exit codes: one start of Python for many exports.
RUN_COMMANDS = """
import json, sys
from segcli.cli import cli
codes = []
for args in json.loads(sys.argv[1]):
    try:
        cli.main(args, prog_name="segcli")
    except SystemExit as done:
        codes.append(done.code)
print(json.dumps(codes))
"""


def test_export_files_are_private_new_or_overwritten_with_umask_0(people, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    commands = []
    for output_format in EXPORT_FORMATS:
        # A file already there, readable and writable by everyone (copied in by hand,
        # say): the export replaces it with one only its owner can read.
        older = out / f"older.{output_format}"
        older.write_text("an older list\n", encoding="utf-8")
        older.chmod(0o666)
        for path in (out / f"new.{output_format}", older):
            commands.append(
                ["--db", str(people.db), "segment", "export", "everyone", "--as-of", AS_OF,
                 "--format", output_format, "-o", str(path)]
            )  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("SEGCLI_DEBUG", None)
    done = subprocess.run(
        [sys.executable, "-c", RUN_COMMANDS, json.dumps(commands)],
        capture_output=True,
        text=True,
        env=env,
        preexec_fn=lambda: os.umask(0),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [0] * len(commands), done.stderr
    for output_format in EXPORT_FORMATS:
        for name in (f"new.{output_format}", f"older.{output_format}"):
            path = out / name
            assert file_mode(path) == 0o600, name
            written = path.read_text(encoding="utf-8")
            assert "an older list" not in written, name
            assert email(7) in written and email(PEOPLE) in written, name
    assert len(list(out.iterdir())) == 2 * len(EXPORT_FORMATS)  # nothing left behind


# Creates the database with `segcli import` (argv[2] is the file), then opens it as every
# command does and writes to it: while it is open SQLite has its WAL and shared-memory
# files (it removes them when the last connection closes). Prints the modes seen.
CREATE_AND_WRITE = """
import json, os, sys
from segcli.cli import cli
from segcli.store.db import open_store
path = sys.argv[1]
try:
    cli.main(["--db", path, "import", "customers", sys.argv[2]], prog_name="segcli")
except SystemExit as done:
    assert done.code == 0, done.code
def modes():
    return {
        suffix: oct(os.stat(path + suffix).st_mode & 0o777)
        for suffix in ("", "-wal", "-shm") if os.path.exists(path + suffix)
    }
created = modes()
with open_store(path) as store:
    with store.transaction():
        store.execute("UPDATE customers SET city = 'Berlin'")
    written = modes()
print(json.dumps([created, written]))
"""


def test_database_and_its_wal_files_are_private_with_umask_0(tmp_path):
    db = tmp_path / "new.db"
    customers = tmp_path / "customers.csv"
    customers.write_text(customers_csv(3), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("SEGCLI_DEBUG", None)
    done = subprocess.run(
        [sys.executable, "-c", CREATE_AND_WRITE, str(db), str(customers)],
        capture_output=True,
        text=True,
        env=env,
        preexec_fn=lambda: os.umask(0),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    created, written = json.loads(done.stdout)
    assert created[""] == "0o600"
    assert set(created.values()) == {"0o600"}, created  # whichever of the others exist
    assert written == {"": "0o600", "-wal": "0o600", "-shm": "0o600"}
    assert file_mode(db) == 0o600
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*), min(city) FROM customers").fetchone() == (
            3,
            "Berlin",
        )
    conn.close()


# --- messages name no one but the row they report ---------------------------------------

REJECTED_ROWS = [
    # kind, column, bad value, the message's reason after the column
    ("customers", "accepts_marketing", "sometimes", "'sometimes' is not a yes/no value"),
    ("customers", "created_at", "2024-13-45", "'2024-13-45' is not a date"),
    ("customers", "email", "q23 at privy.test", "'q23 at privy.test' is not an email address"),
    ("orders", "total", "12;50", "'12;50' is not an amount of money"),
    ("orders", "created_at", "someday", "'someday' is not a date"),
]


@pytest.mark.parametrize("strict", [False, True], ids=["lenient", "strict"])
@pytest.mark.parametrize(("kind", "column", "value", "reason"), REJECTED_ROWS)
def test_a_rejected_row_is_reported_without_anyone_elses_data(
    segcli, kind, column, value, reason, strict
):
    person = BAD_LINE - 1
    if kind == "customers":
        text = customers_csv(bad={person: (column, value)})
    else:
        text = orders_csv(bad=(column, value))
    path = segcli.write(f"{kind}.csv", text)
    result = segcli("import", kind, path, *(["--strict"] if strict else []))
    assert result.exit_code == (1 if strict else 3), result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert f"{path}, line {BAD_LINE}: rejected: {column}: {reason}" in result.stderr
    assert_names_no_one(result.stderr, except_person=person)


def test_a_file_refused_for_its_columns_names_no_one(segcli):
    text = customers_csv().replace("customer_id,email,", "id,contact,", 1)
    result = segcli("import", "customers", segcli.write("customers.csv", text))
    assert result.exit_code == 1
    assert "customer_id or email" in result.stderr
    assert_names_no_one(result.stderr)


BROKEN_SEGMENT = """\
title: Broken
criteria:
  total_spent: {gt: [1, 2}
"""
# One letter off a stored email: a "did you mean" must not offer someone's address.
NEAR_MISS = email(7)[:-1]
MISSPELT_SEGMENT = f"""\
title: Misspelt
criteria:
  emial: {{eq: {NEAR_MISS}}}
"""


@pytest.mark.parametrize(
    ("args", "exit_code", "message"),
    [
        (("segment", "calculate", "broken"), 1, "broken.yaml"),
        (("segment", "validate"), 1, "unknown field 'emial'"),
        (("segment", "export", "vipp"), 1, "unknown segment 'vipp'"),
        (("segment", "show", "everyone", "--as-of", "2024-02-30"), 2, "'2024-02-30'"),
        (("segment", "export", "everyone", "--fields", "emial,first_nam"), 1, "emial"),
        (("segment", "calculate", "--criteria", f"first_nam: {first_name(7)}"), 1, "first_nam"),
        (("import", "customers", "no-such-file.csv"), 1, "no such file"),
        (("customer", "show", NEAR_MISS), 1, f"no person with customer id or email {NEAR_MISS!r}"),
        (("customer", "show", "C0007", "--explain", "vipp"), 1, "unknown segment 'vipp'"),
    ],
    ids=[
        "bad-segment-file",
        "invalid-segment",
        "unknown-segment",
        "bad-as-of",
        "unknown-field",
        "bad-criteria",
        "missing-file",
        "unknown-customer",
        "unknown-explain-segment",
    ],
)
def test_failures_about_no_one_print_no_personal_data(
    people, tmp_path, monkeypatch, args, exit_code, message
):
    monkeypatch.chdir(tmp_path)
    segments = tmp_path / "segments"
    segments.mkdir()
    (segments / "broken.yaml").write_text(BROKEN_SEGMENT, encoding="utf-8")
    (segments / "misspelt.yaml").write_text(MISSPELT_SEGMENT, encoding="utf-8")
    result = people("--segments", segments, *args)
    assert result.exit_code == exit_code, result.stderr
    assert "Traceback" not in result.stderr
    assert message in result.stderr
    assert_names_no_one(result.stdout + result.stderr)


def test_a_busy_database_is_reported_without_personal_data(people, monkeypatch):
    monkeypatch.setattr(store_db, "BUSY_TIMEOUT_MS", 50)
    more = people.write("more.csv", customers_csv(3))
    holder = sqlite3.connect(people.db, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another writer holds the database
        result = people("import", "customers", more)
    finally:
        holder.close()
    assert result.exit_code == 1, result.stderr
    assert result.stdout == ""
    assert f"database is busy: {people.db}" in result.stderr
    assert_names_no_one(result.stderr)


def _corrupt_the_last_leaf(db: Path, table: str) -> None:
    """Overwrite the header of the last leaf page of ``table``'s b-tree, so that reading
    the table fails near its end with "database disk image is malformed"."""
    with sqlite3.connect(db) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,))
        root = root.fetchone()[0]
    conn.close()
    data = bytearray(db.read_bytes())
    header = (root - 1) * page_size
    assert data[header] == 0x05, "the table must span several pages (an interior root)"
    # An interior page's right-most child pointer is at offset 8 of its header.
    leaf = (int.from_bytes(data[header + 8 : header + 12], "big") - 1) * page_size
    assert data[leaf] == 0x0D, "a table leaf page"
    data[leaf : leaf + 8] = b"\xff" * 8
    db.write_bytes(bytes(data))


# More people than an export reads in one block (1,000), so that it has read and written
# some before it fails.
CROWD = 1_200


@pytest.fixture(scope="module")
def crowd_db(tmp_path_factory) -> Path:
    """A database of CROWD customers with everyone's facts stored by one command."""
    segcli = Segcli(tmp_path_factory.mktemp("crowd"))
    result = segcli("import", "customers", segcli.write("customers.csv", customers_csv(CROWD)))
    assert result.exit_code == 0, result.stderr
    # The SQLite engine keeps everyone's facts in the store, which the test damages.
    result = segcli("--engine", "sqlite", "segment", "calculate", "--as-of", AS_OF)
    assert result.exit_code == 0, result.stderr
    return segcli.db


@pytest.fixture
def damaged(crowd_db, tmp_path) -> Segcli:
    """The crowd's database damaged on disk near the end of its stored facts: the next
    export fails after it has read most members."""
    segcli = Segcli(tmp_path)
    # A copy made by SQLite: one file, the facts' pages and all.
    with sqlite3.connect(crowd_db) as source, sqlite3.connect(segcli.db) as copy:
        source.backup(copy)
    source.close()
    copy.close()
    _corrupt_the_last_leaf(segcli.db, "facts_cache")
    return segcli


EXPORT_FROM_DAMAGED = ("--engine", "sqlite", "segment", "export", "everyone", "--as-of", AS_OF)
EXPORT_FROM_DAMAGED += ("--fields", "email,first_name,last_name,tags")


def test_a_damaged_database_mid_export_is_reported_without_personal_data(damaged):
    out = damaged.dir / "members.csv"
    result = damaged(*EXPORT_FROM_DAMAGED, "-o", out)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: cannot use database {damaged.db}: database disk image is malformed\n"
        "  hint: run with SEGCLI_DEBUG=1 for details\n"
    )
    assert_names_no_one(result.stderr, people=CROWD)
    assert not [p for p in damaged.dir.iterdir() if p.name.startswith((".members", "members"))]


def test_its_traceback_with_segcli_debug_carries_no_personal_data(damaged):
    # To stdout this time: the members written before the failure show that it came
    # part-way, with people's data at hand.
    done = segcli_process("--db", damaged.db, *EXPORT_FROM_DAMAGED, debug=True)
    assert done.returncode == 1
    assert len(done.stdout.splitlines()) > 1_000
    assert "Traceback (most recent call last)" in done.stderr
    assert "in write_members" in done.stderr
    assert "DatabaseError: database disk image is malformed" in done.stderr
    assert_names_no_one(done.stderr, people=CROWD)


# --- formula escaping in CSV and TSV, as a property --------------------------------------

ORDINARY_STARTS = ("", "a", "Z", "'", "x y", "é", "0", "(", "!")
# Text after the first character: anything an import keeps (it trims the cell).
body_text = st.text(alphabet=st.sampled_from("az AZ09=+-@'\",;|\t\n.é"), max_size=6).map(str.strip)


@st.composite
def cell_text(draw, body=body_text) -> str:
    return draw(st.sampled_from(FORMULA_STARTS + ORDINARY_STARTS)) + draw(body)


@st.composite
def a_person(draw, number: int) -> dict:
    local = draw(st.sampled_from(("=", "+", "-", "", "x"))) + draw(
        st.text(alphabet="abz09._", max_size=4)
    )
    domain = draw(st.sampled_from(("=", "+", "-", "", "d"))) + draw(
        st.text(alphabet="abz09-", max_size=4)
    )
    tag = cell_text(st.text(alphabet=st.sampled_from("az=+-@'\";"), max_size=4).map(str.strip))
    tag = tag.filter(bool)  # an empty tag is no tag
    return {
        "customer_id": draw(st.sampled_from(("=", "+", "-", "@", "", "K"))) + f"id{number}",
        "email": f"{local}{number}@{domain}.test",
        "first_name": draw(cell_text()),
        "last_name": draw(cell_text()),
        "country": draw(cell_text()),
        "region": draw(cell_text()),
        "city": draw(cell_text()),
        "customer_group": draw(cell_text()),
        "channel": draw(cell_text()),
        "tags": draw(st.lists(tag, max_size=3, unique_by=str.strip)),
        "note": draw(cell_text()),
    }


TEXT_COLUMNS = ["first_name", "last_name", "country", "region", "city"]
TEXT_COLUMNS += ["customer_group", "channel"]
SQL_FIELDS = ["customer_id", "email", "email_domain", *TEXT_COLUMNS]
PYTHON_FIELDS = ["tags", "custom.note"]
stores = st.integers(1, 4).flatmap(lambda n: st.tuples(*(a_person(i) for i in range(n))))


@st.composite
def export_fields(draw) -> list[str]:
    """Every text field, in any order. On the SQLite engine, with tags or a custom field
    among them the cells are made in Python, else by SQLite (segcli.segments.export.
    cells_sql): half the cases take each path. DuckDB makes every cell itself."""
    fields = list(SQL_FIELDS)
    if draw(st.booleans()):
        fields += draw(st.lists(st.sampled_from(PYTHON_FIELDS), min_size=1, unique=True))
    return draw(st.permutations(fields))


def _stored_values(segcli: Segcli) -> dict[str, dict]:
    """Each person's export fields as stored, read back from the database."""
    stored = {}
    columns = ["customer_id", "email", *TEXT_COLUMNS, "tags", "custom"]
    for row in segcli.rows(f"SELECT person_key, {', '.join(columns)} FROM people"):
        values = dict(zip(columns, row[1:], strict=True))
        values["email_domain"] = values["email"].partition("@")[2]
        values["tags"] = json.loads(values["tags"])
        values["custom.note"] = json.loads(values.pop("custom")).get("note")
        stored[row[0]] = values
    return stored


def _cell(value, escaped: bool) -> str:
    """The documented cell of a stored value."""
    if value is None:
        return ""
    text = ", ".join(value) if isinstance(value, list) else value
    return "'" + text if escaped and text.startswith(FORMULA_STARTS) else text


@pytest.mark.slow
@pytest.mark.both_engines
@settings(max_examples=fuzz_examples(40), deadline=None)
@given(
    drawn=stores,
    fields=export_fields(),
    output_format=st.sampled_from(["csv", "tsv"]),
    json_format=st.sampled_from(["json", "jsonl"]),
)
def test_formula_cells_are_escaped_in_csv_and_tsv_only(drawn, fields, output_format, json_format):
    with tempfile.TemporaryDirectory() as directory:
        segcli = Segcli(Path(directory))
        columns = ["customer_id", "email", *TEXT_COLUMNS, "tags", "note"]
        out = io.StringIO()
        # Every cell quoted: Python's writer leaves a bare carriage return unquoted.
        writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
        writer.writerow(columns)
        for person in drawn:
            writer.writerow([", ".join(person[c]) if c == "tags" else person[c] for c in columns])
        path = segcli.write("customers.csv", out.getvalue())
        imported = segcli("import", "customers", path)
        assert imported.exit_code == 0, imported.stderr

        # An import trims cells, so a value starting with a tab or a carriage return can
        # only be in a database written otherwise (by hand, another tool): put it there.
        by_hand = {}
        with sqlite3.connect(segcli.db) as conn:
            for person in drawn:
                key = f"c:{person['customer_id']}"
                for column in TEXT_COLUMNS:
                    if person[column].startswith(("\t", "\r")):
                        conn.execute(
                            f"UPDATE people SET {column} = ? WHERE person_key = ?",
                            (person[column], key),
                        )
                        by_hand[key, column] = True
                if any(tag.startswith(("\t", "\r")) for tag in person["tags"]):
                    conn.execute(
                        "UPDATE people SET tags = ? WHERE person_key = ?",
                        (json.dumps(person["tags"]), key),
                    )
                    by_hand[key, "tags"] = True
                if person["note"].startswith(("\t", "\r")):
                    conn.execute(
                        "UPDATE people SET custom = json_set(custom, '$.note', ?) "
                        "WHERE person_key = ?",
                        (person["note"], key),
                    )
                    by_hand[key, "custom.note"] = True
        conn.close()
        stored = _stored_values(segcli)

        # The property is about the values drawn: the import kept them as they were.
        for person in drawn:
            key = f"c:{person['customer_id']}"
            for field in ["customer_id", "email", *TEXT_COLUMNS, "tags"]:
                if not by_hand.get((key, field)):
                    drawn_value = person[field] if field == "tags" else person[field] or None
                    assert stored[key][field] == drawn_value, (key, field)
            if not by_hand.get((key, "custom.note")):
                assert stored[key]["custom.note"] == (person["note"] or None)

        chosen = ",".join(["person_key", *fields])
        export = ("segment", "export", "everyone", "--as-of", AS_OF, "--fields", chosen)
        delimiter = "," if output_format == "csv" else "\t"
        for raw in (False, True):
            result = segcli(*export, "--format", output_format, *(["--raw"] if raw else []))
            assert result.exit_code == 0, result.stderr
            rows = list(csv.reader(io.StringIO(result.stdout, newline=""), delimiter=delimiter))
            assert rows[0] == chosen.split(",")
            assert len(rows) == len(drawn) + 1
            for row in rows[1:]:
                values = stored[row[0]]
                expected = [_cell(values[field], escaped=not raw) for field in fields]
                assert row[1:] == expected, (raw, row[0])

        # JSON is data, not a spreadsheet: never changed.
        result = segcli(*export, "--format", json_format)
        assert result.exit_code == 0, result.stderr
        if json_format == "json":
            members = json.loads(result.stdout)
        else:
            members = [json.loads(line) for line in result.stdout.splitlines()]
        assert len(members) == len(drawn)
        for member in members:
            values = stored[member["person_key"]]
            expected = {field: values[field] for field in fields}
            assert {field: member[field] for field in fields} == expected

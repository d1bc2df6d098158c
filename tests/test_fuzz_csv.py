"""Fuzzed CSV files: whatever a file holds, an import ends in success or a clear message.

Each case imports one generated file of one kind into a copy of a small store that
already holds rows of every kind. The import must end with exit 0 (every row imported),
3 (some rows rejected) or 1 (the file refused), never with a traceback; and the database
read back afterwards must be exactly as it was (exit 1) or hold the rows it held plus
exactly the rows that were not rejected (exit 0 and 3).

`pytest --hypothesis-profile=long` runs ten times as many cases.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import sqlite3
import string
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from segcli.importer import values
from segcli.importer.batches import BATCH_ROWS
from segcli.importer.kinds import KINDS
from tests.conftest import Segcli, fuzz_examples

RECORD_TABLES = ("customers", "orders", "items", "products", "reviews", "subscribers", "carts")

# Cells that have broken importers: numbers and dates at and past their limits, text in
# other scripts and directions, control characters, quotes and would-be SQL.
NASTY_CELLS = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "NaN",
    "nan",
    "inf",
    "-Infinity",
    "1e309",
    "-1e309",
    "1e-400",
    "-0",
    "-0.0",
    "+0",
    "0",
    "1",
    "5",
    "6",
    "-5",
    "12.5",
    "12.34567",
    "1,5",
    "1_000",
    "0x1F",
    "999999999999",
    "1000000000000",
    "١٢٣",
    "2024-01-31",
    "2024-02-29",
    "2024-02-30",
    "2023-02-29",
    "0000-00-00",
    "0000-00-00 00:00:00",
    "2024-13-01",
    "2024-01-01T24:00:00",
    "2024-06-01T10:00:00+14:00",
    "2024-06-01T10:00:00-25:00",
    "9999-12-31 23:59:59",
    "0001-01-01",
    "31/12/2024",
    "true",
    "No",
    "maybe",
    "a@example.com",
    " B@Example.COM ",
    "a@b@c",
    "@",
    "not an email",
    "paid",
    "refunded",
    "subscribed",
    "unsubscribed",
    "vip, gift-buyer",
    "😀🛒",
    "👩🏽‍💻",
    "مرحبا بالعالم",
    "שלום",
    "\u202eevil\u202c",
    "\u200b",
    '"',
    '""',
    "'); DROP TABLE orders; --",
    "%_\\",
    "=HYPERLINK(1)",
    "a\nb",
    "a\r\nb",
    "\t",
    "x" * 300,
)

cells = st.one_of(
    st.sampled_from(NASTY_CELLS),
    st.text(max_size=12),
    st.text(alphabet=string.ascii_letters + string.digits + "@._-", min_size=1, max_size=10),
)


def _header_names(kind: str) -> st.SearchStrategy[list[str]]:
    """The kind's own columns in any order and number, sometimes with unknown columns.

    Most headers have a column of each required group, so that most files get past the
    header to their rows.
    """
    own = list(KINDS[kind].columns)
    required = [group[0] for group in KINDS[kind].required]
    chosen = st.one_of(
        st.lists(st.sampled_from(own), min_size=1, max_size=len(own) + 1),
        st.lists(st.sampled_from(own), max_size=len(own)).flatmap(
            lambda extra: st.permutations(list(dict.fromkeys(required + extra)))
        ),
        st.lists(st.sampled_from(own), max_size=len(own)).flatmap(
            lambda extra: st.permutations(list(dict.fromkeys(required + extra)))
        ),
    )
    unknown = st.lists(
        st.one_of(
            st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=4).map("note_".__add__),
            st.sampled_from(["", " ", "😀", "\x00", "Email", "ORDER_ID", "line", "reason"]),
        ),
        max_size=2,
    )
    return st.tuples(chosen, unknown).map(lambda parts: parts[0] + parts[1])


@st.composite
def csv_text(draw, kind: str) -> bytes:
    """A CSV file: a header of the kind's columns, then rows of any width."""
    header = draw(_header_names(kind))
    rows = draw(
        st.lists(
            st.lists(cells, min_size=max(0, len(header) - 2), max_size=len(header) + 2),
            max_size=5,
        )
    )
    buffer = io.StringIO()
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    writer = csv.writer(buffer, quoting=quoting, lineterminator=ending)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


@st.composite
def damaged(draw, kind: str) -> bytes:
    """A well-formed file, then damaged: bytes changed, cut, re-encoded or prefixed."""
    data = draw(csv_text(kind))
    damage = draw(
        st.sampled_from(["none"] * 6 + ["bytes", "cut", "quote", "latin-1", "utf-16", "bom", "nul"])
    )
    if damage == "bytes" and data:
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + draw(st.binary(min_size=1, max_size=4)) + data[at + 1 :]
    elif damage == "cut" and data:
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif damage == "quote" and data:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + b'"' + data[at:]
    elif damage == "latin-1":
        data = data.decode("utf-8").encode("latin-1", errors="replace") + "é\n".encode("latin-1")
    elif damage == "utf-16":
        data = data.decode("utf-8").encode("utf-16")
    elif damage == "bom":
        data = b"\xef\xbb\xbf" + data
    elif damage == "nul" and data:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + b"\x00" * draw(st.integers(1, 3)) + data[at:]
    return data


def any_file(kind: str) -> st.SearchStrategy[bytes]:
    header = ",".join(KINDS[kind].columns).encode() + b"\n"
    return st.one_of(
        damaged(kind),
        st.binary(max_size=200),
        st.binary(max_size=200).map(lambda tail: header + tail),
    )


BASE_FILES = {
    "products": "product_id,sku,title,collections,vendor\nP1,S1,Teapot,Kitchen,Nord\n",
    "customers": (
        "customer_id,email,first_name,last_name,created_at,tags,note\n"
        "C1,ann@example.com,Ann,Lee,2024-01-05,vip,hello\n"
        "C2,bo@example.com,Bo,Berg,2024-02-05,,\n"
    ),
    "orders": (
        "order_id,customer_id,email,created_at,total,status\n"
        "O1,C1,ann@example.com,2024-03-01,25.00,paid\n"
        "O2,,guest@example.com,2024-03-02,10.50,refunded\n"
    ),
    "items": "order_id,product_id,sku,title,quantity,price\nO1,P1,S1,Teapot,1,25.00\n",
    "reviews": "review_id,customer_id,product_id,rating,created_at\nR1,C1,P1,5,2024-03-05\n",
    "subscribers": "email,subscribed_at,status\nann@example.com,2024-01-01,subscribed\n",
    "carts": "cart_id,customer_id,email,created_at,total\nK1,C2,,2024-04-01,12.00\n",
}

SUMMARY = re.compile(
    r": ([\d,]+) rows? read: ([\d,]+) inserted, ([\d,]+) updated, ([\d,]+) unchanged, "
    r"([\d,]+) rejected"
)


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """A store with a few rows of every kind, as one file to copy for each case."""
    segcli = Segcli(tmp_path_factory.mktemp("base"))
    for kind, text in BASE_FILES.items():
        result = segcli("import", kind, segcli.write(f"{kind}.csv", text))
        assert result.exit_code == 0, result.stderr
    with sqlite3.connect(segcli.db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return segcli.db


class Case:
    """One import into a fresh copy of the base store."""

    def __init__(self, base: Path, directory: Path):
        self.base = base
        self.segcli = Segcli(directory)
        self.before = _state(base)

    def fresh(self) -> None:
        """The case's database made a copy of the base store again."""
        for leftover in self.segcli.dir.glob("store.db*"):
            leftover.unlink(missing_ok=True)
        shutil.copyfile(self.base, self.segcli.db)

    def run(self, kind: str, data: bytes):
        self.fresh()
        source = self.segcli.dir / f"{kind}.csv"
        source.write_bytes(data)
        rejects = self.segcli.dir / "rejects.csv"
        rejects.unlink(missing_ok=True)
        result = self.segcli("import", kind, source, "--rejects", rejects)
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            result.exception
        )
        assert "Traceback" not in result.output + result.stderr, result.stderr
        assert result.exit_code in (0, 1, 3), result.stderr
        assert result.stdout == ""
        after = _state(self.segcli.db)
        event(f"exit {result.exit_code}")
        if result.exit_code == 1:
            # Refused: one clear message that names the file, and nothing written.
            assert result.stderr.startswith("Error: "), result.stderr
            assert source.name in result.stderr.splitlines()[0]
            assert after == self.before
            return
        self._check_accepted(kind, data, after, result.stderr, rejects)

    def _check_accepted(self, kind, data, after, stderr, rejects) -> None:
        before = self.before
        summary = SUMMARY.search(stderr)
        assert summary is not None, stderr
        read, inserted, updated, unchanged, rejected = (
            int(group.replace(",", "")) for group in summary.groups()
        )
        assert read == inserted + updated + unchanged + rejected
        rejected_lines = _rejected_lines(rejects)
        assert len(rejected_lines) == rejected
        added = len(after.records[kind]) - len(before.records[kind])
        if "replaced by a later row" in stderr:
            # A row replaced by a later one of the same key is counted with that row.
            assert added <= inserted
        else:
            assert added == inserted
        assert after.imports == before.imports + 1
        # Other kinds' rows are untouched (only who they belong to may change).
        for table in RECORD_TABLES:
            if table != kind:
                assert after.records[table] == before.records[table], table
        header, records = _records(data)
        accepted = [fields for line, fields in records if line not in rejected_lines]
        assert len(records) == read
        assert rejected_lines <= {line for line, _ in records}
        _check_keys(kind, header, accepted, before.keys[kind], after.keys[kind])


@dataclass
class State:
    """What a store holds: every record (person ids aside), the people and the imports."""

    records: dict[str, list[tuple]]
    keys: dict[str, set]
    people: list[tuple]
    imports: int


def _state(db: Path) -> State:
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        records = {}
        for table in RECORD_TABLES:
            columns = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
            kept = ", ".join(column for column in columns if column != "person_id")
            records[table] = conn.execute(f"SELECT {kept} FROM {table} ORDER BY 1, 2").fetchall()
        keys = {
            table: {row[0] for row in conn.execute(f"SELECT {column} FROM {table}")}
            for table, (column, _) in KEYS.items()
        }
        people = conn.execute(
            """SELECT p.person_key, p.customer_id, p.email, p.first_name, p.last_name,
                p.created_at, p.tags, p.custom,
                (SELECT group_concat(order_id) FROM (SELECT order_id FROM orders o
                    WHERE o.person_id = p.person_id ORDER BY order_id))
            FROM people p ORDER BY p.person_key"""
        ).fetchall()
        imports = conn.execute("SELECT count(*) FROM imports").fetchone()[0]
    return State(records, keys, people, imports)


def _check_keys(kind, header, accepted, old: set, stored: set) -> None:
    """Every accepted row's key is stored, and every new key comes from an accepted row."""
    column, normal = KEYS[kind]
    if header.count(column) != 1 or len(set(header)) != len(header):
        return  # which of two same-named columns counts is the dialect's business
    at = header.index(column)
    wanted = set()
    for fields in accepted:
        if at < len(fields):
            key = normal(fields[at])
            if key is not None:
                wanted.add(key)
    assert wanted <= stored
    assert stored - old - {None} <= wanted


# The column that identifies a kind's rows, and how segcli stores it.
KEYS = {
    "customers": ("customer_id", values.identifier),
    "orders": ("order_id", values.text),
    "items": ("order_id", values.text),
    "products": ("product_id", values.text),
    "reviews": ("review_id", values.text),
    "subscribers": ("email", lambda raw: raw.strip().lower() or None),
    "carts": ("cart_id", values.text),
}


def _records(data: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The file's header and data records with the lines they start on, as segcli reads them."""
    text = data.decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text, newline="\n"), strict=False)
    records = []
    start = 1
    for fields in reader:
        if any(field.strip() for field in fields):
            records.append((start, fields))
        start = reader.line_num + 1
    header = records.pop(0)[1]
    return header, records


def _rejected_lines(path: Path) -> set[int]:
    if not path.exists():
        return set()
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        # segcli's own columns come last: the line, then the reason.
        return {int(row[len(header) - 2]) for row in reader}


@pytest.fixture(scope="module")
def case(base, tmp_path_factory) -> Case:
    return Case(base, tmp_path_factory.mktemp("case"))


@pytest.mark.slow
@pytest.mark.parametrize("kind", RECORD_TABLES)
@settings(
    max_examples=fuzz_examples(500),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_any_file_is_imported_or_refused_cleanly(case, kind, data):
    case.run(kind, data.draw(any_file(kind)))


@pytest.mark.parametrize("kind", RECORD_TABLES)
def test_a_header_only_file_imports_nothing_and_changes_nothing(case, kind):
    case.fresh()
    header = ",".join(KINDS[kind].columns) + "\n"
    result = case.segcli("import", kind, case.segcli.write(f"{kind}.csv", header))
    assert result.exit_code == 0, result.stderr
    assert ": 0 rows read: 0 inserted" in result.stderr
    assert _state(case.segcli.db).records == case.before.records


def test_a_ten_megabyte_field_is_stored_whole(segcli):
    body = ("ünïcode 😀 " * 1_000_000).strip()  # cells are trimmed
    result = segcli(
        "import",
        "reviews",
        segcli.write(
            "reviews.csv", f'customer_id,product_id,rating,body\nC1,P1,4,"{body}"\nC2,P1,5,ok\n'
        ),
    )
    assert result.exit_code == 0, result.stderr
    assert segcli.value("SELECT body FROM reviews WHERE customer_id = 'C1'") == body
    assert segcli.value("SELECT count(*) FROM reviews") == 2


def test_a_field_over_the_limit_is_a_clear_refusal(segcli):
    path = segcli.dir / "customers.csv"
    path.write_bytes(b"customer_id,first_name\nC1,Ann\nC2," + b"x" * (17 * 1024 * 1024) + b"\n")
    result = segcli("import", "customers", path)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {path}, line 3: has a field longer than 16 MiB")
    assert "Traceback" not in result.stderr
    assert not segcli.db.exists() or segcli.value("SELECT count(*) FROM customers") == 0


@pytest.mark.slow
def test_a_hundred_thousand_columns_become_custom_fields(segcli):
    names = [f"extra_{n}" for n in range(99_999)]
    text = (
        ",".join(["customer_id", "email", *names])
        + "\n"
        + ",".join(["C1", "a@example.com", *(f"v{n}" for n in range(99_999))])
        + "\n"
    )
    result = segcli("import", "customers", segcli.write("customers.csv", text))
    assert result.exit_code == 0, result.stderr
    custom = segcli.value("SELECT custom FROM people WHERE customer_id = 'C1'")
    assert custom.count('"extra_') == 99_999
    assert '"extra_99998":"v99998"' in custom
    result = segcli("import", "orders", segcli.write("orders.csv", text.replace("email", "x")))
    assert result.exit_code == 1, result.stderr
    assert "missing" in result.stderr


@pytest.mark.parametrize(
    "text, line",
    [
        ('customer_id,first_name\nC1,Ann\nC2,"Bo\nC3,Cy\n', 3),
        ('customer_id,first_name\nC1,Ann\nC2,"', 3),
        ('"customer_id,first_name\nC1,Ann\n', 1),
        ('customer_id,first_name\nC1,"Ann ""the"" \nC2,Bo', 2),
    ],
)
def test_a_quote_never_closed_refuses_the_file_at_its_line(segcli, text, line):
    base = segcli.write("base.csv", "customer_id,first_name\nC9,Old\n")
    assert segcli("import", "customers", base).exit_code == 0
    before = segcli.dump()
    path = segcli.write("customers.csv", text)
    result = segcli("import", "customers", path)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {path}, line {line}: has a quoted field")
    assert segcli.dump() == before


@pytest.mark.parametrize(
    "text",
    [
        'customer_id,first_name\nC1,"Ann\nLee"\nC2,"Bo ""B"""\n',
        "customer_id,first_name\nC1,Ann\nC2,Bo",
        'customer_id,first_name\r\nC1,"Ann"\r\nC2,Bo\r\n',
    ],
)
def test_closed_quotes_and_a_missing_last_newline_import_every_row(segcli, text):
    result = segcli("import", "customers", segcli.write("customers.csv", text))
    assert result.exit_code == 0, result.stderr
    expected = [row[1] for row in list(csv.reader(io.StringIO(text, newline="")))[1:]]
    assert [row[0] for row in segcli.rows("SELECT first_name FROM customers ORDER BY 1")] == sorted(
        expected
    )


@pytest.mark.slow
@settings(max_examples=fuzz_examples(100))
@given(name=st.text(min_size=1, max_size=30).filter(lambda text: text.strip() == text))
def test_any_text_is_stored_and_exported_exactly(tmp_path_factory, name):
    segcli = Segcli(tmp_path_factory.mktemp("text"))
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL).writerows(
        [["customer_id", "email", "first_name"], ["C1", "a@example.com", name]]
    )
    result = segcli("import", "customers", segcli.write("customers.csv", buffer.getvalue()))
    assert result.exit_code == 0, result.stderr
    assert segcli.value("SELECT first_name FROM customers") == name
    exported = segcli("segment", "export", "everyone", "--format", "json", "--fields", "first_name")
    assert exported.exit_code == 0, exported.stderr
    assert json.loads(exported.stdout) == [{"first_name": name}]


# Ways to spoil a file's end, each of which refuses the whole file.
SPOILED_ENDS = {
    "a byte that is not UTF-8": b"C9,\xff\xfe\n",
    "a quote never closed": b'C9,"never closed\nC10,x\n',
    "UTF-16 text": "C9,Zoë\n".encode("utf-16-le"),
    "a field over the limit": b"C9," + b"x" * (17 * 1024 * 1024) + b"\n",
}


@pytest.mark.slow
@pytest.mark.parametrize("into", ["a store with rows", "an empty store"])
@pytest.mark.parametrize("kind", ["customers", "orders", "reviews", "subscribers"])
@pytest.mark.parametrize("spoiled", SPOILED_ENDS)
def test_a_file_spoiled_after_its_first_batches_writes_nothing(case, into, kind, spoiled):
    """Rows read before the damage are not written either: the file is refused whole.

    The first file of a kind goes straight into its empty table; later ones are staged.
    """
    case.fresh()
    before = case.before
    if into == "an empty store":
        segcli = case.segcli
        segcli.db.unlink()
        assert (
            segcli("import", "products", segcli.write("p.csv", "product_id\nP1\n")).exit_code == 0
        )
        before = _state(segcli.db)
    header = {
        "customers": "customer_id,first_name",
        "orders": "customer_id,order_id,created_at,total",
        "reviews": "customer_id,product_id,rating",
        "subscribers": "email,status",
    }[kind]
    rows = {
        "customers": "N{0},Name {0}",
        "orders": "N{0},NO{0},2024-05-01,9.99",
        "reviews": "N{0},P1,4",
        "subscribers": "n{0}@example.com,subscribed",
    }[kind]
    body = "\n".join(rows.format(n) for n in range(BATCH_ROWS * 2 + 7))
    data = f"{header}\n{body}\n".encode() + SPOILED_ENDS[spoiled]
    source = case.segcli.dir / f"{kind}.csv"
    source.write_bytes(data)
    result = case.segcli("import", kind, source)
    assert result.exit_code == 1, result.stderr
    assert result.stderr.startswith(f"Error: {source}, line {BATCH_ROWS * 2 + 9}"), result.stderr
    assert _state(case.segcli.db) == before

"""segcli segment snapshot|changes (SPEC 5): snapshots, changes, hooks and the guard.

The store is small and written here; who is in each segment at each date was worked out
by hand (below). The property tests check the bookkeeping against evaluation itself:
the changes between two dates are the difference of the members at both dates, and
snapshots taken in any order record the same history.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segcli.segments.catalog import open_catalog
from segcli.segments.snapshots import definition_digest
from tests.conftest import Segcli, SegmentStore, segment_store, table_rows
from tests.helpers import exported_keys

pytestmark = pytest.mark.both_engines

CUSTOMERS = """\
customer_id,email,first_name,last_name,created_at,accepts_marketing
C1,ann@example.com,Ann,Lee,2024-01-01,yes
C2,bob@example.com,Bob,Stone,2024-01-01,no
C3,cy@example.com,=Cy,Young,2024-01-01,yes
C4,dee@example.com,Dee,Park,2024-01-01,no
"""
# Spend by the end of each month: C1 150 (Jan) 250 (Mar); C2 120 (Feb), refunded order
# in Apr does not count; C3 90 (Jan) 190 (Apr); C4 nothing; a guest 300 in Mar.
ORDERS = """\
order_id,customer_id,email,created_at,total,status
O1,C1,,2024-01-10,150,paid
O2,C1,,2024-03-10,100,paid
O3,C2,,2024-02-10,120,paid
O4,C2,,2024-04-10,500,refunded
O5,C3,,2024-01-20,90,paid
O6,C3,,2024-04-20,100,paid
O7,,guest@example.com,2024-03-15,300,paid
"""
BIG = "title: Big spenders\ncriteria:\n  total_spent: {gt: 100}\n"
# Members of big (total_spent > 100) at the end of each day below, by hand.
BIG_MEMBERS = {
    "2024-01-31": {"c:C1"},
    "2024-02-29": {"c:C1", "c:C2"},
    "2024-03-31": {"c:C1", "c:C2", "e:guest@example.com"},
    "2024-04-30": {"c:C1", "c:C2", "c:C3", "e:guest@example.com"},
}


@pytest.fixture
def store(segcli: Segcli) -> SegmentStore:
    return segment_store(segcli, {"customers": CUSTOMERS, "orders": ORDERS}, {"big": BIG})


def _ok(result, code: int = 0):
    assert "Traceback" not in result.stderr, result.stderr
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def _changes(store: SegmentStore, *args: str) -> list[dict]:
    result = _ok(store("segment", "changes", *args, "--format", "json"))
    return json.loads(result.stdout)


def _members(store: SegmentStore, segment: str, day: str) -> set[str]:
    return exported_keys(store, segment, day)


def test_the_hand_worked_members(store):
    for day, members in BIG_MEMBERS.items():
        assert _members(store, "big", day) == members


def test_snapshot_is_quiet_and_recorded_as_changes(store):
    result = _ok(store("segment", "snapshot", "big", "--as-of", "2024-01-31"))
    assert (result.stdout, result.stderr) == ("", "")
    _ok(store("segment", "snapshot", "big", "--as-of", "2024-03-31"))
    rows = store.segcli.rows(
        "SELECT s.as_of, p.person_key, c.change FROM snapshot_changes c "
        "JOIN snapshots s USING (snapshot_id) JOIN snapshot_people p USING (key_id) "
        "ORDER BY s.as_of, p.person_key"
    )
    # The first holds its members; the second only who entered since.
    assert rows == [
        ("2024-01-31", "c:C1", 1),
        ("2024-03-31", "c:C2", 1),
        ("2024-03-31", "e:guest@example.com", 1),
    ]
    assert store.segcli.rows("SELECT as_of, members, entered, exited FROM snapshots") == [
        ("2024-01-31", 1, 1, 0),
        ("2024-03-31", 3, 2, 0),
    ]


def test_snapshot_again_changes_nothing_and_verbose_says_so(store):
    _ok(store("segment", "snapshot", "big", "--as-of", "2024-01-31"))
    before = store.segcli.rows("SELECT * FROM snapshots")
    result = _ok(store("segment", "snapshot", "big", "--as-of", "2024-01-31", "--verbose"))
    assert store.segcli.rows("SELECT * FROM snapshots") == before
    assert "big as of 2024-01-31: 1 member (kept; already recorded)" in result.stderr


def test_snapshot_of_every_segment_by_default(store):
    _ok(store("segment", "snapshot", "--as-of", "2024-02-29"))
    taken = dict(store.segcli.rows("SELECT segment, members FROM snapshots"))
    assert taken["big"] == 2
    # The built-ins too: everyone known by then (four customers; the guest came in March).
    assert taken["everyone"] == 4
    assert taken["all-customers"] == 3


def test_changes_between_snapshots_and_evaluated_dates(store):
    _ok(store("segment", "snapshot", "big", "--as-of", "2024-01-31"))
    _ok(store("segment", "snapshot", "big", "--as-of", "2024-03-31"))
    result = _ok(
        store(
            "segment",
            "changes",
            "big",
            "--from",
            "2024-01-31",
            "--to",
            "2024-03-31",
            "--format",
            "csv",
        )
    )
    assert "2024-01-31 (read from its snapshot) to 2024-03-31 (read from its snapshot)" in (
        result.stderr
    )
    lines = result.stdout.splitlines()
    assert lines[0].startswith("segment,change,from_date,to_date,person_key,customer_id,email")
    assert [line.split(",")[1:5:3] for line in lines[1:]] == [
        ["entered", "c:C2"],
        ["entered", "e:guest@example.com"],
    ]
    # To a date without a snapshot: evaluated; C3 entered in April.
    result = _ok(
        store(
            "segment",
            "changes",
            "big",
            "--since",
            "2024-03-31",
            "--to",
            "2024-04-30",
            "--format",
            "json",
        )
    )
    assert "2024-04-30 (evaluated now)" in result.stderr
    [row] = json.loads(result.stdout)
    assert row["change"] == "entered" and row["person_key"] == "c:C3"
    # Figures at both dates: exact money, ISO dates.
    assert row["total_spent_from"] == 90 and row["total_spent_to"] == 190
    assert row["orders_count_from"] == 1 and row["orders_count_to"] == 2
    assert row["last_order_at_to"] == "2024-04-20T00:00:00Z"
    assert (row["from_date"], row["to_date"]) == ("2024-03-31", "2024-04-30")


def test_changes_without_dates_start_at_the_latest_snapshot(store):
    _ok(store("segment", "snapshot", "big", "--as-of", "2024-01-31"))
    _ok(store("segment", "snapshot", "big", "--as-of", "2024-02-29"))
    rows = _changes(store, "big", "--to", "2024-03-31")
    assert [(r["change"], r["person_key"], r["from_date"]) for r in rows] == [
        ("entered", "e:guest@example.com", "2024-02-29")
    ]


def test_people_who_left(store):
    # A segment people enter and leave: no counted order for 30 days or more.
    store.segment("quiet", "criteria:\n  days_since_last_order: {gte: 30}\n")
    # 5 Feb: C1's last order (10 Jan) is 26 days old, C3's (20 Jan) 16, C2 has none.
    # 15 Feb: C1's is 36 days old: C1 entered.
    rows = _changes(store, "quiet", "--from", "2024-02-05", "--to", "2024-02-15")
    assert [(r["change"], r["person_key"]) for r in rows] == [("entered", "c:C1")]
    # 1 Mar: C1 (51 days) and C3 (41) are in, C2 (ordered 10 Feb: 20 days) not.
    # 12 Mar: C1 ordered on 10 Mar and left; C2's order is 31 days old: entered.
    rows = _changes(
        store,
        "quiet",
        "--from",
        "2024-03-01",
        "--to",
        "2024-03-12",
        "--fields",
        "change,person_key,days_since_last_order_from,days_since_last_order_to",
    )
    assert [(r["change"], r["person_key"]) for r in rows] == [
        ("entered", "c:C2"),
        ("exited", "c:C1"),
    ]
    assert rows[1]["days_since_last_order_from"] == 51
    assert rows[1]["days_since_last_order_to"] == 2


# The changes of big from the end of January to the end of April: three people entered.
JAN_TO_APR = ("segment", "changes", "big", "--from", "2024-01-31", "--to", "2024-04-30")


def test_changes_output_formats_fields_and_files(store, segcli):
    out = segcli.dir / "changes.csv"
    fields = "change,first_name,total_spent_to,custom.tier"
    result = _ok(store(*JAN_TO_APR, "-o", out, "--fields", fields))
    assert result.stdout == ""
    assert "3 changes of big written to" in result.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    # Formula cells escaped as in exports (Cy's first name starts with =).
    assert out.read_text().splitlines() == [
        "change,first_name,total_spent_to,custom.tier",
        "entered,Bob,120.00,",
        "entered,'=Cy,190.00,",
        "entered,,300.00,",
    ]
    rows = json.loads(_ok(store(*JAN_TO_APR, "--subscribed-only", "--format", "json")).stdout)
    assert [r["person_key"] for r in rows] == ["c:C3"]
    result = _ok(store(*JAN_TO_APR, "--format", "jsonl"))
    assert [json.loads(line)["person_key"] for line in result.stdout.splitlines()] == [
        "c:C2",
        "c:C3",
        "e:guest@example.com",
    ]
    result = _ok(store(*JAN_TO_APR))
    assert [row[:2] for row in table_rows(result.stdout)] == [
        ["entered", "C2"],
        ["entered", "C3"],
        ["entered", ""],
    ]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--to", "2024-03-31"), 1, "big has no snapshot before 2024-03-31"),
        (("--since", "2024-01-01", "--from", "2024-01-01"), 2, "--since or --from"),
        (("--from", "2024-03-01", "--to", "2024-03-01"), 2, "is not before the end date"),
        (("--from", "2024-01-01", "--fields", "totl_spent_to"), 1, "did you mean 'total_spent_to'"),
        (("--from", "2024-01-01", "-o", "x.xlsx"), 2, "cannot write Excel"),
    ],
)
def test_changes_refuses_what_it_cannot_do(store, args, code, message):
    result = _ok(store("segment", "changes", "big", *args), code)
    assert message in result.stderr
    assert result.stdout == ""


def test_a_changed_definition_is_recorded_and_told(store):
    _ok(store("segment", "snapshot", "big", "--as-of", "2024-01-31"))
    store.segment("big", BIG.replace("gt: 100", "gt: 95"))
    _ok(store("segment", "snapshot", "big", "--as-of", "2024-03-31"))
    definitions = store.segcli.rows("SELECT definition FROM snapshots ORDER BY as_of")
    assert definitions[0] != definitions[1]
    result = _ok(store("segment", "changes", "big", "--to", "2024-03-31", "--format", "csv"))
    assert "definition is not the same at both dates" in result.stderr
    # The same date again with the changed definition replaces its snapshot: now with the
    # new meaning, C3's 90 is still not over 95.
    result = _ok(store("segment", "snapshot", "big", "--as-of", "2024-01-31", "-v"))
    assert "(replaced;" in result.stderr
    assert store.segcli.rows("SELECT count(DISTINCT definition) FROM snapshots") == [(1,)]


def test_definition_digest_is_the_meaning(tmp_path):
    directory = tmp_path / "segments"
    directory.mkdir()
    texts = {
        "a": "criteria:\n  total_spent: {gt: 500}\n",
        "b": "# a comment\ntitle: Another title\ncriteria:\n  total_spent: {gt: 500.00}\n",
        "c": "criteria:\n  total_spent: {gt: 501}\n",
        "d": "criteria:\n  in_segment: a\n",
    }
    for name, text in texts.items():
        (directory / f"{name}.yaml").write_text(text)
    catalog = open_catalog(directory)
    digest = {name: definition_digest(catalog.segments[name], catalog.segments) for name in texts}
    assert digest["a"] == digest["b"] != digest["c"]
    before = digest["d"]
    (directory / "a.yaml").write_text(texts["c"])
    catalog = open_catalog(directory)
    # A segment used through in_segment is part of the meaning.
    assert definition_digest(catalog.segments["d"], catalog.segments) != before


# -----------------------------------------------------------------------------------
# The guard


# A move of more than 50%, in segments of any size.
GUARD_50 = ("--max-change", "50", "--max-change-min", "0")


def test_the_guard_trips_and_writes_nothing(store, segcli):
    _ok(store("segment", "snapshot", "big", "--as-of", "2024-01-31"))
    before = store.segcli.rows("SELECT * FROM snapshots")
    # 1 -> 2 members is a move of 100%.
    result = _ok(
        store(
            "segment",
            "snapshot",
            "big",
            "--as-of",
            "2024-02-29",
            "--max-change",
            "50%",
            "--max-change-min",
            "0",
        ),
        4,
    )
    assert "big: 1 -> 2 members (100.0%) since 2024-01-31" in result.stderr
    assert store.segcli.rows("SELECT * FROM snapshots") == before
    out = segcli.dir / "big.csv"
    result = _ok(
        store("segment", "export", "big", "--as-of", "2024-02-29", "-o", out, *GUARD_50),
        4,
    )
    assert not out.exists() and result.stdout == ""
    log = segcli.dir / "hook.log"
    result = _ok(
        store(
            "segment",
            "changes",
            "big",
            "--to",
            "2024-02-29",
            *GUARD_50,
            "--exec",
            f"cat >> {log}",
        ),
        4,
    )
    assert not log.exists() and result.stdout == ""
    assert store.segcli.rows("SELECT count(*) FROM deliveries") == [(0,)]
    # Within the limit, all three go ahead.
    _ok(store("segment", "snapshot", "big", "--as-of", "2024-02-29", "--max-change", "100"))
    _ok(
        store("segment", "export", "big", "--as-of", "2024-02-29", "-o", out, "--max-change", "100")
    )
    assert out.exists()


def test_the_guard_leaves_small_segments_out(store):
    _ok(store("segment", "snapshot", "big", "--as-of", "2024-01-31"))
    # 1 -> 2 members: 100%, but under 20 members at both dates (the default floor).
    result = _ok(store("segment", "snapshot", "big", "--as-of", "2024-02-29", "--max-change", "5"))
    assert store.segcli.rows("SELECT count(*) FROM snapshots") == [(2,)]
    result = _ok(
        store(
            "segment",
            "snapshot",
            "big",
            "--as-of",
            "2024-03-31",
            "--max-change",
            "5",
            "--max-change-min",
            "3",
        ),
        4,
    )
    assert "big: 2 -> 3 members (50.0%) since 2024-02-29" in result.stderr
    # A segment without an earlier snapshot is said, not compared.
    result = _ok(
        store("segment", "snapshot", "everyone", "--as-of", "2024-03-31", "--max-change", "5")
    )
    assert "--max-change: everyone has no snapshot before 2024-03-31 yet" in result.stderr


def test_a_bad_percentage_is_a_usage_error(store):
    result = _ok(store("segment", "snapshot", "--max-change", "lots"), 2)
    assert "not a percentage" in result.stderr


# -----------------------------------------------------------------------------------
# Hooks


HOOK = """\
import json, os, sys
from pathlib import Path
event = json.load(sys.stdin)
assert event["person_key"] == os.environ["SEGCLI_PERSON_KEY"]
with open(sys.argv[1], "a") as log:
    log.write(f"{event['change']} {event['person_key']} {os.environ['SEGCLI_TOTAL_SPENT_TO']}\\n")
failing = Path(sys.argv[2])
if failing.exists() and event["person_key"] in failing.read_text().split():
    print("the mailer said no", file=sys.stderr)
    sys.exit(3)
"""


def _hook(segcli: Segcli) -> tuple[str, Path, Path]:
    """The hook's command, its log and the file listing the people it fails for."""
    script = segcli.write("hook.py", HOOK)
    log, failing = segcli.dir / "hook.log", segcli.dir / "failing.txt"
    return f"{sys.executable} {script} {log} {failing}", log, failing


def test_a_hook_runs_once_per_change_and_retries_only_failures(store):
    command, log, failing = _hook(store.segcli)
    failing.write_text("c:C3")
    args = JAN_TO_APR
    result = _ok(store(*args, "--exec", command), 5)
    assert result.stdout == ""
    assert "failed: entered c:C3: the command exited with 3: the mailer said no" in result.stderr
    assert "the command failed for 1 of 3 changes" in result.stderr
    assert sorted(log.read_text().splitlines()) == [
        "entered c:C2 120.00",
        "entered c:C3 190.00",
        "entered e:guest@example.com 300.00",
    ]
    # The next run runs it for C3 only; once it succeeded, nothing is left to run.
    failing.write_text("")
    log.write_text("")
    result = _ok(store(*args, "--exec", command))
    assert log.read_text().splitlines() == ["entered c:C3 190.00"]
    assert "(2 delivered before)" in result.stderr
    log.write_text("")
    _ok(store(*args, "--exec", command))
    assert log.read_text() == ""
    assert store.segcli.rows("SELECT count(*) FROM deliveries") == [(3,)]
    # Another command is another delivery: it gets every change.
    _ok(store(*args, "--exec", command + " --again"))
    assert len(log.read_text().splitlines()) == 3


@pytest.mark.only_engine("duckdb")
def test_two_deliveries_at_once_deliver_nothing_twice(store, segcli):
    slow = segcli.write(
        "slow.py",
        "import sys, time\nsys.stdin.read()\ntime.sleep(0.2)\n"
        "open(sys.argv[1], 'a').write(sys.argv[2] + '\\n')\n",
    )
    log = segcli.dir / "slow.log"
    base = [
        sys.executable,
        "-m",
        "segcli",
        "--db",
        str(segcli.db),
        "--segments",
        str(store.segments),
    ]
    runs = [
        subprocess.Popen(
            [
                *base,
                "segment",
                "changes",
                "big",
                "--from",
                "2024-01-31",
                "--to",
                "2024-04-30",
                "--exec",
                f'{sys.executable} {slow} {log} "$SEGCLI_PERSON_KEY"',
                "--jobs",
                "1",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "SEGCLI_ENGINE": "duckdb"},
        )
        for _ in range(2)
    ]
    for run in runs:
        assert run.wait(timeout=120) == 0, run.stderr.read() if run.stderr else ""
    assert sorted(log.read_text().splitlines()) == ["c:C2", "c:C3", "e:guest@example.com"]


# -----------------------------------------------------------------------------------
# Properties: changes are the difference of members; snapshots in any order agree


DAYS = [date(2024, 1, 15) + timedelta(days=20 * i) for i in range(6)]
SEGMENTS = {
    "big": BIG,
    "quiet": "criteria:\n  days_since_last_order: {gte: 30}\n",
    "pair": "criteria:\n  orders_count: 2\n",
}


@pytest.mark.slow
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    order=st.permutations(DAYS),
    taken=st.sets(st.sampled_from(DAYS), max_size=4),
    pair=st.tuples(st.sampled_from(DAYS), st.sampled_from(DAYS)).filter(lambda p: p[0] < p[1]),
    segment=st.sampled_from(sorted(SEGMENTS)),
)
def test_changes_are_the_difference_of_members_whatever_was_snapshotted(
    tmp_path_factory, order, taken, pair, segment
):
    segcli = Segcli(tmp_path_factory.mktemp("store"))
    store = segment_store(segcli, {"customers": CUSTOMERS, "orders": ORDERS}, SEGMENTS)
    for day in order:
        if day in taken:
            _ok(store("segment", "snapshot", segment, "--as-of", day.isoformat()))
    start, end = (day.isoformat() for day in pair)
    before, after = _members(store, segment, start), _members(store, segment, end)
    rows = _changes(store, segment, "--from", start, "--to", end)
    assert {r["person_key"] for r in rows if r["change"] == "entered"} == after - before
    assert {r["person_key"] for r in rows if r["change"] == "exited"} == before - after
    assert len(rows) == len(after ^ before)


@pytest.mark.slow
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(first=st.permutations(DAYS), second=st.permutations(DAYS))
def test_snapshots_taken_in_any_order_record_the_same_history(tmp_path_factory, first, second):
    histories = []
    for order in (first, second):
        segcli = Segcli(tmp_path_factory.mktemp("store"))
        store = segment_store(segcli, {"customers": CUSTOMERS, "orders": ORDERS}, SEGMENTS)
        for day in order:
            _ok(store("segment", "snapshot", "quiet", "big", "--as-of", day.isoformat()))
        histories.append(
            segcli.rows(
                "SELECT s.segment, s.as_of, s.members, s.entered, s.exited, p.person_key, "
                "c.change FROM snapshots s JOIN snapshot_changes c USING (snapshot_id) "
                "JOIN snapshot_people p USING (key_id) ORDER BY 1, 2, 6"
            )
        )
        # And each snapshot's members are those evaluated as of its date.
        for day in DAYS:
            rows = (
                _changes(store, "quiet", "--from", DAYS[0].isoformat(), "--to", day.isoformat())
                if day != DAYS[0]
                else []
            )
            assert len(rows) == len(
                _members(store, "quiet", DAYS[0].isoformat())
                ^ _members(store, "quiet", day.isoformat())
            )
    assert histories[0] == histories[1]


# -----------------------------------------------------------------------------------
# History


def _history(store: SegmentStore, *args: str) -> list[dict]:
    return json.loads(_ok(store("segment", "history", *args, "--format", "json")).stdout)


def _count(store: SegmentStore, segment: str, day: str) -> int:
    result = _ok(store("segment", "calculate", segment, "--as-of", day, "--format", "json"))
    return json.loads(result.stdout)[0]["count"]


def test_history_is_the_members_and_changes_at_each_date(store):
    store.segment("quiet", "criteria:\n  days_since_last_order: {gte: 30}\n")
    _ok(store("segment", "snapshot", "quiet", "--as-of", "2024-03-12"))
    rows = _history(store, "quiet", "--from", "2024-02-01", "--to", "2024-04-25", "--every", "week")
    days = [row["date"] for row in rows]
    # Counted back from --to: 25 April, 18 April, ... 1 February.
    assert days[0] == "2024-02-01" and days[-1] == "2024-04-25"
    assert all(
        date.fromisoformat(b) - date.fromisoformat(a) == timedelta(days=7)
        for a, b in zip(days, days[1:], strict=False)
    )
    assert rows[0]["entered"] is None and rows[0]["exited"] is None
    for before, row in zip(rows, rows[1:], strict=False):
        assert row["members"] == _count(store, "quiet", row["date"])
        changes = _changes(store, "quiet", "--from", before["date"], "--to", row["date"])
        assert row["entered"] == sum(1 for c in changes if c["change"] == "entered")
        assert row["exited"] == sum(1 for c in changes if c["change"] == "exited")
    sources = {row["date"]: row["source"] for row in rows}
    assert sources.pop("2024-03-14") == "evaluated"
    assert set(sources.values()) == {"evaluated"}
    # A date with a snapshot is read from it.
    rows = _history(store, "quiet", "--from", "2024-03-05", "--to", "2024-03-12", "--every", "day")
    assert [r["source"] for r in rows][-1] == "snapshot"
    assert rows[-1]["members"] == _count(store, "quiet", "2024-03-12")


def test_history_of_the_lifecycle_stages(store):
    rows = _history(store, "--lifecycle", "--to", "2024-04-30", "--every", "month")
    assert [row["date"] for row in rows][-3:] == ["2024-02-29", "2024-03-30", "2024-04-30"]
    for row in rows[-3:]:
        stages = {name: count for name, count in row.items() if name != "date"}
        assert len(stages) == 7
        assert sum(stages.values()) == _count(store, "everyone", row["date"])
        assert stages["first-time-buyers"] == _count(store, "first-time-buyers", row["date"])


def test_history_charts_only_when_asked_off_a_terminal(store):
    args = (
        "segment",
        "history",
        "big",
        "--from",
        "2024-01-30",
        "--to",
        "2024-04-30",
        "--every",
        "month",
    )
    plain = _ok(store(*args)).stdout
    assert "█" not in plain
    charted = _ok(store(*args, "--chart")).stdout
    rows = table_rows(charted)
    # 30 Jan, 29 Feb, 30 Mar, 30 Apr (a month back from 30 April each time): members
    # 1, 2, 3, 4 as worked by hand; bars of 10, 20, 30 and 40 cells.
    assert [row[1] for row in rows] == ["1", "2", "3", "4"]
    assert [row[-1] for row in rows] == ["█" * 10, "█" * 20, "█" * 30, "█" * 40]
    stacked = _ok(
        store(
            "segment", "history", "--lifecycle", "--to", "2024-04-30", "--every", "month", "--chart"
        )
    ).stdout
    last = table_rows(stacked)[-1]
    assert len(last[-1]) == 40 and set(last[-1]) <= set("FARIPCU")
    assert "F first-time-buyers" in stacked


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give a SEGMENT or --lifecycle"),
        (("big", "--lifecycle"), "give a SEGMENT or --lifecycle"),
        (("big", "--from", "2024-05-01", "--to", "2024-04-01"), "is after --to"),
    ],
)
def test_history_usage_errors(store, args, message):
    result = _ok(store("segment", "history", *args), 2)
    assert message in result.stderr


def test_history_points_by_the_calendar():
    from segcli.segments.history import points

    assert points(date(2024, 3, 31), "month", date(2024, 1, 1)) == [
        date(2024, 1, 31),
        date(2024, 2, 29),
        date(2024, 3, 31),
    ]
    assert len(points(date(2024, 3, 31), "week", None)) == 13
    assert len(points(date(2024, 3, 31), "day", None)) == 31
    assert points(date(2024, 3, 31), "day", date(2024, 3, 31)) == [date(2024, 3, 31)]


@pytest.mark.only_engine("duckdb")
def test_the_members_cache_is_only_a_shortcut(store, segcli):
    cache = Path(f"{segcli.db}.analytic") / "snapshot-members.parquet"
    _ok(store("segment", "snapshot", "big", "--as-of", "2024-01-31"))
    assert cache.exists() and stat.S_IMODE(cache.stat().st_mode) == 0o600
    stale = cache.read_bytes()
    # The snapshot of 31 January taken again with another meaning (C3's 90 is over 80):
    # the cache of the old one, put back, no longer names the snapshot's members.
    store.segment("big", BIG.replace("gt: 100", "gt: 80"))
    _ok(store("segment", "snapshot", "big", "--as-of", "2024-01-31"))
    cache.write_bytes(stale)
    _ok(store("segment", "snapshot", "big", "--as-of", "2024-02-29"))
    # 31 Jan: C1, C3; 29 Feb: C1, C2, C3. Only C2 entered.
    assert store.segcli.rows(
        "SELECT p.person_key, c.change FROM snapshot_changes c JOIN snapshots s "
        "USING (snapshot_id) JOIN snapshot_people p USING (key_id) WHERE s.as_of = '2024-02-29'"
    ) == [("c:C2", 1)]
    # A damaged cache is read as none.
    cache.write_bytes(b"not parquet")
    _ok(store("segment", "snapshot", "big", "--as-of", "2024-03-31"))
    assert store.segcli.rows(
        "SELECT p.person_key, c.change FROM snapshot_changes c JOIN snapshots s "
        "USING (snapshot_id) JOIN snapshot_people p USING (key_id) WHERE s.as_of = '2024-03-31'"
    ) == [("e:guest@example.com", 1)]

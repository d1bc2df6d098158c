"""segcli customer show through the CLI (SPEC 1, 3): one person, their figures, their
segments, and --explain, whose verdict must agree with the segment's members.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest

from tests.conftest import SegmentStore, segment_store, table_rows

pytestmark = pytest.mark.both_engines

AS_OF = "2024-06-30"

FILES = {
    "customers": """\
customer_id,email,first_name,last_name,created_at,accepts_marketing,country,tags,tier
C1,Ann@Example.com,Ann,Lee,2024-01-01,yes,DE,"vip, gold",gold
C2,bob@example.com,Bob,Stone,2024-01-02,no,US,,7
C3,cy@example.com,Cy,Young,2024-01-03,yes,US,,
C4,dee@example.com,Dee,Park,2024-01-04,no,FR,,
C5,eve@example.com,Eve,Moss,2024-01-05,no,NO,,
""",
    "orders": """\
order_id,customer_id,email,created_at,total,status
O1,C1,,2024-01-05,1200,paid
O2,C1,,2024-02-05,34.5,paid
O3,C2,,2024-03-01,-10,paid
O4,,guest@example.com,2024-03-02,50,cancelled
O5,C5,,2024-05-01T10:30:00,0.0001,
""",
    "items": """\
order_id,product_id,title,collection,quantity,price
O1,P1,Mug,Kitchen,2,600
O2,P2,Tea,,1,34.5
O3,P1,Mug,Kitchen,-1,10
O5,P3,Pin,,1,0.0001
""",
    "reviews": """\
customer_id,email,product_id,rating,created_at
C1,,P1,5,2024-01-20
C2,,P1,2,2024-03-05
""",
    "carts": """\
customer_id,email,created_at,total
C4,,2024-04-01,20
""",
}

VIP = "title: VIP\ncriteria:\n  total_spent: {gt: 100}\n"
EXPLAINED = """\
title: Explained
criteria:
  any:
    - all:
        - total_spent: {gt: 100}
        - reviewed: {rating: {gte: 4}}
    - all:
        - purchased: {product: P1, times: {gte: 1}}
        - not: {accepts_marketing: true}
    - abandoned_cart: true
"""


Store = SegmentStore


@pytest.fixture
def store(segcli) -> Store:
    return segment_store(segcli, FILES, {"vip": VIP, "explained": EXPLAINED})


def shown(store, key, *options, warnings: list[str] = ()):
    """The person as JSON; stderr holds exactly ``warnings`` (names the store lacks)."""
    result = store("customer", "show", key, "--as-of", AS_OF, "--format", "json", *options)
    assert result.exit_code == 0, result.stderr
    assert [line.split(": ", 2)[-1] for line in result.stderr.splitlines()] == list(warnings)
    # Money and averages are JSON numbers with exact digits: read them as Decimals.
    return json.loads(result.stdout, parse_float=Decimal)


def person_rows(stdout: str) -> list[list[str]]:
    """The person's own table, the first one: a field and its value on each line."""
    rows = stdout.split("\n\n")[0].splitlines()[1:]
    return [re.split(r"  +", row, maxsplit=1) for row in rows]


C1 = {
    "person_key": "c:C1",
    "as_of": AS_OF,
    "customer_id": "C1",
    "email": "ann@example.com",
    "first_name": "Ann",
    "last_name": "Lee",
    "created_at": "2024-01-01T00:00:00Z",
    "accepts_marketing": True,
    "country": "DE",
    "region": None,
    "city": None,
    "customer_group": None,
    "channel": None,
    "tags": ["vip", "gold"],
    "orders_count": 2,
    "total_spent": Decimal("1234.50"),
    "first_order_at": "2024-01-05T00:00:00Z",
    "last_order_at": "2024-02-05T00:00:00Z",
    "days_since_last_order": 146,
    "lifecycle": "inactive-repeat",
    "average_order_value": Decimal("617.25"),
    "custom": {"tier": "gold"},
    "recent_orders": [
        {
            "order_id": "O2",
            "created_at": "2024-02-05T00:00:00Z",
            "status": "paid",
            "total": Decimal("34.50"),
            "counted": True,
        },
        {
            "order_id": "O1",
            "created_at": "2024-01-05T00:00:00Z",
            "status": "paid",
            "total": Decimal("1200.00"),
            "counted": True,
        },
    ],
    "segments": [
        "everyone",
        "all-customers",
        "repeat-customers",
        "inactive-repeat",
        "explained",
        "vip",
    ],
}


def test_show_by_customer_id_as_json(store):
    assert shown(store, "C1") == C1


@pytest.mark.parametrize("key", ["ann@example.com", "ANN@EXAMPLE.COM", "  Ann@Example.Com "])
def test_show_by_email_in_any_case(store, key):
    assert shown(store, key) == C1


def test_show_a_guest_by_email(store):
    guest = shown(store, "Guest@Example.com")
    assert guest["person_key"] == "e:guest@example.com"
    assert guest["customer_id"] is None
    assert guest["orders_count"] == 0
    assert guest["total_spent"] == Decimal("0.00")
    assert guest["average_order_value"] is None
    assert guest["lifecycle"] == "unengaged"
    # The cancelled order is listed, but not counted.
    assert guest["recent_orders"] == [
        {
            "order_id": "O4",
            "created_at": "2024-03-02T00:00:00Z",
            "status": "cancelled",
            "total": Decimal("50.00"),
            "counted": False,
        }
    ]
    assert guest["segments"] == ["everyone", "unengaged"]


def test_show_by_an_email_shared_by_two_customers(segcli):
    # The customer id that sorts first (as text: C10 before C2) owns the email.
    customers = (
        "customer_id,email,first_name\nC2,shared@example.com,Two\nC10,shared@example.com,Ten\n"
    )
    result = segcli("import", "customers", segcli.write("customers.csv", customers))
    assert result.exit_code == 0
    shown = segcli("customer", "show", "Shared@Example.com", "--format", "json")
    assert shown.exit_code == 0, shown.stderr
    assert shown.stderr == ""
    data = json.loads(shown.stdout)
    assert (data["person_key"], data["first_name"]) == ("c:C10", "Ten")


def test_show_table_on_stdout(store):
    result = store("customer", "show", "C1", "--as-of", AS_OF)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.startswith(f"C1 as of {AS_OF}\n")
    rows = person_rows(result.stdout)
    assert ["lifecycle", "inactive-repeat"] in rows
    # Money for people: to the cent, with thousands separators.
    assert ["total_spent", "1,234.50"] in rows
    assert ["average_order_value", "617.25"] in rows
    assert ["custom.tier", "gold"] in rows
    assert [
        "segments",
        "everyone, all-customers, repeat-customers, inactive-repeat, explained, vip",
    ] in rows
    assert "\n\nRecent orders\n" in result.stdout
    assert table_rows(result.stdout) == [
        ["O2", "2024-02-05 00:00:00", "paid", "34.50", "yes"],
        ["O1", "2024-01-05 00:00:00", "paid", "1,200.00", "yes"],
    ]


def test_show_table_rounds_money_to_the_cent_for_display_only(store):
    result = store("customer", "show", "C5", "--as-of", AS_OF)
    assert result.exit_code == 0, result.stderr
    rows = person_rows(result.stdout)
    assert ["total_spent", "0.00"] in rows
    assert ["average_order_value", "0.00"] in rows
    assert table_rows(result.stdout) == [["O5", "2024-05-01 10:30:00", "", "0.00", "yes"]]
    exact = shown(store, "C5")
    assert (exact["total_spent"], exact["recent_orders"][0]["total"]) == (
        Decimal("0.0001"),
        Decimal("0.0001"),
    )


@pytest.mark.parametrize("key", ["nobody@example.com", "C9", "c1"])
@pytest.mark.no_engine
def test_show_unknown_key(store, key):
    result = store("customer", "show", key)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == f"Error: no person with customer id or email {key!r}\n"


def test_show_as_of_leaves_out_later_orders(store):
    early = store("customer", "show", "C1", "--as-of", "2024-01-31", "--format", "json")
    assert early.exit_code == 0, early.stderr
    data = json.loads(early.stdout, parse_float=Decimal)
    assert data["as_of"] == "2024-01-31"
    assert data["orders_count"] == 1
    assert data["total_spent"] == Decimal("1200.00")
    assert data["days_since_last_order"] == 26
    assert data["lifecycle"] == "first-time-buyers"
    assert [order["order_id"] for order in data["recent_orders"]] == ["O1"]
    assert data["segments"] == [
        "everyone",
        "all-customers",
        "first-time-buyers",
        "explained",
        "vip",
    ]


def test_show_person_not_yet_known(store):
    result = store("customer", "show", "C5", "--as-of", "2024-01-04")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "Error: C5 was not yet known on 2024-01-04 (see --as-of)\n"
    known = store("customer", "show", "C5", "--as-of", "2024-01-05", "--format", "json")
    assert known.exit_code == 0
    assert json.loads(known.stdout)["lifecycle"] == "unengaged"


@pytest.mark.no_engine
def test_show_missing_database(segcli):
    result = segcli("customer", "show", "C1")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"Error: no database at {segcli.db}\n")
    assert not segcli.db.exists()


# --- --explain -----------------------------------------------------------------------


def test_explain_shows_each_criterion_with_actual_value(store):
    data = shown(store, "C2", "--explain", "explained")
    assert data["explain"] == {
        "segment": "explained",
        "member": True,
        "criteria": [
            {"depth": 0, "criterion": "any of", "actual": "", "passed": True},
            {"depth": 1, "criterion": "all of", "actual": "", "passed": False},
            {
                "depth": 2,
                "criterion": "total_spent is more than 100",
                "actual": "-10.00",
                "passed": False,
            },
            {
                "depth": 2,
                "criterion": "reviewed a product with rating is at least 4",
                "actual": "0 matching reviews",
                "passed": False,
            },
            {"depth": 1, "criterion": "all of", "actual": "", "passed": True},
            {
                "depth": 2,
                "criterion": "purchased product P1 (orders is at least 1)",
                "actual": "1 matching order",
                "passed": True,
            },
            {"depth": 2, "criterion": "not", "actual": "", "passed": True},
            {
                "depth": 3,
                "criterion": "accepts_marketing is true",
                "actual": "false",
                "passed": False,
            },
            {
                "depth": 1,
                "criterion": "abandoned a cart",
                "actual": "0 matching carts",
                "passed": False,
            },
        ],
    }


def test_explain_table_on_stdout(store):
    result = store("customer", "show", "C3", "--as-of", AS_OF, "--explain", "explained")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert "\n\nexplained: C3 is not a member\n" in result.stdout
    # C3 has no orders: the explanation is the only table with a header.
    assert table_rows(result.stdout) == [
        ["any of", "", "fail"],
        ["all of", "", "fail"],
        ["total_spent is more than 100", "0.00", "fail"],
        ["reviewed a product with rating is at least 4", "0 matching reviews", "fail"],
        ["all of", "", "fail"],
        ["purchased product P1 (orders is at least 1)", "0 matching orders", "fail"],
        ["not", "", "fail"],
        ["accepts_marketing is true", "true", "pass"],
        ["abandoned a cart", "0 matching carts", "fail"],
    ]


@pytest.mark.parametrize("segment", ["explained", "vip", "first-time-buyers", "explained.yaml"])
def test_explain_verdict_matches_export(store, segment):
    argument = str(store.segments / segment) if segment.endswith(".yaml") else segment
    exported = store("segment", "export", argument, "--as-of", AS_OF, "--fields", "person_key")
    assert exported.exit_code == 0, exported.stderr
    members = set(exported.stdout.splitlines()[1:])
    keys = ["C1", "C2", "C3", "C4", "C5", "guest@example.com"]
    verdicts = {}
    for key in keys:
        data = shown(store, key, "--explain", argument)
        verdicts[data["person_key"]] = data["explain"]["member"]
        assert data["explain"]["criteria"][0]["passed"] == data["explain"]["member"]
    assert {key for key, member in verdicts.items() if member} == members
    if segment.startswith("explained"):
        assert members == {"c:C1", "c:C2", "c:C4"}


def test_explain_shows_a_long_list_by_its_first_values(store):
    """A list of more than ten values is shown by its first eight and how many more: a
    suppression list of thousands would fill the screen. Ten are shown whole."""
    emails = [f"someone{n}@example.com" for n in range(40)] + ["BOB@example.com"]
    products = [f"X{n}" for n in range(11)] + ["P1"]
    statuses = [f"s{n}" for n in range(10)]
    store.segment(
        "long-lists",
        "title: Long lists\ncriteria:\n  all:\n"
        f"    - email: {{in: [{', '.join(emails)}]}}\n"
        f"    - purchased: {{product: [{', '.join(products)}]}}\n"
        f"    - not: {{has_order: {{status: [{', '.join(statuses)}]}}}}\n",
    )
    # Ten names of a kind the store lacks are warned about one by one, the rest at once.
    lacked = [
        *(
            f"no line item or product has product 'X{n}'; the store's products include "
            "'P1', 'Mug', 'P2'"
            for n in range(10)
        ),
        *(
            f"no order has status 's{n}'; the store's statuses include 'paid', 'cancelled'"
            for n in range(10)
        ),
        "and 1 more product that no line item or product has, such as 'X10'",
    ]
    criteria = shown(store, "C2", "--explain", "long-lists", warnings=lacked)
    criteria = criteria["explain"]["criteria"]
    first = ", ".join(emails[:8])
    assert [c["criterion"] for c in criteria] == [
        "all of",
        f"email is one of [{first}, and 33 more]",
        f"purchased product {', '.join(products[:8])} or one of 4 more",
        "not",
        f"has an order with status {' or '.join(statuses)}",
    ]
    assert [c["passed"] for c in criteria] == [True, True, True, True, False]


@pytest.mark.no_engine
def test_explain_unknown_segment(store):
    result = store("customer", "show", "C1", "--explain", "vpi")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "Error: unknown segment 'vpi'\n  hint: did you mean 'vip'?\n"


@pytest.mark.parametrize(
    "files",
    [
        {"ref": "criteria:\n  in_segment: vipp\n"},
        {"a": "criteria:\n  in_segment: b\n", "b": "criteria:\n  in_segment: a\n"},
    ],
    ids=["unknown-in-segment", "cycle"],
)
def test_show_survives_a_broken_in_segment_file(store, files):
    for name, text in files.items():
        store.segment(name, text)
    result = store("customer", "show", "C1", "--as-of", AS_OF, "--format", "json")
    assert "unexpected error" not in result.stderr
    assert result.exit_code == 0
    assert json.loads(result.stdout)["segments"] == C1["segments"]

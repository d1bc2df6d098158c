"""Helpers that several test modules use: reading the store back, and reading what
segcli printed. (The CLI runner and file writers are in conftest.py.)"""

from __future__ import annotations

import ast
import json
import re
import sqlite3
from contextlib import closing

# The fields of a person by type, as conditions name them.
TEXT_FIELDS = [
    "customer_id",
    "email",
    "first_name",
    "last_name",
    "email_domain",
    "country",
    "region",
    "city",
    "customer_group",
    "channel",
]
DATE_FIELDS = ["created_at", "first_order_at", "last_order_at"]


def records(segcli, sql: str) -> list[dict]:
    """The rows of a query as dicts by column name, with JSON columns decoded."""
    with closing(sqlite3.connect(segcli.db)) as conn:
        cursor = conn.execute(sql)
        names = [column[0] for column in cursor.description]
        found = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    for record in found:
        for name in ("tags", "custom"):
            if name in record:
                record[name] = json.loads(record[name])
    return found


def people_of(conn: sqlite3.Connection, *, with_ids: bool = False) -> list:
    """Every person with their attributes and their records' keys, by person_key."""
    person_id = "p.person_id, " if with_ids else ""
    return conn.execute(
        f"""
        SELECT {person_id}p.person_key, p.email, p.first_name, p.created_at, p.first_seen_at,
            p.customer_accepts_marketing, p.tags,
            (SELECT group_concat(order_id) FROM
                (SELECT order_id FROM orders WHERE person_id = p.person_id ORDER BY 1)),
            (SELECT group_concat(record_key) FROM
                (SELECT record_key FROM subscribers WHERE person_id = p.person_id ORDER BY 1)),
            (SELECT group_concat(record_key) FROM
                (SELECT record_key FROM carts WHERE person_id = p.person_id ORDER BY 1)),
            (SELECT group_concat(record_key) FROM
                (SELECT record_key FROM reviews WHERE person_id = p.person_id ORDER BY 1)),
            (SELECT group_concat(record_key) FROM
                (SELECT record_key FROM customers WHERE person_id = p.person_id ORDER BY 1)),
            p.country
        FROM people p ORDER BY person_key
        """
    ).fetchall()


def assert_summary(result, path, *, read, inserted=0, updated=0, unchanged=0, rejected=0):
    pattern = (
        rf"^{re.escape(str(path))}: {read} rows? read: {inserted} inserted, {updated} updated, "
        rf"{unchanged} unchanged, {rejected} rejected$"
    )
    assert re.search(pattern, result.stderr, re.MULTILINE), result.stderr


def assert_line(result, text: str) -> None:
    """One whole line of stderr is ``text``."""
    assert text in result.stderr.splitlines(), result.stderr


def split_sql(stdout: str) -> tuple[str, dict]:
    """The printed SQL and its parameters (parsed back from their Python literals)."""
    sql, _, listed = stdout.partition("-- parameters:\n")
    params = {}
    for line in listed.splitlines():
        match = re.fullmatch(r"--   :(\w+) = (.*)", line)
        assert match, line
        params[match[1]] = ast.literal_eval(match[2])
    return sql, params


def exported_keys(run, segment: str, day: str, *options: str) -> set[str]:
    """The person keys ``segment export`` writes as of ``day`` (``run`` runs segcli)."""
    result = run(
        *options,
        "segment",
        "export",
        segment,
        "--as-of",
        day,
        "--fields",
        "person_key",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.stderr
    return {row["person_key"] for row in json.loads(result.stdout)}

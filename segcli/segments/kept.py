"""Kept sets of people: computed once, and kept with the stored facts for the next command.

A condition such as "purchased from a collection" or "has an order with status refunded"
costs a pass over millions of records. The compiler gives each such set of people apart
(``compile.PeopleSet``: its SQL and its own parameters); an evaluation computes each one
once into a temporary table, and ``keep`` stores those it computed beside the stored
facts they were computed from (tables ``facts_sets`` and ``facts_sets_key``), where the
next command of the same facts reads them instead. They go when the facts are replaced.
"""

from __future__ import annotations

import sqlite3

from segcli.errors import StoreError
from segcli.rules.compile import PeopleSet
from segcli.store.db import Store, cannot_write

# Kept sets of people hold at most this many rows per person of the facts, about the
# facts' own size (a row is some 12 bytes, a person's facts some 250): a store with
# hundreds of segments does not grow without bound. Sets over it are computed each time.
KEPT_ROWS_PER_PERSON = 20
# ...but never less room than this (about 1 MB): a small store, or a date before most of
# its people, keeps every set.
KEPT_ROWS_AT_LEAST = 100_000


class KeptSets:
    """The sets of people of one evaluation: read as kept, or computed and kept."""

    def __init__(self, store: Store, facts_key: str | None, people: int):
        self.store = store
        # The key of the stored facts the sets go with (None: the evaluation built its
        # own facts, and keeps nothing).
        self.facts_key = facts_key
        self.people = people
        # By digest: the SQL that reads each set; and those computed here, for keep().
        self._placed: dict[str, str] = {}
        self._fresh: dict[str, str] = {}

    def place(self, people: PeopleSet) -> str:
        """SQL reading a set of people: kept by an earlier command of these facts, or
        computed now into a temporary table (once per evaluation)."""
        digest = people.digest
        if digest in self._placed:
            return self._placed[digest]
        stored = self._stored(digest)
        if stored is not None:
            found = f"SELECT person_id FROM main.facts_sets WHERE set_id = {stored}"
        else:
            table = f"people_set_{len(self._fresh) + 1}"
            run = self.store.execute
            run(f"DROP TABLE IF EXISTS temp.{table}")
            run(f"CREATE TEMP TABLE {table} (person_id INTEGER PRIMARY KEY)")
            run(
                f"INSERT OR IGNORE INTO temp.{table} "
                f"SELECT person_id FROM ({people.sql}) WHERE person_id IS NOT NULL",
                people.params,
            )
            self._fresh[digest] = table
            found = f"SELECT person_id FROM temp.{table}"
        self._placed[digest] = found
        return found

    def _stored(self, digest: str) -> int | None:
        if self.facts_key is None:
            return None
        row = self.store.execute(
            "SELECT set_id FROM main.facts_sets_key WHERE digest = ? AND facts_key = ?",
            (digest, self.facts_key),
        ).fetchone()
        return None if row is None else int(row[0])

    def keep(self) -> None:
        """Store the sets computed here with the stored facts, for the next command of
        the same facts. Skipped when the database cannot be written at once or the stored
        facts changed meanwhile: the next command computes them.

        It ends the evaluation's read of one state of the database."""
        if not self._fresh or self.facts_key is None:
            return
        store = self.store
        store.end_reading()
        try:
            with store.not_waiting(), store.transaction():
                if not self._facts_still_stored():
                    return
                self._store_fresh()
        except StoreError:
            pass
        except sqlite3.Error as error:
            if not cannot_write(error):
                raise
        self._fresh.clear()

    def _facts_still_stored(self) -> bool:
        return (
            self.store.execute(
                "SELECT 1 FROM main.facts_cache_key WHERE key = ?", (self.facts_key,)
            ).fetchone()
            is not None
        )

    def _store_fresh(self) -> None:
        store = self.store
        room = max(KEPT_ROWS_PER_PERSON * self.people, KEPT_ROWS_AT_LEAST) - store.scalar(
            "SELECT count(*) FROM main.facts_sets"
        )
        for digest, table in self._fresh.items():
            if self._stored(digest) is not None:
                continue
            rows = store.scalar(f"SELECT count(*) FROM temp.{table}")
            if rows > room:
                continue
            room -= rows
            set_id = store.execute(
                "INSERT INTO main.facts_sets_key (digest, facts_key) VALUES (?, ?) "
                "RETURNING set_id",
                (digest, self.facts_key),
            ).fetchone()[0]
            store.execute(
                f"INSERT INTO main.facts_sets SELECT ?, person_id FROM temp.{table}", (set_id,)
            )

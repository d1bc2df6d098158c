"""People and identity resolution (SPEC 2.2), derived from the stored records.

People are a pure function of what is stored, never of the order files came in. After an
import only what the file touched is derived again (``resolve_touched``): the customer
ids and emails of the records it inserted or changed, before and after the change, and
everything they lead to. ``resolve_people`` derives everyone from scratch; the two agree
(tests check it), and a file that touches about as many ids and emails as there are people
uses the whole derivation, which is faster at that size. Only rows whose person or
attributes change are written, and person ids of people who stay are kept.

Records are linked to their person as they are written (``linked_person``), so that a
touched id or email whose person cannot change (``_set_settled_aside``: most of those an
orders, reviews or subscribers file touches) costs a look-up, not a derivation and a
second write of its records.
"""

from __future__ import annotations

from collections.abc import Callable

from segcli.store.db import Store, create_indexes, is_empty, set_indexes_aside

# Every record that names a person, with the date used to pick the newest email.
_ID_REFERENCES = """
    SELECT customer_id, email, 0 AS source, created_at AS seen_at FROM customers
        WHERE customer_id IS NOT NULL
    UNION ALL SELECT customer_id, email, 1, created_at FROM orders WHERE customer_id IS NOT NULL
    UNION ALL SELECT customer_id, email, 1, created_at FROM reviews WHERE customer_id IS NOT NULL
    UNION ALL SELECT customer_id, email, 1, created_at FROM carts WHERE customer_id IS NOT NULL
"""

_EMAIL_ONLY_REFERENCES = """
    SELECT email FROM customers WHERE customer_id IS NULL
    UNION SELECT email FROM orders WHERE customer_id IS NULL AND email IS NOT NULL
    UNION SELECT email FROM reviews WHERE customer_id IS NULL AND email IS NOT NULL
    UNION SELECT email FROM carts WHERE customer_id IS NULL AND email IS NOT NULL
    UNION SELECT email FROM subscribers
"""

_RECORD_TABLES = ("customers", "orders", "reviews", "carts")

# The customer id that owns the email ``e.email``: the first of those whose person has it
# (NULL: none does, and the email is a guest's if any record names it).
_EMAIL_OWNER = """(SELECT min(customer_id) FROM people
    WHERE email = e.email AND customer_id IS NOT NULL)"""


# A file that touches as many ids and emails as there are people (or more) has everyone
# derived again: set-based SQL over whole tables is then faster than following each id
# and email (at 100,000 people, following 24,000 took 1.5 s and deriving everyone 4.5 s).
WHOLE_DERIVATION_SHARE = 1.0

_TEMP_TABLES = (
    "customer_emails",
    "resolved_ids",
    "email_owners",
    "resolved_people",
    "email_people",
    "attrs",
    "id_emails",
    "email_state",
    "email_links",
    "affected",
    "settled_ids",
    "settled_emails",
    "settled",
    "open_ids",
    "open_emails",
)


def start_touching(store: Store) -> None:
    """Create the (empty) lists of customer ids and emails an import touches."""
    for name in ("touched_ids", "touched_emails", "touched_people"):
        store.execute(f"DROP TABLE IF EXISTS temp.{name}")
    store.execute("CREATE TEMP TABLE touched_ids (customer_id TEXT PRIMARY KEY) WITHOUT ROWID")
    store.execute("CREATE TEMP TABLE touched_emails (email TEXT PRIMARY KEY) WITHOUT ROWID")
    store.execute("CREATE TEMP TABLE touched_people (person_id INTEGER PRIMARY KEY)")


def touch(store: Store, table: str, where: str = "true", source: str | None = None) -> None:
    """Note the customer ids and emails of a record table's rows (``where`` picks them).

    Rows of the stored table (no ``source``) are noted before they change: their people
    too, who may lose a record.
    """
    if source is None:
        source = f"main.{table}"
        store.execute(
            f"""INSERT OR IGNORE INTO temp.touched_people SELECT person_id FROM {source}
            WHERE person_id IS NOT NULL AND ({where})"""
        )
    # A record with a customer id belongs to that id's person whatever its email: its
    # email counts only through the id's (resolve_touched follows the id's emails).
    guest = ""
    if table != "subscribers":
        store.execute(
            f"""INSERT OR IGNORE INTO temp.touched_ids SELECT customer_id FROM {source}
            WHERE customer_id IS NOT NULL AND ({where})"""
        )
        guest = "customer_id IS NULL AND "
    store.execute(
        f"""INSERT OR IGNORE INTO temp.touched_emails SELECT email FROM {source}
        WHERE {guest}email IS NOT NULL AND ({where})"""
    )


def linked_person(customer_id: str | None, email: str) -> str:
    """SQL of the person a record is linked to as it is written, given the SQL of its
    customer id (None: its kind has none) and of its email: its customer id's person,
    else its email's (the first customer id's that has it, else the guest's).

    That is the person as stored before the file: resolution then derives again the ids
    and emails the file touched, and relinks their records where it must. A record of a
    settled id or email (``_set_settled_aside``) keeps this link: that person stays.
    """
    by_email = f"""(SELECT person_id FROM main.people WHERE email = {email}
        ORDER BY customer_id IS NULL, customer_id LIMIT 1)"""
    if customer_id is None:
        return by_email
    return f"""CASE WHEN {customer_id} IS NULL THEN {by_email}
        ELSE (SELECT person_id FROM main.people WHERE customer_id = {customer_id}) END"""


def _drop_temp_tables(store: Store) -> None:
    for name in _TEMP_TABLES:
        store.execute(f"DROP TABLE IF EXISTS temp.{name}")


def resolve_touched(store: Store, before_attributes: Callable[[], None] | None = None) -> None:
    """Derive again the people of the touched customer ids and emails (see the docstring).

    ``before_attributes`` runs once every record is linked, before people's attributes are
    copied (the importer builds its person indexes there).
    """
    _drop_temp_tables(store)
    people = store.scalar("SELECT count(*) FROM people")
    settled = _set_settled_aside(store) if people else 0
    touched = sum(
        store.scalar(f"SELECT count(*) FROM temp.{name}")
        for name in ("touched_ids", "touched_emails", "touched_people")
    )
    if not touched and not settled:
        if before_attributes is not None:
            before_attributes()
        return
    if touched >= WHOLE_DERIVATION_SHARE * people:
        resolve_people(store, before_attributes)
        return
    store.wrote("people")
    run = store.execute
    # A customer id's email: its customer row's, else that of its newest record. '' when
    # its records have no email, NULL when it has no records left.
    references = " UNION ALL ".join(
        f"SELECT email, {0 if table == 'customers' else 1} AS source, created_at AS seen_at "
        f"FROM main.{table} WHERE customer_id = t.customer_id"
        for table in _RECORD_TABLES
    )
    run(
        f"""
        CREATE TEMP TABLE id_emails AS
        SELECT t.customer_id, (
            SELECT coalesce(email, '') FROM ({references})
            ORDER BY email IS NULL, source, seen_at DESC NULLS LAST, email LIMIT 1
        ) AS found
        FROM temp.touched_ids t
        """
    )
    # An email a touched customer id had or now has may change hands.
    run(
        """INSERT OR IGNORE INTO temp.touched_emails
        SELECT email FROM people
        WHERE customer_id IN (SELECT customer_id FROM temp.touched_ids) AND email IS NOT NULL
        UNION SELECT found FROM temp.id_emails WHERE found != ''"""
    )
    run(
        """DELETE FROM people
        WHERE customer_id IN (SELECT customer_id FROM temp.id_emails WHERE found IS NULL)"""
    )
    run(
        """
        INSERT INTO people (person_key, customer_id, email)
        SELECT 'c:' || customer_id, customer_id, nullif(found, '') FROM temp.id_emails
        WHERE found IS NOT NULL
        ON CONFLICT (person_key) DO UPDATE SET email = excluded.email
        WHERE people.email IS NOT excluded.email
        """
    )
    # Each touched email: the first customer id that has it, and whether any record names
    # it without a customer id (then it is a guest's, unless a customer id owns it).
    guest_references = " OR ".join(
        f"EXISTS (SELECT 1 FROM main.{table} WHERE email = e.email AND customer_id IS NULL)"
        for table in _RECORD_TABLES
    )
    run(
        f"""
        CREATE TEMP TABLE email_state AS
        SELECT e.email,
            {_EMAIL_OWNER} AS owner,
            ({guest_references}
                OR EXISTS (SELECT 1 FROM main.subscribers WHERE email = e.email)) AS referenced
        FROM temp.touched_emails e
        """
    )
    run(
        """DELETE FROM people WHERE person_key IN (
            SELECT 'e:' || email FROM temp.email_state WHERE owner IS NOT NULL OR NOT referenced
        )"""
    )
    run(
        """
        INSERT INTO people (person_key, customer_id, email)
        SELECT 'e:' || email, NULL, email FROM temp.email_state
        WHERE owner IS NULL AND referenced
        ON CONFLICT (person_key) DO NOTHING
        """
    )
    run(
        """
        CREATE TEMP TABLE email_links AS
        SELECT s.email, coalesce(owner.person_id, guest.person_id) AS person_id
        FROM temp.email_state s
        LEFT JOIN people owner ON owner.customer_id = s.owner
        LEFT JOIN people guest ON s.owner IS NULL AND guest.person_key = 'e:' || s.email
        """
    )
    run("CREATE UNIQUE INDEX temp.email_links_email ON email_links(email)")

    # Relink every record of a touched id or email; the people they left (read here) or
    # joined change.
    run("CREATE TEMP TABLE affected (person_id INTEGER PRIMARY KEY)")
    run("INSERT INTO temp.affected SELECT person_id FROM temp.touched_people")
    if settled:
        run("INSERT OR IGNORE INTO temp.affected SELECT person_id FROM temp.settled")
    touched_ids = "SELECT customer_id FROM temp.touched_ids"
    touched_emails = "SELECT email FROM temp.touched_emails"
    for table in (*_RECORD_TABLES, "subscribers"):
        if table == "subscribers":
            by_email = f"t.email IN ({touched_emails})"
            scope = by_email
        else:
            by_email = f"t.customer_id IS NULL AND t.email IN ({touched_emails})"
            scope = f"t.customer_id IN ({touched_ids}) OR ({by_email})"
        linked = f"SELECT person_id FROM main.{table} t WHERE ({scope}) AND person_id IS NOT NULL"
        run(f"INSERT OR IGNORE INTO temp.affected {linked}")
        if table != "subscribers":
            _relink(
                store,
                table,
                f"""UPDATE main.{table} AS t SET person_id = link.person_id
                FROM people AS link
                WHERE t.customer_id IN ({touched_ids}) AND link.customer_id = t.customer_id
                AND t.person_id IS NOT link.person_id""",
            )
        _relink(
            store,
            table,
            f"""UPDATE main.{table} AS t SET person_id = link.person_id
            FROM temp.email_links AS link
            WHERE {by_email} AND link.email = t.email AND t.person_id IS NOT link.person_id""",
        )
    # The people those records joined: each is now linked to its customer id's person or
    # to its email's (no need to read the records again).
    run(
        """INSERT OR IGNORE INTO temp.affected SELECT person_id FROM people
        WHERE customer_id IN (SELECT customer_id FROM temp.touched_ids)
        OR person_key IN (SELECT 'e:' || email FROM temp.touched_emails)
        UNION SELECT person_id FROM temp.email_links WHERE person_id IS NOT NULL"""
    )
    if before_attributes is not None:
        before_attributes()
    _refresh_attributes(store, everyone=False)


def _set_settled_aside(store: Store) -> int:
    """Move the touched customer ids and emails whose person cannot change out of the
    touched lists, noting their people in temp.settled (their attributes are copied
    again); returns how many.

    An id with a customer row that has an email takes that email, whatever its other
    records say: if its person already has it, the file changed neither the person nor
    who owns which email. An email that a customer id owns stays that id's, whatever
    records without an id say (an id whose email changes puts its emails back on the list
    when it is derived). Either way only the file's records need linking, and they were
    linked as they were written (``linked_person``).
    """
    # CROSS JOIN keeps the touched keys outermost: looked up in key order, the indexes'
    # pages are read once (at a million people 1.9 s, against 3.6 s in the planner's order).
    store.execute(
        """CREATE TEMP TABLE settled_ids AS
        SELECT t.customer_id, p.person_id FROM temp.touched_ids t
        CROSS JOIN main.customers c ON c.customer_id = t.customer_id
        CROSS JOIN people p ON p.customer_id = t.customer_id
        WHERE c.email IS NOT NULL AND p.email = c.email"""
    )
    store.execute(
        f"""CREATE TEMP TABLE settled_emails AS SELECT * FROM (
            SELECT e.email, {_EMAIL_OWNER} AS owner FROM temp.touched_emails e
        ) WHERE owner IS NOT NULL"""
    )
    store.execute(
        """CREATE TEMP TABLE settled AS
        SELECT person_id FROM temp.settled_ids
        UNION SELECT p.person_id FROM temp.settled_emails s
            JOIN people p ON p.customer_id = s.owner"""
    )
    settled = 0
    for keys, key in (("ids", "customer_id"), ("emails", "email")):
        count = store.scalar(f"SELECT count(*) FROM temp.settled_{keys}")
        if not count:
            continue
        settled += count
        # Emptied and refilled: deleting the settled keys one by one took twice as long.
        store.execute(
            f"""CREATE TEMP TABLE open_{keys} AS SELECT {key} FROM temp.touched_{keys}
            EXCEPT SELECT {key} FROM temp.settled_{keys}"""
        )
        store.execute(f"DELETE FROM temp.touched_{keys}")
        store.execute(f"INSERT INTO temp.touched_{keys} SELECT {key} FROM temp.open_{keys}")
    return settled


def resolve_people(store: Store, before_attributes: Callable[[], None] | None = None) -> None:
    """Derive people from every stored record and link each record to its person."""
    run = store.execute
    store.wrote("people")
    _drop_temp_tables(store)

    # A customer id's email: its customer row's, else that of its newest record. A
    # customer row with an email settles it at once (customer ids are unique there), so
    # only the other ids' records are ranked: sorting every record cost most of the time.
    run(
        """
        CREATE TEMP TABLE customer_emails AS
        SELECT customer_id, email FROM customers
        WHERE customer_id IS NOT NULL AND email IS NOT NULL
        """
    )
    run("CREATE UNIQUE INDEX temp.customer_emails_id ON customer_emails(customer_id)")
    run(
        f"""
        CREATE TEMP TABLE resolved_ids AS
        SELECT customer_id, email FROM temp.customer_emails
        UNION ALL
        SELECT customer_id, email FROM (
            SELECT customer_id, email, row_number() OVER (
                PARTITION BY customer_id
                ORDER BY email IS NULL, source, seen_at DESC NULLS LAST, email
            ) AS rank
            FROM ({_ID_REFERENCES}) AS refs
            WHERE NOT EXISTS (
                SELECT 1 FROM temp.customer_emails settled
                WHERE settled.customer_id = refs.customer_id
            )
        ) WHERE rank = 1
        """
    )
    # Where several people share an email, email-only records go to the first customer id.
    run(
        """
        CREATE TEMP TABLE email_owners AS
        SELECT email, min(customer_id) AS customer_id FROM resolved_ids
        WHERE email IS NOT NULL GROUP BY email
        """
    )
    run("CREATE UNIQUE INDEX temp.email_owners_email ON email_owners(email)")
    run(
        f"""
        CREATE TEMP TABLE resolved_people AS
        SELECT 'c:' || customer_id AS person_key, customer_id, email FROM resolved_ids
        UNION ALL
        SELECT 'e:' || email, NULL, email FROM ({_EMAIL_ONLY_REFERENCES})
        WHERE email NOT IN (SELECT email FROM email_owners)
        """
    )
    run("CREATE UNIQUE INDEX temp.resolved_people_key ON resolved_people(person_key)")

    run(
        """
        DELETE FROM people
        WHERE person_key NOT IN (SELECT person_key FROM resolved_people)
        """
    )
    # A guest who gains a customer id (or the reverse) keeps no stale customer_id behind.
    # New people are numbered in key order, so that their ids follow their customer ids:
    # reading people by id then looks customer rows up in index order (copying a million
    # people's attributes took 7.5 s in email order, 4 s less in this one).
    # Everyone new (the first file that names people): the index on emails is built once
    # afterwards, not kept in order person by person (at a million, 6.3 s to 4.3 s).
    indexes = set_indexes_aside(store, "people") if is_empty(store, "people") else []
    run(
        """
        INSERT INTO people (person_key, customer_id, email)
        SELECT person_key, customer_id, email FROM resolved_people WHERE true
        ORDER BY person_key
        ON CONFLICT (person_key) DO UPDATE SET email = excluded.email
        WHERE people.email IS NOT excluded.email
        """
    )
    create_indexes(store, indexes)

    run(
        """
        CREATE TEMP TABLE email_people AS
        SELECT o.email, p.person_id FROM email_owners o
            JOIN people p ON p.customer_id = o.customer_id
        UNION ALL
        SELECT p.email, p.person_id FROM people p WHERE p.customer_id IS NULL
        """
    )
    run("CREATE UNIQUE INDEX temp.email_people_email ON email_people(email)")

    for table in _RECORD_TABLES:
        key = "order_id" if table == "orders" else "record_key"
        _relink(
            store,
            table,
            f"""
            UPDATE {table} SET person_id = link.person_id
            FROM (
                SELECT r.{key} AS record,
                    coalesce(by_id.person_id, by_email.person_id) AS person_id
                FROM {table} r
                LEFT JOIN people by_id ON by_id.customer_id = r.customer_id
                LEFT JOIN email_people by_email
                    ON r.customer_id IS NULL AND by_email.email = r.email
            ) AS link
            WHERE link.record = {table}.{key} AND {table}.person_id IS NOT link.person_id
            """,
        )
    _relink(
        store,
        "subscribers",
        """
        UPDATE subscribers SET person_id = link.person_id
        FROM email_people AS link
        WHERE link.email = subscribers.email AND subscribers.person_id IS NOT link.person_id
        """,
    )
    if before_attributes is not None:
        before_attributes()
    _refresh_attributes(store, everyone=True)


def _relink(store: Store, table: str, update: str) -> None:
    """Run an UPDATE of records' person links; the table changed if any row did."""
    if store.execute(update).rowcount:
        store.wrote(table)


_CUSTOMER_ADDRESS = """coalesce(by_id.country, by_id.region, by_id.city,
    by_email.country, by_email.region, by_email.city) IS NOT NULL"""


def _refresh_attributes(store: Store, *, everyone: bool) -> None:
    """Copy customer-row attributes onto people; the customer-id row wins field by field.

    Without ``everyone``, only the people in temp.affected.
    """
    run = store.execute
    affected = "" if everyone else "AND person_id IN (SELECT person_id FROM temp.affected)"
    people = "" if everyone else "WHERE p.person_id IN (SELECT person_id FROM temp.affected)"
    run(
        f"""
        CREATE TEMP TABLE attrs AS
        SELECT p.person_id,
            coalesce(by_id.first_name, by_email.first_name) AS first_name,
            coalesce(by_id.last_name, by_email.last_name) AS last_name,
            coalesce(by_id.created_at, by_email.created_at, seen.first_record_at) AS created_at,
            -- the earliest of three dates, any of which may be unset
            min(
                coalesce(by_id.created_at, by_email.created_at, seen.first_record_at),
                coalesce(by_email.created_at, seen.first_record_at, by_id.created_at),
                coalesce(seen.first_record_at, by_id.created_at, by_email.created_at)
            ) AS first_seen_at,
            coalesce(by_id.accepts_marketing, by_email.accepts_marketing)
                AS customer_accepts_marketing,
            -- The address of the customer row, else the billing address of the latest
            -- order that has one; never a mix of the two.
            CASE WHEN {_CUSTOMER_ADDRESS} THEN coalesce(by_id.country, by_email.country)
                ELSE billed.country END AS country,
            CASE WHEN {_CUSTOMER_ADDRESS} THEN coalesce(by_id.region, by_email.region)
                ELSE billed.region END AS region,
            CASE WHEN {_CUSTOMER_ADDRESS} THEN coalesce(by_id.city, by_email.city)
                ELSE billed.city END AS city,
            CASE WHEN by_id.tags IS NOT NULL AND by_id.tags != '[]' THEN by_id.tags
                ELSE coalesce(by_email.tags, '[]') END AS tags,
            coalesce(by_id.customer_group, by_email.customer_group) AS customer_group,
            coalesce(by_id.channel, by_email.channel) AS channel,
            -- json_patch takes time in the square of the keys (100,000 custom columns:
            -- 23 s for one row), so it merges only when both rows have custom fields.
            CASE WHEN by_email.custom IS NULL THEN json(coalesce(by_id.custom, '{{}}'))
                WHEN by_id.custom IS NULL THEN json(by_email.custom)
                ELSE json_patch(by_email.custom, by_id.custom) END AS custom
        -- people in id order (which follows customer ids: resolve_people), not in the
        -- order of an index on emails the planner would rather scan
        FROM people AS p NOT INDEXED
        LEFT JOIN customers by_id ON by_id.customer_id = p.customer_id
        LEFT JOIN customers by_email ON by_email.customer_id IS NULL
            AND by_email.email = p.email AND by_email.person_id = p.person_id
        LEFT JOIN (
            SELECT person_id, min(at) AS first_record_at FROM (
                SELECT person_id, min(created_at) AS at FROM orders
                    WHERE true {affected} GROUP BY person_id
                UNION ALL SELECT person_id, min(subscribed_at) FROM subscribers
                    WHERE true {affected} GROUP BY person_id
                UNION ALL SELECT person_id, min(created_at) FROM reviews
                    WHERE true {affected} GROUP BY person_id
                UNION ALL SELECT person_id, min(created_at) FROM carts
                    WHERE true {affected} GROUP BY person_id
            ) GROUP BY person_id
        ) seen ON seen.person_id = p.person_id
        LEFT JOIN (
            -- The latest order with an address, by date then order id (char(1) sorts
            -- before any character of either): SQLite takes the bare columns from the
            -- row of max(). The partial index orders_billing holds just these orders
            -- and these columns: a store whose orders have no address reads nothing.
            SELECT person_id, country, region, city,
                max(created_at || char(1) || order_id) AS latest
            FROM orders
            WHERE person_id IS NOT NULL {affected}
                AND coalesce(country, region, city) IS NOT NULL
            GROUP BY person_id
        ) billed ON billed.person_id = p.person_id
        {people}
        """
    )
    columns = (
        "first_name",
        "last_name",
        "created_at",
        "first_seen_at",
        "customer_accepts_marketing",
        "country",
        "region",
        "city",
        "tags",
        "customer_group",
        "channel",
        "custom",
    )
    assignments = ", ".join(f"{c} = attrs.{c}" for c in columns)
    differs = " OR ".join(f"people.{c} IS NOT attrs.{c}" for c in columns)
    run(
        f"""
        UPDATE people SET {assignments}
        FROM attrs WHERE attrs.person_id = people.person_id AND ({differs})
        """
    )

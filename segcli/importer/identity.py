"""People and identity resolution (SPEC 2.2), recomputed from the stored records.

People are a pure function of what is stored, never of the order files came in: after
each import the whole mapping is derived again in SQL, and only rows whose person or
attributes actually change are written. Person ids of people who stay are kept.
"""

from __future__ import annotations

from segcli.store.db import Store

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


def resolve_people(store: Store) -> None:
    """Derive people from every stored record and link each record to its person."""
    run = store.execute
    for name in ("resolved_ids", "email_owners", "resolved_people", "email_people", "attrs"):
        run(f"DROP TABLE IF EXISTS temp.{name}")

    # A customer id's email: its customer row's, else that of its newest record.
    run(
        f"""
        CREATE TEMP TABLE resolved_ids AS
        SELECT customer_id, email FROM (
            SELECT customer_id, email, row_number() OVER (
                PARTITION BY customer_id
                ORDER BY email IS NULL, source, seen_at DESC NULLS LAST, email
            ) AS rank
            FROM ({_ID_REFERENCES})
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
    run(
        """
        INSERT INTO people (person_key, customer_id, email)
        SELECT person_key, customer_id, email FROM resolved_people WHERE true
        ON CONFLICT (person_key) DO UPDATE SET email = excluded.email
        WHERE people.email IS NOT excluded.email
        """
    )

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
        run(
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
            """
        )
    run(
        """
        UPDATE subscribers SET person_id = link.person_id
        FROM email_people AS link
        WHERE link.email = subscribers.email AND subscribers.person_id IS NOT link.person_id
        """
    )
    _refresh_attributes(store)


_CUSTOMER_ADDRESS = """coalesce(by_id.country, by_id.region, by_id.city,
    by_email.country, by_email.region, by_email.city) IS NOT NULL"""


def _refresh_attributes(store: Store) -> None:
    """Copy customer-row attributes onto people; the customer-id row wins field by field."""
    run = store.execute
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
            json_patch(coalesce(by_email.custom, '{{}}'), coalesce(by_id.custom, '{{}}')) AS custom
        FROM people p
        LEFT JOIN customers by_id ON by_id.customer_id = p.customer_id
        LEFT JOIN customers by_email ON by_email.customer_id IS NULL
            AND by_email.email = p.email AND by_email.person_id = p.person_id
        LEFT JOIN (
            SELECT person_id, min(at) AS first_record_at FROM (
                SELECT person_id, min(created_at) AS at FROM orders GROUP BY person_id
                UNION ALL SELECT person_id, min(subscribed_at) FROM subscribers GROUP BY person_id
                UNION ALL SELECT person_id, min(created_at) FROM reviews GROUP BY person_id
                UNION ALL SELECT person_id, min(created_at) FROM carts GROUP BY person_id
            ) GROUP BY person_id
        ) seen ON seen.person_id = p.person_id
        LEFT JOIN (
            SELECT person_id, country, region, city FROM (
                SELECT person_id, country, region, city, row_number() OVER (
                    PARTITION BY person_id ORDER BY created_at DESC, order_id DESC
                ) AS rank
                FROM orders
                WHERE person_id IS NOT NULL
                    AND coalesce(country, region, city) IS NOT NULL
            ) WHERE rank = 1
        ) billed ON billed.person_id = p.person_id
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

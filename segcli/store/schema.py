"""The store's schema as a list of migrations, applied in order when a database is opened.

A database written by an older segcli keeps working: only the migrations it lacks run.
Never edit a migration that has shipped; add a new one.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("segcli")

# segcli's migrations by name, in order. A database that has applied any other was
# written by a newer segcli.
MIGRATION_NAMES: list[str] = []

# The tables of imported records, one per kind of file (named after it), in the order
# segcli lists them. A kind of file the importer reads loads one of these.
RECORD_TABLES = ("customers", "orders", "items", "products", "reviews", "subscribers", "carts")


def migration(function: Callable[[Database], None]) -> Callable[[Database], None]:
    """Register ``function`` as the next migration."""
    MIGRATION_NAMES.append(function.__name__)
    return migrations()(function)


@migration
def m001_store(db: Database) -> None:
    """Records as imported, the people they resolve to, and the import log."""
    db.executescript(
        """
        -- record_key: the natural key of a row (SPEC 2.1), unique per table.
        -- person_id: derived by identity resolution after every import.
        -- Money columns are integers of ten-thousandths; dates are UTC text.
        CREATE TABLE customers (
            record_key TEXT PRIMARY KEY,
            customer_id TEXT,
            email TEXT,
            first_name TEXT,
            last_name TEXT,
            created_at TEXT,
            accepts_marketing INTEGER,
            country TEXT,
            region TEXT,
            city TEXT,
            tags TEXT NOT NULL DEFAULT '[]',
            customer_group TEXT,
            channel TEXT,
            custom TEXT NOT NULL DEFAULT '{}',
            person_id INTEGER
        );
        CREATE UNIQUE INDEX customers_customer_id ON customers(customer_id);
        CREATE INDEX customers_email ON customers(email);
        CREATE INDEX customers_person ON customers(person_id);

        CREATE TABLE orders (
            order_id TEXT PRIMARY KEY,
            customer_id TEXT,
            email TEXT,
            created_at TEXT NOT NULL,
            total INTEGER NOT NULL,
            status TEXT,
            currency TEXT,
            counted INTEGER NOT NULL,
            person_id INTEGER
        );
        CREATE INDEX orders_person_date ON orders(person_id, created_at);
        CREATE INDEX orders_customer_id ON orders(customer_id);
        CREATE INDEX orders_email ON orders(email);
        CREATE INDEX orders_created_at ON orders(created_at);

        CREATE TABLE items (
            order_id TEXT NOT NULL,
            line_no INTEGER NOT NULL,
            product_id TEXT,
            sku TEXT,
            title TEXT,
            collection TEXT,
            quantity INTEGER NOT NULL,
            price INTEGER,
            PRIMARY KEY (order_id, line_no)
        ) WITHOUT ROWID;
        CREATE INDEX items_product_id ON items(product_id, order_id);
        CREATE INDEX items_sku ON items(sku, order_id);
        CREATE INDEX items_collection ON items(collection, order_id);

        CREATE TABLE products (
            record_key TEXT PRIMARY KEY,
            product_id TEXT,
            sku TEXT,
            title TEXT,
            collections TEXT NOT NULL DEFAULT '[]',
            product_type TEXT,
            vendor TEXT,
            tags TEXT NOT NULL DEFAULT '[]'
        );
        CREATE INDEX products_product_id ON products(product_id);
        CREATE INDEX products_sku ON products(sku);
        -- One row per product and collection, kept in step with products.collections,
        -- so that "bought from a collection" is an indexed join.
        CREATE TABLE product_collections (
            record_key TEXT NOT NULL,
            collection TEXT NOT NULL,
            PRIMARY KEY (record_key, collection)
        ) WITHOUT ROWID;
        CREATE INDEX product_collections_collection ON product_collections(collection);

        CREATE TABLE reviews (
            record_key TEXT PRIMARY KEY,
            review_id TEXT,
            customer_id TEXT,
            email TEXT,
            product_id TEXT,
            sku TEXT,
            rating INTEGER NOT NULL,
            created_at TEXT,
            title TEXT,
            body TEXT,
            person_id INTEGER
        );
        CREATE INDEX reviews_person_date ON reviews(person_id, created_at);
        CREATE INDEX reviews_customer_id ON reviews(customer_id);
        CREATE INDEX reviews_email ON reviews(email);

        CREATE TABLE subscribers (
            record_key TEXT PRIMARY KEY,
            email TEXT NOT NULL,
            subscribed_at TEXT,
            status TEXT NOT NULL,
            source TEXT,
            person_id INTEGER
        );
        CREATE INDEX subscribers_email ON subscribers(email);
        CREATE INDEX subscribers_person_date ON subscribers(person_id, subscribed_at);

        CREATE TABLE carts (
            record_key TEXT PRIMARY KEY,
            cart_id TEXT,
            customer_id TEXT,
            email TEXT,
            created_at TEXT NOT NULL,
            total INTEGER,
            person_id INTEGER
        );
        CREATE INDEX carts_person_date ON carts(person_id, created_at);
        CREATE INDEX carts_customer_id ON carts(customer_id);
        CREATE INDEX carts_email ON carts(email);

        -- Everyone segcli knows, deduplicated (SPEC 2.2). person_key is 'c:' + customer_id
        -- for people with a customer id and 'e:' + email for everyone else.
        CREATE TABLE people (
            person_id INTEGER PRIMARY KEY,
            person_key TEXT NOT NULL UNIQUE,
            customer_id TEXT UNIQUE,
            email TEXT,
            first_name TEXT,
            last_name TEXT,
            created_at TEXT,
            first_seen_at TEXT,
            -- the customer row's consent; subscriber history overrides it when evaluating
            customer_accepts_marketing INTEGER,
            country TEXT,
            region TEXT,
            city TEXT,
            tags TEXT NOT NULL DEFAULT '[]',
            customer_group TEXT,
            channel TEXT,
            custom TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX people_email ON people(email);

        CREATE TABLE imports (
            import_id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            file TEXT NOT NULL,
            finished_at TEXT NOT NULL,
            rows_read INTEGER NOT NULL,
            inserted INTEGER NOT NULL,
            updated INTEGER NOT NULL,
            unchanged INTEGER NOT NULL,
            rejected INTEGER NOT NULL
        );
        CREATE INDEX imports_kind ON imports(kind, finished_at);
        """
    )


@migration
def m002_platform_exports(db: Database) -> None:
    """What platform exports add (an order's buyer address and consent, a line's vendor),
    and the indexes that product, vendor and title predicates search."""
    db.executescript(
        """
        -- The buyer's consent to marketing as of the order's date (Shopify's Accepts
        -- Marketing), and the billing address: used where no customer row gives them.
        ALTER TABLE orders ADD COLUMN accepts_marketing INTEGER;
        ALTER TABLE orders ADD COLUMN country TEXT;
        ALTER TABLE orders ADD COLUMN region TEXT;
        ALTER TABLE orders ADD COLUMN city TEXT;
        ALTER TABLE items ADD COLUMN vendor TEXT;
        CREATE INDEX items_vendor ON items(vendor, order_id) WHERE vendor IS NOT NULL;
        -- Lines known only by their title (platform exports without SKUs).
        CREATE INDEX items_untitled_products ON items(title, order_id)
            WHERE product_id IS NULL AND sku IS NULL;
        -- reviewed: {product: ...} searches reviews by product.
        CREATE INDEX reviews_product_id ON reviews(product_id);
        CREATE INDEX reviews_sku ON reviews(sku);
        -- The dialect a file was read in, and its orders that belong to no one.
        ALTER TABLE imports ADD COLUMN dialect TEXT NOT NULL DEFAULT 'native';
        ALTER TABLE imports ADD COLUMN anonymous_orders INTEGER NOT NULL DEFAULT 0;
        """
    )


@migration
def m003_consent_index(db: Database) -> None:
    """An index of the orders that carry the buyer's consent: evaluating asks each person
    for their latest such order, and most stores have none (at a million people, building
    the facts took 8 s without it and 6 s with it)."""
    db.executescript(
        """
        CREATE INDEX orders_consent ON orders(person_id, created_at)
            WHERE accepts_marketing IS NOT NULL;
        """
    )


@migration
def m004_email_indexes_with_customer_id(db: Database) -> None:
    """Email indexes that also hold the customer id. Working out people asks, for each
    email an import touches, whether a record names it without a customer id and which
    customer ids have it; with the customer id in the index that is answered from the
    index alone (at a million people, 4.9 s of a reviews import became 1.5 s)."""
    db.executescript(
        """
        DROP INDEX customers_email;
        CREATE INDEX customers_email ON customers(email, customer_id);
        DROP INDEX orders_email;
        CREATE INDEX orders_email ON orders(email, customer_id);
        DROP INDEX reviews_email;
        CREATE INDEX reviews_email ON reviews(email, customer_id);
        DROP INDEX carts_email;
        CREATE INDEX carts_email ON carts(email, customer_id);
        DROP INDEX people_email;
        CREATE INDEX people_email ON people(email, customer_id);
        """
    )


@migration
def m005_billing_index(db: Database) -> None:
    """The orders that carry a billing address, with what a person's address is taken
    from. Working out people's attributes asks each person for their latest such order;
    in a store whose orders have no address that is an empty index instead of a read
    of every order (at a million people, about 2 s of each import)."""
    db.executescript(
        """
        CREATE INDEX orders_billing
            ON orders(person_id, created_at, order_id, country, region, city)
            WHERE coalesce(country, region, city) IS NOT NULL;
        """
    )


@migration
def m006_items_title(db: Database) -> None:
    """Every line item searchable by its title. ``product: NAME`` matches a line by its
    own title also when the line has a product id or SKU (until now only lines without
    either were indexed by title)."""
    db.executescript(
        """
        DROP INDEX items_untitled_products;
        CREATE INDEX items_title ON items(title, order_id);
        """
    )


@migration
def m007_store_currency(db: Database) -> None:
    """One currency per store: the store's settings (its currency), and for an order
    converted from another currency its total as given and the rate used. A store whose
    orders name one currency has it as its own; one whose orders name several (added
    together before segcli converted them) has none until it is given with --currency."""
    db.executescript(
        """
        CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
        ALTER TABLE orders ADD COLUMN original_total INTEGER;
        ALTER TABLE orders ADD COLUMN rate TEXT;
        INSERT INTO settings (name, value)
            SELECT 'currency', min(currency) FROM orders WHERE currency IS NOT NULL
            HAVING count(DISTINCT currency) = 1;
        """
    )


@migration
def m008_import_log_details(db: Database) -> None:
    """What an orders file brought besides orders, for `segcli info`: its line items (an
    orders file in the line-item form imports items too), and whether it had a column
    naming the customer at all (a file without one makes every order anonymous)."""
    db.executescript(
        """
        ALTER TABLE imports ADD COLUMN line_items INTEGER NOT NULL DEFAULT 0;
        -- 1 or 0 for orders files; NULL for other kinds and for imports logged before.
        ALTER TABLE imports ADD COLUMN customer_column INTEGER;
        """
    )


@migration
def m009_facts_cache(db: Database) -> None:
    """The tables that keep what evaluating computed, for the next command of the same
    data and as-of date: everyone's facts (one row per person, in person-key order, as
    segments/evaluate.py's FACTS_SQL gives them), what they were built from, and the sets
    of people kept with them (segments/kept.py). Derived data: emptied whenever the facts
    are built again. Until now evaluating created them; a database that has them gets
    them anew."""
    db.executescript(
        """
        DROP TABLE IF EXISTS facts_cache;
        DROP TABLE IF EXISTS facts_cache_key;
        DROP TABLE IF EXISTS facts_sets;
        DROP TABLE IF EXISTS facts_sets_key;
        -- The columns of FACTS_SQL, in its order, without declared types: values are
        -- kept exactly as the query gives them.
        CREATE TABLE facts_cache (
            person_id, person_key, customer_id, email, email_domain, first_name, last_name,
            created_at, accepts_marketing, country, region, city, tags, customer_group,
            channel, custom, orders_count, total_spent, first_order_at, last_order_at,
            days_since_last_order, has_cart, lifecycle
        );
        CREATE UNIQUE INDEX facts_cache_person ON facts_cache(person_id);
        CREATE TABLE facts_cache_key (
            key TEXT NOT NULL,
            repeat_days INTEGER NOT NULL,
            repeat_gaps INTEGER NOT NULL,
            people INTEGER NOT NULL
        );
        CREATE TABLE facts_sets_key (
            set_id INTEGER PRIMARY KEY,
            digest TEXT NOT NULL UNIQUE,
            facts_key TEXT NOT NULL
        );
        CREATE TABLE facts_sets (
            set_id INTEGER NOT NULL,
            person_id INTEGER NOT NULL,
            PRIMARY KEY (set_id, person_id)
        ) WITHOUT ROWID;
        """
    )


@migration
def m010_data_versions(db: Database) -> None:
    """The data version of each table evaluation reads: a number that every import that
    changes the table replaces, in its own transaction. The analytic copy
    (segcli/analytic/copy.py) names each file after the version it was read at and reads
    a table again when its version is another. Versions are random, not counted: a store
    restored from a backup, or deleted and created anew, never meets a file of the same
    version and other data. Every table starts with one of its own."""
    db.executescript(
        """
        CREATE TABLE data_versions (
            name TEXT PRIMARY KEY,
            version INTEGER NOT NULL
        );
        INSERT INTO data_versions (name, version)
        SELECT value, abs(random() >> 2) FROM json_each(
            '["people", "orders", "items", "products", "product_collections", "reviews",
              "subscribers", "carts", "customers"]'
        );
        """
    )


@migration
def m011_import_indexes_only(db: Database) -> None:
    """Only the indexes that importing, identity, `customer show` and `info` use.

    Segments are evaluated by DuckDB over the analytic copy. The indexes dropped here
    served only the SQLite engine's whole-store searches: line items by product id, SKU,
    title, collection and vendor, reviews by product id and SKU, products by id and SKU,
    a collection's products, orders by date, customers by person. Every import paid for
    them: at 100,000 people they were 82 of the database's 278 MB, and 2.0 of the 2.9 s
    its indexes took to build. `--engine sqlite` gives the same answers, reading those
    tables whole; `info`'s span of orders reads orders_person_date instead.

    What stays, and why:
    - customers_customer_id is UNIQUE: one customer row per customer id.
    - customers_email, orders_customer_id, orders_email, reviews_customer_id,
      reviews_email, carts_customer_id, carts_email, subscribers_email, people_email:
      identity follows each customer id and email an import touches to its records
      (and `customer show` finds a person by email).
    - orders_person_date, reviews_person_date, subscribers_person_date,
      carts_person_date: the first-seen dates of the people identity works out again,
      and one person's records (`customer show`).
    - orders_consent, orders_billing: the few orders that carry the buyer's consent
      (one person's facts) or a billing address (identity's attributes).
    - imports_kind: `info`'s latest import of each kind.
    - facts_cache_person is UNIQUE: one row of the SQLite engine's stored facts per person.
    """
    db.executescript(
        """
        DROP INDEX IF EXISTS customers_person;
        DROP INDEX IF EXISTS orders_created_at;
        DROP INDEX IF EXISTS items_product_id;
        DROP INDEX IF EXISTS items_sku;
        DROP INDEX IF EXISTS items_collection;
        DROP INDEX IF EXISTS items_vendor;
        DROP INDEX IF EXISTS items_title;
        DROP INDEX IF EXISTS products_product_id;
        DROP INDEX IF EXISTS products_sku;
        DROP INDEX IF EXISTS product_collections_collection;
        DROP INDEX IF EXISTS reviews_product_id;
        DROP INDEX IF EXISTS reviews_sku;
        """
    )


@migration
def m012_membership_snapshots(db: Database) -> None:
    """Who was in each segment on a date, and what hooks were told (segments/snapshots.py,
    segments/hooks.py).

    A snapshot records a segment's members as of a date as the changes since the
    segment's snapshot of the date before it: the first one holds every member as an
    entry (+1), each later one only who entered (+1) or left (-1). A person was a member
    at a snapshot when their changes up to its date add up to 1. People are numbered once
    (snapshot_people) so that a change is three small integers. ``definition`` is a digest
    of the segment's criteria (with the segments it uses), so that a changed file is told
    apart from changed customers. Not derived data: a snapshot keeps what the store said
    when it was taken, which later imports do not change.

    deliveries: each change a hook command was run for and succeeded, so that a rerun
    runs it only for the others.
    """
    db.executescript(
        """
        CREATE TABLE snapshot_people (
            key_id INTEGER PRIMARY KEY,
            person_key TEXT NOT NULL UNIQUE
        );
        CREATE TABLE snapshots (
            snapshot_id INTEGER PRIMARY KEY,
            segment TEXT NOT NULL,
            as_of TEXT NOT NULL,
            definition TEXT NOT NULL,
            members INTEGER NOT NULL,
            entered INTEGER NOT NULL,
            exited INTEGER NOT NULL,
            taken_at TEXT NOT NULL,
            -- random, new each time the row is written: names this snapshot's members
            -- in the cache beside the store (segments/snapshots.py)
            token INTEGER NOT NULL,
            UNIQUE (segment, as_of)
        );
        CREATE TABLE snapshot_changes (
            snapshot_id INTEGER NOT NULL,
            key_id INTEGER NOT NULL,
            change INTEGER NOT NULL,
            PRIMARY KEY (snapshot_id, key_id)
        ) WITHOUT ROWID;
        CREATE TABLE deliveries (
            segment TEXT NOT NULL,
            command TEXT NOT NULL,
            from_date TEXT NOT NULL,
            to_date TEXT NOT NULL,
            person_key TEXT NOT NULL,
            change TEXT NOT NULL,
            delivered_at TEXT NOT NULL,
            PRIMARY KEY (segment, command, from_date, to_date, person_key, change)
        ) WITHOUT ROWID;
        """
    )

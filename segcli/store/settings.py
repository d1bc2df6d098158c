"""The store's settings, kept in its ``settings`` table beside the data they describe."""

from __future__ import annotations

from typing import cast

from segcli.store.db import Store


def store_currency(store: Store) -> str | None:
    """The store's currency, once it has one: every amount stored is in it."""
    # The settings table holds text.
    return cast("str | None", store.scalar("SELECT value FROM settings WHERE name = 'currency'"))


def keep_store_currency(store: Store, currency: str) -> None:
    """Make ``currency`` the store's currency."""
    store.execute(
        "INSERT INTO settings (name, value) VALUES ('currency', ?) "
        "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        (currency,),
    )

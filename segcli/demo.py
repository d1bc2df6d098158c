"""The bundled example store."""

from __future__ import annotations

from pathlib import Path

# In this order so that every summary reads naturally; the result does not depend on it.
EXAMPLE_FILES = (
    ("products", "products.csv"),
    ("customers", "customers.csv"),
    ("orders", "orders.csv"),
    ("items", "items.csv"),
    ("reviews", "reviews.csv"),
    ("subscribers", "subscribers.csv"),
    ("carts", "carts.csv"),
)


def example_data_dir() -> Path:
    """The directory of the example store's CSV files, shipped inside the package."""
    return Path(__file__).parent / "examples" / "data"

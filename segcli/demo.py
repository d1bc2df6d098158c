"""The bundled example store."""

from __future__ import annotations

from datetime import date
from pathlib import Path

# The example store's "today": its last orders are from the day before. The demo evaluates
# segments as of this day so that it shows the same figures whenever it is run.
EXAMPLE_STORE_TODAY = date(2026, 11, 1)

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


def example_segments_dir() -> Path:
    """The example segment files, shipped inside the package."""
    return Path(__file__).parent / "examples" / "segments"

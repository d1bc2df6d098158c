"""An import's options (what to read and how, what to do with it) and its result."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from segcli.importer import dialects
from segcli.importer.currencies import Rates
from segcli.importer.rejects import Reject


@dataclass
class ImportOptions:
    """How to read a file and what to do with it."""

    encoding: str = "utf-8"
    # None: comma, or the one other separator the header shows (decisions.file_delimiter).
    delimiter: str | None = None
    # Lower-cased source column → native column.
    mapping: dict[str, str] = field(default_factory=dict)
    dry_run: bool = False
    strict: bool = False
    # The file's platform (dialects.DIALECTS), and its dates' day/month order or format.
    dialect: str = dialects.NATIVE
    date_order: str | None = None
    date_format: str | None = None
    # The store's currency as given (--currency), and rates for orders in others.
    currency: str | None = None
    rates: Rates = field(default_factory=Rates)
    # Unknown columns that look like misspelt known ones are kept (customers) or ignored
    # instead of refusing the file.
    keep_unknown: bool = False


@dataclass
class ImportResult:
    """What importing one file did."""

    kind: str
    path: Path
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejects: list[Reject] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Rows superseded by a later row with the same key in the same file.
    replaced: int = 0
    written: bool = False
    dry_run: bool = False
    # Set when --strict refused the file because rows were rejected.
    refused: str | None = None
    # What the file was read as: "Shopify orders export", "native orders file".
    read_as: str = ""
    columns: int = 0
    # How dates were read, when that needed a choice ("day first (--dayfirst)").
    dates: str | None = None
    # Columns of the file that nothing reads.
    ignored: list[str] = field(default_factory=list)
    # Orders (by order id) inserted, updated, unchanged; line items in the file.
    orders: tuple[int, int, int] | None = None
    line_items: int = 0
    # Orders with neither customer_id nor email: kept, in no segment.
    anonymous: int = 0
    # The store's currency (orders files), and whether it takes it from this file (or
    # --currency) because it had none.
    currency: str | None = None
    new_currency: bool = False
    # Orders converted into the store's currency, by their own currency.
    converted: dict[str, int] = field(default_factory=dict)
    # For orders: whether the file has a column that names the customer at all.
    customer_column: bool | None = None
    # How the separator was found when it was not given ("read as ;-separated ...").
    delimiter_note: str | None = None

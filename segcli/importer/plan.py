"""Planning a file's columns: which position of its rows feeds which native column.

A native file's header is matched to its kind's columns after --map; a platform export's
header is the one its layout gives (dialects.py). A file that lacks a column its kind
needs is refused with what it seems to be instead; one that is clearly of another kind,
or has columns that look misspelt, is refused with the command that reads it right
(headers.py). What the file was read as, and the columns nothing reads, go on the result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from segcli.errors import ImportRefused
from segcli.importer import dialects, headers, values
from segcli.importer.dates import DateReader
from segcli.importer.decisions import delimiter_hint
from segcli.importer.kinds import Kind, has_line_items, known_columns, missing_columns
from segcli.importer.options import ImportOptions, ImportResult


@dataclass(frozen=True)
class ColumnPlan:
    """Which position of a file's rows feeds which native column."""

    header: list[str]
    width: int
    parsers: list[tuple[int, str, Callable[[str], object]]]
    custom: list[tuple[int, str]]
    line_items: bool
    # How messages name a native column when the file calls it something else.
    labels: dict[str, str] = field(default_factory=dict)

    def date_positions(self) -> list[int]:
        return [position for position, _, parse in self.parsers if parse is values.timestamp]

    def reading_dates(self, reader: DateReader) -> ColumnPlan:
        """The same plan with dates read by ``reader`` (the file's day/month order)."""
        parsers = [
            (position, name, reader if parse is values.timestamp else parse)
            for position, name, parse in self.parsers
        ]
        return replace(self, parsers=parsers)

    def labelled(self, labels: dict[str, str]) -> ColumnPlan:
        return replace(self, labels={**self.labels, **labels})


class MissingColumns(ImportRefused):
    """A header lacks a column its kind needs."""


def mapped_names(header: list[str], mapping: dict[str, str], path: Path) -> list[str]:
    """The header's names (trimmed, lower case) after --map; refuses a mapping that does
    not fit the header, and a name that appears twice."""
    present = [name.strip().lower() for name in header]
    absent = [source for source in mapping if source not in present]
    if absent:
        raise ImportRefused(
            path,
            f"--map names column(s) {', '.join(absent)}, which the file does not have",
            hint=f"the file's columns are: {', '.join(h.strip() for h in header)}",
        )
    names = [mapping.get(name, name) for name in present]
    seen: dict[str, int] = {}
    for position, name in enumerate(names):
        if name and name in seen:
            raise ImportRefused(
                path,
                f"column {name!r} appears twice (columns {seen[name] + 1} and {position + 1})",
            )
        seen[name] = position
    return names


def plan_columns(
    kind: Kind, header: list[str], mapping: dict[str, str], path: Path
) -> tuple[ColumnPlan, list[str], list[str]]:
    """Match a header to the kind's columns; refuse the file when a required one is missing.

    Returns the plan, the columns nothing reads, and warnings.
    """
    names = mapped_names(header, mapping, path)
    seen = {name: position for position, name in enumerate(names)}
    line_items = has_line_items(kind, seen)
    columns = known_columns(kind) if line_items else dict(kind.columns)
    missing = missing_columns(kind, seen)
    if missing:
        raise MissingColumns(
            path,
            f"is missing the required column(s) {', '.join(missing)} for {kind.name}",
            hint=f"{kind.expected_columns()}; a column by another name can be read "
            "with --map SOURCE=TARGET",
        )

    parsers = []
    custom = []
    unnamed = []
    ignored = []
    for position, name in enumerate(names):
        if not name:
            unnamed.append(position + 1)
        elif name in columns:
            parsers.append((position, name, columns[name]))
        elif kind.keeps_unknown_columns:
            custom.append((position, name))
        else:
            ignored.append(header[position].strip())
    labels = {
        name: f"{header[position].strip()} ({name})"
        for position, name in enumerate(names)
        if name and header[position].strip().lower() != name
    }
    plan = ColumnPlan(header, len(header), parsers, custom, line_items, labels)
    warnings = []
    if unnamed:
        warnings.append(f"ignoring column(s) without a name: {', '.join(map(str, unnamed))}")
    return plan, ignored, warnings


def plan_file(
    kind: Kind,
    path: Path,
    options: ImportOptions,
    header: list[str],
    translation: dialects.Translation | None,
    result: ImportResult,
) -> ColumnPlan:
    """Plan the file's columns, and note what it was read as and what nothing reads."""
    result.columns = len(header)
    if translation is not None:
        plan, _, result.warnings = plan_columns(kind, translation.native_header, {}, path)
        result.read_as = translation.layout.title
        result.ignored = translation.ignored()
        plan = plan.labelled(translation.labels())
        _note_customer_column(kind, result, set(translation.labels()))
        return plan
    result.read_as = f"native {kind.name} file" + (" with --map" if options.mapping else "")
    names = mapped_names(header, options.mapping, path)
    headers.check_kind(path, kind, names)
    if not options.keep_unknown:
        misspelt = headers.misspelt_columns(kind, header, names, options.mapping)
        if misspelt:
            raise headers.misspelt_refusal(path, kind, misspelt)
    looks_like = dialects.detect(header)
    try:
        plan, result.ignored, result.warnings = plan_columns(kind, header, options.mapping, path)
    except MissingColumns as error:
        found = _missing_hint(kind, path, options, names, looks_like)
        if found is not None:
            error.hint = f"{found}\n  {error.hint}"
        raise
    if looks_like is not None:
        result.warnings.append(
            f"this looks like a {looks_like.title}; if it is, import it with "
            f"--from {looks_like.dialect}"
        )
    _note_customer_column(kind, result, {name for _, name, _ in plan.parsers})
    return plan


def _missing_hint(
    kind: Kind,
    path: Path,
    options: ImportOptions,
    names: list[str],
    looks_like: dialects.Layout | None,
) -> str | None:
    """What the file that lacks needed columns seems to be instead, if anything."""
    if looks_like is not None:
        return f"this looks like a {looks_like.title}: import it with --from {looks_like.dialect}"
    delimiter = delimiter_hint(kind, path, options)
    if delimiter is not None:
        return delimiter
    other = headers.likely_kind(kind, names)
    if other is not None:
        how = headers.how_to_import(path, kind.name, other.name, dialects.NATIVE)
        return f"it has the columns of {headers.article(other.name)} file: {how}"
    return None


# The native columns that name an order's customer.
_CUSTOMER_COLUMNS = ("customer_id", "email")


def _note_customer_column(kind: Kind, result: ImportResult, read: set[str]) -> None:
    """Orders from a file without any customer column belong to no one: say so plainly."""
    if not kind.keeps_anonymous_rows:
        return
    result.customer_column = any(column in read for column in _CUSTOMER_COLUMNS)
    if not result.customer_column:
        result.warnings.append(
            "the file has no customer column (no email or customer id): every order is "
            "anonymous, so no segment will include them"
        )

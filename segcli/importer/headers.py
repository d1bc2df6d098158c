"""What a file's header says before any row is read.

A header can show that the file is not what the command line says: a platform export
given as a native file or as another platform's, a native file of another kind (an orders
file given as carts), or a column whose name is a misspelling of one segcli knows
(``emial``), which would otherwise become a custom field, or be ignored, without a word.
Each of these refuses the file with the command that reads it right.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable
from pathlib import Path

from segcli.errors import ImportRefused
from segcli.importer import dialects
from segcli.importer.kinds import KINDS, Kind, known_columns, missing_columns

# -- misspelt columns ------------------------------------------------------------------

# Other names merchants' tools give a column, beyond spelling (Mailchimp's "Email Address").
OTHER_NAMES = {"emailaddress": "email", "qty": "quantity"}

# Words that name the record before a column's name: order_total, customer_email, Lineitem
# price. Without the word, the name may be one segcli knows.
RECORD_WORDS = ("lineitem", "subscriber", "customer", "product", "review", "order", "item", "cart")
_RECORD_WORD = re.compile("|".join(RECORD_WORDS))

# Real column names one letter from a known one that mean something else: a UK county is
# a region, not a misspelt country.
LOOK_ALIKES = frozenset({"county"})


def normalised(name: str) -> str:
    """A column name without case, spaces and punctuation: "First Name" is "firstname"."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


def _allowed_edits(known: str) -> int:
    """How many typing slips a (normalised) known name may show and still be recognised.

    Short names are only recognised by case and punctuation (``SKU``): one slip in three
    letters makes another word. Names of 4 to 8 letters allow one slip (``emial``,
    ``totl``, ``tag``); longer ones two (``custmer_ids``, ``created`` for ``created_at``).
    """
    if len(known) <= 3:
        return 0
    return 1 if len(known) <= 8 else 2


def _slips(typed: str, known: str, limit: int) -> int:
    """Edits (insert, delete, replace, swap two neighbours) from ``typed`` to ``known``;
    any number above ``limit`` is returned as ``limit + 1``."""
    previous2: list[int] = []
    previous = list(range(len(known) + 1))
    for i, a in enumerate(typed, 1):
        current = [i] + [0] * len(known)
        for j, b in enumerate(known, 1):
            cost = 0 if a == b else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a == known[j - 2] and typed[i - 2] == b:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return min(previous[-1], limit + 1)


class ColumnGuesser:
    """Tells which of some known columns a header name is most likely meant as.

    A name is taken as a known column when it is that column once case, spaces, ``-`` and
    ``_`` are ignored (``E-mail``, ``First Name``), when it is the column's name after the
    record's name (``order_total``), a common other name (``Email Address``, ``qty``), or
    the column with one typing slip (two for names of 9 letters or more).
    """

    def __init__(self, known: Iterable[str]):
        self.by_key = {normalised(column): column for column in known}
        # By the length of a typed name: the known names it may be a slip of, with their
        # letters and the slips they allow (names that allow none are only found by their
        # normalised form). A file may have 100,000 unknown columns.
        self.near: dict[int, list[tuple[str, str, set[str], int]]] = {}
        for key, column in self.by_key.items():
            allowed = _allowed_edits(key)
            for length in range(len(key) - allowed, len(key) + allowed + 1):
                if allowed:
                    self.near.setdefault(length, []).append((key, column, set(key), allowed))

    def __call__(self, name: str) -> str | None:
        typed = normalised(name)
        if len(typed) < 2 or typed in LOOK_ALIKES:
            return None
        by_key = self.by_key
        if typed in by_key:
            return by_key[typed]
        if OTHER_NAMES.get(typed) in by_key:
            return OTHER_NAMES[typed]
        record = _RECORD_WORD.match(typed)
        if record is not None and typed[record.end() :] in by_key:
            return by_key[typed[record.end() :]]
        letters = set(typed)
        best: tuple[int, str] | None = None
        for key, column, key_letters, allowed in self.near.get(len(typed), ()):
            # Each slip changes at most two letters of the name's set of letters.
            if len(letters ^ key_letters) > 2 * allowed:
                continue
            slips = _slips(typed, key, allowed)
            if slips <= allowed and (best is None or slips < best[0]):
                best = (slips, column)
        return None if best is None else best[1]


def likely_column(name: str, known: Iterable[str]) -> str | None:
    """The known column that a header name is most likely meant as, if any (ColumnGuesser)."""
    return ColumnGuesser(known)(name)


def misspelt_columns(
    kind: Kind, header: list[str], names: list[str], mapping: dict[str, str]
) -> list[tuple[str, str]]:
    """Unknown columns that look like a known column the file lacks: (as written, known).

    ``names`` are the header's names after --map; a column --map names is the user's
    choice. A name close to a column the file already has is another column (``email2``).
    """
    known = known_columns(kind)
    guess = ColumnGuesser(column for column in known if column not in names)
    found = []
    for written, name in zip(header, names, strict=True):
        if not name or name in known or written.strip().lower() in mapping:
            continue
        column = guess(written)
        if column is not None:
            found.append((written.strip(), column))
    return found


def misspelt_refusal(path: Path, kind: Kind, misspelt: list[tuple[str, str]]) -> ImportRefused:
    """The refusal that names each misspelt column, its known column and the --map to use."""
    one = len(misspelt) == 1
    if kind.keeps_unknown_columns:
        fate = "keep it as a custom field" if one else "keep them as custom fields"
    else:
        fate = "ignore it" if one else "ignore them"
    if one:
        [(written, column)] = misspelt
        message = (
            f"column {written!r} looks like {column} misspelt or named another way: as it is, "
            f"segcli would {fate} and leave {column} empty"
        )
    else:
        listed = ", ".join(f"{written!r} ({column})" for written, column in misspelt)
        message = (
            f"columns {listed} look like segcli's columns misspelt or named another way: as "
            f"they are, segcli would {fate} and leave those columns empty"
        )
    fix = " ".join(f"--map {shlex.quote(f'{written}={column}')}" for written, column in misspelt)
    return ImportRefused(
        path,
        message,
        hint=f"read {'it' if one else 'them'} as segcli's with {fix}, or add --keep-unknown "
        f"to {fate}",
    )


# -- the kind and dialect a header fits -------------------------------------------------


def article(word: str) -> str:
    """The word with its indefinite article: an orders, a carts."""
    return f"an {word}" if word[0] in "aeiou" else f"a {word}"


def _own_columns(kind: Kind) -> set[str]:
    """The columns that show a file is of this kind: those it needs, and those only it has."""
    others = set().union(*(known_columns(k) for k in KINDS.values() if k is not kind))
    needed = {column for group in kind.required for column in group}
    return needed | (set(known_columns(kind)) - others)


def better_kind(kind: Kind, names: Iterable[str]) -> Kind | None:
    """Another native kind a header clearly belongs to, rather than ``kind``.

    Clearly: the other kind has every column it needs, knows every column of the header
    that ``kind`` knows, and more, among them one that marks it (``order_id`` for orders,
    ``subscribed_at`` for subscribers). A customers file with a custom ``status`` column is
    still a customers file; an orders file given as carts is not a carts file.
    """
    present = {name for name in names if name}
    mine = present & set(known_columns(kind))
    best: tuple[int, Kind] | None = None
    for other in KINDS.values():
        theirs = present & set(known_columns(other))
        if other is kind or missing_columns(other, present) or not mine <= theirs:
            continue
        if not (theirs - mine) & _own_columns(other):
            continue
        if best is None or len(theirs) > best[0]:
            best = (len(theirs), other)
    return None if best is None else best[1]


def likely_kind(kind: Kind, names: Iterable[str]) -> Kind | None:
    """For a header that lacks what ``kind`` needs: a native kind whose columns it has."""
    present = {name for name in names if name}
    best: tuple[int, Kind] | None = None
    for other in KINDS.values():
        theirs = present & set(known_columns(other))
        if other is kind or missing_columns(other, present) or 2 * len(theirs) <= len(present):
            continue
        if best is None or len(theirs) > best[0]:
            best = (len(theirs), other)
    return None if best is None else best[1]


def _native_fit(names: set[str]) -> tuple[int, Kind | None]:
    """The native kind whose needed columns a header has and which knows most of it."""
    best: tuple[int, Kind | None] = (0, None)
    for kind in KINDS.values():
        if missing_columns(kind, names):
            continue
        known = len(names & set(known_columns(kind)))
        if known > best[0]:
            best = (known, kind)
    return best


def how_to_import(path: Path, kind: str, right_kind: str, dialect: str) -> str:
    """The words that tell how to import a file as what it is."""
    if right_kind == kind:
        if dialect == dialects.NATIVE:
            return "import it without --from"
        return f"import it with --from {dialect}"
    command = f"segcli import {right_kind} {shlex.quote(str(path))}"
    if dialect != dialects.NATIVE:
        command += f" --from {dialect}"
    return f"import it with {command}"


def check_layout(path: Path, kind: Kind, header: list[str], dialect: str, mapped: bool) -> None:
    """Refuse a file whose header is another platform's export, or a native file.

    With ``--from native`` a header that is a platform export is refused unless --map is
    given (the merchant maps its columns on purpose). With ``--from PLATFORM`` a header
    that lacks the columns marking that platform's export of ``kind`` is refused when it
    is another export, or a native file; trimmed exports still import.
    """
    names = {name.strip().lower() for name in header}
    given = dialects.LAYOUTS.get((dialect, kind.name))
    if dialect == dialects.NATIVE:
        found = [] if mapped else dialects.fitting_layouts(header)
    elif given is not None and given.signature <= names:
        return
    else:
        found = [layout for layout in dialects.fitting_layouts(header) if layout is not given]
    unread = ""
    if given is None and dialect != dialects.NATIVE:
        exports = dialects.kinds_in_words(dialect)
        unread = f"--from {dialect} reads {exports} exports, not {kind.name}; "
    if found:
        right = found[0]
        how = how_to_import(path, kind.name, right.kind, right.dialect)
        raise ImportRefused(path, f"{unread}this is {article(right.title)}: {how}")
    if dialect == dialects.NATIVE:
        return
    read = 0 if given is None else len(dialects.read_columns(given, header))
    native_columns, native = _native_fit(names)
    if native is not None and native_columns > read:
        how = how_to_import(path, kind.name, native.name, dialects.NATIVE)
        raise ImportRefused(
            path, f"{unread}this is {article(native.name)} file in segcli's own columns: {how}"
        )


def check_kind(path: Path, kind: Kind, names: list[str]) -> None:
    """Refuse a native file that is clearly of another kind (an orders file given as carts)."""
    right = better_kind(kind, names)
    if right is not None:
        how = how_to_import(path, kind.name, right.name, dialects.NATIVE)
        raise ImportRefused(
            path, f"this is {article(right.name)} file, not {article(kind.name)} file: {how}"
        )

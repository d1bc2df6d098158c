"""DuckDB's segcli_fold() and segcli_compare() against their Python meaning: every code
point, named edge cases, and hypothesis texts and numbers (segcli/analytic/macros.py)."""

from __future__ import annotations

import decimal
import functools
import sys
from collections.abc import Sequence

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segcli.analytic import macros
from segcli.rules.operators import compare_custom, fold
from tests.conftest import fuzz_examples

SURROGATES = range(0xD800, 0xE000)
EVERY_CHARACTER = [chr(p) for p in range(sys.maxunicode + 1) if p not in SURROGATES]

# Characters whose folding is not plain lowercase (sharp s, dotted and dotless i, final
# sigma, ligatures, the long s, micro, Greek with iota, Cherokee, Deseret, Adlam), the
# combining marks they fold to, NUL, and plain neighbours.
SPECIAL = list(
    "ß\u1e9e\u0130\u0131iIΣσς\ufb01\ufb03\u017f\u00b5\u0149\u01f0\u0390\u1f88\u1fb3"
    "\u0345\u0307\u0301\u13a0\uab70\U00010400\U0001e900\x00éÉAa "
)


@functools.cache
def connection() -> duckdb.DuckDBPyConnection:
    """One connection with the macros, for every test here (hypothesis's examples too)."""
    con = duckdb.connect()
    macros.install(con)
    return con


@pytest.fixture
def con():
    return connection()


def folded_by_duckdb(con, texts: Sequence[str | None]) -> list[str | None]:
    """segcli_fold() of each text, read from a column as the engine reads the copy."""
    con.register("rows", pa.table({"n": range(len(texts)), "text": pa.array(texts, pa.string())}))
    return [
        row[0] for row in con.execute("SELECT segcli_fold(text) FROM rows ORDER BY n").fetchall()
    ]


def compared_by_duckdb(con, pairs: Sequence[tuple[str | None, str]]) -> list[int | None]:
    """segcli_compare() of each (stored, value) pair, both read from columns."""
    con.register(
        "rows",
        pa.table(
            {
                "n": range(len(pairs)),
                "stored": pa.array([stored for stored, _ in pairs], pa.string()),
                "value": pa.array([value for _, value in pairs], pa.string()),
            }
        ),
    )
    return [
        row[0]
        for row in con.execute(
            "SELECT segcli_compare(stored, value) FROM rows ORDER BY n"
        ).fetchall()
    ]


# ---------------------------------------------------------------------------------
# The tables, as read from the running Python


def test_folding_tables_are_each_characters_own():
    # The module skips blocks whose folding equals their lowercase; character by
    # character, nothing is missed.
    mapping = {}
    differing = set()
    for char in EVERY_CHARACTER:
        if char.casefold() != char.lower():
            differing.add(char)
            if char.lower() == char:
                mapping[char] = char.casefold()
    assert mapping == macros.FOLDING
    assert differing == macros.FOLDING_DIFFERS
    assert macros.FOLDING["ß"] == "ss" and macros.FOLDING["ς"] == "σ"
    assert "ẞ" in macros.FOLDING_DIFFERS and "ẞ" not in macros.FOLDING


def test_spaces_are_pythons():
    assert {char for char in EVERY_CHARACTER if char.isspace()} == macros.SPACES
    assert {" ", "\t", "\x1c", "\x85", "\xa0", "\u2028", "\u3000"} <= macros.SPACES


def test_install_twice_and_only_for_the_connection(tmp_path):
    path = tmp_path / "copy.duckdb"
    with duckdb.connect(str(path)) as con:
        macros.install(con)
        macros.install(con)
        assert con.execute("SELECT segcli_fold('STRASSE')").fetchall() == [("strasse",)]
    # TEMP macros: a database file never keeps one built from another Python's tables.
    with duckdb.connect(str(path)) as con, pytest.raises(duckdb.CatalogException):
        con.execute("SELECT segcli_fold('x')")


# ---------------------------------------------------------------------------------
# segcli_fold


def test_fold_every_code_point(con):
    # Each character alone (DuckDB keeps NUL in VARCHAR: code point 0 is among them).
    assert folded_by_duckdb(con, EVERY_CHARACTER) == [char.casefold() for char in EVERY_CHARACTER]


def test_fold_every_code_point_in_runs(con):
    # Runs of neighbours, and each run after ASCII capitals and a sharp s, so that every
    # character also passes through the path of text that is taken apart.
    runs = ["".join(EVERY_CHARACTER[i : i + 61]) for i in range(0, len(EVERY_CHARACTER), 61)]
    texts = runs + ["ABC ß " + run for run in runs]
    assert folded_by_duckdb(con, texts) == [text.casefold() for text in texts]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, None),
        ("", ""),
        ("Anna", "anna"),
        ("A\x00B", "a\x00b"),
        ("Straße", "strasse"),
        ("STRAẞE", "strasse"),
        ("İstanbul", "i̇stanbul"),
        ("ISTANBUL", "istanbul"),
        ("ıspanak", "ıspanak"),
        ("ΟΔΥΣΣΕΥΣ", "οδυσσευσ"),
        ("οδυσσευς", "οδυσσευσ"),
        ("ﬁnance ﬀ", "finance ff"),
        ("\u01f0", "j\u030c"),
        ("e\u0301cole", "e\u0301cole"),
        ("ᾈ", "ἀι"),
        ("ꭰᎠ", "ᎠᎠ"),
        ("µg", "μg"),
        ("\U00010400\U0001e900", "\U00010428\U0001e922"),
        ("Émile 👍", "émile 👍"),
    ],
)
def test_fold_cases(con, text, expected):
    assert fold(text) == expected
    assert folded_by_duckdb(con, [text]) == [expected]
    assert con.execute("SELECT segcli_fold($text)", {"text": text}).fetchall() == [(expected,)]


@settings(deadline=None, max_examples=fuzz_examples(150))
@given(
    st.lists(
        st.text() | st.text(st.sampled_from(SPECIAL) | st.characters(codec="utf-8")), max_size=30
    )
)
def test_fold_is_casefold(texts):
    assert folded_by_duckdb(connection(), texts) == [text.casefold() for text in texts]


# ---------------------------------------------------------------------------------
# segcli_compare

EMAX = decimal.MAX_EMAX
ETINY = decimal.MIN_EMIN - decimal.MAX_PREC + 1


@pytest.mark.parametrize(
    ("stored", "value", "expected"),
    [
        (None, "5", None),
        ("1e400", "2", 1),
        ("2", "1e400", -1),
        ("-1e400", "-2", -1),
        ("1e-400", "0", 1),
        ("0.10", "0.1", 0),
        ("-0", "0", 0),
        ("-0.0e7", "+.0", 0),
        (" 5 ", "5", 0),
        ("\u30005\u2028", "5.0", 0),
        ("\x1c5", "5", 0),
        ("007", "7.000", 0),
        ("10", "9", 1),
        ("9", "10", -1),
        ("-10", "-9", -1),
        ("1.", ".5", 1),
        ("0.12", "0.123", -1),
        ("-0.12", "-0.123", 1),
        ("-0.12e0", "-0.123e0", 1),
        ("-1.5e3", "-1.25e3", -1),
        ("-120e-1", "-12", 0),
        ("-12.0e0", "-12", 0),
        ("1.5e3", "1.25e3", 1),
        ("1E3", "1000", 0),
        ("1e+0003", "999.9999", 1),
        (
            "12345678901234567890123456789012345678901234567890",
            "1.2345678901234567890123456789e49",
            1,
        ),
        ("999999999999999999.999999999999999999", "1000000000000000000", -1),
        # Beyond Decimal's reach a number is text: "1e..." then sorts before "2".
        (f"1e{EMAX}", "2", 1),
        (f"1e{EMAX + 1}", "2", -1),
        (f"10e{EMAX - 1}", "2", 1),
        (f"10e{EMAX}", "2", -1),
        (f"0.1e{EMAX + 1}", "2", 1),
        (f"0e{EMAX}", "0", 0),
        (f"0e{EMAX + 1}", "0", 1),
        (f"1e{ETINY}", "1", -1),
        (f"1.0e{ETINY}", "1", 1),
        (f"0e{ETINY}", "0", 0),
        (f"0e{ETINY - 1}", "0", 1),
        ("1e" + "9" * 40, "2", -1),
        ("1e-" + "9" * 40, "1", 1),
        ("1e" + "0" * 40 + "5", "100000", 0),
        # Not numbers by operators._NUMBER: compared as folded text.
        ("abc", "ABD", -1),
        ("Straße", "STRASSE", 0),
        ("5", "five", -1),
        ("1,5", "1.5", -1),
        ("1.2.3", "1.2", 1),
        ("١٢", "12", 1),
        ("1_000", "1000", 1),
        ("inf", "1", 1),
        ("NaN", "nan", 0),
        (".", "0", -1),
        ("e5", "5", 1),
        ("", "0", -1),
        ("\x00", "", 1),
        ("é", "z", 1),
        ("\uffff", "\U00010000", -1),
    ],
)
def test_compare_cases(con, stored, value, expected):
    assert compare_custom(stored, value) == expected
    assert compared_by_duckdb(con, [(stored, value)]) == [expected]
    assert con.execute(
        "SELECT segcli_compare($stored, $value)", {"stored": stored, "value": value}
    ).fetchall() == [(expected,)]


spaces = st.text(st.sampled_from(sorted(macros.SPACES)), max_size=2)
digits = st.text(st.sampled_from("0123456789"), max_size=25) | st.sampled_from(
    ["", "0", "00", "000123", "1", "10", "100", "9" * 19, "1" + "0" * 20]
)
# The exponent's size: small, near Decimal's bounds (EMAX above, Etiny below), or far out.
powers = (
    st.integers(0, 500)
    | st.integers(EMAX - 50, EMAX + 50)
    | st.integers(-ETINY - 50, -ETINY + 50)
    | st.integers(0, 10**25)
)
exponents = st.just("") | st.builds(
    "{}{}{}{}".format,
    st.sampled_from("eE"),
    st.sampled_from(["", "+", "-"]),
    st.sampled_from(["", "0", "000"]),
    powers,
)
numbers = st.builds(
    "{}{}{}{}{}{}{}".format,
    spaces,
    st.sampled_from(["", "+", "-"]),
    digits,
    st.sampled_from([".", ""]),
    digits,
    exponents,
    spaces,
)
# Numbers of few digits and small exponents: pairs often share their leading power of ten,
# and then their digits decide.
close_numbers = st.builds(
    "{}{}{}{}{}".format,
    st.sampled_from(["", "-", " -", "+"]),
    st.text(st.sampled_from("0129"), max_size=3),
    st.sampled_from(["", "."]),
    st.text(st.sampled_from("0129"), max_size=3),
    st.sampled_from(["", "e0", "e1", "e-1", "E+2"]),
)
texts = (
    numbers
    | close_numbers
    | st.text(max_size=8)
    | st.text(st.sampled_from(SPECIAL + list("0123456789.eE+-")))
)


@settings(deadline=None, max_examples=fuzz_examples(150))
@given(st.lists(st.tuples(st.none() | texts, texts), max_size=30))
def test_compare_is_compare_custom(pairs):
    assert compared_by_duckdb(connection(), pairs) == [
        compare_custom(stored, value) for stored, value in pairs
    ]


@settings(deadline=None, max_examples=fuzz_examples(100))
@given(st.lists(st.tuples(close_numbers, close_numbers), max_size=30))
def test_compare_close_numbers(pairs):
    assert compared_by_duckdb(connection(), pairs) == [
        compare_custom(stored, value) for stored, value in pairs
    ]


@settings(deadline=None, max_examples=fuzz_examples(100))
@given(st.lists(numbers, min_size=1, max_size=20), numbers)
def test_compare_with_a_bound_value(stored, value):
    # As compiled segments call it: a column against one bound parameter.
    con = connection()
    con.register("rows", pa.table({"n": range(len(stored)), "stored": stored}))
    got = con.execute(
        "SELECT segcli_compare(stored, $value) FROM rows ORDER BY n", {"value": value}
    ).fetchall()
    assert [row[0] for row in got] == [compare_custom(text, value) for text in stored]

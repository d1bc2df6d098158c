"""What differs between SQL engines in a compiled segment, behind one interface.

The compiler walks the condition tree once and asks its dialect for every piece of SQL
that is not standard: how a parameter is written, how text is folded for case, how a
custom field is read from its JSON, how a list bound as one JSON parameter is read, how
a person's tags are read, and the hints that steer SQLite's planner. A second engine is a
second subclass (model: sqlglot's generator classes); the tree, the parser and the
operator rows stay as they are.
"""

from __future__ import annotations

import json


class Dialect:
    """The engine-specific pieces of compiled SQL. Each method returns SQL text."""

    name = "abstract"
    # Whether the engine finds rows through indexes, one search per alternative of an OR
    # (SQLite), or reads whole columns, where one pass testing every alternative is
    # cheapest (DuckDB).
    searches_indexes = True

    def placeholder(self, name: str) -> str:
        """A bound parameter called ``name``."""
        raise NotImplementedError

    def fold(self, expression: str, *, numbers: bool = False) -> str:
        """``expression`` folded for case, as ``operators.fold`` folds text in Python;
        ``numbers``: the expression may hold numbers (a custom field's JSON value)."""
        raise NotImplementedError

    def fold_call(self, expression: str) -> str:
        """The engine's call of segcli's own fold (on few values: no fast path)."""
        raise NotImplementedError

    def custom_field(self, column: str, path: str) -> str:
        """A custom field's value from the JSON object ``column``; ``path`` is the SQL of
        its JSON path (a placeholder: even a validated name is bound)."""
        raise NotImplementedError

    def compare_custom(self, field: str, value: str) -> str:
        """-1, 0 or 1 comparing a custom field with a value (``operators.compare_custom``)."""
        raise NotImplementedError

    def bound_list(self, values: tuple[object, ...]) -> object:
        """A list of values as one bound parameter, which ``json_values`` reads."""
        raise NotImplementedError

    def json_values(self, array: str) -> str:
        """A one-column SELECT of ``value``: the elements of the list ``array`` (a
        parameter bound as ``bound_list`` makes it)."""
        raise NotImplementedError

    def tags(self, tags: str) -> str:
        """A FROM item of a person's tags (the JSON array ``tags``), one row each, whose
        folded text is ``tag_value()``."""
        raise NotImplementedError

    def tag_value(self) -> str:
        """A tag of ``tags()``, folded for case."""
        raise NotImplementedError

    def tag_count(self, tags: str) -> str:
        """The number of tags in the JSON array ``tags``."""
        raise NotImplementedError

    def tags_test(self, test: str, tags: str, values: list[str]) -> str:
        """SQL of a test of a person's tags (the JSON array ``tags``), folded, against
        ``values`` (the SQL inside ``IN (...)``: placeholders, or one SELECT of ``value``):
        has_any, has_none, has_all (of distinct values), same_tags or other_tags."""
        listed = ", ".join(values)
        some = f"EXISTS (SELECT 1 FROM {self.tags(tags)} WHERE {self.tag_value()} IN ({listed}))"
        if test == "has_any":
            return some
        if test == "has_none":
            return f"NOT {some}"
        value = self.tag_value()
        among = (
            f"(SELECT count(DISTINCT {value}) FROM {self.tags(tags)} "
            f"WHERE {value} IN ({listed or 'NULL'})) = {len(values)}"
        )
        if test == "has_all":
            return among
        same = (
            f"(SELECT count(DISTINCT {value}) FROM {self.tags(tags)}) = {len(values)} AND {among}"
        )
        if test == "same_tags":
            return same
        assert test == "other_tags"
        return f"NOT ({same})"

    def full_scan(self, table: str) -> str:
        """A table (with its alias) read whole, not through an index: for conditions that
        match most of its rows."""
        return table

    def without_index(self, column: str) -> str:
        """A column compared so that the planner does not search its index."""
        return column

    def distinct_values(self, table: str, column: str, where: str) -> str:
        """A SELECT of the distinct values of ``column`` as ``value``, to be filtered after
        (a fold is applied to each distinct value, not to each row)."""
        return f"SELECT DISTINCT {column} AS value FROM {table}{where}"


class SQLite(Dialect):
    """SQLite, with segcli's functions segcli_fold() and segcli_compare() registered."""

    name = "sqlite"

    def placeholder(self, name: str) -> str:
        return f":{name}"

    def fold(self, expression: str, *, numbers: bool = False) -> str:
        # ASCII text (as many bytes as characters, and no NUL, where SQLite's length()
        # stops) folds with SQLite's own lower(), in C; other text (accents, other
        # scripts) goes to segcli_fold(). A call into Python for every row was most of the
        # cost of a segment over many people. With ``numbers``, only text takes the fast
        # path (lower() returns text: the types match for text alone); numbers go to
        # segcli_fold(), since SQLite writes -0.0 as 0.0 and 1e20 as 1.0e+20.
        text = f"typeof({expression}) = typeof(lower({expression})) AND " if numbers else ""
        return (
            f"CASE WHEN {expression} IS NULL THEN NULL "
            f"WHEN {text}length(CAST({expression} AS BLOB)) = length({expression}) "
            f"THEN lower({expression}) ELSE {self.fold_call(expression)} END"
        )

    def fold_call(self, expression: str) -> str:
        return f"segcli_fold({expression})"

    def custom_field(self, column: str, path: str) -> str:
        return f"json_extract({column}, {path})"

    def compare_custom(self, field: str, value: str) -> str:
        return f"segcli_compare({field}, {value})"

    def bound_list(self, values: tuple[object, ...]) -> object:
        return json.dumps(values, ensure_ascii=False)

    def json_values(self, array: str) -> str:
        return f"SELECT value FROM json_each({array})"

    def tags(self, tags: str) -> str:
        return f"json_each({tags}) AS tag"

    def tag_value(self) -> str:
        return self.fold("tag.value")

    def tag_count(self, tags: str) -> str:
        return f"json_array_length({tags})"

    def full_scan(self, table: str) -> str:
        # Most rows, asked for columns an index lacks: reading the table beats fetching
        # each row through an index (at a million people 0.6 s against 5 s).
        return f"{table} NOT INDEXED"

    def without_index(self, column: str) -> str:
        # The unary + keeps SQLite from walking the column's index for a range that is
        # most of the table (at a million people, 5-16 s against 0.6 s for the table).
        return f"+{column}"

    def distinct_values(self, table: str, column: str, where: str) -> str:
        # LIMIT -1 keeps SQLite from pushing the fold down into the scan, which would fold
        # every row instead of every distinct value (0.6 s instead of 0.05 s at 630k lines).
        return f"SELECT DISTINCT {column} AS value FROM {table}{where} LIMIT -1"


SQLITE = SQLite()


class DuckDB(Dialect):
    """DuckDB over the analytic copy, with segcli's macros segcli_fold() and
    segcli_compare() (segcli/analytic/macros.py): SQL, never a Python function per row."""

    name = "duckdb"
    searches_indexes = False

    def placeholder(self, name: str) -> str:
        return f"${name}"

    def fold(self, expression: str, *, numbers: bool = False) -> str:
        # A custom field's value is text here (json_extract_string), numbers included.
        return self.fold_call(expression)

    def fold_call(self, expression: str) -> str:
        return f"segcli_fold({expression})"

    def custom_field(self, column: str, path: str) -> str:
        return f"json_extract_string({column}, {path})"

    def compare_custom(self, field: str, value: str) -> str:
        return f"segcli_compare({field}, {value})"

    def bound_list(self, values: tuple[object, ...]) -> object:
        # DuckDB binds a Python list as a typed LIST: numbers stay numbers.
        return list(values)

    def json_values(self, array: str) -> str:
        return f"SELECT unnest({array}) AS value"

    def tags(self, tags: str) -> str:
        return f"(SELECT unnest(json_extract_string({tags}, '$[*]')) AS value) AS tag"

    def tag_value(self) -> str:
        return self.fold("tag.value")

    def tag_count(self, tags: str) -> str:
        return f"json_array_length({tags})"

    def tags_test(self, test: str, tags: str, values: list[str]) -> str:
        # A person's tags as a list, folded once per evaluation (the facts' tags_folded):
        # list functions on each row instead of a subquery per person.
        folded = self.folded_tags(tags)
        if len(values) == 1 and values[0].startswith("SELECT "):
            wanted = f"(SELECT list(value) FROM ({values[0]}))"
        else:
            wanted = f"[{', '.join(values)}]::VARCHAR[]"
        if test == "has_any":
            return f"list_has_any({folded}, {wanted})"
        if test == "has_none":
            return f"NOT list_has_any({folded}, {wanted})"
        # The values are distinct (folded once each): has_all is all of them among the tags.
        among = f"len(list_intersect(list_distinct({folded}), {wanted})) = {len(values)}"
        if test == "has_all":
            return among
        same = f"len(list_distinct({folded})) = {len(values)} AND {among}"
        if test == "same_tags":
            return f"({same})"
        assert test == "other_tags"
        return f"NOT ({same})"

    def folded_tags(self, tags: str) -> str:
        """The folded tags of the JSON array ``tags`` as a list."""
        if tags == "f.tags":
            return "f.tags_folded"
        return f"list_transform(json_extract_string({tags}, '$[*]'), lambda tag: segcli_fold(tag))"


DUCKDB = DuckDB()

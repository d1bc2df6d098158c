"""A record without an id of its own is keyed by its parts as a JSON list (a subscriber by
email, date and status; a review or cart by person, product and date): stored keys must
stay exactly what json.dumps wrote, or a file imported again would not find its rows. A
record's custom fields are stored as the JSON object json.dumps wrote of them too: a file
imported again finds its rows unchanged only if they are the same text."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from segcli.importer.batches import custom_writer
from segcli.importer.kinds import _composite

parts = st.one_of(st.none(), st.text(), st.text(alphabet=st.characters(codec="utf-8")))


@settings(deadline=None, max_examples=500)
@given(st.lists(parts, min_size=1, max_size=4))
def test_a_composite_key_is_what_json_dumps_writes(values):
    assert _composite(*values) == json.dumps(tuple(values), ensure_ascii=False)


def test_other_parts_are_written_by_json_dumps():
    assert _composite("a", 3, None) == '["a", 3, null]'


def custom_by_json_dumps(custom: list[tuple[int, str]], fields: list[str]) -> str:
    """What a record's custom fields were stored as: a dict of its non-blank cells, in
    column order, written by json.dumps."""
    found = {}
    for position, name in custom:
        value = fields[position].strip()
        if value:
            found[name] = value
    return json.dumps(found, ensure_ascii=False, sort_keys=True)


names = st.text(alphabet=st.characters(codec="utf-8"), max_size=6)
cells = st.one_of(st.sampled_from(["", " ", "\u00a0", "x"]), st.text(st.characters(codec="utf-8")))


@settings(deadline=None, max_examples=500)
@given(st.lists(st.tuples(names, cells), max_size=6), st.data())
def test_custom_fields_are_stored_as_json_dumps_wrote_them(columns, data):
    # Names repeat sometimes (two columns of one name): the last non-blank cell wins.
    columns = [(data.draw(st.sampled_from(["a", name])), cell) for name, cell in columns]
    custom = [(position, name) for position, (name, _) in enumerate(columns)]
    fields = [cell for _, cell in columns]
    assert custom_writer(custom)(fields) == custom_by_json_dumps(custom, fields)

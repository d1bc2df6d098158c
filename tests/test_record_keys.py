"""A record without an id of its own is keyed by its parts as a JSON list (a subscriber by
email, date and status; a review or cart by person, product and date): stored keys must
stay exactly what json.dumps wrote, or a file imported again would not find its rows."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from segcli.importer.kinds import _composite

parts = st.one_of(st.none(), st.text(), st.text(alphabet=st.characters(codec="utf-8")))


@settings(deadline=None, max_examples=500)
@given(st.lists(parts, min_size=1, max_size=4))
def test_a_composite_key_is_what_json_dumps_writes(values):
    assert _composite(*values) == json.dumps(tuple(values), ensure_ascii=False)


def test_other_parts_are_written_by_json_dumps():
    assert _composite("a", 3, None) == '["a", 3, null]'

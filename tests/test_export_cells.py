"""The CSV exporter's per-field cell writers give exactly the cells of the plain path."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from segcli.segments.export import EXPORT_FIELDS, _cell, _cell_writer, value_of

texts = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.sampled_from(["=SUM(A1)", "+1", "-5", "@x", "\tx", "a,b", 'say "hi"', "two\nlines"]),
)
members = st.fixed_dictionaries(
    {
        **{name: texts for name in EXPORT_FIELDS},
        "accepts_marketing": st.sampled_from([None, 0, 1]),
        "orders_count": st.one_of(st.none(), st.integers(-5, 10**6)),
        "days_since_last_order": st.one_of(st.none(), st.integers(0, 10**5)),
        "total_spent": st.one_of(st.none(), st.integers(-(10**12), 10**12)),
        "created_at": st.one_of(st.none(), st.just("2024-01-02 03:04:05")),
        "first_order_at": st.one_of(st.none(), st.just("2024-01-02 03:04:05.250000")),
        "last_order_at": st.one_of(st.none(), st.just("2025-12-31 23:59:59")),
        "tags": st.one_of(st.none(), st.lists(st.text(max_size=6), max_size=3).map(json.dumps)),
        "custom": st.one_of(
            st.none(), st.dictionaries(st.sampled_from(["tier", "x"]), texts).map(json.dumps)
        ),
    }
)


@settings(deadline=None, max_examples=300)
@given(member=members, raw=st.booleans())
def test_cell_writers_match_the_plain_cells(member, raw):
    for name in (*EXPORT_FIELDS, "custom.tier"):
        assert _cell_writer(name, raw)(member) == _cell(value_of(member, name), raw), name

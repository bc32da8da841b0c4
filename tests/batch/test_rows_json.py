"""The batch findings table's JSON columns, written directly where that is faster, equal the encoder's bytes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

_LOC_KEYS = ("file", "path", "segment", "line", "loop", "segment_id", "element", "offset", "clé", "a b")


@given(st.dictionaries(st.sampled_from(_LOC_KEYS),
                       st.one_of(st.integers(min_value=-10**20, max_value=10**20), st.text(max_size=12),
                                 st.booleans(), st.none(), st.floats(allow_nan=False)),
                       max_size=8))
def test_location_json_is_the_encoders_bytes(location: dict[str, object]) -> None:
    """The findings table's `location` column, written directly for plain values, is byte for byte
    what the JSON encoder writes (sorted keys, no spaces), escapes and non-ASCII included."""
    from cartcode.batch._rows import _dumps, location_json

    assert location_json(location) == _dumps(location)

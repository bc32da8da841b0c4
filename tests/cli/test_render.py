"""The streamed JSON report is byte-identical to json.dumps(report, indent=2, ensure_ascii=False)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cartcode.cli._render import dump_indented

_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(), st.floats(allow_nan=False))
_values = st.recursive(
    _scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children,
                                                                               max_size=4)),
    max_leaves=30,
)


@settings(max_examples=500, deadline=None)
@given(_values, st.integers(min_value=0, max_value=3))
def test_dump_indented_is_json_dumps(value: Any, level: int) -> None:
    expected = json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n" + "  " * level)
    assert dump_indented(value, "  " * level) == expected


def test_a_lone_surrogate_is_kept_as_json_dumps_keeps_it() -> None:
    assert dump_indented({"id": "\ud800x"}) == json.dumps({"id": "\ud800x"}, indent=2, ensure_ascii=False)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.none(), st.text()), st.text(min_size=1), st.integers(min_value=0, max_value=10**9),
       st.sampled_from(["checked", "failed"]), st.one_of(st.none(), st.text()))
def test_a_plain_claim_is_written_as_its_json(claim_id: str | None, file: str, index: int, status: str,
                                              error: str | None) -> None:
    import io

    from cartcode.cli._render import JsonWriter, _indented
    from cartcode.findings import ClaimResult
    from cartcode.model import ClaimSource

    result = ClaimResult(id=claim_id, source=ClaimSource(file=file, index=index), status=status,  # type: ignore[arg-type]
                         error=error)
    writer = JsonWriter(io.StringIO())
    assert writer._plain_claim(result) == _indented(result.to_json(), 2)

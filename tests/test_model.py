"""The claim model (src/cartcode/model.py)."""

from __future__ import annotations

import datetime as dt

from cartcode.model import Claim, ClaimSource


def test_a_claims_repr_never_shows_the_birth_date() -> None:
    claim = Claim(id="c1", kind="institutional", source=ClaimSource(file="f.json", index=0),
                  birth_date=dt.date(1950, 1, 2), sex="F")
    text = repr(claim)
    assert "1950" not in text and "birth_date=<redacted>" in text
    assert "id='c1'" in text and "sex='F'" in text  # the rest is still there to debug with

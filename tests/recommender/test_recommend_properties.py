"""Properties of recommend() over generated encounters: it either answers or raises InputError;
every answer validates against the shipped schema; every code it emits is valid on the date and
cites known sources; the answer is deterministic."""

from __future__ import annotations

import datetime as dt
from typing import Any

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cartcode.errors import InputError
from cartcode.kb.loader import load_kb
from cartcode.recommender._recommend import recommend
from cartcode.schemas import load_schema

KB = load_kb()
VALIDATOR = jsonschema.Draft202012Validator(load_schema("recommend-answer"))
NAMES = sorted({name for p in KB.products for name in (p.id, p.brand, p.generic, *p.aliases) if name})

encounters = st.fixed_dictionaries(
    {
        "setting": st.sampled_from(["inpatient", "outpatient", "professional"]),
        "date": st.dates(dt.date(2016, 1, 1), dt.date(2028, 12, 31)).map(dt.date.isoformat),
        "product": st.sampled_from(NAMES),
    },
    optional={
        "route": st.sampled_from(["peripheral", "central"]),
        "payer": st.sampled_from(["medicare", "medicare-advantage", "medicaid", "commercial"]),
        "clinical_trial": st.sampled_from(["none", "this-product", "different-product"]),
        "product_acquisition": st.sampled_from(["purchased", "no-cost"]),
        "expanded_access": st.booleans(),
        "claim_form": st.sampled_from(["electronic", "paper"]),
        "place_of_service": st.sampled_from(["facility", "office"]),
    },
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(encounters)
def test_answers_are_valid_dated_and_cited(facts: dict[str, Any]) -> None:
    try:
        answer = recommend(facts, KB)
    except InputError as exc:
        assert str(exc)  # a message, never another exception type
        return
    data = answer.to_json()
    errors = list(VALIDATOR.iter_errors(data))
    assert not errors, errors[0].message
    day = dt.date.fromisoformat(facts["date"])
    for code in answer.codes:
        row = KB.code(code.system, code.code, day)
        assert row is not None, f"{code.system} {code.code} is not valid on {day}"
        assert code.sources and all(s in KB.sources for s in code.sources)
        assert code.where, f"{code.system} {code.code} does not say where it goes on the claim"
        if facts["setting"] == "professional":
            assert "837I" not in code.where and "UB-04" not in code.where
        else:
            assert "837P" not in code.where and "CMS-1500" not in code.where
    for message in [*answer.warnings, *answer.notes]:
        assert all(s in KB.sources for s in message.sources)
    if facts.get("route"):
        assert all(KB.code("ICD-10-PCS", c).route == facts["route"]  # type: ignore[union-attr]
                   for c in answer.code_list("ICD-10-PCS"))
    assert recommend(facts, KB).to_json() == data


@settings(max_examples=60, deadline=None)
@given(encounters)
def test_setting_decides_the_claim_type(facts: dict[str, Any]) -> None:
    try:
        answer = recommend(facts, KB)
    except InputError:
        return
    systems = {c.system for c in answer.codes}
    if facts["setting"] == "inpatient":
        assert "ICD-10-PCS" in systems and "CPT" not in systems
        day = dt.date.fromisoformat(facts["date"])
        if any(r.valid_on(day) for role in ("car-t", "pre-drg018") for r in KB.codes_where(system="MS-DRG", role=role)):
            assert any(p.system == "MS-DRG" for p in answer.payment)
        else:  # past the KB's MS-DRG periods (FY2028 on): no MS-DRG, and the answer says why
            assert not any(p.system == "MS-DRG" for p in answer.payment)
            assert any(w.kind == "horizon" for w in answer.warnings)
    else:
        assert "ICD-10-PCS" not in systems and "CPT" in systems
        assert not any(p.system == "MS-DRG" for p in answer.payment)
    if facts["setting"] != "outpatient":
        assert "revenue" not in systems or facts["setting"] == "inpatient"

"""Hypothesis strategies for claims in our JSON format, shared by the reader and engine tests."""

from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st

_code = st.sampled_from([
    "0540T", "38228", "38225", "38999", "Q2041", "Q2054", "XW033C3", "XW043N7", "XW033G7", "ZC", "90", "30", "D4",
    "Z00.6", "KX", "LU", "Q0", "0874", "0891", "0871", "0876", "018", "016", "??", "30243Y0", "XW033A7", "Q2056",
])
_day = st.dates(min_value=dt.date(2016, 1, 1), max_value=dt.date(2027, 12, 31)).map(dt.date.isoformat)
_line = st.fixed_dictionaries({}, optional={
    "revenue_code": _code, "code": _code, "modifiers": st.lists(_code, max_size=2), "date": _day,
    "units": st.sampled_from([0, 1, 2, "0.1"]), "charge": st.sampled_from([0, "0.01", 1, 2500, "400000.00"]),
    "notes": st.lists(st.sampled_from(["Yescarta", "allogeneic CAR-T", "Expand Acc Use"]), max_size=1),
})
car_t_claim = st.fixed_dictionaries(
    {"kind": st.sampled_from(["institutional", "professional"])},
    optional={
        "type_of_bill": st.sampled_from(["111", "131", "121"]), "place_of_service": st.sampled_from(["11", "22"]),
        "payer": st.sampled_from(["medicare", "commercial", "medicare-advantage"]),
        "filing_indicator": st.sampled_from(["MA", "MB"]),
        "claim_form": st.sampled_from(["paper", "electronic"]), "discharge_date": _day, "statement_from": _day,
        "statement_to": _day, "diagnoses": st.lists(_code, max_size=3), "procedures": st.lists(_code, max_size=3),
        "condition_codes": st.lists(_code, max_size=2),
        "value_codes": st.lists(st.fixed_dictionaries({"code": _code}, optional={"amount": st.text(max_size=9)}),
                                max_size=2),
        "notes": st.lists(st.sampled_from(["Diff Prod Clin Trial", "Expand Acc Use", "Kymriah", "allo"]), max_size=2),
        "drg": _code, "lines": st.lists(_line, max_size=4),
    },
)

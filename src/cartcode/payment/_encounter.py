"""The estimate for one `recommend` encounter: the setting picks the estimator; the MS-DRG and
whether the MS-DRG 018 adjustment applies come from the answer's payment facts (decisions.yaml)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from cartcode.kb.loader import KB
from cartcode.payment._ipps import estimate_inpatient
from cartcode.payment._model import Estimate
from cartcode.payment._opps import estimate_outpatient
from cartcode.payment._pfs import estimate_professional

# The encounter's optional hospital values (CONTRACT.md, issue 15), by setting.
HOSPITAL_FIELDS = ("charges", "wage_index", "operating_ccr", "capital_ccr", "ime", "dsh", "uncompensated_care", "gpci")


def estimate_encounter(
    *,
    setting: str,
    date: dt.date,
    product: str,
    payer: str,
    place_of_service: str,
    drg: str | None,
    adjustment: bool,
    adjustment_reason: str | None,
    hospital: Mapping[str, Any],
    kb: KB,
) -> Estimate:
    """The estimate for the encounter; `hospital` holds the optional values (HOSPITAL_FIELDS)."""
    if setting == "inpatient":
        est = estimate_inpatient(
            drg, date, charges=hospital.get("charges"), adjustment=adjustment, adjustment_reason=adjustment_reason,
            product=product, wage_index=hospital.get("wage_index"), operating_ccr=hospital.get("operating_ccr"),
            capital_ccr=hospital.get("capital_ccr"), ime=hospital.get("ime"), dsh=hospital.get("dsh"),
            uncompensated_care=hospital.get("uncompensated_care"), payer=payer, kb=kb)
        ignored = ["gpci"]
    elif setting == "outpatient":
        est = estimate_outpatient(date, product=product, wage_index=hospital.get("wage_index"), payer=payer, kb=kb)
        ignored = [f for f in HOSPITAL_FIELDS if f not in ("wage_index",)]
    else:
        est = estimate_professional(date, place_of_service=place_of_service, gpci=hospital.get("gpci"),
                                    payer=payer, kb=kb)
        ignored = [f for f in HOSPITAL_FIELDS if f != "gpci"]
    unused = [f for f in ignored if hospital.get(f) is not None]
    if unused:
        est.warnings.append(f"Not used for a {setting} estimate: {', '.join(unused)}.")
    return est

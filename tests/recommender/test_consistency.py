"""recommend and check agree (issue 3, item 7).

For every product x setting x route x payer, on the dates either side of every switch the KB
knows (each code's and each policy's effective_from / effective_to), what `recommend()` answers,
written as a claim in our JSON format, checks with no error-level finding. The variants of the
inpatient payment rules (clinical trial, no-cost product, expanded access, paper) are run on the
same dates for Medicare.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from cartcode.checker._engine import check_claim
from cartcode.errors import InputError
from cartcode.findings import Severity
from cartcode.formats import _json as json_claims
from cartcode.kb.loader import KB, load_kb
from cartcode.recommender._recommend import Answer, recommend

ERA_START = dt.date(2017, 8, 30)  # the first CAR-T approval: earlier switches are not CAR-T's
PRINCIPAL_DX = "C83.38"
NCT = "01234567"


def switch_dates(kb: KB) -> list[dt.date]:
    """Both sides of every period boundary of the KB's codes and policies, within the CAR-T era."""
    days: set[dt.date] = set()
    rows: list[Any] = [*kb.codes, *kb.policies]
    for row in rows:
        if row.effective_from is not None:
            days.update({row.effective_from - dt.timedelta(days=1), row.effective_from})
        if row.effective_to is not None:
            days.update({row.effective_to, row.effective_to + dt.timedelta(days=1)})
    limit = kb.as_of + dt.timedelta(days=366)
    return sorted(d for d in days if ERA_START <= d <= limit)


def _amount(text: str | None, token: bool) -> str:
    if text and "<=" in text:
        return "0.01"
    return "0.01" if token else "400000.00"


def _units(text: str | None) -> Decimal | None:
    match = re.match(r"\s*([0-9.]+)", text or "")
    return Decimal(match.group(1)) if match else None


def answer_to_claim(answer: Answer, *, optional: bool = False) -> dict[str, Any]:
    """The claim a biller would send for the answer (the first route when both are offered; the
    optional alternatives, such as tracking-only preparation lines, when `optional`)."""
    enc = answer.encounter
    setting, day = enc["setting"], enc["date"]
    token = enc.get("product_acquisition") == "no-cost"
    claim: dict[str, Any] = {"id": "consistency", "payer": enc["payer"], "claim_form": enc["claim_form"]}
    if setting == "professional":
        claim.update(kind="professional", place_of_service="11" if enc.get("place_of_service") == "office" else "22")
    else:
        claim.update(kind="institutional", type_of_bill="111" if setting == "inpatient" else "131",
                     statement_from=day, statement_to=day)
        if setting == "inpatient":
            claim["discharge_date"] = day
    diagnoses: list[str] = [PRINCIPAL_DX]
    procedures: list[str] = []
    conditions: list[str] = []
    values: list[dict[str, str]] = []
    notes: list[str] = []
    lines: dict[str, dict[str, Any]] = {}
    for code in answer.codes:
        if code.optional and not optional:
            continue  # an alternative (e.g. tracking-only lines instead of inside the product charge)
        system = code.system
        if system == "ICD-10-PCS":
            if not procedures:  # both routes are offered only when the route is absent
                procedures.append(code.code)
        elif system == "ICD-10-CM":
            diagnoses.append(code.code)
        elif system == "condition":
            conditions.append(code.code)
        elif system == "value":
            amount = NCT if code.code == "D4" else "400000.00"
            values.append({"code": code.code, "amount": amount})
        elif system == "note":
            notes.append(code.code)
        elif system in ("CPT", "HCPCS", "revenue", "modifier"):
            line = lines.setdefault(code.line or code.code, {"date": day})
            if system == "revenue":
                line["revenue_code"] = code.code
            elif system == "modifier":
                line.setdefault("modifiers", []).append(code.code)
            else:
                line["code"] = code.code
                units = _units(code.units)
                if units is not None:
                    line["units"] = str(units)
            if code.line == "product":
                line["charge"] = _amount(code.amount, token)
            else:
                line.setdefault("charge", "2500.00")
    claim.update(diagnoses=diagnoses, procedures=procedures, condition_codes=conditions, value_codes=values,
                 notes=notes, lines=list(lines.values()))
    return claim


def _encounters(kb: KB) -> Iterator[dict[str, Any]]:
    products = [p.id for p in kb.products]
    for day in switch_dates(kb):
        for setting in ("inpatient", "outpatient", "professional"):
            routes = ("peripheral", "central") if setting == "inpatient" else ("peripheral",)
            for product in products:
                for route in routes:
                    for payer in ("medicare", "medicare-advantage", "medicaid", "commercial"):
                        yield {"setting": setting, "date": day.isoformat(), "product": product, "route": route,
                               "payer": payer}
                    base = {"setting": setting, "date": day.isoformat(), "product": product, "route": route,
                            "payer": "medicare"}
                    yield {**base, "clinical_trial": "this-product", "product_acquisition": "no-cost"}
                    yield {**base, "clinical_trial": "different-product"}
                    yield {**base, "expanded_access": True, "product_acquisition": "no-cost", "claim_form": "paper"}
                    if setting == "professional":
                        yield {**base, "place_of_service": "office"}


def _check(encounter: dict[str, Any], kb: KB) -> list[str]:
    answer = recommend(encounter, kb)  # a refusal (InputError) is counted by the caller
    variants = [False, True] if any(c.optional for c in answer.codes) else [False]
    problems: list[str] = []
    for optional in variants:
        claim_data = answer_to_claim(answer, optional=optional)
        (claim,) = list(json_claims.read(json.dumps(claim_data).encode(), "recommend.json"))
        assert not isinstance(claim, json_claims.ClaimError), claim.error
        errors = [f for f in check_claim(claim, kb) if f.severity == Severity.ERROR]
        label = " (with the optional lines)" if optional else ""
        problems.extend(f"{encounter}{label} -> {f.rule} {f.name}: {f.message}" for f in errors)
    return problems


@pytest.fixture(scope="module")
def bundled() -> KB:
    return load_kb()


def test_switch_dates_cover_the_known_switches(bundled: KB) -> None:
    days = set(switch_dates(bundled))
    for a, b in [("2024-12-31", "2025-01-01"), ("2021-09-30", "2021-10-01"), ("2022-09-30", "2022-10-01"),
                 ("2025-06-25", "2025-06-26")]:
        assert dt.date.fromisoformat(a) in days and dt.date.fromisoformat(b) in days


@pytest.mark.slow
def test_recommend_answers_check_clean(bundled: KB) -> None:
    problems: list[str] = []
    refusals: list[str] = []
    count = 0
    for encounter in _encounters(bundled):
        count += 1
        try:
            problems.extend(_check(encounter, bundled))
        except InputError as exc:  # e.g. a product with no code valid on that date
            refusals.append(f"{encounter}: {exc}")
    answered = count - len(refusals)
    # A recommend that refused everything must not pass: most encounters are answered, and every
    # refusal is one of the reasons recommend documents (no code for the product on that date).
    assert answered > 1000 and answered > 2 * len(refusals), (answered, refusals[:5])
    odd = [r for r in refusals if "valid" not in r and "approv" not in r and "no " not in r]
    assert not odd, odd[:10]
    assert not problems, f"{len(problems)} disagreements, e.g.:\n" + "\n".join(sorted(set(problems))[:30])

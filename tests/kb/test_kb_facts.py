"""facts.md §1-6, pinned: the values, periods and confidence labels the KB carries for them.
Typed in from ../shared/domain/facts.md (its labels: V-primary, V-secondary, V-low, inferred,
unverified); a KB edit that changes one of these facts must change this file too."""

from __future__ import annotations

import datetime as dt

import pytest

from cartcode.kb.loader import KB

D = dt.date


@pytest.mark.parametrize(("system", "code", "start", "end", "label"), [
    # §1 ICD-10-PCS
    ("ICD-10-PCS", "XW033C3", D(2017, 10, 1), D(2021, 9, 30), "V-primary"),
    ("ICD-10-PCS", "XW24346", D(2020, 10, 1), D(2021, 9, 30), "V-primary"),
    ("ICD-10-PCS", "XW24376", D(2020, 10, 1), D(2021, 9, 30), "V-primary"),
    ("ICD-10-PCS", "XW033H7", D(2021, 10, 1), None, "V-primary"),
    ("ICD-10-PCS", "XW043N7", D(2021, 10, 1), None, "V-secondary"),
    ("ICD-10-PCS", "XW033C7", D(2021, 10, 1), None, "V-secondary"),
    ("ICD-10-PCS", "XW043G7", D(2021, 10, 1), None, "V-secondary"),
    ("ICD-10-PCS", "XW033L7", D(2021, 10, 1), None, "V-secondary"),
    ("ICD-10-PCS", "XW04368", D(2022, 10, 1), None, "V-primary"),
    ("ICD-10-PCS", "XW03368", D(2022, 10, 1), None, "inferred"),
    ("ICD-10-PCS", "XW04378", D(2022, 10, 1), None, "V-primary"),
    ("ICD-10-PCS", "XW0338A", D(2024, 10, 1), None, "unverified"),
    # §3 CPT
    ("CPT", "0537T", D(2019, 1, 1), D(2024, 12, 31), "V-secondary"),
    ("CPT", "0540T", D(2019, 1, 1), D(2024, 12, 31), "V-secondary"),
    ("CPT", "38225", D(2025, 1, 1), None, "V-secondary"),
    ("CPT", "38228", D(2025, 1, 1), None, "V-secondary"),
    # §4 NUBC
    ("revenue", "0870", D(2019, 4, 1), None, "V-secondary"),
    ("revenue", "0875", D(2019, 4, 1), None, "V-secondary"),
    ("revenue", "0891", D(2019, 4, 1), None, "V-secondary"),
    ("value", "86", D(2019, 4, 1), None, "V-secondary"),
    # §2 / §5 / §6
    ("modifier", "LU", D(2022, 1, 1), None, "V-secondary"),
    ("modifier", "KX", D(2019, 8, 7), D(2025, 6, 25), "V-primary"),  # REMS role ends with the REMS (issue 13)
    ("condition", "90", D(2022, 10, 1), None, "V-primary"),
    ("condition", "ZC", D(2025, 7, 7), None, "V-primary"),
    ("value", "D4", D(2014, 1, 1), None, "V-secondary"),
    ("MS-DRG", "018", D(2020, 10, 1), D(2021, 9, 30), "V-secondary"),
])
def test_code_periods_and_labels(kb: KB, system: str, code: str, start: dt.date, end: dt.date | None,
                                 label: str) -> None:
    rows = kb.code_rows(system, code)
    row = next((r for r in rows if r.effective_from == start), None)
    assert row is not None, (code, [r.effective_from for r in rows])
    assert row.effective_to == end and row.confidence == label


@pytest.mark.parametrize(("code", "product"), [
    # Q2042 (2019-01-01), Q2053 (2021-04-01) and Q2054 (2021-10-01) are dated since issue 13: tests/kb/test_audit.py
    ("Q2041", "yescarta"), ("Q2055", "abecma"), ("Q2056", "carvykti"), ("Q2058", "aucatzyl"), ("C9081", "abecma"),
])
def test_product_hcpcs_codes_with_unverified_dates(kb: KB, code: str, product: str) -> None:
    row = kb.code("HCPCS", code)
    assert row is not None and row.product == product
    assert row.confidence == "V-secondary" and row.date_confidence == "unverified"
    assert row.effective_from is None and row.effective_to is None  # start dates not confirmed (§2)


def test_status_letters_and_their_labels(kb: KB) -> None:
    si_0540t = [s for s in kb.code("CPT", "0540T").statuses if s.kind == "OPPS-SI"]  # type: ignore[union-attr]
    assert [(s.value, s.confidence) for s in si_0540t] == [("S", "V-primary")]
    for code in ("38225", "38226", "38227"):
        statuses = {s.kind: (s.value, s.confidence) for s in kb.code("CPT", code).statuses}  # type: ignore[union-attr]
        assert statuses == {"OPPS-SI": ("B", "inferred"), "MPFS": ("B", "inferred")}
    statuses_38228 = {s.kind: s.value for s in kb.code("CPT", "38228").statuses}  # type: ignore[union-attr]
    assert statuses_38228 == {"OPPS-SI": "S", "APC": "5694", "MPFS": "A"}
    q2041 = kb.code("HCPCS", "Q2041")
    assert q2041 is not None and [(s.value, s.effective_from) for s in q2041.statuses] == [("G", D(2019, 4, 1))]


@pytest.mark.parametrize(("policy", "day", "value"), [
    ("rems-in-force", D(2025, 6, 25), True),
    ("rems-in-force", D(2025, 6, 26), False),
    ("kx-part-b-required", D(2019, 8, 7), True),
    ("kx-part-b-required", D(2025, 6, 26), False),
    ("kx-part-a-edited", D(2022, 1, 1), False),
    ("ma-pays-car-t", D(2021, 1, 1), True),
    ("drg-018-trial-adjustor", D(2021, 3, 1), 0.17),
    ("inpatient-product-token-max", D(2022, 1, 1), 1.0),
    ("drg-018-base-payment", D(2023, 3, 1), "$247,939"),
    ("drg-018-base-payment", D(2024, 3, 1), "$257,958"),
    ("drg-018-base-payment", D(2026, 3, 1), "$314,231"),
    ("once-per-day-38225-38228", D(2025, 3, 1), 1),
    ("professional-lu-fractional-units", D(2022, 1, 1), 0.1),
])
def test_policy_values_by_date(kb: KB, policy: str, day: dt.date, value: object) -> None:
    row = kb.policy(policy, day)
    assert row is not None and row.value == value


def test_policies_absent_outside_their_periods(kb: KB) -> None:
    assert kb.policy("ma-pays-car-t", D(2020, 12, 31)) is None
    assert kb.policy("expanded-access-cc90", D(2022, 9, 30)) is None
    assert kb.policy("condition-zc-automatic", D(2025, 7, 6)) is None
    assert kb.policy("drg-018-trial-adjustor", D(2021, 10, 1)) is None
    assert kb.policy("drg-018-base-payment", D(2025, 3, 1)) is None  # the FY2025 value was not found


def test_unverified_facts_keep_their_label(kb: KB) -> None:
    labels = {p.id: (p.confidence, p.date_confidence) for p in kb.policies}
    assert labels["kx-part-b-required"][1] == "unverified"  # the KX cut-over DOS (§6, §8.4)
    assert labels["no-38999-autologous-collection"][0] == "unverified"  # Note 1 not verified (§3)
    assert labels["pcs-codes-after-fy2025-unknown"][0] == "unverified"  # §1 FY2026/FY2027
    assert labels["q-code-current-opps-status-unknown"][0] == "unverified"  # §2
    assert labels["ncd-11024-2026-text-change"][0] == "unverified"  # §6
    assert labels["mpfs-38228-work-rvu"][0] == "V-low"  # §3
    gene = kb.code("revenue", "0892")
    assert gene is not None and gene.date_confidence == "unverified"  # §4

"""Issue 13: the audit's findings fixed in the KB, each pinned with the source it rests on, and the
review log covering every topic the issue lists. Only the KB is imported (other modules move)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from cartcode.kb.loader import KB, KBError, bundled_kb_dir, load_kb, load_kb_from
from cartcode.kb.schema import CONFIDENCE_RANK

D = dt.date


@pytest.fixture(scope="module")
def kb() -> KB:
    return load_kb()


def _cites(row: object, *source_ids: str) -> bool:
    return set(source_ids) <= set(getattr(row, "sources", []))


# ---------------------------------------------------------------- Q-code history (cms-hcpcs-q2042-decision)
def test_q2042_replaces_q2040_from_2019(kb: KB) -> None:
    old, new = kb.code("HCPCS", "Q2040"), kb.code("HCPCS", "Q2042")
    assert old is not None and new is not None
    assert (old.product, new.product) == ("kymriah", "kymriah")
    assert old.effective_to == D(2018, 12, 31) and new.effective_from == D(2019, 1, 1)
    assert old.successors == ["Q2042"] and new.predecessors == ["Q2040"]
    assert _cites(old, "cms-hcpcs-q2042-decision", "ohdsi-vocab-30") and _cites(new, "cms-hcpcs-q2042-decision")
    assert new.date_confidence == "V-primary"
    assert old.date_confidence == "inferred"  # the 2018-01-01 start is inferred from "(2018)"
    assert [r.code for r in kb.product_codes("kymriah", "HCPCS", D(2018, 6, 1))] == ["Q2040"]
    assert [r.code for r in kb.product_codes("kymriah", "HCPCS", D(2019, 1, 1))] == ["Q2042"]


def test_q2054_breyanzi_from_2021_10_01(kb: KB) -> None:
    row = kb.code("HCPCS", "Q2054")
    assert row is not None and row.effective_from == D(2021, 10, 1)
    assert _cites(row, "bms-breyanzi-billing") and row.date_confidence == "V-secondary"
    assert kb.product_codes("breyanzi", "HCPCS", D(2021, 9, 30)) == []


def test_q2053_dated_by_a_payer_policy_replacing_c9073(kb: KB) -> None:
    q2053, c9073 = kb.code("HCPCS", "Q2053"), kb.code("HCPCS", "C9073")
    assert q2053 is not None and c9073 is not None
    assert q2053.effective_from == D(2021, 4, 1) and c9073.effective_to == D(2021, 3, 31)
    assert _cites(q2053, "qualchoice-bi667") and _cites(c9073, "qualchoice-bi667")
    assert q2053.description == c9073.description
    assert q2053.description_confidence is None  # the descriptor is word for word in a payer policy


# ---------------------------------------------------------------- labels lowered to their evidence
@pytest.mark.parametrize("code", ["Q2054", "Q2055", "Q2056"])
def test_aggregator_descriptors_are_v_low(kb: KB, code: str) -> None:
    row = kb.code("HCPCS", code)
    assert row is not None and row.description_confidence == "V-low"
    assert row.confidence == "V-secondary"  # the code-product link keeps its own label
    aggregators = {s for s in row.sources if kb.source(s).kind == "aggregator"}
    assert aggregators  # the descriptor's only source is an aggregator (carecostestimate / clearcostestimate)


def test_38228_opps_status_held_for_cy2025_only(kb: KB) -> None:
    row = kb.code("CPT", "38228")
    assert row is not None
    for kind in ("OPPS-SI", "APC"):
        (status,) = [s for s in row.statuses if s.kind == kind]
        assert status.sources == ["astct-2025-04"]
        assert (status.effective_from, status.effective_to) == (D(2025, 1, 1), D(2025, 12, 31))
    assert not [s for s in row.statuses if s.kind in ("OPPS-SI", "APC") and s.valid_on(D(2026, 1, 1))]


def test_kx_rems_role_ends_with_the_rems(kb: KB) -> None:
    row = kb.code("modifier", "KX")
    assert row is not None and row.role == "rems-attestation"
    assert (row.effective_from, row.effective_to) == (D(2019, 8, 7), D(2025, 6, 25))
    assert row.date_confidence == "unverified"  # the MAC edit's DOS was not seen
    assert _cites(row, "fcso-ncd-11024", "fda-rems-2025")
    assert kb.code("modifier", "KX", D(2025, 6, 26)) is None
    rems = kb.policy("rems-in-force", D(2025, 6, 26))
    assert rems is not None and rems.value is False


def test_drg_018_title_past_fy2026_rests_on_the_proposed_rule(kb: KB) -> None:
    fy2026 = kb.code("MS-DRG", "018", D(2026, 9, 30))
    fy2027 = kb.code("MS-DRG", "018", D(2026, 10, 1))
    assert fy2026 is not None and fy2027 is not None
    assert fy2026.effective_to == D(2026, 9, 30) and fy2026.confidence == "V-secondary"
    assert "avalere-fy2027-proposed" not in fy2026.sources
    assert fy2027.confidence == "inferred" and _cites(fy2027, "fr-2026-07203", "avalere-fy2027-proposed")
    assert fy2027.effective_to == D(2027, 9, 30)
    missing = kb.policy("ipps-final-rule-missing", D(2026, 10, 1))
    assert missing is not None and missing.value == "FY2027 IPPS final rule"
    assert any(d.id == "ip-fy2027-final-rule-missing" and any(e.to == "warnings" for e in d.emit)
               for d in kb.decisions)


def test_value_code_86_is_payer_specific(kb: KB) -> None:
    row = kb.code("value", "86")
    assert row is not None and row.sources == ["bcbsnd-car-t"] and kb.source("bcbsnd-car-t").kind == "payer"
    assert "payer-specific" in row.description.lower()
    (decision,) = [d for d in kb.decisions if d.id == "ip-value-86"]
    assert all("payer-specific" in e.use.lower() for e in decision.emit)


def test_allogeneic_professional_answer_has_no_apc_claim(kb: KB) -> None:
    (decision,) = [d for d in kb.decisions if d.id == "pro-admin-allogeneic"]
    (payment,) = [e for e in decision.emit if e.to == "payment"]
    assert "does not apply" in payment.use and "PFS" in payment.use
    assert {"wps-carrier-priced", "aapc-unlisted"} <= set(payment.sources)
    # the outpatient (OPPS) answer keeps the guide's APC sentence: APCs are an OPPS notion
    (outpatient,) = [d for d in kb.decisions if d.id == "op-admin-allogeneic"]
    assert any("lowest paying APC" in e.use for e in outpatient.emit)


# ---------------------------------------------------------------- physician office (POS 11) modifiers
def test_office_fractional_claim_modifiers_in_the_rems_period(kb: KB) -> None:
    day = D(2024, 3, 1)
    first = kb.policy("office-product-modifiers-first-claim", day)
    later = kb.policy("office-product-modifiers-later-claims", day)
    assert first is not None and later is not None
    assert (first.value, later.value) == ("KX LU", "KX LU 76")
    for row in (first, later):
        assert _cites(row, "bms-breyanzi-billing") and row.confidence == "V-secondary"
    assert kb.policy("office-product-modifiers-first-claim", D(2021, 12, 31)) is None  # LU from DOS 1/1/2022
    seventy_six = kb.code("modifier", "76", day)
    assert seventy_six is not None and _cites(seventy_six, "bms-breyanzi-billing")
    # recommend ties these modifiers to the product line's claim groups (the policies are the only
    # place they are stated; the stand-in decisions of KB 2026.12.0 are gone)
    ids = {d.id for d in kb.decisions}
    assert not ids & {"pro-office-product-kx", "pro-office-fractional-claims-rems",
                      "pro-office-fractional-claims-after-rems"}


def test_office_modifiers_after_the_rems_drop_kx_by_inference(kb: KB) -> None:
    day = D(2025, 7, 1)
    first = kb.policy("office-product-modifiers-first-claim", day)
    later = kb.policy("office-product-modifiers-later-claims", day)
    assert first is not None and later is not None
    assert (first.value, later.value) == ("LU", "LU 76")
    assert first.confidence == later.confidence == "inferred"


def test_fraction_per_claim_varies_by_mac(kb: KB) -> None:
    row = kb.policy("professional-lu-fractional-units", D(2023, 1, 1))
    assert row is not None and row.value == 0.1 and _cites(row, "bms-breyanzi-billing")
    assert row.note is not None and "vary by MAC" in row.note


# ---------------------------------------------------------------- facts added from the review
def test_fy2026_ipps_rates(kb: KB) -> None:
    threshold = kb.policy("ipps-fixed-loss-outlier-threshold", D(2026, 3, 1))
    rate = kb.policy("ipps-operating-standardized-amount", D(2026, 3, 1))
    assert threshold is not None and threshold.value == "$40,397" and _cites(threshold, "mha-fy2026-ipps-final")
    assert rate is not None and rate.value == "$6,752.61" and _cites(rate, "mha-fy2026-ipps-final")
    fy2025 = kb.policy("ipps-fixed-loss-outlier-threshold", D(2025, 3, 1))
    assert fy2025 is not None and fy2025.value == "$46,217"


def test_trial_adjustor_only_fy2021_is_known(kb: KB) -> None:
    assert [(r.value, r.effective_from) for r in kb.policy_rows("drg-018-trial-adjustor")] == [(0.17, D(2020, 10, 1))]
    entry = kb.review("drg018-trial-adjustor-by-fy")
    assert entry is not None and entry.outcome == "partly-found"
    text = " ".join(entry.not_found)
    assert all(f"FY{year}" in text for year in range(2022, 2028))


def test_cgt_access_model_note(kb: KB) -> None:
    row = kb.policy("cgt-access-model", D(2025, 8, 1))
    assert row is not None and row.confidence == "V-primary" and _cites(row, "cms-cgt-access-model")
    (decision,) = [d for d in kb.decisions if d.id == "all-cgt-access-model"]
    assert decision.when.payer == ["medicaid"] and decision.emit[0].to == "notes"


def test_new_product_fallback_is_in_the_kb(kb: KB) -> None:
    misc = kb.policy("misc-hcpcs-before-permanent", D(2026, 6, 1))
    assert misc is not None and _cites(misc, "bms-claim")
    generic = kb.code("ICD-10-PCS", "XW033C7", D(2026, 6, 1))
    assert generic is not None and generic.product is None and generic.role == "admin"


# ---------------------------------------------------------------- review log, manifest
ISSUE_TOPICS = [
    "q-code-history-kymriah", "q2054-breyanzi-start", "office-pos11-fractional-modifiers", "q-code-descriptors",
    "opps-38228-status", "kx-rems-role-end", "drg018-title-fy2027", "value-code-86", "allogeneic-professional-pricing",
    "ipps-fy2026-final-drg018", "drg018-trial-adjustor-by-fy", "ipps-fy2027-final", "opps-pfs-cy2026-cy2027",
    "hcpcs-2026-2027-car-t", "fda-approvals-2025-2026", "cgt-access-model",
]


def test_review_log_covers_every_topic_of_the_issue(kb: KB) -> None:
    logged = {entry.topic for entry in kb.review_log}
    assert set(ISSUE_TOPICS) <= logged
    for topic in ISSUE_TOPICS:
        entry = kb.review(topic)
        assert entry is not None and entry.searched == D(2026, 12, 7) and entry.queries
        if entry.outcome != "not-found":
            assert entry.sources and all(s in kb.sources for s in entry.sources)
        if entry.outcome != "found":
            assert entry.not_found


def test_review_log_records_what_was_not_found(kb: KB) -> None:
    assert kb.review("ipps-fy2027-final").outcome == "not-found"  # type: ignore[union-attr]
    assert kb.review("hcpcs-2026-2027-car-t").outcome == "not-found"  # type: ignore[union-attr]


def test_manifest_edition_and_as_of(kb: KB) -> None:
    assert kb.edition == "2026.12.0" and kb.previous_edition == "2026.11.2"
    assert kb.as_of == D(2026, 12, 7) == max(e.searched for e in kb.review_log)
    assert kb.stamp() == {"edition": "2026.12.0", "as_of": "2026-12-07"}


def test_every_added_source_is_used(kb: KB) -> None:
    added = ["cms-hcpcs-q2042-decision", "ohdsi-vocab-30", "bms-breyanzi-billing", "qualiabio-mm12928",
             "qualchoice-bi667", "fda-breyanzi-mzl-2025", "pierre-fabre-tabcel-crl-2026", "cms-cgt-access-model",
             "hhs-cgt-2025-07-15",
             "mha-fy2026-ipps-final", "fr-2025-20907", "aabb-2025-09-09", "wps-carrier-priced", "aapc-unlisted"]
    used: set[str] = set()
    for row in [*kb.codes, *kb.policies, *kb.decisions, *kb.review_log]:
        used.update(getattr(row, "sources", []))
    for dec in kb.decisions:
        for emit in dec.emit:
            used.update(emit.sources)
    assert set(added) <= set(kb.sources) and set(added) <= used


def test_weak_labels_never_claim_more_than_their_sources(kb: KB) -> None:
    # a row citing only aggregators may not read better than V-low (its descriptor label included)
    for row in kb.codes:
        kinds = {kb.source(s).kind for s in row.sources}
        if kinds == {"aggregator"}:
            assert CONFIDENCE_RANK[row.confidence] >= CONFIDENCE_RANK["V-low"], row.code


# ---------------------------------------------------------------- the loader validates the review log
def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "kb"
    shutil.copytree(bundled_kb_dir(), target)
    return target


def _edit(directory: Path, old: str, new: str) -> None:
    path = directory / "review_log.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_loader_refuses_unknown_review_source(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    _edit(directory, "sources: [bms-breyanzi-billing]", "sources: [no-such-source]")
    with pytest.raises(KBError, match="unknown source id 'no-such-source'"):
        load_kb_from(directory)


def test_loader_refuses_found_topic_without_source(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    _edit(directory, "sources: [bms-breyanzi-billing]", "sources: []")
    with pytest.raises(KBError, match="names no source"):
        load_kb_from(directory)


def test_loader_refuses_search_after_as_of(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    _edit(directory, "searched: 2026-12-07", "searched: 2026-12-08")
    with pytest.raises(KBError, match="after the manifest's as_of"):
        load_kb_from(directory)


def test_loader_refuses_unknown_kb_row(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    _edit(directory, '"codes:HCPCS:Q2054"', '"codes:HCPCS:Q9999"')
    with pytest.raises(KBError, match="Q9999"):
        load_kb_from(directory)


def test_kb_without_review_log_still_loads(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    (directory / "review_log.yaml").unlink()
    assert load_kb_from(directory).review_log == []

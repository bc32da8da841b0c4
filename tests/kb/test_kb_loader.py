"""The loader's refusals, each on a temp copy of the bundled KB with one defect added, and the
integrity of the bundled data (every row cited, labels known, links resolve)."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from cartcode.kb.loader import KB, KBError, bundled_kb_dir, load_kb_from
from cartcode.kb.schema import CONFIDENCE_RANK


@pytest.fixture()
def kb_copy(tmp_path: Path) -> Path:
    target = tmp_path / "kb"
    shutil.copytree(bundled_kb_dir(), target)
    return target


def _append(directory: Path, name: str, text: str) -> None:
    path = directory / name
    path.write_text(path.read_text(encoding="utf-8").rstrip("\n") + "\n" + text + "\n", encoding="utf-8")


def _replace(directory: Path, name: str, old: str, new: str) -> None:
    path = directory / name
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_copy_loads(kb_copy: Path) -> None:
    assert load_kb_from(kb_copy).codes


def test_refuses_row_without_source(kb_copy: Path) -> None:
    _append(kb_copy, "codes.yaml", '  - {system: CPT, code: "38229", description: "x", confidence: V-primary}')
    with pytest.raises(KBError, match=r"codes\.yaml: row \d+ \(code '38229'\): the row names no source"):
        load_kb_from(kb_copy)


def test_refuses_empty_source_list(kb_copy: Path) -> None:
    _append(kb_copy, "policies.yaml", '  - {id: p-x, description: "x", sources: [], confidence: V-primary}')
    with pytest.raises(KBError, match=r"policies\.yaml: row \d+ \(id 'p-x'\): the row names no source"):
        load_kb_from(kb_copy)


def test_refuses_unknown_source_id(kb_copy: Path) -> None:
    _append(kb_copy, "codes.yaml",
            '  - {system: CPT, code: "38229", description: "x", sources: [no-such-source], confidence: V-primary}')
    with pytest.raises(KBError, match=r"codes\.yaml: row \d+ \(code '38229'\): unknown source id 'no-such-source'"):
        load_kb_from(kb_copy)


def test_refuses_unknown_source_id_in_a_status(kb_copy: Path) -> None:
    _append(kb_copy, "codes.yaml",
            '  - {system: CPT, code: "38229", description: "x", sources: [astct-2025-04], confidence: V-primary,'
            ' statuses: [{kind: MPFS, value: A, sources: [ghost], confidence: V-primary}]}')
    with pytest.raises(KBError, match="unknown source id 'ghost'"):
        load_kb_from(kb_copy)


def test_refuses_overlapping_periods(kb_copy: Path) -> None:
    _append(kb_copy, "codes.yaml",
            '  - {system: CPT, code: 0540T, description: "again", effective_from: 2024-06-01,'
            ' sources: [astct-2025-04], confidence: V-secondary}')
    with pytest.raises(KBError, match=r"codes\.yaml: row \d+ \(code '0540T'\): period overlaps row \d+"):
        load_kb_from(kb_copy)


def test_refuses_period_ending_before_it_starts(kb_copy: Path) -> None:
    _append(kb_copy, "codes.yaml",
            '  - {system: CPT, code: "38229", description: "x", effective_from: 2025-01-01, effective_to: 2024-01-01,'
            ' sources: [astct-2025-04], confidence: V-secondary}')
    with pytest.raises(KBError, match="effective_to is before effective_from"):
        load_kb_from(kb_copy)


@pytest.mark.parametrize(("system", "code"), [("CPT", "3822"), ("ICD-10-PCS", "XW043N"), ("ICD-10-PCS", "XW043NI"),
                                              ("revenue", "874x"), ("HCPCS", "Q20411"), ("ICD-10-CM", "Z006")])
def test_refuses_malformed_code(kb_copy: Path, system: str, code: str) -> None:
    _append(kb_copy, "codes.yaml",
            f'  - {{system: {system}, code: "{code}", description: "x", sources: [astct-2025-04],'
            ' confidence: V-primary}')
    with pytest.raises(KBError, match=rf"codes\.yaml: row \d+ \(code '{code}'\): malformed {system} code"):
        load_kb_from(kb_copy)


@pytest.mark.parametrize("bad", ["2025-13-01", "2025-02-30", "01/01/2025", "20250101"])
def test_refuses_malformed_date(kb_copy: Path, bad: str) -> None:
    _append(kb_copy, "codes.yaml",
            f'  - {{system: CPT, code: "38229", description: "x", effective_from: {bad},'
            ' sources: [astct-2025-04], confidence: V-primary}')
    with pytest.raises(KBError, match=r"codes\.yaml: row \d+ \(code '38229'\): effective_from"):
        load_kb_from(kb_copy)


def test_refuses_unknown_confidence_label(kb_copy: Path) -> None:
    _append(kb_copy, "codes.yaml",
            '  - {system: CPT, code: "38229", description: "x", sources: [astct-2025-04], confidence: probably}')
    with pytest.raises(KBError, match="confidence"):
        load_kb_from(kb_copy)


def test_refuses_malformed_manifest_date(kb_copy: Path) -> None:
    _replace(kb_copy, "manifest.yaml", "as_of: 2026-", "as_of: 2026-99-")
    with pytest.raises(KBError, match=r"manifest\.yaml"):
        load_kb_from(kb_copy)


def test_refuses_decision_naming_unknown_code(kb_copy: Path) -> None:
    _replace(kb_copy, "decisions.yaml", 'code: "0874", line: admin', 'code: "0879", line: admin')
    with pytest.raises(KBError, match=r"decisions\.yaml: decisions row \d+ .*revenue '0879' is not in codes\.yaml"):
        load_kb_from(kb_copy)


def test_refuses_decision_naming_unknown_policy(kb_copy: Path) -> None:
    _replace(kb_copy, "decisions.yaml", "policy_on: [expanded-access-cc90]", "policy_on: [cc-ninety]")
    with pytest.raises(KBError, match="unknown policy 'cc-ninety'"):
        load_kb_from(kb_copy)


def test_refuses_decision_without_source(kb_copy: Path) -> None:
    _replace(kb_copy, "decisions.yaml", "    sources: [icdlist-newtech]\n", "")
    with pytest.raises(KBError, match=r"decisions\.yaml: row \d+ \(id 'ip-pcs-stand-alone'\): the row names no source"):
        load_kb_from(kb_copy)


def test_refuses_duplicate_source_id(kb_copy: Path) -> None:
    _append(kb_copy, "sources.yaml", '  - {id: astct-2025-04, kind: society, publisher: x, title: dup}')
    with pytest.raises(KBError, match="duplicate source id"):
        load_kb_from(kb_copy)


def test_refuses_invalid_yaml(kb_copy: Path) -> None:
    (kb_copy / "products.yaml").write_text("products: [\n", encoding="utf-8")
    with pytest.raises(KBError, match=r"products\.yaml: not valid YAML"):
        load_kb_from(kb_copy)


# ------------------------------------------------------------------ integrity of the bundled data
def test_every_row_cites_known_sources_with_a_label(kb: KB) -> None:
    rows: list[Any] = [*kb.codes, *kb.products, *kb.policies, *kb.decisions, *kb.generic_use]
    for row in rows:
        assert row.sources and all(s in kb.sources for s in row.sources), row
        assert row.confidence in CONFIDENCE_RANK


def test_predecessor_and_successor_links_resolve_both_ways(kb: KB) -> None:
    for row in kb.codes:
        for successor in row.successors:
            target = kb.code_rows(row.system, successor)
            assert target, (row.code, successor)
            assert any(row.code in t.predecessors for t in target) or row.code.startswith("XW0"), (row.code, successor)
        for predecessor in row.predecessors:
            assert kb.code_rows(row.system, predecessor), (row.code, predecessor)
    assert kb.code("CPT", "0540T") is not None and kb.code("CPT", "0540T").successors == ["38228"]  # type: ignore[union-attr]
    assert set(kb.code("ICD-10-PCS", "XW033C3").successors) >= {"XW033C7", "XW033H7"}  # type: ignore[union-attr]


def test_category_iii_crosswalk(kb: KB) -> None:
    for old, new in (("0537T", "38225"), ("0538T", "38226"), ("0539T", "38227"), ("0540T", "38228")):
        old_row, new_row = kb.code("CPT", old), kb.code("CPT", new)
        assert old_row is not None and new_row is not None
        assert old_row.successors == [new] and new_row.predecessors == [old]
        assert old_row.description == new_row.description


def test_products_cover_the_seed_with_short_forms(kb: KB) -> None:
    for name, pid in (("tisa-cel", "kymriah"), ("axi-cel", "yescarta"), ("brexu-cel", "tecartus"),
                      ("liso-cel", "breyanzi"), ("ide-cel", "abecma"), ("cilta-cel", "carvykti"),
                      ("obe-cel", "aucatzyl"), ("Q2056", "carvykti"), ("autologous", "autologous"),
                      ("allogeneic", "allogeneic")):
        product = kb.product(name)
        assert product is not None and product.id == pid, name


def test_manifest_as_of_is_the_review_date(kb: KB) -> None:
    # as_of means "sources reviewed through" (issue 13): the newest search in the review log, never
    # earlier than the newest dated source.
    full_dates = [dt.date.fromisoformat(s.date) for s in kb.sources.values() if s.date and len(s.date) == 10]
    assert kb.as_of >= max(full_dates)
    assert kb.as_of == max(entry.searched for entry in kb.review_log)
    assert all(int(s.date[:4]) <= kb.as_of.year for s in kb.sources.values() if s.date)
    assert re.fullmatch(r"\d{4}\.\d{2}\.\d+", kb.edition)


def test_load_is_fast() -> None:
    start = time.perf_counter()
    load_kb_from(bundled_kb_dir())
    assert time.perf_counter() - start < 0.1

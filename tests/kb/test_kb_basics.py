from __future__ import annotations

import datetime as dt

from cartcode.kb.loader import KB


def test_bundled_kb_loads_with_edition(kb: KB) -> None:
    assert kb.edition
    assert kb.stamp()["as_of"] == kb.as_of.isoformat()


def test_deleted_code_keeps_its_row_and_successor(kb: KB) -> None:
    row = kb.code("CPT", "0540T")
    assert row is not None and row.effective_to == dt.date(2024, 12, 31)
    assert row.successors == ["38228"]
    assert kb.code("CPT", "0540T", dt.date(2025, 1, 1)) is None
    assert kb.code("CPT", "38228", dt.date(2025, 1, 1)) is not None


def test_product_names_match_case_insensitively(kb: KB) -> None:
    for name in ("Yescarta", "axi-cel", "AXICABTAGENE CILOLEUCEL", "q2041"):
        product = kb.product(name)
        assert product is not None and product.id == "yescarta", name

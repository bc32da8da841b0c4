"""`cartcode codes CODE|QUERY`: periods, links, statuses, sources; search; exit 2 on nothing found."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cartcode.cli._codes_cmd import codes_answer
from cartcode.errors import InputError
from cartcode.kb.loader import KB


def cartcode(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cartcode", *args], capture_output=True, text=True,
                          timeout=60, check=False)


def test_code_with_successor_and_statuses(kb: KB) -> None:
    answer = codes_answer(kb, "0540t")
    assert answer["match"] == "code"
    [row] = answer["codes"]
    assert row["code"] == "0540T" and row["effective_to"] == "2024-12-31" and row["successors"] == ["38228"]
    kinds = {(s["kind"], s["value"]) for s in row["statuses"]}
    assert kinds == {("OPPS-SI", "S"), ("APC", "5694"), ("MPFS", "A")}
    assert all(s["title"] for s in row["sources"]) and row["confidence"] == "V-secondary"


def test_code_with_several_periods(kb: KB) -> None:
    answer = codes_answer(kb, "018")
    periods = [(r["system"], r.get("effective_from"), r.get("effective_to")) for r in answer["codes"]]
    assert ("MS-DRG", "2020-10-01", "2021-09-30") in periods and ("MS-DRG", "2021-10-01", "2026-09-30") in periods
    assert ("MS-DRG", "2026-10-01", "2027-09-30") in periods  # FY2027 on the proposed rule only (issue 13)


def test_deleted_pcs_code_keeps_links(kb: KB) -> None:
    [row] = codes_answer(kb, "XW23376")["codes"]
    assert row["successors"] == ["XW033N7"] and row["product"] == "breyanzi" and row["date_confidence"] == "inferred"


def test_query_searches_names_and_descriptions(kb: KB) -> None:
    answer = codes_answer(kb, "tisagenlecleucel")
    assert answer["match"] == "search"
    assert [p["id"] for p in answer["products"]] == ["kymriah"]
    assert {"XW033J7", "XW043J7", "Q2042"} <= {r["code"] for r in answer["codes"]}
    answer = codes_answer(kb, "invoice cost")
    assert [r["code"] for r in answer["codes"]] == ["86"]


def test_nothing_found_is_an_input_error(kb: KB) -> None:
    with pytest.raises(InputError, match="nothing in the KB matches"):
        codes_answer(kb, "zzzz-not-a-thing")


def test_cli_text_json_and_exit_codes() -> None:
    text = cartcode("codes", "38228")
    assert text.returncode == 0 and "38228" in text.stdout and "predecessors: 0540T" in text.stdout
    data = json.loads(cartcode("codes", "Q2056", "--format", "json").stdout)
    assert data["codes"][0]["product"] == "carvykti"
    missing = cartcode("codes", "zzzz-not-a-thing")
    assert missing.returncode == 2 and "Traceback" not in missing.stderr and "nothing in the KB" in missing.stderr


def test_code_names_the_decisions_that_recommend_it(kb: KB) -> None:
    [row] = codes_answer(kb, "38228")["codes"]
    assert "op-admin-autologous" in row["recommended_by"] and "pro-admin-autologous" in row["recommended_by"]
    [pcs] = codes_answer(kb, "XW043N7")["codes"]
    assert pcs["recommended_by"] == ["ip-pcs-admin"]
    [cc90] = codes_answer(kb, "90")["codes"]
    assert cc90["recommended_by"] == ["ip-expanded-access-cc90"]
    [unused] = codes_answer(kb, "XW04368")["codes"]  # TCR-T: in the KB for MS-DRG 018 context only
    assert "recommended_by" not in unused


def test_no_argument_lists_every_code(kb: KB) -> None:
    answer = codes_answer(kb, "")
    assert answer["match"] == "all" and len(answer["codes"]) == len(kb.codes)
    assert len(answer["products"]) == len(kb.products)
    result = cartcode("codes", "--format", "json")
    assert result.returncode == 0 and len(json.loads(result.stdout)["codes"]) == len(kb.codes)

"""End to end in a real browser: `cartcode serve` in a child process, Debian's Chromium driven by
Playwright. Fills the worksheet (with labelled controls and the keyboard), checks the codes
shown against the library's answer, follows a code's documentation link, pastes a claim, checks
a finding and its rule link, and saves screenshots.

Screenshots go to $CARTCODE_ARTIFACTS (CI can keep them) or else a pytest temp directory.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from browser import launch_chromium, show_codes
from cartcode.kb.loader import KB
from cartcode.recommender._recommend import recommend
from samples import OUTPATIENT_0540T, inpatient_837i
from serverproc import ServerProcess, running_server

# An 837I discharged 2025-06-01 that still reports the pre-FY2022 generic code XW043C3.
X12_DELETED_PCS = inpatient_837i("CLM-X12-1", pcs="XW043C3")


@pytest.fixture(scope="module")
def page(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = launch_chromium(pw, tmp_path_factory, viewport={"width": 1280, "height": 900})
        try:
            yield context.new_page()
        finally:
            context.close()


def test_worksheet_then_check_in_chromium(page: Any, server: ServerProcess, artifacts: Path, kb: KB) -> None:
    from playwright.sync_api import expect

    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    console_errors: list[str] = []  # e.g. a Content-Security-Policy violation
    page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)

    page.goto(server.url + "/")
    expect(page.locator("#kb-stamp")).to_contain_text(f"Knowledge base {kb.edition}")

    # Every control has a label; the result regions announce themselves.
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea')]
              .filter((e) => e.labels.length === 0).map((e) => e.id || e.name)"""
    )
    assert unlabelled == []
    assert page.locator("#worksheet-result").get_attribute("aria-live") == "polite"
    assert page.locator("#check-result").get_attribute("aria-live") == "polite"
    assert page.locator("fieldset > legend").count() >= 3

    # --- worksheet: inpatient Breyanzi, central vein, Medicare, discharge 2025-06-01
    page.get_by_label("Setting").select_option("inpatient")
    page.get_by_label("Date of service").fill("2025-06-01")
    page.get_by_label("Product", exact=False).first.fill("Breyanzi")
    page.get_by_label("Central vein").check()
    page.get_by_label("Payer").select_option("medicare")
    page.get_by_label("Clinical trial").select_option("none")
    page.get_by_role("button", name="Show the codes").focus()
    page.keyboard.press("Enter")  # keyboard, not a click

    result = page.locator("#worksheet-result")
    expect(result.locator("table").first).to_be_visible()
    shown = result.locator("table").first.locator("tbody tr:has(td)")  # group heading rows hold a th only
    rows = [[cell.strip() for cell in shown.nth(i).locator("td").all_inner_texts()] for i in range(shown.count())]
    on_page = {(r[0], r[1]) for r in rows}
    assert ("ICD-10-PCS", "XW043N7") in on_page
    assert ("revenue", "0874") in on_page
    answer = recommend({"setting": "inpatient", "date": "2025-06-01", "product": "Breyanzi", "route": "central",
                        "payer": "medicare", "clinical_trial": "none", "product_acquisition": "purchased",
                        "expanded_access": False, "claim_form": "electronic", "place_of_service": "facility"},
                       kb=kb).to_json()
    assert on_page == {(c["system"], c["code"]) for c in answer["codes"]}  # every code, nothing else
    xw = next(r for r in rows if r[1] == "XW043N7")
    assert "Lisocabtagene" in xw[2]  # description
    assert xw[4]  # where it goes
    assert "astct-2025-04" in xw[5]  # sources
    for note in answer.get("notes", []):  # billing guidance shown with the codes
        expect(result).to_contain_text(note["message"])
    page.screenshot(path=str(artifacts / "worksheet.png"), full_page=True)

    # --- the code links to its documentation
    result.get_by_role("link", name="XW043N7 (ICD-10-PCS): documentation").click()
    doc = page.locator("#doc-result")
    expect(doc).to_contain_text("Periods of XW043N7")
    expect(doc).to_contain_text("2021-10-01")
    assert page.evaluate("document.activeElement.id") == "doc-heading"  # focus follows the view
    page.go_back()
    expect(page.locator("#view-worksheet")).to_be_visible()

    # --- a source id links to its citation
    result.locator("ul.sources a", has_text="astct-2025-04").first.click()
    expect(page.locator("#doc-result")).to_contain_text(kb.source("astct-2025-04").title)
    page.go_back()
    expect(page.locator("#view-worksheet")).to_be_visible()

    # --- check: paste a claim, see its finding with fix and citations
    page.get_by_role("link", name="Check a claim").click()
    page.get_by_label("Paste the claim").fill(json.dumps(OUTPATIENT_0540T, indent=2))
    page.get_by_role("button", name="Check the claim").click()
    findings = page.locator("#check-result")
    expect(findings.locator("table")).to_be_visible()
    expect(findings).to_contain_text("CLM-OP-1")
    row = findings.locator("tbody tr", has_text="0540T").first
    expect(row).to_contain_text("error")
    expect(row).to_contain_text("38228")  # the fix
    expect(row).to_contain_text("$.lines[0].code")  # where
    rule_id = row.locator("a.rule").inner_text()
    assert rule_id
    assert row.locator("ul.sources li").count() >= 1
    page.screenshot(path=str(artifacts / "check.png"), full_page=True)

    # --- an X12 837I, pasted: the finding names the segment, loop and element
    page.get_by_role("link", name="Check a claim").click()
    page.get_by_label("Paste the claim").fill(X12_DELETED_PCS)
    page.get_by_role("button", name="Check the claim").click()
    expect(findings).to_contain_text("CLM-X12-1")
    x12_row = findings.locator("tbody tr", has_text="XW043C3").first
    expect(x12_row).to_contain_text("error")
    expect(x12_row).to_contain_text("XW043N7")  # the replacement for this product, route and date
    expect(x12_row).to_contain_text("loop 2300")
    expect(x12_row).to_contain_text("HI01-2")
    page.screenshot(path=str(artifacts / "check-x12.png"), full_page=True)
    x12_row_rule = x12_row.locator("a.rule").inner_text()

    # --- the rule id links to the rule's documentation
    x12_row.locator("a.rule").click()
    expect(page.locator("#doc-heading")).to_contain_text(x12_row_rule)
    expect(page.locator("#doc-result")).to_contain_text("What it checks")
    example = page.locator("#doc-result details.example").first  # the rule's test cases, folded
    example.locator("summary").click()
    expect(example.locator("pre")).to_be_visible()

    assert (artifacts / "worksheet.png").stat().st_size > 10_000
    assert page_errors == []
    assert console_errors == []
    # Nothing but our own server was contacted.
    assert requests and all(url.startswith(server.url) for url in requests), requests


def test_upload_a_claim_file(page: Any, server: ServerProcess, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    claim_file = tmp_path / "claim.json"
    claim_file.write_text(json.dumps({**OUTPATIENT_0540T, "id": "CLM-UPLOAD"}))
    page.goto(server.url + "/#check")
    page.get_by_label("Or upload a claim file").set_input_files(str(claim_file))
    expect(page.get_by_label("Paste the claim")).to_have_value(claim_file.read_text())
    page.get_by_role("button", name="Check the claim").click()
    expect(page.locator("#check-result")).to_contain_text("CLM-UPLOAD")


def test_input_errors_are_shown_not_swallowed(page: Any, server: ServerProcess) -> None:
    from playwright.sync_api import expect

    page.goto(server.url + "/#worksheet")
    page.get_by_label("Date of service").fill("2025-06-01")
    page.get_by_label("Product", exact=False).first.fill("Breyanzzi")
    page.get_by_role("button", name="Show the codes").click()
    alert = page.locator("#worksheet-result [role=alert]")
    expect(alert).to_contain_text(re.compile(r"did you mean.*breyanzi", re.IGNORECASE))  # the close match


def test_page_with_a_token_protected_server(page: Any, tmp_path: Path, kb: KB) -> None:
    from playwright.sync_api import expect

    with running_server(token="page-token", log_path=tmp_path / "server.log") as secured:
        page.goto(secured.url + "/")
        stamp = page.locator("#kb-stamp")
        expect(stamp).to_contain_text("bearer token")  # the 401 is explained, not swallowed
        page.locator("summary", has_text="Server token").click()
        page.get_by_label("Bearer token").fill("page-token")
        page.get_by_label("Bearer token").press("Tab")  # `change` fires: the KB reloads with the token
        expect(stamp).to_contain_text(f"Knowledge base {kb.edition}")
        page.get_by_label("Date of service").fill("2025-06-01")
        page.get_by_label("Product", exact=False).first.fill("Breyanzi")
        page.get_by_label("Central vein").check()
        page.get_by_role("button", name="Show the codes").click()
        expect(page.locator("#worksheet-result")).to_contain_text("XW043N7")


def test_professional_office_claim_and_trial_number(page: Any, server: ServerProcess, kb: KB) -> None:
    from playwright.sync_api import expect

    page.goto(server.url + "/#worksheet")
    result = show_codes(page, "professional", "2025-10-15", "Kymriah", "office")
    expect(result).to_contain_text("Q2042")
    expected = recommend({"setting": "professional", "date": "2025-10-15", "product": "Kymriah",
                          "place_of_service": "office", "payer": "medicare", "clinical_trial": "none",
                          "product_acquisition": "purchased", "expanded_access": False,
                          "claim_form": "electronic"}, kb=kb).to_json()
    shown = result.locator("table").first.locator("tbody tr td:nth-child(2)").all_inner_texts()
    assert sorted(s.split()[0] for s in shown) == sorted(c["code"] for c in expected["codes"])
    # each modifier is shown on the line it belongs to (issue 13): Q2042 carries its modifiers
    for code in expected["codes"]:
        if code.get("modifiers"):
            rows = [s for s in shown if s.split()[0] == code["code"]]
            assert any(all(m in row.split() for m in code["modifiers"]) for row in rows), (rows, code["modifiers"])

    # an inpatient trial case with its NCT number: value code D4 appears
    page.get_by_label("Setting").select_option("inpatient")
    page.get_by_label("Date of service").fill("2025-11-15")
    page.get_by_label("Product", exact=False).first.fill("Yescarta")
    page.get_by_label("Clinical trial").select_option("this-product")
    page.get_by_label("Product acquisition").select_option("no-cost")
    page.get_by_label("Trial NCT number").fill("NCT01234567")
    page.get_by_role("button", name="Show the codes").click()
    expect(result).to_contain_text("Z00.6")
    expect(result.locator("tbody tr", has_text="D4").first).to_be_visible()

"""The coder's workbench (issue 16) end to end in Debian's Chromium: the check view (bundled
examples, the claim numbered beside its findings, a finding marked in the claim, safe fixes
applied one by one or all and the corrected file downloaded byte for byte as `check --fix`
writes it), the worksheet (answer beside the form, product picker, codes grouped by where they
go, warnings folded behind a count, print view, copy as text), axe-core on every view (no serious
or critical violation), the keyboard, no horizontal scroll at 1366x768 and 390x844, and no
request that leaves the server (every request is intercepted and checked).

Screenshots go to $CARTCODE_ARTIFACTS (CI can keep them) or else a pytest temp directory.
axe-core comes from axe-playwright-python (its bundled axe.min.js, injected by Playwright).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from browser import launch_chromium, show_codes
from cartcode.checker._engine import check, fix
from cartcode.kb.loader import KB
from cartcode.server._app import static_dir
from serverproc import ServerProcess, running_server

EXAMPLES = static_dir() / "examples"
VIEWPORTS = {"wide": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}


class Browser:
    def __init__(self, page: Any, origin: str) -> None:
        self.page = page
        self.origin = origin
        self.requests: list[str] = []
        self.refused: list[str] = []
        self.errors: list[str] = []
        self.allowed = [origin]  # the servers this test run started


@pytest.fixture(scope="module")
def browser(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = launch_chromium(pw, tmp_path_factory, viewport=VIEWPORTS["wide"], accept_downloads=True,
                                  permissions=["clipboard-read", "clipboard-write"])
        page = context.new_page()
        state = Browser(page, server.url)

        def intercept(route: Any) -> None:  # every request the page makes passes here
            url = route.request.url
            state.requests.append(url)
            if any(url == o or url.startswith(o + "/") for o in state.allowed):
                route.continue_()
            else:
                state.refused.append(url)
                route.abort()

        context.route("**/*", intercept)
        page.on("pageerror", lambda error: state.errors.append(str(error)))
        page.on("console", lambda msg: state.errors.append(msg.text) if msg.type == "error" else None)
        try:
            yield state
        finally:
            context.close()
    assert state.requests, "no request was intercepted"
    assert state.refused == [], state.refused
    assert state.errors == [], state.errors


def _axe(page: Any, view: str) -> list[dict[str, Any]]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    return [{"view": view, "id": v["id"], "impact": v["impact"],
             "nodes": [n.get("target") for n in v.get("nodes", [])][:5]} for v in bad]


def _no_horizontal_scroll(page: Any) -> tuple[int, int]:
    return page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")


def _audit(browser: Browser, view: str, artifacts: Path) -> list[dict[str, Any]]:
    """axe at both sizes, no horizontal scroll, a screenshot of each."""
    page = browser.page
    problems = []
    for size, viewport in VIEWPORTS.items():
        page.set_viewport_size(viewport)
        page.wait_for_timeout(100)
        scroll, client = _no_horizontal_scroll(page)
        assert scroll <= client, (view, size, scroll, client)
        problems += _axe(page, f"{view} {size}")
        page.screenshot(path=str(artifacts / f"workbench-{view}-{size}.png"), full_page=True)
    page.set_viewport_size(VIEWPORTS["wide"])
    return problems


def _example(page: Any, label: str) -> None:
    from playwright.sync_api import expect

    page.evaluate("document.getElementById('check-result').replaceChildren()")  # the last report gone first
    page.get_by_role("button", name=label).click()
    expect(page.locator("#findings-heading")).to_be_visible()
    expect(page.locator("#claim-view")).to_be_visible()


def test_check_view_locates_findings_and_fixes_the_file(browser: Browser, artifacts: Path, kb: KB) -> None:
    from playwright.sync_api import expect

    page = browser.page
    page.goto(browser.origin + "/#check")
    _example(page, "X12 837I: inpatient")
    original = (EXAMPLES / "cart-837i-inpatient.x12").read_bytes()
    report = check(original, filename="x", kb=kb).to_json()
    findings = [f for c in report["claims"] for f in c["findings"]]
    # the claim, segment by segment, numbered as the report counts segments
    units = page.locator("#claim-lines li")
    assert units.count() == original.count(b"~")
    assert units.nth(47).locator("code").inner_text().startswith("HI*")  # segment 48
    # every finding is listed with its number; CART101 points at segment 48 (HI)
    rows = page.locator("#check-result table.findings tbody tr")
    assert rows.count() == len(findings)
    number = next(i + 1 for i, f in enumerate(findings) if f["rule"] == "CART101")
    page.get_by_role("button", name=f"Show finding {number} in the claim").click()
    marked = page.locator("#claim-lines li.marked")
    expect(marked).to_have_count(1)
    expect(marked).to_have_attribute("id", "unit-48")
    expect(marked.locator(".marker")).to_contain_text(f"Finding {number} points here: CART101")
    assert page.evaluate("document.activeElement.id") == "unit-48"
    expect(page.locator("#unit-48 .refs")).to_contain_text(f"finding {number} (CART101)")
    problems = _audit(browser, "check-x12", artifacts)

    # one fix, then every other safe fix: the download is what `check --fix` writes
    row = page.locator(f"#finding-{number}")
    row.get_by_role("button", name=f"Apply the fix of finding {number}").click()
    expect(page.locator("#fix-status")).to_contain_text("Applied: Replace XW033C3 with XW033H7")
    expect(page.locator("#check-result")).not_to_contain_text("Replace XW033C3")
    expect(page.locator("#claim-lines")).to_contain_text("XW033H7")
    page.get_by_role("button", name="Apply every safe fix").click()
    expect(page.locator("#fix-status")).to_contain_text("2 changes so far")
    with page.expect_download() as info:
        page.locator("#fix-download").click()
    download = info.value
    assert download.suggested_filename == "cart-837i-inpatient.fixed.x12"
    fixed = Path(download.path()).read_bytes()
    assert fixed == fix(original, "x", check(original, filename="x", kb=kb))
    assert fixed != original and len(fixed.split(b"~")) == len(original.split(b"~"))
    assert page.locator("button.apply-fix").count() == 0  # no safe fix left

    # JSON: a finding's path is found line by line; an unsafe fix is shown, never offered
    _example(page, "JSON: inpatient, with mistakes")
    data = (EXAMPLES / "inpatient-mistakes.json").read_bytes()
    report = check(data, filename="x", kb=kb).to_json()
    findings = [f for c in report["claims"] for f in c["findings"]]
    first = next(i + 1 for i, f in enumerate(findings) if f["location"].get("path") == "$.claims[0].procedures[0].code")
    page.get_by_role("button", name=f"Show finding {first} in the claim").click()
    expect(page.locator("#claim-lines li.marked code")).to_contain_text("XW033C3")
    unsafe = next(i + 1 for i, f in enumerate(findings) if f.get("fix") and not f["fix"]["safe"])
    expect(page.locator(f"#finding-{unsafe}")).to_contain_text("Not applied automatically")
    assert page.locator(f"#finding-{unsafe} button.apply-fix").count() == 0
    # the computed MS-DRG (or why there is none) for each inpatient claim
    expect(page.locator("#check-result p.grouping").first).to_contain_text("Not grouped")
    problems += _audit(browser, "check-json", artifacts)

    # FHIR: located through its FHIR path
    _example(page, "FHIR EOB: inpatient")
    page.locator("#check-result button.locate").first.click()
    expect(page.locator("#claim-lines li.marked .marker")).to_contain_text("points here")
    problems += _audit(browser, "check-fhir", artifacts)
    assert problems == [], json.dumps(problems, indent=1)


def test_every_bundled_example_loads(browser: Browser) -> None:
    from playwright.sync_api import expect

    page = browser.page
    page.goto(browser.origin + "/#check")
    labels = page.locator("button[data-example]").all_inner_texts()
    assert len(labels) == len(list(EXAMPLES.iterdir())) >= 6
    for label in labels:
        _example(page, label)
        expect(page.locator("#check-result [role=alert]")).to_have_count(0)


def test_worksheet_answer_first_grouped_printable(browser: Browser, artifacts: Path) -> None:
    from playwright.sync_api import expect

    page = browser.page
    page.goto(browser.origin + "/#worksheet")
    # the product picker suggests brand, generic and short names and HCPCS codes
    options = page.locator("#ws-products option")
    expect(options.first).to_be_attached()
    values = set(options.evaluate_all("(os) => os.map((o) => o.value)"))
    assert {"Breyanzi", "lisocabtagene maraleucel", "Q2054", "liso-cel"} <= values, sorted(values)[:20]
    result = show_codes(page, "professional", "2025-10-15", "Kymriah", "office")
    expect(result.locator("table.codes")).to_be_visible()
    # the answer beside the form on a wide screen
    form_box = page.locator("#worksheet-form").bounding_box()
    result_box = result.bounding_box()
    assert result_box["x"] > form_box["x"] + form_box["width"] - 1 and result_box["y"] < form_box["y"] + 200
    # codes grouped by where they go; each modifier on its line, right under its code
    groups = result.locator("tr.group-head th").all_inner_texts()
    assert any(g.startswith("First claim") or "Service line" in g for g in groups), groups
    q2042 = result.locator("table.codes tbody tr:has(td)", has_text="Q2042").first
    following = q2042.locator("xpath=following-sibling::tr[1]")
    expect(following).to_have_class("modifier")
    # warnings folded behind a count
    warnings = result.locator("details.warnings")
    expect(warnings.locator("> summary")).to_contain_text("Warnings:")
    assert warnings.get_attribute("open") is None
    problems = _audit(browser, "worksheet", artifacts)
    # copy as text
    page.get_by_role("button", name="Copy as text").click()
    expect(result.locator(".copy-status")).to_contain_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert "Q2042" in copied and "cartcode worksheet" in copied
    # print view: the answer only
    page.emulate_media(media="print")
    assert not page.locator("#worksheet-form").is_visible()
    assert not page.locator("nav").is_visible()
    expect(result.locator("table.codes")).to_be_visible()
    page.screenshot(path=str(artifacts / "workbench-worksheet-print.png"), full_page=True)
    page.emulate_media(media="screen")
    # narrow: the answer comes first, above the form
    page.set_viewport_size(VIEWPORTS["phone"])
    assert result.bounding_box()["y"] < page.locator("#worksheet-form").bounding_box()["y"]
    page.set_viewport_size(VIEWPORTS["wide"])
    # the other views, audited too
    page.goto(browser.origin + "/#rules")
    expect(page.locator("#rules-result table")).to_be_visible()
    problems += _audit(browser, "rules", artifacts)
    page.goto(browser.origin + "/#code/XW043N7")
    expect(page.locator("#doc-result")).to_contain_text("Periods of XW043N7")
    problems += _audit(browser, "code-doc", artifacts)
    page.goto(browser.origin + "/#rule/CART101")
    expect(page.locator("#doc-result")).to_contain_text("Sources")
    problems += _audit(browser, "rule-doc", artifacts)
    assert problems == [], json.dumps(problems, indent=1)


def test_keyboard_only(browser: Browser) -> None:
    from playwright.sync_api import expect

    page = browser.page
    page.goto(browser.origin + "/#check")

    def tab_to(selector: str, limit: int = 400) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
                return
        raise AssertionError(f"Tab never reached {selector}")

    tab_to('button[data-example="cart-837p-medicare.x12"]')
    page.keyboard.press("Enter")
    expect(page.locator("#findings-heading")).to_be_focused()
    tab_to("button.locate")
    page.keyboard.press("Enter")
    expect(page.locator("#claim-lines li.marked")).to_have_count(1)
    expect(page.locator("#claim-lines li.marked")).to_be_focused()
    tab_to("button.apply-fix")
    page.keyboard.press("Enter")
    expect(page.locator("#fix-status")).to_contain_text("Applied: Add modifier KX")
    expect(page.locator("#fix-download")).to_be_visible()
    # the worksheet, by keyboard: fill, submit, fold out the warnings
    page.goto(browser.origin + "/#worksheet")
    tab_to("#ws-date")
    page.keyboard.type("06012025")
    tab_to("#ws-product")
    page.keyboard.type("Breyanzi")
    tab_to('button[type="submit"]')
    page.keyboard.press("Enter")
    expect(page.locator("#worksheet-result table.codes")).to_be_visible()
    summary = page.locator("#worksheet-result details.warnings > summary").first
    expect(summary).to_be_visible()
    summary.focus()
    expect(summary).to_be_focused()
    page.keyboard.press("Enter")
    # (auto-waiting: the toggle lands after the key event; a bare get_attribute raced it in one CI run)
    expect(page.locator("#worksheet-result details.warnings").first).to_have_attribute("open", "")


def test_workbench_with_a_token(tmp_path: Path, kb: KB, browser: Browser) -> None:
    from playwright.sync_api import expect

    page = browser.page
    with running_server(token="wb-token", log_path=tmp_path / "server.log") as secured:
        browser.allowed.append(secured.url)  # a second server of ours, on another port
        try:
            page.goto(secured.url + "/#check")
            page.locator("summary", has_text="Server token").click()
            page.get_by_label("Bearer token").fill("wb-token")
            page.get_by_label("Bearer token").press("Tab")
            expect(page.locator("#kb-stamp")).to_contain_text(f"Knowledge base {kb.edition}")
            _example(page, "X12 837P: Medicare")
            page.get_by_role("button", name="Apply every safe fix").click()
            expect(page.locator("#fix-status")).to_contain_text("Applied")
            expect(page.locator("#ws-products option").first).to_be_attached()
        finally:
            page.evaluate("sessionStorage.clear()")
            browser.allowed.remove(secured.url)
        # before the token is set the page's first calls get 401 (explained on the page): expected here only
        browser.errors[:] = [e for e in browser.errors if "status of 401" not in e]

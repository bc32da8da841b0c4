"""Debian's Chromium driven by Playwright, as the browser end-to-end tests launch it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def launch_chromium(pw: Any, tmp_path_factory: pytest.TempPathFactory, **options: Any) -> Any:
    """A persistent Chromium context in a fresh profile directory (Playwright refuses
    --user-data-dir in args); `options` go to ``launch_persistent_context``."""
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: run ./scripts/setup.sh --test")
    return pw.chromium.launch_persistent_context(
        str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(CHROMIUM), headless=True,
        args=LAUNCH_ARGS, **options,
    )


def show_codes(page: Any, setting: str, date: str, product: str, place_of_service: str) -> Any:
    """Fill the worksheet's setting, date of service, product and place of service, ask for the
    codes, and return the result region."""
    page.get_by_label("Setting").select_option(setting)
    page.get_by_label("Date of service").fill(date)
    page.get_by_label("Product", exact=False).first.fill(product)
    page.get_by_label("Place of service").select_option(place_of_service)
    page.get_by_role("button", name="Show the codes").click()
    return page.locator("#worksheet-result")

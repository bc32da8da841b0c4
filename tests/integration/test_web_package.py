"""The page ships inside the package (no build step) and is safe and accessible as served."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from cartcode.server._app import create_app, static_dir

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ("index.html", "app.js", "style.css")


def test_wheel_ships_the_page(tmp_path: Path) -> None:
    # --no-build-isolation: hatchling comes from the test extra, so no network is needed;
    # CARTCODE_BUILD_PURE=1: the pure wheel (the compiled one is what setup.sh --test installs).
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path),
         str(ROOT)],
        check=True, capture_output=True, timeout=300, env={**os.environ, "CARTCODE_BUILD_PURE": "1"},
    )
    (wheel,) = tmp_path.glob("cartcode-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        for name in ASSETS:
            assert archive.read(f"cartcode/server/static/{name}") == (static_dir() / name).read_bytes()
        examples = sorted(p.name for p in (static_dir() / "examples").iterdir())
        assert examples  # the page's one-click examples ship too
        for name in examples:
            shipped = archive.read(f"cartcode/server/static/examples/{name}")
            assert shipped == (static_dir() / "examples" / name).read_bytes()


class _Controls(HTMLParser):
    """Form controls, labels, fieldsets/legends and every URL the page references."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self.fieldsets = 0
        self.legends = 0
        self.urls: list[str] = []
        self.live: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("input", "select", "textarea"):
            self.controls.append(a)
        elif tag == "label" and a.get("for"):
            self.label_for.add(str(a["for"]))
        elif tag == "fieldset":
            self.fieldsets += 1
        elif tag == "legend":
            self.legends += 1
        for key in ("src", "href", "action"):
            if a.get(key):
                self.urls.append(str(a[key]))
        if a.get("aria-live"):
            self.live.append(str(a.get("id")))


@pytest.fixture(scope="module")
def page() -> _Controls:
    with TestClient(create_app()) as client:
        response = client.get("/")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    parser = _Controls()
    parser.feed(response.text)
    return parser


def test_every_control_has_a_label(page: _Controls) -> None:
    assert len(page.controls) >= 10
    for control in page.controls:
        assert control.get("id") in page.label_for, control


def test_fieldsets_have_legends_and_results_are_live(page: _Controls) -> None:
    assert page.fieldsets >= 3 and page.fieldsets == page.legends
    assert {"worksheet-result", "check-result"} <= set(page.live)


def test_page_loads_nothing_from_elsewhere(page: _Controls) -> None:
    for url in page.urls:
        assert url.startswith(("/", "#", "data:")), url
    script = (static_dir() / "app.js").read_text()
    assert not re.search(r"fetch\(\s*['\"`]https?:", script)
    assert not re.search(r"\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write", script)  # text only
    assert "@import" not in (static_dir() / "style.css").read_text()


def test_static_assets_are_served_with_types() -> None:
    with TestClient(create_app()) as client:
        assert client.get("/static/app.js").headers["content-type"].startswith(("text/javascript",
                                                                                 "application/javascript"))
        assert client.get("/static/style.css").headers["content-type"].startswith("text/css")
        assert client.get("/static/nope.js").status_code == 404
        assert client.get("/static/../api.py").status_code == 404

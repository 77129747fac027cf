"""The officer's page in real headless Chromium (Debian's ``chromium`` driven by the PyPI
``playwright``; ``scripts/setup.sh --test`` installs both, never ``playwright install``): the app
served by uvicorn on 127.0.0.1 (fixed clock), a fake camera playing a .y4m of the holder's
rotating carousel, the Scan button pressed, and the verdict read from ``#result[data-verdict]``:
valid -> green with the portrait; stale -> red ``stale_qr``; tampered, unknown city, revoked ->
red. No request leaves 127.0.0.1. Screenshots are kept under the test's tmp_path."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from browsertest import CHROMIUM, browser_page, scan, serve, write_y4m

from edltest import NOW
from verifier_app.main import create_app
from verifier_app.settings import Settings

from .conftest import SOON

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package (pip install -e .[test])"
)
pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium (scripts/setup.sh --test)"),
    pytest.mark.timeout(120),
]


@pytest.fixture(scope="module")
def base(tmp_path_factory, world) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("browser-server")
    (tmp / "operator-root.cbor").write_bytes(world.root)
    (tmp / "bundle.cbor").write_bytes(world.bundle())
    settings = Settings(
        home=tmp / "home", trust_roots=(tmp / "operator-root.cbor",), bundle=tmp / "bundle.cbor"
    )
    with serve(create_app(settings, clock=lambda: SOON)) as url:
        yield url


@pytest.fixture(scope="module")
def playwright() -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        yield p


def scan_carousel(playwright, base: str, tmp_path: Path, texts: list[str], name: str) -> dict:
    video = write_y4m(tmp_path / f"{name}.y4m", texts)
    with browser_page(playwright, video, tmp_path / f"{name}-profile") as (page, requests):
        verdict, seconds = scan(page, base)
        shot = tmp_path / f"{name}.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot: {shot} ({verdict} in {seconds:.2f} s)")
        out = {
            "verdict": verdict,
            "seconds": seconds,
            "reason": page.text_content("#verdict-reason"),
            "text": page.text_content("#verdict-text"),
            "icon": page.text_content("#verdict-icon"),
            "codes": page.eval_on_selector_all("#checks li", "els => els.map(e => e.dataset.code)"),
            "portrait": page.eval_on_selector(
                "#portrait", "img => !img.hidden && img.complete && img.naturalWidth > 0"
            ),
            "name": page.text_content("#f-name"),
        }
    hosts = {urlsplit(u).hostname for u in requests if urlsplit(u).scheme not in ("data", "blob")}
    assert requests and hosts == {"127.0.0.1"}, requests
    return out


def test_a_valid_licence_is_green_with_its_portrait(playwright, base, tmp_path, world):
    out = scan_carousel(playwright, base, tmp_path, world.valid.frames(at=NOW), "valid")
    assert out["verdict"] == "green" and out["icon"] == "\u2713" and out["text"] == "Valid"
    assert out["portrait"] is True
    assert out["name"] == "Zhang Wei" and "ok" in out["codes"]


def test_a_stale_carousel_is_red_with_stale_qr(playwright, base, tmp_path, world):
    # A screenshot or recording of a genuine phone: every signature holds, the frame is old.
    texts = world.valid.frames(at=NOW - dt.timedelta(minutes=5))
    out = scan_carousel(playwright, base, tmp_path, texts, "stale")
    assert out["verdict"] == "red" and "stale_qr" in out["codes"], out
    assert out["reason"].startswith("Freshness:") and out["icon"] == "\u2715"


def test_a_tampered_licence_is_red(playwright, base, tmp_path, world):
    texts = world.valid.frames(at=NOW)
    main = texts[0]
    i = len(main) // 2
    tampered = main[:i] + ("A" if main[i] != "A" else "B") + main[i + 1 :]
    out = scan_carousel(playwright, base, tmp_path, [tampered, *texts[1:]], "tampered")
    assert out["verdict"] == "red" and out["icon"] == "\u2715" and out["portrait"] is False, out


def test_an_unknown_city_is_red(playwright, base, tmp_path, world):
    out = scan_carousel(playwright, base, tmp_path, world.stranger.frames(at=NOW), "unknown-city")
    assert out["verdict"] == "red" and "untrusted_issuer" in out["codes"], out
    assert out["portrait"] is False


def test_a_revoked_licence_is_red(playwright, base, tmp_path, world):
    out = scan_carousel(playwright, base, tmp_path, world.revoked.frames(at=NOW), "revoked")
    assert out["verdict"] == "red" and "revoked" in out["codes"], out

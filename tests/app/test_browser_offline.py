"""The officer's page reloads with no network: real headless Chromium loads the page once
(the service worker caches the page, its script, style and catalogues), the verifier service
then goes away, and a reload still shows a working page in the officer's language, with the
"offline" badge when the browser has no network."""

from __future__ import annotations

import pytest
from browsertest import CHROMIUM, browser_page, serve, write_y4m

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

CACHED = 8  # the page, app.js, style.css, icon.svg and four catalogues (sw.js PAGE)


def test_the_page_reloads_from_the_service_worker_when_the_service_is_gone(tmp_path, world):
    root, bundle = tmp_path / "operator-root.cbor", tmp_path / "bundle.cbor"
    root.write_bytes(world.root)
    bundle.write_bytes(world.bundle())
    settings = Settings(home=tmp_path / "home", trust_roots=(root,), bundle=bundle)
    video = write_y4m(tmp_path / "blank.y4m", [world.valid.frames(at=SOON)[0]], hold=1)
    with (
        sync_api.sync_playwright() as p,
        browser_page(p, video, tmp_path / "profile", locale="de-DE") as (page, requests),
    ):
        with serve(create_app(settings, clock=lambda: SOON)) as base:
            page.goto(base + "/")
            page.wait_for_function("document.getElementById('lang').value === 'de'")
            page.evaluate("navigator.serviceWorker.ready.then(() => true)")
            page.wait_for_function(
                f"""async () => {{
                    const c = await caches.open("edl-verifier-v1");
                    return (await c.keys()).length === {CACHED};
                }}""",
                polling=100,
                timeout=15000,
            )
            title_online = page.title()
        # The service is gone: nothing answers on its port any more.
        served = len(requests)
        page.reload()
        page.wait_for_function("document.getElementById('lang').value === 'de'", timeout=15000)
        page.wait_for_selector("#start:not([hidden])")
        assert page.title() == title_online and title_online != "ui.title"
        assert page.evaluate("getComputedStyle(document.body).display") != "none"
        assert page.evaluate("navigator.serviceWorker.controller !== null")
        assert len(requests) > served  # the reload did ask; the worker answered from its cache
        page.context.set_offline(True)
        page.wait_for_selector("#offline[data-state='offline']", timeout=5000)
        assert page.text_content("#offline") not in ("", "ui.offline")

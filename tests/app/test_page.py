"""The page as served: no external asset, the verdict readable in sunlight (WCAG contrast of
the verdict colours >= 7:1, from the CSS custom properties) and targets big enough for gloves
(>= 48 px). Static checks; the real-browser checks are the next increment."""

from __future__ import annotations

import re

import pytest

from verifier_app.main import STATIC

ASSETS = ("index.html", "app.js", "style.css", "sw.js")


def css() -> str:
    return (STATIC / "style.css").read_text(encoding="utf-8")


def props() -> dict[str, str]:
    root = re.search(r":root\s*\{(.*?)\}", css(), re.S).group(1)
    return dict(re.findall(r"(--[a-z-]+)\s*:\s*([^;]+);", root))


def luminance(hex_colour: str) -> float:
    h = hex_colour.strip().lstrip("#")
    assert re.fullmatch(r"[0-9a-fA-F]{6}", h), hex_colour
    channels = [int(h[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_the_page_and_its_assets_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and 'data-verdict=""' in page.text and 'id="result"' in page.text
    for asset in ("app.js", "style.css", "i18n/zh.json"):
        assert client.get(f"/static/{asset}").status_code == 200
    sw = client.get("/sw.js")
    assert sw.status_code == 200 and "javascript" in sw.headers["content-type"]


@pytest.mark.parametrize("name", ASSETS)
def test_no_external_url(name):
    text = (STATIC / name).read_text(encoding="utf-8")
    assert re.findall(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/|@import", text, re.I) == []
    assert re.findall(r"\burl\(", text) == []  # CSS url(); JavaScript's URL() parses, fetches nothing


def test_the_page_loads_only_its_own_files():
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    for ref in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert ref.startswith("/static/"), ref


@pytest.mark.parametrize("verdict", ["green", "amber", "red"])
def test_verdict_colours_have_contrast_of_7_to_1(verdict):
    p = props()
    ratio = contrast(p[f"--{verdict}-bg"], p[f"--{verdict}-fg"])
    assert ratio >= 7, f"{verdict}: {ratio:.2f}"
    rule = f'#result[data-verdict="{verdict}"] .verdict {{ background: var(--{verdict}-bg); '
    assert rule + f"color: var(--{verdict}-fg); }}" in css()


def test_page_text_has_contrast_of_7_to_1():
    p = props()
    assert contrast(p["--page-bg"], p["--page-fg"]) >= 7
    assert contrast(p["--page-bg"], p["--muted-fg"]) >= 7


def test_touch_targets_are_at_least_48_px():
    p = props()
    touch = int(re.fullmatch(r"(\d+)px", p["--touch"].strip()).group(1))
    assert touch >= 48
    rule = re.search(r"button, select, summary \{(.*?)\}", css(), re.S).group(1)
    assert "min-height: var(--touch);" in rule and "min-width: var(--touch);" in rule
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    # every control on the page is one of those elements
    assert re.findall(r"<(a|input)\b", page) == []


def test_the_verdict_is_never_colour_alone():
    js = (STATIC / "app.js").read_text(encoding="utf-8")
    assert 'ICONS = { green: "\\u2713", amber: "!", red: "\\u2715" }' in js
    assert "box.dataset.verdict = result.verdict" in js and "verdict.${result.verdict}" in js

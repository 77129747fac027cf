"""Bodies larger than any real request are refused before they are read, before the API key is
checked: 413 JSON ``too_large``, for a declared Content-Length and for a chunked body; a real
issue (a 512 KiB-class portrait) still fits."""

from __future__ import annotations

import pytest

from issuer_app.main import MAX_BODY

from .conftest import CITY, issue_body

BASE = f"/v1/cities/{CITY}"


@pytest.fixture(params=["sqlite"])
def db_url(request, tmp_path) -> str:  # the limit is before the database: one kind is enough
    return str(tmp_path / "issuer.db")


def test_a_declared_large_body_is_413_without_a_key(service):
    r = service.client.post(
        f"{BASE}/licences",
        content=b"{" + b" " * MAX_BODY + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 413
    assert r.json()["code"] == "too_large" and str(MAX_BODY) in r.json()["message"]


def test_a_chunked_large_body_is_413(service):
    sent = 0

    def chunks():
        nonlocal sent
        for _ in range(64):
            sent += 256 * 1024
            yield b" " * (256 * 1024)

    r = service.client.post(
        f"{BASE}/licences",
        content=chunks(),
        headers={**service.auth(), "Content-Type": "application/json"},
    )
    assert "content-length" not in {k.lower() for k in r.request.headers}  # really chunked
    assert r.status_code == 413 and r.json()["code"] == "too_large"


def test_a_bad_content_length_is_refused(service):
    r = service.client.post(f"{BASE}/nonce", headers={**service.auth(), "Content-Length": "12x"}, content=b"")
    assert r.status_code in (400, 413)


def _large_portrait() -> bytes:
    """A JPEG just under the licence's 512 KiB limit (noise does not compress)."""
    import io
    import random

    from PIL import Image

    rng = random.Random(7)
    for side in (740, 720, 700, 680, 660):
        img = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
        out = io.BytesIO()
        img.save(out, "JPEG", quality=92)
        if len(out.getvalue()) <= 512 * 1024:
            return out.getvalue()
    raise AssertionError("no portrait under 512 KiB")


def test_a_real_issue_with_a_large_portrait_fits(service, phone):
    portrait = _large_portrait()
    assert len(portrait) > 400 * 1024
    body = issue_body(service, phone, portrait)
    r = service.client.post(f"{BASE}/licences", json=body, headers=service.auth())
    assert r.status_code == 200, r.text

"""The officer's app reads no request body larger than its path can need: 413 JSON
``too_large`` for a declared Content-Length and for a chunked body, before the body is parsed;
the largest real requests (8 camera frames at the schema's limit, a bundle) still get through
to the checks of their own."""

from __future__ import annotations

import json

import pytest

from edl.bundle import MAX_BUNDLE_SIZE
from edltest import NOW
from verifier_app.main import MAX_BODY, MAX_VERIFY_BODY
from verifier_app.schemas import MAX_FRAME_B64, MAX_FRAMES


def _chunks(total: int, size: int = 256 * 1024):
    sent = 0
    while sent < total:
        yield b" " * min(size, total - sent)
        sent += size


@pytest.mark.parametrize(
    ("path", "limit"), [("/verify", MAX_VERIFY_BODY), ("/bundle", MAX_BUNDLE_SIZE), ("/", MAX_BODY)]
)
def test_a_declared_body_over_the_path_limit_is_413(client, path, limit):
    r = client.post(path, headers={"Content-Length": str(limit + 1), "Content-Type": "application/json"})
    assert r.status_code == 413, r.text
    assert r.json() == {"code": "too_large", "message": f"the request body is larger than {limit} bytes"}


def test_a_chunked_verify_body_over_the_limit_is_413(client):
    r = client.post(
        "/verify", content=_chunks(MAX_VERIFY_BODY + 1), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in {k.lower() for k in r.request.headers}  # really chunked
    assert r.status_code == 413 and r.json()["code"] == "too_large"


def test_the_largest_verify_body_the_schema_admits_reaches_the_checks(client, world):
    # 8 frames at the schema's limit: the body limit lets it through; the frames are then
    # refused by the schema's own rule (each at most MAX_FRAME_B64), not by the body limit.
    body = {"texts": world.valid.frames(at=NOW), "frames": ["A" * MAX_FRAME_B64] * MAX_FRAMES}
    data = json.dumps(body).encode()
    assert len(data) <= MAX_VERIFY_BODY
    r = client.post("/verify", content=data, headers={"Content-Type": "application/json"})
    assert r.status_code != 413, r.text


def test_a_normal_verification_is_untouched(client, world):
    r = client.post("/verify", json={"texts": world.valid.frames(at=NOW)})
    assert r.status_code == 200 and r.json()["verdict"] == "green"


def test_the_limits_hold_under_a_root_path(tmp_path, world):
    # served under a prefix (a proxy's root_path): /verify keeps its own limit, not the default
    from fastapi.testclient import TestClient

    from .conftest import make_client

    app = make_client(tmp_path, world).app
    client = TestClient(app, root_path="/handheld")
    r = client.post(
        "/handheld/verify", json={"texts": world.valid.frames(at=NOW), "frames": ["A" * MAX_BODY]}
    )
    assert r.status_code != 413, r.text
    r = client.post(
        "/handheld/verify",
        headers={"Content-Length": str(MAX_VERIFY_BODY + 1), "Content-Type": "application/json"},
    )
    assert r.status_code == 413

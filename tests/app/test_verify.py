"""POST /verify over TestClient: frames of a valid, stale, tampered, unknown-city and revoked
licence, a trust list alone, camera PNGs decoded server-side, and nothing of the holder logged."""

from __future__ import annotations

import base64
import datetime as dt
import logging

from edl.qr import render_png
from edltest import NOW

from .conftest import make_client


def verify(client, **body):
    r = client.post("/verify", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def check(out: dict, name: str) -> dict:
    return next(c for c in out["checks"] if c["name"] == name)


def test_a_valid_licence_is_green_with_its_signed_portrait(client, world):
    out = verify(client, texts=world.valid.frames(at=NOW))
    assert out["verdict"] == "green" and out["complete"], out["checks"]
    assert base64.b64decode(out["portrait"])[:2] == b"\xff\xd8"
    lic = out["licence"]
    assert lic["family_name"] == "Zhang" and lic["family_name_national_character"] == "张"
    assert lic["birth_date"] == "1990-03-14" and lic["document_number"] == "QD-0001"
    assert lic["categories"][0] == {
        "code": "C1",
        "issue_date": "2012-06-01",
        "expiry_date": "2034-01-14",
        "restrictions": [],
    }
    issuer = out["issuer"]
    assert issuer["city_id"] == "cn-qingdao" and issuer["country"] == "CN" and len(issuer["key_id"]) == 16
    assert issuer["test"] is True  # the test operator is "TEST-OPS"
    assert check(out, "status") == {
        "name": "status",
        "status": "passed",
        "code": "ok",
        "message": check(out, "status")["message"],
        "required": True,
    }


def test_the_main_frame_alone_is_incomplete_and_never_hands_out_a_portrait(client, world):
    out = verify(client, texts=world.valid.frames(at=NOW)[:1])
    assert not out["complete"] and out["verdict"] == "amber" and out["portrait"] is None
    assert check(out, "portrait")["code"] == "portrait_missing"


def test_a_stale_frame_is_not_green(client, world):
    out = verify(client, texts=world.valid.frames(at=NOW - dt.timedelta(minutes=5)))
    assert out["verdict"] in ("amber", "red") and check(out, "freshness")["code"] == "stale_qr"


def test_a_tampered_frame_is_red(client, world):
    texts = world.valid.frames(at=NOW)
    main = texts[0]
    i = len(main) // 2
    tampered = main[:i] + ("A" if main[i] != "A" else "B") + main[i + 1 :]
    out = verify(client, texts=[tampered, *texts[1:]])
    assert out["verdict"] == "red" and out["portrait"] is None and out["licence"] is None


def test_an_unknown_city_is_red(client, world):
    out = verify(client, texts=world.stranger.frames(at=NOW))
    assert out["verdict"] == "red" and check(out, "certificate_chain")["code"] == "untrusted_issuer"
    assert out["portrait"] is None


def test_a_revoked_licence_is_red(client, world):
    out = verify(client, texts=world.revoked.frames(at=NOW))
    assert out["verdict"] == "red" and check(out, "status")["code"] == "revoked"


def test_a_trust_list_alone_makes_status_amber(tmp_path, world):
    client = make_client(tmp_path, world, trust_list=True)
    out = verify(client, texts=world.valid.frames(at=NOW))
    assert out["verdict"] == "amber" and check(out, "status")["code"] == "status_missing"


def test_png_frames_are_decoded_on_the_server(client, world):
    texts = world.valid.frames(at=NOW)
    frames = [base64.b64encode(render_png(t)).decode() for t in texts]
    frames[0] = "data:image/png;base64," + frames[0]
    out = verify(client, frames=frames)
    assert out["verdict"] == "green" and out["portrait"] and out["unreadable_frames"] == 0
    assert out["texts"] == texts


def test_a_frame_with_no_qr_asks_for_more(client):
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (64, 64), 255).save(buf, "JPEG")
    out = verify(client, frames=[base64.b64encode(buf.getvalue()).decode()])
    assert out == {
        "verdict": None,
        "complete": False,
        "checks": [],
        "licence": None,
        "portrait": None,
        "issuer": None,
        "texts": [],
        "unreadable_frames": 1,
    }


def test_the_challenge_is_checked(client, world):
    challenge = client.get("/challenge").json()["challenge"]
    assert len(challenge) == 8
    answered = verify(
        client, texts=world.valid.frames(at=NOW, challenge=challenge.encode()), challenge=challenge
    )
    assert answered["verdict"] == "green" and check(answered, "challenge")["status"] == "passed"
    other = verify(client, texts=world.valid.frames(at=NOW), challenge=challenge)
    assert other["verdict"] == "red" and check(other, "challenge")["code"] == "challenge_mismatch"


def test_an_expired_trust_list_and_a_turned_back_clock_refuse_to_verify(client, world):
    from verifier_app.dependencies import get_clock

    texts = world.valid.frames(at=NOW)
    client.app.dependency_overrides[get_clock] = lambda: lambda: NOW + dt.timedelta(days=8)
    r = client.post("/verify", json={"texts": texts})
    assert r.status_code == 422 and r.json()["code"] == "trust_expired", r.text
    client.app.dependency_overrides[get_clock] = lambda: lambda: NOW - dt.timedelta(days=1)
    r = client.post("/verify", json={"texts": texts})
    assert r.status_code == 409 and r.json()["code"] == "clock_turned_back", r.text
    client.app.dependency_overrides.clear()
    assert client.post("/verify", json={"texts": texts}).json()["verdict"] == "green"


def test_bad_requests_are_one_json_error_without_echo(client):
    r = client.post("/verify", json={"texts": ["x"], "frames": ["not base64!"]})
    assert r.status_code == 422 and r.json()["code"] == "frame_unreadable"
    r = client.post("/verify", json={"texts": [1], "secret": "QD-0001"})
    assert r.status_code == 422 and r.json()["code"] == "bad_request" and "QD-0001" not in r.text
    r = client.post("/verify", json={"challenge": "lower case"})
    assert r.status_code == 422 and r.json()["code"] == "bad_request"


def test_nothing_about_the_holder_is_logged_or_stored(client, world, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    frames = [base64.b64encode(render_png(t)).decode() for t in world.valid.frames(at=NOW)]
    assert verify(client, frames=frames)["verdict"] == "green"
    assert verify(client, texts=world.revoked.frames(at=NOW))["verdict"] == "red"
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert "verify: green" in logged
    for secret in ("Zhang", "Wei", "张", "伟", "QD-0001", "1990-03-14", "DL1:"):
        assert secret not in logged
    for f in tmp_path.rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            assert b"QD-0001" not in data and "张".encode() not in data and b"DL1:" not in data

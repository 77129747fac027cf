"""GET /bundle and POST /bundle: only a bundle whose every part verifies and is not older than
the one held is taken (status_rollback otherwise, nothing replaced); it is kept in the state
folder; a start with an older --bundle file uses the held one and says so."""

from __future__ import annotations

from edltest import NOW

from .conftest import make_client


def test_get_bundle_describes_what_the_handheld_holds(client):
    info = client.get("/bundle").json()
    assert info["status_lists"] is True and info["cities"] == ["cn-qingdao"]
    assert info["cities_without_status"] == [] and info["age_seconds"] == 5 and info["note"] is None
    assert {(p["kind"], p["sequence"]) for p in info["parts"]} == {("trust_list", 1), ("status_list", 2)}


def test_an_older_bundle_is_refused_and_a_newer_one_taken(tmp_path, world, client):
    held = tmp_path / "home" / "verifier-bundle.cbor"
    before = held.read_bytes()  # the --bundle file the app started with
    r = client.post("/bundle", content=world.bundle(1), headers={"Content-Type": "application/cbor"})
    assert r.status_code == 409 and r.json()["code"] == "status_rollback"
    assert held.read_bytes() == before
    newer = world.bundle(3)
    r = client.post("/bundle", content=newer)
    assert r.status_code == 200, r.text
    assert [p["sequence"] for p in r.json()["parts"] if p["kind"] == "status_list"] == [3]
    assert held.read_bytes() == newer


def test_damaged_bytes_are_refused(client):
    r = client.post("/bundle", content=b"\x00garbage")
    assert r.status_code == 422 and r.json()["code"].startswith("bundle")


def test_a_start_with_an_older_bundle_file_uses_the_held_one(tmp_path, world):
    home = tmp_path / "home"
    first = make_client(tmp_path / "a", world, bundle=world.bundle(4), home=home)
    assert first.get("/bundle").json()["note"] is None
    again = make_client(tmp_path / "b", world, bundle=world.bundle(2), home=home)
    info = again.get("/bundle").json()
    assert "older than the bundle this handheld holds" in info["note"] and info["source"] == "held bundle"
    assert [p["sequence"] for p in info["parts"] if p["kind"] == "status_list"] == [4]


def test_a_trust_list_alone_has_no_status_lists(tmp_path, world):
    info = make_client(tmp_path, world, trust_list=True).get("/bundle").json()
    assert info["status_lists"] is False and info["parts"] == [] and info["sequence"] == 1
    assert NOW.year == 2026

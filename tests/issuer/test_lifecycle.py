"""A licence's life through the API, on SQLite and PostgreSQL: renew, re-bind, suspend,
reinstate, revoke, publish, public material, health and readiness; revoke racing renew; the
office's ``edl status ... --db`` on the same database; OpenAPI complete."""

from __future__ import annotations

import base64
import datetime as dt
import threading

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from edl.city import CityAdmin
from edl.cli import main
from edl.keys import FileKeyStore
from edl.status import Status, verify_status_list
from edl.verify import CheckStatus, verify_issuer_signed
from edl.x509 import TrustAnchors

from .conftest import CITY, PASSPHRASE, issue_body

BASE = f"/v1/cities/{CITY}"
ISSUE = f"{BASE}/licences"


def _error(r, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.json()["code"] == code and set(r.json()) == {"code", "message"}, r.json()


def _issue(svc, phone, portrait, number: str = "QD-0001") -> dict:
    r = svc.client.post(ISSUE, json=issue_body(svc, phone, portrait, number=number), headers=svc.auth())
    assert r.status_code == 200, r.text
    return r.json()


def _anchors(svc) -> TrustAnchors:
    admin = CityAdmin(svc.keystore, FileKeyStore(svc.keystore / "keys", PASSPHRASE.encode()))
    return TrustAnchors([admin.certificate(CITY, admin.load(CITY).current_root()["file"])])


def _published(svc) -> dict[int, object]:
    r = svc.client.post(f"{BASE}/status/publish", headers=svc.auth("boss"))
    assert r.status_code == 200, r.text
    out = {}
    for lst in r.json()["lists"]:
        data = base64.b64decode(lst["data"])
        out[lst["list_id"]] = verify_status_list(
            data, city_anchors=_anchors(svc), now=svc.clock(), uri=lst["uri"]
        )
    return out


def test_renew_keeps_the_index_and_idempotency(service, phone, portrait):
    first = _issue(service, phone, portrait)
    service.clock.at += dt.timedelta(days=1)
    h = {**service.auth(), "Idempotency-Key": "renew-1"}
    r = service.client.post(f"{ISSUE}/QD-0001/renew", headers=h)
    assert r.status_code == 200, r.text
    renewed = r.json()
    assert (renewed["status_list"], renewed["status_idx"]) == (first["status_list"], first["status_idx"])
    assert renewed["mdoc"] != first["mdoc"] and renewed["issued"] > first["issued"]
    assert renewed["compact"] != first["compact"]
    result = verify_issuer_signed(
        base64.b64decode(renewed["mdoc"]), trust=_anchors(service), now=service.clock()
    )
    assert {c.name: c.status for c in result.checks}["issuer_signature"] is CheckStatus.PASSED
    again = service.client.post(f"{ISSUE}/QD-0001/renew", headers=h)
    assert again.status_code == 200 and again.json() == renewed
    assert again.headers.get("idempotent-replay") == "true"
    assert service.client.get(f"{ISSUE}/QD-0001", headers=service.auth()).json() == renewed
    # the same key for another request: refused
    other = issue_body(service, phone, portrait, number="QD-0002")
    _error(service.client.post(ISSUE, json=other, headers=h), 409, "idempotency_conflict")
    _error(service.client.post(f"{ISSUE}/QD-9999/renew", headers=service.auth()), 404, "not_found")
    renewals = service.scalar("select count(*) from audit where what = :w", w=f"renew {CITY}")
    assert renewals == 1


def test_rebind_revokes_the_old_index(service, phone, portrait):
    first = _issue(service, phone, portrait)
    new_phone = ec.generate_private_key(ec.SECP256R1())
    body = issue_body(service, new_phone, portrait)
    rebind = {k: body[k] for k in ("device_key", "nonce", "signature")}
    # the new key must prove possession: a signature by the old phone is refused, nonce kept
    wrong = {**rebind, "signature": issue_body(service, phone, portrait, nonce=body["nonce"])["signature"]}
    _error(
        service.client.post(f"{ISSUE}/QD-0001/rebind", json=wrong, headers=service.auth()), 422, "not_holder"
    )
    r = service.client.post(f"{ISSUE}/QD-0001/rebind", json=rebind, headers=service.auth())
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["status_list"], got["status_idx"]) != (first["status_list"], first["status_idx"])
    assert got["state"] == "valid"
    stored = service.scalar("select device_key from licences where document_number = 'QD-0001'")
    spki = new_phone.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert bytes(stored) == spki
    lists = _published(service)
    assert lists[first["status_list"]].status_of(first["status_idx"]) is Status.REVOKED
    assert lists[got["status_list"]].status_of(got["status_idx"]) is Status.VALID
    # the nonce was used
    _error(
        service.client.post(f"{ISSUE}/QD-0001/rebind", json=rebind, headers=service.auth()), 409, "nonce_used"
    )


def test_suspend_reinstate_revoke(service, phone, portrait):
    got = _issue(service, phone, portrait)
    url = f"{ISSUE}/QD-0001"
    # scopes: the desk (issue) cannot suspend; the revoker cannot issue or publish
    _error(service.client.post(f"{url}/suspend", headers=service.auth()), 403, "forbidden")
    _error(service.client.post(f"{BASE}/status/publish", headers=service.auth("revoker")), 403, "forbidden")
    _error(service.client.post(f"{url}/renew", headers=service.auth("revoker")), 403, "forbidden")
    r = service.client.post(f"{url}/suspend", json={"reason": "points"}, headers=service.auth("revoker"))
    assert r.status_code == 200, r.text
    assert r.json() | {} == {
        "city": CITY, "document_number": "QD-0001", "status_list": got["status_list"],
        "status_idx": got["status_idx"], "before": "valid", "state": "suspended", "changed": True,
    }  # fmt: skip
    _error(service.client.post(f"{url}/renew", headers=service.auth()), 409, "suspended")
    assert _published(service)[got["status_list"]].status_of(got["status_idx"]) is Status.SUSPENDED
    r = service.client.post(f"{url}/reinstate", headers=service.auth("revoker"))
    assert r.status_code == 200 and r.json()["state"] == "valid", r.text
    # a revocation needs a reason, and is final
    _error(service.client.post(f"{url}/revoke", json={}, headers=service.auth("revoker")), 422, "bad_request")
    r = service.client.post(f"{url}/revoke", json={"reason": "court order"}, headers=service.auth("boss"))
    assert r.status_code == 200 and r.json()["state"] == "revoked", r.text
    assert service.client.get(url, headers=service.auth()).json()["state"] == "revoked"
    _error(service.client.post(f"{url}/reinstate", headers=service.auth("revoker")), 409, "revoked")
    _error(service.client.post(f"{url}/suspend", headers=service.auth("revoker")), 409, "revoked")
    _error(service.client.post(f"{url}/renew", headers=service.auth()), 409, "revoked")
    again = service.client.post(f"{url}/revoke", json={"reason": "twice"}, headers=service.auth("revoker"))
    assert again.status_code == 200 and again.json()["changed"] is False
    assert _published(service)[got["status_list"]].status_of(got["status_idx"]) is Status.REVOKED
    # the audit: who and what, never whose (no document number anywhere in it)
    from sqlalchemy import text

    with service.engine.connect() as c:
        rows = c.execute(text("select who, what, request_id, subject from audit order by id")).all()
    assert [(w, what) for w, what, _, _ in rows] == [
        ("desk", f"issue {CITY}"), ("revoker", f"suspend {CITY}"), ("boss", f"publish {CITY} 1#1"),
        ("revoker", f"reinstate {CITY}"), ("boss", f"revoke {CITY}"), ("boss", f"publish {CITY} 1#2"),
    ]  # fmt: skip
    assert "QD-0001" not in repr(rows)


def test_publish_and_public_material(service, phone, portrait):
    r = service.client.get(f"{BASE}/public")  # no API key needed: public material only
    assert r.status_code == 200, r.text
    assert r.json()["status_lists"] == [] and r.json()["root_certificates"][0].startswith(
        "-----BEGIN CERTIFICATE"
    )
    _issue(service, phone, portrait)
    seqs = []
    for _ in range(3):
        r = service.client.post(
            f"{BASE}/status/publish", json={"valid_hours": 24}, headers=service.auth("boss")
        )
        assert r.status_code == 200, r.text
        seqs.append(r.json()["lists"][0]["sequence"])
    assert seqs == [1, 2, 3]
    public = service.client.get(f"{BASE}/public").json()
    assert [(x["list_id"], x["sequence"]) for x in public["status_lists"]] == [(1, 3)]
    assert public["status_lists"][0]["data"] == r.json()["lists"][0]["data"]
    assert "PRIVATE" not in repr(public)
    for hours in (0, "24", 745):
        r = service.client.post(
            f"{BASE}/status/publish", json={"valid_hours": hours}, headers=service.auth("boss")
        )
        _error(r, 422, "bad_request")
    _error(service.client.get("/v1/cities/cn-nowhere/public"), 404, "unknown_city")


def test_health_and_ready(service):
    assert service.client.get("/health").json() == {"status": "ok"}
    assert service.client.get("/ready").json() == {"status": "ok"}


def test_revoke_racing_renew_ends_in_one_state(service, phone, portrait):
    for n in range(4):
        number = f"QD-R{n}"
        got = _issue(service, phone, portrait, number=number)
        barrier = threading.Barrier(2)
        results: dict[str, object] = {}

        def renew(number=number, barrier=barrier, results=results):
            barrier.wait()
            results["renew"] = service.client.post(f"{ISSUE}/{number}/renew", headers=service.auth())

        def revoke(number=number, barrier=barrier, results=results):
            barrier.wait()
            results["revoke"] = service.client.post(
                f"{ISSUE}/{number}/revoke", json={"reason": "race"}, headers=service.auth("revoker")
            )

        threads = [threading.Thread(target=renew), threading.Thread(target=revoke)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results["revoke"].status_code == 200, results["revoke"].text
        assert results["renew"].status_code in (200, 409), results["renew"].text
        if results["renew"].status_code == 409:
            assert results["renew"].json()["code"] == "revoked"
        else:  # renewed first: same place, which the revocation then marked
            assert results["renew"].json()["status_idx"] == got["status_idx"]
        state = service.scalar("select state from licences where document_number = :n", n=number)
        bit = service.scalar(
            "select status from status_entries where list_id = :l and idx = :i",
            l=got["status_list"], i=got["status_idx"],
        )  # fmt: skip
        assert (state, bit) == ("revoked", int(Status.REVOKED))


def test_edl_status_with_db_works_on_the_service_database(
    service, phone, portrait, capsys, monkeypatch, tmp_path
):
    got = _issue(service, phone, portrait)
    r = service.client.post(f"{BASE}/status/publish", headers=service.auth("boss"))
    assert r.json()["lists"][0]["sequence"] == 1
    monkeypatch.setenv("EDL_KEYSTORE_PASSPHRASE", PASSPHRASE)
    ks, db = str(service.keystore), service.db
    assert (
        main(["status", "suspend", CITY, "--licence", "QD-0001", "--keystore", ks, "--db", db, "--json"]) == 0
    )
    assert service.client.get(f"{ISSUE}/QD-0001", headers=service.auth()).json()["state"] == "suspended"
    out = tmp_path / "list.cbor"
    capsys.readouterr()
    assert main(["status", "publish", CITY, "--keystore", ks, "--db", db, "--out", str(out)]) == 0
    lst = verify_status_list(out.read_bytes(), city_anchors=_anchors(service), now=dt.datetime.now(dt.UTC))
    assert lst.sequence == 2 and lst.status_of(got["status_idx"]) is Status.SUSPENDED
    assert main(["status", "revoke", CITY, str(got["status_idx"]), "--keystore", ks, "--db", db]) == 0
    _error(service.client.post(f"{ISSUE}/QD-0001/reinstate", headers=service.auth("revoker")), 409, "revoked")
    assert main(["status", "reinstate", CITY, "--licence", "QD-0001", "--keystore", ks, "--db", db]) == 2
    # and the service publishes after the office: the sequence goes on
    r = service.client.post(f"{BASE}/status/publish", headers=service.auth("boss"))
    assert r.json()["lists"][0]["sequence"] == 3 and r.json()["lists"][0]["revoked"] == 1
    who = service.scalar("select count(*) from audit where who = 'edl status'")
    assert who == 3  # suspend, publish, revoke


def test_openapi_every_operation_has_an_example_and_its_errors(service):
    spec = service.client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]

    def has_example(schema_or_ref: dict) -> bool:
        ref = schema_or_ref.get("$ref", "").rsplit("/", 1)[-1]
        return "example" in schema_or_ref or (ref in schemas and "example" in schemas[ref])

    operations = 0
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            operations += 1
            ok = op["responses"]["200"]["content"]["application/json"]
            assert has_example(ok["schema"]) or "example" in ok, (method, path)
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None:
                schema = body["schema"]
                options = schema.get("anyOf", [schema])
                assert any(has_example(o) for o in options), (method, path)
            if path == "/health":
                continue
            errors = {s: r for s, r in op["responses"].items() if s[0] in "45"}
            assert errors, (method, path)
            for status, r in errors.items():
                if status == "422" and "example" not in r["content"]["application/json"]:
                    continue  # (FastAPI's own 422 entry where no body is validated)
                assert r["content"]["application/json"]["example"]["code"], (method, path, status)
            if "security" in op or any(p.get("in") == "header" for p in op.get("parameters", [])):
                pass
            if path.startswith("/v1/") and not path.endswith("/public"):
                assert "401" in errors and "429" in errors and "503" in errors, (method, path)
    assert operations >= 12


def test_same_idempotency_key_at_once_gives_the_first_answer(service, phone, portrait):
    body = issue_body(service, phone, portrait)
    h = {**service.auth(), "Idempotency-Key": "at-once"}
    barrier = threading.Barrier(3)
    answers: list = []

    def post():
        barrier.wait()
        answers.append(service.client.post(ISSUE, json=body, headers=h))

    threads = [threading.Thread(target=post) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in answers] == [200, 200, 200], [r.text for r in answers]
    assert answers[0].json() == answers[1].json() == answers[2].json()
    assert service.scalar("select count(*) from licences") == 1


def test_a_failed_issue_leaves_its_nonce_unused(service, phone, portrait):
    body = issue_body(service, phone, portrait)
    bad = {**body, "licence": {**body["licence"], "expiry_date": "not a date"}}
    r = service.client.post(ISSUE, json=bad, headers=service.auth())
    assert r.status_code == 422, r.text
    assert service.scalar("select count(*) from nonces where used is not null") == 0
    r = service.client.post(ISSUE, json=body, headers=service.auth())  # the same nonce, now good
    assert r.status_code == 200, r.text


def test_request_ids_and_audit_log_lines(service, phone, portrait, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="issuer_app")
    body = issue_body(service, phone, portrait)
    r = service.client.post(ISSUE, json=body, headers={**service.auth(), "X-Request-ID": "partner-req-42"})
    assert r.status_code == 200 and r.headers["x-request-id"] == "partner-req-42"
    refused = service.client.post(ISSUE, json=body, headers=service.auth())  # an error has one too
    assert refused.status_code == 409 and len(refused.headers["x-request-id"]) == 32
    assert service.client.get("/health").headers["x-request-id"]
    weird = service.client.get("/health", headers={"X-Request-ID": "x" * 101}).headers["x-request-id"]
    assert weird != "x" * 101
    assert service.scalar("select request_id from audit") == "partner-req-42"
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "issuer_app.audit"]
    assert lines == [f"audit: issue {CITY} by desk (request partner-req-42)"]


def test_rebind_retried_with_its_idempotency_key(service, phone, portrait):
    _issue(service, phone, portrait)
    new_phone = ec.generate_private_key(ec.SECP256R1())
    body = issue_body(service, new_phone, portrait)
    rebind = {k: body[k] for k in ("device_key", "nonce", "signature")}
    h = {**service.auth(), "Idempotency-Key": "rebind-1"}
    first = service.client.post(f"{ISSUE}/QD-0001/rebind", json=rebind, headers=h)
    again = service.client.post(f"{ISSUE}/QD-0001/rebind", json=rebind, headers=h)
    assert first.status_code == again.status_code == 200, again.text
    assert first.json() == again.json() and again.headers["idempotent-replay"] == "true"
    assert (
        service.scalar("select count(*) from status_entries where status = 1") == 1
    )  # one old place revoked


def test_an_expired_licence_gets_no_credential_and_no_status_place(service, phone, portrait):
    body = issue_body(service, phone, portrait, number="QD-0009")
    body["licence"]["expiry_date"] = (service.clock().date() - dt.timedelta(days=1)).isoformat()
    _error(service.client.post(ISSUE, json=body, headers=service.auth()), 422, "licence_expired")
    assert service.scalar("select count(*) from status_entries") == 0
    assert service.scalar("select count(*) from licences") == 0
    # its last day still counts: issued, valid until the end of that day
    body = issue_body(service, phone, portrait, number="QD-0010")
    body["licence"]["expiry_date"] = service.clock().date().isoformat()
    r = service.client.post(ISSUE, json=body, headers=service.auth())
    assert r.status_code == 200, r.text
    # renewing once the licence has expired: refused, the row as it was
    _issue(service, phone, portrait)
    before = service.client.get(f"{ISSUE}/QD-0001", headers=service.auth()).json()
    service.clock.at = dt.datetime(2034, 1, 15, 0, 0, tzinfo=dt.UTC)
    _error(service.client.post(f"{ISSUE}/QD-0001/renew", headers=service.auth()), 422, "licence_expired")
    assert service.client.get(f"{ISSUE}/QD-0001", headers=service.auth()).json() == before


def test_a_licence_expiring_on_the_last_day_python_holds_is_issued(service, phone, portrait):
    # 9999-12-31 has no midnight after it in Python: the expiry check raised OverflowError (a 500)
    body = issue_body(service, phone, portrait, number="QD-0011")
    body["licence"]["expiry_date"] = "9999-12-31"
    r = service.client.post(ISSUE, json=body, headers=service.auth())
    assert r.status_code == 200, r.text
    renewed = service.client.post(f"{ISSUE}/QD-0011/renew", headers=service.auth())
    assert renewed.status_code == 200, renewed.text


def test_a_city_whose_signer_expired_is_told_to_rotate_it(service, phone, portrait):
    _issue(service, phone, portrait)
    admin = CityAdmin(service.keystore, FileKeyStore(service.keystore / "keys", PASSPHRASE.encode()))
    service.clock.at = admin.document_signer(CITY).not_after + dt.timedelta(days=1)
    r = service.client.post(
        ISSUE, json=issue_body(service, phone, portrait, number="QD-0002"), headers=service.auth()
    )
    _error(r, 409, "signer_expired")
    assert "rotate-signer" in r.json()["message"]
    _error(service.client.post(f"{ISSUE}/QD-0001/renew", headers=service.auth()), 409, "signer_expired")
    new_phone = ec.generate_private_key(ec.SECP256R1())
    body = issue_body(service, new_phone, portrait)
    rebind = {k: body[k] for k in ("device_key", "nonce", "signature")}
    r = service.client.post(f"{ISSUE}/QD-0001/rebind", json=rebind, headers=service.auth())
    _error(r, 409, "signer_expired")
    # nothing was revoked on the way: the licence keeps its place and its state
    held = service.client.get(f"{ISSUE}/QD-0001", headers=service.auth()).json()
    assert held["state"] == "valid"
    assert service.scalar("select count(*) from licences") == 1


def test_idempotency_answers_are_kept_a_day(service, phone, portrait):
    _issue(service, phone, portrait)
    h = {**service.auth(), "Idempotency-Key": "renew-day"}
    first = service.client.post(f"{ISSUE}/QD-0001/renew", headers=h)
    assert first.status_code == 200, first.text
    service.clock.at += dt.timedelta(hours=23)
    again = service.client.post(f"{ISSUE}/QD-0001/renew", headers=h)
    assert again.headers.get("idempotent-replay") == "true" and again.json() == first.json()
    service.clock.at += dt.timedelta(hours=2)  # a day has passed: the key is free again
    later = service.client.post(f"{ISSUE}/QD-0001/renew", headers=h)
    assert later.status_code == 200, later.text
    assert later.headers.get("idempotent-replay") is None
    assert later.json()["issued"] > first.json()["issued"]
    assert service.scalar("select count(*) from idempotency") == 1  # the day-old answer is gone

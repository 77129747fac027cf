"""The REAL issuing service (``edl serve issuer`` in a subprocess, HTTP through httpx) under the
failures a city will see: the server killed with SIGKILL during a stream of issues, and the
database going away. On SQLite and on PostgreSQL (a fresh database per test)."""

from __future__ import annotations

import collections
import json
import random
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from issuertest import (
    CITY,
    Server,
    api_key,
    check_complete,
    city_root,
    copy_keystore,
    database,
    engine_of,
    issue_body,
    licence,
    make_keystore,
    pg_admin,
    running,
    sign_nonce,
    spki_b64,
)
from sqlalchemy import text

ISSUE = f"/v1/cities/{CITY}/licences"
KINDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="module")
def ks_template(tmp_path_factory):
    return make_keystore(tmp_path_factory.mktemp("reliability-ks") / "ks")


@pytest.fixture()
def ks(ks_template, tmp_path):
    return copy_keystore(ks_template, tmp_path / "ks")


@dataclass
class Attempt:
    number: str
    idem: str
    body: dict[str, Any]
    phone: ec.EllipticCurvePrivateKey
    status: int | None = None  # None: no answer (the server died under it)
    answer: dict[str, Any] | None = None


def _stream(url: str, key: str, worker: int, stop: threading.Event, out: list[Attempt]) -> None:
    """Issue licence after licence, each with its own Idempotency-Key, until the server dies."""
    auth = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=url, timeout=30) as client:
        i = 0
        while not stop.is_set():
            phone = ec.generate_private_key(ec.SECP256R1())
            number = f"K-{worker}-{i:04d}"
            try:
                body = issue_body(client, key, phone, number)
            except httpx.HTTPError:
                return
            attempt = Attempt(number, uuid.uuid4().hex, body, phone)
            out.append(attempt)
            try:
                r = client.post(ISSUE, json=body, headers={**auth, "Idempotency-Key": attempt.idem})
            except httpx.HTTPError:
                return
            attempt.status = r.status_code
            attempt.answer = r.json()
            i += 1


def _db_rows(db: str) -> list[tuple[str, int, int]]:
    engine = engine_of(db)
    try:
        with engine.connect() as c:
            rows = c.execute(
                text("SELECT document_number, status_list, status_idx FROM licences WHERE city = :c"),
                {"c": CITY},
            ).all()
    finally:
        engine.dispose()
    return [tuple(r) for r in rows]


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_sigkill_during_a_stream_of_issues(kind, ks, tmp_path):
    with database(kind, tmp_path) as db:
        key = api_key(db, "partner", "issue")
        server = Server(db, ks).start()
        attempts: list[Attempt] = []
        stop = threading.Event()
        threads = [
            threading.Thread(target=_stream, args=(server.url, key, w, stop, attempts)) for w in range(6)
        ]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 20
        while sum(a.status == 200 for a in attempts) < 12 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(random.uniform(0, 0.05))  # land anywhere in a request
        server.kill()
        stop.set()
        for t in threads:
            t.join(30)
        acked = [a for a in attempts if a.status == 200]
        in_flight = [a for a in attempts if a.status is None]
        assert len(acked) >= 12, [a.status for a in attempts]
        assert all(a.status in (200, None) for a in attempts), [(a.status, a.answer) for a in attempts]

        print(f"{kind}: {len(acked)} acknowledged, {len(in_flight)} in flight at the kill")
        server.start()  # same database, same port
        root = city_root(ks)
        auth = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=server.url, timeout=30) as client:
            # every acknowledged issue is there, whole, as it was answered
            for a in acked:
                got = client.get(f"{ISSUE}/{a.number}", headers=auth)
                assert got.status_code == 200, (a.number, got.text)
                assert got.json() == a.answer
                check_complete(a.answer, a.phone, root, number=a.number)
            # a retry with its Idempotency-Key: the first answer, or (never answered) one issue
            retried: dict[str, dict[str, Any]] = {}
            for a in acked + in_flight:
                r = client.post(ISSUE, json=a.body, headers={**auth, "Idempotency-Key": a.idem})
                assert r.status_code == 200, (a.number, "acknowledged" if a.status else "in flight", r.text)
                if a.status == 200:
                    assert r.json() == a.answer, a.number
                else:
                    check_complete(r.json(), a.phone, root, number=a.number)
                retried[a.number] = r.json()
            # and once more: the same answer again, nothing new
            for a in in_flight:
                r = client.post(ISSUE, json=a.body, headers={**auth, "Idempotency-Key": a.idem})
                assert r.status_code == 200 and r.json() == retried[a.number], a.number
        server.stop()

        rows = _db_rows(db)
        numbers = [r[0] for r in rows]
        assert len(numbers) == len(set(numbers)), "a document number issued twice"
        indices = [(r[1], r[2]) for r in rows]
        assert len(indices) == len(set(indices)), "a status index given twice"
        assert set(numbers) == {a.number for a in acked + in_flight}, "a licence nobody asked for, or lost"


@pytest.mark.slow
def test_two_api_nodes_on_one_postgresql(ks, tmp_path):
    """Stateless API nodes behind a load balancer: two servers on one database issue at once; no
    document number or status index is given twice, and each node serves what the other issued."""
    with database("postgresql", tmp_path) as db:
        key = api_key(db, "partner", "issue")
        with running(db, ks) as one, running(db, ks) as two:
            attempts: list[Attempt] = []
            stop = threading.Event()
            threads = [
                threading.Thread(target=_stream, args=(node.url, key, 10 * n + w, stop, attempts))
                for n, node in enumerate((one, two))
                for w in range(3)
            ]
            for t in threads:
                t.start()
            deadline = time.monotonic() + 30
            while sum(a.status == 200 for a in attempts) < 16 and time.monotonic() < deadline:
                time.sleep(0.02)
            stop.set()
            for t in threads:
                t.join(60)
            acked = [a for a in attempts if a.status == 200]
            assert len(acked) == len(attempts) >= 16, [
                (a.status, a.answer) for a in attempts if a.status != 200
            ]
            root = city_root(ks)
            auth = {"Authorization": f"Bearer {key}"}
            for i, a in enumerate(acked):
                other = (one, two)[i % 2]  # read back through either node
                got = httpx.get(f"{other.url}{ISSUE}/{a.number}", headers=auth, timeout=30)
                assert got.status_code == 200 and got.json() == a.answer
            for a in acked[:6]:
                check_complete(a.answer, a.phone, root, number=a.number)
        rows = _db_rows(db)
        assert sorted(r[0] for r in rows) == sorted(a.number for a in acked)
        assert len({(r[1], r[2]) for r in rows}) == len(rows), "a status index given twice"
        assert len({(a.answer["status_list"], a.answer["status_idx"]) for a in acked}) == len(acked)


# --- the database goes away -----------------------------------------------------------------


def _is_unavailable(r: httpx.Response) -> None:
    assert r.status_code == 503, (r.status_code, r.text)
    body = r.json()
    assert {"code", "message"} <= set(body), body
    assert isinstance(body["code"], str) and isinstance(body["message"], str) and body["message"]


def _issue(client: httpx.Client, key: str, number: str) -> httpx.Response:
    phone = ec.generate_private_key(ec.SECP256R1())
    body = issue_body(client, key, phone, number)
    return client.post(ISSUE, json=body, headers={"Authorization": f"Bearer {key}"})


def _recovers(client: httpx.Client, key: str, number: str, within: float = 15) -> None:
    deadline = time.monotonic() + within
    last = None
    while time.monotonic() < deadline:
        try:
            last = _issue(client, key, number)
            if last.status_code == 200:
                return
        except (AssertionError, httpx.HTTPError) as e:
            last = e
        time.sleep(0.2)
    raise AssertionError(f"the service did not recover in {within} s: {last!r}")


@pytest.mark.slow
def test_postgresql_goes_away_503_then_recovers(ks, tmp_path):
    with database("postgresql", tmp_path) as db:
        name = db.rsplit("/", 1)[1]
        key = api_key(db, "partner", "issue")
        admin, _ = pg_admin()
        server = Server(db, ks).start()
        try:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                assert _issue(client, key, "PG-0001").status_code == 200
                admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
                )
                for path, method in [(f"/v1/cities/{CITY}/nonce", "POST"), (f"{ISSUE}/PG-0001", "GET")]:
                    t0 = time.monotonic()
                    r = client.request(method, path, headers={"Authorization": f"Bearer {key}"})
                    assert time.monotonic() - t0 < 15, "a hang, not an answer"
                    _is_unavailable(r)
                assert client.get("/health").status_code == 200  # the process is alive
                admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
                _recovers(client, key, "PG-0002")
                got = client.get(f"{ISSUE}/PG-0001", headers={"Authorization": f"Bearer {key}"})
                assert got.status_code == 200, got.text
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            server.stop()
            admin.close()


def _stream_through_outage(
    url: str, key: str, worker: int, stop: threading.Event, out: list, seen: list
) -> None:
    """Like _stream, but the service stays up: a 503 (nonce or issue) is noted and the stream goes on."""
    auth = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=url, timeout=30) as client:
        i = 0
        while not stop.is_set():
            t0 = time.monotonic()
            r = client.post(f"/v1/cities/{CITY}/nonce", headers=auth)
            seen.append((r.status_code, time.monotonic() - t0, r.text))
            if r.status_code != 200:
                time.sleep(0.05)
                continue
            phone = ec.generate_private_key(ec.SECP256R1())
            number, nonce = f"O-{worker}-{i:04d}", r.json()["nonce"]
            body = {"licence": licence(number), "device_key": spki_b64(phone), "nonce": nonce,
                    "signature": sign_nonce(phone, nonce)}  # fmt: skip
            attempt = Attempt(number, uuid.uuid4().hex, body, phone)
            out.append(attempt)
            t0 = time.monotonic()
            r = client.post(ISSUE, json=body, headers={**auth, "Idempotency-Key": attempt.idem})
            seen.append((r.status_code, time.monotonic() - t0, r.text))
            attempt.status, attempt.answer = r.status_code, r.json()
            i += 1


@pytest.mark.slow
def test_postgresql_dies_under_a_stream_of_issues(ks, tmp_path):
    """Backends terminated in the middle of requests, connections refused for a while: every answer
    is 200 or 503 JSON (never 500, never a hang); afterwards every 503'd issue, retried with its
    Idempotency-Key, is issued once and whole (or replayed when its commit had landed)."""
    with database("postgresql", tmp_path) as db:
        name = db.rsplit("/", 1)[1]
        key = api_key(db, "partner", "issue")
        admin, _ = pg_admin()
        attempts: list[Attempt] = []
        seen: list[tuple[int, float, str]] = []
        stop = threading.Event()
        with running(db, ks) as server:
            threads = [
                threading.Thread(
                    target=_stream_through_outage, args=(server.url, key, w, stop, attempts, seen)
                )
                for w in range(4)
            ]
            try:
                for t in threads:
                    t.start()
                deadline = time.monotonic() + 20
                while sum(a.status == 200 for a in attempts) < 8 and time.monotonic() < deadline:
                    time.sleep(0.01)
                admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
                )
                time.sleep(1.5)
                admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
                time.sleep(1.5)  # the stream goes on: the service recovers by itself
            finally:
                admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
                stop.set()
                for t in threads:
                    t.join(60)
            statuses = collections.Counter(status for status, _, _ in seen)
            print("answers during the outage run:", dict(statuses))
            assert set(statuses) <= {200, 503}, [(s, b) for s, _, b in seen if s not in (200, 503)][:5]
            assert statuses[503] >= 1, statuses  # the outage was seen
            assert max(w for _, w, _ in seen) < 15, "a hang, not an answer"
            for status, _, text_ in seen:
                if status == 503:
                    assert {"code", "message"} <= set(json.loads(text_)), text_
            assert [a.status for a in attempts[-4:]].count(200) >= 1, "not recovered"
            root = city_root(ks)
            auth = {"Authorization": f"Bearer {key}"}
            with httpx.Client(base_url=server.url, timeout=30) as client:
                for a in attempts:
                    r = client.post(ISSUE, json=a.body, headers={**auth, "Idempotency-Key": a.idem})
                    assert r.status_code == 200, (a.number, a.status, r.text)
                    if a.status == 200:
                        assert r.json() == a.answer
                    else:
                        check_complete(r.json(), a.phone, root, number=a.number)
        rows = _db_rows(db)
        assert sorted(r[0] for r in rows) == sorted(a.number for a in attempts)
        assert len({(r[1], r[2]) for r in rows}) == len(rows), "a status index given twice"
        admin.close()


@pytest.mark.slow
def test_sqlite_locked_away_503_then_recovers(ks, tmp_path):
    """SQLite's way of going away for a writer: another process holds the database's lock."""
    db = str(tmp_path / "issuer.db")
    key = api_key(db, "partner", "issue")
    server = Server(db, ks).start()
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            assert _issue(client, key, "SQ-0001").status_code == 200
            holder = sqlite3.connect(db, isolation_level=None, timeout=1)
            holder.execute("BEGIN EXCLUSIVE")
            try:
                t0 = time.monotonic()
                r = client.post(f"/v1/cities/{CITY}/nonce", headers={"Authorization": f"Bearer {key}"})
                waited = time.monotonic() - t0
                assert waited < 15, f"{waited:.0f} s before an answer ({r.status_code}): a hang for a partner"
                _is_unavailable(r)
            finally:
                holder.execute("ROLLBACK")
                holder.close()
            _recovers(client, key, "SQ-0002")
    finally:
        server.stop()


# --- revoke racing renew and suspend on one licence ----------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_concurrent_revoke_renew_suspend_end_in_one_state(kind, ks, tmp_path):
    with database(kind, tmp_path) as db:
        key = api_key(db, "desk", "admin")
        auth = {"Authorization": f"Bearer {key}"}
        phone = ec.generate_private_key(ec.SECP256R1())
        base = f"{ISSUE}/RR-0001"
        with running(db, ks) as server, httpx.Client(base_url=server.url, timeout=60) as client:
            first = client.post(ISSUE, json=issue_body(client, key, phone, "RR-0001"), headers=auth)
            assert first.status_code == 200, first.text
            place = (first.json()["status_list"], first.json()["status_idx"])
            barrier = threading.Barrier(7)
            answers: list[tuple[str, int, dict]] = []

            def call(what: str, path: str, body: dict | None) -> None:
                with httpx.Client(base_url=server.url, timeout=60) as c:
                    barrier.wait()
                    r = c.post(path, json=body, headers=auth)
                    answers.append((what, r.status_code, r.json()))

            jobs = [("renew", f"{base}/renew", None)] * 3 + [
                ("suspend", f"{base}/suspend", {"reason": "points"})
            ] * 2
            jobs += [
                ("revoke", f"{base}/revoke", {"reason": "court order"}),
                ("reinstate", f"{base}/reinstate", {}),
            ]
            threads = [threading.Thread(target=call, args=job) for job in jobs]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            assert len(answers) == 7
            for what, status, body in answers:
                assert status < 500, (what, status, body)
                if status == 200 and what == "renew":  # a renewal keeps the licence's place
                    assert (body["status_list"], body["status_idx"]) == place
                    check_complete(body, phone, city_root(ks), number="RR-0001")
                elif status != 200:
                    assert {"code", "message"} <= set(body), body
            assert [s for w, s, _ in answers if w == "revoke"] == [200], answers
            # after the race: revoked for good, and every later change or renewal refused
            got = client.get(base, headers=auth)
            assert got.status_code == 200 and got.json()["status_idx"] == place[1]
            for path, body in [(f"{base}/renew", None), (f"{base}/reinstate", {}), (f"{base}/suspend", {})]:
                r = client.post(path, json=body, headers=auth)
                assert r.status_code == 409, (path, r.status_code, r.text)
        state = query_one(db, "SELECT state FROM licences WHERE city = :c AND document_number = 'RR-0001'")
        bit = query_one(
            db,
            "SELECT status FROM status_entries WHERE city = :c AND list_id = :l AND idx = :i",
            l=place[0],
            i=place[1],
        )
        assert (state, bit) == ("revoked", 1), "the licence row and its status bit disagree"


def query_one(db: str, sql: str, **params):
    engine = engine_of(db)
    try:
        with engine.connect() as c:
            return c.execute(text(sql), {"c": CITY, **params}).scalar_one()
    finally:
        engine.dispose()

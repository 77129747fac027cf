"""The database owns the status indices and bits: allocation never hands a place out twice
(threads, and a second process, at once), lists fill and move on, changes and publishing."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from edl.city import CityAdmin
from edl.keys import FileKeyStore
from edl.status import Status, verify_status_list
from edl.x509 import TrustAnchors
from issuer_app.db import StatusEntry, StatusListRow, make_sessions, migrate
from issuer_app.status_store import DbStatusStore

from .conftest import CITY, PASSPHRASE, TINY, sql_engine

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture()
def store(keystore_dir, db_url):
    engine = sql_engine(db_url)
    migrate(engine)
    admin = CityAdmin(keystore_dir, FileKeyStore(keystore_dir / "keys", PASSPHRASE.encode()))
    store = DbStatusStore(engine, admin)
    yield store
    store.dispose()
    engine.dispose()


def _allocate(store: DbStatusStore, city: str, prefix: str, n: int, out: list, errors: list) -> None:
    sessions = make_sessions(store.engine)
    try:
        for i in range(n):
            with sessions() as s:
                got = store.allocate(s, city, f"{prefix}-{i}", now=NOW)
                s.commit()
            out.append(got[:2])
    except Exception as e:  # noqa: BLE001 - reported by the test
        errors.append(repr(e))


SECOND_PROCESS = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from edl.city import CityAdmin
    from edl.keys import FileKeyStore
    from issuer_app.db import make_engine, make_sessions
    from issuer_app.settings import db_url_of
    from issuer_app.status_store import DbStatusStore
    db, folder, city, n = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    engine = make_engine(db_url_of(db))
    store = DbStatusStore(engine, CityAdmin(folder, FileKeyStore(folder / "keys", b"unused")))
    sessions = make_sessions(engine)
    got = []
    print("ready", flush=True)
    for i in range(n):
        with sessions() as s:
            got.append(store.allocate(s, city, f"proc-{i}")[:2])
            s.commit()
    print(json.dumps(got))
    """
)


@pytest.mark.parametrize("city", [CITY, TINY])
def test_concurrent_allocation_never_hands_out_an_index_twice(store, db_url, keystore_dir, city):
    n_threads, per_thread, per_process = 6, 25, 40
    proc = subprocess.Popen(
        [sys.executable, "-c", SECOND_PROCESS, db_url, str(keystore_dir), city, str(per_process)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    out: list = []
    errors: list = []
    threads = [
        threading.Thread(target=_allocate, args=(store, city, f"t{k}", per_thread, out, errors))
        for k in range(n_threads)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert errors == []
    from_process = [tuple(x) for x in json.loads(stdout.strip().splitlines()[-1])]
    everything = [tuple(x) for x in out] + from_process
    total = n_threads * per_thread + per_process
    assert len(everything) == total
    assert len(set(everything)) == total, "an index was handed out twice"
    sessions = make_sessions(store.engine)
    with sessions() as s:
        lists = {r.list_id: r for r in s.scalars(select(StatusListRow).where(StatusListRow.city == city))}
        entries = s.scalar(select(func.count()).select_from(StatusEntry).where(StatusEntry.city == city))
    assert entries == total
    for list_id, idx in everything:
        assert 0 <= idx < lists[list_id].size
    if city == TINY:  # 16 places a list: 190 places fill 11 full lists, each exactly once
        assert sorted(lists) == list(range(1, 13))
        assert all(r.size == 16 for r in lists.values())
        assert sum(r.next for r in lists.values()) == total
        for list_id, r in lists.items():  # a full list: each of its 16 places handed out once
            if r.next == 16:
                assert sorted(i for lid, i in everything if lid == list_id) == list(range(16))
    else:  # one list, and the indices are spread over it (a permutation), not 0, 1, 2 ...
        assert set(lists) == {1} and lists[1].size == 150_000
        assert max(i for _, i in everything) > 10 * total


def test_a_kept_place_and_a_rolled_back_one(store):
    sessions = make_sessions(store.engine)
    with sessions() as s:
        first = store.allocate(s, CITY, "QD-1", now=NOW)
        s.commit()
    with sessions() as s:
        assert store.allocate(s, CITY, "QD-1", now=NOW) == (*first[:2], True)
    with sessions() as s:
        lost = store.allocate(s, CITY, "QD-2", now=NOW)
        s.rollback()
    with sessions() as s:
        again = store.allocate(s, CITY, "QD-2", now=NOW)
        s.commit()
    assert again[2] is False and again[:2] != first[:2]
    if store.engine.dialect.name == "postgresql":  # allocated in a transaction of its own: wasted
        assert again[:2] != lost[:2]
    else:  # allocated in the caller's transaction, undone with it (nothing signed was delivered)
        assert again[:2] == lost[:2]


def test_changes_and_publishing(store, keystore_dir):
    sessions = make_sessions(store.engine)
    with sessions() as s:
        a = store.allocate(s, CITY, "QD-A", now=NOW)
        b = store.allocate(s, CITY, "QD-B", now=NOW)
        s.commit()
    assert store.status_of(None, CITY, a[0], a[1]) is Status.VALID
    ch = store.change(CITY, "suspend", now=NOW, document_number="QD-A", reason="points")
    assert (ch.before, ch.after, ch.index) == (Status.VALID, Status.SUSPENDED, a[1])
    store.change(CITY, "revoke", now=NOW, index=b[1], list_id=b[0])
    assert store.status_of(None, CITY, b[0], b[1]) is Status.REVOKED
    with pytest.raises(ValueError, match="final"):
        store.change(CITY, "reinstate", now=NOW, document_number="QD-B")
    with pytest.raises(ValueError, match="outside"):
        store.change(CITY, "revoke", now=NOW, index=150_000)
    admin = store.admin
    _, cert = admin.status_signer(CITY)
    anchors = TrustAnchors([admin.certificate(CITY, admin.load(CITY).current_root()["file"])])
    sequences = []
    for _ in range(3):
        (p,) = store.publish(CITY, now=NOW)
        assert (p.revoked, p.suspended) == (1, 1)
        lst = verify_status_list(p.data, city_anchors=anchors, now=NOW, uri=p.uri)
        assert lst.status_of(a[1]) is Status.SUSPENDED and lst.status_of(b[1]) is Status.REVOKED
        sequences.append(p.sequence)
    assert sequences == [1, 2, 3]
    (row,) = store.published(CITY)
    assert row.sequence == 3 and row.published == p.data
    store.change(CITY, "reinstate", now=NOW, document_number="QD-A")
    (p,) = store.publish(CITY, now=NOW)
    assert p.sequence == 4 and (p.revoked, p.suspended) == (1, 0)


def test_concurrent_publishing_never_repeats_a_sequence(store):
    got: list[int] = []
    errors: list[str] = []

    def publish():
        try:
            for _ in range(3):
                got.extend(p.sequence for p in store.publish(CITY, now=NOW))
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    threads = [threading.Thread(target=publish) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(got) == list(range(1, 13))


def test_a_city_moves_from_the_key_store_files_to_the_database(keystore_dir, db_url, tmp_path):
    import shutil

    from edl.city_status import CityStatus

    folder = shutil.copytree(keystore_dir, tmp_path / "ks")
    admin = CityAdmin(folder, FileKeyStore(folder / "keys", PASSPHRASE.encode()))
    files = CityStatus(admin)
    before = {doc: files.allocate(TINY, doc)[:2] for doc in ("T-1", "T-2", "T-3")}
    files.change(TINY, "revoke", now=NOW, document_number="T-2")
    files.change(TINY, "suspend", now=NOW, index=before["T-3"][1], list_id=before["T-3"][0])
    files.publish(TINY, now=NOW)
    files.publish(TINY, now=NOW)  # sequence 2
    engine = sql_engine(db_url)
    migrate(engine)
    store = DbStatusStore(engine, admin)
    try:
        assert store.find(TINY, "T-1") == before["T-1"]
        assert store.status_of(None, TINY, *before["T-2"]) is Status.REVOKED
        assert store.status_of(None, TINY, *before["T-3"]) is Status.SUSPENDED
        sessions = make_sessions(engine)
        fresh = []
        for i in range(14):  # the rest of list 1 (16 places, 3 taken), then list 2
            with sessions() as s:
                fresh.append(store.allocate(s, TINY, f"D-{i}", now=NOW)[:2])
                s.commit()
        assert not set(fresh) & set(before.values())
        assert sorted(i for lid, i in [*fresh[:13], *before.values()] if lid == 1) == list(range(16))
        assert fresh[-1][0] == 2
        (p1, p2) = store.publish(TINY, now=NOW)
        assert (p1.list_id, p1.sequence, p1.revoked, p1.suspended) == (1, 3, 1, 1)
        assert (p2.list_id, p2.sequence) == (2, 1)
    finally:
        engine.dispose()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_allocation_needs_no_second_connection_from_the_callers_pool(keystore_dir, db_url):
    from sqlalchemy import create_engine, text

    from issuer_app.settings import db_url_of

    migrate(sql_engine(db_url))
    engine = create_engine(db_url_of(db_url), pool_size=1, max_overflow=0, pool_timeout=2)
    admin = CityAdmin(keystore_dir, FileKeyStore(keystore_dir / "keys", PASSPHRASE.encode()))
    store = DbStatusStore(engine, admin)
    try:
        with make_sessions(engine)() as s:
            s.execute(text("SELECT 1"))  # the caller holds the pool's only connection
            assert store.allocate(s, CITY, "QD-P1", now=NOW)[2] is False
            s.commit()
        with store._allocations().connect() as c:  # its commits do not wait for the disk
            assert c.execute(text("SHOW synchronous_commit")).scalar() == "off"
    finally:
        store.dispose()
        engine.dispose()

"""Key operations are all or nothing: a wrong passphrase, a failure midway or a killed run leaves
the key store as it was (or with an orphan the retry clears), and the retry works.

Each changing operation of ``CityAdmin`` and ``Operator`` is run three ways: with a wrong
passphrase (nothing written, refused before any write, also in a dry run), failing midway
(certificate signing raises after the new key exists: nothing left behind), and after a
"killed" run that left a generated key no state names (the retry discards it and succeeds).
PKCS#11 is SoftHSM2, where a generated key cannot be rolled back by rewriting a file.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from edl import city as city_module
from edl.city import CityAdmin
from edl.errors import KeyStoreError
from edl.keys import FileKeyStore, Pkcs11KeyStore
from edl.operator import Operator
from edltest import NOW

GOOD, BAD = b"correct horse battery staple", b"wrong"
LATER = NOW + dt.timedelta(days=1)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def store(folder: Path, passphrase: bytes = GOOD) -> FileKeyStore:
    return FileKeyStore(folder / "keys", passphrase)


@pytest.fixture
def qingdao(tmp_path) -> Path:
    CityAdmin(tmp_path, store(tmp_path)).init("cn-qingdao", name="Qingdao", country="CN", now=NOW)
    return tmp_path


CITY_OPS = {
    "rotate-signer": lambda admin: admin.rotate_signer("cn-qingdao", now=LATER),
    "renew-root": lambda admin: admin.renew_root("cn-qingdao", now=LATER),
    "revoke-signer": lambda admin: admin.revoke_signer(
        "cn-qingdao", admin.load("cn-qingdao").signers[0]["kid"]
    ),
    "init-second-city": lambda admin: admin.init("cn-yantai", name="Yantai", country="CN", now=NOW),
}


@pytest.mark.parametrize("op", list(CITY_OPS), ids=list(CITY_OPS))
@pytest.mark.parametrize("dry_run", [False, True], ids=["run", "dry-run"])
def test_a_wrong_passphrase_writes_nothing_and_the_retry_works(qingdao, op, dry_run):
    before = snapshot(qingdao)
    wrong = CityAdmin(qingdao, store(qingdao, BAD))
    with pytest.raises(KeyStoreError, match="wrong passphrase"):
        if dry_run and op != "init-second-city":
            {
                "rotate-signer": lambda: wrong.rotate_signer("cn-qingdao", now=LATER, dry_run=True),
                "renew-root": lambda: wrong.renew_root("cn-qingdao", now=LATER, dry_run=True),
                "revoke-signer": lambda: wrong.revoke_signer(
                    "cn-qingdao", wrong.load("cn-qingdao").signers[0]["kid"], dry_run=True
                ),
            }[op]()
        else:
            CITY_OPS[op](wrong)
    assert snapshot(qingdao) == before
    CITY_OPS[op](CityAdmin(qingdao, store(qingdao)))  # the retry with the right passphrase
    assert snapshot(qingdao) != before


@pytest.mark.parametrize("op", ["rotate-signer", "renew-root", "init-second-city"])
def test_a_failure_midway_leaves_nothing_and_the_retry_works(qingdao, monkeypatch, op):
    before = snapshot(qingdao)
    real = city_module._sign_certificate_with
    calls = {"n": 0}

    def failing(*args, **kwargs):
        calls["n"] += 1
        raise OSError("disk full")  # after the new key was generated

    monkeypatch.setattr(city_module, "_sign_certificate_with", failing)
    with pytest.raises(OSError):
        CITY_OPS[op](CityAdmin(qingdao, store(qingdao)))
    assert calls["n"] == 1
    assert snapshot(qingdao) == before  # no key, no certificate, no state change
    monkeypatch.setattr(city_module, "_sign_certificate_with", real)
    CITY_OPS[op](CityAdmin(qingdao, store(qingdao)))


@pytest.mark.parametrize("op", ["rotate-signer", "renew-root"])
def test_an_orphan_key_of_a_killed_run_does_not_block_the_retry(qingdao, op):
    admin = CityAdmin(qingdao, store(qingdao))
    orphan = {"rotate-signer": "cn-qingdao.ds-2", "renew-root": "cn-qingdao.root-2"}[op]
    store(qingdao).generate(orphan)  # what a run killed after generating its key leaves
    CITY_OPS[op](admin)
    st = admin.load("cn-qingdao")
    assert orphan in {e["key"] for e in (*st.roots, *st.signers)}


def test_a_key_in_use_is_never_discarded_as_an_orphan(qingdao):
    from edl.keys import Change

    ks = store(qingdao)
    with pytest.raises(KeyStoreError, match="in use"), Change(ks) as change:
        change.fresh_key("cn-qingdao.ds-1", in_use=CityAdmin(qingdao, ks)._in_use())
    assert "cn-qingdao.ds-1" in ks


def test_city_init_refuses_a_passphrase_that_does_not_open_the_keys_already_there(qingdao):
    before = snapshot(qingdao)
    with pytest.raises(KeyStoreError, match="wrong passphrase"):
        CityAdmin(qingdao, store(qingdao, BAD)).init("cn-yantai", name="Yantai", country="CN", now=NOW)
    assert snapshot(qingdao) == before


# --- the operator ------------------------------------------------------------------------------


@pytest.fixture
def ops(tmp_path) -> Path:
    Operator(tmp_path, store(tmp_path)).init("OPS", now=NOW)
    return tmp_path


OPERATOR_OPS = {
    "rotate-root": lambda op, dry: op.rotate_root(now=LATER, dry_run=dry),
    "publish": lambda op, dry: op.publish(now=LATER, dry_run=dry),
}


@pytest.mark.parametrize("name", list(OPERATOR_OPS), ids=list(OPERATOR_OPS))
@pytest.mark.parametrize("dry_run", [False, True], ids=["run", "dry-run"])
def test_operator_wrong_passphrase_writes_nothing(ops, name, dry_run):
    before = snapshot(ops)
    with pytest.raises(KeyStoreError, match="wrong passphrase"):
        OPERATOR_OPS[name](Operator(ops, store(ops, BAD)), dry_run)
    assert snapshot(ops) == before
    OPERATOR_OPS[name](Operator(ops, store(ops)), False)


def test_operator_init_with_a_wrong_passphrase_in_a_shared_store_writes_nothing(qingdao):
    before = snapshot(qingdao)
    with pytest.raises(KeyStoreError, match="wrong passphrase"):
        Operator(qingdao, store(qingdao, BAD)).init("OPS", now=NOW)
    assert snapshot(qingdao) == before
    Operator(qingdao, store(qingdao)).init("OPS", now=NOW)


def test_operator_rotation_failing_midway_leaves_nothing(ops, monkeypatch):
    from edl import operator as operator_module

    before = snapshot(ops)

    def failing(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(operator_module, "sign_root", failing)
    with pytest.raises(OSError):
        Operator(ops, store(ops)).rotate_root(now=LATER)
    assert snapshot(ops) == before
    monkeypatch.undo()
    assert Operator(ops, store(ops)).rotate_root(now=LATER).root_version == 2


# --- PKCS#11 -----------------------------------------------------------------------------------


@pytest.fixture
def token(softhsm):
    store = Pkcs11KeyStore(softhsm.module, "atomic", softhsm.tokens["atomic"])
    yield store
    store.close()


def test_pkcs11_orphan_of_a_killed_rotation_is_cleared_on_retry(tmp_path, token):
    admin = CityAdmin(tmp_path, token)
    admin.init("cn-qingdao", name="Qingdao", country="CN", now=NOW)
    token.generate("cn-qingdao.ds-2")  # a rotation killed after the token made its key
    new = admin.rotate_signer("cn-qingdao", now=LATER)
    assert new.current_signer()["key"] == "cn-qingdao.ds-2"
    assert token.names().count("cn-qingdao.ds-2") == 1
    # ...and the certified key is the one on the token now (the orphan was destroyed).
    assert admin.document_signer("cn-qingdao").signer.public_key() == token.public_key("cn-qingdao.ds-2")

"""The `edl city` / `edl trust` contract end to end, as an operator and three cities would run it:
three cities in two countries, rotation, revocation, root renewal, operator root rotation,
rollback and expiry, a swapped city root, pins. Real key stores (encrypted files) in tmp."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from edl import cbor
from edltest import licence_json
from edltest import run_cli as run

T0 = "2026-06-01T08:00:00Z"
T1 = "2026-06-02T08:00:00Z"
T2 = "2026-06-03T08:00:00Z"
T3 = "2026-06-04T08:00:00Z"


@pytest.fixture()
def env(tmp_path: Path, monkeypatch, device_key):
    monkeypatch.setenv("EDL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("EDL_KEYSTORE_PASSPHRASE", "correct horse battery staple")
    (tmp_path / "device.key.pem").write_bytes(
        device_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    (tmp_path / "device.pub.pem").write_bytes(
        device_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    (tmp_path / "st.cbor").write_bytes(
        cbor.encode(cbor.wrap24(cbor.encode([None, None, ["trust-cli", b"n"]])))
    )
    for cc, name in (("CN", "qingdao"), ("CN", "guangzhou"), ("JP", "ichikawa")):
        (tmp_path / f"{name}.json").write_text(json.dumps(licence_json(country=cc)))
    return tmp_path


def _city_init(capsys, keystore: Path, city_id: str, name: str, country: str, at: str) -> None:
    code, _, err = run(
        capsys,
        "city",
        "init",
        city_id,
        "--name",
        name,
        "--country",
        country,
        "--keystore",
        str(keystore),
        "--at",
        at,
    )
    assert code == 0, err


def _issue(capsys, d: Path, city: str, licence: str, out: str, at: str = T0) -> None:
    code, _, err = run(
        capsys,
        "mdoc",
        "issue",
        "--licence",
        str(d / licence),
        "--city",
        city,
        "--keystore",
        str(d / "cities"),
        "--device-key",
        str(d / "device.pub.pem"),
        "--no-status",  # these handhelds carry trust lists only (status lists: test_cli_status.py)
        "--at",
        at,
        "--out",
        str(d / out),
    )
    assert code == 0, err
    code, _, err = run(
        capsys,
        "mdoc",
        "respond",
        str(d / out),
        "--device-key",
        str(d / "device.key.pem"),
        "--transcript",
        str(d / "st.cbor"),
        "--out",
        str(d / f"{out}.dr"),
    )
    assert code == 0, err


def _verify(capsys, d: Path, cred: str, tl: str, at: str, *extra: str) -> tuple[int, dict | None, str]:
    code, out, err = run(
        capsys,
        "mdoc",
        "verify",
        str(d / f"{cred}.dr"),
        "--trust-list",
        str(d / tl),
        "--transcript",
        str(d / "st.cbor"),
        "--at",
        at,
        "--json",
        *extra,
    )
    return code, (json.loads(out) if out.strip() else None), err


def _publish(capsys, d: Path, out: str, at: str, *cities: str) -> dict:
    for c in cities:
        assert (
            run(
                capsys,
                "city",
                "export",
                c,
                "--keystore",
                str(d / "cities"),
                "--out",
                str(d / f"{c}.export"),
                "--at",
                at,
            )[0]
            == 0
        )
        code, _, err = run(capsys, "trust", "add", str(d / f"{c}.export"), "--keystore", str(d / "ops"))
        assert code == 0, err
    code, out, err = run(
        capsys, "trust", "publish", "--keystore", str(d / "ops"), "--out", str(d / out), "--at", at, "--json"
    )
    assert code == 0, err
    return json.loads(out)


def test_three_cities_rotation_revocation_and_rollback(env, capsys):
    d = env
    code, out, err = run(
        capsys, "trust", "init", "--name", "CN-JP-demo", "--keystore", str(d / "ops"), "--at", T0, "--json"
    )
    assert code == 0, err
    assert json.loads(out)["threshold"] == 2 and len(json.loads(out)["keys"]) == 3
    for cid, name, cc in (
        ("cn-qingdao", "Qingdao", "CN"),
        ("cn-guangzhou", "Guangzhou", "CN"),
        ("jp-ichikawa", "Ichikawa", "JP"),
    ):
        code, out, err = run(
            capsys,
            "city",
            "init",
            cid,
            "--name",
            name,
            "--country",
            cc,
            "--keystore",
            str(d / "cities"),
            "--at",
            T0,
            "--json",
        )
        assert code == 0, err
    tl1 = _publish(capsys, d, "tl1.cbor", T0, "cn-qingdao", "cn-guangzhou", "jp-ichikawa")
    assert tl1["sequence"] == 1 and tl1["signed"] >= tl1["threshold"]
    assert sorted(tl1["cities"]) == ["cn-guangzhou", "cn-qingdao", "jp-ichikawa"]

    # Each city issues; a handheld with only the pinned operator root verifies all of them.
    _issue(capsys, d, "cn-qingdao", "qingdao.json", "qd1")
    _issue(capsys, d, "jp-ichikawa", "ichikawa.json", "ic1")
    for cred in ("qd1", "ic1"):
        code, res, err = _verify(capsys, d, cred, "tl1.cbor", T0)
        assert code == 0, (err, res)
        assert res["verdict"] == "green"

    # show --json lists each city's signers with their key ids.
    code, out, _ = run(capsys, "trust", "show", str(d / "tl1.cbor"), "--json", "--at", T0)
    shown = json.loads(out)
    assert code == 0 and shown["verified"] is True
    qd = next(c for c in shown["cities"] if c["id"] == "cn-qingdao")
    old_kid = qd["signers"][0]["kid"]
    assert len(old_kid) == 16 and qd["signers"][0]["status"] == "current"

    # Rotation: the new signer signs from now on; the old licence stays valid.
    code, out, err = run(
        capsys, "city", "rotate-signer", "cn-qingdao", "--keystore", str(d / "cities"), "--at", T1, "--json"
    )
    assert code == 0, err
    assert json.loads(out)["retired"] == old_kid
    _publish(capsys, d, "tl2.cbor", T1, "cn-qingdao")
    _issue(capsys, d, "cn-qingdao", "qingdao.json", "qd2", at=T1)
    assert _verify(capsys, d, "qd1", "tl2.cbor", T1)[0] == 0
    assert _verify(capsys, d, "qd2", "tl2.cbor", T1)[0] == 0
    code, out, _ = run(capsys, "trust", "show", str(d / "tl2.cbor"), "--json", "--at", T1)
    statuses = {
        s["kid"]: s["status"]
        for c in json.loads(out)["cities"]
        if c["id"] == "cn-qingdao"
        for s in c["signers"]
    }
    assert statuses[old_kid] == "retired" and list(statuses.values()).count("current") == 1

    # Compromise: the old signer is revoked; once the next list is out, what it signed is red.
    assert (
        run(capsys, "city", "revoke-signer", "cn-qingdao", old_kid, "--keystore", str(d / "cities"))[0] == 0
    )
    _publish(capsys, d, "tl3.cbor", T2, "cn-qingdao")
    code, res, _ = _verify(capsys, d, "qd1", "tl3.cbor", T2)
    assert code == 1 and res["verdict"] == "red"
    chain = next(c for c in res["checks"] if c["name"] == "certificate_chain")
    assert chain["code"] == "signer_revoked"
    assert _verify(capsys, d, "qd2", "tl3.cbor", T2)[0] == 0

    # Rollback: this handheld has seen #3; the older #2 (where the revoked signer was fine) is refused.
    code, _, err = _verify(capsys, d, "qd1", "tl2.cbor", T2)
    assert code == 1 and "trust_rollback" in err

    # Expiry: past its expiry the list is red with trust_expired.
    code, _, err = _verify(capsys, d, "qd2", "tl3.cbor", "2026-07-01T00:00:00Z")
    assert code == 1 and "trust_expired" in err


def test_root_rotation_renewal_and_swapped_root(env, capsys, tmp_path):
    d = env
    assert run(capsys, "trust", "init", "--name", "OPS", "--keystore", str(d / "ops"), "--at", T0)[0] == 0
    _city_init(capsys, d / "cities", "jp-ichikawa", "Ichikawa", "JP", T0)
    _publish(capsys, d, "tl1.cbor", T0, "jp-ichikawa")
    _issue(capsys, d, "jp-ichikawa", "ichikawa.json", "ic1")
    assert _verify(capsys, d, "ic1", "tl1.cbor", T0)[0] == 0

    # The operator rotates its root; a handheld pinned to v1 follows the chain in the next list.
    code, out, err = run(capsys, "trust", "rotate-root", "--keystore", str(d / "ops"), "--at", T1, "--json")
    assert code == 0, err and json.loads(out)["root_version"] == 2
    _publish(capsys, d, "tl2.cbor", T1)
    assert _verify(capsys, d, "ic1", "tl2.cbor", T1)[0] == 0
    from edl.pins import Pins

    assert [r.version for r in Pins(d / "home").lineages()[0].roots] == [1, 2]  # v2 learned from the pin

    # The city renews its root: the update is accepted (cross-signed), old licences keep verifying.
    code, _, err = run(
        capsys, "city", "renew-root", "jp-ichikawa", "--keystore", str(d / "cities"), "--at", T1
    )
    assert code == 0, err
    assert (
        run(capsys, "city", "rotate-signer", "jp-ichikawa", "--keystore", str(d / "cities"), "--at", T1)[0]
        == 0
    )
    _publish(capsys, d, "tl3.cbor", T2, "jp-ichikawa")
    _issue(capsys, d, "jp-ichikawa", "ichikawa.json", "ic2", at=T2)
    assert _verify(capsys, d, "ic1", "tl3.cbor", T2)[0] == 0
    assert _verify(capsys, d, "ic2", "tl3.cbor", T2)[0] == 0

    # An attacker's fresh "jp-ichikawa" (a new root, no cross-certificate) is refused by trust add.
    _city_init(capsys, d / "evil", "jp-ichikawa", "Ichikawa", "JP", T2)
    assert (
        run(
            capsys,
            "city",
            "export",
            "jp-ichikawa",
            "--keystore",
            str(d / "evil"),
            "--out",
            str(d / "evil.export"),
        )[0]
        == 0
    )
    code, _, err = run(capsys, "trust", "add", str(d / "evil.export"), "--keystore", str(d / "ops"))
    assert code == 1 and "city_root_unlinked" in err

    # check: nothing expires within 30 days right after publishing; the DS expires within 400.
    code, out, _ = run(capsys, "trust", "check", "--keystore", str(d / "ops"), "--at", T2, "--json")
    assert code == 0 and json.loads(out)["findings"] == []
    code, out, _ = run(
        capsys, "trust", "check", "--keystore", str(d / "cities"), "--at", T2, "--days", "400", "--json"
    )
    assert code == 3 and any("document signer" in f["what"] for f in json.loads(out)["findings"])


def test_threshold_co_signing_and_dry_run(env, capsys):
    d = env
    assert (
        run(
            capsys,
            "trust",
            "init",
            "--name",
            "OPS",
            "--keystore",
            str(d / "ops"),
            "--keys",
            "3",
            "--threshold",
            "3",
            "--at",
            T0,
        )[0]
        == 0
    )
    # dry-run changes nothing
    code, out, _ = run(
        capsys,
        "trust",
        "publish",
        "--keystore",
        str(d / "ops"),
        "--out",
        str(d / "x.cbor"),
        "--at",
        T0,
        "--dry-run",
    )
    assert code == 0 and "(dry run)" in out and not (d / "x.cbor").exists()
    code, out, _ = run(
        capsys,
        "trust",
        "publish",
        "--keystore",
        str(d / "ops"),
        "--out",
        str(d / "tl.cbor"),
        "--at",
        T0,
        "--json",
    )
    assert json.loads(out)["signed"] == 3
    # A list with only one signature (3 required) is refused; co-signing fixes it.
    from edl import cose

    signed = cose.decode_sign((d / "tl.cbor").read_bytes())
    one = cose.CoseSign(
        signed.protected_bytes, signed.protected, signed.unprotected, signed.payload, signed.signatures[:1]
    ).to_bytes()
    (d / "one.cbor").write_bytes(one)
    code, out, _ = run(capsys, "trust", "show", str(d / "one.cbor"), "--at", T0)
    assert code == 1 and "signed by 1/3" in out
    code, out, _ = run(
        capsys, "trust", "sign", str(d / "one.cbor"), "--keystore", str(d / "ops"), "--at", T0, "--json"
    )
    assert code == 0 and json.loads(out)["signed"] == 3 and len(json.loads(out)["added"]) == 2
    assert run(capsys, "trust", "show", str(d / "one.cbor"), "--at", T0)[0] == 0


def test_no_pinned_root_is_refused_clearly(env, capsys, tmp_path, monkeypatch):
    d = env
    assert run(capsys, "trust", "init", "--name", "OPS", "--keystore", str(d / "ops"), "--at", T0)[0] == 0
    _city_init(capsys, d / "cities", "cn-qingdao", "Qingdao", "CN", T0)
    _publish(capsys, d, "tl.cbor", T0, "cn-qingdao")
    _issue(capsys, d, "cn-qingdao", "qingdao.json", "qd")
    monkeypatch.setenv("EDL_HOME", str(tmp_path / "empty-home"))
    code, _, err = _verify(capsys, d, "qd", "tl.cbor", T0)
    assert code == 2 and "edl trust pin" in err
    # --trust-root pins explicitly for one run.
    root_file = d / "ops" / "trust" / "roots" / "v1.root.cbor"
    code, res, err = _verify(capsys, d, "qd", "tl.cbor", T0, "--trust-root", str(root_file))
    assert code == 0, err
    # ...and `edl trust pin` pins it for good.
    assert run(capsys, "trust", "pin", str(root_file))[0] == 0
    assert _verify(capsys, d, "qd", "tl.cbor", T0)[0] == 0


def test_keystore_without_passphrase_exits_2(env, capsys, monkeypatch):
    monkeypatch.delenv("EDL_KEYSTORE_PASSPHRASE")
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    code, _, err = run(
        capsys,
        "city",
        "init",
        "cn-qingdao",
        "--name",
        "Qingdao",
        "--country",
        "CN",
        "--keystore",
        str(env / "cities"),
    )
    assert code == 2 and "EDL_KEYSTORE_PASSPHRASE" in err


def test_no_private_key_material_in_public_state(env, capsys):
    d = env
    _city_init(capsys, d / "cities", "cn-qingdao", "Qingdao", "CN", T0)
    for p in (d / "cities" / "cities").rglob("*"):
        if p.is_file():
            assert b"PRIVATE KEY" not in p.read_bytes(), p
    for p in (d / "cities" / "keys").glob("*.key.pem"):
        assert b"ENCRYPTED PRIVATE KEY" in p.read_bytes()
        assert p.stat().st_mode & 0o777 == 0o600


def test_import_the_real_aamva_vical_as_a_source_of_roots(env, capsys):
    """AAMVA's VICAL (valid 2025-11-18T18:38Z .. 2025-11-19T18:38Z) becomes listed US authorities."""
    from edltest import VECTORS

    d = env
    at = "2025-11-19T00:00:00Z"
    vical = VECTORS / "vical"
    assert run(capsys, "trust", "init", "--name", "OPS", "--keystore", str(d / "ops"), "--at", at)[0] == 0
    code, out, err = run(
        capsys,
        "trust",
        "add",
        str(vical / "aamva-vical-2025-11-18-1763491092481.cbor"),
        "--vical-root",
        str(vical / "aamva_ca_root.crt"),
        "--keystore",
        str(d / "ops"),
        "--at",
        at,
        "--json",
    )
    assert code == 0, err
    imported = json.loads(out)["imported"]
    assert len(imported) == 9 and {e["country"] for e in imported} == {"US"}
    assert sum(e["roots"] for e in imported) == 14
    code, out, err = run(
        capsys,
        "trust",
        "publish",
        "--keystore",
        str(d / "ops"),
        "--out",
        str(d / "us.cbor"),
        "--at",
        at,
        "--json",
    )
    assert code == 0, err
    assert len(json.loads(out)["cities"]) == 9
    code, out, _ = run(capsys, "trust", "show", str(d / "us.cbor"), "--at", at, "--json")
    assert code == 0 and json.loads(out)["verified"] is True
    # Outside the VICAL's own window the import is refused as expired.
    code, _, err = run(
        capsys,
        "trust",
        "add",
        str(vical / "aamva-vical-2025-11-18-1763491092481.cbor"),
        "--vical-root",
        str(vical / "aamva_ca_root.crt"),
        "--keystore",
        str(d / "ops"),
        "--at",
        "2026-11-25T00:00:00Z",
    )
    assert code == 1 and "trust_expired" in err


def test_pkcs11_city_keys_on_softhsm(env, capsys, softhsm, monkeypatch):
    """A city whose root and signer keys live on a (SoftHSM2) token issues licences that verify."""
    module = softhsm.module
    monkeypatch.setenv("EDL_PKCS11_PIN", "4321")
    d = env
    code, _, err = run(
        capsys,
        "city",
        "init",
        "cn-qingdao",
        "--name",
        "Qingdao",
        "--country",
        "CN",
        "--keystore",
        str(d / "hsm-city"),
        "--pkcs11-module",
        module,
        "--pkcs11-token",
        "city-hsm",
        "--at",
        T0,
    )
    assert code == 0, err
    assert not (d / "hsm-city" / "keys").exists()  # no key files: the keys are on the token
    assert run(capsys, "trust", "init", "--name", "OPS", "--keystore", str(d / "ops"), "--at", T0)[0] == 0
    code, _, err = run(
        capsys,
        "city",
        "export",
        "cn-qingdao",
        "--keystore",
        str(d / "hsm-city"),
        "--out",
        str(d / "qd.export"),
        "--at",
        T0,
    )
    assert code == 0, err
    assert run(capsys, "trust", "add", str(d / "qd.export"), "--keystore", str(d / "ops"))[0] == 0
    assert (
        run(
            capsys, "trust", "publish", "--keystore", str(d / "ops"), "--out", str(d / "tl.cbor"), "--at", T0
        )[0]
        == 0
    )
    code, _, err = run(
        capsys,
        "mdoc",
        "issue",
        "--licence",
        str(d / "qingdao.json"),
        "--city",
        "cn-qingdao",
        "--keystore",
        str(d / "hsm-city"),
        "--device-key",
        str(d / "device.pub.pem"),
        "--no-status",
        "--at",
        T0,
        "--out",
        str(d / "hsm"),
    )
    assert code == 0, err
    # The status signer's key is on the token too: it signs the city's status list.
    status = (
        "status",
        "publish",
        "cn-qingdao",
        "--keystore",
        str(d / "hsm-city"),
        "--out",
        str(d / "hsm-s.cbor"),
    )
    assert run(capsys, *status, "--at", T0)[0] == 0
    code, _, err = run(
        capsys, "status", "show", str(d / "hsm-s.cbor"), "--trust-list", str(d / "tl.cbor"), "--at", T0
    )
    assert code == 0, err
    assert (
        run(
            capsys,
            "mdoc",
            "respond",
            str(d / "hsm"),
            "--device-key",
            str(d / "device.key.pem"),
            "--transcript",
            str(d / "st.cbor"),
            "--out",
            str(d / "hsm.dr"),
        )[0]
        == 0
    )
    code, res, err = _verify(capsys, d, "hsm", "tl.cbor", T0)
    assert code == 0, (err, res)

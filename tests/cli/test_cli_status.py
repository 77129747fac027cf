"""Revocation through the CLI, as an office and a handheld run it (issue #10): city init with a
status signer, issue (the status fields in --json), status publish, bundle build, verify
--bundle green, revoke, publish, bundle update, verify red, suspend / reinstate, an older bundle
refused, a list of a city no trust list knows refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from edltest import licence_json
from edltest import run_cli as run

T0 = "2026-06-01T08:00:00Z"
T1 = "2026-06-01T09:00:00Z"
T2 = "2026-06-01T10:00:00Z"
T3 = "2026-06-01T11:00:00Z"


def _phone(d: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    (d / "phone.key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    (d / "phone.pub.pem").write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def ok(capsys, *argv: str) -> str:
    code, out, err = run(capsys, *argv)
    assert code == 0, (argv, out, err)
    return out


@pytest.fixture
def office(tmp_path, capsys, monkeypatch) -> Path:
    d = tmp_path
    monkeypatch.setenv("EDL_KEYSTORE_PASSPHRASE", "a long passphrase")
    monkeypatch.setenv("EDL_HOME", str(d / "home"))
    ks, ops = str(d / "city"), str(d / "ops")
    ok(capsys, "trust", "init", "--name", "OPS", "--keystore", ops, "--at", T0)
    out = ok(capsys, "city", "init", "cn-qingdao", "--name", "Qingdao", "--country", "CN",
             "--capacity", "1000", "--keystore", ks, "--at", T0, "--json")  # fmt: skip
    st = json.loads(out)
    assert st["capacity"] == 1000 and [s["status"] for s in st["status_signers"]] == ["current"]
    ok(capsys, "city", "export", "cn-qingdao", "--keystore", ks, "--out", str(d / "qd.export"), "--at", T0)
    ok(capsys, "trust", "add", str(d / "qd.export"), "--keystore", ops)
    ok(capsys, "trust", "publish", "--keystore", ops, "--out", str(d / "tl.cbor"), "--at", T0)
    (d / "licence.json").write_text(json.dumps(licence_json()))
    _phone(d)
    return d


def _frames(capsys, d: Path, cred: str, name: str, at: str) -> list[str]:
    ok(capsys, "wallet", "qr", str(d / cred), "--device-key", str(d / "phone.key.pem"),
       "--out", str(d / name), "--at", at)  # fmt: skip
    return sorted(str(p) for p in (d / name).glob("*.png"))


def test_revocation_end_to_end(office, capsys):
    d = office
    ks = str(d / "city")
    root = ("--trust-root", str(d / "ops" / "trust" / "roots" / "v1.root.cbor"))
    issue = ("issue", "--city", "cn-qingdao", "--keystore", ks, "--licence", str(d / "licence.json"),
             "--device-key", str(d / "phone.pub.pem"), "--at", T0, "--json")  # fmt: skip
    first = json.loads(ok(capsys, *issue, "--out", str(d / "cred")))
    assert first["status_list"] == 1 and 0 <= first["status_idx"] < 1500
    assert first["status_uri"] == "urn:edl:status:cn-qingdao:1" and first["status_idx_kept"] is False
    # a renewal (the same document number) keeps its index
    again = json.loads(ok(capsys, *issue, "--out", str(d / "cred-renewed")))
    assert (again["status_list"], again["status_idx"], again["status_idx_kept"]) == (
        1,
        first["status_idx"],
        True,
    )

    # publish, build the bundle; the licence verifies green with --bundle, amber with --trust-list alone
    pub = json.loads(ok(capsys, "status", "publish", "cn-qingdao", "--keystore", ks,
                        "--out", str(d / "s1.cbor"), "--at", T0, "--json"))  # fmt: skip
    assert pub["lists"][0]["sequence"] == 1 and pub["lists"][0]["revoked"] == 0
    shown = json.loads(ok(capsys, "status", "show", str(d / "s1.cbor"), "--trust-list", str(d / "tl.cbor"),
                          *root, "--at", T0, "--json"))  # fmt: skip
    assert (
        shown["verified"] is True and shown["uri"] == "urn:edl:status:cn-qingdao:1" and shown["size"] == 1500
    )
    (d / "status").mkdir()
    (d / "status" / "any-name.bin").write_bytes((d / "s1.cbor").read_bytes())
    ok(capsys, "bundle", "build", "--trust-list", str(d / "tl.cbor"), "--status", str(d / "status"),
       "--out", str(d / "b1.cbor"))  # fmt: skip
    described = json.loads(ok(capsys, "bundle", "show", str(d / "b1.cbor"), *root, "--at", T0, "--json"))
    assert described["verified"] and described["status_lists"][0]["sequence"] == 1
    frames = _frames(capsys, d, "cred", "f0", T0)
    code, out, err = run(
        capsys, "verify", *frames, "--trust-list", str(d / "tl.cbor"), *root, "--at", T0, "--json"
    )
    assert code == 3 and "status_missing" in out, err
    code, out, err = run(capsys, "verify", *frames, "--bundle", str(d / "b1.cbor"), *root, "--at", T0)
    assert code == 0, (out, err)
    code, _, err = run(capsys, "verify", *frames, "--bundle", str(d / "b1.cbor"), "--trust-list",
                       str(d / "tl.cbor"), *root, "--at", T0)  # fmt: skip
    assert code == 2 and "exactly one" in err

    # the mdoc path: mdoc issue --city fills the MSO's status; verify --bundle green
    ok(capsys, "mdoc", "issue", "--city", "cn-qingdao", "--keystore", ks,
       "--licence", str(d / "licence.json"),
       "--device-key", str(d / "phone.pub.pem"), "--out", str(d / "is.cbor"), "--at", T0)  # fmt: skip
    code, out, err = run(capsys, "mdoc", "verify", str(d / "is.cbor"), "--issuer-only", "--bundle",
                         str(d / "b1.cbor"), *root, "--at", T0, "--json")  # fmt: skip
    assert code == 3 and '"holder_unchecked"' in out and "status_missing" not in out, (out, err)

    # revoke by document number, publish, update the bundle: red
    out = ok(capsys, "status", "revoke", "cn-qingdao", "--licence", "QD-0001", "--keystore", ks,
             "--reason", "court order", "--at", T1)  # fmt: skip
    assert "REVOKED" in out
    log = (d / "city" / "cities" / "cn-qingdao" / "status" / "log.jsonl").read_text().splitlines()
    assert (
        json.loads(log[-1])["reason"] == "court order" and json.loads(log[-1])["document_number"] == "QD-0001"
    )
    ok(capsys, "status", "publish", "cn-qingdao", "--keystore", ks, "--out", str(d / "s2.cbor"), "--at", T1)
    ok(
        capsys,
        "bundle",
        "update",
        str(d / "b1.cbor"),
        "--status",
        str(d / "s2.cbor"),
        "--out",
        str(d / "b2.cbor"),
    )
    frames = _frames(capsys, d, "cred", "f1", T1)
    code, out, err = run(
        capsys, "verify", *frames, "--bundle", str(d / "b2.cbor"), *root, "--at", T1, "--json"
    )
    assert code == 1 and '"revoked"' in out, (out, err)
    # a revocation is final
    code, _, err = run(
        capsys, "status", "reinstate", "cn-qingdao", str(first["status_idx"]), "--keystore", ks
    )
    assert code == 2 and "final" in err
    code, _, err = run(capsys, "status", "suspend", "cn-qingdao", "--licence", "QD-0001", "--keystore", ks)
    assert code == 2 and "final" in err
    # ... and a revoked licence is not renewed under its number
    code, _, err = run(capsys, *issue, "--out", str(d / "cred-renewed-again"))
    assert code == 2 and "new document number" in err and not (d / "cred-renewed-again").exists()

    # suspend and reinstate another licence
    lj = licence_json()
    lj["document_number"] = "QD-0002"
    (d / "licence2.json").write_text(json.dumps(lj))
    second = json.loads(ok(capsys, "issue", "--city", "cn-qingdao", "--keystore", ks, "--licence",
                           str(d / "licence2.json"), "--device-key", str(d / "phone.pub.pem"),
                           "--out", str(d / "cred2"), "--at", T1, "--json"))  # fmt: skip
    assert second["status_idx"] != first["status_idx"]
    out = ok(capsys, "status", "suspend", "cn-qingdao", str(second["status_idx"]), "--keystore", ks, "--json")
    assert json.loads(out)["after"] == "suspended"
    ok(capsys, "status", "publish", "cn-qingdao", "--keystore", ks, "--out", str(d / "s3.cbor"), "--at", T2)
    ok(
        capsys,
        "bundle",
        "update",
        str(d / "b2.cbor"),
        "--status",
        str(d / "s3.cbor"),
        "--out",
        str(d / "b3.cbor"),
    )
    frames2 = _frames(capsys, d, "cred2", "f2", T2)
    code, out, err = run(
        capsys, "verify", *frames2, "--bundle", str(d / "b3.cbor"), *root, "--at", T2, "--json"
    )
    assert code == 1 and '"suspended"' in out, (out, err)
    out = ok(capsys, "status", "reinstate", "cn-qingdao", "--licence", "QD-0002", "--keystore", ks, "--json")
    assert json.loads(out)["after"] == "valid"
    ok(capsys, "status", "publish", "cn-qingdao", "--keystore", ks, "--out", str(d / "s4.cbor"), "--at", T3)
    ok(
        capsys,
        "bundle",
        "update",
        str(d / "b3.cbor"),
        "--status",
        str(d / "s4.cbor"),
        "--out",
        str(d / "b4.cbor"),
    )
    frames2 = _frames(capsys, d, "cred2", "f3", T3)
    code, out, err = run(capsys, "verify", *frames2, "--bundle", str(d / "b4.cbor"), *root, "--at", T3)
    assert code == 0, (out, err)
    shown = json.loads(ok(capsys, "status", "show", str(d / "s4.cbor"), "--json"))
    assert (shown["sequence"], shown["revoked"], shown["suspended"], shown["verified"]) == (4, 1, 0, None)

    # the handheld holds list #4 now: an older bundle is refused
    code, _, err = run(capsys, "verify", *frames2, "--bundle", str(d / "b2.cbor"), *root, "--at", T3)
    assert code == 1 and "status_rollback" in err
    # bundle update refuses an older list too
    code, _, err = run(capsys, "bundle", "update", str(d / "b4.cbor"), "--status", str(d / "s2.cbor"))
    assert code == 1 and "status_rollback" in err


def test_a_status_list_of_a_city_no_trust_list_knows_is_refused(office, capsys):
    d = office
    other = str(d / "other")
    ok(
        capsys,
        "city",
        "init",
        "jp-ichikawa",
        "--name",
        "Ichikawa",
        "--country",
        "JP",
        "--keystore",
        other,
        "--at",
        T0,
    )
    ok(
        capsys,
        "status",
        "publish",
        "jp-ichikawa",
        "--keystore",
        other,
        "--out",
        str(d / "jp.cbor"),
        "--at",
        T0,
    )
    code, _, err = run(capsys, "bundle", "build", "--trust-list", str(d / "tl.cbor"),
                       "--status", str(d / "jp.cbor"),
                       "--out", str(d / "b.cbor"))  # fmt: skip
    assert code == 1 and "bundle_unknown_city" in err and not (d / "b.cbor").exists()
    # nor does its list verify against this trust list
    root = str(d / "ops" / "trust" / "roots" / "v1.root.cbor")
    code, _, err = run(capsys, "status", "show", str(d / "jp.cbor"), "--trust-list", str(d / "tl.cbor"),
                       "--trust-root", root, "--at", T0)  # fmt: skip
    assert code == 1 and "status_untrusted" in err
    code, _, err = run(capsys, "bundle", "build", "--trust-list", str(d / "tl.cbor"), "--status",
                       str(d / "missing"), "--out", str(d / "b.cbor"))  # fmt: skip
    assert code == 2


def test_an_old_key_store_gains_a_status_signer_with_one_command(office, capsys):
    d = office
    ks = d / "city"
    city_json = ks / "cities" / "cn-qingdao" / "city.json"
    old = json.loads(city_json.read_text())
    for field in ("status_signers", "capacity"):
        old.pop(field)
    city_json.write_text(json.dumps(old))  # as edl wrote it before issue #10
    code, _, err = run(
        capsys, "status", "publish", "cn-qingdao", "--keystore", str(ks), "--out", str(d / "s.cbor")
    )
    assert code == 2 and "rotate-status-signer" in err
    code, out, _ = run(capsys, "trust", "check", "--keystore", str(ks), "--at", T0, "--json")
    findings = json.loads(out)["findings"]
    assert code == 3 and any(f["do"] == "edl city rotate-status-signer cn-qingdao" for f in findings)
    out = ok(
        capsys, "city", "rotate-status-signer", "cn-qingdao", "--keystore", str(ks), "--at", T0, "--json"
    )
    assert json.loads(out)["retired"] is None
    ok(
        capsys,
        "status",
        "publish",
        "cn-qingdao",
        "--keystore",
        str(ks),
        "--out",
        str(d / "s.cbor"),
        "--at",
        T0,
    )
    out = ok(
        capsys, "city", "rotate-status-signer", "cn-qingdao", "--keystore", str(ks), "--at", T1, "--json"
    )
    assert json.loads(out)["retired"] is not None


def test_publish_refuses_a_file_for_several_lists_and_reinstating_a_valid_one_changes_nothing(office, capsys):
    d = office
    ks = str(d / "city")
    code, out, err = run(capsys, "status", "reinstate", "cn-qingdao", "7", "--keystore", ks, "--json")
    assert code == 0 and json.loads(out)["changed"] is False
    code, _, err = run(capsys, "status", "revoke", "cn-qingdao", "99999", "--keystore", ks)
    assert code == 2 and "outside" in err
    code, _, err = run(capsys, "status", "revoke", "cn-qingdao", "--keystore", ks)
    assert code == 2
    code, _, err = run(capsys, "status", "revoke", "cn-qingdao", "--licence", "NOPE", "--keystore", ks)
    assert code == 2 and "status_idx" in err


def test_a_city_past_its_first_list_publishes_one_file_per_list(tmp_path, capsys, monkeypatch):
    from edl.city import CityAdmin
    from edl.city_status import CityStatus
    from edl.keys import FileKeyStore

    d = tmp_path
    monkeypatch.setenv("EDL_KEYSTORE_PASSPHRASE", "a long passphrase")
    monkeypatch.setenv("EDL_HOME", str(d / "home"))
    ks = str(d / "city")
    ok(capsys, "trust", "init", "--name", "OPS", "--keystore", str(d / "ops"), "--at", T0)
    ok(capsys, "city", "init", "cn-qingdao", "--name", "Qingdao", "--country", "CN", "--capacity", "10",
       "--keystore", ks, "--at", T0)  # fmt: skip
    ok(capsys, "city", "export", "cn-qingdao", "--keystore", ks, "--out", str(d / "qd.export"), "--at", T0)
    ok(capsys, "trust", "add", str(d / "qd.export"), "--keystore", str(d / "ops"))
    ok(capsys, "trust", "publish", "--keystore", str(d / "ops"), "--out", str(d / "tl.cbor"), "--at", T0)
    cs = CityStatus(CityAdmin(d / "city", FileKeyStore(d / "city" / "keys", b"a long passphrase")))
    places = [
        cs.allocate("cn-qingdao", f"QD-{n}")[:2] for n in range(17)
    ]  # lists of 16: the 17th is in list 2
    assert [p[0] for p in places] == [1] * 16 + [2] and len({p[1] for p in places[:16]}) == 16
    publish = ("status", "publish", "cn-qingdao", "--keystore", ks, "--at", T0)
    code, _, err = run(capsys, *publish, "--out", str(d / "one.cbor"))
    assert code == 2 and "--list" in err and not (d / "one.cbor").exists()
    out = json.loads(ok(capsys, *publish, "--out", str(d / "two.cbor"), "--list", "2", "--json"))
    assert [x["uri"] for x in out["lists"]] == ["urn:edl:status:cn-qingdao:2"]
    ok(capsys, "status", "revoke", "cn-qingdao", str(places[16][1]), "--list", "2", "--keystore", ks)
    out = json.loads(ok(capsys, *publish, "--out", str(d / "lists") + "/", "--json"))
    assert [(x["status_list"], x["sequence"], x["revoked"]) for x in out["lists"]] == [(1, 1, 0), (2, 2, 1)]
    assert sorted(p.name for p in (d / "lists").iterdir()) == [
        "cn-qingdao-1.status.cbor",
        "cn-qingdao-2.status.cbor",
    ]
    ok(capsys, "bundle", "build", "--trust-list", str(d / "tl.cbor"), "--status", str(d / "lists"),
       "--out", str(d / "b.cbor"))  # fmt: skip
    root = str(d / "ops" / "trust" / "roots" / "v1.root.cbor")
    shown = json.loads(
        ok(capsys, "bundle", "show", str(d / "b.cbor"), "--trust-root", root, "--at", T0, "--json")
    )
    assert [(s["uri"], s["revoked"]) for s in shown["status_lists"]] == [
        ("urn:edl:status:cn-qingdao:1", 0),
        ("urn:edl:status:cn-qingdao:2", 1),
    ]


def test_a_compromised_status_signer_is_revoked_through_the_trust_list(office, capsys):
    d = office
    ks, ops = str(d / "city"), str(d / "ops")
    root = ("--trust-root", str(d / "ops" / "trust" / "roots" / "v1.root.cbor"))
    ok(capsys, "issue", "--city", "cn-qingdao", "--keystore", ks, "--licence", str(d / "licence.json"),
       "--device-key", str(d / "phone.pub.pem"), "--out", str(d / "cred"), "--at", T0)  # fmt: skip
    ok(capsys, "status", "publish", "cn-qingdao", "--keystore", ks, "--out", str(d / "s1.cbor"), "--at", T0)
    city = json.loads((d / "city" / "cities" / "cn-qingdao" / "city.json").read_text())
    kid = city["status_signers"][0]["kid"]
    ok(capsys, "city", "revoke-signer", "cn-qingdao", kid, "--keystore", ks)
    ok(capsys, "city", "export", "cn-qingdao", "--keystore", ks, "--out", str(d / "qd2.export"), "--at", T1)
    ok(capsys, "trust", "add", str(d / "qd2.export"), "--keystore", ops)
    ok(capsys, "trust", "publish", "--keystore", ops, "--out", str(d / "tl2.cbor"), "--at", T1)
    ok(capsys, "bundle", "build", "--trust-list", str(d / "tl2.cbor"), "--status", str(d / "s1.cbor"),
       "--out", str(d / "b-old.cbor"))  # fmt: skip
    frames = _frames(capsys, d, "cred", "f", T1)
    code, _, err = run(capsys, "verify", *frames, "--bundle", str(d / "b-old.cbor"), *root, "--at", T1)
    assert code == 1 and "status_signer_revoked" in err
    # no list can be signed until the next status signer
    code, _, err = run(
        capsys, "status", "publish", "cn-qingdao", "--keystore", ks, "--out", str(d / "x.cbor")
    )
    assert code == 2 and "rotate-status-signer" in err
    ok(capsys, "city", "rotate-status-signer", "cn-qingdao", "--keystore", ks, "--at", T1)
    ok(capsys, "status", "publish", "cn-qingdao", "--keystore", ks, "--out", str(d / "s2.cbor"), "--at", T1)
    ok(
        capsys,
        "bundle",
        "update",
        str(d / "b-old.cbor"),
        "--status",
        str(d / "s2.cbor"),
        "--out",
        str(d / "b.cbor"),
    )
    code, out, err = run(capsys, "verify", *frames, "--bundle", str(d / "b.cbor"), *root, "--at", T1)
    assert code == 0, (out, err)

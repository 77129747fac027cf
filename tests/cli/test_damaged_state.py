"""A damaged key store state file (city.json, operator.json, keystore.json) is one line and exit 2
naming the file and the fix, never a traceback or the 'internal error' exit 70."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edltest import run_cli

T0 = "2026-06-01T08:00:00Z"


@pytest.fixture
def store(tmp_path: Path, monkeypatch, capsys) -> Path:
    monkeypatch.setenv("EDL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("EDL_KEYSTORE_PASSPHRASE", "correct horse battery staple")
    ks = tmp_path / "ks"
    code, _, err = run_cli(
        capsys, "city", "init", "cn-qingdao", "--name", "Qingdao", "--country", "CN",
        "--keystore", str(ks), "--at", T0,
    )  # fmt: skip
    assert code == 0, err
    code, _, err = run_cli(capsys, "trust", "init", "--name", "OPS", "--keystore", str(ks), "--at", T0)
    assert code == 0, err
    return ks


def _city_json(ks: Path) -> Path:
    return ks / "cities" / "cn-qingdao" / "city.json"


def _damage(value):
    return lambda path: path.write_text(json.dumps(value))


CITY_DAMAGE = {
    "not-json": lambda p: p.write_bytes(b"\xff{"),
    "a-list": _damage([]),
    "no-roots": lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "roots": []})),
    "root-file-is-a-path": lambda p: p.write_text(
        json.dumps(
            {
                **json.loads(p.read_text()),
                "roots": [{"n": 1, "file": "../../etc/passwd", "key": "k", "status": "current"}],
            }
        )
    ),
    "signer-without-status": lambda p: p.write_text(
        json.dumps(
            {**json.loads(p.read_text()), "signers": [{"kid": "00", "file": "x.pem", "key": "k", "root": 1}]}
        )
    ),
    "huge-number": lambda p: p.write_text(p.read_text().replace('"n": 1', '"n": ' + "9" * 5000)),
    # a name the key store refuses (found by fuzz_files: it escaped as exit 70)
    "root-key-not-a-key-name": lambda p: p.write_text(
        json.dumps(
            {
                **json.loads(p.read_text()),
                "roots": [
                    {**json.loads(p.read_text())["roots"][0], "key": "2024-01-01T00:00:00"},
                ],
            }
        )
    ),
    "a-folder": lambda p: (p.unlink(), p.mkdir()),
}


@pytest.mark.parametrize("damage", list(CITY_DAMAGE), ids=list(CITY_DAMAGE))
def test_damaged_city_json_exits_2_with_one_line(store, capsys, damage):
    CITY_DAMAGE[damage](_city_json(store))
    code, out, err = run_cli(capsys, "city", "export", "cn-qingdao", "--keystore", str(store), "--out", "-")
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "city.json" in err and "restore it from a backup" in err


OPERATOR_DAMAGE = {
    "not-json": lambda p: p.write_text("{"),
    "threshold-above-keys": lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "threshold": 9})),
    "name-not-text": lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "name": 5})),
    "key-not-a-key-name": lambda p: p.write_text(
        json.dumps({**json.loads(p.read_text()), "keys": ["../outside"], "threshold": 1})
    ),
}


@pytest.mark.parametrize("damage", list(OPERATOR_DAMAGE), ids=list(OPERATOR_DAMAGE))
def test_damaged_operator_json_exits_2_with_one_line(store, capsys, tmp_path, damage):
    path = store / "trust" / "operator.json"
    OPERATOR_DAMAGE[damage](path)
    code, _, err = run_cli(
        capsys, "trust", "publish", "--keystore", str(store), "--out", str(tmp_path / "l.cbor")
    )
    assert code == 2, err
    assert "Traceback" not in err and "operator.json" in err and "restore it from a backup" in err


@pytest.mark.parametrize(
    "content", [b"[1]", b'{"backend": "pkcs11"}', b"\x00\x01"], ids=["list", "no-module", "binary"]
)
def test_damaged_keystore_json_exits_2_with_one_line(store, capsys, tmp_path, content):
    (store / "keystore.json").write_bytes(content)
    code, _, err = run_cli(
        capsys, "trust", "publish", "--keystore", str(store), "--out", str(tmp_path / "l.cbor")
    )
    assert code == 2, err
    assert "Traceback" not in err and "keystore.json" in err


def test_a_ds_certificate_whose_key_is_damaged_exits_2_not_70(store, capsys, tmp_path):
    # Found by fuzz_files: a PEM that parses lazily but whose public key does not (cryptography's
    # "Invalid key" ValueError surfaced inside issuing, as the CLI's internal error).
    import base64

    from cryptography import x509

    city_dir = store / "cities" / "cn-qingdao"
    (pem,) = sorted(city_dir.glob("ds-*.pem"))
    der = x509.load_pem_x509_certificate(pem.read_bytes()).public_bytes(
        __import__("cryptography.hazmat.primitives.serialization", fromlist=["Encoding"]).Encoding.DER
    )
    point = der.index(b"\x03\x42\x00\x04") + 4  # the uncompressed P-256 point of the DS key
    bad = der[: point + 5] + bytes([der[point + 5] ^ 0x01]) + der[point + 6 :]  # off the curve
    pem.write_bytes(
        b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(bad) + b"-----END CERTIFICATE-----\n"
    )
    licence = tmp_path / "licence.json"
    from edltest import licence_json

    licence.write_text(json.dumps(licence_json()))
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    phone = tmp_path / "phone.pem"
    phone.write_bytes(
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    code, _, err = run_cli(
        capsys, "issue", "--city", "cn-qingdao", "--keystore", str(store), "--licence", str(licence),
        "--device-key", str(phone), "--out", str(tmp_path / "cred"), "--at", T0,
    )  # fmt: skip
    assert code == 2, err
    assert "internal error" not in err and pem.name in err and "restore it from a backup" in err


def _status_damage(name: str, data: bytes):
    return lambda status: (status / name).write_bytes(data)


STATUS_DAMAGE = {
    "city-json-status-signers-not-a-list": lambda status: _city_json(status.parents[2]).write_text(
        json.dumps({**json.loads(_city_json(status.parents[2]).read_text()), "status_signers": {}})
    ),
    "city-json-capacity-zero": lambda status: _city_json(status.parents[2]).write_text(
        json.dumps({**json.loads(_city_json(status.parents[2]).read_text()), "capacity": 0})
    ),
    "state-not-json": _status_damage("state.json", b"\xff{"),
    "state-wrong-shape": _status_damage("state.json", b'{"version": 1, "sequences": [], "licences": {}}'),
    "state-bad-licence": _status_damage(
        "state.json", b'{"version": 1, "sequences": {}, "licences": {"QD-1": [1]}}'
    ),
    "bits-wrong-size": _status_damage("list-1.bits", b"\x00" * 7),
    "index-not-json": _status_damage("index.json", b"{"),
}


@pytest.mark.parametrize("damage", list(STATUS_DAMAGE), ids=list(STATUS_DAMAGE))
def test_damaged_status_state_exits_2_with_one_line(store, capsys, damage):
    # a licence with an index, a revocation and a publish: every status file exists
    status = store / "cities" / "cn-qingdao" / "status"
    code, _, err = run_cli(capsys, "status", "revoke", "cn-qingdao", "3", "--keystore", str(store))
    assert code == 0, err
    from edl.city import CityAdmin
    from edl.city_status import CityStatus
    from edl.keys import FileKeyStore

    CityStatus(CityAdmin(store, FileKeyStore(store / "keys", b"correct horse battery staple"))).allocate(
        "cn-qingdao", "QD-1"
    )
    STATUS_DAMAGE[damage](status)
    for argv in (
        (
            "status",
            "publish",
            "cn-qingdao",
            "--keystore",
            str(store),
            "--out",
            str(store / "s.cbor"),
            "--at",
            T0,
        ),
        ("status", "revoke", "cn-qingdao", "4", "--keystore", str(store)),
    ):
        code, out, err = run_cli(capsys, *argv)
        assert code == 2, (argv, out, err)
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1
        assert "restore it from a backup" in err, err

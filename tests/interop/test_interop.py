"""Interop, both ways, with two other mdoc implementations (installed by scripts/setup-interop.sh):
pymdoccbor 1.4.0 (Python, own venv) and @auth0/mdl 3.0.1 (node). See tests/interop/README.md.

pymdoccbor checks neither device authentication nor validity dates, and has been seen to
return False silently in some set-ups, so every positive result here is paired with a
negative control that the same peer must reject."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from edl import cbor
from edl.cose import KeySigner
from edl.issue import issue_mdoc
from edl.mdoc import SessionTranscript
from edl.model import Licence
from edl.verify import CheckStatus, Verdict, verify_device_response
from edl.wallet import respond
from edltest import NOW, licence_json, make_city

pytestmark = [pytest.mark.interop, pytest.mark.slow]

HERE = Path(__file__).parent
AT = "2026-06-01T08:00:00Z"
PYMDOC = [sys.executable, str(HERE / "peers" / "pymdoc_peer.py")]
AUTH0 = ["node", str(HERE / "peers" / "auth0_peer.mjs")]
PEERS = {"pymdoccbor": PYMDOC, "auth0": AUTH0}


def _available(name: str) -> bool:
    if name == "pymdoccbor":
        return (HERE / ".venv-pymdoccbor" / "bin" / "python").exists()
    return shutil.which("node") is not None and (HERE / "node" / "node_modules" / "@auth0" / "mdl").exists()


def _peer(name: str, *args: str) -> dict:
    if not _available(name):
        pytest.fail(f"interop peer {name} is not installed: run bash scripts/setup-interop.sh")
    proc = subprocess.run([*PEERS[name], *args], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, f"{name} {args[0]} failed: {proc.stderr[-2000:]}"
    return json.loads(proc.stdout)


def _pem_priv(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory, city, de_city, device_key):
    d = tmp_path_factory.mktemp("interop")
    (d / "root.pem").write_bytes(city.root.public_bytes(serialization.Encoding.PEM))
    (d / "ds.pem").write_bytes(city.ds.public_bytes(serialization.Encoding.PEM))
    (d / "ds.key.pem").write_bytes(_pem_priv(city.ds_key))
    (d / "device.key.pem").write_bytes(_pem_priv(device_key))
    (d / "device.pub.pem").write_bytes(
        device_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    transcript_bytes = cbor.encode(cbor.wrap24(cbor.encode([None, None, ["interop", b"\x01\x02\x03"]])))
    (d / "st.cbor").write_bytes(transcript_bytes)
    issued = issue_mdoc(
        Licence.from_json(licence_json()),
        device_key=device_key.public_key(),
        signer=KeySigner(city.ds_key),
        signer_certificate=city.ds,
        now=NOW,
    )
    transcript = SessionTranscript.from_bytes(transcript_bytes)
    good = respond(issued, device_key=KeySigner(device_key), transcript=transcript).to_bytes()
    (d / "edl.cbor").write_bytes(good)
    (d / "edl.tampered.cbor").write_bytes(good.replace(b"Zhang", b"Zhong", 1))
    other = respond(
        issued,
        device_key=KeySigner(device_key),
        transcript=SessionTranscript.from_bytes(cbor.encode([None, None, ["other"]])),
    ).to_bytes()
    (d / "edl.other-session.cbor").write_bytes(other)
    reader = ec.generate_private_key(ec.SECP256R1())
    (d / "reader.key.pem").write_bytes(_pem_priv(reader))
    mac = respond(
        issued, device_key=device_key, transcript=transcript, reader_key=reader.public_key()
    ).to_bytes()
    (d / "edl.mac.cbor").write_bytes(mac)
    # The peers issue a German licence (issuing_country DE): they sign with a DE city's DS.
    (d / "de.ds.pem").write_bytes(de_city.ds.public_bytes(serialization.Encoding.PEM))
    (d / "de.ds.key.pem").write_bytes(_pem_priv(de_city.ds_key))
    return d


@pytest.fixture(scope="module")
def de_city():
    return make_city("Berlin", "DE")


# --- edl -> others ----------------------------------------------------------------------------


@pytest.mark.parametrize("peer", ["pymdoccbor", "auth0"])
@pytest.mark.parametrize("trust", ["root.pem", "ds.pem"], ids=["via-root", "pinned-ds"])
def test_edl_credential_verifies_in_peer(world, peer, trust):
    out = _peer(
        peer,
        "verify",
        "--response",
        str(world / "edl.cbor"),
        "--cert",
        str(world / trust),
        "--transcript",
        str(world / "st.cbor"),
        "--at",
        AT,
    )
    assert out["valid"] is True, out["error"]
    assert out["elements"]["org.iso.18013.5.1"]["family_name"] == "Zhang"
    assert out["elements"]["org.iso.18013.5.1"]["birth_date"] == "1990-03-14"
    # Negative control: the same peer, same settings, rejects a tampered copy.
    bad = _peer(
        peer,
        "verify",
        "--response",
        str(world / "edl.tampered.cbor"),
        "--cert",
        str(world / trust),
        "--transcript",
        str(world / "st.cbor"),
        "--at",
        AT,
    )
    assert bad["valid"] is False


def test_edl_device_signature_checked_by_auth0(world):
    # auth0 checks device authentication: a response made for another session must fail there.
    out = _peer(
        "auth0",
        "verify",
        "--response",
        str(world / "edl.other-session.cbor"),
        "--cert",
        str(world / "root.pem"),
        "--transcript",
        str(world / "st.cbor"),
        "--at",
        AT,
    )
    assert out["valid"] is False
    assert "DEVICE" in out["error"].upper()


def test_edl_device_mac_verifies_in_auth0(world):
    out = _peer(
        "auth0",
        "verify",
        "--response",
        str(world / "edl.mac.cbor"),
        "--cert",
        str(world / "root.pem"),
        "--transcript",
        str(world / "st.cbor"),
        "--reader-key",
        str(world / "reader.key.pem"),
        "--at",
        AT,
    )
    assert out["valid"] is True, out["error"]


def test_auth0_checks_validity_of_edl_credential(world):
    out = _peer(
        "auth0",
        "verify",
        "--response",
        str(world / "edl.cbor"),
        "--cert",
        str(world / "root.pem"),
        "--transcript",
        str(world / "st.cbor"),
        "--at",
        "2030-01-01T00:00:00Z",
    )
    assert out["valid"] is False


# --- others -> edl ----------------------------------------------------------------------------


def _issue_with(peer: str, world: Path, name: str, *extra: str) -> bytes:
    out_file = world / name
    _peer(
        peer,
        "issue",
        "--ds-key",
        str(world / "de.ds.key.pem"),
        "--ds-cert",
        str(world / "de.ds.pem"),
        "--device-key",
        str(world / "device.pub.pem"),
        "--out",
        str(out_file),
        "--at",
        AT,
        *extra,
    )
    return out_file.read_bytes()


def test_auth0_credential_verifies_in_edl(world, de_city):
    data = _issue_with(
        "auth0",
        world,
        "auth0.cbor",
        "--device-private-key",
        str(world / "device.key.pem"),
        "--transcript",
        str(world / "st.cbor"),
        "--elements",
        "20",
    )
    result = verify_device_response(
        data, trust=[de_city.root], now=NOW, transcript=(world / "st.cbor").read_bytes()
    )
    assert result.verdict is Verdict.GREEN, [c.to_json() for c in result.failures()]
    assert result.check("device_auth").status is CheckStatus.PASSED
    els = result.documents[0].elements["org.iso.18013.5.1"]
    assert els["family_name"] == "Mustermann" and len(els) == 20
    # Negative controls: another session, or a tampered copy, are red in edl too.
    other = verify_device_response(
        data, trust=[de_city.root], now=NOW, transcript=cbor.encode([None, None, ["x"]])
    )
    assert other.check("device_auth").code == "not_holder"
    forged = verify_device_response(
        data.replace(b"Mustermann", b"Musterfrau", 1),
        trust=[de_city.root],
        now=NOW,
        transcript=(world / "st.cbor").read_bytes(),
    )
    assert forged.verdict is Verdict.RED


def test_auth0_default_output_with_undefined_kid_verifies_in_edl(world, de_city):
    data = _issue_with(
        "auth0",
        world,
        "auth0.undef.cbor",
        "--device-private-key",
        str(world / "device.key.pem"),
        "--transcript",
        str(world / "st.cbor"),
        "--undefined-kid",
    )
    result = verify_device_response(
        data, trust=[de_city.root], now=NOW, transcript=(world / "st.cbor").read_bytes()
    )
    assert result.verdict is Verdict.GREEN, [c.to_json() for c in result.failures()]


def test_pymdoccbor_credential_verifies_in_edl(world, de_city):
    data = _issue_with("pymdoccbor", world, "pymdoc.cbor")
    # pymdoccbor cannot authenticate a device: edl verifies the issuer's part and says so.
    issuer_only = verify_device_response(data, trust=[de_city.root], now=NOW, issuer_only=True)
    # Authentic issuer data, holder not checkable: amber, with nothing failed.
    assert issuer_only.verdict is Verdict.AMBER, [c.to_json() for c in issuer_only.failures()]
    assert not issuer_only.failures()
    assert issuer_only.check("device_auth").code == "holder_unchecked"
    assert issuer_only.documents[0].elements["org.iso.18013.5.1"]["given_name"] == "Erika"
    full = verify_device_response(
        data, trust=[de_city.root], now=NOW, transcript=(world / "st.cbor").read_bytes()
    )
    assert full.verdict is Verdict.RED
    # Negative control: a tampered copy.
    forged = verify_device_response(
        data.replace(b"Erika", b"Erica", 1), trust=[de_city.root], now=NOW, issuer_only=True
    )
    assert forged.verdict is Verdict.RED

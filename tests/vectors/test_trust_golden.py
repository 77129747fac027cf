"""edl's golden trust list (tests/data/golden/trust-list-2of3/) and the spec that quotes it.

The folder holds the bytes written once by scripts/make_trust_golden.py and a case.json in the
shape of the mdoc cases: ``VALIDATIONCLOCK[_suffix]`` with ``EXPECTEDRESULTS[_suffix]``, one
expectation per file (``valid``, the error ``code`` or ``ok``, the ``edl trust show`` exit code).
The files are never regenerated to make a test pass.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from edl import cbor, cose
from edl.cli import main
from edl.errors import (
    ClockTurnedBackError,
    EdlError,
    ThresholdError,
    TrustError,
    TrustListExpiredError,
    TrustListRollbackError,
)
from edl.pins import Pins
from edl.trust import TrustList, TrustRoot, verify_root, verify_trust_list
from edl.x509 import key_id
from edltest import DATA, cose_private_parts, load_script, signed_parts

CASE_DIR = DATA / "golden" / "trust-list-2of3"
ROOT = DATA.parent.parent
SPEC = ROOT / "specs" / "trust-list.md"
SCRIPT = ROOT / "scripts" / "make_trust_golden.py"
ERRORS: dict[str, type[EdlError]] = {
    "insufficient_signatures": ThresholdError,
    "trust_expired": TrustListExpiredError,
    "trust_not_yet_valid": TrustError,
}


def _case() -> dict[str, Any]:
    return json.loads((CASE_DIR / "case.json").read_text(encoding="utf-8"))


def _clocks() -> list[str]:
    return [k[len("VALIDATIONCLOCK") :] for k in _case() if k.startswith("VALIDATIONCLOCK")]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Collection time, not import time: the case is read when pytest asks.
    if "clock" in metafunc.fixturenames:
        case = _case()
        pairs = [(s, role) for s in _clocks() for role in case["EXPECTEDRESULTS" + s]]
        ids = [f"{role}{s or '_VALIDATIONCLOCK'}" for s, role in pairs]
        metafunc.parametrize(("clock", "role"), pairs, ids=ids)


def _file(role: str) -> bytes:
    return (CASE_DIR / _case()["files"][role]).read_bytes()


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _pinned() -> list[TrustRoot]:
    return [verify_root(_file("pinned_root"))]


@pytest.fixture(scope="module")
def make_trust_golden() -> Any:
    return load_script(SCRIPT)


# --- the case -------------------------------------------------------------------------------


def test_case_is_complete():
    case = _case()
    assert case["description"] and case["format"] == "edl-trust-list"
    assert {p.name for p in CASE_DIR.iterdir()} == {"case.json", *case["files"].values()}
    assert set(case["variants"]) == set(case["files"]) - {"pinned_root"}
    for suffix in _clocks():
        _at(case["VALIDATIONCLOCK" + suffix])
        expected = case["EXPECTEDRESULTS" + suffix]
        assert set(expected) == set(case["variants"]), suffix
        for want in expected.values():
            assert want["exit_code"] == (0 if want["valid"] else 1)
            assert (want["code"] == "ok") is want["valid"]
    assert {"", "_EXPIRED"} <= set(_clocks())
    assert case["EXPECTEDRESULTS"]["trust_list_one_signature"]["code"] == "insufficient_signatures"
    assert case["EXPECTEDRESULTS_EXPIRED"]["trust_list"]["code"] == "trust_expired"


def test_no_private_key_in_golden_data():
    for path in CASE_DIR.iterdir():
        data = path.read_bytes()
        assert b"PRIVATE" not in data, path.name
        if path.suffix == ".cbor":
            for part in signed_parts(data):
                assert cose_private_parts(cbor.decode(part)) == [], path.name


# --- verifying ------------------------------------------------------------------------------


def test_verify_trust_list_gives_every_expected_result(clock: str, role: str):
    case = _case()
    want = case["EXPECTEDRESULTS" + clock][role]
    now = _at(case["VALIDATIONCLOCK" + clock])
    if want["valid"]:
        verified = verify_trust_list(_file(role), _pinned(), now=now)
        assert verified.trust_list.sequence == case["trust_list"]["sequence"]
        return
    with pytest.raises(ERRORS[want["code"]]) as failure:
        verify_trust_list(_file(role), _pinned(), now=now)
    assert failure.value.code == want["code"]


def test_cli_show_exit_code(clock: str, role: str, tmp_path: Path, monkeypatch, capsys):
    case = _case()
    want = case["EXPECTEDRESULTS" + clock][role]
    monkeypatch.setenv("EDL_HOME", str(tmp_path / "home"))  # nothing pinned, nothing seen
    capsys.readouterr()
    code = main(
        [
            "trust",
            "show",
            str(CASE_DIR / case["files"][role]),
            "--trust-root",
            str(CASE_DIR / case["files"]["pinned_root"]),
            "--at",
            case["VALIDATIONCLOCK" + clock],
            "--json",
        ]
    )
    shown = json.loads(capsys.readouterr().out)
    assert (code, shown["verified"]) == (want["exit_code"], want["valid"])
    assert not (tmp_path / "home" / "state.json").exists()  # show records nothing


def test_green_list_is_what_the_case_says():
    case = _case()
    root = _pinned()[0]
    op = case["operator"]
    assert (root.name, root.version, root.threshold) == (op["name"], op["version"], op["threshold"])
    assert [k.hex() for k in sorted(root.keys)] == op["keys"]
    assert root.expires == _at(op["expires"])
    verified = verify_trust_list(_file("trust_list"), [root], now=_at(case["VALIDATIONCLOCK"]))
    tl, want = verified.trust_list, case["trust_list"]
    assert (tl.provider, tl.sequence, tl.root_version) == (
        want["provider"],
        want["sequence"],
        want["rootVersion"],
    )
    assert (tl.issued, tl.next_update, tl.expires) == tuple(
        _at(want[k]) for k in ("issued", "nextUpdate", "expires")
    )
    assert [k.hex() for k in verified.signed_by] == want["signed_by"]
    assert len(verified.signed_by) == root.threshold < len(root.keys)  # 2 of 3: one key did not sign
    got = [
        {
            "id": c.id,
            "name": c.name,
            "country": c.country,
            "roots_sha256": [hashlib.sha256(r).hexdigest() for r in c.roots],
            "signers": [{"kid": s.kid.hex(), "status": s.status} for s in c.signers],
            "revoked": [k.hex() for k in c.revoked],
        }
        for c in tl.cities
    ]
    assert got == want["cities"]
    assert [(c["id"], c["country"]) for c in got] == [("cn-qingdao", "CN"), ("jp-ichikawa", "JP")]
    anchors = verified.anchors()
    assert len(anchors.certificates) == 2 and anchors.revoked == ()


def test_key_ids_are_the_specified_hashes():
    signed = cose.decode_sign(_file("trust_list"))
    root_signed = cose.decode_sign(_file("pinned_root"))
    root = _pinned()[0]
    for kid, key in root.keys.items():
        spki = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        assert kid == hashlib.sha256(spki).digest()[:8]
    for raw_key in cbor.decode(root_signed.payload)["keys"]:
        assert raw_key[2] in root.keys  # COSE_Key kid (label 2)
    for msg in (signed, root_signed):
        for sig in msg.signatures:
            assert sig.protected_bytes == bytes.fromhex("a10126")  # {1: -7}: ES256, from the key
            assert set(sig.unprotected) == {4} and sig.unprotected[4] in root.keys  # kid, unprotected
    assert len(root_signed.signatures) == 3  # root v1 is signed by all of its keys
    for city in cbor.decode(signed.payload)["cities"]:
        for s in city["signers"]:
            assert s["kid"] == key_id(s["certificate"]) == hashlib.sha256(s["certificate"]).digest()[:8]


def test_envelope_follows_the_spec():
    data = _file("trust_list")
    value = cbor.decode(data)
    assert isinstance(value, cbor.CBORTag) and value.tag == 98  # COSE_Sign, tagged
    signed = cose.decode_sign(data)
    assert signed.protected == {3: "application/edl-trust-list+cbor"}
    assert set(signed.unprotected) == {"edl-roots"}
    assert list(signed.unprotected["edl-roots"]) == [_file("pinned_root")]
    assert cose.decode_sign(_file("pinned_root")).protected == {3: "application/edl-trust-root+cbor"}
    for raw in (data, signed.payload, _file("pinned_root"), cose.decode_sign(_file("pinned_root")).payload):
        assert cbor.encode(cbor.decode(raw)) == raw  # deterministic CBOR
    assert cbor.encode(TrustList.from_value(cbor.decode(signed.payload)).to_value()) == signed.payload


def test_one_signature_variant_only_drops_signatures():
    full = cose.decode_sign(_file("trust_list"))
    one = cose.decode_sign(_file("trust_list_one_signature"))
    assert (one.protected_bytes, one.unprotected, one.payload) == (
        full.protected_bytes,
        full.unprotected,
        full.payload,
    )
    assert one.signatures == full.signatures[:1]


def test_verifier_state_refuses_rollback_and_keeps_the_clock_floor(tmp_path: Path):
    case = _case()
    pins = Pins(tmp_path)
    root = pins.pin(_file("pinned_root"))
    pins.load_list(_file("trust_list"), now=_at(case["VALIDATIONCLOCK"]))
    assert pins.last_sequence(root) == 1  # keyed by the root's key fingerprint, not its name
    assert pins.last_sequence(case["trust_list"]["provider"]) is None
    assert pins.newest_issued(root.fingerprint) == _at(case["trust_list"]["issued"])
    # A clock turned back before the list's issue time, once the device has seen that list, is
    # refused outright (clock_turned_back): nothing expired comes back to life on it.
    with pytest.raises(ClockTurnedBackError):
        pins.load_list(_file("trust_list"), now=_at(case["VALIDATIONCLOCK_NOT_YET_VALID"]), record=False)
    with pytest.raises(TrustListRollbackError):  # a verifier that has seen #2 refuses #1
        verify_trust_list(_file("trust_list"), _pinned(), now=_at(case["VALIDATIONCLOCK"]), min_sequence=2)


# --- the spec quotes the golden bytes ---------------------------------------------------------

_FENCE = re.compile(r"^```([a-z-]+)(?:[ \t]+([a-z0-9-]+))?[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)


def _spec_blocks() -> list[tuple[str, str | None, str]]:
    text = SPEC.read_text("utf-8")
    return [(m.group(1), m.group(2), m.group(3).rstrip("\n")) for m in _FENCE.finditer(text)]


def test_spec_hex_is_in_the_golden_files():
    files = [p.read_bytes() for p in CASE_DIR.glob("*.cbor")]
    hex_blocks = [text for lang, _, text in _spec_blocks() if lang == "hex"]
    assert len(hex_blocks) >= 3
    for text in hex_blocks:
        data = bytes.fromhex("".join(text.split()))
        assert any(data in f for f in files), text[:40]


def test_spec_worked_example_is_the_golden_vector(make_trust_golden: Any):
    labelled = {f"{lang} {label}": text for lang, label, text in _spec_blocks() if label}
    for key, text in make_trust_golden.worked_example(CASE_DIR).items():
        assert key in labelled, f"specs/trust-list.md lacks the ```{key} block"
        hint = "run scripts/make_trust_golden.py --example"
        assert labelled[key] == text, f"```{key} differs from the golden vector; {hint}"
    text = SPEC.read_text("utf-8")
    assert "tests/data/golden/trust-list-2of3/" in text
    for code in (
        "trust_root_unknown",
        "trust_rollback",
        "trust_root_chain",
        "insufficient_signatures",
        "trust_expired",
        "trust_not_yet_valid",
        "malformed",
        "city_root_unlinked",
        "signer_revoked",
    ):
        assert f"`{code}`" in text, code


def test_spec_names_the_case_values():
    text = SPEC.read_text("utf-8")
    case = _case()
    for kid in case["operator"]["keys"] + [
        s["kid"] for c in case["trust_list"]["cities"] for s in c["signers"]
    ]:
        assert kid in text, kid
    assert f"{len(_file('trust_list'))}-byte" in text

"""edl's own golden vectors (tests/data/golden/<case>/case.json), and the spec that quotes them.

Each case folder holds the bytes written once by scripts/make_golden.py and a case.json in the
shape of the EU dgc-testdata cases: ``VALIDATIONCLOCK[_suffix]`` with ``EXPECTEDRESULTS[_suffix]``,
one expectation per stage (``ok`` true/false/null = passed/failed/not_checked, and the code),
the verdict and the ``edl mdoc verify`` exit code. The files are never regenerated to make a
test pass: a change of behaviour changes the expectation, with a reason.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from edl import cbor
from edl.cli import main
from edl.mdoc import DeviceResponse, IssuerSigned
from edl.verify import verify_device_response, verify_issuer_signed
from edl.x509 import TrustAnchors
from edltest import DATA, cose_private_parts, load_script

GOLDEN = DATA / "golden"
ROOT = DATA.parent.parent
SPEC = ROOT / "specs" / "credential.md"
SCRIPT = ROOT / "scripts" / "make_golden.py"
GREEN_CASE = "mdl-deviceSignature"
ISO = "org.iso.18013.5.1"
STATUS = {True: "passed", False: "failed", None: "not_checked"}


def _case_dirs() -> list[Path]:
    """The mdoc cases; trust-list cases ("format": "edl-trust-list") have test_trust_golden.py."""
    return sorted(p for p in GOLDEN.iterdir() if p.is_dir() and _case(p).get("format", "mdoc") == "mdoc")


def _case(case_dir: Path) -> dict[str, Any]:
    return json.loads((case_dir / "case.json").read_text(encoding="utf-8"))


def _clocks(case_dir: Path) -> list[str]:
    """The suffixes of the case's clocks: "" for VALIDATIONCLOCK, "_EXPIRED" ..."""
    return [k[len("VALIDATIONCLOCK") :] for k in _case(case_dir) if k.startswith("VALIDATIONCLOCK")]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Collection time, not import time: the folders are listed when pytest asks.
    if "clock" in metafunc.fixturenames:
        pairs = [(d, s) for d in _case_dirs() for s in _clocks(d)]
        ids = [f"{d.name}{s or '_VALIDATIONCLOCK'}" for d, s in pairs]
        metafunc.parametrize(("case_dir", "clock"), pairs, ids=ids)
    elif "case_dir" in metafunc.fixturenames:
        metafunc.parametrize("case_dir", _case_dirs(), ids=lambda d: d.name)
    elif "tampered_dir" in metafunc.fixturenames:
        tampered = [d for d in _case_dirs() if "tamper" in _case(d)]
        metafunc.parametrize("tampered_dir", tampered, ids=lambda d: d.name)


def _file(case_dir: Path, role: str) -> Path:
    return case_dir / _case(case_dir)["files"][role]


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def make_golden() -> Any:
    return load_script(SCRIPT)


# --- the cases -------------------------------------------------------------------------------


def test_there_are_cases():
    names = {d.name for d in _case_dirs()}
    assert {GREEN_CASE, "mdl-tampered-item"} <= names


def test_case_is_complete(case_dir: Path):
    case = _case(case_dir)
    assert case["description"]
    for role in ("trust_anchor", "device_response", "session_transcript"):
        assert (case_dir / case["files"][role]).is_file(), role
    assert set(p.name for p in case_dir.iterdir()) == {"case.json", *case["files"].values()}
    for suffix in _clocks(case_dir):
        _at(case["VALIDATIONCLOCK" + suffix])
        expected = case["EXPECTEDRESULTS" + suffix]
        assert set(expected) == {*case["stages"], "verdict", "exit_code"}, suffix
        assert expected["verdict"] in ("green", "amber", "red")
        assert expected["exit_code"] == {"green": 0, "red": 1, "amber": 3}[expected["verdict"]]


def test_no_private_key_in_golden_data(case_dir: Path):
    for path in case_dir.iterdir():
        data = path.read_bytes()
        assert b"PRIVATE" not in data, path.name
        if path.suffix == ".pem":
            assert set(re.findall(rb"-----BEGIN ([A-Z ]+)-----", data)) == {b"CERTIFICATE"}, path.name
        if path.suffix == ".cbor":
            assert cose_private_parts(cbor.decode(data)) == [], path.name


def test_verifier_gives_every_expected_stage(case_dir: Path, clock: str):
    case = _case(case_dir)
    expected = case["EXPECTEDRESULTS" + clock]
    result = verify_device_response(
        _file(case_dir, "device_response").read_bytes(),
        trust=TrustAnchors.from_pem(_file(case_dir, "trust_anchor").read_bytes()),
        now=_at(case["VALIDATIONCLOCK" + clock]),
        transcript=_file(case_dir, "session_transcript").read_bytes(),
    )
    got = {c.name: c for c in result.checks}
    assert len(got) == len(result.checks), "a check name appears twice (one document expected)"
    stage_checks = {stage: s["check"] for stage, s in case["stages"].items()}
    assert set(got) == set(stage_checks.values()), "the verifier ran checks the case does not describe"
    for stage, check in stage_checks.items():
        want = expected[stage]
        assert (stage, got[check].status.value, got[check].code) == (stage, STATUS[want["ok"]], want["code"])
    assert result.verdict.value == expected["verdict"]
    assert result.valid is (expected["verdict"] == "green")
    if expected["verdict"] == "green":
        (doc,) = result.documents
        shown = [f"{ns}/{e}" for ns, els in doc.elements.items() for e in els]
        assert sorted(shown) == sorted(case["disclosed"])


def test_cli_exit_code(case_dir: Path, clock: str, capsys: pytest.CaptureFixture[str]):
    case = _case(case_dir)
    expected = case["EXPECTEDRESULTS" + clock]
    capsys.readouterr()
    code = main(
        [
            "mdoc",
            "verify",
            str(_file(case_dir, "device_response")),
            "--trust-anchor",
            str(_file(case_dir, "trust_anchor")),
            "--transcript",
            str(_file(case_dir, "session_transcript")),
            "--at",
            case["VALIDATIONCLOCK" + clock],
            "--json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert (code, out["verdict"]) == (expected["exit_code"], expected["verdict"])
    checks = {c["name"]: c for c in out["checks"]}
    for stage, s in case["stages"].items():
        assert (checks[s["check"]]["status"], checks[s["check"]]["code"]) == (
            STATUS[expected[stage]["ok"]],
            expected[stage]["code"],
        ), stage


def _verify_green_case(transcript: bytes | None):
    case_dir = GOLDEN / GREEN_CASE
    return verify_device_response(
        _file(case_dir, "device_response").read_bytes(),
        trust=TrustAnchors.from_pem(_file(case_dir, "trust_anchor").read_bytes()),
        now=_at(_case(case_dir)["VALIDATIONCLOCK"]),
        transcript=transcript,
    )


def test_replayed_in_another_session_is_not_the_holder():
    other = cbor.encode(cbor.wrap24(cbor.encode([None, None, ["edl-golden-v1", bytes(16)]])))
    result = _verify_green_case(other)
    assert result.verdict.value == "red"
    assert [(c.name, c.code) for c in result.failures()] == [("device_auth", "not_holder")]


def test_without_transcript_the_holder_is_not_checked_and_red():
    result = _verify_green_case(None)
    assert result.verdict.value == "red"
    assert [(c.name, c.code) for c in result.failures()] == [("device_auth", "transcript_missing")]


def test_ds_pem_is_the_certificate_in_x5chain(case_dir: Path):
    ds = x509.load_pem_x509_certificate(_file(case_dir, "ds_certificate").read_bytes())
    root = x509.load_pem_x509_certificate(_file(case_dir, "trust_anchor").read_bytes())
    response = DeviceResponse.from_bytes(_file(case_dir, "device_response").read_bytes())
    chain = response.documents[0].issuer_signed.certificate_chain()
    assert chain == [ds.public_bytes(serialization.Encoding.DER)]
    ds.verify_directly_issued_by(root)


def test_tampered_case_is_one_byte_away_from_its_source(tampered_dir: Path):
    case_dir = tampered_dir
    case = _case(case_dir)
    tamper = case["tamper"]
    source_dir = GOLDEN / tamper["from_case"]
    source = (source_dir / tamper["file"]).read_bytes()
    tampered = _file(case_dir, "device_response").read_bytes()
    offset = tamper["offset"]
    assert len(source) == len(tampered)
    assert [i for i in range(len(source)) if source[i] != tampered[i]] == [offset]
    assert (source[offset], tampered[offset]) == (int(tamper["was"], 16), int(tamper["now"], 16))
    # The byte is inside the elementValue of the named IssuerSignedItem.
    ns, ident = tamper["element"].rsplit("/", 1)
    doc = DeviceResponse.from_bytes(source).documents[0]
    item = next(i for i in doc.issuer_signed.namespaces[ns] if i.element_identifier == ident)
    start = source.index(item.raw)
    value = b"\x6celementValue" + cbor.encode(item.element_value)
    value_at = start + item.raw.index(value) + len(b"\x6celementValue")
    assert value_at <= offset < value_at + len(value) - len(b"\x6celementValue")
    # Everything else is the source case's material, unchanged.
    for role, name in case["files"].items():
        if role != "device_response":
            assert (case_dir / name).read_bytes() == (source_dir / name).read_bytes(), name


# --- what the green case shows about issuing -------------------------------------------------


def test_issuer_signed_is_the_credential_presented():
    case_dir = GOLDEN / GREEN_CASE
    issued_bytes = _file(case_dir, "issuer_signed").read_bytes()
    issued = IssuerSigned.from_bytes(issued_bytes)
    shown = (
        DeviceResponse.from_bytes(_file(case_dir, "device_response").read_bytes()).documents[0].issuer_signed
    )
    assert shown.issuer_auth_value == issued.issuer_auth_value
    raw = {(ns, i.raw) for ns, items in issued.namespaces.items() for i in items}
    assert {(ns, i.raw) for ns, items in shown.namespaces.items() for i in items} <= raw
    result = verify_issuer_signed(
        issued_bytes,
        trust=TrustAnchors.from_pem(_file(case_dir, "trust_anchor").read_bytes()),
        now=_at(_case(case_dir)["VALIDATIONCLOCK"]),
    )
    # Issuer data only: authentic, but the holder is not checked, so amber and nothing failed.
    assert result.verdict.value == "amber", [c.to_json() for c in result.checks]
    assert not result.failures()


def test_issued_bytes_follow_the_encoding_rules():
    """The rules specs/credential.md states, checked on the golden bytes."""
    case_dir = GOLDEN / GREEN_CASE
    for role in ("issuer_signed", "device_response", "session_transcript"):
        data = _file(case_dir, role).read_bytes()
        assert cbor.encode(cbor.decode(data)) == data, role  # deterministic, length-first
    issued = IssuerSigned.from_bytes(_file(case_dir, "issuer_signed").read_bytes())
    items = [i for items in issued.namespaces.values() for i in items]
    for i in items:
        assert cbor.encode(cbor.decode(i.raw)) == i.raw
        assert len(i.random) == 16
        assert hashlib.sha256(i.tagged).digest() == i.digest()
    assert sorted(i.digest_id for i in items) == list(range(len(items)))
    assert [i.digest_id for i in items] != list(range(len(items)))  # shuffled (1 in 14! to fail by chance)
    payload = issued.issuer_auth.payload
    assert payload is not None
    inner = cbor.unwrap24(cbor.decode(payload), what="MSO")
    assert cbor.encode(cbor.decode(inner)) == inner
    assert issued.issuer_auth.protected_bytes == bytes.fromhex("a10126")  # {1: -7}, alg only
    assert set(issued.issuer_auth.unprotected) == {33}  # x5chain, unprotected
    assert isinstance(issued.issuer_auth.unprotected[33], bytes)  # the DS certificate alone
    mso = issued.mso()
    assert [cbor.tdate(t).value for t in (mso.validity_info.signed, mso.validity_info.valid_from)] == [
        "2026-06-01T08:00:00Z"
    ] * 2
    birth = next(i for i in items if i.element_identifier == "birth_date")
    assert b"\xd9\x03\xec\x6a1990-03-14" in birth.raw  # full-date, tag 1004
    response = DeviceResponse.from_bytes(_file(case_dir, "device_response").read_bytes())
    device_signed = response.documents[0].device_signed
    assert device_signed is not None and device_signed.device_signature is not None
    assert device_signed.device_signature.payload is None  # detached
    assert device_signed.namespaces_raw == b"\xa0"


# --- the spec quotes the golden bytes ---------------------------------------------------------

_FENCE = re.compile(r"^```([a-z-]+)(?:[ \t]+([a-z0-9-]+))?[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)


def _spec_blocks() -> list[tuple[str, str | None, str]]:
    text = SPEC.read_text("utf-8")
    return [(m.group(1), m.group(2), m.group(3).rstrip("\n")) for m in _FENCE.finditer(text)]


def test_spec_hex_is_in_the_golden_response():
    response = (GOLDEN / GREEN_CASE / "device_response.cbor").read_bytes()
    hex_blocks = [text for lang, _, text in _spec_blocks() if lang == "hex"]
    assert len(hex_blocks) >= 3
    for text in hex_blocks:
        data = bytes.fromhex("".join(text.split()))
        assert data in response, text[:40]


def test_spec_worked_example_is_the_golden_vector(make_golden: Any):
    labelled = {f"{lang} {label}": text for lang, label, text in _spec_blocks() if label}
    example = make_golden.worked_example(GOLDEN / GREEN_CASE)
    for key, text in example.items():
        assert key in labelled, f"specs/credential.md lacks the ```{key} block"
        hint = "run scripts/make_golden.py --example"
        assert labelled[key] == text, f"```{key} differs from the golden vector; {hint}"
    text = SPEC.read_text("utf-8")
    assert f"tests/data/golden/{GREEN_CASE}/" in text
    response = (GOLDEN / GREEN_CASE / "device_response.cbor").read_bytes()
    assert f"{len(response)}-byte DeviceResponse" in text
    (item,) = [
        i
        for i in DeviceResponse.from_bytes(response).documents[0].issuer_signed.namespaces[ISO]
        if i.element_identifier == make_golden.EXAMPLE_ITEM
    ]
    assert f"under digest ID {item.digest_id}:" in text


def test_diag_printer(make_golden: Any):
    value = {"a": [1, -2, b"\x00", True, None, cbor.CBORTag(24, cbor.encode({1: "x"}))], 10: 1.5}
    expected = """{10: 1.5, "a": [1, -2, h'00', true, null, 24(<<{1: "x"}>>)]}"""
    assert make_golden.diag(cbor.encode(value)) == expected

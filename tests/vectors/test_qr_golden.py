"""edl's golden rotating-QR vector (tests/data/golden/qr-roadside/) and the spec that quotes it.

The folder holds the texts and files written once by scripts/make_qr_golden.py and a case.json
in the shape of the other golden cases: ``VALIDATIONCLOCK[_suffix]`` with
``EXPECTEDRESULTS[_suffix]``, one expectation per input variant (the whole carousel, the main
frame alone): per check ``ok`` true/false/null = passed/failed/not_checked and its code, the
verdict and the ``edl verify`` exit code. The files are never regenerated to make a test pass.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from edl import cbor, cose
from edl.cli import main
from edl.compact import CONTENT_TYPE, MAX_COMPACT_BYTES, Claim, decode_compact
from edl.presentation import (
    DEFAULT_ROTATION,
    FRAME_CONTENT_TYPE,
    MAX_CHALLENGE,
    MAX_PAYLOAD_BYTES,
    PREFIX,
    Chunk,
    Frame,
    decode_text,
    parse_payload,
)
from edl.qr import ALPHANUMERIC, qr_version
from edl.trust import VerifiedTrustList, verify_root, verify_trust_list
from edl.verify_qr import CHECK_NAMES, DEFAULT_SKEW, DEFAULT_WINDOW, verify_presentation
from edl.x509 import key_id
from edltest import DATA, cose_private_parts, load_script, signed_parts

CASE_DIR = DATA / "golden" / "qr-roadside"
ROOT = DATA.parent.parent
SPEC = ROOT / "specs" / "presentation-qr.md"
SCRIPT = ROOT / "scripts" / "make_qr_golden.py"
STATUS = {True: "passed", False: "failed", None: "not_checked"}
ISO = "org.iso.18013.5.1"
ROADSIDE_ELEMENTS = {
    "family_name",
    "given_name",
    "family_name_national_character",
    "given_name_national_character",
    "birth_date",
    "document_number",
    "driving_privileges",
    "expiry_date",
}


def _case() -> dict[str, Any]:
    return json.loads((CASE_DIR / "case.json").read_text(encoding="utf-8"))


def _clocks() -> list[str]:
    return [k[len("VALIDATIONCLOCK") :] for k in _case() if k.startswith("VALIDATIONCLOCK")]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Collection time, not import time: the case is read when pytest asks.
    if "clock" in metafunc.fixturenames:
        case = _case()
        pairs = [(s, v) for s in _clocks() for v in case["EXPECTEDRESULTS" + s]]
        ids = [f"{v}{s or '_VALIDATIONCLOCK'}" for s, v in pairs]
        metafunc.parametrize(("clock", "variant"), pairs, ids=ids)


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _texts(variant: str) -> list[str]:
    return [(CASE_DIR / n).read_text(encoding="ascii") for n in _case()["variants"][variant]["frames"]]


def _payloads() -> list[bytes]:
    return [decode_text(t) for t in _texts("carousel")]


def _trust(clock: str = "") -> VerifiedTrustList:
    case = _case()
    files = case["files"]
    root = verify_root((CASE_DIR / files["operator_root"]).read_bytes())
    data = (CASE_DIR / files["trust_list"]).read_bytes()
    return verify_trust_list(data, [root], now=_at(case["VALIDATIONCLOCK" + clock]))


def _challenge() -> bytes:
    return str(_case()["CHALLENGE"]).encode("ascii")


@pytest.fixture(scope="module")
def make_qr_golden() -> Any:
    return load_script(SCRIPT)


# --- the case -------------------------------------------------------------------------------


def test_case_is_complete():
    case = _case()
    assert case["description"] and case["format"] == "edl-qr"
    files = case["files"]
    on_disk = {str(p.relative_to(CASE_DIR)) for p in CASE_DIR.rglob("*") if p.is_file()}
    assert on_disk == {"case.json", files["operator_root"], files["trust_list"], *files["frames"]}
    assert files["frames"][0] == "frames/00-main.txt"
    assert case["variants"]["carousel"]["frames"] == files["frames"]
    assert case["variants"]["no_portrait_frames"]["frames"] == files["frames"][:1]
    assert list(case["stages"]) == ["structure", *CHECK_NAMES]
    assert all(s["check"] == name for name, s in case["stages"].items())
    assert {"", "_STALE"} <= set(_clocks())
    for suffix in _clocks():
        _at(case["VALIDATIONCLOCK" + suffix])
        for want in case["EXPECTEDRESULTS" + suffix].values():
            assert set(want) == {*case["stages"], "verdict", "exit_code"}
            assert want["exit_code"] == {"green": 0, "red": 1, "amber": 3}[want["verdict"]]
    assert case["EXPECTEDRESULTS"]["carousel"]["verdict"] == "green"
    assert case["EXPECTEDRESULTS_STALE"]["carousel"]["freshness"] == {"ok": False, "code": "stale_qr"}
    assert case["EXPECTEDRESULTS"]["no_portrait_frames"]["portrait"] == {
        "ok": None,
        "code": "portrait_missing",
    }


def test_no_private_key_in_golden_data():
    files = _case()["files"]
    for path in CASE_DIR.rglob("*"):
        if path.is_file():
            assert b"PRIVATE" not in path.read_bytes(), path.name
    for role in ("operator_root", "trust_list"):
        for part in signed_parts((CASE_DIR / files[role]).read_bytes()):
            assert cose_private_parts(cbor.decode(part)) == [], role
    frame = parse_payload(_payloads()[0])
    assert isinstance(frame, Frame)
    assert isinstance(frame.credential.claims[Claim.DEVICE_KEY], bytes)  # a public point, nothing else
    assert frame.sign1.payload is not None
    assert cose_private_parts(cbor.decode(frame.sign1.payload)) == []


# --- verifying ------------------------------------------------------------------------------


def test_verify_presentation_gives_every_expected_check(clock: str, variant: str):
    case = _case()
    want = case["EXPECTEDRESULTS" + clock][variant]
    result = verify_presentation(
        _texts(variant),
        trust=_trust(clock),
        now=_at(case["VALIDATIONCLOCK" + clock]),
        challenge=_challenge(),
    )
    assert [c.name for c in result.checks] == list(case["stages"])  # the order of specs §6
    for c in result.checks:
        expected = want[c.name]
        assert (c.name, c.status.value, c.code) == (c.name, STATUS[expected["ok"]], expected["code"])
    assert result.verdict.value == want["verdict"]
    assert result.valid is (want["verdict"] == "green")
    # The issuer verified in every variant: the signed data is handed out; the portrait only
    # when its chunks rebuilt the signed digest.
    (doc,) = result.documents
    elements = doc.elements[ISO]
    portrait_ok = want["portrait"]["ok"] is True
    assert set(elements) == ROADSIDE_ELEMENTS | ({"portrait"} if portrait_ok else set())
    if portrait_ok:
        assert hashlib.sha256(elements["portrait"]).hexdigest() == case["portrait"]["thumbnail_sha256"]


def test_cli_verify_exit_code(clock: str, variant: str, tmp_path: Path, monkeypatch, capsys):
    case = _case()
    want = case["EXPECTEDRESULTS" + clock][variant]
    monkeypatch.setenv("EDL_HOME", str(tmp_path / "home"))  # nothing pinned, nothing seen
    capsys.readouterr()
    code = main(
        [
            "verify",
            *(str(CASE_DIR / n) for n in case["variants"][variant]["frames"]),
            "--trust-list",
            str(CASE_DIR / case["files"]["trust_list"]),
            "--trust-root",
            str(CASE_DIR / case["files"]["operator_root"]),
            "--at",
            case["VALIDATIONCLOCK" + clock],
            "--challenge",
            case["CHALLENGE"],
            "--json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert (code, out["verdict"]) == (want["exit_code"], want["verdict"])
    assert [c["name"] for c in out["checks"]] == list(case["stages"])
    for c in out["checks"]:
        assert (c["name"], c["status"], c["code"]) == (
            c["name"],
            STATUS[want[c["name"]]["ok"]],
            want[c["name"]]["code"],
        )


def test_cli_takes_the_texts_as_arguments(tmp_path: Path, monkeypatch, capsys):
    case = _case()
    monkeypatch.setenv("EDL_HOME", str(tmp_path / "home"))
    texts = [t.strip() for t in _texts("carousel")]
    args = ["--trust-list", str(CASE_DIR / case["files"]["trust_list"])]
    args += ["--trust-root", str(CASE_DIR / case["files"]["operator_root"])]
    code = main(["verify", *texts, *args, "--at", case["VALIDATIONCLOCK"], "--challenge", case["CHALLENGE"]])
    assert code == 0
    assert capsys.readouterr().out.startswith("GREEN")


def _verify_green(texts: list[str], challenge: bytes | None):
    case = _case()
    return verify_presentation(texts, trust=_trust(), now=_at(case["VALIDATIONCLOCK"]), challenge=challenge)


def test_another_challenge_is_red_and_none_asked_is_optional():
    texts = _texts("carousel")
    other = _verify_green(texts, b"ZZZZ")
    assert [(c.name, c.code) for c in other.failures()] == [("challenge", "challenge_mismatch")]
    unasked = _verify_green(texts, None)
    assert unasked.verdict.value == "green"
    check = unasked.check("challenge", None)
    assert (check.status.value, check.code, check.required) == ("not_checked", "no_challenge", False)


def test_carousel_order_and_duplicates_do_not_matter():
    texts = _texts("carousel")
    shuffled = [texts[2], texts[0], texts[1], texts[2], texts[0]]
    assert _verify_green(shuffled, _challenge()).verdict.value == "green"


def test_one_chunk_missing_is_amber():
    texts = _texts("carousel")
    result = _verify_green(texts[:2], _challenge())
    assert result.verdict.value == "amber"
    check = result.check("portrait", None)
    assert (check.status.value, check.code, check.required) == ("not_checked", "portrait_missing", True)
    assert "2 of 2" in check.message


@pytest.mark.parametrize(
    "prefix,code",
    [("DL2:", "unsupported_version"), ("DL10:", "unsupported_version"), ("HC1:", "malformed")],
)
def test_the_prefix_names_the_version(prefix: str, code: str):
    main_text = _texts("carousel")[0].strip()
    assert main_text.startswith(PREFIX)
    result = _verify_green([prefix + main_text[len(PREFIX) :]], _challenge())
    assert result.verdict.value == "red"
    assert [(c.name, c.code) for c in result.failures()] == [("structure", code)]


# --- what the files are -----------------------------------------------------------------------


def test_frames_are_what_the_case_says():
    case = _case()
    payloads = _payloads()
    frame, *chunks = (parse_payload(p) for p in payloads)
    assert isinstance(frame, Frame) and all(isinstance(c, Chunk) for c in chunks)
    cred, want = frame.credential, case["credential"]
    assert (cred.profile, cred.city, cred.kid.hex(), len(cred.raw), cred.id.hex()) == (
        want["profile"],
        want["city"],
        want["kid"],
        want["bytes"],
        want["id"],
    )
    assert (cred.issued, cred.valid_until) == (_at(want["issued"]), _at(want["valid_until"]))
    assert frame.signed_at == _at(case["frame"]["signed"])
    assert frame.challenge == _challenge() == bytes.fromhex(case["frame"]["challenge_hex"])
    assert len(payloads[0]) == case["frame"]["bytes"]
    # The kid names the DS certificate the trust list holds for the city.
    (city,) = _trust().trust_list.cities
    (signer,) = city.signers
    assert (city.id, signer.kid.hex()) == (cred.city, case["trust_list"]["city"]["signer_kid"])
    assert (
        cred.kid
        == signer.kid
        == key_id(signer.certificate)
        == hashlib.sha256(signer.certificate).digest()[:8]
    )
    # Chunks: the credential id, index order, one count; the thumbnail's digest is the signed one.
    assert [c.credential_id for c in chunks] == [hashlib.sha256(cred.raw).digest()[:8]] * len(chunks)
    assert [(c.index, c.count) for c in chunks] == [(i, len(chunks)) for i in range(len(chunks))]
    thumbnail = b"".join(c.data for c in chunks)
    assert thumbnail[:2] == b"\xff\xd8" and thumbnail[-2:] == b"\xff\xd9"  # one JPEG
    assert (
        hashlib.sha256(thumbnail).digest()[:16]
        == cred.portrait_digest
        == bytes.fromhex(want["portrait_digest"])
    )
    assert [len(p) for p in payloads[1:]] == case["portrait"]["chunk_bytes"]
    assert (len(thumbnail), hashlib.sha256(thumbnail).hexdigest()) == (
        case["portrait"]["thumbnail_bytes"],
        case["portrait"]["thumbnail_sha256"],
    )


def test_bytes_follow_the_encoding_rules():
    """The rules specs/presentation-qr.md states, checked on the golden bytes."""
    payloads = _payloads()
    for text, payload in zip(_texts("carousel"), payloads, strict=True):
        assert text.endswith("\n") and text.count("\n") == 1
        assert text.startswith(PREFIX) and set(text.strip()) <= set(ALPHANUMERIC)
        assert len(payload) <= MAX_PAYLOAD_BYTES
        assert qr_version(text.strip()) <= 15
        assert cbor.encode(cbor.decode(payload)) == payload  # deterministic CBOR
    frame = cose.decode_sign1(payloads[0])
    assert not isinstance(cbor.decode(payloads[0]), cbor.CBORTag)  # untagged COSE_Sign1
    assert (
        frame.protected_bytes
        == cbor.encode({1: -7, 3: FRAME_CONTENT_TYPE})
        == bytes.fromhex("a201260319fdea")
    )
    assert frame.unprotected == {}
    assert frame.payload is not None
    credential_bytes, signed, challenge = cbor.decode(frame.payload)
    assert isinstance(signed, int) and isinstance(challenge, bytes) and len(challenge) <= MAX_CHALLENGE
    assert len(credential_bytes) <= MAX_COMPACT_BYTES
    assert cbor.encode(cbor.decode(credential_bytes)) == credential_bytes
    credential = cose.decode_sign1(credential_bytes)
    kid = decode_compact(credential_bytes).kid
    assert credential.protected == {1: -7, 3: CONTENT_TYPE, 4: kid}
    assert credential.protected_bytes == cbor.encode({1: -7, 3: CONTENT_TYPE, 4: kid})
    assert credential.unprotected == {}
    assert credential.payload is not None
    claims = cbor.decode(credential.payload)
    assert cbor.encode(claims) == credential.payload
    assert list(claims) == sorted(claims)  # one-byte keys: length-first order is numeric order
    assert set(claims) <= {int(c) for c in Claim}
    assert len(claims[Claim.DEVICE_KEY]) == 33 and claims[Claim.DEVICE_KEY][0] in (2, 3)
    assert len(claims[Claim.PORTRAIT_DIGEST]) == 16
    assert claims[Claim.BIRTH_DATE] == (dt.date(1990, 3, 14) - dt.date(1970, 1, 1)).days == 7377
    assert claims[Claim.PRIVILEGES] == [["C1", 15492, 23389]]
    assert all(type(claims[c]) is int for c in (Claim.ISSUED, Claim.VALID_UNTIL, Claim.EXPIRY_DATE))
    assert Claim.STATUS not in claims and Claim.AGE_OVER_18 not in claims  # roadside, no status list


# --- the spec quotes the golden bytes ---------------------------------------------------------

_FENCE = re.compile(r"^```([a-z-]+)(?:[ \t]+([a-z0-9-]+))?[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)


def _spec_text() -> str:
    return SPEC.read_text("utf-8")


def _spec_blocks() -> list[tuple[str, str | None, str]]:
    return [(m.group(1), m.group(2), m.group(3).rstrip("\n")) for m in _FENCE.finditer(_spec_text())]


def test_spec_hex_is_in_the_golden_bytes():
    files = _case()["files"]
    golden = _payloads() + [(CASE_DIR / files[r]).read_bytes() for r in ("operator_root", "trust_list")]
    hex_blocks = [text for lang, _, text in _spec_blocks() if lang == "hex"]
    assert len(hex_blocks) >= 3
    for text in hex_blocks:
        data = bytes.fromhex("".join(text.split()))
        assert any(data in g for g in golden), text[:40]


def test_spec_worked_example_is_the_golden_vector(make_qr_golden: Any):
    labelled = {f"{lang} {label}": text for lang, label, text in _spec_blocks() if label}
    for key, text in make_qr_golden.worked_example(CASE_DIR).items():
        assert key in labelled, f"specs/presentation-qr.md lacks the ```{key} block"
        hint = "run scripts/make_qr_golden.py --example"
        assert labelled[key] == text, f"```{key} differs from the golden vector; {hint}"


def test_spec_names_the_case_values():
    text = _spec_text()
    case = _case()
    assert "tests/data/golden/qr-roadside/" in text
    for value in (
        case["credential"]["kid"],
        case["credential"]["id"],
        case["credential"]["portrait_digest"],
        case["VALIDATIONCLOCK"],
        case["VALIDATIONCLOCK_STALE"],
    ):
        assert value in text, value
    assert f"{case['frame']['bytes']}-byte frame" in text
    assert f"{case['credential']['bytes']}-byte credential" in text
    assert f"{case['portrait']['thumbnail_bytes']}-byte thumbnail" in text
    assert f"{case['frame']['text_chars']} characters" in text
    texts = [t.strip() for t in _texts("carousel")]
    assert f"{len(texts[0])} characters of text, QR version {qr_version(texts[0])};" in text
    for t in texts[1:]:
        assert f"({len(t)} characters, version {qr_version(t)})" in text


def test_spec_states_the_code_constants():
    text = _spec_text()
    assert f"{MAX_PAYLOAD_BYTES} bytes" in text and f"{MAX_COMPACT_BYTES} bytes" in text
    assert f"{MAX_CHALLENGE} bytes" in text
    for seconds in (DEFAULT_ROTATION, DEFAULT_WINDOW, DEFAULT_SKEW):
        assert f"{int(seconds.total_seconds())} s" in text
    assert f"`{PREFIX}`" in text
    for content_type in (CONTENT_TYPE, FRAME_CONTENT_TYPE):
        assert str(content_type) in text
    for code in (
        "malformed",
        "unsupported_version",
        "wrong_type",
        "no_frame",
        "signer_revoked",
        "untrusted_issuer",
        "bad_signature",
        "city_mismatch",
        "expired",
        "not_yet_valid",
        "signed_outside_certificate",
        "not_holder",
        "stale_qr",
        "clock_skew",
        "challenge_mismatch",
        "no_challenge",
        "portrait_missing",
        "no_portrait",
        "status_missing",
        "status_stale",
        "revoked",
        "suspended",
        "no_status",
    ):
        assert f"`{code}`" in text, code
    for name in ("structure", *CHECK_NAMES):
        assert f"`{name}`" in text, name


def test_spec_cddl_has_every_claim():
    """Each key of edl.compact.Claim appears in the Claims CDDL, with its name in the comment."""
    cddl = "\n".join(text for lang, _, text in _spec_blocks() if lang == "cddl")
    claims = re.search(r"^Claims = \{\n(.*?)^\}", cddl, re.M | re.S)
    assert claims is not None, "the spec's CDDL lacks Claims = { ... }"
    cddl = claims.group(1)
    for claim in Claim:
        line = re.search(rf"^\s*\??\s*{int(claim)} => .*$", cddl, re.M)
        assert line is not None, claim.name
        assert claim.name.lower() in line.group(0).lower().replace("-", "_"), line.group(0)

"""edl's golden status list and bundle (tests/data/golden/status-list/) and the spec that quotes them.

The folder holds the bytes written once by scripts/make_status_golden.py and a case.json in the
shape of the trust-list case: ``VALIDATIONCLOCK[_suffix]`` with ``EXPECTEDRESULTS[_suffix]``, one
expectation per variant (``valid`` and the error ``code`` or ``ok``). The files are never
regenerated to make a test pass.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from typing import Any

import pytest

from edl import cbor, cose
from edl.bundle import MAX_BUNDLE_SIZE, load_bundle
from edl.errors import EdlError, StatusIndexError
from edl.status import STATUS_LIST_TYP, Status, decode_status_list, verify_status_list
from edl.trust import verify_root, verify_trust_list
from edl.x509 import STATUS_SIGNER_EKU, TrustAnchors, check_status_signer_profile, load_certificate
from edltest import DATA, load_script

CASE_DIR = DATA / "golden" / "status-list"
ROOT = DATA.parent.parent
SPEC = ROOT / "specs" / "status-list.md"
SCRIPT = ROOT / "scripts" / "make_status_golden.py"


def _case() -> dict[str, Any]:
    return json.loads((CASE_DIR / "case.json").read_text(encoding="utf-8"))


def _clocks() -> list[str]:
    return [k[len("VALIDATIONCLOCK") :] for k in _case() if k.startswith("VALIDATIONCLOCK")]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "clock" in metafunc.fixturenames:
        case = _case()
        pairs = [(s, role) for s in _clocks() for role in case["EXPECTEDRESULTS" + s]]
        metafunc.parametrize(
            ("clock", "role"), pairs, ids=[f"{r}{s or '_VALIDATIONCLOCK'}" for s, r in pairs]
        )


def _file(role: str) -> bytes:
    return (CASE_DIR / _case()["files"][role]).read_bytes()


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _anchors() -> TrustAnchors:
    return TrustAnchors.from_pem(_file("city_root"))


def _load_bundle(now: dt.datetime):
    root = verify_root(_file("operator_root"))
    return load_bundle(
        _file("bundle"), verify_trust_list=lambda raw: verify_trust_list(raw, [root], now=now), now=now
    )


@pytest.fixture(scope="module")
def make_status_golden() -> Any:
    return load_script(SCRIPT)


def test_case_is_complete():
    case = _case()
    assert case["description"] and case["format"] == "edl-status-list"
    assert {p.name for p in CASE_DIR.iterdir()} == {"case.json", *case["files"].values()}
    for suffix in _clocks():
        _at(case["VALIDATIONCLOCK" + suffix])
        expected = case["EXPECTEDRESULTS" + suffix]
        assert set(expected) == set(case["variants"]), suffix
        for want in expected.values():
            assert (want["code"] == "ok") is want["valid"]
    assert set(_clocks()) == {"", "_EXPIRED", "_NOT_YET_VALID"}


def test_no_private_key_in_golden_data():
    for path in CASE_DIR.iterdir():
        assert b"PRIVATE" not in path.read_bytes(), path.name


def test_every_expected_result(clock: str, role: str):
    case = _case()
    want = case["EXPECTEDRESULTS" + clock][role]
    now = _at(case["VALIDATIONCLOCK" + clock])
    try:
        if role == "bundle":
            _load_bundle(now)
        else:
            verify_status_list(_file(role), city_anchors=_anchors(), now=now)
        got = "ok"
    except EdlError as e:
        got = e.code
    assert got == want["code"]


def test_the_list_is_what_the_case_says():
    case = _case()
    want = case["status_list"]
    verified = verify_status_list(
        _file("status_list"), city_anchors=_anchors(), now=_at(case["VALIDATIONCLOCK"])
    )
    assert (verified.uri, verified.city_id, verified.list_id, verified.sequence) == (
        want["uri"],
        want["city"],
        want["list_id"],
        want["sequence"],
    )
    assert (verified.issued, verified.expires) == (_at(want["issued"]), _at(want["expires"]))
    assert verified.ttl == dt.timedelta(seconds=want["ttl_seconds"])
    assert (verified.status_list.bits, len(verified)) == (want["bits"], want["entries"])
    for index in range(len(verified)):
        expected = want["statuses"].get(str(index), want["others"])
        assert verified.status_of(index) is Status[expected.upper()], index
    with pytest.raises(StatusIndexError) as failure:
        verified.status_of(want["index_outside"]["index"])
    assert failure.value.code == want["index_outside"]["code"]
    assert hashlib.sha256(verified.signer_certificate).hexdigest() == want["signer_sha256"]
    assert verified.payload_digest.hex() == want["payload_sha256"]
    signer = load_certificate(verified.signer_certificate)
    assert signer.subject.rfc4514_string() == want["signer_subject"]
    assert want["signer_eku"] == STATUS_SIGNER_EKU.dotted_string
    check_status_signer_profile(signer, _anchors().certificates[0])


def test_the_bundle_is_what_the_case_says():
    case = _case()
    loaded = _load_bundle(_at(case["VALIDATIONCLOCK"]))
    want = case["bundle"]
    assert [v.trust_list.provider for v in loaded.trust_lists] == want["trust_lists"]
    assert {
        c: [s.uri for s in loaded.status_lists.values() if s.city_id == c] for c in want["status_lists"]
    } == want["status_lists"]
    assert list(loaded.cities_without_status()) == want["cities_without_status"]
    value = cbor.decode(_file("bundle"), max_size=MAX_BUNDLE_SIZE)
    content = cbor.decode(value["content"])
    assert content["trustLists"] == [_file("trust_list")]
    assert content["statusLists"] == {"cn-qingdao": [_file("status_list")]}
    assert value["sha256"] == hashlib.sha256(value["content"]).digest()


def test_token_follows_the_spec():
    data = _file("status_list")
    value = cbor.decode(data)
    assert isinstance(value, cbor.CBORTag) and value.tag == 18
    token = decode_status_list(data)
    assert token.sign1.protected == {1: -7, 16: STATUS_LIST_TYP}
    assert set(token.sign1.unprotected) == {33} and isinstance(token.sign1.unprotected[33], bytes)
    claims = cbor.decode(token.payload)
    assert list(claims) == [2, 4, 6, 65533, 65534, -65537]
    for raw in (data, token.payload):
        assert cbor.encode(cbor.decode(raw)) == raw  # deterministic CBOR


def test_ds_signed_variant_only_changes_the_signer():
    genuine = cose.CoseSign1.from_value(cbor.decode(_file("status_list")))
    attack = cose.CoseSign1.from_value(cbor.decode(_file("status_list_ds_signed")))
    assert (attack.protected_bytes, attack.payload) == (genuine.protected_bytes, genuine.payload)
    assert attack.unprotected[33] != genuine.unprotected[33]


# --- the spec quotes the golden bytes ---------------------------------------------------------

_FENCE = re.compile(r"^```([a-z-]+)(?:[ \t]+([a-z0-9-]+))?[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)


def _spec_blocks() -> list[tuple[str, str | None, str]]:
    text = SPEC.read_text("utf-8")
    return [(m.group(1), m.group(2), m.group(3).rstrip("\n")) for m in _FENCE.finditer(text)]


def test_spec_hex_is_in_the_golden_files():
    files = [p.read_bytes() for p in CASE_DIR.glob("*.cbor")]
    token = decode_status_list(_file("status_list"))
    files.append(token.status_list.to_bytes())  # the packed list is shown before compression
    hex_blocks = [text for lang, _, text in _spec_blocks() if lang == "hex"]
    assert len(hex_blocks) >= 4
    for text in hex_blocks:
        data = bytes.fromhex("".join(text.split()))
        assert any(data in f for f in files), text[:40]


def test_spec_worked_example_is_the_golden_vector(make_status_golden: Any):
    labelled = {f"{lang} {label}": text for lang, label, text in _spec_blocks() if label}
    for key, text in make_status_golden.worked_example(CASE_DIR).items():
        assert key in labelled, f"specs/status-list.md lacks the ```{key} block"
        assert labelled[key] == text, f"```{key} differs from the golden vector; run --example"


def test_spec_names_every_code_and_the_case_values():
    text = SPEC.read_text("utf-8")
    assert "tests/data/golden/status-list/" in text
    for code in (
        "status_malformed",
        "status_too_large",
        "status_bits",
        "status_uri",
        "status_unsupported",
        "status_bad_signature",
        "status_untrusted",
        "status_signer_revoked",
        "status_signer_expired",
        "status_signer_eku",
        "status_signer_key_usage",
        "status_signer_is_ca",
        "status_signer_validity_period",
        "status_signer_country",
        "status_signed_outside_certificate",
        "status_expired",
        "status_not_yet_valid",
        "status_uri_mismatch",
        "status_rollback",
        "status_index",
        "bundle_too_large",
        "bundle_malformed",
        "bundle_version",
        "bundle_damaged",
        "bundle_unknown_city",
        "bundle_duplicate",
        "bundle_misfiled",
    ):
        assert f"`{code}`" in text, code
    assert f"{len(_file('status_list'))}-byte" in text and f"{len(_file('bundle'))}-byte" in text
    assert STATUS_SIGNER_EKU.dotted_string in text
    assert "-65537" in text or "−65537" in text

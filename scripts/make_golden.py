"""Write edl's golden mdoc vectors into tests/data/golden/ (run once; the files ARE the vector).

Two cases, each a folder with a ``case.json`` shaped like the EU dgc-testdata cases
(``description``, ``VALIDATIONCLOCK``, ``stages``, ``EXPECTEDRESULTS``; see
``tests/data/golden/README.md``):

* ``mdl-deviceSignature/``: a Qingdao (CN) IACA root and document signer (P-256), an mDL
  issued at 2026-06-01T08:00:00Z, and a DeviceResponse authenticated with a detached
  ``deviceSignature`` over a fixed SessionTranscript, disclosing five elements. Green at
  ``VALIDATIONCLOCK``; red (``mso_validity`` expired) at ``VALIDATIONCLOCK_EXPIRED``.
* ``mdl-tampered-item/``: the same response with one byte changed inside the value of the
  ``family_name`` IssuerSignedItem ("Zhang" -> "Zhong"): red, ``value_digests`` "tampered".

What is fixed: every time, the licence, the transcript, the disclosure. What is not:
the keys, the certificate serial numbers, the salts, the digest-ID shuffle and the ECDSA
signatures, all random by design. So running this again gives a *different* valid vector;
it refuses to overwrite unless ``--force`` (then refresh the worked example in
``specs/credential.md`` with ``--example``; ``tests/vectors/test_golden.py`` catches drift).
The private keys live only in this process: none is ever written.

The expected results are written from the table below, not from the verifier; the script
then runs the verifier on what it wrote and stops if the two disagree.

    .venv/bin/python scripts/make_golden.py             # write the vectors (once)
    .venv/bin/python scripts/make_golden.py --example   # print the spec's worked example
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import struct
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "data" / "golden"
CASE = "mdl-deviceSignature"
TAMPERED = "mdl-tampered-item"
ISO = "org.iso.18013.5.1"
UTC = dt.UTC

ISSUED_AT = dt.datetime(2026, 6, 1, 8, 0, 0, tzinfo=UTC)
IACA_VALIDITY = (dt.datetime(2026, 5, 1, tzinfo=UTC), dt.datetime(2036, 5, 1, tzinfo=UTC))
DS_VALIDITY = (dt.datetime(2026, 5, 31, tzinfo=UTC), dt.datetime(2027, 6, 30, tzinfo=UTC))
MSO_VALID_UNTIL = dt.datetime(2027, 6, 1, 8, 0, 0, tzinfo=UTC)
VALIDATIONCLOCK = "2026-06-01T09:00:00Z"
VALIDATIONCLOCK_EXPIRED = "2027-06-15T00:00:00Z"  # after the MSO's validUntil, inside the DS certificate

# SessionTranscript = [DeviceEngagementBytes, EReaderKeyBytes, Handover]; no engagement or
# reader key (deviceSignature needs neither), a handover naming this vector and a nonce.
TRANSCRIPT = [None, None, ["edl-golden-v1", bytes.fromhex("00112233445566778899aabbccddeeff")]]
DISCLOSED = ("family_name", "birth_date", "portrait", "driving_privileges", "age_over_18")
EXAMPLE_ITEM = "birth_date"  # the IssuerSignedItemBytes shown in the spec's worked example
TAMPER_ELEMENT = "family_name"
TAMPER_FROM, TAMPER_TO = b"Zhang", b"Zhong"

FILES = {
    "trust_anchor": "iaca.pem",
    "ds_certificate": "ds.pem",
    "issuer_signed": "issuer_signed.cbor",
    "device_response": "device_response.cbor",
    "session_transcript": "session_transcript.cbor",
}

# stage -> (the edl.verify check that decides it, what passing it proves)
STAGES: dict[str, tuple[str, str]] = {
    "decode": (
        "structure",
        "device_response.cbor is one well-formed DeviceResponse under edl's strict CBOR rules",
    ),
    "certificate_chain": (
        "certificate_chain",
        "the DS certificate in x5chain is issued by iaca.pem, valid at the clock",
    ),
    "ds_profile": (
        "ds_profile",
        "the DS certificate fits ISO 18013-5 Annex B.1.4 "
        "(EKU mdlDS, digitalSignature, <= 457 days, country of its root)",
    ),
    "ds_validity": ("ds_validity", "the DS certificate is valid at the clock"),
    "issuer_signature": (
        "issuer_signature",
        "issuerAuth (ES256, COSE_Sign1) verifies with the DS key over the MSO as received",
    ),
    "doc_type": ("doc_type", "the document's docType is the MSO's docType"),
    "value_digests": (
        "value_digests",
        "SHA-256 of every disclosed IssuerSignedItemBytes equals its MSO digest",
    ),
    "mso_validity": (
        "mso_validity",
        "the clock is inside the MSO's validFrom..validUntil, signed inside the DS certificate",
    ),
    "issuing_country": (
        "issuing_country",
        "issuing_country is not disclosed here, so it is not compared (optional check)",
    ),
    "device_auth": (
        "device_auth",
        "the detached deviceSignature verifies with the MSO's deviceKey over DeviceAuthenticationBytes",
    ),
    "status": (
        "status",
        "the MSO carries no status reference, so there is nothing to look up (optional check)",
    ),
}


def _ok(code: str = "ok") -> dict[str, Any]:
    return {"ok": True, "code": code}


def _failed(code: str) -> dict[str, Any]:
    return {"ok": False, "code": code}


def _not_checked(code: str) -> dict[str, Any]:
    return {"ok": None, "code": code}


def _expected(**changes: dict[str, Any]) -> dict[str, Any]:
    stages = {name: _ok() for name in STAGES}
    stages["issuing_country"] = _not_checked("not_disclosed")
    stages["status"] = _not_checked("no_status")
    stages.update(changes)
    return stages


EXPECTED_GREEN = {**_expected(), "verdict": "green", "exit_code": 0}
EXPECTED_EXPIRED = {**_expected(mso_validity=_failed("expired")), "verdict": "red", "exit_code": 1}
EXPECTED_TAMPERED = {**_expected(value_digests=_failed("tampered")), "verdict": "red", "exit_code": 1}


# --- CBOR diagnostic notation (RFC 8949 §8), read from the exact bytes --------------------


def diag(data: bytes, *, width: int = 88) -> str:
    """``data`` (one CBOR item) in diagnostic notation; tag 24 content shown as ``<< >>``.

    Written here rather than through cbor2 so that it shows the bytes as they are (cbor2
    turns tags 0 and 1004 into Python dates). Definite lengths only: that is all edl writes.
    """
    value, end = _parse(data, 0)
    if end != len(data):
        raise ValueError(f"{len(data) - end} bytes after the item")
    return _render(value, 0, width)


class _Tag:
    def __init__(self, tag: int, value: Any) -> None:
        self.tag, self.value = tag, value


class _Embedded:  # the content of a tag-24 byte string, parsed
    def __init__(self, value: Any) -> None:
        self.value = value


def _parse(data: bytes, pos: int) -> tuple[Any, int]:
    ib = data[pos]
    major, info = ib >> 5, ib & 31
    pos += 1
    if info < 24:
        arg = info
    elif info <= 27:
        n = 1 << (info - 24)
        arg = int.from_bytes(data[pos : pos + n], "big")
        if major == 7:
            fmt = {2: ">e", 4: ">f", 8: ">d"}.get(n)
            if fmt is None:
                raise ValueError("simple value in two bytes")
            return struct.unpack(fmt, data[pos : pos + n])[0], pos + n
        pos += n
    else:
        raise ValueError(f"indefinite length or reserved value at byte {pos - 1}")
    if major == 0:
        return arg, pos
    if major == 1:
        return -1 - arg, pos
    if major == 2:
        return bytes(data[pos : pos + arg]), pos + arg
    if major == 3:
        return data[pos : pos + arg].decode("utf-8"), pos + arg
    if major == 4:
        items = []
        for _ in range(arg):
            item, pos = _parse(data, pos)
            items.append(item)
        return items, pos
    if major == 5:
        pairs = []
        for _ in range(arg):
            key, pos = _parse(data, pos)
            val, pos = _parse(data, pos)
            pairs.append((key, val))
        return dict(pairs) if len({repr(k) for k, _ in pairs}) == len(pairs) else pairs, pos
    if major == 6:
        inner, pos = _parse(data, pos)
        if arg == 24 and isinstance(inner, bytes):
            embedded, end = _parse(inner, 0)
            if end == len(inner):
                inner = _Embedded(embedded)
        return _Tag(arg, inner), pos
    return {20: False, 21: True, 22: None}.get(arg, f"simple({arg})"), pos


def _render(v: Any, indent: int, width: int) -> str:
    flat = _flat(v)
    if len(flat) + indent <= width or not isinstance(v, (list, dict, _Tag, _Embedded)):
        return flat
    pad, inner = " " * indent, " " * (indent + 2)
    if isinstance(v, _Tag):
        return f"{v.tag}({_render(v.value, indent, width)})"
    if isinstance(v, _Embedded):
        return f"<<{_render(v.value, indent, width)}>>"
    if isinstance(v, list):
        body = ",\n".join(inner + _render(x, indent + 2, width) for x in v)
        return f"[\n{body}\n{pad}]"
    body = ",\n".join(f"{inner}{_flat(k)}: {_render(x, indent + 2, width)}" for k, x in v.items())
    return f"{{\n{body}\n{pad}}}"


def _flat(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, bytes):
        return f"h'{v.hex()}'"
    if isinstance(v, _Tag):
        return f"{v.tag}({_flat(v.value)})"
    if isinstance(v, _Embedded):
        return f"<<{_flat(v.value)}>>"
    if isinstance(v, list):
        return "[" + ", ".join(_flat(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_flat(k)}: {_flat(x)}" for k, x in v.items()) + "}"
    return str(v)


# --- the worked example ---------------------------------------------------------------------


def worked_example(folder: Path = GOLDEN / CASE) -> dict[str, str]:
    """The pieces of the spec's worked example, computed from the committed files.

    Keys are the labels of the fenced blocks in ``specs/credential.md``
    (```` ```hex item ````, ```` ```cbor-diag mso ```` ...).
    """
    from edl.mdoc import DeviceResponse, SessionTranscript, device_authentication_bytes

    response = DeviceResponse.from_bytes((folder / FILES["device_response"]).read_bytes())
    transcript = SessionTranscript.from_bytes((folder / FILES["session_transcript"]).read_bytes())
    doc = response.documents[0]
    item = next(i for i in doc.issuer_signed.namespaces[ISO] if i.element_identifier == EXAMPLE_ITEM)
    assert doc.device_signed is not None
    auth = device_authentication_bytes(transcript, doc.doc_type, doc.device_signed.namespaces_raw)
    payload = doc.issuer_signed.issuer_auth.payload
    assert payload is not None
    return {
        "hex item": _wrap_hex(item.tagged),
        "cbor-diag item": diag(item.tagged),
        "hex item-digest": hashlib.sha256(item.tagged).hexdigest(),
        "hex protected": doc.issuer_signed.issuer_auth.protected_bytes.hex(),
        "cbor-diag mso": diag(payload),
        "cbor-diag device-authentication": diag(auth),
    }


def _wrap_hex(data: bytes, per_line: int = 32) -> str:
    h = data.hex()
    return "\n".join(h[i : i + 2 * per_line] for i in range(0, len(h), 2 * per_line))


# --- writing the vectors -------------------------------------------------------------------


def _case_json(
    description: str, files: dict[str, str], clocks: dict[str, tuple[str, dict[str, Any]]], **extra: Any
) -> str:
    case: dict[str, Any] = {"description": description}
    for suffix, (clock, _) in clocks.items():
        case["VALIDATIONCLOCK" + suffix] = clock
    case["files"] = files
    case.update(extra)
    case["stages"] = {name: {"check": check, "proves": proves} for name, (check, proves) in STAGES.items()}
    for suffix, (_, expected) in clocks.items():
        case["EXPECTEDRESULTS" + suffix] = expected
    return json.dumps(case, ensure_ascii=False, indent=2) + "\n"


def _check(folder: Path, clock: str, expected: dict[str, Any]) -> None:
    """Run the verifier on what was written; stop if it disagrees with the expectation."""
    from edl.verify import verify_device_response
    from edl.x509 import TrustAnchors

    result = verify_device_response(
        (folder / FILES["device_response"]).read_bytes(),
        trust=TrustAnchors.from_pem((folder / FILES["trust_anchor"]).read_bytes()),
        now=dt.datetime.fromisoformat(clock.replace("Z", "+00:00")),
        transcript=(folder / FILES["session_transcript"]).read_bytes(),
    )
    got = {c.name: c for c in result.checks}
    status = {True: "passed", False: "failed", None: "not_checked"}
    for stage, (check, _) in STAGES.items():
        want = expected[stage]
        c = got.get(check)
        if c is None or c.status.value != status[want["ok"]] or c.code != want["code"]:
            raise SystemExit(f"{folder.name} at {clock}: {stage} is {c and c.to_json()}, expected {want}")
    if result.verdict.value != expected["verdict"]:
        verdict = result.verdict.value
        raise SystemExit(f"{folder.name} at {clock}: verdict {verdict}, expected {expected['verdict']}")


def make(force: bool = False, golden: Path = GOLDEN) -> None:
    sys.path.insert(0, str(ROOT / "tests"))  # edltest: the test licence and portrait
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from edl import cbor
    from edl.cose import KeySigner
    from edl.issue import issue_mdoc
    from edl.mdoc import SessionTranscript
    from edl.model import Licence
    from edl.wallet import respond
    from edl.x509 import make_document_signer, make_iaca
    from edltest import NOW, TINY_JPEG, licence_json  # type: ignore[import-not-found]

    assert ISSUED_AT == NOW
    out, tampered_out = golden / CASE, golden / TAMPERED
    existing = [p for d in (out, tampered_out) if d.exists() for p in d.iterdir()]
    if existing and not force:
        raise SystemExit(
            f"{golden} already holds the vectors; they are committed and other files quote their bytes. "
            "Use --force to replace them with new ones (then update specs/credential.md)."
        )

    # Keys exist only in this process.
    root_key = ec.generate_private_key(ec.SECP256R1())
    ds_key = ec.generate_private_key(ec.SECP256R1())
    device_key = ec.generate_private_key(ec.SECP256R1())
    root = make_iaca(
        root_key,
        common_name="Qingdao IACA",
        country="CN",
        not_before=IACA_VALIDITY[0],
        not_after=IACA_VALIDITY[1],
    )
    ds = make_document_signer(
        root_key,
        root,
        ds_key.public_key(),
        common_name="Qingdao DS",
        not_before=DS_VALIDITY[0],
        not_after=DS_VALIDITY[1],
    )
    licence = Licence.from_json(licence_json("CN", TINY_JPEG))
    issued = issue_mdoc(
        licence,
        device_key=device_key.public_key(),
        signer=KeySigner(ds_key),
        signer_certificate=ds,
        now=ISSUED_AT,
        valid_from=ISSUED_AT,
        valid_until=MSO_VALID_UNTIL,
    )
    transcript_bytes = cbor.encode(cbor.wrap24(cbor.encode(TRANSCRIPT)))
    transcript = SessionTranscript.from_bytes(transcript_bytes)
    response = respond(
        issued,
        device_key=KeySigner(device_key),
        transcript=transcript,
        disclose=[(ISO, e) for e in DISCLOSED],
    )
    response_bytes = response.to_bytes()
    del root_key, ds_key, device_key

    pem = {
        "iaca.pem": root.public_bytes(serialization.Encoding.PEM),
        "ds.pem": ds.public_bytes(serialization.Encoding.PEM),
    }
    out.mkdir(parents=True, exist_ok=True)
    for name, data in {
        **pem,
        FILES["issuer_signed"]: issued.to_bytes(),
        FILES["device_response"]: response_bytes,
        FILES["session_transcript"]: transcript_bytes,
    }.items():
        (out / name).write_bytes(data)
    (out / "case.json").write_text(
        _case_json(
            "ISO 18013-5 mDL, Qingdao (CN): IACA root -> DS certificate (P-256) -> MSO signed (ES256) at "
            f"{ISSUED_AT:%Y-%m-%dT%H:%M:%SZ}, valid until {MSO_VALID_UNTIL:%Y-%m-%dT%H:%M:%SZ}; "
            "DeviceResponse "
            f"disclosing {', '.join(DISCLOSED)}, authenticated by a detached deviceSignature (ES256) over "
            "DeviceAuthenticationBytes for the SessionTranscript in session_transcript.cbor (tag 24). "
            "Green at VALIDATIONCLOCK; at VALIDATIONCLOCK_EXPIRED the MSO has expired "
            "(the certificates have not): red.",
            dict(FILES),
            {"": (VALIDATIONCLOCK, EXPECTED_GREEN), "_EXPIRED": (VALIDATIONCLOCK_EXPIRED, EXPECTED_EXPIRED)},
            disclosed=[f"{ISO}/{e}" for e in DISCLOSED],
        )
    )

    # The attack: one byte inside one IssuerSignedItem's elementValue; nothing else changes.
    doc = response.documents[0]
    item = next(i for i in doc.issuer_signed.namespaces[ISO] if i.element_identifier == TAMPER_ELEMENT)
    value = b"\x6celementValue" + cbor.encode(TAMPER_FROM.decode())
    start = response_bytes.index(item.raw)
    assert response_bytes.count(item.raw) == 1 and item.raw.count(value) == 1
    (where,) = [i for i, (a, b) in enumerate(zip(TAMPER_FROM, TAMPER_TO, strict=True)) if a != b]
    offset = start + item.raw.index(value) + len(value) - len(TAMPER_FROM) + where
    tampered = bytearray(response_bytes)
    tampered[offset] = TAMPER_TO[where]
    tampered_out.mkdir(parents=True, exist_ok=True)
    tampered_files = {k: v for k, v in FILES.items() if k != "issuer_signed"}
    for key, name in tampered_files.items():
        data = bytes(tampered) if key == "device_response" else (out / name).read_bytes()
        (tampered_out / name).write_bytes(data)
    (tampered_out / "case.json").write_text(
        _case_json(
            f"Attack: the holder's family_name changed after issuance. {CASE}/device_response.cbor "
            f"with one byte changed inside the elementValue of the {ISO}/{TAMPER_ELEMENT} IssuerSignedItem "
            f"({TAMPER_FROM.decode()!r} -> {TAMPER_TO.decode()!r}); the CBOR stays well-formed, the issuer "
            "signature and the device signature still verify (neither covers the item bytes directly), "
            "and the item's SHA-256 no longer matches its MSO digest: red, value_digests 'tampered'.",
            tampered_files,
            {"": (VALIDATIONCLOCK, EXPECTED_TAMPERED)},
            disclosed=[f"{ISO}/{e}" for e in DISCLOSED],
            tamper={
                "from_case": CASE,
                "file": FILES["device_response"],
                "offset": offset,
                "was": f"{response_bytes[offset]:02x}",
                "now": f"{tampered[offset]:02x}",
                "element": f"{ISO}/{TAMPER_ELEMENT}",
            },
        )
    )

    _check(out, VALIDATIONCLOCK, EXPECTED_GREEN)
    _check(out, VALIDATIONCLOCK_EXPIRED, EXPECTED_EXPIRED)
    _check(tampered_out, VALIDATIONCLOCK, EXPECTED_TAMPERED)
    print(f"wrote {out}/ and {tampered_out}/ (checked)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument(
        "--force", action="store_true", help="replace existing vectors (new keys, salts, signatures)"
    )
    p.add_argument("--example", action="store_true", help="print the worked example for specs/credential.md")
    args = p.parse_args(argv)
    if args.example:
        for label, text in worked_example().items():
            print(f"```{label}\n{text}\n```\n")
        return 0
    make(force=args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())

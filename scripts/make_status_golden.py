"""Write edl's golden status-list vector into tests/data/golden/status-list/ (run once).

One case, shaped like the trust-list case (``description``, ``VALIDATIONCLOCK[_X]``,
``EXPECTEDRESULTS[_X]``; see ``tests/data/golden/README.md``):

* a city ``cn-qingdao`` (Qingdao, CN): its root (IACA, made 30 days before 2026-06-01T08:00:00Z),
  a document signer and a status signer (``edl.x509.make_status_signer``, from a day before);
* its status list 1 (``urn:edl:status:cn-qingdao:1``): 32 licences at 2 bits, index 3 and 17
  revoked, index 12 suspended, sequence 1, issued 2026-06-01T08:00:00Z, valid 2 days, ttl 12 h
  (``status-list.cbor``; the root to verify it against is ``qingdao-root.pem``);
* the attack ``status-list-ds-signed.cbor``: the same claims, byte for byte, signed by the
  city's document signer with its DS certificate in ``x5chain``: ``status_signer_eku`` at every
  clock (the profile is checked before the signature and the times);
* a trust list of operator ``edl-golden-bundle-operator`` (one P-256 key, threshold 1, root
  ``operator-root.cbor``) listing cn-qingdao and jp-ichikawa (Ichikawa, JP, which publishes no
  status list), issued at the same moment, valid 7 days (``trust-list.cbor``);
* the handheld bundle of that trust list and the status list (``bundle.cbor``).

Everything is made with the library (``edl.x509``, ``edl.trust``, ``edl.status``,
``edl.bundle``) over keys held in memory; none is written. Keys, serial numbers and ECDSA
signatures are random, so running this again gives a *different* valid vector; it refuses to
overwrite unless ``--force`` (then refresh ``specs/status-list.md`` with ``--example``;
``tests/vectors/test_status_golden.py`` catches drift). The expected results come from the table
below, not from the verifier; the script then runs the verifier and stops if the two disagree.

    .venv/bin/python scripts/make_status_golden.py             # write the vector (once)
    .venv/bin/python scripts/make_status_golden.py --example   # print the spec's worked example
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "data" / "golden"
CASE = "status-list"
UTC = dt.UTC

AT = dt.datetime(2026, 6, 1, 8, 0, 0, tzinfo=UTC)
CITY = ("cn-qingdao", "Qingdao", "CN")
OTHER_CITY = ("jp-ichikawa", "Ichikawa", "JP")
OPERATOR = "edl-golden-bundle-operator"
LIST_ID, SEQUENCE, SIZE = 1, 1, 32
REVOKED, SUSPENDED = (3, 17), (12,)
LIST_VALID = dt.timedelta(days=2)
TTL = dt.timedelta(hours=12)
TRUST_DAYS = 7

VALIDATIONCLOCK = "2026-06-01T09:00:00Z"
VALIDATIONCLOCK_EXPIRED = "2026-06-04T08:00:00Z"  # after the status list's exp, before the trust list's
VALIDATIONCLOCK_NOT_YET_VALID = "2026-05-31T12:00:00Z"  # before iat (more than 5 min), signer already valid

FILES = {
    "city_root": "qingdao-root.pem",
    "operator_root": "operator-root.cbor",
    "status_list": "status-list.cbor",
    "status_list_ds_signed": "status-list-ds-signed.cbor",
    "trust_list": "trust-list.cbor",
    "bundle": "bundle.cbor",
}
VARIANTS = {
    "status_list": "the city's status list 1 as published: verify with edl.status.verify_status_list "
    "against city_root",
    "status_list_ds_signed": "attack: the same claims (payload byte for byte) signed by the city's "
    "document signer, its DS certificate in x5chain; verify as status_list",
    "bundle": "the handheld bundle of trust_list and status_list: load with edl.bundle.load_bundle, "
    "trust lists verified with edl.trust.verify_trust_list against operator_root at the same clock",
}

ELIDE_OVER = 64


def _ok() -> dict[str, Any]:
    return {"valid": True, "code": "ok"}


def _failed(code: str) -> dict[str, Any]:
    return {"valid": False, "code": code}


# clock suffix -> (clock, {variant -> expected outcome})
EXPECTED: dict[str, tuple[str, dict[str, dict[str, Any]]]] = {
    "": (
        VALIDATIONCLOCK,
        {"status_list": _ok(), "status_list_ds_signed": _failed("status_signer_eku"), "bundle": _ok()},
    ),
    "_EXPIRED": (
        VALIDATIONCLOCK_EXPIRED,
        {
            "status_list": _failed("status_expired"),
            "status_list_ds_signed": _failed("status_signer_eku"),
            "bundle": _ok(),  # an expired status list is stale, not bad: the verifiers say status_stale
        },
    ),
    "_NOT_YET_VALID": (
        VALIDATIONCLOCK_NOT_YET_VALID,
        {
            "status_list": _failed("status_not_yet_valid"),
            "status_list_ds_signed": _failed("status_signer_eku"),
            "bundle": _failed("trust_not_yet_valid"),  # the trust list is checked first
        },
    ),
}


def _time(moment: dt.datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _trust_golden() -> Any:
    spec = importlib.util.spec_from_file_location(
        "make_trust_golden", ROOT / "scripts" / "make_trust_golden.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def diag(data: bytes) -> str:
    """Diagnostic notation, byte strings over 64 bytes shortened (as in specs/trust-list.md)."""
    return str(_trust_golden().diag(data, elide_over=ELIDE_OVER))


def _wrap_hex(data: bytes, per_line: int = 32) -> str:
    h = data.hex()
    return "\n".join(h[i : i + 2 * per_line] for i in range(0, len(h), 2 * per_line))


# --- the worked example -----------------------------------------------------------------------


def worked_example(folder: Path = GOLDEN / CASE) -> dict[str, str]:
    """The pieces of the spec's worked example, computed from the committed files (keys are the
    labels of the fenced blocks in ``specs/status-list.md``)."""
    from edl import cbor
    from edl.status import decode_status_list

    data = (folder / FILES["status_list"]).read_bytes()
    token = decode_status_list(data)
    claims = cbor.decode(token.payload)
    bundle = (folder / FILES["bundle"]).read_bytes()
    return {
        "hex status-protected": token.sign1.protected_bytes.hex(),
        "hex status-packed": token.status_list.to_bytes().hex(),
        "hex status-lst": claims[65533]["lst"].hex(),
        "cbor-diag status-claims": diag(token.payload),
        "hex status-claims": _wrap_hex(token.payload),
        "cbor-diag status-token": diag(data),
        "cbor-diag bundle": diag(bundle),
        "cbor-diag bundle-content": diag(cbor.decode(bundle, max_size=1 << 26)["content"]),
    }


# --- writing the vector -------------------------------------------------------------------------


def _outcome(role: str, folder: Path, clock: str) -> str:
    from edl import x509
    from edl.bundle import load_bundle
    from edl.errors import EdlError
    from edl.status import verify_status_list
    from edl.trust import verify_root, verify_trust_list

    now = _at(clock)
    data = (folder / FILES[role]).read_bytes()
    try:
        if role == "bundle":
            root = verify_root((folder / FILES["operator_root"]).read_bytes())
            load_bundle(data, verify_trust_list=lambda raw: verify_trust_list(raw, [root], now=now), now=now)
        else:
            anchors = x509.TrustAnchors.from_pem((folder / FILES["city_root"]).read_bytes())
            verify_status_list(data, city_anchors=anchors, now=now)
    except EdlError as e:
        return e.code
    return "ok"


def _check(folder: Path) -> None:
    for suffix, (clock, outcomes) in EXPECTED.items():
        for role, want in outcomes.items():
            got = _outcome(role, folder, clock)
            if got != want["code"]:
                raise SystemExit(f"{role} at VALIDATIONCLOCK{suffix}: {got}, expected {want['code']}")


def _describe(folder: Path) -> dict[str, Any]:
    from edl import x509
    from edl.status import Status, verify_status_list

    anchors = x509.TrustAnchors.from_pem((folder / FILES["city_root"]).read_bytes())
    verified = verify_status_list(
        (folder / FILES["status_list"]).read_bytes(), city_anchors=anchors, now=_at(VALIDATIONCLOCK)
    )
    statuses = {
        str(i): Status(verified.status_list.get(i)).name.lower()
        for i in range(len(verified))
        if verified.status_list.get(i)
    }
    signer = x509.load_certificate(verified.signer_certificate)
    return {
        "status_list": {
            "uri": verified.uri,
            "city": verified.city_id,
            "list_id": verified.list_id,
            "sequence": verified.sequence,
            "issued": _time(verified.issued),
            "expires": _time(verified.expires),
            "ttl_seconds": int(verified.ttl.total_seconds()) if verified.ttl else None,
            "bits": verified.status_list.bits,
            "entries": len(verified),
            "statuses": statuses,
            "others": "valid",
            "index_outside": {"index": len(verified), "code": "status_index"},
            "signer_sha256": hashlib.sha256(verified.signer_certificate).hexdigest(),
            "signer_subject": signer.subject.rfc4514_string(),
            "signer_eku": x509.STATUS_SIGNER_EKU.dotted_string,
            "payload_sha256": verified.payload_digest.hex(),
        },
        "bundle": {
            "trust_lists": [OPERATOR],
            "status_lists": {CITY[0]: [verified.uri]},
            "cities_without_status": [OTHER_CITY[0]],
        },
    }


def _case_json(folder: Path) -> str:
    case: dict[str, Any] = {
        "description": (
            f"Status list {LIST_ID} of city {CITY[0]} ({CITY[2]}): {SIZE} licences at 2 bits, index "
            f"{' and '.join(map(str, REVOKED))} revoked, {', '.join(map(str, SUSPENDED))} suspended, "
            f"sequence {SEQUENCE}, issued {_time(AT)}, valid {LIST_VALID.days} days, signed by the city's "
            "status signer; the same claims signed by its document signer (refused); and a handheld "
            f"bundle of the list with a trust list of {OPERATOR} naming {CITY[0]} and {OTHER_CITY[0]} (which "
            "has no status list). Status lists verify with edl.status.verify_status_list against "
            f"{FILES['city_root']}; the bundle with edl.bundle.load_bundle, its trust list verified "
            f"against {FILES['operator_root']} (nothing seen before). The CLI comes in a later increment: "
            "no exit codes yet."
        ),
        "format": "edl-status-list",
    }
    for suffix, (clock, _) in EXPECTED.items():
        case["VALIDATIONCLOCK" + suffix] = clock
    case["files"] = dict(FILES)
    case["variants"] = dict(VARIANTS)
    case.update(_describe(folder))
    for suffix, (_, outcomes) in EXPECTED.items():
        case["EXPECTEDRESULTS" + suffix] = outcomes
    return json.dumps(case, ensure_ascii=False, indent=2) + "\n"


def make(force: bool = False, golden: Path = GOLDEN) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from edl import cbor, cose
    from edl.bundle import build_bundle
    from edl.cose import KeySigner
    from edl.status import StatusList, sign_status_list, status_uri
    from edl.trust import (
        CityEntry,
        SignerEntry,
        TrustList,
        TrustRoot,
        operator_key_id,
        sign_root,
        sign_trust_list,
    )
    from edl.x509 import certificate_der, make_document_signer, make_iaca, make_status_signer

    out = golden / CASE
    if out.exists() and any(out.iterdir()) and not force:
        raise SystemExit(
            f"{out} already holds the vector; it is committed and specs/status-list.md quotes its bytes. "
            "Use --force to replace it with a new one (then update the spec with --example)."
        )

    def key() -> ec.EllipticCurvePrivateKey:
        return ec.generate_private_key(ec.SECP256R1())

    cities = {}
    for city_id, name, country in (CITY, OTHER_CITY):
        root_key = key()
        root = make_iaca(
            root_key,
            common_name=f"{name} IACA",
            country=country,
            not_before=AT - dt.timedelta(days=30),
            not_after=AT + dt.timedelta(days=3650),
        )
        ds_key = key()
        ds = make_document_signer(
            root_key,
            root,
            ds_key.public_key(),
            common_name=f"{name} DS",
            not_before=AT - dt.timedelta(days=1),
            not_after=AT + dt.timedelta(days=400),
        )
        cities[city_id] = (name, country, root_key, root, ds_key, ds)
    name, country, root_key, root, ds_key, ds = cities[CITY[0]]
    status_key = key()
    status_cert = make_status_signer(
        root_key,
        root,
        status_key.public_key(),
        common_name=f"{name} status lists",
        not_before=AT - dt.timedelta(days=1),
        not_after=AT + dt.timedelta(days=365),
    )
    lst = StatusList(SIZE)
    for i in REVOKED:
        lst.revoke(i)
    for i in SUSPENDED:
        lst.suspend(i)
    status_bytes = sign_status_list(
        lst,
        KeySigner(status_key),
        [status_cert],
        uri=status_uri(CITY[0], LIST_ID),
        sequence=SEQUENCE,
        issued=AT,
        expires=AT + LIST_VALID,
        ttl=TTL,
    )
    genuine = cose.CoseSign1.from_value(cbor.decode(status_bytes))
    assert genuine.payload is not None
    ds_signed = cose.sign1(
        KeySigner(ds_key),
        genuine.payload,
        protected={16: genuine.protected[16]},
        unprotected={cose.Header.X5CHAIN: certificate_der(ds)},
        tagged=True,
    )

    op = KeySigner(key())
    op_root = TrustRoot(
        name=OPERATOR,
        version=1,
        threshold=1,
        keys={operator_key_id(op.public_key()): op.public_key()},
        expires=AT + dt.timedelta(days=5 * 365),
    )
    root_bytes = sign_root(op_root, [op])
    entries = tuple(
        CityEntry(
            id=city_id,
            name=c[0],
            country=c[1],
            roots=(certificate_der(c[3]),),
            signers=(SignerEntry(certificate=certificate_der(c[5])),),
        )
        for city_id, c in cities.items()
    )
    trust_list = sign_trust_list(
        TrustList(
            provider=OPERATOR,
            sequence=1,
            issued=AT,
            next_update=AT + dt.timedelta(days=TRUST_DAYS // 2),
            expires=AT + dt.timedelta(days=TRUST_DAYS),
            root_version=1,
            cities=entries,
        ),
        [op],
        [root_bytes],
    )
    bundle = build_bundle([trust_list], [status_bytes])
    del op, status_key, ds_key, root_key, cities

    out.mkdir(parents=True, exist_ok=True)
    for old in out.iterdir():
        old.unlink()
    written = {
        "city_root": root.public_bytes(serialization.Encoding.PEM),
        "operator_root": root_bytes,
        "status_list": status_bytes,
        "status_list_ds_signed": ds_signed,
        "trust_list": trust_list,
        "bundle": bundle,
    }
    for role, file_name in FILES.items():
        (out / file_name).write_bytes(written[role])
    _check(out)
    (out / "case.json").write_text(_case_json(out), encoding="utf-8")
    print(f"wrote {out}/ (checked)")


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(ROOT))
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    p.add_argument("--force", action="store_true", help="replace the existing vector (new keys, signatures)")
    p.add_argument("--example", action="store_true", help="print the worked example for specs/status-list.md")
    args = p.parse_args(argv)
    if args.example:
        for label, text in worked_example().items():
            print(f"```{label}\n{text}\n```\n")
        return 0
    make(force=args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())

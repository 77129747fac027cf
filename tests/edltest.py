"""Test helpers shared by the suites: the fixed clock, a test city, a licence. Importable as
`edltest` (pytest puts tests/ on the path). No work happens at import time."""

from __future__ import annotations

import base64
import datetime as dt
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from edl.x509 import make_document_signer, make_iaca

NOW = dt.datetime(2026, 6, 1, 8, 0, 0, tzinfo=dt.UTC)
DATA = Path(__file__).parent / "data"
VECTORS = DATA / "vectors"

# A 1x1 grey JPEG that decodes (Pillow's, without its JFIF header): about the smallest portrait
# Licence.from_json accepts (it decodes the portrait whole); keeps bit-flip and fuzz tests fast.
TINY_JPEG = bytes.fromhex(
    "ffd8ffdb004300" + "01" * 64 + "ffc0000b080001000101011100"
    "ffc40014000100000000000000000000000000000000ffc40014100100000000000000000000000000000000"
    "ffda0008010100003f003fffd9"
)


@dataclass(frozen=True)
class City:
    root_key: ec.EllipticCurvePrivateKey
    root: x509.Certificate
    ds_key: ec.EllipticCurvePrivateKey
    ds: x509.Certificate


def make_city(name: str = "Qingdao", country: str = "CN", *, now: dt.datetime = NOW) -> City:
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = make_iaca(
        root_key,
        common_name=f"{name} IACA",
        country=country,
        not_before=now - dt.timedelta(days=30),
        not_after=now + dt.timedelta(days=3650),
    )
    ds_key = ec.generate_private_key(ec.SECP256R1())
    ds = make_document_signer(
        root_key,
        root,
        ds_key.public_key(),
        common_name=f"{name} DS",
        not_before=now - dt.timedelta(days=1),
        not_after=now + dt.timedelta(days=400),
    )
    return City(root_key=root_key, root=root, ds_key=ds_key, ds=ds)


def licence_json(country: str = "CN", portrait: bytes = TINY_JPEG) -> dict:
    return {
        "family_name": "Zhang",
        "given_name": "Wei",
        "family_name_national_character": "张",
        "given_name_national_character": "伟",
        "birth_date": "1990-03-14",
        "issue_date": "2024-01-15",
        "expiry_date": "2034-01-14",
        "issuing_country": country,
        "issuing_authority": "Qingdao PSB",
        "document_number": "QD-0001",
        "portrait": base64.b64encode(portrait).decode(),
        "driving_privileges": [
            {"vehicle_category_code": "C1", "issue_date": "2012-06-01", "expiry_date": "2034-01-14"}
        ],
        "un_distinguishing_sign": "CHN",
        "age_over_18": True,
    }


def operator_keys(n: int) -> list:
    """``n`` fresh P-256 operator signers."""
    from cryptography.hazmat.primitives.asymmetric import ec as _ec

    from edl.cose import KeySigner

    return [KeySigner(_ec.generate_private_key(_ec.SECP256R1())) for _ in range(n)]


def operator_root(signers: list, version: int = 1, threshold: int = 2, name: str = "CN-MPS", *, now=NOW):
    """A trust-list operator root over ``signers`` (ten years from ``now``)."""
    from edl.trust import TrustRoot, operator_key_id

    return TrustRoot(
        name=name,
        version=version,
        threshold=threshold,
        keys={operator_key_id(s.public_key()): s.public_key() for s in signers},
        expires=now + dt.timedelta(days=3650),
    )


def malleate_certificate(der: bytes) -> bytes:
    """The same certificate with its ECDSA signature (r, s) rewritten as (r, n − s): still valid
    under the issuer's key, other bytes, another SHA-256 (what anyone can do without a key)."""
    from cryptography import x509 as _x509
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

    from edl.x509 import der_length

    n = {
        "secp256r1": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
        "secp384r1": int(
            "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973",
            16,
        ),
    }
    cert = _x509.load_der_x509_certificate(der)
    r, s_ = decode_dss_signature(cert.signature)
    sig = encode_dss_signature(r, n[_issuer_curve(cert)] - s_)
    old_bits = b"\x03" + der_length(len(cert.signature) + 1) + b"\x00" + cert.signature
    assert der.endswith(old_bits)
    body_start = len(der) - len(der[der.index(cert.tbs_certificate_bytes) :])
    middle = der[body_start : len(der) - len(old_bits)]
    body = middle + b"\x03" + der_length(len(sig) + 1) + b"\x00" + sig
    return b"\x30" + der_length(len(body)) + body


def _issuer_curve(cert) -> str:
    algo = cert.signature_hash_algorithm
    return "secp384r1" if algo is not None and algo.name == "sha384" else "secp256r1"


def make_trust_list(
    cities: dict, *, now: dt.datetime = NOW, revoked: dict | None = None, retired: dict | None = None
):
    """A verified trust list (1-of-1 operator) listing ``cities``: {city_id: (City, country)}.

    ``revoked`` / ``retired``: {city_id: [City objects whose DS is revoked / retired]}."""
    from cryptography.hazmat.primitives.asymmetric import ec as _ec

    from edl.cose import KeySigner
    from edl.trust import (
        CityEntry,
        SignerEntry,
        TrustList,
        TrustRoot,
        operator_key_id,
        sign_root,
        sign_trust_list,
        verify_trust_list,
    )
    from edl.x509 import RevokedSigner, certificate_der

    op = KeySigner(_ec.generate_private_key(_ec.SECP256R1()))
    root = TrustRoot(
        name="TEST-OPS",
        version=1,
        threshold=1,
        keys={operator_key_id(op.public_key()): op.public_key()},
        expires=now + dt.timedelta(days=365),
    )
    entries = []
    for cid, (city, country) in cities.items():
        signers = [SignerEntry(certificate=certificate_der(city.ds))]
        for old in (retired or {}).get(cid, []):
            signers.append(SignerEntry(certificate=certificate_der(old.ds), status="retired"))
        rev = tuple(RevokedSigner.of(certificate_der(c.ds)) for c in (revoked or {}).get(cid, []))
        entries.append(
            CityEntry(
                id=cid,
                name=cid,
                country=country,
                roots=(certificate_der(city.root),),
                signers=tuple(signers),
                revoked=rev,
            )
        )
    tl = TrustList(
        provider="TEST-OPS",
        sequence=1,
        issued=now,
        next_update=now + dt.timedelta(days=1),
        expires=now + dt.timedelta(days=7),
        root_version=1,
        cities=tuple(entries),
    )
    return verify_trust_list(sign_trust_list(tl, [op], [sign_root(root, [op])]), [root], now=now)


def issue_to_wallet(
    city: City,
    phone: ec.EllipticCurvePrivateKey,
    licence: Any,
    *,
    city_id: str = "cn-qingdao",
    now: dt.datetime = NOW,
) -> tuple[Any, Any]:
    """Issue ``licence`` (an ``edl.model.Licence``) for ``phone`` by ``city``'s DS and put it in
    the phone's wallet: ``(IssuedLicence, Wallet)``."""
    from edl.cose import KeySigner
    from edl.credentials import issue_licence
    from edl.issue import DocumentSigner
    from edl.wallet import Wallet

    issued = issue_licence(
        licence,
        city=city_id,
        device_key=phone.public_key(),
        signer=DocumentSigner(KeySigner(city.ds_key), city.ds),
        now=now,
    )
    wallet = Wallet(phone)
    wallet.add(issued.compact, issued.thumbnail)
    return issued, wallet


def load_script(path: Path) -> Any:
    """A script of scripts/ (a golden-vector writer) imported as a module."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cose_private_parts(value: Any) -> list[Any]:
    """COSE_Key ``d`` (label -4) anywhere in a decoded CBOR value, tag-24 contents included."""
    from edl import cbor

    if isinstance(value, cbor.CBORTag):
        inner = value.value
        if value.tag == 24 and isinstance(inner, bytes):
            return cose_private_parts(cbor.decode(inner))
        return cose_private_parts(inner)
    if isinstance(value, dict):
        found = [value[-4]] if -4 in value else []
        return found + [d for k, v in value.items() for d in cose_private_parts(k) + cose_private_parts(v)]
    if isinstance(value, (list, tuple)):
        return [d for v in value for d in cose_private_parts(v)]
    return []


def signed_parts(data: bytes) -> list[bytes]:
    """The bytes of a COSE_Sign and of everything signed inside it (payload, edl-roots)."""
    from edl import cose

    signed = cose.decode_sign(data)
    parts = [data, signed.payload]
    for raw in signed.unprotected.get("edl-roots", []):
        parts.extend(signed_parts(raw))
    return parts


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """Run the `edl` command in-process: (exit code, stdout, stderr)."""
    from edl.cli import main

    capsys.readouterr()
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err

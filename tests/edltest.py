"""Test helpers shared by the suites: the fixed clock, a test city, a licence. Importable as
`edltest` (pytest puts tests/ on the path). No work happens at import time."""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from edl.x509 import make_document_signer, make_iaca

NOW = dt.datetime(2026, 6, 1, 8, 0, 0, tzinfo=dt.UTC)
DATA = Path(__file__).parent / "data"
VECTORS = DATA / "vectors"

# Smallest JPEG-looking portrait (SOI ... EOI): keeps bit-flip and fuzz tests fast.
TINY_JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")


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

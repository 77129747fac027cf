"""Document-signer certificates outside the ISO 18013-5 Annex B.1.4 profile, one row per way a
certificate can break it, each refused by the verifier with its own code. The rogue
certificates are really signed by the city's root: only the profile check stands in the way."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from edl.cose import KeySigner
from edl.issue import issue_mdoc
from edl.verify import CheckStatus, Verdict, verify_issuer_signed
from edl.x509 import DS_EKU
from edltest import NOW

DAY = dt.timedelta(days=1)


def _ku(digital: bool = True, cert_sign: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


@dataclass
class Row:
    id: str
    code: str
    country: str = "CN"
    days: int = 90
    eku: tuple = (DS_EKU,)
    key_usage: Callable[[], x509.KeyUsage | None] = _ku
    ca: bool | None = None


ROWS = [
    Row("too-long-validity", "ds_validity_period", days=458),
    Row("wrong-eku-code-signing", "ds_eku", eku=(ExtendedKeyUsageOID.CODE_SIGNING,)),
    Row("no-eku", "ds_eku", eku=()),
    Row("wrong-country", "ds_country", country="JP"),
    Row("key-usage-cert-sign", "ds_key_usage", key_usage=lambda: _ku(cert_sign=True)),
    Row("no-digital-signature", "ds_key_usage", key_usage=lambda: _ku(digital=False)),
    Row("no-key-usage", "ds_key_usage", key_usage=lambda: None),
    Row("is-a-ca", "ds_is_ca", ca=True),
]


def _rogue_ds(city, row: Row):
    key = ec.generate_private_key(ec.SECP256R1())
    b = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.COUNTRY_NAME, row.country),
                    x509.NameAttribute(NameOID.COMMON_NAME, f"rogue {row.id}"),
                ]
            )
        )
        .issuer_name(city.root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - DAY)
        .not_valid_after(NOW - DAY + row.days * DAY)
    )
    if row.eku:
        b = b.add_extension(x509.ExtendedKeyUsage(list(row.eku)), critical=True)
    ku = row.key_usage()
    if ku is not None:
        b = b.add_extension(ku, critical=True)
    if row.ca is not None:
        b = b.add_extension(x509.BasicConstraints(ca=row.ca, path_length=None), critical=True)
    return key, b.sign(city.root_key, hashes.SHA256())


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_ds_outside_profile_is_refused(row: Row, city, device_key, licence):
    key, cert = _rogue_ds(city, row)
    issued = issue_mdoc(
        licence, device_key=device_key.public_key(), signer=KeySigner(key), signer_certificate=cert, now=NOW
    )
    result = verify_issuer_signed(issued.to_bytes(), trust=[city.root], now=NOW)
    assert result.verdict is Verdict.RED
    check = result.check("ds_profile")
    assert (check.status, check.code) == (CheckStatus.FAILED, row.code)
    assert result.check("certificate_chain").status is CheckStatus.PASSED  # really signed by the root
    assert result.documents == ()  # nothing from an unfit signer is shown


def test_the_city_ds_fits_the_profile(city, issued):
    result = verify_issuer_signed(issued.to_bytes(), trust=[city.root], now=NOW)
    assert result.check("ds_profile").status is CheckStatus.PASSED

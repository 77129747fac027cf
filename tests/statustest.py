"""Test helpers for status lists and bundles: a city's status signer, tokens signed as edl signs
them or by hand (for the attack rows), and trust lists as published bytes. Importable as
``statustest`` (pytest puts tests/ on the path). No work happens at import time."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from edl import cbor, cose
from edl.cose import KeySigner
from edl.status import STATUS_LIST_TYP, TYP_HEADER, StatusList, sign_status_list, status_uri
from edl.trust import (
    CityEntry,
    SignerEntry,
    TrustList,
    TrustRoot,
    operator_key_id,
    sign_root,
    sign_trust_list,
)
from edl.x509 import RevokedSigner, certificate_der, make_status_signer
from edltest import NOW, City

DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class StatusSigner:
    """A city's status signer: its key and certificate (under the city's root)."""

    city: City
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @property
    def signer(self) -> KeySigner:
        return KeySigner(self.key)

    @property
    def der(self) -> bytes:
        return certificate_der(self.cert)


def make_status_signer_for(
    city: City, *, not_before: dt.datetime = NOW - DAY, not_after: dt.datetime = NOW + 400 * DAY
) -> StatusSigner:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = make_status_signer(
        city.root_key,
        city.root,
        key.public_key(),
        common_name="status signer",
        not_before=not_before,
        not_after=not_after,
    )
    return StatusSigner(city=city, key=key, cert=cert)


def sample_list(size: int = 1000, *, revoked: tuple[int, ...] = (412,), suspended: tuple[int, ...] = (7,)):
    lst = StatusList(size)
    for i in revoked:
        lst.revoke(i)
    for i in suspended:
        lst.suspend(i)
    return lst


def token(
    ss: StatusSigner,
    lst: StatusList | None = None,
    *,
    city_id: str = "cn-qingdao",
    list_id: int = 1,
    sequence: int = 1,
    issued: dt.datetime = NOW,
    expires: dt.datetime = NOW + 2 * DAY,
) -> bytes:
    """A status list token as edl signs it."""
    return sign_status_list(
        sample_list() if lst is None else lst,
        ss.signer,
        [ss.cert],
        uri=status_uri(city_id, list_id),
        sequence=sequence,
        issued=issued,
        expires=expires,
    )


def claims_for(
    lst: StatusList | None = None,
    *,
    uri: str = "urn:edl:status:cn-qingdao:1",
    sequence: int | None = 1,
    issued: dt.datetime = NOW,
    expires: dt.datetime | None = NOW + 2 * DAY,
) -> dict[int, Any]:
    """The claims edl would sign, as a dict to change before :func:`raw_token` signs it."""
    claims: dict[int, Any] = {2: uri, 6: int(issued.timestamp()), 65533: (lst or sample_list()).to_value()}
    if expires is not None:
        claims[4] = int(expires.timestamp())
    if sequence is not None:
        claims[-65537] = sequence
    return claims


def raw_token(
    signer: cose.Signer,
    chain: list[bytes],
    claims: Any,
    *,
    typ: Any = STATUS_LIST_TYP,
    payload: bytes | None = None,
) -> bytes:
    """A token signed by hand: any claims, any chain, any typ (for the attack rows)."""
    protected = {} if typ is None else {TYP_HEADER: typ}
    x5 = {} if not chain else {cose.Header.X5CHAIN: chain[0] if len(chain) == 1 else chain}
    return cose.sign1(
        signer,
        cbor.encode(claims) if payload is None else payload,
        protected=protected,
        unprotected=x5,
        tagged=True,
    )


@dataclass(frozen=True)
class PublishedTrustList:
    data: bytes
    root: TrustRoot
    op: KeySigner


def publish_trust_list(
    cities: dict[str, tuple[City, str]],
    *,
    now: dt.datetime = NOW,
    sequence: int = 1,
    revoked: dict[str, list[bytes]] | None = None,
    provider: str = "TEST-OPS",
    op: KeySigner | None = None,
) -> PublishedTrustList:
    """A trust list (1-of-1 operator) listing ``cities`` ({id: (City, country)}), as published.

    ``revoked``: {city id: [DER certificates the city revoked]} (status signers too)."""
    op = op or KeySigner(ec.generate_private_key(ec.SECP256R1()))
    root = TrustRoot(
        name=provider,
        version=1,
        threshold=1,
        keys={operator_key_id(op.public_key()): op.public_key()},
        expires=now + 365 * DAY,
    )
    entries = tuple(
        CityEntry(
            id=cid,
            name=cid,
            country=country,
            roots=(certificate_der(city.root),),
            signers=(SignerEntry(certificate=certificate_der(city.ds)),),
            revoked=tuple(RevokedSigner.of(d) for d in (revoked or {}).get(cid, [])),
        )
        for cid, (city, country) in cities.items()
    )
    tl = TrustList(
        provider=provider,
        sequence=sequence,
        issued=now,
        next_update=now + DAY,
        expires=now + 7 * DAY,
        root_version=1,
        cities=entries,
    )
    return PublishedTrustList(data=sign_trust_list(tl, [op], [sign_root(root, [op])]), root=root, op=op)

"""Issuer SDK: a licence + the holder's device key + a document signer + the time → IssuerSigned.

This module owns the issuing recipe and its refusals: a validity that outlives the
document-signer certificate, a signer whose key does not match its certificate, or a
time outside that certificate's validity. It never reads the clock: ``now`` is an argument.
It does not store keys (``edl.keys``) or present credentials (``edl.wallet``).

>>> # signer = DocumentSigner(KeySigner(ds_key), ds_cert)  # once, at start-up
>>> # issued = issue_mdoc(licence, device_key=phone_pub, signer=signer, now=now)
>>> # data = issued.to_bytes()
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import struct
from collections.abc import Sequence

from cryptography import x509

from . import cbor, cose
from .mdoc.issuer_signed import IssuerSigned
from .mdoc.items import RANDOM_LENGTH, IssuerSignedItem, frame
from .mdoc.mso import StatusReference, encode_mso
from .mdoc.namespaces import SCALARS, to_cbor_value
from .model import Licence
from .x509 import certificate_der

__all__ = ["DEFAULT_VALIDITY", "DocumentSigner", "issue_mdoc"]

DEFAULT_VALIDITY = _dt.timedelta(days=365)
"""MSO validity when none is given (cut to the DS certificate's notAfter and the licence expiry)."""
_LAST_FULL_VALIDITY = _dt.datetime.max.replace(tzinfo=_dt.UTC) - DEFAULT_VALIDITY


class DocumentSigner:
    """A document-signer key with its certificate, checked once and reused for every licence.

    Refuses a key that does not belong to the certificate. ``chain`` adds certificates after
    the DS certificate in ``x5chain`` (normally none: verifiers hold the root).
    """

    __slots__ = ("signer", "certificate", "not_before", "not_after", "x5chain")

    def __init__(
        self, signer: cose.Signer, certificate: x509.Certificate, chain: Sequence[x509.Certificate] = ()
    ) -> None:
        if signer.public_key() != certificate.public_key():
            raise ValueError("the signing key does not belong to the document signer certificate")
        self.signer = signer
        self.certificate = certificate
        self.not_before = certificate.not_valid_before_utc
        self.not_after = certificate.not_valid_after_utc
        ders = [certificate_der(c) for c in (certificate, *chain)]
        self.x5chain: bytes | list[bytes] = ders[0] if len(ders) == 1 else ders

    def __repr__(self) -> str:
        return f"DocumentSigner({self.certificate.subject.rfc4514_string()})"


def issue_mdoc(
    licence: Licence,
    *,
    device_key: cose.PublicKey,
    signer: cose.Signer | DocumentSigner,
    signer_certificate: x509.Certificate | None = None,
    now: _dt.datetime,
    valid_from: _dt.datetime | None = None,
    valid_until: _dt.datetime | None = None,
    status: StatusReference | None = None,
    chain: Sequence[x509.Certificate] = (),
) -> IssuerSigned:
    """Sign ``licence`` for the holder of ``device_key``; returns the IssuerSigned.

    ``signer`` is the :class:`DocumentSigner` (the DS key with its certificate, made once and
    reused for every licence)::

        signer = DocumentSigner(KeySigner(ds_key), ds_cert)
        issued = issue_mdoc(licence, device_key=phone_public_key, signer=signer, now=now)

    ``valid_until`` defaults to ``now`` + 365 days, shortened to the licence's expiry date and
    to the DS certificate's notAfter. An explicit ``valid_until`` beyond the DS certificate's
    notAfter raises ``ValueError``. ``status`` puts the credential's place in its city's status
    list into the MSO. ``issued.to_bytes()`` gives the IssuerSigned to send, framed around the
    bytes made here (nothing is encoded twice).
    """
    # Older callers pass a bare Signer with signer_certificate= (and chain=): still accepted, so
    # they keep working, but no longer documented; a DocumentSigner is checked once, not per call.
    if not isinstance(signer, DocumentSigner):
        if signer_certificate is None:
            raise TypeError("signer must be a DocumentSigner(KeySigner(ds_key), ds_certificate)")
        signer = DocumentSigner(signer, signer_certificate, chain)
    elif signer_certificate is not None or chain:
        raise TypeError("a DocumentSigner already carries its certificate and chain")
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    cose.algorithm_for_key(device_key)  # refuse a device key we could not verify with
    not_before, not_after = signer.not_before, signer.not_after
    if not (not_before <= now <= not_after):
        window = f"{not_before:%Y-%m-%d} .. {not_after:%Y-%m-%d}"
        raise ValueError(f"the document signer certificate is not valid now ({window})")
    start = valid_from if valid_from is not None else now
    if valid_until is None:
        # a year from now, cut to the DS certificate and the licence (neither bound may exist
        # within the years Python holds: a licence expiring on 9999-12-31, now in year 9999)
        bounds = [not_after]
        if now <= _LAST_FULL_VALIDITY:
            bounds.append(now + DEFAULT_VALIDITY)
        expires_at = licence.expires_at
        if expires_at is not None:
            bounds.append(expires_at)
        end = min(bounds)
    else:
        end = valid_until
        if end > not_after:
            raise ValueError(
                f"valid-until {end:%Y-%m-%dT%H:%M:%SZ} is after the document signer certificate's "
                f"notAfter {not_after:%Y-%m-%dT%H:%M:%SZ}"
            )
    if start.utcoffset() is None or end.utcoffset() is None:
        raise ValueError("validity times must be timezone-aware")
    if start < not_before:
        raise ValueError("valid-from is before the document signer certificate's notBefore")
    if end <= start:
        raise ValueError("valid-until must be after valid-from")

    namespaces = licence.namespaces()
    total = sum(map(len, namespaces.values()))
    # Digest IDs are shuffled so they reveal nothing about the elements (§9.1.2.5); one read
    # of the system's randomness gives the shuffle's keys and every item's salt.
    randomness = os.urandom((4 + RANDOM_LENGTH) * total)
    keys = struct.unpack_from(f">{total}I", randomness)
    ids = sorted(range(total), key=keys.__getitem__)
    salts = randomness[4 * total :]
    items: dict[str, tuple[IssuerSignedItem, ...]] = {}
    digests: dict[str, dict[int, bytes]] = {}
    n = 0
    new_item = tuple.__new__
    sha256 = hashlib.sha256
    heads = cbor.TAG24_HEADS
    scalars = SCALARS
    for ns, elements in namespaces.items():
        made = []
        ns_digests = {}
        for ident, value in elements.items():
            did = ids[n]
            salt = salts[n * RANDOM_LENGTH : (n + 1) * RANDOM_LENGTH]
            n += 1
            cbor_value = value if type(value) in scalars else to_cbor_value(value)
            raw = frame(did, ident, cbor_value, salt)
            # the digest of IssuerSignedItemBytes, from the bytes just framed (kept in the item:
            # to_bytes() sends these very bytes)
            size = len(raw)
            if size < 256:
                ns_digests[did] = sha256(heads[size] + raw).digest()
            else:
                h = sha256(cbor.tag24_head(size))
                h.update(raw)
                ns_digests[did] = h.digest()
            made.append(new_item(IssuerSignedItem, (did, salt, ident, cbor_value, raw)))
        items[ns] = tuple(made)
        digests[ns] = ns_digests

    # The MSO's bytes straight from the values checked above (the same bytes as
    # MobileSecurityObject(...).to_bytes(), without building the objects).
    payload = encode_mso(
        licence.doc_type,
        digests,
        device_key,
        signed=now,
        valid_from=start,
        valid_until=end,
        status=status,
    )
    key = signer.signer
    auth = cose.sign1_body(key, payload, unprotected={cose.Header.X5CHAIN: signer.x5chain})
    issuer_auth = cose.CoseSign1(
        protected_bytes=auth[0],
        protected={cose.Header.ALG: int(key.algorithm)},
        unprotected=auth[1],
        payload=payload,
        signature=auth[3],
        algorithm=key.algorithm,
    )
    return IssuerSigned(namespaces=items, issuer_auth=issuer_auth, issuer_auth_value=auth)

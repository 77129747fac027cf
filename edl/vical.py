"""ISO/IEC 18013-5 Annex C VICALs (Verified Issuer Certificate Authority Lists) as a source of roots.

This module owns reading a VICAL someone else published (AAMVA's Digital Trust Service is the
one real example): decoding it strictly, checking that its signer chains to a root the caller
trusts, checking its COSE_Sign1 signature and its currency (``date`` .. ``nextUpdate``), and
turning its ``certificateInfos`` into plain per-authority data for ``edl.trust``. It does not
build, sign or publish trust lists (``edl.trust``), judge the listed IACA certificates against
their profile, or fetch anything: the caller brings the bytes, the trusted roots and the time.

What a VICAL is (Annex C, C.1.7.1)::

    VICAL = COSE_Sign1 over {                  ; x5chain (label 33) = [signer, CA..., root]
      "version": tstr, "vicalProvider": tstr, "date": tdate,
      ? "vicalIssueID": uint, ? "nextUpdate": tdate, ? "vicalURL": tstr,
      "certificateInfos": [* CertificateInfo], ? "extensions": {...}, * tstr => any }
    CertificateInfo = {
      "certificate": bstr, "serialNumber": biguint, "ski": bstr, "docType": [+ tstr],
      ? "certificateProfile": [+ tstr], ? "issuingAuthority": tstr, ? "issuingCountry": tstr,
      ? "stateOrProvinceName": tstr, ? "issuer": bstr, ? "subject": bstr,
      ? "notBefore": tdate, ? "notAfter": tdate, ? "extensions": {...}, * tstr => any }

Policy, stricter than the CDDL on purpose (fail closed):

* ``nextUpdate`` is required: a list that never goes stale is refused (``UnsupportedError``).
  The list is current while ``date <= now < nextUpdate``; outside, and when the signer's or a
  chain certificate's validity does not cover ``now``, :class:`~edl.errors.TrustListExpiredError`.
* The signer certificate (``x5chain[0]``) must carry the VICAL-signer EKU ``1.0.18013.5.1.8``,
  must not be a CA, and must chain (through the rest of ``x5chain``) to one of the CA
  certificates the caller trusts; a trusted signer certificate alone (a pin) is not enough.
* The signer's key decides the COSE algorithm (``edl.cose`` rules).
* Unknown and mis-cased keys (the real AAMVA file writes ``Extensions`` and
  ``CertificateProfile``) are kept in ``extras`` and never interpreted. The copies of
  certificate fields (``serialNumber``, ``ski``, ``issuer``, ``notBefore`` …) are kept as given and
  not trusted: the certificate itself is authoritative. Only ``issuingCountry`` is checked
  against the certificate's ``countryName``, because roots are filed by country.

>>> vical = load_vical(data, trusted_roots=[aamva_root], now=now)  # doctest: +SKIP
>>> sorted(vical.roots_by_country())  # doctest: +SKIP
['US']
>>> vical_city_entries(vical)[0]["id"]  # doctest: +SKIP
'US-MD'
"""

from __future__ import annotations

import datetime as _dt
import re
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509 as _x509
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519
from cryptography.x509.oid import NameOID

from . import cbor, cose, x509
from .errors import (
    CertificateProfileError,
    ExpiredError,
    MalformedError,
    NotYetValidError,
    TrustListExpiredError,
    UnsupportedError,
    UntrustedIssuerError,
    safe_repr,
)
from .mdoc.namespaces import DOC_TYPE_MDL

__all__ = [
    "MAX_VICAL_SIZE",
    "VICAL_SIGNER_EKU",
    "Vical",
    "VicalEntry",
    "load_vical",
    "vical_city_entries",
]

MAX_VICAL_SIZE = 1 << 18
"""Largest VICAL :func:`load_vical` reads (256 KiB). AAMVA's 14 roots take 21 KB, about 1.5 KB
per root: room for roughly 150 roots, a generous allowance for a national or regional list."""

MAX_CHAIN = 8
"""Most certificates accepted in the VICAL's x5chain (AAMVA sends 3)."""

VICAL_SIGNER_EKU = _x509.ObjectIdentifier("1.0.18013.5.1.8")
"""Extended key usage of a VICAL signer certificate (ISO/IEC 18013-5 Annex B)."""

_VERSION_MAJOR = "1"
_COUNTRY = re.compile(r"[A-Z]{2}(-[A-Z0-9]{1,3})?")
_VICAL_KEYS = frozenset(
    {"version", "vicalProvider", "date", "vicalIssueID", "nextUpdate", "certificateInfos"}
)
_ENTRY_KEYS = frozenset(
    {
        "certificate",
        "serialNumber",
        "ski",
        "docType",
        "certificateProfile",
        "issuingAuthority",
        "issuingCountry",
        "stateOrProvinceName",
    }
)


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return types.MappingProxyType(dict(mapping))


@dataclass(frozen=True, slots=True, kw_only=True)
class VicalEntry:
    """One ``CertificateInfo``: a root (IACA) certificate and what the VICAL says about it.

    ``issuing_country`` is ``issuingCountry`` as written (ISO 3166-1, or 3166-2 such as
    ``US-MD``), or the certificate's ``countryName`` when the VICAL omits it; ``country`` is
    its ISO 3166-1 alpha-2 part. ``extras`` holds every other key, unchanged.
    """

    certificate: bytes = field(repr=False)
    serial_number: int
    ski: bytes = field(repr=False)
    doc_types: tuple[str, ...]
    issuing_country: str
    issuing_authority: str | None = None
    state: str | None = None
    certificate_profiles: tuple[str, ...] = ()
    extras: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def country(self) -> str:
        """ISO 3166-1 alpha-2 country of the issuing authority."""
        return self.issuing_country[:2]

    @classmethod
    def from_value(cls, value: Any, *, index: int = 0) -> VicalEntry:
        """Parse one decoded ``CertificateInfo`` map (raises ``MalformedError``)."""
        what = f"VICAL certificateInfos[{index}]"
        if not isinstance(value, Mapping):
            raise MalformedError(f"{what} must be a map")
        _text_keys(value, what)
        certificate = _bytes(value.get("certificate"), f"{what} certificate")
        cert = x509.load_certificate(certificate)
        serial = value.get("serialNumber")
        if not isinstance(serial, int) or isinstance(serial, bool) or serial < 0:
            raise MalformedError(f"{what} serialNumber must be an unsigned integer")
        doc_types = _texts(value.get("docType"), f"{what} docType")
        profiles = value.get("certificateProfile")
        cert_country = _subject_country(cert)
        country = value.get("issuingCountry")
        if country is None:
            if cert_country is None:
                raise MalformedError(f"{what} names no country, nor does its certificate")
            country = cert_country
        country = _text(country, f"{what} issuingCountry")
        if not _COUNTRY.fullmatch(country):
            raise MalformedError(f"{what} issuingCountry {safe_repr(country)} is not an ISO 3166 code")
        if cert_country is not None and cert_country != country[:2]:
            raise MalformedError(f"{what} is listed for {country} but its certificate is from {cert_country}")
        authority = value.get("issuingAuthority")
        state = value.get("stateOrProvinceName")
        return cls(
            certificate=certificate,
            serial_number=serial,
            ski=_bytes(value.get("ski"), f"{what} ski"),
            doc_types=doc_types,
            issuing_country=country,
            issuing_authority=None if authority is None else _text(authority, f"{what} issuingAuthority"),
            state=None if state is None else _text(state, f"{what} stateOrProvinceName"),
            certificate_profiles=() if profiles is None else _texts(profiles, f"{what} certificateProfile"),
            extras=_frozen({k: v for k, v in value.items() if k not in _ENTRY_KEYS}),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Vical:
    """A VICAL whose signature, signer chain and currency were checked by :func:`load_vical`.

    ``payload`` is the signed bytes as received; ``signer`` the signer certificate (DER);
    ``extras`` every top-level key not named here (``vicalURL``, ``extensions`` …), unchanged.
    """

    provider: str
    date: _dt.datetime
    issue_id: int | None
    next_update: _dt.datetime
    entries: tuple[VicalEntry, ...]
    version: str = "1.0"
    signer: bytes = field(default=b"", repr=False)
    payload: bytes = field(default=b"", repr=False, compare=False)
    extras: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def roots_by_country(self, *, doc_type: str | None = DOC_TYPE_MDL) -> dict[str, list[bytes]]:
        """Root certificates (DER) by ISO 3166-1 alpha-2 country, in list order, without repeats.

        Only roots listed for ``doc_type`` (the mDL by default; ``None`` for every docType):
        a root a provider lists for another document must not vouch for driving licences.
        """
        roots: dict[str, list[bytes]] = {}
        for entry in _for_doc_type(self.entries, doc_type):
            listed = roots.setdefault(entry.country, [])
            if entry.certificate not in listed:
                listed.append(entry.certificate)
        return roots


def _for_doc_type(entries: Sequence[VicalEntry], doc_type: str | None) -> list[VicalEntry]:
    return [e for e in entries if doc_type is None or doc_type in e.doc_types]


# --- reading values ------------------------------------------------------------------------------


def _text_keys(value: Mapping[Any, Any], what: str) -> None:
    if not all(isinstance(k, str) for k in value):
        raise MalformedError(f"{what}: keys must be text")


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise MalformedError(f"{what} must be non-empty text")
    return value


def _bytes(value: Any, what: str) -> bytes:
    if not isinstance(value, bytes) or not value:
        raise MalformedError(f"{what} must be a non-empty byte string")
    return value


def _texts(value: Any, what: str) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)) or not value:
        raise MalformedError(f"{what} must be a non-empty array")
    return tuple(_text(v, what) for v in value)


def _tdate(value: Any, what: str) -> _dt.datetime:
    # cbor2 turns tag 0 (and tag 1) into datetimes; a date-time without an offset is not a tdate.
    if not isinstance(value, _dt.datetime) or value.utcoffset() is None:
        raise MalformedError(f"{what} must be a tdate (tag 0, with its UTC offset)")
    return value.astimezone(_dt.UTC)


def _subject_country(cert: _x509.Certificate) -> str | None:
    attrs = cert.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)
    return str(attrs[0].value) if attrs else None


# --- the signed envelope -------------------------------------------------------------------------


def _x5chain(sign1: cose.CoseSign1) -> list[bytes]:
    value = sign1.header(cose.Header.X5CHAIN)
    if value is None:
        raise MalformedError("VICAL has no x5chain (header 33): its signer is unknown")
    chain = [value] if isinstance(value, bytes) else value
    if not isinstance(chain, (list, tuple)) or not chain:
        raise MalformedError("VICAL x5chain must be a certificate or a non-empty array of them")
    if len(chain) > MAX_CHAIN:
        raise MalformedError(f"VICAL x5chain has {len(chain)} certificates, more than {MAX_CHAIN}")
    if not all(isinstance(c, bytes) for c in chain):
        raise MalformedError("VICAL x5chain holds something that is not a certificate")
    return list(chain)


def _check_signer_profile(signer: _x509.Certificate) -> None:
    ext = signer.extensions
    try:
        eku = ext.get_extension_for_class(_x509.ExtendedKeyUsage).value
    except _x509.ExtensionNotFound:
        eku = None
    if eku is None or VICAL_SIGNER_EKU not in eku:
        raise CertificateProfileError(
            "the VICAL signer certificate is not for signing VICALs (EKU 1.0.18013.5.1.8 missing)",
            code="vical_signer_eku",
        )
    try:
        if ext.get_extension_for_class(_x509.BasicConstraints).value.ca:
            raise CertificateProfileError(
                "the VICAL signer certificate must not be a CA", code="vical_signer_is_ca"
            )
    except _x509.ExtensionNotFound:
        pass


def _signer_key(signer: _x509.Certificate) -> cose.PublicKey:
    key = signer.public_key()
    if not isinstance(key, (ec.EllipticCurvePublicKey, ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
        raise UnsupportedError(f"VICAL signer key type {type(key).__name__} is not accepted")
    return key


def _check_chain(chain: list[bytes], trusted_roots: Sequence[_x509.Certificate], now: _dt.datetime) -> None:
    anchors = x509.TrustAnchors(trusted_roots)  # ValueError when empty: the caller's mistake
    try:
        result = x509.verify_chain(chain, anchors, now, max_length=MAX_CHAIN)
    except (ExpiredError, NotYetValidError) as e:
        raise TrustListExpiredError(f"VICAL signer chain is not valid now: {e.message}") from e
    except UntrustedIssuerError as e:
        raise UntrustedIssuerError(f"VICAL signer: {e.message}", code=e.code) from e
    if result.pinned:
        raise UntrustedIssuerError(
            "the VICAL signer certificate is itself a trusted root; trust the CA that issued it"
        )


def _check_current(vical_date: _dt.datetime, next_update: _dt.datetime, now: _dt.datetime) -> None:
    if now < vical_date:
        raise TrustListExpiredError(f"VICAL is dated {vical_date:%Y-%m-%d %H:%M:%S}Z, after now")
    if now >= next_update:
        raise TrustListExpiredError(
            f"VICAL was due for replacement at {next_update:%Y-%m-%d %H:%M:%S}Z; fetch a newer one"
        )


def load_vical(data: bytes, *, trusted_roots: Sequence[_x509.Certificate], now: _dt.datetime) -> Vical:
    """Read and check a VICAL: strict CBOR, signer chain, signature, currency, then the payload.

    ``trusted_roots`` are CA certificates (AAMVA's DTS root, or its issuing CA); an empty
    sequence or a naive ``now`` is a caller mistake (``ValueError``). Raises
    ``MalformedError`` for damaged bytes, ``UntrustedIssuerError`` when the signer does not
    chain to ``trusted_roots``, ``CertificateProfileError`` when it is not a VICAL signer,
    ``SignatureError`` when the signature does not verify, ``TrustListExpiredError`` when
    ``now`` is outside ``date``..``nextUpdate`` or a chain certificate's validity.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    if not trusted_roots:
        raise ValueError("no trusted roots: refusing to trust a VICAL against nothing")
    value = cbor.decode(data, max_size=MAX_VICAL_SIZE, what="VICAL")
    sign1 = cose.CoseSign1.from_value(value, what="VICAL")
    if sign1.payload is None:
        raise MalformedError("VICAL has a detached payload")
    chain = _x5chain(sign1)
    signer = x509.load_certificate(chain[0])
    key = _signer_key(signer)
    # Trust first (whose key is this?), then the signature, then what the signed bytes say.
    _check_chain(chain, trusted_roots, now)
    _check_signer_profile(signer)
    sign1.verify(key)
    try:
        x509.check_validity(signer, now, what="the VICAL signer certificate")
    except (ExpiredError, NotYetValidError) as e:
        raise TrustListExpiredError(e.message) from e
    vical = _parse_payload(sign1.payload, signer=chain[0])
    _check_current(vical.date, vical.next_update, now)
    return vical


def _parse_payload(payload: bytes, *, signer: bytes) -> Vical:
    body = cbor.decode(payload, max_size=MAX_VICAL_SIZE, what="VICAL payload")
    if not isinstance(body, Mapping):
        raise MalformedError("VICAL payload must be a map")
    _text_keys(body, "VICAL payload")
    version = _text(body.get("version"), "VICAL version")
    if version.split(".")[0] != _VERSION_MAJOR:
        raise UnsupportedError(f"VICAL version {safe_repr(version)} is not understood (only 1.x)")
    vical_date = _tdate(body.get("date"), "VICAL date")
    if body.get("nextUpdate") is None:
        raise UnsupportedError("VICAL has no nextUpdate: a list that never expires is not accepted")
    next_update = _tdate(body.get("nextUpdate"), "VICAL nextUpdate")
    if next_update <= vical_date:
        raise MalformedError("VICAL nextUpdate is not after its date")
    issue_id = body.get("vicalIssueID")
    if issue_id is not None and (not isinstance(issue_id, int) or isinstance(issue_id, bool) or issue_id < 0):
        raise MalformedError("VICAL vicalIssueID must be an unsigned integer")
    infos = body.get("certificateInfos")
    if not isinstance(infos, (list, tuple)):
        raise MalformedError("VICAL certificateInfos must be an array")
    return Vical(
        provider=_text(body.get("vicalProvider"), "VICAL vicalProvider"),
        date=vical_date,
        issue_id=issue_id,
        next_update=next_update,
        entries=tuple(VicalEntry.from_value(info, index=i) for i, info in enumerate(infos)),
        version=version,
        signer=signer,
        payload=payload,
        extras=_frozen({k: v for k, v in body.items() if k not in _VICAL_KEYS}),
    )


# --- towards edl's trust list --------------------------------------------------------------------


def _slug(text: str, *, lower: bool) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:64].strip("-")
    return slug.lower() if lower else slug


def _authority_id(entry: VicalEntry) -> str:
    country = entry.country
    subdivision = entry.state or (entry.issuing_country if len(entry.issuing_country) > 2 else None)
    if subdivision:
        if subdivision.upper().startswith(country + "-"):
            subdivision = subdivision[len(country) + 1 :]
        part = _slug(subdivision, lower=False)
    else:
        part = _slug(entry.issuing_authority or x509.subject_text(entry.certificate), lower=True)
    return f"{country}-{part or x509.key_id(entry.certificate).hex()}"


def vical_city_entries(v: Vical, *, doc_type: str | None = DOC_TYPE_MDL) -> list[dict[str, Any]]:
    """One plain map per issuing authority: ``{"id", "name", "country", "roots"}``.

    ``id`` is ``<country>-<state>`` (``US-MD``; a state written without its country, ``AK``,
    becomes ``US-AK``), or ``<country>-<issuing authority slug>`` when no state is given.
    Certificates with the same ``id`` are one authority with several roots (Maryland lists two
    differently named roots). ``name`` is the issuing authority when all its entries agree on
    one, else the state. Only entries for ``doc_type`` are used (the mDL by default).
    """
    groups: dict[str, list[VicalEntry]] = {}
    for entry in _for_doc_type(v.entries, doc_type):
        groups.setdefault(_authority_id(entry), []).append(entry)
    result: list[dict[str, Any]] = []
    for authority_id, entries in groups.items():
        first = entries[0]
        authorities = {e.issuing_authority for e in entries}
        if len(authorities) == 1 and first.issuing_authority is not None:
            name = first.issuing_authority
        else:
            name = first.state or first.issuing_authority or x509.subject_text(first.certificate)
        roots: list[bytes] = []
        for e in entries:
            if e.certificate not in roots:
                roots.append(e.certificate)
        result.append({"id": authority_id, "name": name, "country": first.country, "roots": roots})
    return result

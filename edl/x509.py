"""IACA and document-signer certificates (ISO/IEC 18013-5 Annex B) and chain checks.

This module owns the certificate side of the chain of trust: making a city root (IACA)
and its document-signer (DS) certificates, the DS profile checks a verifier applies, and
walking from a DS certificate to a trust anchor at a given time. It does not read trust
lists (``edl.trust``) or keys from disk (``edl.keys``).

A trust anchor that *is* the document's DS certificate is a pin: the chain and profile
checks are then reported as ``pinned`` by the verifier.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .errors import (
    CRYPTOGRAPHY_LOAD_ERRORS,
    CertificateProfileError,
    ExpiredError,
    MalformedError,
    NotYetValidError,
    UntrustedIssuerError,
)

__all__ = [
    "CA_KEY_USAGE",
    "DS_EKU",
    "MAX_CHAIN",
    "STATUS_SIGNER_EKU",
    "STATUS_SIGNER_MAX_DAYS",
    "ChainResult",
    "RevokedSigner",
    "TrustAnchors",
    "check_ds_profile",
    "check_ds_profile_der",
    "check_status_signer_profile",
    "certificate_der",
    "der_length",
    "chain_path",
    "check_validity",
    "key_id",
    "load_certificate",
    "make_document_signer",
    "make_iaca",
    "make_status_signer",
    "public_key_of",
    "signer_identity",
    "subject_text",
    "validity_of",
    "verify_chain",
]

DS_EKU = x509.ObjectIdentifier("1.0.18013.5.1.2")
"""id-mdl-kp-mdlDS: extended key usage of an mDL document signer (Annex B.1.4)."""

DS_MAX_DAYS = 457

CA_KEY_USAGE = x509.KeyUsage(
    digital_signature=False,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=True,
    crl_sign=True,
    encipher_only=False,
    decipher_only=False,
)
"""An IACA's key usage (Annex B.1.2): keyCertSign and cRLSign only."""
IACA_MAX_DAYS = 20 * 366


@functools.lru_cache(maxsize=256)
def load_certificate(der: bytes) -> x509.Certificate:
    """Parse a DER certificate (cached by its bytes); malformed bytes → ``MalformedError``.

    The extensions and the public key are parsed here too, so that a damaged certificate
    fails once, at this boundary, and never later inside a check.
    """
    try:
        cert = x509.load_der_x509_certificate(der)
        cert.extensions  # noqa: B018 - parse now
        cert.public_key()
        cert.not_valid_before_utc, cert.not_valid_after_utc  # noqa: B018
        cert.subject.public_bytes(), cert.issuer.public_bytes()
        cert.subject.rfc4514_string()
        signature = cert.signature
    except Exception as e:  # noqa: BLE001 - cryptography raises several unrelated types here
        raise MalformedError(f"certificate cannot be read ({e})") from e
    # The signature BIT STRING must have no unused bits: otherwise the same signed
    # certificate could travel in several encodings (and under several key ids).
    if not der.endswith(b"\x03" + der_length(len(signature) + 1) + b"\x00" + signature):
        raise MalformedError("certificate signature is not encoded as DER requires")
    return cert


def der_length(n: int) -> bytes:
    """A DER length field."""
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


@functools.lru_cache(maxsize=64)
def certificate_der(cert: x509.Certificate) -> bytes:
    """The DER bytes of a certificate object (cached: issuing puts them in every x5chain)."""
    return cert.public_bytes(serialization.Encoding.DER)


@functools.lru_cache(maxsize=256)
def subject_text(der: bytes) -> str:
    """A certificate's subject as RFC 4514 text, for messages (cached by the exact bytes)."""
    return load_certificate(der).subject.rfc4514_string()


def key_id(cert: x509.Certificate | bytes) -> bytes:
    """Key id of a certificate: the first 8 bytes of SHA-256 over its DER encoding."""
    der = cert if isinstance(cert, bytes) else cert.public_bytes(serialization.Encoding.DER)
    return hashlib.sha256(der).digest()[:8]


@dataclass(frozen=True, slots=True, kw_only=True)
class RevokedSigner:
    """A revoked document signer, named by what nobody can change without its issuer's key.

    A key id (:func:`key_id`) hashes the whole DER certificate, and that includes the issuer's
    ECDSA signature, which anyone can rewrite from (r, s) to (r, n − s) and keep valid: a key
    id alone would let a revoked signer's licences through under a fresh id. So a revocation
    matches a certificate on its public key (SHA-256 of its SubjectPublicKeyInfo) **or** on its
    issuer name and serial number; ``kid`` is kept for lookup and display only.
    """

    kid: bytes
    spki_sha256: bytes
    issuer: bytes
    """The certificate's issuer Name, DER."""
    serial: bytes
    """The certificate's serial number as its DER INTEGER contents (two's complement, minimal)."""

    def __post_init__(self) -> None:
        if len(self.kid) != 8 or len(self.spki_sha256) != 32 or not self.issuer or not self.serial:
            raise ValueError(
                "a revoked signer has an 8-byte kid, a 32-byte SPKI digest, an issuer and a serial"
            )

    @classmethod
    def of(cls, certificate: x509.Certificate | bytes) -> RevokedSigner:
        der = certificate if isinstance(certificate, bytes) else certificate_der(certificate)
        spki, issuer, serial = signer_identity(der)
        return cls(kid=key_id(der), spki_sha256=spki, issuer=issuer, serial=serial)

    def matches(self, der: bytes) -> bool:
        spki, issuer, serial = signer_identity(der)
        return spki == self.spki_sha256 or (issuer, serial) == (self.issuer, self.serial)


@functools.lru_cache(maxsize=512)
def signer_identity(der: bytes) -> tuple[bytes, bytes, bytes]:
    """(SHA-256 of the SubjectPublicKeyInfo, issuer Name DER, serial bytes) of a certificate:
    the parts its issuer signed, which re-encoding the certificate's signature cannot change."""
    cert = load_certificate(der)
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    serial = cert.serial_number
    serial_bytes = serial.to_bytes((serial.bit_length() + 8) // 8, "big", signed=True)  # DER INTEGER octets
    return hashlib.sha256(spki).digest(), cert.issuer.public_bytes(), serial_bytes


def _country(name: x509.Name) -> str | None:
    attrs = name.get_attributes_for_oid(NameOID.COUNTRY_NAME)
    return str(attrs[0].value) if attrs else None


def check_validity(cert: x509.Certificate | bytes, now: _dt.datetime, *, what: str) -> None:
    """Raise ``ExpiredError``/``NotYetValidError`` unless ``now`` is inside its validity."""
    not_before, not_after = validity_of(cert if isinstance(cert, bytes) else certificate_der(cert))
    if now < not_before:
        raise NotYetValidError(f"{what} is not valid before {not_before:%Y-%m-%d %H:%M}Z")
    if now > not_after:
        raise ExpiredError(f"{what} expired on {not_after:%Y-%m-%d %H:%M}Z")


@functools.lru_cache(maxsize=256)
def public_key_of(der: bytes) -> Any:
    """The public key of a DER certificate (cached by its bytes: parsing it costs microseconds
    on every verification otherwise)."""
    return load_certificate(der).public_key()


@functools.lru_cache(maxsize=512)
def validity_of(der: bytes) -> tuple[_dt.datetime, _dt.datetime]:
    """(notBefore, notAfter) of a certificate, cached by its bytes."""
    cert = load_certificate(der)
    return cert.not_valid_before_utc, cert.not_valid_after_utc


def check_ds_profile_der(ds_der: bytes, issuer_der: bytes | None) -> None:
    """:func:`check_ds_profile` on DER bytes; the outcome is cached by the exact bytes."""
    error = _ds_profile_error(ds_der, issuer_der)
    if error is not None:
        raise CertificateProfileError(error[1], code=error[0])


@functools.lru_cache(maxsize=256)
def _ds_profile_error(ds_der: bytes, issuer_der: bytes | None) -> tuple[str, str] | None:
    try:
        check_ds_profile(
            load_certificate(ds_der), None if issuer_der is None else load_certificate(issuer_der)
        )
    except CertificateProfileError as e:
        return (e.code, e.message)
    return None


def check_ds_profile(cert: x509.Certificate, issuer: x509.Certificate | None = None) -> None:
    """Check a DS certificate against the ISO 18013-5 Annex B.1.4 profile.

    EKU must include id-mdl-kp-mdlDS, key usage must be digitalSignature only, it must not
    be a CA, its validity at most 457 days; with ``issuer``, the countries must match.
    """
    ext = cert.extensions
    try:
        eku = ext.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        raise CertificateProfileError(
            "document signer certificate has no extended key usage", code="ds_eku"
        ) from None
    if DS_EKU not in eku:
        raise CertificateProfileError(
            "certificate is not for signing mDLs (EKU 1.0.18013.5.1.2 missing)", code="ds_eku"
        )
    try:
        ku = ext.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise CertificateProfileError(
            "document signer certificate has no key usage", code="ds_key_usage"
        ) from None
    if not ku.digital_signature or ku.key_cert_sign or ku.crl_sign:
        raise CertificateProfileError(
            "document signer key usage must be digitalSignature only", code="ds_key_usage"
        )
    try:
        bc = ext.get_extension_for_class(x509.BasicConstraints).value
        if bc.ca:
            raise CertificateProfileError("document signer certificate must not be a CA", code="ds_is_ca")
    except x509.ExtensionNotFound:
        pass
    days = (cert.not_valid_after_utc - cert.not_valid_before_utc).days
    if days > DS_MAX_DAYS:
        raise CertificateProfileError(
            f"document signer certificate is valid {days} days, more than {DS_MAX_DAYS}",
            code="ds_validity_period",
        )
    if issuer is not None:
        c_ds, c_root = _country(cert.subject), _country(issuer.subject)
        if c_ds is None or c_ds != c_root:
            raise CertificateProfileError(
                f"document signer country {c_ds} differs from its root's {c_root}", code="ds_country"
            )


@dataclass(frozen=True, slots=True)
class ChainResult:
    anchor: x509.Certificate
    pinned: bool
    anchor_der: bytes = b""


class TrustAnchors:
    """A set of trust anchors: IACA roots, or pinned DS certificates. Empty is refused.

    ``revoked`` holds the document signers (:class:`RevokedSigner`) that must be refused even
    though they chain to an anchor (a trust list's revoked signers): matched on public key or
    on issuer + serial, never on a hash of the certificate's bytes.
    """

    __slots__ = ("_by_subject", "_der", "_revoked_keys", "_revoked_serials", "certificates", "revoked")

    def __init__(
        self, certificates: Iterable[x509.Certificate], *, revoked: Iterable[RevokedSigner] = ()
    ) -> None:
        self.certificates = tuple(certificates)
        self.revoked = tuple(revoked)
        self._revoked_keys = {r.spki_sha256: r for r in self.revoked}
        self._revoked_serials = {(r.issuer, r.serial): r for r in self.revoked}
        if not self.certificates:
            raise ValueError("no trust anchors: refusing to verify against nothing")
        self._der = {certificate_der(c): c for c in self.certificates}
        # subject name bytes -> [(anchor, its DER)]
        self._by_subject: dict[bytes, list[tuple[x509.Certificate, bytes]]] = {}
        for der, c in self._der.items():
            self._by_subject.setdefault(c.subject.public_bytes(), []).append((c, der))

    @classmethod
    def from_pem(cls, data: bytes) -> TrustAnchors:
        try:
            return cls(x509.load_pem_x509_certificates(data))
        except CRYPTOGRAPHY_LOAD_ERRORS as e:  # not only ValueError: InvalidVersion, UnsupportedAlgorithm
            raise MalformedError(f"trust anchor file holds no readable certificate ({e})") from e

    def revocation_of(self, der: bytes) -> RevokedSigner | None:
        """The revocation that covers the certificate ``der``, if any."""
        if not self.revoked:
            return None
        spki, issuer, serial = signer_identity(der)
        return self._revoked_keys.get(spki) or self._revoked_serials.get((issuer, serial))

    def pinned(self, der: bytes) -> x509.Certificate | None:
        return self._der.get(der)

    def issuers_of(self, der: bytes) -> list[tuple[x509.Certificate, bytes]]:
        """Anchors whose subject is the issuer of the certificate ``der``, with their DER."""
        return self._by_subject.get(_issuer_name(der), [])


@functools.lru_cache(maxsize=512)
def _issuer_name(der: bytes) -> bytes:
    return load_certificate(der).issuer.public_bytes()


@functools.lru_cache(maxsize=512)
def _issued_by(child_der: bytes, parent_der: bytes) -> bool:
    child, parent = load_certificate(child_der), load_certificate(parent_der)
    try:
        child.verify_directly_issued_by(parent)
    except Exception:  # noqa: BLE001 - InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm
        return False
    return True


MAX_CHAIN = 3
"""Most certificates a chain may hold: an mdoc's ``x5chain`` needs the DS certificate and at
most its issuer (ISO 18013-5 §9.3.3 / Annex B); a VICAL's signer, one intermediate and the root."""


def verify_chain(
    chain: Sequence[bytes], anchors: TrustAnchors, now: _dt.datetime, *, max_length: int = MAX_CHAIN
) -> ChainResult:
    """Walk ``chain`` (DER, leaf first) up to one of ``anchors``, valid at ``now``.

    Raises ``UntrustedIssuerError`` when no anchor vouches for the leaf, ``ExpiredError``
    or ``NotYetValidError`` when a certificate on the path is outside its validity, and
    ``MalformedError`` for a chain longer than ``max_length`` (before reading any of it).
    The work is bounded: each certificate of the chain is tried as an issuer at most once, so
    a walk costs at most one signature check per certificate plus one per anchor of the
    matching name at each step.
    The path found is cached by the exact certificate bytes and the anchors (a handheld checks
    the same signers all day); only the validity dates are compared at ``now`` each time.
    """
    if not chain:
        raise MalformedError("no certificate to check")
    if len(chain) > max_length:
        raise MalformedError(
            f"the certificate chain holds {len(chain)} certificates; at most {max_length} are accepted"
        )
    result, dated = _walk(tuple(chain), anchors)
    for der, what in dated:
        check_validity(der, now, what=what)
    return result


def chain_path(leaf_der: bytes, anchors: TrustAnchors) -> tuple[ChainResult, tuple[tuple[bytes, str], ...]]:
    """The time-independent part of ``verify_chain([leaf_der], anchors, now)``: the path
    found (cached, raising as it raises) and the certificates on it, each with the words for
    it, whose validity :func:`check_validity` must then confirm at ``now``."""
    return _walk((leaf_der,), anchors)


@functools.lru_cache(maxsize=256)
def _walk(
    chain: tuple[bytes, ...], anchors: TrustAnchors
) -> tuple[ChainResult, tuple[tuple[bytes, str], ...]]:
    """The time-independent part of :func:`verify_chain`: the path to an anchor and the
    certificates on it whose validity must hold (failures raise and are not cached)."""
    leaf_der = chain[0]
    revocation = anchors.revocation_of(leaf_der)
    if revocation is not None:
        raise UntrustedIssuerError(
            f"the issuer's signing key {revocation.kid.hex()} has been revoked by its authority",
            code="signer_revoked",
        )
    pinned = anchors.pinned(leaf_der)
    if pinned is not None:
        return ChainResult(anchor=pinned, pinned=True, anchor_der=leaf_der), ()
    dated: list[tuple[bytes, str]] = []
    current_der = leaf_der
    untried = list(chain[1:])  # each is tried as an issuer once, whatever the outcome
    while True:
        for anchor, anchor_der in anchors.issuers_of(current_der):
            if _issued_by(current_der, anchor_der):
                if not _is_ca(anchor_der):
                    raise UntrustedIssuerError("the trust anchor is not a certificate authority")
                dated.append((anchor_der, "the issuing authority's root certificate"))
                return ChainResult(anchor=anchor, pinned=False, anchor_der=anchor_der), tuple(dated)
        issuer_name = _issuer_name(current_der)
        step = None
        for d in [d for d in untried if _subject_name(d) == issuer_name]:
            untried.remove(d)
            if _issued_by(current_der, d):
                step = d
                break
        if step is None:
            break
        current_der = step
        _check_ca(load_certificate(current_der), what="an intermediate certificate")
        dated.append((current_der, "an intermediate certificate"))
    raise UntrustedIssuerError("the issuer's certificate does not chain to any trusted authority")


@functools.lru_cache(maxsize=512)
def _subject_name(der: bytes) -> bytes:
    return load_certificate(der).subject.public_bytes()


@functools.lru_cache(maxsize=256)
def _is_ca(der: bytes) -> bool:
    try:
        return bool(load_certificate(der).extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _check_ca(cert: x509.Certificate, *, what: str) -> None:
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        bc = None
    if bc is None or not bc.ca:
        raise UntrustedIssuerError(f"{what} is not a certificate authority")


# --- making certificates (issuer side) ---------------------------------------------------

_SignKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey


def _hash_for(key: _SignKey) -> hashes.SHA256 | hashes.SHA384 | hashes.SHA512 | None:
    """The certificate signature hash for ``key``: by curve for ECDSA, none for EdDSA."""
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        return None
    if key.curve.name == "secp384r1":
        return hashes.SHA384()
    if key.curve.name == "secp521r1":
        return hashes.SHA512()
    return hashes.SHA256()


def _name(common_name: str, country: str, state: str | None, organization: str | None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, country)]
    if state:
        attrs.append(x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, state))
    if organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def make_iaca(
    private_key: _SignKey,
    *,
    common_name: str,
    country: str,
    not_before: _dt.datetime,
    not_after: _dt.datetime,
    state: str | None = None,
    organization: str | None = None,
    public_key: Any = None,
) -> x509.Certificate:
    """A self-signed city root (IACA): CA, path length 0, keyCertSign + cRLSign.

    ``public_key`` defaults to ``private_key``'s; it differs only when the signature is made
    elsewhere (an HSM) and ``private_key`` merely lays out the certificate."""
    if (not_after - not_before).days > IACA_MAX_DAYS:
        raise ValueError("an IACA certificate may be valid for at most 20 years")
    name = _name(common_name, country, state, organization)
    pub = private_key.public_key() if public_key is None else public_key
    ski = x509.SubjectKeyIdentifier.from_public_key(pub)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(pub)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(CA_KEY_USAGE, critical=True)
        .add_extension(ski, critical=False)
        .add_extension(
            x509.IssuerAlternativeName(
                [x509.UniformResourceIdentifier(f"urn:edl:iaca:{country}:{common_name}")]
            ),
            critical=False,
        )
    )
    return builder.sign(private_key, _hash_for(private_key))


_SIGN_ONLY = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=False,
    crl_sign=False,
    encipher_only=False,
    decipher_only=False,
)
"""digitalSignature only: the key usage of document signers and status signers."""


def make_document_signer(
    issuer_key: _SignKey,
    issuer_cert: x509.Certificate,
    public_key: ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey,
    *,
    common_name: str,
    not_before: _dt.datetime,
    not_after: _dt.datetime,
    state: str | None = None,
) -> x509.Certificate:
    """A DS certificate under ``issuer_cert``: EKU mdlDS, digitalSignature only, ≤ 457 days."""
    return _signer_certificate(
        issuer_key,
        issuer_cert,
        public_key,
        eku=DS_EKU,
        what="a document signer certificate",
        max_days=DS_MAX_DAYS,
        not_a_ca=False,  # (ISO's DS profile has no BasicConstraints; verifiers check the EKU)
        common_name=common_name,
        not_before=not_before,
        not_after=not_after,
        state=state,
    )


def _signer_certificate(
    issuer_key: _SignKey,
    issuer_cert: x509.Certificate,
    public_key: ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey,
    *,
    eku: x509.ObjectIdentifier,
    what: str,
    max_days: int,
    not_a_ca: bool,
    common_name: str,
    not_before: _dt.datetime,
    not_after: _dt.datetime,
    state: str | None,
) -> x509.Certificate:
    """A signing certificate under a city root: one EKU, digitalSignature only, the root's
    country, at most ``max_days`` (document signers and status signers)."""
    if (not_after - not_before).days > max_days:
        raise ValueError(f"{what} may be valid for at most {max_days} days")
    country = _country(issuer_cert.subject)
    if country is None:
        raise ValueError("the issuing root has no country")
    issuer_ski = issuer_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, country, state, None))
        .issuer_name(issuer_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    if not_a_ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    builder = (
        builder.add_extension(x509.ExtendedKeyUsage([eku]), critical=True)
        .add_extension(_SIGN_ONLY, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski), critical=False
        )
    )
    return builder.sign(issuer_key, _hash_for(issuer_key))


# Kept for callers that want the usual EKU constant name alongside ours.
_ = ExtendedKeyUsageOID


# --- status signers (specs/status-list.md §4) ------------------------------------------------

STATUS_SIGNER_EKU = x509.ObjectIdentifier("2.25.118801757865192338224945711436832532261")
"""Extended key usage of an edl status-list signer: **edl's private placeholder** for the Token
Status List draft's ``id-kp-oauthStatusSigning`` (draft-ietf-oauth-status-list §10, ``{ id-kp
TBD }``: IANA has not assigned its number yet). It sits under the UUID arc ``2.25`` (ITU-T
X.667 / RFC 4122 §4.4: an OID anyone may form from a random UUID, no registration), so it
collides with nobody's. When IANA assigns ``1.3.6.1.5.5.7.3.<n>`` edl will accept both for one
certificate lifetime, then the IANA value only (``specs/status-list.md`` §4)."""

STATUS_SIGNER_MAX_DAYS = 457
"""Longest validity of a status signer certificate: the DS limit (ISO 18013-5 Annex B.1.4)."""


def make_status_signer(
    issuer_key: _SignKey,
    issuer_cert: x509.Certificate,
    public_key: ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey,
    *,
    common_name: str,
    not_before: _dt.datetime,
    not_after: _dt.datetime,
    state: str | None = None,
) -> x509.Certificate:
    """A status signer certificate under the city root ``issuer_cert``: EKU
    :data:`STATUS_SIGNER_EKU` only, digitalSignature only, not a CA, at most 457 days, the
    root's country. It signs the city's status lists and nothing else (no DS EKU)."""
    return _signer_certificate(
        issuer_key,
        issuer_cert,
        public_key,
        eku=STATUS_SIGNER_EKU,
        what="a status signer certificate",
        max_days=STATUS_SIGNER_MAX_DAYS,
        not_a_ca=True,
        common_name=common_name,
        not_before=not_before,
        not_after=not_after,
        state=state,
    )


def check_status_signer_profile(cert: x509.Certificate, issuer: x509.Certificate | None = None) -> None:
    """Check a status signer certificate against edl's profile (``specs/status-list.md`` §4).

    Raises :class:`~edl.errors.CertificateProfileError` with the code of the first rule broken:
    ``status_signer_eku`` (no extended key usage, :data:`STATUS_SIGNER_EKU` missing, or the DS
    EKU present too: a document signer never signs status lists, nor the reverse),
    ``status_signer_key_usage`` (not digitalSignature only), ``status_signer_is_ca``,
    ``status_signer_validity_period`` (more than 457 days) and, with ``issuer``,
    ``status_signer_country`` (not the root's country).
    """
    ext = cert.extensions
    try:
        eku = ext.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        raise CertificateProfileError(
            "the status list signer certificate has no extended key usage", code="status_signer_eku"
        ) from None
    if STATUS_SIGNER_EKU not in eku:
        raise CertificateProfileError(
            "the certificate is not for signing status lists (edl status signer EKU missing)",
            code="status_signer_eku",
        )
    if DS_EKU in eku:
        raise CertificateProfileError(
            "a status list signer certificate must not also be a document signer", code="status_signer_eku"
        )
    try:
        ku = ext.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise CertificateProfileError(
            "the status list signer certificate has no key usage", code="status_signer_key_usage"
        ) from None
    if ku != _SIGN_ONLY:
        raise CertificateProfileError(
            "a status list signer's key usage must be digitalSignature only", code="status_signer_key_usage"
        )
    try:
        if ext.get_extension_for_class(x509.BasicConstraints).value.ca:
            raise CertificateProfileError(
                "a status list signer certificate must not be a CA", code="status_signer_is_ca"
            )
    except x509.ExtensionNotFound:
        pass
    days = (cert.not_valid_after_utc - cert.not_valid_before_utc).days
    if days > STATUS_SIGNER_MAX_DAYS:
        raise CertificateProfileError(
            f"the status list signer certificate is valid {days} days, more than {STATUS_SIGNER_MAX_DAYS}",
            code="status_signer_validity_period",
        )
    if issuer is not None:
        c_signer, c_root = _country(cert.subject), _country(issuer.subject)
        if c_signer is None or c_signer != c_root:
            raise CertificateProfileError(
                f"the status list signer's country {c_signer} differs from its root's {c_root}",
                code="status_signer_country",
            )

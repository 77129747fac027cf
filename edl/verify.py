"""The verifier: bytes + trust anchors + the time → a VerificationResult with every check.

This module owns the ordered checks of an ISO 18013-5 presentation and the verdict:

1. ``structure``          the bytes parse as a DeviceResponse / IssuerSigned
2. ``certificate_chain``  the DS certificate chains to a trust anchor (or is pinned)
3. ``ds_profile``         the DS certificate fits its profile (Annex B.1.4) (or is pinned)
4. ``ds_validity``        the DS certificate is valid at the verification time
5. ``issuer_signature``   issuerAuth verifies with the DS key
6. ``doc_type``           the document's docType is the one the issuer signed
7. ``value_digests``      every disclosed element matches its signed digest
8. ``mso_validity``       the MSO is valid at the verification time
9. ``issuing_country``    the disclosed issuing_country is the DS certificate's country
10. ``device_auth``       the holder's device signed (or MACed) this session
11. ``status``            revocation status (needs a status list: not checked here yet)

Verdict: ``green`` when every required check passed (or was pinned); ``red`` when any
failed; ``amber`` when none failed but a required check could not run. Nothing is ever
reported valid unless every required check ran and passed. Time is an argument; the
verifier never reads the clock and never touches the network.
"""

from __future__ import annotations

import datetime as _dt
import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, runtime_checkable

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from . import cbor
from .errors import (
    DeviceAuthError,
    DigestMismatchError,
    DocTypeMismatchError,
    EdlError,
    ExpiredError,
    MalformedError,
    NotYetValidError,
    RevokedError,
    StatusIndexError,
    SuspendedError,
    VerificationError,
    safe_repr,
)
from .mdoc.device_response import (
    DeviceResponse,
    Document,
    SessionTranscript,
    derive_emac_key,
    device_authentication_bytes,
)
from .mdoc.issuer_signed import IssuerSigned
from .mdoc.items import CONFORMANT_DIGEST_ID
from .mdoc.mso import MobileSecurityObject
from .mdoc.namespaces import NAMESPACE_MDL
from .status import Status, VerifiedStatusList
from .x509 import (
    TrustAnchors,
    certificate_der,
    check_ds_profile_der,
    check_validity,
    load_certificate,
    subject_text,
    validity_of,
    verify_chain,
)

__all__ = [
    "Check",
    "CheckStatus",
    "VerificationResult",
    "VerifiedDocument",
    "Verdict",
    "verify_device_response",
    "verify_issuer_signed",
]


class CheckStatus(str, enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_CHECKED = "not_checked"
    PINNED = "pinned"


class Verdict(str, enum.Enum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"


class Check(NamedTuple):
    """One check: what was checked, how it came out, a stable code and a sentence.

    Immutable; ``required`` says whether a ``not_checked`` status makes the verdict amber."""

    name: str
    status: CheckStatus = CheckStatus.NOT_CHECKED
    code: str = "not_checked"
    message: str = ""
    required: bool = True
    document: int | None = None
    error: EdlError | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "status": self.status.value,
            "code": self.code,
            "message": self.message,
        }
        if self.document is not None:
            out["document"] = self.document
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifiedDocument:
    """A document's elements whose digests verified under a trusted issuer signature."""

    doc_type: str
    elements: Mapping[str, Mapping[str, Any]]
    issuer_certificate: x509.Certificate | None = None


@dataclass(frozen=True, slots=True)
class VerificationResult:
    checks: tuple[Check, ...]
    documents: tuple[VerifiedDocument, ...] = ()

    @property
    def verdict(self) -> Verdict:
        if not self.checks or any(c.status is CheckStatus.FAILED for c in self.checks):
            return Verdict.RED
        if any(c.required and c.status is CheckStatus.NOT_CHECKED for c in self.checks):
            return Verdict.AMBER
        return Verdict.GREEN

    @property
    def valid(self) -> bool:
        """True only when the verdict is green: every required check ran and passed."""
        return self.verdict is Verdict.GREEN

    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.status is CheckStatus.FAILED]

    def check(self, name: str, document: int | None = 0) -> Check:
        for c in self.checks:
            if c.name == name and (c.document == document or c.document is None):
                return c
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        from .mdoc.namespaces import to_json_value

        return {
            "valid": self.valid,
            "verdict": self.verdict.value,
            "checks": [c.to_json() for c in self.checks],
            "documents": [
                {
                    "docType": d.doc_type,
                    "elements": {
                        ns: {k: to_json_value(v) for k, v in els.items()} for ns, els in d.elements.items()
                    },
                }
                for d in self.documents
            ],
        }


def _anchors(trust: TrustAnchors | Sequence[x509.Certificate]) -> TrustAnchors:
    return trust if isinstance(trust, TrustAnchors) else TrustAnchors(trust)


def _check_now(now: _dt.datetime) -> None:
    if not isinstance(now, _dt.datetime) or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")


class _Checks:
    """Collects checks for one document; each ``run`` records passed or failed."""

    def __init__(self, document: int | None) -> None:
        self.document = document
        self.items: list[Check] = []

    def add(
        self,
        name: str,
        status: CheckStatus,
        code: str,
        message: str,
        *,
        required: bool = True,
        error: EdlError | None = None,
    ) -> None:
        self.items.append(Check(name, status, code, message, required, self.document, error))

    def run(self, name: str, fn: Callable[[], str], *, status: CheckStatus = CheckStatus.PASSED) -> bool:
        try:
            message = fn()
        except EdlError as e:
            self.add(name, CheckStatus.FAILED, e.code, e.diagnostics(), error=e)
            return False
        self.add(name, status, "pinned" if status is CheckStatus.PINNED else "ok", message)
        return True

    def skip(self, name: str, why: str, *, code: str = "not_checked", required: bool = True) -> None:
        self.add(name, CheckStatus.NOT_CHECKED, code, why, required=required)


def _report_conformance(checks: _Checks, issuer_signed: IssuerSigned) -> None:
    """Departures from ISO 18013-5 that do not weaken a check are reported, not refused: an
    optional ``conformance`` entry (only when there is something to say) that never changes
    the verdict."""
    large = [
        f"{ns}/{item.element_identifier} ({item.digest_id})"
        for ns, items in issuer_signed.namespaces.items()
        for item in items
        if item.digest_id >= CONFORMANT_DIGEST_ID
    ]
    if large:
        shown = ", ".join(large[:5]) + (f" and {len(large) - 5} more" if len(large) > 5 else "")
        checks.skip(
            "conformance",
            f"digest IDs of 2^31 or more, which ISO 18013-5 says shall be smaller: {shown}; "
            "accepted, since a digest ID is only an index into what the issuer signed",
            code="digest_id_too_large",
            required=False,
        )


def _verify_issuer_part(
    checks: _Checks,
    issuer_signed: IssuerSigned,
    doc_type: str | None,
    anchors: TrustAnchors,
    now: _dt.datetime,
) -> tuple[MobileSecurityObject | None, VerifiedDocument | None]:
    """Checks 2–9 for one document; returns the MSO (if its signature verified) and the elements."""
    names_after = [
        "certificate_chain",
        "ds_profile",
        "ds_validity",
        "issuer_signature",
        "doc_type",
        "value_digests",
        "mso_validity",
    ]

    def skip_rest(start: str, why: str) -> None:
        for n in names_after[names_after.index(start) :]:
            checks.skip(n, why)

    try:
        chain_der = issuer_signed.certificate_chain()
        ds_cert = load_certificate(chain_der[0])
    except EdlError as e:
        checks.add("certificate_chain", CheckStatus.FAILED, e.code, e.diagnostics(), error=e)
        skip_rest("ds_profile", "no usable issuer certificate")
        return None, None

    chain_result = None

    def chain() -> str:
        nonlocal chain_result
        chain_result = verify_chain(chain_der, anchors, now)
        if chain_result.pinned:
            return "the issuer's certificate is pinned as a trust anchor"
        return f"issued by {subject_text(certificate_der(chain_result.anchor))}"

    # Pinned is known before running the chain check (same bytes as an anchor).
    pinned = anchors.pinned(chain_der[0]) is not None
    trusted = checks.run(
        "certificate_chain", chain, status=CheckStatus.PINNED if pinned else CheckStatus.PASSED
    )
    if pinned:
        checks.add("ds_profile", CheckStatus.PINNED, "pinned", "the pinned certificate is trusted as it is")
    else:
        issuer_der = certificate_der(chain_result.anchor) if chain_result is not None else None

        def profile() -> str:
            check_ds_profile_der(chain_der[0], issuer_der)
            return "document signer certificate fits the ISO 18013-5 profile"

        trusted = checks.run("ds_profile", profile) and trusted

    def ds_validity() -> str:
        check_validity(chain_der[0], now, what="the document signer certificate")
        return f"document signer certificate valid until {validity_of(chain_der[0])[1]:%Y-%m-%d}"

    checks.run("ds_validity", ds_validity)

    def signature() -> str:
        issuer_signed.issuer_auth.verify(ds_cert.public_key())  # type: ignore[arg-type]
        return "the issuer's signature is valid"

    if not checks.run("issuer_signature", signature):
        skip_rest("doc_type", "the issuer's signature did not verify")
        return None, None

    try:
        mso = issuer_signed.mso()
    except EdlError as e:
        # Its own check (only when it fails, so the usual list of checks stays the same).
        checks.add("mso", CheckStatus.FAILED, e.code, e.diagnostics(), error=e)
        skip_rest("doc_type", "the signed security object cannot be read")
        return None, None

    def doctype() -> str:
        if doc_type is not None and doc_type != mso.doc_type:
            raise DocTypeMismatchError(
                f"the document says {safe_repr(doc_type)} but the issuer signed {safe_repr(mso.doc_type)}"
            )
        return f"docType {mso.doc_type}"

    checks.run("doc_type", doctype)

    verified: dict[str, dict[str, Any]] = {}

    def digests() -> str:
        bad: list[str] = []
        total = 0
        for ns, items in issuer_signed.namespaces.items():
            signed = mso.value_digests.get(ns, {})
            seen_ids: set[int] = set()
            seen_names: set[str] = set()
            for item in items:
                total += 1
                if item.digest_id in seen_ids or item.element_identifier in seen_names:
                    raise MalformedError(f"{ns}/{item.element_identifier} appears twice")
                seen_ids.add(item.digest_id)
                seen_names.add(item.element_identifier)
                expected = signed.get(item.digest_id)
                if expected is not None and item.digest(mso.digest_algorithm) == expected:
                    verified.setdefault(ns, {})[item.element_identifier] = item.element_value
                else:
                    bad.append(f"{ns}/{item.element_identifier}")
        if bad:
            raise DigestMismatchError(
                f"{len(bad)} of {total} data elements do not match what the issuer signed: {', '.join(bad)}"
            )
        return f"{total}/{total} data elements match what the issuer signed"

    checks.run("value_digests", digests)
    _report_conformance(checks, issuer_signed)

    def mso_validity() -> str:
        v = mso.validity_info
        not_before, not_after = validity_of(chain_der[0])
        if not (not_before <= v.signed <= not_after):
            raise VerificationError(
                "the security object was signed outside its signer certificate's validity",
                code="signed_outside_certificate",
            )
        if now < v.valid_from:
            raise NotYetValidError(f"the licence data is not valid before {v.valid_from:%Y-%m-%d %H:%M}Z")
        if now > v.valid_until:
            raise ExpiredError(f"the licence data expired on {v.valid_until:%Y-%m-%d %H:%M}Z")
        return f"valid from {v.valid_from:%Y-%m-%d} until {v.valid_until:%Y-%m-%d}"

    checks.run("mso_validity", mso_validity)

    country = verified.get(NAMESPACE_MDL, {}).get("issuing_country")
    if country is None:
        checks.skip(
            "issuing_country", "issuing_country was not disclosed", code="not_disclosed", required=False
        )
    else:
        checks.run("issuing_country", lambda: check_issuing_country(country, ds_cert))

    # Elements are handed out only under a trusted issuer signature (chain, DS profile and
    # signature passed) and only when their digest matched. They stay available when another
    # check failed (an expired licence still shows whose it is); ``valid`` says whether to accept.
    document = None
    if trusted:
        document = VerifiedDocument(doc_type=mso.doc_type, elements=verified, issuer_certificate=ds_cert)
    return mso, document


def _verify_device_auth(
    checks: _Checks,
    doc: Document,
    mso: MobileSecurityObject | None,
    transcript: SessionTranscript | None,
    reader_key: ec.EllipticCurvePrivateKey | None,
) -> None:
    ds = doc.device_signed
    if mso is None:
        checks.skip("device_auth", "not checked: the issuer's data did not verify")
        return
    if ds is None:
        checks.add(
            "device_auth", CheckStatus.FAILED, "not_holder", "the response carries no device authentication"
        )
        return
    if transcript is None:
        checks.add(
            "device_auth",
            CheckStatus.FAILED,
            "transcript_missing",
            "device authentication needs the session transcript; without it the holder cannot be checked",
        )
        return

    def device_auth() -> str:
        payload = device_authentication_bytes(transcript, doc.doc_type, ds.namespaces_raw)
        device_key = mso.device_key_info.device_key
        try:
            if ds.device_signature is not None:
                sig = ds.device_signature
                if sig.payload is not None and sig.payload != payload:
                    raise DeviceAuthError("the device signature covers a different session")
                sig.verify(device_key, detached_payload=None if sig.payload is not None else payload)
                return "the holder's device signed this session"
            assert ds.device_mac is not None
            if reader_key is None:
                raise DeviceAuthError(
                    "the response is authenticated with a device MAC: the reader's ephemeral key is needed",
                    code="reader_key_missing",
                )
            key = derive_emac_key(reader_key, device_key, transcript)
            mac = ds.device_mac
            if mac.payload is not None and mac.payload != payload:
                raise DeviceAuthError("the device MAC covers a different session")
            mac.verify(key, detached_payload=None if mac.payload is not None else payload)
            return "the holder's device authenticated this session (MAC)"
        except DeviceAuthError:
            raise
        except EdlError as e:
            raise DeviceAuthError(f"device authentication failed: {e.message}") from e

    checks.run("device_auth", device_auth)


DEFAULT_STATUS_MAX_AGE = _dt.timedelta(hours=72)
"""How old a status list may be (from its ``iat``) for a green verdict: older, or past its
``exp``, the status is amber ``status_stale`` (a revocation it shows is red all the same)."""


@runtime_checkable
class StatusLists(Protocol):
    """Where a verifier finds the verified status list a credential names (e.g. a loaded
    :class:`~edl.bundle.VerifiedBundle`)."""

    def status_list(self, uri: str) -> VerifiedStatusList | None: ...


def _age(delta: _dt.timedelta) -> str:
    hours = int(delta.total_seconds() // 3600)
    return f"{hours // 24} days" if hours >= 48 else f"{hours} h" if hours >= 1 else "less than an hour"


def check_status(
    checks: _Checks,
    uri: str,
    index: int,
    status_lists: StatusLists | None,
    *,
    now: _dt.datetime,
    max_age: _dt.timedelta = DEFAULT_STATUS_MAX_AGE,
) -> None:
    """The ``status`` check, one policy for both verifiers (``specs/status-list.md``): green
    only with the credential's list present, verified, unexpired and younger than ``max_age``;
    red ``revoked`` / ``suspended``; amber ``status_missing`` / ``status_stale``; an index
    outside the list is red ``malformed``. A revocation is final: a stale list that shows one
    is red all the same."""
    where = safe_repr(uri, limit=120)
    lst = status_lists.status_list(uri) if status_lists is not None else None
    if lst is None:
        checks.skip(
            "status",
            f"revocation status unknown: this handheld has no status list {where}; "
            "load the newest bundle from the office (edl verify --bundle)",
            code="status_missing",
        )
        return
    try:
        status = lst.status_of(index)
    except StatusIndexError as e:  # the issuer signed a place its list does not have
        checks.add("status", CheckStatus.FAILED, "malformed", e.diagnostics(), error=e)
        return
    except EdlError as e:
        checks.add("status", CheckStatus.FAILED, e.code, e.diagnostics(), error=e)
        return
    age = now - lst.issued
    stale = now > lst.expires or age > max_age
    if status is Status.REVOKED:
        err: EdlError = RevokedError("this licence has been revoked by its issuing city: do not accept it")
        checks.add("status", CheckStatus.FAILED, err.code, err.diagnostics(), error=err)
    elif stale:
        shown = "expired" if now > lst.expires else f"{_age(age)} old"
        suspended = " It showed the licence as suspended." if status is Status.SUSPENDED else ""
        checks.skip(
            "status",
            f"revocation status uncertain: the status list is {shown} "
            f"(issued {lst.issued:%Y-%m-%d %H:%M}Z).{suspended} Load the newest bundle from the office",
            code="status_stale",
        )
    elif status is Status.SUSPENDED:
        err = SuspendedError("this licence is suspended by its issuing city: do not accept it for now")
        checks.add("status", CheckStatus.FAILED, err.code, err.diagnostics(), error=err)
    else:
        checks.add(
            "status",
            CheckStatus.PASSED,
            "ok",
            f"not revoked or suspended (status list #{lst.sequence}, {_age(age)} old)",
        )


def _status(
    checks: _Checks,
    mso: MobileSecurityObject | None,
    status_lists: StatusLists | None,
    now: _dt.datetime,
    max_age: _dt.timedelta,
) -> None:
    if mso is None:
        checks.skip("status", "not checked: the issuer's data did not verify")
    elif mso.status is not None:
        check_status(checks, mso.status.uri, mso.status.idx, status_lists, now=now, max_age=max_age)
    else:
        checks.skip("status", "the credential carries no status reference", code="no_status", required=False)


def verify_device_response(
    data: bytes,
    *,
    trust: TrustAnchors | Sequence[x509.Certificate],
    now: _dt.datetime,
    transcript: SessionTranscript | bytes | None = None,
    reader_key: ec.EllipticCurvePrivateKey | None = None,
    issuer_only: bool = False,
    status: StatusLists | None = None,
    status_max_age: _dt.timedelta = DEFAULT_STATUS_MAX_AGE,
) -> VerificationResult:
    """Verify an encoded DeviceResponse at time ``now``.

    ``transcript`` (the SessionTranscript, as bytes or parsed) is needed for device
    authentication; ``reader_key`` (the reader's ephemeral private key) for a
    ``deviceMac``. With ``issuer_only`` only the issuer's data is checked and the result
    says the holder was not. ``status``: the verified status lists (a loaded bundle) the MSO's
    status reference is looked up in; without the one it names, status is amber. Hostile
    bytes never raise: they give a red result.
    """
    _check_now(now)
    anchors = _anchors(trust)
    top = _Checks(None)
    try:
        response = DeviceResponse.from_bytes(data)
        if isinstance(transcript, (bytes, bytearray)):
            transcript = SessionTranscript.from_bytes(bytes(transcript))
    except EdlError as e:
        top.add("structure", CheckStatus.FAILED, e.code, e.diagnostics(), error=e)
        return VerificationResult(checks=tuple(top.items))
    if not response.documents:
        top.add(
            "structure",
            CheckStatus.FAILED,
            "no_documents",
            f"the response holds no document (status {safe_repr(response.status)})",
        )
        return VerificationResult(checks=tuple(top.items))
    top.add(
        "structure", CheckStatus.PASSED, "ok", f"DeviceResponse with {len(response.documents)} document(s)"
    )
    if response.status != 0:
        top.add(
            "response_status",
            CheckStatus.FAILED,
            "response_error",
            f"the holder's device reported status {safe_repr(response.status)}",
        )
    all_checks = list(top.items)
    documents = []
    for index, doc in enumerate(response.documents):
        checks = _Checks(index)
        mso, verified = _verify_issuer_part(checks, doc.issuer_signed, doc.doc_type, anchors, now)
        if issuer_only:
            checks.skip(
                "device_auth",
                "holder not checked: only the issuer's data was verified",
                code="holder_unchecked",
            )
        else:
            _verify_device_auth(checks, doc, mso, transcript, reader_key)
        _status(checks, mso, status, now, status_max_age)
        all_checks.extend(checks.items)
        if verified is not None:
            documents.append(verified)
    return VerificationResult(checks=tuple(all_checks), documents=tuple(documents))


def check_issuing_country(claimed: Any, signer: x509.Certificate) -> str:
    """The disclosed ``issuing_country`` must be the country of the document signer's
    certificate (whose country its root, and the trust list, bind): one rule for the mdoc and
    the QR verifier. Raises ``VerificationError`` (``country_mismatch``); returns the sentence."""
    attrs = signer.subject.get_attributes_for_oid(x509.NameOID.COUNTRY_NAME)
    cert_country = str(attrs[0].value) if attrs else None
    if cert_country is None:
        raise VerificationError(
            f"the licence says issuing country {safe_repr(claimed)} but its signer's certificate "
            "names no country",
            code="country_mismatch",
        )
    if claimed != cert_country:
        raise VerificationError(
            f"the licence says issuing country {safe_repr(claimed)} but its signer is from {cert_country}",
            code="country_mismatch",
        )
    return f"issuing country {cert_country} matches the signer"


def verify_issuer_signed(
    data: bytes,
    *,
    trust: TrustAnchors | Sequence[x509.Certificate],
    now: _dt.datetime,
    status: StatusLists | None = None,
    status_max_age: _dt.timedelta = DEFAULT_STATUS_MAX_AGE,
) -> VerificationResult:
    """Verify an encoded IssuerSigned (the issuer's data only; the holder is not checked)."""
    _check_now(now)
    anchors = _anchors(trust)
    checks = _Checks(0)
    try:
        issuer_signed = IssuerSigned.from_bytes(data)
    except EdlError as e:
        checks.add("structure", CheckStatus.FAILED, e.code, e.diagnostics(), error=e)
        return VerificationResult(checks=tuple(checks.items))
    checks.add("structure", CheckStatus.PASSED, "ok", "IssuerSigned")
    mso, verified = _verify_issuer_part(checks, issuer_signed, None, anchors, now)
    checks.skip(
        "device_auth",
        "holder not checked: only the issuer's data was verified",
        code="holder_unchecked",
    )
    _status(checks, mso, status, now, status_max_age)
    return VerificationResult(checks=tuple(checks.items), documents=() if verified is None else (verified,))


def looks_like_issuer_signed(data: bytes) -> bool:
    """True when ``data`` decodes to a map with ``issuerAuth`` (an IssuerSigned file)."""
    try:
        value = cbor.decode(data)
    except EdlError:
        return False
    return isinstance(value, dict) and "issuerAuth" in value

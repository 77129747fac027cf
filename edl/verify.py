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
import functools
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, runtime_checkable

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from . import cbor, cose
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
    EMPTY_DEVICE_NAMESPACES,
    MAX_DOCUMENTS,
    DeviceResponse,
    Document,
    SessionTranscript,
    derive_emac_key,
    device_authentication_bytes,
)
from .mdoc.issuer_signed import MAX_ITEMS, IssuerSigned
from .mdoc.items import CONFORMANT_DIGEST_ID, RANDOM_LENGTH
from .mdoc.mso import (
    DIGEST_SIZE,
    MSO_VERSION,
    MobileSecurityObject,
    StatusReference,
    digests_well_formed,
    split_tag24,
)
from .mdoc.namespaces import NAMESPACE_MDL
from .status import Status, VerifiedStatusList
from .x509 import (
    ChainResult,
    TrustAnchors,
    certificate_der,
    chain_path,
    check_ds_profile_der,
    check_validity,
    load_certificate,
    public_key_of,
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
    """How one check came out: passed, failed, not_checked (it could not run), or pinned (its
    subject is trusted as configured, e.g. the DS certificate itself is the trust anchor)."""

    PASSED = "passed"
    FAILED = "failed"
    NOT_CHECKED = "not_checked"
    PINNED = "pinned"


class Verdict(str, enum.Enum):
    """The answer for the officer: green when every required check passed, amber when none
    failed but one could not run (e.g. no status list loaded), red when any check failed."""

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


_PROFILE_OK = "document signer certificate fits the ISO 18013-5 profile"
_PINNED_PROFILE = "the pinned certificate is trusted as it is"
_SIGNATURE_OK = "the issuer's signature is valid"
_DEVICE_SIGNED = "the holder's device signed this session"
_HOLDER_UNCHECKED = "holder not checked: only the issuer's data was verified"


def _chain_message(result: ChainResult) -> str:
    if result.pinned:
        return "the issuer's certificate is pinned as a trust anchor"
    return f"issued by {subject_text(result.anchor_der or certificate_der(result.anchor))}"


@functools.lru_cache(maxsize=256)
def _ds_validity_message(ds_der: bytes) -> str:
    """The sentence for a DS certificate inside its validity (cached by the certificate's bytes)."""
    return f"document signer certificate valid until {validity_of(ds_der)[1]:%Y-%m-%d}"


def _mso_validity_message(valid_from: _dt.datetime, valid_until: _dt.datetime) -> str:
    # isoformat, not strftime: the same YYYY-MM-DD at a tenth of the cost
    return f"valid from {valid_from.date().isoformat()} until {valid_until.date().isoformat()}"


def _check_mso_validity(
    signed: _dt.datetime,
    valid_from: _dt.datetime,
    valid_until: _dt.datetime,
    ds_der: bytes,
    now: _dt.datetime,
) -> str:
    """The ``mso_validity`` check (both paths): the sentence, or the error."""
    not_before, not_after = validity_of(ds_der)
    return _check_mso_validity_in(signed, valid_from, valid_until, not_before, not_after, now)


def _check_mso_validity_in(
    signed: _dt.datetime,
    valid_from: _dt.datetime,
    valid_until: _dt.datetime,
    not_before: _dt.datetime,
    not_after: _dt.datetime,
    now: _dt.datetime,
) -> str:
    """:func:`_check_mso_validity` with the signer certificate's validity already read."""
    if not (not_before <= signed <= not_after):
        raise VerificationError(
            "the security object was signed outside its signer certificate's validity",
            code="signed_outside_certificate",
        )
    if now < valid_from:
        raise NotYetValidError(f"the licence data is not valid before {valid_from:%Y-%m-%d %H:%M}Z")
    if now > valid_until:
        raise ExpiredError(f"the licence data expired on {valid_until:%Y-%m-%d %H:%M}Z")
    return _mso_validity_message(valid_from, valid_until)


def _digests_message(total: int) -> str:
    return f"{total}/{total} data elements match what the issuer signed"


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
        return _chain_message(chain_result)

    # Pinned is known before running the chain check (same bytes as an anchor).
    pinned = anchors.pinned(chain_der[0]) is not None
    trusted = checks.run(
        "certificate_chain", chain, status=CheckStatus.PINNED if pinned else CheckStatus.PASSED
    )
    if pinned:
        checks.add("ds_profile", CheckStatus.PINNED, "pinned", _PINNED_PROFILE)
    else:
        issuer_der = certificate_der(chain_result.anchor) if chain_result is not None else None

        def profile() -> str:
            check_ds_profile_der(chain_der[0], issuer_der)
            return _PROFILE_OK

        trusted = checks.run("ds_profile", profile) and trusted

    def ds_validity() -> str:
        check_validity(chain_der[0], now, what="the document signer certificate")
        return _ds_validity_message(chain_der[0])

    checks.run("ds_validity", ds_validity)

    def signature() -> str:
        issuer_signed.issuer_auth.verify(ds_cert.public_key())  # type: ignore[arg-type]
        return _SIGNATURE_OK

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
        return _digests_message(total)

    checks.run("value_digests", digests)
    _report_conformance(checks, issuer_signed)

    def mso_validity() -> str:
        v = mso.validity_info
        return _check_mso_validity(v.signed, v.valid_from, v.valid_until, chain_der[0], now)

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
                return _DEVICE_SIGNED
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
    else:
        _status_of(checks, mso.status, status_lists, now, max_age)


def _status_of(
    checks: _Checks,
    ref: StatusReference | None,
    status_lists: StatusLists | None,
    now: _dt.datetime,
    max_age: _dt.timedelta,
) -> None:
    if ref is not None:
        check_status(checks, ref.uri, ref.idx, status_lists, now=now, max_age=max_age)
    else:
        checks.skip("status", "the credential carries no status reference", code="no_status", required=False)


_HASHES = {"SHA-256": hashlib.sha256, "SHA-384": hashlib.sha384, "SHA-512": hashlib.sha512}
_RESPONSE_KEYS = frozenset({"version", "documents", "status"})
_DOCUMENT_KEYS = frozenset({"docType", "issuerSigned", "deviceSigned"})
_ISSUER_SIGNED_KEYS = frozenset({"nameSpaces", "issuerAuth"})
_DEVICE_SIGNED_KEYS = frozenset({"nameSpaces", "deviceAuth"})
_ITEM_KEYS = frozenset({"digestID", "random", "elementIdentifier", "elementValue"})


class _Fallback(Exception):
    """The fast path met something it does not decide: the strict path will."""


_MSO_KEYS = frozenset(
    {"version", "digestAlgorithm", "valueDigests", "deviceKeyInfo", "docType", "validityInfo"}
)
_MSO_KEYS_STATUS = _MSO_KEYS | {"status"}
_VALIDITY_KEYS = frozenset({"signed", "validFrom", "validUntil"})
_DEVICE_KEY_INFO_KEYS = frozenset({"deviceKey"})


# protected headers holding only an algorithm, as every issuer and wallet writes them
_ALG_OF_PROTECTED = {encoded: cose.Algorithm(alg) for alg, encoded in cose._ALG_ONLY.items()}
_X5CHAIN_ONLY = frozenset({33})
_KID_ONLY = frozenset({4})


def _sign1_parts(
    value: Any, unprotected_labels: frozenset[int], *, what: str
) -> tuple[bytes, cose.Algorithm, dict[Any, Any], bytes | None, bytes]:
    """(protected, alg, unprotected, payload, signature) of a COSE_Sign1: read directly when
    it is untagged with an alg-only protected header and unprotected labels among
    ``unprotected_labels`` (what ``CoseSign1.from_value`` accepts, no more), else parsed by it."""
    if type(value) is list and len(value) == 4:
        protected, unprotected, payload, signature = value
        alg = _ALG_OF_PROTECTED.get(protected) if type(protected) is bytes else None
        if (
            alg is not None
            and type(unprotected) is dict
            and unprotected.keys() <= unprotected_labels
            and type(signature) is bytes
            and (payload is None or type(payload) is bytes)
        ):
            return protected, alg, unprotected, payload, signature
    parsed = cose.CoseSign1.from_value(value, what=what)
    return parsed.protected_bytes, parsed.algorithm, parsed.unprotected, parsed.payload, parsed.signature


class _Mso(NamedTuple):
    """What the fast path needs of an MSO (the strict path builds a MobileSecurityObject)."""

    doc_type: str
    hash_fn: Callable[[bytes], Any]
    value_digests: dict[str, dict[int, bytes]]
    device_key: cose.PublicKey
    signed: _dt.datetime
    valid_from: _dt.datetime
    valid_until: _dt.datetime
    status: StatusReference | None


def _fast_mso(payload: bytes) -> _Mso:
    """The MSO of the usual shape (no unknown or optional fields but ``status``), read with the
    checks of ``MobileSecurityObject.from_payload`` or stricter; :class:`_Fallback` otherwise."""
    inner = split_tag24(payload)
    if inner is None:
        raise _Fallback
    value = cbor.decode(inner, what="MSO")
    if type(value) is not dict:
        raise _Fallback
    keys = value.keys()
    if keys != _MSO_KEYS and keys != _MSO_KEYS_STATUS:
        raise _Fallback
    alg, doc_type, digests = value["digestAlgorithm"], value["docType"], value["valueDigests"]
    dki, validity = value["deviceKeyInfo"], value["validityInfo"]
    if value["version"] != MSO_VERSION or type(alg) is not str or type(doc_type) is not str:
        raise _Fallback
    hash_fn = _HASHES.get(alg)
    if hash_fn is None or type(digests) is not dict:
        raise _Fallback
    size = DIGEST_SIZE[alg]
    for ns, per_ns in digests.items():
        if type(ns) is not str or type(per_ns) is not dict or not digests_well_formed(per_ns, size):
            raise _Fallback
    if type(validity) is not dict or validity.keys() != _VALIDITY_KEYS:
        raise _Fallback
    signed, valid_from, valid_until = validity["signed"], validity["validFrom"], validity["validUntil"]
    for moment in (signed, valid_from, valid_until):
        if type(moment) is not _dt.datetime or moment.utcoffset() is None:
            raise _Fallback
    if not valid_until > valid_from:
        raise _Fallback
    if type(dki) is not dict or dki.keys() != _DEVICE_KEY_INFO_KEYS:
        raise _Fallback
    status = value.get("status")
    return _Mso(
        doc_type,
        hash_fn,
        digests,
        cose.key_from_cose(dki["deviceKey"]),
        signed,
        valid_from,
        valid_until,
        None if status is None else StatusReference.from_value(status),
    )


def _fast_device_response(
    value: Any,
    anchors: TrustAnchors,
    now: _dt.datetime,
    transcript: SessionTranscript | bytes | None,
    issuer_only: bool,
    status: StatusLists | None,
    status_max_age: _dt.timedelta,
) -> VerificationResult | None:
    """The verdict for a DeviceResponse of the usual shape (``value``: as decoded), or ``None``.

    Same checks, same order, same sentences as the strict path (:func:`_verify_issuer_part`,
    :func:`_verify_device_auth`), with less built on the way: each item's received bytes are
    hashed first, decoded once, and its value goes straight into the result; no parsed
    DeviceResponse, IssuerSigned or item objects are made. It decides a response whose checks
    all pass but those of time (an expired licence or signer) and of the signatures (the
    issuer's; the holder's device: a replay), so that no signature is checked twice. Anything
    else (an unusual shape, any other check that does not pass, a departure worth reporting)
    gives ``None`` and the strict path decides. ``tests/property/test_mdoc_fast_paths.py``
    holds the two paths to the same results, on genuine responses and on hostile variants.
    """
    try:
        return _fast_device_response_or_raise(
            value, anchors, now, transcript, issuer_only, status, status_max_age
        )
    except Exception:  # noqa: BLE001 - anything unexpected: the strict path decides, and reports it
        return None


def _fast_device_response_or_raise(
    value: Any,
    anchors: TrustAnchors,
    now: _dt.datetime,
    transcript: SessionTranscript | bytes | None,
    issuer_only: bool,
    status: StatusLists | None,
    status_max_age: _dt.timedelta,
) -> VerificationResult | None:
    if type(value) is not dict or not value.keys() <= _RESPONSE_KEYS:
        return None
    version, docs = value.get("version"), value.get("documents")
    if type(version) is not str or not version.startswith("1.") or type(value.get("status")) is not int:
        return None
    if value["status"] != 0 or type(docs) is not list or not 0 < len(docs) <= MAX_DOCUMENTS:
        return None
    if isinstance(transcript, (bytes, bytearray)):
        transcript = SessionTranscript.from_bytes(bytes(transcript))
    if transcript is None and not issuer_only:
        return None
    all_checks = [_structure_ok(len(docs))]
    documents = []
    for index, doc in enumerate(docs):
        checks, document = _fast_document(
            doc, index, anchors, now, transcript, issuer_only, status, status_max_age
        )
        all_checks.extend(checks.items)
        if document is not None:
            documents.append(document)
    return VerificationResult(checks=tuple(all_checks), documents=tuple(documents))


@functools.lru_cache(maxsize=64)
def _structure_ok(documents: int) -> Check:
    return Check("structure", CheckStatus.PASSED, "ok", f"DeviceResponse with {documents} document(s)")


@functools.lru_cache(maxsize=256)
def _document_ok(doc_type: str, total: int, index: int) -> tuple[Check, Check]:
    """The doc_type and value_digests checks as they pass."""
    return (
        Check("doc_type", CheckStatus.PASSED, "ok", f"docType {doc_type}", True, index),
        Check("value_digests", CheckStatus.PASSED, "ok", _digests_message(total), True, index),
    )


@functools.lru_cache(maxsize=64)
def _no_status(index: int) -> Check:
    """The status check of a credential without a status reference (as _status_of adds it)."""
    return Check(
        "status",
        CheckStatus.NOT_CHECKED,
        "no_status",
        "the credential carries no status reference",
        False,
        index,
    )


class _Signer(NamedTuple):
    """What the fast path needs of a DS certificate under a set of anchors, for one document
    index, apart from ``now`` (:func:`_signer`)."""

    dated: tuple[tuple[bytes, str], ...]  # certificates on the path whose validity holds at now
    not_before: _dt.datetime
    not_after: _dt.datetime
    certificate: x509.Certificate
    public_key: Any
    country: str | None
    chain_checks: tuple[Check, Check]  # certificate_chain and ds_profile, as they pass
    ds_validity: Check  # as it passes
    issuing_country: Check | None  # as it passes (the certificate's country disclosed)
    issuer_signature: Check  # as it passes
    device_auth: Check  # as it passes


@functools.lru_cache(maxsize=256)
def _signer(ds_der: bytes, anchors: TrustAnchors, index: int) -> _Signer:
    """The time-independent outcome of the checks of a DS certificate (the path to an anchor,
    the profile) and the checks as they read when they pass, cached by the certificate's exact
    bytes, the anchors and the document index (a handheld checks the same signers all day).
    A path or a profile that does not pass raises (not cached): the strict path reports it."""
    result, dated = chain_path(ds_der, anchors)
    if result.pinned:
        chain_checks = (
            Check("certificate_chain", CheckStatus.PINNED, "pinned", _chain_message(result), True, index),
            Check("ds_profile", CheckStatus.PINNED, "pinned", _PINNED_PROFILE, True, index),
        )
    else:
        check_ds_profile_der(ds_der, result.anchor_der or certificate_der(result.anchor))
        chain_checks = (
            Check("certificate_chain", CheckStatus.PASSED, "ok", _chain_message(result), True, index),
            Check("ds_profile", CheckStatus.PASSED, "ok", _PROFILE_OK, True, index),
        )
    not_before, not_after = validity_of(ds_der)
    certificate = load_certificate(ds_der)
    attrs = certificate.subject.get_attributes_for_oid(x509.NameOID.COUNTRY_NAME)
    country = str(attrs[0].value) if attrs else None
    return _Signer(
        dated,
        not_before,
        not_after,
        certificate,
        public_key_of(ds_der),
        country,
        chain_checks,
        Check("ds_validity", CheckStatus.PASSED, "ok", _ds_validity_message(ds_der), True, index),
        None
        if country is None
        else Check(
            "issuing_country",
            CheckStatus.PASSED,
            "ok",
            check_issuing_country(country, certificate),
            True,
            index,
        ),
        Check("issuer_signature", CheckStatus.PASSED, "ok", _SIGNATURE_OK, True, index),
        Check("device_auth", CheckStatus.PASSED, "ok", _DEVICE_SIGNED, True, index),
    )


def _fast_document(
    doc: Any,
    index: int,
    anchors: TrustAnchors,
    now: _dt.datetime,
    transcript: SessionTranscript | None,
    issuer_only: bool,
    status_lists: StatusLists | None,
    status_max_age: _dt.timedelta,
) -> tuple[_Checks, VerifiedDocument | None]:
    """One document of :func:`_fast_device_response`: its checks and its verified elements
    (``None`` when the issuer's signature did not verify); raises :class:`_Fallback` (or any
    error) for whatever the strict path must decide."""
    if type(doc) is not dict or doc.keys() != _DOCUMENT_KEYS:
        raise _Fallback
    doc_type, issuer_signed, device_signed = doc["docType"], doc["issuerSigned"], doc["deviceSigned"]
    if (
        type(doc_type) is not str
        or type(issuer_signed) is not dict
        or issuer_signed.keys() != _ISSUER_SIGNED_KEYS
        or type(device_signed) is not dict
        or device_signed.keys() != _DEVICE_SIGNED_KEYS
    ):
        raise _Fallback

    # issuerAuth and the DS certificate (x5chain: one certificate, unprotected, as edl writes)
    auth_protected, auth_alg, auth_unprotected, payload, auth_signature = _sign1_parts(
        issuer_signed["issuerAuth"], _X5CHAIN_ONLY, what="issuerAuth"
    )
    ds_der = auth_unprotected.get(33)  # x5chain
    if type(ds_der) is not bytes or auth_protected not in _ALG_OF_PROTECTED or payload is None:
        raise _Fallback
    ds_cert = load_certificate(ds_der)

    # The MSO (its signature is checked below, before anything from it is handed out)
    mso = _fast_mso(payload)
    hash_fn = mso.hash_fn
    heads = cbor.TAG24_HEADS

    # Items: hash the received bytes, decode once, look the digest up, keep the value.
    name_spaces = issuer_signed["nameSpaces"]
    if type(name_spaces) is not dict or not name_spaces:
        raise _Fallback
    verified: dict[str, dict[str, Any]] = {}
    total = 0
    for ns, items in name_spaces.items():
        if type(ns) is not str or type(items) is not list or not items:
            raise _Fallback
        total += len(items)
        if total > MAX_ITEMS:
            raise _Fallback
        signed = mso.value_digests.get(ns)
        if signed is None:
            raise _Fallback
        elements: dict[str, Any] = {}
        seen_ids: set[int] = set()
        raws = []
        for tagged in items:
            if type(tagged) is not cbor.CBORTag or tagged.tag != 24 or type(tagged.value) is not bytes:
                raise _Fallback
            raws.append(tagged.value)
        # one strict decoder over the items in turn, each required to end exactly where its
        # bytes end: the same values decode() gives for each alone (None: let decode() judge)
        decoded = cbor.decode_each(raws)
        if decoded is None:
            raise _Fallback
        for raw, item in zip(raws, decoded, strict=True):
            # IssuerSignedItemBytes: the tag-24 head, then the item's bytes as received
            size = len(raw)
            if size < 256:
                digest = hash_fn(heads[size] + raw).digest()
            else:
                h = hash_fn(cbor.tag24_head(size))
                h.update(raw)
                digest = h.digest()
            if type(item) is not dict or item.keys() != _ITEM_KEYS:
                raise _Fallback
            digest_id, rnd, ident = item["digestID"], item["random"], item["elementIdentifier"]
            if (
                type(digest_id) is not int
                or not 0 <= digest_id < CONFORMANT_DIGEST_ID
                or type(rnd) is not bytes
                or len(rnd) < RANDOM_LENGTH
                or type(ident) is not str
                or not ident
                or digest_id in seen_ids
                or ident in elements
                or signed.get(digest_id) != digest
            ):
                raise _Fallback
            seen_ids.add(digest_id)
            elements[ident] = item["elementValue"]
        verified[ns] = elements

    # deviceSigned: parsed whether or not the holder is checked (as the strict path does)
    ns_tagged, device_auth = device_signed["nameSpaces"], device_signed["deviceAuth"]
    if type(ns_tagged) is not cbor.CBORTag or ns_tagged.tag != 24 or type(ns_tagged.value) is not bytes:
        raise _Fallback
    device_ns_raw = ns_tagged.value
    if device_ns_raw != EMPTY_DEVICE_NAMESPACES and type(cbor.decode(device_ns_raw)) is not dict:
        raise _Fallback
    if type(device_auth) is not dict or device_auth.keys() != {"deviceSignature"}:
        raise _Fallback
    dev_protected, dev_alg, _dev_unprotected, dev_payload, dev_signature = _sign1_parts(
        device_auth["deviceSignature"], _KID_ONLY, what="deviceSignature"
    )

    checks = _Checks(index)
    add = checks.add
    passed = CheckStatus.PASSED
    # 2-4: the DS certificate (what does not depend on now is cached by the certificate's
    # bytes: verify_chain's path and the profile, the sentences of the checks that pass)
    signer = _signer(ds_der, anchors, index)
    for der, what in signer.dated:  # verify_chain's dates at now
        check_validity(der, now, what=what)
    checks.items.extend(signer.chain_checks)
    # (an expired licence or signer is reported here as the strict path reports it)
    if signer.not_before <= now <= signer.not_after:
        checks.items.append(signer.ds_validity)
    else:
        try:
            check_validity(ds_der, now, what="the document signer certificate")
        except EdlError as e:
            add("ds_validity", CheckStatus.FAILED, e.code, e.diagnostics(), error=e)
    # 5: the issuer's signature (a signature that does not verify is reported here as the
    # strict path reports it, rather than checked twice)
    try:
        cose.verify_signature(
            signer.public_key, auth_alg, cose._sig_structure(auth_protected, b"", payload), auth_signature
        )
    except EdlError as e:
        add("issuer_signature", CheckStatus.FAILED, e.code, e.diagnostics(), error=e)
        for name in ("doc_type", "value_digests", "mso_validity"):
            checks.skip(name, "the issuer's signature did not verify")
        if issuer_only:
            checks.skip("device_auth", _HOLDER_UNCHECKED, code="holder_unchecked")
        else:
            checks.skip("device_auth", "not checked: the issuer's data did not verify")
        checks.skip("status", "not checked: the issuer's data did not verify")
        return checks, None
    checks.items.append(signer.issuer_signature)
    # 6-9
    if doc_type != mso.doc_type:
        raise _Fallback
    checks.items.extend(_document_ok(mso.doc_type, total, index))
    try:
        sentence = _check_mso_validity_in(
            mso.signed, mso.valid_from, mso.valid_until, signer.not_before, signer.not_after, now
        )
    except EdlError as e:
        add("mso_validity", CheckStatus.FAILED, e.code, e.diagnostics(), error=e)
    else:
        add("mso_validity", passed, "ok", sentence)
    country = verified.get(NAMESPACE_MDL, {}).get("issuing_country")
    if country is None:
        checks.skip(
            "issuing_country", "issuing_country was not disclosed", code="not_disclosed", required=False
        )
    elif type(country) is str and country == signer.country and signer.issuing_country is not None:
        checks.items.append(signer.issuing_country)
    else:
        add("issuing_country", passed, "ok", check_issuing_country(country, signer.certificate))
    # 10: the holder
    if issuer_only:
        checks.skip("device_auth", _HOLDER_UNCHECKED, code="holder_unchecked")
    else:
        assert transcript is not None
        signed_payload = device_authentication_bytes(transcript, doc_type, device_ns_raw)
        # a device signature that does not verify (another session, a replay) is reported here
        # as the strict path reports it, rather than checked twice
        try:
            if dev_payload is not None and dev_payload != signed_payload:
                raise DeviceAuthError("the device signature covers a different session")
            tbs = cose._sig_structure(dev_protected, b"", signed_payload)
            try:
                cose.verify_signature(mso.device_key, dev_alg, tbs, dev_signature)
            except DeviceAuthError:
                raise
            except EdlError as e:
                raise DeviceAuthError(f"device authentication failed: {e.message}") from e
        except DeviceAuthError as e:
            add("device_auth", CheckStatus.FAILED, e.code, e.diagnostics(), error=e)
        else:
            checks.items.append(signer.device_auth)
    if mso.status is None:
        checks.items.append(_no_status(index))
    else:
        _status_of(checks, mso.status, status_lists, now, status_max_age)
    return checks, VerifiedDocument(doc_type=mso.doc_type, elements=verified, issuer_certificate=ds_cert)


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
        value = cbor.decode(data, what="DeviceResponse")  # once, for both paths
    except EdlError as e:
        top.add("structure", CheckStatus.FAILED, e.code, e.diagnostics(), error=e)
        return VerificationResult(checks=tuple(top.items))
    if reader_key is None:
        fast = _fast_device_response(value, anchors, now, transcript, issuer_only, status, status_max_age)
        if fast is not None:
            return fast
    try:
        response = DeviceResponse.from_value(value)
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
            checks.skip("device_auth", _HOLDER_UNCHECKED, code="holder_unchecked")
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

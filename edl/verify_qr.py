"""The verifier for the rotating QR: frames (+ portrait chunks) + trust list + time → verdict.

This module owns the ordered checks of ``specs/presentation-qr.md`` §6, reported in the same
:class:`~edl.verify.VerificationResult` as the mdoc verifier (same verdicts and codes):

1. ``structure``          every input is a ``DL1:`` frame or portrait chunk; the frames are of
                          one credential (chunks of another are ignored)
2. ``certificate_chain``  a DS certificate with the credential's key id is in the trust list,
                          not revoked, and chains to its city's root
3. ``ds_profile``         that certificate fits the DS profile
4. ``ds_validity``        it is valid now
5. ``issuer_signature``   the credential verifies with it (every certificate with that key id
                          is tried)
6. ``city``               the credential's city is the one the trust list files the signer under
   ``issuing_country``    the credential's issuing_country is its signer's country (as for mdocs)
7. ``credential_validity`` issued ≤ now ≤ valid-until
8. ``device_auth``        the frame is signed by the device key inside the credential
9. ``freshness``          the frame was signed within the acceptance window (a screenshot is stale)
10. ``challenge``         the frame carries the verifier's challenge, when one was given
11. ``portrait``          the chunks rebuild the thumbnail whose digest the credential signs
12. ``status``            the city's status list (``status``, e.g. a loaded bundle): red when
                          revoked or suspended, amber when the list is missing or stale

Without a verified portrait the verdict is at best amber, and an unverified portrait is never
handed out. The result is a :class:`QrVerificationResult`: its ``portrait_pending`` says when a
main frame read before its portrait frames is authentic with only the portrait still to come
(keep scanning), so an app need not read ``checks`` for that. Time is an argument; no network.
"""

from __future__ import annotations

import datetime as _dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from .compact import CompactCredential, decode_compact, portrait_digest
from .errors import (
    DeviceAuthError,
    EdlError,
    ExpiredError,
    MixedCarouselError,
    NotYetValidError,
    StalePresentationError,
    UntrustedIssuerError,
    VerificationError,
)
from .mdoc.namespaces import DOC_TYPE_MDL, NAMESPACE_MDL
from .presentation import Chunk, Frame, decode_text, parse_payload
from .status import status_uri
from .trust import VerifiedTrustList
from .verify import (
    DEFAULT_STATUS_MAX_AGE,
    Check,
    CheckStatus,
    StatusLists,
    VerificationResult,
    VerifiedDocument,
    _Checks,
    check_issuing_country,
    check_status,
)
from .x509 import (
    chain_path,
    check_ds_profile_der,
    check_validity,
    load_certificate,
    public_key_of,
    validity_of,
    verify_chain,
)

__all__ = [
    "DEFAULT_SKEW",
    "DEFAULT_WINDOW",
    "MixedCarouselError",
    "QrVerificationResult",
    "verify_presentation",
]

DEFAULT_WINDOW = _dt.timedelta(seconds=90)
"""How old a frame may be: three 30-second rotations (a screenshot older than this is stale)."""
DEFAULT_SKEW = _dt.timedelta(seconds=60)
"""How far in the future a frame's time may be (the phone's and the handheld's clocks differ)."""

CHECK_NAMES = (
    "certificate_chain",
    "ds_profile",
    "ds_validity",
    "issuer_signature",
    "city",
    "issuing_country",
    "credential_validity",
    "device_auth",
    "freshness",
    "challenge",
    "portrait",
    "status",
)


# Checks whose outcome reads the same every time (immutable, so shared).
_DS_PROFILE_OK = Check(
    "ds_profile", CheckStatus.PASSED, "ok", "document signer certificate fits the ISO 18013-5 profile"
)
_ISSUER_SIGNATURE_OK = Check(
    "issuer_signature", CheckStatus.PASSED, "ok", "the issuing city's signature is valid"
)
_DEVICE_AUTH_OK = Check("device_auth", CheckStatus.PASSED, "ok", "made by the holder's own phone")
_CHALLENGE_OK = Check("challenge", CheckStatus.PASSED, "ok", "the QR answers this device's challenge")
_NO_CHALLENGE = Check(
    "challenge", CheckStatus.NOT_CHECKED, "no_challenge", "no challenge was asked", required=False
)
_NO_STATUS = Check(
    "status",
    CheckStatus.NOT_CHECKED,
    "no_status",
    "the credential carries no status reference",
    required=False,
)
_NO_PORTRAIT = Check(
    "portrait",
    CheckStatus.NOT_CHECKED,
    "no_portrait",
    "this kind of licence QR carries no portrait",
    required=False,
)
_NO_COUNTRY = Check(
    "issuing_country",
    CheckStatus.NOT_CHECKED,
    "not_disclosed",
    "issuing_country is not in this QR",
    required=False,
)


# The sentences of passing checks, made once per signer, city or value: building a Check costs
# about a microsecond, a dozen of them a tenth of what a first sight spends outside the crypto.
@functools.lru_cache(maxsize=256)
def _structure_ok(profile: str, portrait_frames: int, ignored: int) -> Check:
    extra = f"; {ignored} portrait frame(s) of another licence ignored)" if ignored else ")"
    return Check(
        "structure", CheckStatus.PASSED, "ok", f"{profile} frame (+{portrait_frames} portrait frame(s){extra}"
    )


@functools.lru_cache(maxsize=256)
def _chain_ok(city_name: str, country: str, kid: bytes) -> Check:
    return Check(
        "certificate_chain", CheckStatus.PASSED, "ok", f"{city_name} ({country}), signer {kid.hex()}"
    )


@functools.lru_cache(maxsize=256)
def _ds_validity_ok(not_after: _dt.datetime) -> Check:
    return Check(
        "ds_validity",
        CheckStatus.PASSED,
        "ok",
        f"document signer certificate valid until {not_after.date().isoformat()}",
    )


@functools.lru_cache(maxsize=256)
def _city_ok(city_name: str) -> Check:
    return Check("city", CheckStatus.PASSED, "ok", f"issued by {city_name}")


@functools.lru_cache(maxsize=256)
def _fresh_ok(seconds: int) -> Check:
    return Check("freshness", CheckStatus.PASSED, "ok", f"made {seconds} s ago")


@functools.lru_cache(maxsize=64)
def _portrait_missing(why: str) -> Check:
    return Check("portrait", CheckStatus.NOT_CHECKED, "portrait_missing", f"portrait not verified: {why}")


@functools.lru_cache(maxsize=256)
def _issuing_country_outcome(claimed: str, ds_der: bytes) -> str | tuple[type[EdlError], str, str]:
    # A pure function of the claimed text and the certificate: the sentence, or the refusal's
    # class, message and code (raised afresh each time, as _issuer_signature_error does).
    try:
        return check_issuing_country(claimed, load_certificate(ds_der))
    except EdlError as e:
        return (type(e), e.message, e.code)


def _check_issuing_country(claimed: Any, ds_der: bytes) -> str:
    if type(claimed) is not str:  # the compact decoder admits only text; kept strict anyway
        return check_issuing_country(claimed, load_certificate(ds_der))
    outcome = _issuing_country_outcome(claimed, ds_der)
    if isinstance(outcome, tuple):
        cls, message, code = outcome
        raise cls(message, code=code)
    return outcome


def _parse_inputs(inputs: Sequence[str | bytes]) -> tuple[list[Frame], list[Chunk]]:
    """Texts (``DL1:...``, as a QR holds them) or raw payload bytes, in any order."""
    frames: list[Frame] = []
    chunks: list[Chunk] = []
    for item in inputs:
        if isinstance(item, str) or item[:2] == b"DL":
            parsed = parse_payload(decode_text(item))
        else:
            parsed = parse_payload(item)
        if isinstance(parsed, Frame):
            frames.append(parsed)
        else:
            chunks.append(parsed)
    return frames, chunks


def _assemble(chunks: list[Chunk], credential: CompactCredential) -> tuple[bytes | None, str, bool]:
    """(thumbnail, why not, whether reading more frames can still complete it)."""
    mine = [c for c in chunks if c.credential_id == credential.id] if chunks else []
    if not mine:
        return None, "no portrait frames were read", True
    counts = {c.count for c in mine}
    if len(counts) != 1:
        return None, "the portrait frames disagree on their number", False
    count = counts.pop()
    parts: dict[int, bytes] = {}
    for c in mine:
        if c.index in parts and parts[c.index] != c.data:
            return None, f"portrait frame {c.index + 1} was read twice with different content", False
        parts[c.index] = c.data
    missing = [i + 1 for i in range(count) if i not in parts]
    if missing:
        return None, f"portrait frame(s) {', '.join(map(str, missing))} of {count} not read yet", True
    return b"".join(parts[i] for i in range(count)), "", False


@dataclass(frozen=True, slots=True)
class QrVerificationResult(VerificationResult):
    """The verdict on a QR carousel: a :class:`~edl.verify.VerificationResult` (same checks,
    verdict and documents) that also says whether the portrait is all it still waits for.

    ``portrait_pending`` is ``True`` when every check passed (or was not required) except the
    portrait, whose frames have not all been read yet: the licence is authentic and fresh, the
    verdict is amber only until the portrait frames are read, after which the same carousel
    verifies green (unless they do not rebuild the portrait the city signed). An app shows
    "authentic, portrait still to come" and keeps scanning; it need not read ``checks``. It is
    ``False`` whenever anything failed, another required check could not run (a missing status
    list), or the portrait frames read are inconsistent or rebuild another portrait.
    """

    portrait_pending: bool = False

    def to_json(self) -> dict[str, Any]:
        out = VerificationResult.to_json(self)
        out["portrait_pending"] = self.portrait_pending
        return out


@functools.lru_cache(maxsize=32)  # small, as decode_compact's cache (see there)
def _issuer_signature_error(credential: bytes, certificate: bytes) -> tuple[type[EdlError], str, str] | None:
    # A pure function of the two byte strings: a carousel shows the same credential in every
    # frame and every rotation, so the handheld checks its signature once. (The error is kept
    # as its class, message and code, and raised afresh each time.)
    try:
        decode_compact(credential).sign1.verify(public_key_of(certificate))
    except EdlError as e:
        return (type(e), e.message, e.code)
    return None


def _check_issuer_signature(credential: bytes, certificate: bytes) -> None:
    error = _issuer_signature_error(credential, certificate)
    if error is not None:
        cls, message, code = error
        raise cls(message, code=code)


class _Signer(NamedTuple):
    """What stays the same between first sights of licences signed under one key id and one
    trust list (:func:`_signer_of`): the one listed signer, and its checks as they pass."""

    city_id: str
    ds_der: bytes
    windows: tuple[tuple[_dt.datetime, _dt.datetime], ...]  # validity of the path above the DS
    not_before: _dt.datetime
    not_after: _dt.datetime
    chain_ok: Check
    ds_validity_ok: Check
    city_ok: Check


def _signer_of(vl: VerifiedTrustList, kid: bytes) -> _Signer | None:
    """The usual outcome of the signer search of :func:`verify_presentation`, found once per
    list and key id: exactly one listed certificate with that id, revoked by nobody, with its
    path to its city's root and its profile met. ``None`` for anything else (no signer, a
    revocation, several candidates, no path, a profile not met): the search then runs in full
    and reports it. Only key ids the list names are remembered: a stream of made-up ones (a
    hostile page posting texts to the handheld) leaves nothing behind."""
    if not vl.find_signers(kid):
        return None
    found: _Signer | None = vl.memo(("verify_qr.signer", kid), lambda: _make_signer(vl, kid))
    return found


def _make_signer(vl: VerifiedTrustList, kid: bytes) -> _Signer | None:
    found = vl.find_signers(kid)
    if len(found) != 1 or vl.revoked_by(kid) is not None:
        return None
    city, signer = found[0]
    ds_der = signer.certificate
    if vl.revocation_of(ds_der) is not None:
        return None
    try:
        chain, dated = chain_path(ds_der, vl.city_anchors(city))
        check_ds_profile_der(ds_der, chain.anchor_der)
    except EdlError:
        return None
    not_before, not_after = validity_of(ds_der)
    return _Signer(
        city.id,
        ds_der,
        tuple(validity_of(der) for der, _what in dated),
        not_before,
        not_after,
        _chain_ok(city.name, city.country, kid),
        _ds_validity_ok(not_after),
        _city_ok(city.name),
    )


def _trust_lists(trust: VerifiedTrustList | Sequence[VerifiedTrustList]) -> list[VerifiedTrustList]:
    lists = [trust] if isinstance(trust, VerifiedTrustList) else list(trust)
    if not lists:
        raise ValueError("no trust list: refusing to verify against nothing")
    return lists


def _city_mismatch(checks: _Checks, cred: CompactCredential, city_id: str) -> None:
    err = VerificationError(
        f"the licence claims city {cred.city!r} but its signer belongs to {city_id!r}",
        code="city_mismatch",
    )
    checks.add("city", CheckStatus.FAILED, err.code, err.diagnostics(), error=err)


def _search_signer(
    checks: _Checks, lists: list[VerifiedTrustList], cred: CompactCredential, now: _dt.datetime
) -> tuple[str, bytes, _dt.datetime, _dt.datetime] | None:
    """Checks 2-6 of :func:`verify_presentation` in full, for what :func:`_signer_of` leaves
    out: (the signer's city id, its DER, its notBefore, its notAfter), or ``None`` once the
    checks say why the issuer could not be verified (the later ones skipped)."""
    items = checks.items
    # 2-5: find the signer by key id; try every certificate with that id.
    # Revoked: by the key id the credential names (its certificate is no longer listed), or a
    # listed certificate whose public key or issuer + serial a city revoked (a re-issued one).
    kid = cred.kid
    candidates = []
    revoked = []
    for vl in lists:
        for c, s in vl.find_signers(kid):
            candidates.append((vl, c, s))
        by_kid = vl.revoked_by(kid)
        if by_kid is not None:
            revoked.append(by_kid)
    for _, _, s in candidates:
        for vl in lists:
            by_certificate = vl.revocation_of(s.certificate)
            if by_certificate is not None:
                revoked.append(by_certificate)
    chosen = None
    if revoked:
        checks.add(
            "certificate_chain",
            CheckStatus.FAILED,
            "signer_revoked",
            f"the issuer's signing key {cred.kid.hex()} has been revoked by {revoked[0].name}",
        )
    elif not candidates:
        untrusted = UntrustedIssuerError(f"no trusted authority has a signing key {cred.kid.hex()}")
        checks.add(
            "certificate_chain", CheckStatus.FAILED, untrusted.code, untrusted.diagnostics(), error=untrusted
        )
    else:
        last_error: EdlError | None = None
        for vl, city, signer in candidates:
            try:
                chain = verify_chain([signer.certificate], vl.city_anchors(city), now)
                _check_issuer_signature(cred.raw, signer.certificate)
            except EdlError as e:
                last_error = e
                continue
            chosen = (city, signer, chain)
            break
        if chosen is None:
            assert last_error is not None
            # Report where it broke: the chain, or the signature of every candidate.
            name = (
                "issuer_signature"
                if last_error.code in ("bad_signature", "unsupported")
                else "certificate_chain"
            )
            if name == "issuer_signature":
                checks.add("certificate_chain", CheckStatus.PASSED, "ok", "the signer is in the trust list")
            checks.add(name, CheckStatus.FAILED, last_error.code, last_error.diagnostics(), error=last_error)
    if chosen is None:
        done = {c.name for c in checks.items}
        for name in CHECK_NAMES:
            if name not in done:
                checks.skip(name, "not checked: the issuer could not be verified")
        return None

    city, signer, chain = chosen
    ds_der = signer.certificate
    add = checks.add
    items.append(_chain_ok(city.name, city.country, kid))
    try:
        check_ds_profile_der(ds_der, chain.anchor_der)
        items.append(_DS_PROFILE_OK)
    except EdlError as e:
        add("ds_profile", CheckStatus.FAILED, e.code, e.diagnostics(), error=e)
    not_before, not_after = validity_of(ds_der)
    try:
        check_validity(ds_der, now, what="the document signer certificate")
        items.append(_ds_validity_ok(not_after))
    except EdlError as e:
        add("ds_validity", CheckStatus.FAILED, e.code, e.diagnostics(), error=e)
    items.append(_ISSUER_SIGNATURE_OK)
    if cred.city == city.id:
        items.append(_city_ok(city.name))
    else:
        _city_mismatch(checks, cred, city.id)
    return city.id, ds_der, not_before, not_after


def verify_presentation(
    inputs: Sequence[str | bytes],
    *,
    trust: VerifiedTrustList | Sequence[VerifiedTrustList],
    now: _dt.datetime,
    challenge: bytes | None = None,
    window: _dt.timedelta = DEFAULT_WINDOW,
    skew: _dt.timedelta = DEFAULT_SKEW,
    status: StatusLists | None = None,
    status_max_age: _dt.timedelta = DEFAULT_STATUS_MAX_AGE,
) -> QrVerificationResult:
    """Verify a carousel of QR payloads (``DL1:`` texts or their decoded bytes) at ``now``.

    Hostile inputs give a red result, never an exception. Main frames of two different
    credentials are red (``structure`` failed, code ``mixed_carousel``: scan one phone at a
    time); portrait chunks of another credential are ignored (``structure`` says how many).
    """
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    lists = _trust_lists(trust)
    checks = _Checks(None)
    if not inputs:
        raise ValueError("nothing to verify")
    try:
        frames, chunks = _parse_inputs(inputs)
        if not frames:
            raise VerificationError("no licence frame was read, only portrait frames", code="no_frame")
    except EdlError as e:
        checks.add("structure", CheckStatus.FAILED, e.code, e.diagnostics(), error=e)
        for name in CHECK_NAMES:
            checks.skip(name, "not checked: the QR could not be read")
        return QrVerificationResult(checks=tuple(checks.items))
    if len(frames) > 1 and len({f.credential.id for f in frames}) > 1:
        mixed = MixedCarouselError("these QR frames come from more than one licence.")
        checks.add("structure", CheckStatus.FAILED, mixed.code, mixed.diagnostics(), error=mixed)
        for name in CHECK_NAMES:
            checks.skip(name, "not checked: the QR frames are of more than one licence")
        return QrVerificationResult(checks=tuple(checks.items))
    # The newest frame decides freshness.
    frame = frames[0] if len(frames) == 1 else max(frames, key=lambda f: f.signed_at)
    cred = frame.credential
    # A portrait chunk is unsigned: one of another credential (a stray QR, a hostile phone's)
    # is left out rather than spoiling the verdict; the digest check guards the rest.
    if chunks:
        mine = [c for c in chunks if c.credential_id == cred.id]
        ignored = len(chunks) - len(mine)
        chunks = mine
    else:
        ignored = 0
    items = checks.items
    items.append(_structure_ok(cred.profile, len(chunks), ignored))

    # 2-6, the usual case (_signer_of: one listed signer with this key id, its path and profile
    # found once per trust list); the dates and the credential's signature are checked here.
    known = _signer_of(lists[0], cred.kid) if len(lists) == 1 else None
    if (
        known is not None
        and all(nb <= now <= na for nb, na in known.windows)
        and _issuer_signature_error(cred.raw, known.ds_der) is None
    ):
        city_id, ds_der = known.city_id, known.ds_der
        not_before, not_after = known.not_before, known.not_after
        items.append(known.chain_ok)
        items.append(_DS_PROFILE_OK)
        if not_before <= now <= not_after:
            items.append(known.ds_validity_ok)
        else:
            try:
                check_validity(ds_der, now, what="the document signer certificate")
            except EdlError as e:
                checks.add("ds_validity", CheckStatus.FAILED, e.code, e.diagnostics(), error=e)
        items.append(_ISSUER_SIGNATURE_OK)
        if cred.city == city_id:
            items.append(known.city_ok)
        else:
            _city_mismatch(checks, cred, city_id)
    else:
        found = _search_signer(checks, lists, cred, now)
        if found is None:
            return QrVerificationResult(checks=tuple(checks.items))
        city_id, ds_der, not_before, not_after = found
    ok = CheckStatus.PASSED
    add = checks.add
    err: EdlError | None
    # The same country binding as the mdoc verifier: a city's key cannot vouch for a licence of
    # another country.
    elements: dict[str, Any] = cred.elements()
    claimed_country = elements.get("issuing_country")
    if claimed_country is None:
        items.append(_NO_COUNTRY)
    else:
        checks.run("issuing_country", lambda: _check_issuing_country(claimed_country, ds_der))

    if now + skew < cred.issued:
        err = NotYetValidError(f"the licence credential is not valid before {cred.issued:%Y-%m-%d %H:%M}Z")
    elif now > cred.valid_until:
        err = ExpiredError(f"the licence credential expired on {cred.valid_until:%Y-%m-%d %H:%M}Z")
    elif not not_before <= cred.issued <= not_after:
        err = VerificationError(
            "the credential was signed outside its signer certificate's validity",
            code="signed_outside_certificate",
        )
    else:
        err = None
    if err is None:
        add("credential_validity", ok, "ok", f"valid until {cred.valid_until.date().isoformat()}")
    else:
        add("credential_validity", CheckStatus.FAILED, err.code, err.diagnostics(), error=err)

    try:
        frame.sign1.verify(cred.device_key)
        device_ok = True
        items.append(_DEVICE_AUTH_OK)
    except EdlError as e:
        device_ok = False
        err = DeviceAuthError("the frame's signature does not verify under the phone key the city signed")
        err.__cause__ = e
        add("device_auth", CheckStatus.FAILED, err.code, err.diagnostics(), error=err)

    if device_ok:
        age = now - frame.signed_at
        if age > window:
            err = StalePresentationError(
                f"made {int(age.total_seconds())} s ago, and a QR is good for {int(window.total_seconds())} s"
            )
        elif -age > skew:
            err = StalePresentationError(
                f"the QR's time is {int(-age.total_seconds())} s ahead of this device's clock",
                code="clock_skew",
            )
            err.advice = "Check the time on this device and on the holder's phone."
        else:
            err = None
        if err is None:
            items.append(_fresh_ok(max(0, int(age.total_seconds()))))
        else:
            add("freshness", CheckStatus.FAILED, err.code, err.diagnostics(), error=err)
    else:
        checks.skip("freshness", "not checked: the frame's signature did not verify")

    if challenge is None:
        items.append(_NO_CHALLENGE)
    elif not device_ok:
        checks.skip("challenge", "not checked: the frame's signature did not verify")
    elif frame.challenge == challenge:
        items.append(_CHALLENGE_OK)
    else:
        add(
            "challenge",
            CheckStatus.FAILED,
            "challenge_mismatch",
            "the QR does not answer this device's challenge: it was made for another check",
        )

    portrait: bytes | None = None
    waiting = False
    if cred.portrait_digest is None:
        items.append(_NO_PORTRAIT)
    else:
        assembled, why, waiting = _assemble(chunks, cred)
        if assembled is None:
            items.append(_portrait_missing(why))
        elif portrait_digest(assembled) != cred.portrait_digest:
            checks.skip(
                "portrait",
                "portrait not verified: it differs from the one the city signed",
                code="portrait_missing",
            )
        else:
            portrait = assembled
            checks.add("portrait", CheckStatus.PASSED, "ok", f"portrait verified ({len(assembled)} bytes)")

    if cred.status is not None:
        # The list is the one the verified city keeps under that id (the city check above ties
        # the credential to the city that lists its signer).
        check_status(
            checks,
            status_uri(city_id, cred.status[0]),
            cred.status[1],
            status,
            now=now,
            max_age=status_max_age,
        )
    else:
        items.append(_NO_STATUS)

    if portrait is not None:
        elements["portrait"] = portrait
    document = VerifiedDocument(
        doc_type=DOC_TYPE_MDL, elements={NAMESPACE_MDL: elements}, issuer_certificate=load_certificate(ds_der)
    )
    # Pending: the portrait check (waiting for frames) is the one thing between this and green.
    pending = waiting
    if waiting:
        for item in items:
            if item.status is not ok and item.required and item.name != "portrait":
                pending = False
                break
    return QrVerificationResult(checks=tuple(checks.items), documents=(document,), portrait_pending=pending)

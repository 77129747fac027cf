"""POST /verify: QR texts and/or camera frames -> verdict, checks, verified elements, the
signed portrait (only when it verified). GET /challenge: a fresh challenge to show the holder.

Frames are decoded here with ``edl.qr`` (zxing-cpp); the verdict is ``edl.verify_qr``'s. Nothing
about the holder is stored or logged: only counts and the verdict go to the log.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import logging
import re
import secrets
from typing import Any, Literal

from fastapi import APIRouter

from edl.errors import EdlError
from edl.qr import decode_image
from edl.verify import CheckStatus, VerificationResult
from edl.verify_qr import verify_presentation
from edl.x509 import certificate_der, key_id, validity_of

from ..dependencies import ClockDep, TrustDep, TrustState
from ..errors import AppError
from ..schemas import (
    MAX_FRAME_B64,
    MAX_TEXT,
    Category,
    ChallengeOut,
    CheckOut,
    Issuer,
    LicenceOut,
    VerifyRequest,
    VerifyResponse,
)

router = APIRouter(tags=["verify"])
log = logging.getLogger("verifier_app")

ISO = "org.iso.18013.5.1"
_CHALLENGE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I/O: read aloud or typed
_INCOMPLETE = {"no_frame", "portrait_missing"}
_TEST_NAME = re.compile(r"(?<![A-Za-z])(test|demo)(?![A-Za-z])", re.IGNORECASE)


def _decode_frame(b64: str) -> list[str]:
    """The QR texts in one base64 PNG/JPEG frame ([] when none); unreadable bytes raise 422."""
    if len(b64) > MAX_FRAME_B64:
        raise AppError(413, "too_large", "a camera frame is at most 4 MiB")
    if b64.startswith("data:"):
        b64 = b64.partition(",")[2]
    try:
        data = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise AppError(422, "frame_unreadable", "a camera frame is not base64") from None
    try:
        return [t for t in decode_image(data) if len(t) <= MAX_TEXT]
    except EdlError:
        return []


def _checks(result: VerificationResult) -> list[CheckOut]:
    return [
        CheckOut(name=c.name, status=c.status.value, code=c.code, message=c.message, required=c.required)
        for c in result.checks
    ]


def _categories(privileges: Any) -> list[Category]:
    out = []
    for p in privileges if isinstance(privileges, list) else []:
        if not isinstance(p, dict) or not isinstance(p.get("vehicle_category_code"), str):
            continue
        found = p.get("codes")
        codes: list[Any] = found if isinstance(found, list) else []
        out.append(
            Category(
                code=p["vehicle_category_code"],
                issue_date=p.get("issue_date") if isinstance(p.get("issue_date"), _dt.date) else None,
                expiry_date=p.get("expiry_date") if isinstance(p.get("expiry_date"), _dt.date) else None,
                restrictions=[
                    str(c.get("code")) + (f" {c['sign']}{c.get('value', '')}" if c.get("sign") else "")
                    for c in codes
                    if isinstance(c, dict) and isinstance(c.get("code"), str)
                ],
            )
        )
    return out


def _licence(elements: dict[str, Any]) -> LicenceOut:
    def s(name: str) -> str | None:
        v = elements.get(name)
        return v if isinstance(v, str) else None

    def d(name: str) -> _dt.date | None:
        v = elements.get(name)
        return v if isinstance(v, _dt.date) and not isinstance(v, _dt.datetime) else None

    age = elements.get("age_over_18")
    return LicenceOut(
        family_name=s("family_name"),
        given_name=s("given_name"),
        family_name_national_character=s("family_name_national_character"),
        given_name_national_character=s("given_name_national_character"),
        birth_date=d("birth_date"),
        document_number=s("document_number"),
        expiry_date=d("expiry_date"),
        age_over_18=age if isinstance(age, bool) else None,
        categories=_categories(elements.get("driving_privileges")),
    )


def _issuer(result: VerificationResult, trust: TrustState) -> Issuer | None:
    if not result.documents or result.documents[0].issuer_certificate is None:
        return None
    cert = result.documents[0].issuer_certificate
    der = certificate_der(cert)
    kid = key_id(der)
    not_before, not_after = validity_of(der)
    for tl in trust.loaded.trust_lists:
        for city, _ in tl.find_signers(kid):
            names = f"{tl.trust_list.provider} {city.id} {city.name}"
            return Issuer(
                city_id=city.id,
                city_name=city.name,
                country=city.country,
                key_id=kid.hex(),
                signer_not_before=not_before,
                signer_not_after=not_after,
                trust_list=tl.trust_list.provider,
                # The trust list's flag (a city made with --test, as the demo's are); a name that
                # says test or demo is stamped too, for lists made before the flag existed.
                test=city.test or bool(_TEST_NAME.search(names)),
            )
    return Issuer(key_id=kid.hex(), signer_not_before=not_before, signer_not_after=not_after)


@router.get("/challenge", response_model=ChallengeOut)
def challenge() -> ChallengeOut:
    """Eight characters for the holder's app to sign into its next frame."""
    return ChallengeOut(challenge="".join(secrets.choice(_CHALLENGE_ALPHABET) for _ in range(8)))


@router.post("/verify", response_model=VerifyResponse, response_model_exclude_none=False)
def verify(
    body: VerifyRequest,
    clock: ClockDep,
    trust: TrustDep,
) -> VerifyResponse:
    texts: list[str] = []
    for t in body.texts:
        if len(t) <= MAX_TEXT and t not in texts:
            texts.append(t)
    unreadable = 0
    for frame in body.frames:
        found = _decode_frame(frame)
        unreadable += not found
        texts.extend(t for t in found if t not in texts)
    if not texts:
        log.info("verify: nothing read (%d frame(s))", len(body.frames))
        return VerifyResponse(verdict=None, complete=False, unreadable_frames=unreadable)
    now = clock()
    trust.check_now(now)
    loaded = trust.loaded
    result = verify_presentation(
        texts,
        trust=list(loaded.trust_lists),
        now=now,
        challenge=body.challenge.encode("ascii") if body.challenge else None,
        status=loaded.bundle,
        status_max_age=trust.settings.status_max_age,
    )
    checks = _checks(result)
    complete = not any(c.code in _INCOMPLETE for c in checks)
    elements = dict(result.documents[0].elements.get(ISO, {})) if result.documents else {}
    portrait_ok = any(c.name == "portrait" and c.status == CheckStatus.PASSED.value for c in checks)
    portrait = elements.get("portrait") if portrait_ok else None
    verdict: Literal["green", "amber", "red"] = result.verdict.value
    log.info("verify: %s, %d text(s), complete=%s", verdict, len(texts), complete)
    return VerifyResponse(
        verdict=verdict,
        complete=complete,
        checks=checks,
        licence=_licence(elements) if elements else None,
        portrait=base64.b64encode(portrait).decode() if isinstance(portrait, bytes) else None,
        issuer=_issuer(result, trust),
        texts=texts,
        unreadable_frames=unreadable,
    )

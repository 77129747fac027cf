"""Nonces and licences of one city: ``POST nonce``, ``POST licences``, ``GET licences/{number}``."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import secrets
from typing import Annotated, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from fastapi import APIRouter, Depends, Header, Path, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from edl.city import check_city_id

from ..auth import Caller, require
from ..db import IdempotentAnswer, IssuedLicenceRow, Nonce
from ..dependencies import request_id
from ..errors import AppError
from ..issuing import issue_one
from ..schemas import ErrorResponse, IssueRequest, IssueResponse, NonceResponse

router = APIRouter(prefix="/v1/cities/{city}")

Issuer = Annotated[Caller, Depends(require("issue"))]
RequestId = Annotated[str, Depends(request_id)]

CityPath = Path(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$", description="city id, e.g. cn-qingdao")

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "no API key, or an unknown or revoked one"},
    403: {"model": ErrorResponse, "description": "the API key lacks the scope"},
    404: {"model": ErrorResponse, "description": "no such city (unknown_city) or licence"},
    409: {"model": ErrorResponse, "description": "nonce_used, already_issued, idempotency_conflict"},
    422: {"model": ErrorResponse, "description": "bad_request, nonce_expired, not_holder, malformed"},
}


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _aware(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)  # SQLite drops the zone


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise AppError(422, "bad_request", f"{what} is not base64") from None


def _city(request: Request, city: str) -> None:
    check_city_id(city)
    request.app.state.admin.load(city)  # KeyStoreError unknown_city -> 404


@router.post(
    "/nonce",
    response_model=NonceResponse,
    responses={401: ERRORS[401], 403: ERRORS[403], 404: ERRORS[404]},
    summary="a single-use nonce for the device to sign (valid 5 minutes)",
)
def new_nonce(request: Request, caller: Issuer, city: str = CityPath) -> NonceResponse:
    _city(request, city)
    now = request.app.state.clock()
    value = secrets.token_urlsafe(32)
    with request.app.state.sessions() as s:
        s.add(Nonce(value=value, city=city, created=now))
        s.commit()
    return NonceResponse(nonce=value, expires=_iso(now + request.app.state.settings.nonce_lifetime))


def _device_key(text: str) -> ec.EllipticCurvePublicKey:
    der = _unb64(text, "device_key")
    try:
        key = serialization.load_der_public_key(der)
    except (ValueError, TypeError):
        raise AppError(422, "malformed", "device_key is not a DER SubjectPublicKeyInfo") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise AppError(422, "unsupported", "device_key must be an EC P-256 key (ES256)")
    return key


def _check_possession(key: ec.EllipticCurvePublicKey, nonce: str, signature_b64: str) -> None:
    raw = _unb64(signature_b64, "signature")
    if len(raw) != 64:
        raise AppError(422, "not_holder", "the signature is not ES256 r||s (64 bytes)")
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        key.verify(der, nonce.encode("ascii"), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise AppError(422, "not_holder", "the nonce is not signed by the device key sent") from None


def _consume_nonce(request: Request, session: Session, city: str, value: str) -> None:
    """Single use: marked used in the caller's transaction (undone if the issue fails); the first
    transaction that commits it wins; expired after the lifetime."""
    now = request.app.state.clock()
    nonce = session.get(Nonce, value)
    if nonce is None or nonce.city != city:
        raise AppError(422, "nonce_unknown", "the nonce was not given out for this city")
    if nonce.used is not None:
        raise AppError(409, "nonce_used", "the nonce was used already: ask for a new one")
    if now - _aware(nonce.created) > request.app.state.settings.nonce_lifetime:
        raise AppError(422, "nonce_expired", "the nonce expired: ask for a new one")
    done = session.execute(update(Nonce).where(Nonce.value == value, Nonce.used.is_(None)).values(used=now))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise AppError(409, "nonce_used", "the nonce was used already: ask for a new one")


def _answer(row: IssuedLicenceRow) -> dict[str, Any]:
    return IssueResponse(
        city=row.city,
        document_number=row.document_number,
        signer_kid=row.signer_kid,
        issued=_iso(_aware(row.issued)),
        valid_until=_iso(_aware(row.valid_until)),
        status_list=row.status_list,
        status_idx=row.status_idx,
        status_uri=row.status_uri,
        mdoc=_b64(row.mdoc),
        compact=json.loads(row.compact),
        thumbnail=_b64(row.thumbnail),
    ).model_dump()


@router.post(
    "/licences",
    response_model=IssueResponse,
    responses=ERRORS,
    summary="issue a licence to a phone (scope issue); Idempotency-Key makes a retry safe",
)
def issue(
    request: Request,
    body: IssueRequest,
    caller: Issuer,
    rid: RequestId,
    city: str = CityPath,
    idempotency_key: str | None = Header(default=None, max_length=200),
) -> JSONResponse:
    state = request.app.state
    fingerprint = hashlib.sha256(
        json.dumps([city, body.model_dump()], sort_keys=True, ensure_ascii=True).encode()
    ).hexdigest()
    if idempotency_key is not None:
        with state.sessions() as s:
            first = s.scalar(
                select(IdempotentAnswer).where(
                    IdempotentAnswer.api_key_id == caller.id, IdempotentAnswer.key == idempotency_key
                )
            )
        if first is not None:
            if first.request_sha256 != fingerprint:
                raise AppError(
                    409, "idempotency_conflict", "this Idempotency-Key was used for another request"
                )
            return JSONResponse(
                json.loads(first.body), status_code=first.status, headers={"Idempotent-Replay": "true"}
            )
    _city(request, city)
    device_key = _device_key(body.device_key)
    _check_possession(device_key, body.nonce, body.signature)
    with state.sessions() as s:
        _consume_nonce(request, s, city, body.nonce)
        row = issue_one(
            state.issuing,
            s,
            licence=body.licence,
            device_key=device_key,
            city=city,
            who=caller.name,
            request_id=rid,
        )
        answer = _answer(row)
        if idempotency_key is not None:
            s.add(
                IdempotentAnswer(
                    api_key_id=caller.id,
                    key=idempotency_key,
                    request_sha256=fingerprint,
                    status=200,
                    body=json.dumps(answer),
                    created=row.issued,
                )
            )
        try:
            s.commit()
        except IntegrityError:
            s.rollback()
            raise AppError(409, "already_issued", "issued already by a concurrent request") from None
    return JSONResponse(answer, headers={"X-Request-ID": rid})


@router.get(
    "/licences/{document_number}",
    response_model=IssueResponse,
    responses={401: ERRORS[401], 403: ERRORS[403], 404: ERRORS[404]},
    summary="the current credentials of a licence (scope issue)",
)
def get_licence(
    request: Request,
    caller: Issuer,
    document_number: str = Path(max_length=100),
    city: str = CityPath,
) -> JSONResponse:
    with request.app.state.sessions() as s:
        row = s.scalar(
            select(IssuedLicenceRow).where(
                IssuedLicenceRow.city == city, IssuedLicenceRow.document_number == document_number
            )
        )
    if row is None:
        raise AppError(404, "not_found", "no licence with this document number in this city")
    return JSONResponse(_answer(row))

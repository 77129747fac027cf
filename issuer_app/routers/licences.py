"""One city's licences: ``nonce``, issue, fetch, renew, re-bind, suspend, reinstate, revoke.

Scopes: ``issue`` for nonce, issue, fetch, renew and re-bind; ``revoke`` for suspend, reinstate
and revoke (``admin`` holds every scope). Every change is one transaction with its audit row;
the licence row is locked before it changes (renew, re-bind and the status changes queue on it,
so a revoke and a renew of one licence end in one state). ``Idempotency-Key`` on issue, renew
and re-bind: a retry with the same key and request gets the first answer (``Idempotent-Replay:
true``), never a second licence; the same key with another request is 409
``idempotency_conflict``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Callable
from typing import Annotated, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from fastapi import APIRouter, Body, Depends, Header, Path, Request
from fastapi.responses import JSONResponse
from sqlalchemy import bindparam, delete, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from edl.city import check_city_id

from ..auth import Caller, require
from ..db import IdempotentAnswer, IssuedLicenceRow, Nonce, single_statements
from ..dependencies import request_id
from ..errors import AppError, responses
from ..issuing import issue_one, locked_licence, rebind_one, renew_one
from ..schemas import (
    ChangeRequest,
    ChangeResponse,
    IssueRequest,
    IssueResponse,
    NonceResponse,
    RebindRequest,
    RevokeRequest,
)

router = APIRouter(prefix="/v1/cities/{city}", tags=["licences"])

Issuer = Annotated[Caller, Depends(require("issue"))]
Revoker = Annotated[Caller, Depends(require("revoke"))]
RequestId = Annotated[str, Depends(request_id)]

CityPath = Path(
    pattern=r"^[a-z0-9][a-z0-9-]{1,62}$", description="city id, e.g. cn-qingdao", examples=["cn-qingdao"]
)
NumberPath = Path(max_length=100, description="the licence's document number", examples=["QD-0001"])
IdempotencyKey = Header(
    default=None,
    max_length=200,
    description="any unique string per intended request: a retry with it returns the first answer",
    examples=["3f1c2a9e-issue-QD-0001"],
)


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


_NONCES: Any = Nonce.__table__
# (a constant Core statement: built once, no ORM bulk-update machinery)
_TAKE_NONCE = (
    update(_NONCES)
    .where(
        _NONCES.c.value == bindparam("b_value"),
        _NONCES.c.city == bindparam("b_city"),
        _NONCES.c.used.is_(None),
        _NONCES.c.created >= bindparam("b_since"),
    )
    .values(used=bindparam("b_now"))
    .returning(_NONCES.c.value)
)

_PG_NONCE = text(
    """
    WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true)),
    added AS (INSERT INTO nonces (value, city, created) VALUES (:value, :city, :now) RETURNING value),
    gone AS (DELETE FROM nonces WHERE created < :forget RETURNING value)
    SELECT (SELECT count(*) FROM added), (SELECT count(*) FROM gone) FROM relaxed
    """
)


@router.post(
    "/nonce",
    response_model=NonceResponse,
    responses=responses(401, 403, 404, 429, 503),
    summary="a single-use nonce for the device to sign (valid 5 minutes; scope issue)",
)
def new_nonce(request: Request, caller: Issuer, city: str = CityPath) -> NonceResponse:
    _city(request, city)
    now = request.app.state.clock()
    value = secrets.token_urlsafe(32)
    lifetime = request.app.state.settings.nonce_lifetime
    forget = now - max(2 * lifetime, dt.timedelta(hours=1))  # nonces past any use (indexed by age)
    engine = request.app.state.engine
    if engine.dialect.name == "postgresql":
        # one statement in autocommit (no BEGIN, no COMMIT round trip), whose commit need not wait
        # for the disk: the issue that uses the nonce commits durably, and with it this
        with single_statements(engine).connect() as conn:
            conn.execute(_PG_NONCE, {"value": value, "city": city, "now": now, "forget": forget})
    else:
        with engine.begin() as conn:
            conn.execute(insert(Nonce).values(value=value, city=city, created=now))
            conn.execute(delete(Nonce).where(Nonce.created < forget))
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
        key.verify(der, nonce.encode("ascii", "replace"), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise AppError(422, "not_holder", "the nonce is not signed by the device key sent") from None


def _consume_nonce(request: Request, session: Session, city: str, value: str) -> None:
    """Single use: marked used in the caller's transaction (undone if the issue fails); the first
    transaction that commits it wins; expired after the lifetime. One UPDATE when all is well;
    the reason is looked up only for a refusal."""
    now = request.app.state.clock()
    lifetime = request.app.state.settings.nonce_lifetime
    taken = session.execute(
        _TAKE_NONCE, {"b_value": value, "b_city": city, "b_now": now, "b_since": now - lifetime}
    ).first()
    if taken is not None:
        return
    nonce = session.get(Nonce, value)
    if nonce is None or nonce.city != city:
        raise AppError(422, "nonce_unknown", "the nonce was not given out for this city")
    if nonce.used is not None:
        raise AppError(409, "nonce_used", "the nonce was used already: ask for a new one")
    raise AppError(422, "nonce_expired", "the nonce expired: ask for a new one")


def _answer(row: IssuedLicenceRow) -> dict[str, Any]:
    """The :class:`IssueResponse` as a dict (its fields, in its order; built directly: the row's
    columns have the types already, so no pydantic pass per answer)."""
    return {
        "city": str(row.city),
        "document_number": str(row.document_number),
        "signer_kid": str(row.signer_kid),
        "issued": _iso(_aware(row.issued)),
        "valid_until": _iso(_aware(row.valid_until)),
        "status_list": int(row.status_list),
        "status_idx": int(row.status_idx),
        "status_uri": str(row.status_uri),
        "mdoc": _b64(row.mdoc),
        "compact": json.loads(row.compact),
        "thumbnail": _b64(row.thumbnail),
        "state": str(row.state),
    }


# --- idempotency -------------------------------------------------------------------------------


def _fingerprint(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, ensure_ascii=True).encode()).hexdigest()


def _replay(request: Request, caller: Caller, key: str | None, fingerprint: str) -> JSONResponse | None:
    """The first answer given under ``key`` by this API key within the retention, or None."""
    if key is None:
        return None
    kept_since = request.app.state.clock() - request.app.state.settings.idempotency_retention
    with request.app.state.sessions() as s:
        first = s.scalar(
            select(IdempotentAnswer).where(
                IdempotentAnswer.api_key_id == caller.id,
                IdempotentAnswer.key == key,
                IdempotentAnswer.created >= kept_since,
            )
        )
    if first is None:
        return None
    if first.request_sha256 != fingerprint:
        raise AppError(409, "idempotency_conflict", "this Idempotency-Key was used for another request")
    return JSONResponse(
        json.loads(first.body), status_code=first.status, headers={"Idempotent-Replay": "true"}
    )


def _remember(
    s: Session,
    state: Any,
    caller: Caller,
    key: str | None,
    fingerprint: str,
    answer: dict[str, Any],
    now: dt.datetime,
) -> None:
    """Keep ``answer`` under ``key`` for retries, in the transaction that made it; answers past
    the retention (any API key's: indexed by age) are deleted on the way, so the table holds
    about a day of keyed requests and an old key may be used again."""
    if key is not None:
        kept_since = now - state.settings.idempotency_retention
        s.execute(delete(IdempotentAnswer).where(IdempotentAnswer.created < kept_since))
        s.add(
            IdempotentAnswer(
                api_key_id=caller.id,
                key=key,
                request_sha256=fingerprint,
                status=200,
                body=json.dumps(answer),
                created=now,
            )
        )


_KEY_TAKEN = ("idempotency_conflict", "this Idempotency-Key was taken meanwhile")


def _answer_once(
    request: Request,
    caller: Caller,
    key: str | None,
    fingerprint: str,
    work: Callable[[Session], IssuedLicenceRow],
    raced: tuple[str, str],
) -> JSONResponse:
    """``work`` in one transaction, its answer kept under ``key`` for retries. When it fails
    and the same request under the same key was answered meanwhile (a retry racing the first),
    that answer; a unique-key race with no such answer is 409 ``raced`` (code, message)."""
    state = request.app.state
    try:
        with state.sessions() as s:
            row = work(s)
            answer = _answer(row)
            _remember(s, state, caller, key, fingerprint, answer, row.issued)
            s.commit()
    except (AppError, IntegrityError) as e:
        replay = _replay(request, caller, key, fingerprint)
        if replay is not None:
            return replay
        if isinstance(e, IntegrityError):
            raise AppError(409, *raced) from None
        raise
    return JSONResponse(answer)


# --- issue, fetch, renew, re-bind ----------------------------------------------------------------


@router.post(
    "/licences",
    response_model=IssueResponse,
    responses=responses(401, 403, 404, 409, 422, 429, 503),
    summary="issue a licence to a phone (scope issue); Idempotency-Key makes a retry safe",
)
def issue(
    request: Request,
    body: IssueRequest,
    caller: Issuer,
    rid: RequestId,
    city: str = CityPath,
    idempotency_key: str | None = IdempotencyKey,
) -> JSONResponse:
    state = request.app.state
    # (the fingerprint is only kept and compared under an Idempotency-Key)
    fingerprint = "" if idempotency_key is None else _fingerprint("issue", city, body.model_dump())
    replay = _replay(request, caller, idempotency_key, fingerprint)
    if replay is not None:
        return replay
    _city(request, city)
    device_key = _device_key(body.device_key)
    _check_possession(device_key, body.nonce, body.signature)

    def work(s: Session) -> IssuedLicenceRow:
        _consume_nonce(request, s, city, body.nonce)
        return issue_one(
            state.issuing,
            s,
            licence=body.licence,
            device_key=device_key,
            city=city,
            who=caller.name,
            request_id=rid,
        )

    raced = ("already_issued", "issued already by a concurrent request")
    return _answer_once(request, caller, idempotency_key, fingerprint, work, raced)


@router.get(
    "/licences/{document_number}",
    response_model=IssueResponse,
    responses=responses(401, 403, 404, 429, 503),
    summary="the current credentials of a licence (scope issue)",
)
def get_licence(
    request: Request, caller: Issuer, document_number: str = NumberPath, city: str = CityPath
) -> JSONResponse:
    _city(request, city)  # an unknown city is unknown_city, as everywhere
    with request.app.state.sessions() as s:
        row = s.scalar(
            select(IssuedLicenceRow).where(
                IssuedLicenceRow.city == city, IssuedLicenceRow.document_number == document_number
            )
        )
    if row is None:
        raise AppError(404, "not_found", "no licence with this document number in this city")
    return JSONResponse(_answer(row))


@router.post(
    "/licences/{document_number}/renew",
    response_model=IssueResponse,
    responses=responses(401, 403, 404, 409, 422, 429, 503),
    summary="fresh credentials (MSO and compact) for the same licence, key and status index (scope issue)",
)
def renew(
    request: Request,
    caller: Issuer,
    rid: RequestId,
    document_number: str = NumberPath,
    city: str = CityPath,
    idempotency_key: str | None = IdempotencyKey,
) -> JSONResponse:
    state = request.app.state
    fingerprint = _fingerprint("renew", city, document_number)
    replay = _replay(request, caller, idempotency_key, fingerprint)
    if replay is not None:
        return replay
    _city(request, city)

    def work(s: Session) -> IssuedLicenceRow:
        return renew_one(
            state.issuing, s, city=city, document_number=document_number, who=caller.name, request_id=rid
        )

    return _answer_once(request, caller, idempotency_key, fingerprint, work, _KEY_TAKEN)


@router.post(
    "/licences/{document_number}/rebind",
    response_model=IssueResponse,
    responses=responses(401, 403, 404, 409, 422, 429, 503),
    summary="bind the licence to a new phone's key (proof of possession of the NEW key); the old "
    "credentials' status index is revoked, a new one allocated, in one transaction (scope issue)",
)
def rebind(
    request: Request,
    body: RebindRequest,
    caller: Issuer,
    rid: RequestId,
    document_number: str = NumberPath,
    city: str = CityPath,
    idempotency_key: str | None = IdempotencyKey,
) -> JSONResponse:
    state = request.app.state
    fingerprint = _fingerprint("rebind", city, document_number, body.model_dump())
    replay = _replay(request, caller, idempotency_key, fingerprint)
    if replay is not None:
        return replay
    _city(request, city)
    device_key = _device_key(body.device_key)
    _check_possession(device_key, body.nonce, body.signature)

    def work(s: Session) -> IssuedLicenceRow:
        _consume_nonce(request, s, city, body.nonce)
        return rebind_one(
            state.issuing,
            s,
            city=city,
            document_number=document_number,
            device_key=device_key,
            who=caller.name,
            request_id=rid,
        )

    return _answer_once(request, caller, idempotency_key, fingerprint, work, _KEY_TAKEN)


# --- suspend, reinstate, revoke ------------------------------------------------------------------


def _change(
    request: Request, caller: Caller, rid: str, city: str, number: str, action: str, reason: str | None
) -> ChangeResponse:
    state = request.app.state
    _city(request, city)
    with state.sessions() as s:
        row = locked_licence(s, city, number)
        before = row.state
        try:
            ch = state.issuing.status.change(
                city,
                action,
                now=state.clock(),
                index=row.status_idx,
                list_id=row.status_list,
                reason=reason,
                session=s,
                who=caller.name,
                request_id=rid,
            )
        except ValueError as e:
            raise AppError(409, "revoked", str(e)) from None
        answer = ChangeResponse(
            city=city,
            document_number=number,
            status_list=ch.list_id,
            status_idx=ch.index,
            before=before,
            state=ch.after.name.lower(),
            changed=ch.changed,
        )
        s.commit()
    return answer


CHANGES = responses(401, 403, 404, 409, 422, 429, 503)


@router.post(
    "/licences/{document_number}/suspend",
    response_model=ChangeResponse,
    responses=CHANGES,
    summary="suspend a licence (reinstate lifts it; scope revoke)",
)
def suspend(
    request: Request,
    caller: Revoker,
    rid: RequestId,
    body: Annotated[ChangeRequest | None, Body()] = None,
    document_number: str = NumberPath,
    city: str = CityPath,
) -> ChangeResponse:
    return _change(request, caller, rid, city, document_number, "suspend", body.reason if body else None)


@router.post(
    "/licences/{document_number}/reinstate",
    response_model=ChangeResponse,
    responses=CHANGES,
    summary="lift a suspension (a revocation is final: 409 revoked; scope revoke)",
)
def reinstate(
    request: Request,
    caller: Revoker,
    rid: RequestId,
    body: Annotated[ChangeRequest | None, Body()] = None,
    document_number: str = NumberPath,
    city: str = CityPath,
) -> ChangeResponse:
    return _change(request, caller, rid, city, document_number, "reinstate", body.reason if body else None)


@router.post(
    "/licences/{document_number}/revoke",
    response_model=ChangeResponse,
    responses=CHANGES,
    summary="revoke a licence, with a reason (final; scope revoke)",
)
def revoke(
    request: Request,
    caller: Revoker,
    rid: RequestId,
    body: RevokeRequest,
    document_number: str = NumberPath,
    city: str = CityPath,
) -> ChangeResponse:
    return _change(request, caller, rid, city, document_number, "revoke", body.reason)

"""Issuing one licence inside an open database session: the one path both the HTTP API
(``POST /v1/cities/{city}/licences``) and ``edl issuer batch-issue`` take.

::

    ctx = IssuingContext(admin=CityAdmin(folder, keystore), clock=system_clock,
                         status=DbStatusStore(engine, admin))
    with sessions() as session:           # issuer_app.db.make_sessions(engine)
        row = issue_one(ctx, session, licence=licence, device_key=key, city="cn-qingdao",
                        who="batch:worker-1", request_id="batch-17-line-42")
        session.commit()                  # the caller commits (or rolls back): nothing is
                                          # visible before, nothing is left half-written after

:func:`issue_one` checks that the document number is not issued yet in the city (``AppError``
409 ``already_issued``), takes a status index from ``ctx.status`` (recorded for the document
number, refused with 409 ``revoked`` if that number's place is revoked), signs the mdoc and the
compact credentials with the city's current document signer (``edl.credentials.issue_licence``)
and adds the :class:`~issuer_app.db.IssuedLicenceRow` and an :class:`~issuer_app.db.Audit` row
to ``session``. It does not commit. Proof of possession (the nonce) is the caller's business:
the API consumes its nonce in the same session before calling this; the batch waives it under
the admin scope and says so in ``what`` (e.g. ``what="batch-issue"``).

An index handed out and then rolled back is never handed out again (a wasted place, as in
``edl.status_index``); a licence row is only there if its transaction committed.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from edl.credentials import issue_licence
from edl.model import Licence, LicenceError
from edl.status import Status, status_uri

from .db import NEWEST_PLACE, Audit, IssuedLicenceRow
from .dependencies import Clock
from .errors import AppError

log = logging.getLogger("issuer_app.audit")
_LICENCES: Any = IssuedLicenceRow.__table__
_LICENCE_COLUMNS = tuple(c.name for c in IssuedLicenceRow.__table__.columns if c.name != "id")
_AUDIT: Any = Audit.__table__
# constant Core statements (built once; the values are parameters)
_HELD = select(_LICENCES.c.id).where(
    _LICENCES.c.city == bindparam("city"), _LICENCES.c.document_number == bindparam("number")
)
_NEWEST_ENTRY = NEWEST_PLACE.subquery()
# one round trip: the licence's id if issued, and the status place the number holds (if any)
_HELD_AND_PLACE = select(
    _HELD.scalar_subquery().label("licence"),
    select(_NEWEST_ENTRY.c.list_id).scalar_subquery().label("list_id"),
    select(_NEWEST_ENTRY.c.idx).scalar_subquery().label("idx"),
)
_INSERT_LICENCE = insert(_LICENCES)
_INSERT_AUDIT = insert(_AUDIT)
_DOCUMENT_NUMBER = re.compile(r"[^\x00-\x1f\x7f]{1,100}")  # as the status store records it

__all__ = [
    "IssuingContext",
    "add_audit",
    "issue_one",
    "locked_licence",
    "rebind_one",
    "renew_one",
    "subject_hash",
]


@dataclass(frozen=True)
class IssuingContext:
    """What issuing needs: ``admin`` (an ``edl.city.CityAdmin`` over the key store: signing keys,
    read-only), ``clock`` (aware UTC ``datetime``), ``status`` (the status store, see
    :mod:`issuer_app.status_store`: ``allocate(session, city, document_number, now=) -> (list
    id, index, kept)`` and ``status_of(session, city, list_id, index) -> edl.status.Status``)."""

    admin: Any
    clock: Clock
    status: Any


def subject_hash(city: str, document_number: str) -> str:
    """What the audit keeps of whose licence: a SHA-256 prefix, never the number itself."""
    return hashlib.sha256(f"{city}\x00{document_number}".encode()).hexdigest()[:32]


def add_audit(
    session: Session,
    *,
    who: str,
    what: str,
    when: dt.datetime,
    request_id: str,
    ok: bool = True,
    subject: str | None = None,
) -> None:
    """One append-only audit row: ``who`` (API key name), ``what`` (action and city), ``when``,
    ``request_id``, and ``subject`` (:func:`subject_hash`, or None); and the same as a log line
    (written when the row is added, so a rolled-back change may log a line with no row)."""
    log.info("audit: %s by %s (request %s)%s", what, who, request_id, "" if ok else " refused")
    session.add(Audit(who=who, what=what, ok=ok, when=when, request_id=request_id, subject=subject))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _spki(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _sign_into(
    row: IssuedLicenceRow,
    licence: Licence,
    signer: Any,
    device_key: ec.EllipticCurvePublicKey,
    list_id: int,
    idx: int,
    now: dt.datetime,
) -> None:
    """Sign the mdoc and the compact credentials for ``row`` (status place ``list_id``/``idx``)."""
    uri = status_uri(row.city, list_id)
    issued = issue_licence(
        licence,
        city=row.city,
        device_key=device_key,
        signer=signer,
        now=now,
        status=(list_id, idx),
        status_uri=uri,
    )
    row.device_key = _spki(device_key)
    row.status_list, row.status_idx, row.status_uri = list_id, idx, uri
    row.signer_kid = issued.signer_kid.hex()
    row.issued, row.valid_until = now, issued.valid_until
    row.mdoc = issued.mdoc.to_bytes()
    row.compact = json.dumps({p: _b64(b) for p, b in issued.compact.items()})
    row.thumbnail = issued.thumbnail
    row.updated = now


def locked_licence(session: Session, city: str, document_number: str) -> IssuedLicenceRow:
    """The licence row, locked for this transaction (``SELECT ... FOR UPDATE`` on PostgreSQL;
    SQLite's ``BEGIN IMMEDIATE`` holds the whole database); ``AppError`` 404 when none."""
    row = session.scalar(
        select(IssuedLicenceRow)
        .where(IssuedLicenceRow.city == city, IssuedLicenceRow.document_number == document_number)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if row is None:
        raise AppError(404, "not_found", "no licence with this document number in this city")
    return row


def _refuse_unless_valid(row: IssuedLicenceRow, doing: str) -> None:
    if row.state == "revoked":
        raise AppError(409, "revoked", f"this licence is revoked (final): it cannot be {doing}")
    if row.state == "suspended":
        raise AppError(409, "suspended", f"this licence is suspended: reinstate it before it is {doing}")


def _refuse_unsignable(licence: Licence, signer: Any, now: dt.datetime) -> None:
    """Refuse, before anything is allocated, revoked or signed, what signing would refuse: a
    licence past its expiry date (422 ``licence_expired``: credentials never outlive the
    licence) or a city whose document signer certificate is not valid now (409
    ``signer_expired``: the office rotates it)."""
    expires_at = licence.expires_at
    if expires_at is not None and now >= expires_at:
        raise AppError(
            422,
            "licence_expired",
            f"the licence expired on {licence.expiry_date.isoformat()}: no credential can be signed for it",
        )
    if not signer.not_before <= now <= signer.not_after:
        raise AppError(
            409,
            "signer_expired",
            f"the city's document signer certificate is valid {signer.not_before:%Y-%m-%d} to "
            f"{signer.not_after:%Y-%m-%d}, not now: the office rotates it (edl city rotate-signer)",
        )


def renew_one(
    ctx: IssuingContext, session: Session, *, city: str, document_number: str, who: str, request_id: str
) -> IssuedLicenceRow:
    """Fresh credentials (MSO and compact) for the same licence data, device key and status
    place, signed now by the city's current document signer; the row is locked first, so a
    concurrent revoke either comes before (409 ``revoked``) or after (the renewed credentials
    carry the place it revokes). Not committed."""
    row = locked_licence(session, city, document_number)
    _refuse_unless_valid(row, "renewed")
    licence = Licence.from_json(json.loads(row.licence_json))
    key = serialization.load_der_public_key(row.device_key)
    assert isinstance(key, ec.EllipticCurvePublicKey)
    now = ctx.clock()
    signer = ctx.admin.document_signer(city)
    _refuse_unsignable(licence, signer, now)
    _sign_into(row, licence, signer, key, row.status_list, row.status_idx, now)
    add_audit(
        session,
        who=who,
        what=f"renew {city}",
        when=now,
        request_id=request_id,
        subject=subject_hash(city, document_number),
    )
    session.flush()
    return row


def rebind_one(
    ctx: IssuingContext,
    session: Session,
    *,
    city: str,
    document_number: str,
    device_key: ec.EllipticCurvePublicKey,
    who: str,
    request_id: str,
) -> IssuedLicenceRow:
    """Bind the licence to a new device key (a lost or replaced phone): the old credentials'
    status place is revoked, a fresh place is allocated and recorded, and new credentials are
    signed for the new key, all in ``session`` (not committed). The caller has checked the new
    key's proof of possession."""
    row = locked_licence(session, city, document_number)
    _refuse_unless_valid(row, "bound to a new device")
    now = ctx.clock()
    licence = Licence.from_json(json.loads(row.licence_json))
    signer = ctx.admin.document_signer(city)
    _refuse_unsignable(licence, signer, now)  # before the old place is revoked
    old_list, old_idx = row.status_list, row.status_idx
    ctx.status.change(
        city,
        "revoke",
        now=now,
        index=old_idx,
        list_id=old_list,
        reason="re-bound to a new device",
        session=session,
        who=who,
        request_id=request_id,
    )
    list_id, idx = ctx.status.allocate_index(session, city)
    ctx.status.record(session, city, list_id, idx, document_number, now)
    row.state, row.state_reason = "valid", None  # (the change above marked the row revoked)
    _sign_into(row, licence, signer, device_key, list_id, idx, now)
    add_audit(
        session,
        who=who,
        what=f"rebind {city}",
        when=now,
        request_id=request_id,
        subject=subject_hash(city, document_number),
    )
    session.flush()
    return row


def issue_one(
    ctx: IssuingContext,
    session: Session,
    *,
    licence: dict[str, Any],
    device_key: ec.EllipticCurvePublicKey,
    city: str,
    who: str,
    request_id: str,
    what: str = "issue",
) -> IssuedLicenceRow:
    """Issue ``licence`` to ``device_key`` in ``city`` inside ``session`` (not committed).

    ``licence`` is the licence JSON as ``edl.model.Licence.from_json`` reads it (kept on the row,
    so that a renewal can sign it again); a licence that does not fit is ``AppError`` 422
    ``malformed``. ``device_key`` is the holder's EC P-256 public key.

    ``who`` is the API key's name (or the batch worker's), ``request_id`` the request's id (both
    go to the audit row, with ``what + " " + city``). Returns the new row (its ``mdoc``,
    ``compact`` JSON, status list and index). Raises ``AppError`` (409 ``already_issued`` or
    ``revoked``) and ``edl`` errors (``EdlError``: e.g. ``unknown_city``, an expired signer).
    """
    try:
        parsed = Licence.from_json(licence)
    except LicenceError as e:
        raise AppError(422, "malformed", f"the licence does not fit: {e}") from None
    number = parsed.document_number
    if _DOCUMENT_NUMBER.fullmatch(number) is None:
        raise AppError(422, "malformed", "the document number must be 1 to 100 printable characters")
    params = {"city": city, "number": number}
    checked = hasattr(ctx.status, "allocate_checked")  # (DbStatusStore: both looked up at once)
    found = session.execute(_HELD_AND_PLACE if checked else _HELD, params).first()
    if found is not None and found[0] is not None:
        raise AppError(409, "already_issued", "this document number is issued already: renew it instead")
    signer = ctx.admin.document_signer(city)
    now = ctx.clock()
    _refuse_unsignable(parsed, signer, now)  # before a status place is allocated
    if checked:
        place = None if found is None or found[1] is None else (int(found[1]), int(found[2]))
        list_id, idx, kept = ctx.status.allocate_checked(session, city, number, place, now=now)
    else:
        list_id, idx, kept = ctx.status.allocate(session, city, number, now=now)
    if kept and ctx.status.status_of(session, city, list_id, idx) is Status.REVOKED:
        raise AppError(409, "revoked", "this document number is revoked: a new licence needs a new number")
    row = IssuedLicenceRow(
        city=city,
        document_number=number,
        licence_json=json.dumps(licence, sort_keys=True),
        state="valid",
    )
    _sign_into(row, parsed, signer, device_key, list_id, idx, now)
    # Core inserts in the session's transaction (no unit of work, no identity map: the returned
    # row is not attached to the session; its columns are what was written, except ``id``)
    session.execute(_INSERT_LICENCE, {c: getattr(row, c) for c in _LICENCE_COLUMNS})
    log.info("audit: %s by %s (request %s)%s", f"{what} {city}", who, request_id, "")  # (as add_audit)
    audit = {"who": who, "what": f"{what} {city}", "ok": True, "when": now, "request_id": request_id}
    session.execute(_INSERT_AUDIT, {**audit, "subject": subject_hash(city, number)})
    return row

"""A city's status lists and public material: ``POST status/publish`` (scope admin) signs the
lists the database holds, each under the next sequence; ``GET public`` (no API key) gives the
city's certificates and its lists as last published: public material only."""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse

from edl.status import status_uri

from ..auth import Caller, require
from ..dependencies import request_id
from ..errors import responses
from ..schemas import PublicMaterial, PublishedStatusList, PublishRequest, PublishResponse
from .licences import CityPath, _aware, _city, _iso

router = APIRouter(prefix="/v1/cities/{city}", tags=["status"])

Admin = Annotated[Caller, Depends(require("admin"))]
RequestId = Annotated[str, Depends(request_id)]


@router.post(
    "/status/publish",
    response_model=PublishResponse,
    responses=responses(401, 403, 404, 422, 429, 503),
    summary="sign the city's status lists (each sequence + 1) for the verifiers (scope admin)",
)
def publish(
    request: Request,
    caller: Admin,
    rid: RequestId,
    body: Annotated[PublishRequest | None, Body()] = None,
    city: str = CityPath,
) -> PublishResponse:
    state = request.app.state
    _city(request, city)
    hours = body.valid_hours if body is not None else 48
    with state.sessions() as s:
        published = state.issuing.status.publish(
            city, now=state.clock(), valid_hours=hours, session=s, who=caller.name, request_id=rid
        )
        s.commit()
    return PublishResponse(
        city=city,
        lists=[
            PublishedStatusList(
                list_id=p.list_id,
                uri=p.uri,
                sequence=p.sequence,
                issued=_iso(p.issued),
                expires=_iso(p.expires),
                size=p.size,
                revoked=p.revoked,
                suspended=p.suspended,
                data=base64.b64encode(p.data).decode(),
            )
            for p in published
        ],
    )


@router.get(
    "/public",
    response_model=PublicMaterial,
    responses=responses(404, 503),
    summary="the city's public material: root, document signer and status signer certificates "
    "(PEM) and its status lists as last published (no API key)",
)
def public(request: Request, city: str = CityPath) -> JSONResponse:
    state = request.app.state
    _city(request, city)
    admin = state.admin
    st = admin.load(city)

    def pems(entries: tuple[dict[str, Any], ...]) -> list[str]:
        from cryptography.hazmat.primitives import serialization

        return [
            admin.certificate(city, e["file"]).public_bytes(serialization.Encoding.PEM).decode()
            for e in entries
            if e.get("status") != "revoked"
        ]

    lists = [
        PublishedStatusList(
            list_id=r.list_id,
            uri=status_uri(city, r.list_id),
            sequence=r.sequence,
            issued=_iso(_aware(r.published_at)) if r.published_at else None,
            size=r.size,
            data=base64.b64encode(r.published or b"").decode(),
        )
        for r in state.issuing.status.published(city)
    ]
    body = PublicMaterial(
        city=city,
        name=st.name,
        country=st.country,
        root_certificates=pems(st.roots),
        document_signer_certificates=pems(st.signers),
        status_signer_certificates=pems(st.status_signers),
        status_lists=lists,
    )
    return JSONResponse(body.model_dump(), headers={"Cache-Control": "public, max-age=60"})

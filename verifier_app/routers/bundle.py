"""GET /bundle: what the handheld verifies against (sequence, issue/expiry, age, cities).
POST /bundle: a new bundle (the raw bytes, ``application/cbor``), taken only when every part
verifies and none is older than what is held (``edl.pins.Pins.load_bundle`` decides); it is
kept in the state folder and used from the next verification on."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from edl.bundle import MAX_BUNDLE_SIZE

from ..dependencies import ClockDep, TrustDep, describe
from ..errors import AppError
from ..schemas import BundleInfo

router = APIRouter(tags=["bundle"])


@router.get("/bundle", response_model=BundleInfo)
def bundle_info(clock: ClockDep, trust: TrustDep) -> BundleInfo:
    return BundleInfo.model_validate(describe(trust.loaded, clock()), strict=False)


@router.post("/bundle", response_model=BundleInfo)
async def push_bundle(request: Request, clock: ClockDep, trust: TrustDep) -> BundleInfo:
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BUNDLE_SIZE:
            raise AppError(413, "too_large", "the bundle is too large")
    now = clock()
    loaded = await run_in_threadpool(trust.accept_bundle, bytes(data), now)
    return BundleInfo.model_validate(describe(loaded, now), strict=False)

"""From camera images to a verdict in one call: decode the QR codes, verify the carousel.

This module owns the verifier's most common call: :func:`verify_images` takes one camera
frame (or several: the rotating carousel seen over a second or two) and gives the
:class:`~edl.verify_qr.QrVerificationResult` of :func:`~edl.verify_qr.verify_presentation`
for every QR code found in them. Decoding is :func:`edl.qr.decode_image` (zxing-cpp by default,
zbar with ``backend="zbar"``); the checks and their codes are the QR verifier's, unchanged.
It reads no clock (``now`` is an argument) and opens no connection::

    now = datetime.now(timezone.utc)                 # at the app's edge, once per scan
    result = verify_images([frame_png], trust=verified_list, now=now)
    result.verdict                                   # Verdict.GREEN / AMBER / RED
    result.portrait_pending                          # authentic; only the portrait frames to read

A frame in which no QR code is found gives a red result whose ``structure`` check has the
code ``no_frame`` ("no licence frame was read"): a camera loop keeps scanning then.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from typing import Any

from .errors import EdlError, MalformedError, VerificationError
from .qr import Backend, ImageInput, decode_image
from .trust import VerifiedTrustList
from .verify import DEFAULT_STATUS_MAX_AGE, Check, CheckStatus, StatusLists
from .verify_qr import CHECK_NAMES, DEFAULT_SKEW, DEFAULT_WINDOW, QrVerificationResult, verify_presentation

__all__ = ["read_qr_texts", "verify_images"]


def _one_image(images: Any) -> bool:
    """A single image given where a sequence of images is expected (bytes, PIL, numpy)."""
    return (
        isinstance(images, (bytes, bytearray, memoryview))
        or hasattr(images, "getpixel")
        or (hasattr(images, "ndim") and hasattr(images, "dtype"))
    )


def read_qr_texts(images: ImageInput | Sequence[ImageInput], *, backend: Backend = "auto") -> list[str]:
    """The texts of every QR code in ``images`` (one image or a sequence), each once, in the
    order first seen; an empty list when there is none.

    An image that cannot be read as an image (not PNG/JPEG bytes, larger than
    :data:`edl.qr.MAX_IMAGE_PIXELS`) raises :class:`~edl.errors.MalformedError` saying which.
    """
    batch: Sequence[Any] = [images] if _one_image(images) else list(images)  # type: ignore[arg-type]
    texts: list[str] = []
    for n, image in enumerate(batch, start=1):
        try:
            found = decode_image(image, backend=backend)
        except MalformedError as e:
            where = f"image {n}: " if len(batch) > 1 else ""
            raise MalformedError(f"{where}{e.message}") from e
        texts.extend(t for t in found if t not in texts)
    return texts


def verify_images(
    images: ImageInput | Sequence[ImageInput],
    *,
    trust: VerifiedTrustList | Sequence[VerifiedTrustList],
    now: _dt.datetime,
    challenge: bytes | None = None,
    status: StatusLists | None = None,
    backend: Backend = "auto",
    window: _dt.timedelta = DEFAULT_WINDOW,
    skew: _dt.timedelta = DEFAULT_SKEW,
    status_max_age: _dt.timedelta = DEFAULT_STATUS_MAX_AGE,
) -> QrVerificationResult:
    """Verify the licence shown in camera ``images`` at ``now``.

    ``images``: one image or a sequence of them, each PNG/JPEG bytes, a PIL image or a uint8
    numpy array (grayscale or RGB/RGBA), e.g. the frames of one carousel. ``trust``: verified
    trust lists (:func:`~edl.trust.verify_trust_list` or :meth:`~edl.pins.Pins.load_list`);
    ``status``: the status lists, e.g. a bundle from :meth:`~edl.pins.Pins.load_bundle`
    (without them a licence that names a status list is amber, ``status_missing``);
    ``challenge``: the challenge this verifier showed the holder, if any. The other arguments
    are :func:`~edl.verify_qr.verify_presentation`'s.

    ``result.portrait_pending`` says the licence is authentic and only its portrait frames are
    still to be read (amber until they are): keep scanning. Nothing read in any image: red,
    ``structure`` failed with code ``no_frame``. An image that is not an image raises
    :class:`~edl.errors.MalformedError`.
    """
    texts = read_qr_texts(images, backend=backend)
    if not texts:
        if now.utcoffset() is None:
            raise ValueError("now must be timezone-aware")
        missing: EdlError = VerificationError(
            "no QR code was read: hold the phone's screen flat in the frame, closer", code="no_frame"
        )
        # The shape verify_presentation gives a carousel without a main frame: one check per step.
        failed = Check("structure", CheckStatus.FAILED, missing.code, missing.diagnostics(), error=missing)
        skipped = tuple(Check(name, message="not checked: no QR code was read") for name in CHECK_NAMES)
        return QrVerificationResult(checks=(failed, *skipped))
    return verify_presentation(
        texts,
        trust=trust,
        now=now,
        challenge=challenge,
        window=window,
        skew=skew,
        status=status,
        status_max_age=status_max_age,
    )

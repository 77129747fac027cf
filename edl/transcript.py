"""Building the SessionTranscript that binds a holder's device signature to one session.

ISO/IEC 18013-5 §9.1.5.1 defines ::

    SessionTranscript = [DeviceEngagementBytes, EReaderKeyBytes, Handover]
    DeviceEngagementBytes = #6.24(bstr .cbor DeviceEngagement)
    EReaderKeyBytes = #6.24(bstr .cbor EReaderKey)        ; EReaderKey = COSE_Key
    Handover = QRHandover / NFCHandover                    ; QRHandover = null,
                                                           ; NFCHandover = [bstr, bstr / null]

The holder's device signs (or MACs) ``DeviceAuthentication``, which contains the transcript;
the reader builds the same transcript on its side and passes it to
:func:`~edl.verify.verify_device_response`. A response made for one session therefore fails
``device_auth`` (``not_holder``) in any other. Both sides must build it from the *same bytes*:
pass the DeviceEngagement and the reader's key as they were sent, never re-encoded.

Two common cases:

* :func:`session_transcript`: an ISO 18013-5 proximity session (device engagement by QR code or
  NFC, then BLE/NFC/Wi-Fi Aware), where the phone showed its DeviceEngagement and the reader
  sent an ephemeral key.
* :func:`nonce_transcript`: no engagement at all (a file, an app-to-app call, a test): the
  verifier picks a fresh random nonce, gives it to the holder, and both build
  ``[null, null, [context, nonce]]``. The nonce stops a recorded response from being replayed.

This module computes bytes only: it opens no connection and reads no clock.
"""

from __future__ import annotations

from typing import Any

from . import cbor, cose
from .mdoc.device_response import SessionTranscript

__all__ = ["MIN_NONCE_BYTES", "nonce_transcript", "session_transcript"]

MIN_NONCE_BYTES = 16
"""Shortest nonce :func:`nonce_transcript` accepts (128 bits: ``secrets.token_bytes(16)``)."""


def session_transcript(
    device_engagement: bytes,
    e_reader_key: cose.PublicKey | bytes,
    handover: tuple[bytes, bytes | None] | None = None,
) -> SessionTranscript:
    """The SessionTranscript of an ISO 18013-5 proximity session (§9.1.5.1).

    ``device_engagement``: the encoded DeviceEngagement exactly as the reader received it (the
    bytes inside the phone's ``mdoc:`` QR code, base64url-decoded, or from NFC).
    ``e_reader_key``: the reader's ephemeral public key, as a key (the reader's side) or as the
    encoded COSE_Key bytes the phone received in SessionEstablishment (the phone's side).
    ``handover``: ``None`` for engagement by QR code (QRHandover is null); for NFC, the pair
    (Handover Select message, Handover Request message or ``None``).

    >>> st = session_transcript(engagement_bytes, reader_key.public_key())  # doctest: +SKIP
    """
    if not isinstance(device_engagement, bytes) or not device_engagement:
        raise TypeError("device_engagement must be the DeviceEngagement bytes as received")
    cbor.decode(device_engagement, what="DeviceEngagement")  # one well-formed CBOR item
    if isinstance(e_reader_key, bytes):
        reader_key = e_reader_key
        cose.key_from_cose(cbor.decode(reader_key, what="EReaderKey"))  # a usable COSE_Key
    else:
        reader_key = cbor.encode(cose.key_to_cose(e_reader_key))
    value: Any
    if handover is None:
        value = None
    else:
        select, request = handover
        if not isinstance(select, bytes) or not (request is None or isinstance(request, bytes)):
            raise TypeError("an NFC handover is (Handover Select bytes, Handover Request bytes or None)")
        value = [select, request]
    return SessionTranscript(
        raw=cbor.encode([cbor.wrap24(device_engagement), cbor.wrap24(reader_key), value])
    )


def nonce_transcript(nonce: bytes, *, context: str = "edl") -> SessionTranscript:
    """A SessionTranscript for a presentation with no device engagement:
    ``[null, null, [context, nonce]]``.

    The verifier makes ``nonce`` (at least :data:`MIN_NONCE_BYTES` random bytes, new for every
    presentation) and sends it with ``context`` (a text naming the application) to the holder;
    the holder responds over this transcript and the verifier checks the response with the
    same one. Raises ``ValueError`` for a short nonce or an empty context.

    >>> import secrets
    >>> transcript = nonce_transcript(secrets.token_bytes(16))
    >>> len(transcript.raw)
    25
    """
    if not isinstance(nonce, bytes) or len(nonce) < MIN_NONCE_BYTES:
        raise ValueError(f"the nonce must be at least {MIN_NONCE_BYTES} random bytes (secrets.token_bytes)")
    if not isinstance(context, str) or not context:
        raise ValueError("the context is a non-empty text naming the application")
    return SessionTranscript(raw=cbor.encode([None, None, [context, nonce]]))

"""Holder SDK: present a credential from the holder's device.

This module owns the holder's side of a presentation: choosing which elements to
disclose and authenticating the response with the device key, either as a
``deviceSignature`` (a :class:`~edl.cose.Signer`: a key file, a platform keystore, an HSM)
or as a ``deviceMac`` keyed by ECDH with the reader's ephemeral key. It does not talk to
any transport; the SessionTranscript is supplied as bytes by the caller.

>>> # response = respond(issued, device_key=KeySigner(phone_key), transcript=transcript,
>>> #                    disclose=[("org.iso.18013.5.1", "family_name")])
"""

from __future__ import annotations

from collections.abc import Collection

from cryptography.hazmat.primitives.asymmetric import ec

from . import cbor, cose
from .mdoc.device_response import (
    EMPTY_DEVICE_NAMESPACES,
    DeviceResponse,
    DeviceSigned,
    Document,
    SessionTranscript,
    derive_emac_key,
    device_authentication_bytes,
)
from .mdoc.issuer_signed import IssuerSigned

__all__ = ["respond"]


def respond(
    issuer_signed: IssuerSigned,
    *,
    device_key: cose.Signer | ec.EllipticCurvePrivateKey,
    transcript: SessionTranscript,
    disclose: Collection[tuple[str, str]] | None = None,
    reader_key: cose.PublicKey | None = None,
) -> DeviceResponse:
    """A DeviceResponse disclosing ``disclose`` (``None``: everything) of ``issuer_signed``.

    Without ``reader_key`` the device key signs (``deviceSignature``); with it, the
    response carries a ``deviceMac`` (then ``device_key`` must be an EC private key).
    Raises ``ValueError`` naming an element the credential does not hold.
    """
    selected = issuer_signed.select(disclose)
    mso = issuer_signed.mso()
    doc_type = mso.doc_type
    signer = device_key if isinstance(device_key, cose.Signer) else cose.KeySigner(device_key)
    if cose.key_to_cose(signer.public_key()) != cose.key_to_cose(mso.device_key_info.device_key):
        raise ValueError("this device key is not the one the credential was issued to")
    payload = device_authentication_bytes(transcript, doc_type, EMPTY_DEVICE_NAMESPACES)
    if reader_key is None:
        encoded = cose.sign1(signer, payload, detached=True)
        auth = {"deviceSignature": cbor.decode(encoded)}
    else:
        if not isinstance(device_key, ec.EllipticCurvePrivateKey):
            raise ValueError("deviceMac needs the device's EC private key for key agreement")
        key = derive_emac_key(device_key, reader_key, transcript)
        auth = {"deviceMac": cbor.decode(cose.mac0(key, payload, detached=True))}
    device_signed = DeviceSigned.from_value(
        {"nameSpaces": cbor.wrap24(EMPTY_DEVICE_NAMESPACES), "deviceAuth": auth}
    )
    return DeviceResponse(
        documents=(Document(doc_type=doc_type, issuer_signed=selected, device_signed=device_signed),)
    )

"""Every single-bit flip in the signed parts of a valid DeviceResponse is red.

Signed parts: the issuer's protected header, the MSO payload and the signature; every
IssuerSignedItem; the DS certificate (signed by the root); the device signature. Exhaustive:
each bit of each part is flipped once (about 17,000 verifications)."""

from __future__ import annotations

import pytest

from edl.cose import KeySigner
from edl.mdoc import DeviceResponse
from edl.verify import Verdict, verify_device_response
from edl.wallet import respond
from edl.x509 import TrustAnchors
from edltest import NOW


def _spans(data: bytes, parts: list[tuple[str, bytes, bytes]]) -> list[tuple[str, int, int]]:
    """Locate each part; ``context`` follows it in the encoding so short parts are unambiguous."""
    spans = []
    for name, part, context in parts:
        at = data.find(part + context)
        assert at >= 0 and data.find(part + context, at + 1) < 0, f"{name} must occur exactly once"
        spans.append((name, at, at + len(part)))
    return spans


@pytest.fixture(scope="module")
def genuine(city, device_key, issued, transcript):
    data = respond(issued, device_key=KeySigner(device_key), transcript=transcript).to_bytes()
    doc = DeviceResponse.from_bytes(data).documents[0]
    auth = doc.issuer_signed.issuer_auth
    dsig = doc.device_signed.device_signature
    parts = [
        ("issuer protected header", auth.protected_bytes, b"\xa1\x18\x21"),  # then {33: x5chain}
        ("MSO", auth.payload, b""),
        ("issuer signature", auth.signature, b""),
        ("DS certificate", doc.issuer_signed.certificate_chain()[0], b""),
        ("device signature", dsig.signature, b""),
    ]
    for items in doc.issuer_signed.namespaces.values():
        parts.extend((f"item {i.element_identifier}", i.raw, b"") for i in items)
    return data, _spans(data, parts)


def test_genuine_is_green(genuine, city, transcript):
    data, _ = genuine
    assert (
        verify_device_response(data, trust=[city.root], now=NOW, transcript=transcript).verdict
        is Verdict.GREEN
    )


def test_every_bit_flip_in_signed_parts_is_red(genuine, city, transcript):
    data, spans = genuine
    anchors = TrustAnchors([city.root])
    buf = bytearray(data)
    not_red: list[str] = []
    flips = 0
    for name, start, end in spans:
        for pos in range(start, end):
            for bit in range(8):
                buf[pos] ^= 1 << bit
                result = verify_device_response(bytes(buf), trust=anchors, now=NOW, transcript=transcript)
                buf[pos] ^= 1 << bit
                flips += 1
                if result.verdict is not Verdict.RED:
                    not_red.append(f"{name} byte {pos - start} bit {bit}: {result.verdict.value}")
    assert flips > 10_000
    assert not not_red, not_red[:10]

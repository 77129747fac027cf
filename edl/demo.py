"""``edl demo``: a whole issuing-and-checking round on embedded defaults, in a fresh folder.

This module owns the demo scenario: a test city (IACA root → document signer), a
holder's device key, an mDL with a portrait, a presentation signed by the device, and
its verification offline, plus a tampered copy that must come out red. Private keys
are written encrypted (PKCS#8) under ``private/`` with a generated passphrase kept
beside them (0600); only public material goes elsewhere. It returns a summary; the CLI
prints it. The clock is an argument here too.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from . import cbor
from .cose import KeySigner
from .issue import issue_mdoc
from .mdoc.device_response import SessionTranscript
from .model import Licence
from .verify import VerificationResult, verify_device_response
from .wallet import respond
from .x509 import TrustAnchors, make_document_signer, make_iaca

__all__ = ["DemoSummary", "make_portrait", "run_demo"]


@dataclass(frozen=True, slots=True)
class DemoSummary:
    folder: Path
    result: VerificationResult
    tampered: VerificationResult
    licence: Licence
    files: tuple[str, ...]


def make_portrait(seed: int = 7, size: tuple[int, int] = (96, 120)) -> bytes:
    """A small synthetic JPEG face (no real person), deterministic for a given seed."""
    from PIL import Image, ImageDraw

    w, h = size
    img = Image.new("RGB", size, (220 - seed % 40, 228, 236))
    d = ImageDraw.Draw(img)
    skin = (224 - (seed * 13) % 60, 188 - (seed * 7) % 50, 160 - (seed * 5) % 40)
    d.ellipse((w * 0.22, h * 0.12, w * 0.78, h * 0.62), fill=skin)  # head
    d.rectangle((w * 0.12, h * 0.66, w * 0.88, h), fill=(40 + seed % 80, 60, 110))  # shoulders
    d.ellipse((w * 0.35, h * 0.3, w * 0.43, h * 0.36), fill=(30, 30, 30))
    d.ellipse((w * 0.57, h * 0.3, w * 0.65, h * 0.36), fill=(30, 30, 30))
    d.arc((w * 0.38, h * 0.38, w * 0.62, h * 0.52), 20, 160, fill=(120, 40, 40), width=2)
    d.chord((w * 0.2, h * 0.08, w * 0.8, h * 0.3), 180, 360, fill=(40, 30, 20))  # hair
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=70, optimize=True)
    return out.getvalue()


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    fd = os.open(path, flags, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _pem_cert(cert: object) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)  # type: ignore[attr-defined, no-any-return]


def run_demo(folder: Path, *, now: _dt.datetime) -> DemoSummary:
    """Run the demo in ``folder`` (created; must be empty or absent)."""
    if folder.exists() and any(folder.iterdir()):
        raise FileExistsError(f"{folder} is not empty; choose a new folder with --out")
    folder.mkdir(parents=True, exist_ok=True)
    private = folder / "private"
    private.mkdir(mode=0o700)
    passphrase = secrets.token_urlsafe(24).encode()
    _write(private / "passphrase", passphrase + b"\n", private=True)
    enc = serialization.BestAvailableEncryption(passphrase)

    def save_key(name: str, key: ec.EllipticCurvePrivateKey) -> None:
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)
        _write(private / name, pem, private=True)

    # The city: a root (IACA) and a document signer under it.
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = make_iaca(
        root_key,
        common_name="Qingdao Vehicle Administration IACA",
        country="CN",
        state="Shandong",
        organization="Qingdao Public Security Bureau",
        not_before=now - _dt.timedelta(days=1),
        not_after=now + _dt.timedelta(days=3650),
    )
    ds_key = ec.generate_private_key(ec.SECP256R1())
    ds = make_document_signer(
        root_key,
        root,
        ds_key.public_key(),
        common_name="Qingdao Licence Office DS 1",
        state="Shandong",
        not_before=now - _dt.timedelta(hours=1),
        not_after=now + _dt.timedelta(days=450),
    )
    device_key = ec.generate_private_key(ec.SECP256R1())
    save_key("iaca.key.pem", root_key)
    save_key("ds.key.pem", ds_key)
    save_key("device.key.pem", device_key)
    _write(folder / "iaca.pem", _pem_cert(root))
    _write(folder / "ds.pem", _pem_cert(ds))
    _write(
        folder / "device.pub.pem",
        device_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )

    portrait = make_portrait()
    licence_json = {
        "family_name": "Zhang",
        "given_name": "Wei",
        "family_name_national_character": "张",
        "given_name_national_character": "伟",
        "birth_date": "1990-03-14",
        "issue_date": (now.date() - _dt.timedelta(days=30)).isoformat(),
        "expiry_date": (now.date() + _dt.timedelta(days=6 * 365)).isoformat(),
        "issuing_country": "CN",
        "issuing_authority": "Qingdao Public Security Bureau",
        "issuing_jurisdiction": "CN-SD",
        "document_number": "370200199003140011",
        "portrait": __import__("base64").b64encode(portrait).decode(),
        "driving_privileges": [
            {
                "vehicle_category_code": "C1",
                "issue_date": "2012-06-01",
                "expiry_date": (now.date() + _dt.timedelta(days=6 * 365)).isoformat(),
            },
            {
                "vehicle_category_code": "D",
                "issue_date": "2018-09-10",
                "codes": [{"code": "01", "sign": "=", "value": "corrective lenses"}],
            },
        ],
        "un_distinguishing_sign": "CHN",
        "age_over_18": True,
        "age_over_21": True,
        "sex": 1,
        "cn.qingdao.dl.1": {"points_remaining": 12, "file_number": "QD-2012-0611"},
    }
    _write(folder / "licence.json", json.dumps(licence_json, ensure_ascii=False, indent=2).encode())
    licence = Licence.from_json(licence_json)

    issued = issue_mdoc(
        licence, device_key=device_key.public_key(), signer=KeySigner(ds_key), signer_certificate=ds, now=now
    )
    _write(folder / "issuer_signed.cbor", issued.to_bytes())

    # A session transcript as a reader would supply it (QR handover: engagement + nonce).
    transcript_bytes = cbor.encode(
        cbor.wrap24(cbor.encode([None, None, ["edl-demo", secrets.token_bytes(16)]]))
    )
    _write(folder / "session_transcript.cbor", transcript_bytes)
    transcript = SessionTranscript.from_bytes(transcript_bytes)
    disclose = [
        ("org.iso.18013.5.1", e)
        for e in (
            "family_name",
            "given_name",
            "family_name_national_character",
            "given_name_national_character",
            "birth_date",
            "portrait",
            "driving_privileges",
            "document_number",
            "expiry_date",
            "issuing_country",
        )
    ]
    response = respond(issued, device_key=KeySigner(device_key), transcript=transcript, disclose=disclose)
    response_bytes = response.to_bytes()
    _write(folder / "device_response.cbor", response_bytes)

    anchors = TrustAnchors([root])
    result = verify_device_response(response_bytes, trust=anchors, now=now, transcript=transcript)
    # Change one letter of the holder's name inside the signed item: must be red.
    tampered_bytes = response_bytes.replace(b"Zhang", b"Zhong", 1)
    tampered = verify_device_response(tampered_bytes, trust=anchors, now=now, transcript=transcript)
    _write(folder / "device_response.tampered.cbor", tampered_bytes)
    files = tuple(sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()))
    return DemoSummary(folder=folder, result=result, tampered=tampered, licence=licence, files=files)

"""``edl demo``: the whole product on embedded defaults, in a fresh folder, offline.

This module owns the demo scenario: a trust-list operator; three cities in two countries
(Qingdao and Guangzhou in CN, Ichikawa in JP), each with its root and document signer in an
encrypted file key store; one signed trust list; one licence per city issued to a phone (the
ISO mdoc and the compact QR credentials, with a portrait); the rotating QR frames as PNG; and
every licence verified offline by a handheld of *another* city that pins only the operator's
root. It also shows an ISO DeviceResponse verified, and a tampered copy and a stale QR refused.
The key-store passphrase is generated and kept in the folder (0600); nothing prompts; no server
starts. It returns a summary; the CLI prints it. The clock is an argument here too.
"""

from __future__ import annotations

import base64
import datetime as _dt
import io
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from . import cbor
from .city import CityAdmin
from .cose import KeySigner
from .credentials import issue_licence, write_credential_dir
from .keys import FileKeyStore
from .mdoc.device_response import SessionTranscript
from .model import Licence
from .operator import Operator
from .pins import Pins
from .verify import VerificationResult, verify_device_response
from .verify_qr import verify_presentation
from .wallet import Wallet, respond

__all__ = ["CITIES", "DemoSummary", "make_portrait", "run_demo"]

CITIES = (
    ("cn-qingdao", "Qingdao", "CN", "Shandong"),
    ("cn-guangzhou", "Guangzhou", "CN", "Guangdong"),
    ("jp-ichikawa", "Ichikawa", "JP", "Chiba"),
)
_PEOPLE = {
    "cn-qingdao": ("Zhang", "Wei", "张", "伟", "1990-03-14", "370200199003140011", "CHN"),
    "cn-guangzhou": ("Chen", "Xiaoling", "陈", "晓玲", "1985-11-02", "440100198511020023", "CHN"),
    "jp-ichikawa": ("Sato", "Haruka", "佐藤", "遥", "1996-07-21", "JP-301200123456", "J"),
}


@dataclass(frozen=True, slots=True)
class LicenceRun:
    city: str
    holder: str
    verified_by: str
    qr: VerificationResult
    frames: tuple[str, ...]
    frame_bytes: int


@dataclass(frozen=True, slots=True)
class DemoSummary:
    folder: Path
    trust_list_sequence: int
    licences: tuple[LicenceRun, ...]
    mdoc: VerificationResult
    tampered: VerificationResult
    stale: VerificationResult
    files: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return (
            all(r.qr.verdict.value == "green" for r in self.licences)
            and self.mdoc.verdict.value == "green"
            and self.tampered.verdict.value == "red"
            and self.stale.verdict.value == "red"
        )


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
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _licence_json(city_id: str, country: str, now: _dt.datetime, seed: int) -> dict[str, object]:
    family, given, family_nat, given_nat, birth, number, sign = _PEOPLE[city_id]
    expiry = (now.date() + _dt.timedelta(days=6 * 365)).isoformat()
    return {
        "family_name": family,
        "given_name": given,
        "family_name_national_character": family_nat,
        "given_name_national_character": given_nat,
        "birth_date": birth,
        "issue_date": (now.date() - _dt.timedelta(days=30)).isoformat(),
        "expiry_date": expiry,
        "issuing_country": country,
        "issuing_authority": f"{city_id} licence office",
        "document_number": number,
        "portrait": base64.b64encode(make_portrait(seed=seed)).decode(),
        "driving_privileges": [
            {
                "vehicle_category_code": "C1",
                "issue_date": "2012-06-01",
                "expiry_date": expiry,
                "codes": [{"code": "01"}],
            },
        ],
        "un_distinguishing_sign": sign,
        "age_over_18": True,
        "age_over_21": True,
    }


def run_demo(folder: Path, *, now: _dt.datetime) -> DemoSummary:
    """Run the demo in ``folder`` (created; must be empty or absent)."""
    from .qr import render_png

    if folder.exists() and any(folder.iterdir()):
        raise FileExistsError(f"{folder} is not empty; choose a new folder with --out")
    folder.mkdir(parents=True, exist_ok=True)
    private = folder / "private"
    private.mkdir(mode=0o700)
    passphrase = secrets.token_urlsafe(24).encode()
    _write(private / "passphrase", passphrase + b"\n", private=True)
    keystore = FileKeyStore(private / "keys", passphrase)

    # The operator and the cities, each in its own key-store folder (public state beside).
    operator = Operator(folder / "operator", keystore)
    operator.init("edl-demo", now=now, keys=3, threshold=2)
    admins = {}
    for city_id, name, country, state in CITIES:
        admin = CityAdmin(folder / "cities", keystore)
        admin.init(city_id, name=name, country=country, state=state, now=now)
        operator.add(admin.export(city_id, now=now))
        admins[city_id] = admin
    trust_list, list_bytes = operator.publish(now=now, days=7)
    _write(folder / "trust-list.cbor", list_bytes)
    _write(folder / "operator-root.cbor", operator.root_file().read_bytes())

    # One handheld per city, each pinning only the operator's root.
    handhelds = {}
    for city_id, *_ in CITIES:
        pins = Pins(folder / "handhelds" / city_id)
        pins.pin(operator.root_file().read_bytes())
        handhelds[city_id] = pins.load_list(list_bytes, now=now)

    runs = []
    order = [c[0] for c in CITIES]
    frames_time = now
    for i, (city_id, _name, country, _state) in enumerate(CITIES):
        phone = ec.generate_private_key(ec.SECP256R1())
        lj = _licence_json(city_id, country, now, seed=i + 3)
        licence = Licence.from_json(lj)
        issued = issue_licence(
            licence,
            city=city_id,
            device_key=phone.public_key(),
            signer=admins[city_id].document_signer(city_id),
            now=now,
        )
        holder_dir = folder / "holders" / city_id
        write_credential_dir(holder_dir / "credential", issued)
        _write(holder_dir / "licence.json", json.dumps(lj, ensure_ascii=False, indent=2).encode())
        wallet = Wallet(phone)
        wallet.add(issued.compact, issued.thumbnail)
        texts = wallet.frames("roadside", at=frames_time)
        frames_dir = holder_dir / "frames"
        frames_dir.mkdir(parents=True)
        for n, text in enumerate(texts):
            stem = "00-main" if n == 0 else f"{n:02d}-portrait-{n}-of-{len(texts) - 1}"
            _write(frames_dir / f"{stem}.png", render_png(text))
            _write(frames_dir / f"{stem}.txt", (text + "\n").encode())
        other = order[(i + 1) % len(order)]  # a handheld of another city checks it
        result = verify_presentation(
            texts, trust=handhelds[other], now=frames_time + _dt.timedelta(seconds=4)
        )
        from .presentation import decode_text

        runs.append(
            LicenceRun(
                city=city_id,
                holder=f"{licence.given_name} {licence.family_name}",
                verified_by=other,
                qr=result,
                frames=tuple(texts),
                frame_bytes=len(decode_text(texts[0])),
            )
        )
        if i == 0:
            first_wallet, first_issued, first_phone = wallet, issued, phone

    # The ISO path: a DeviceResponse over a session transcript, checked by another city.
    transcript_bytes = cbor.encode(
        cbor.wrap24(cbor.encode([None, None, ["edl-demo", secrets.token_bytes(16)]]))
    )
    transcript = SessionTranscript.from_bytes(transcript_bytes)
    response = respond(first_issued.mdoc, device_key=KeySigner(first_phone), transcript=transcript).to_bytes()
    mdoc_dir = folder / "holders" / order[0] / "iso"
    mdoc_dir.mkdir()
    _write(mdoc_dir / "device_response.cbor", response)
    _write(mdoc_dir / "session_transcript.cbor", transcript_bytes)
    anchors = handhelds[order[2]].anchors()
    mdoc_result = verify_device_response(response, trust=anchors, now=now, transcript=transcript)
    tampered_bytes = response.replace(b"Zhang", b"Zhong", 1)
    _write(mdoc_dir / "device_response.tampered.cbor", tampered_bytes)
    tampered = verify_device_response(tampered_bytes, trust=anchors, now=now, transcript=transcript)
    # A screenshot shown two minutes later is stale.
    stale = verify_presentation(
        first_wallet.frames("roadside", at=frames_time)[:1],
        trust=handhelds[order[1]],
        now=frames_time + _dt.timedelta(minutes=2),
    )
    _write(
        folder / "device.pub.pem",
        first_phone.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )
    files = tuple(sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()))
    return DemoSummary(
        folder=folder,
        trust_list_sequence=trust_list.sequence,
        licences=tuple(runs),
        mdoc=mdoc_result,
        tampered=tampered,
        stale=stale,
        files=files,
    )

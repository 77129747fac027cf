"""``edl demo``: the whole product on embedded defaults, in a fresh folder, offline.

This module owns the demo scenario: a trust-list operator; three cities in two countries
(Qingdao and Guangzhou in CN, Ichikawa in JP), each with its root and document signer in an
encrypted file key store; one signed trust list; one licence per city issued to a phone (the
ISO mdoc and the compact QR credentials, with a portrait); the rotating QR frames as PNG; and
every licence verified offline by a handheld of *another* city that pins only the operator's
root. It also shows an ISO DeviceResponse verified, and a tampered copy and a stale QR refused;
then the third city revokes a second licence in its status list, publishes every city's status
list, builds the handheld's bundle, and that licence is red (``status: revoked``).
The key-store passphrase is generated and kept in the folder (0600); nothing prompts; no server
starts. It returns a summary (with the next commands to try, which a test runs); the CLI prints
it. The clock is an argument here too.

Layout, as the CLI expects it (``--keystore DIR/private``)::

    private/                 0700, the key store: keys/ (every key, encrypted), passphrase (0600),
                             cities/<id>/ and trust/ (the cities' and the operator's state),
                             phones/<id>.key.pem (each holder's phone key, encrypted with the passphrase)
    trust-list.cbor, operator-root.cbor, exports/<id>.export      what the office publishes
    status/<id>-1.status.cbor, bundle.cbor   each city's status list; the handheld's bundle
    handhelds/<id>/          a verifier state folder (EDL_HOME) per city's handheld
    holders/<id>/            credential/, frames/ (PNG + text), licence.json, phone.pub.pem, iso/
    holders/<third id>/revoked/   a second licence of that holder (same phone), revoked: credential/,
                             frames/, licence.json
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
from .bundle import build_bundle
from .city import CityAdmin
from .city_status import CityStatus
from .cose import KeySigner
from .credentials import issue_licence, write_credential_dir
from .keys import FileKeyStore
from .mdoc.device_response import SessionTranscript
from .model import Licence
from .operator import Operator
from .pins import Pins
from .status import status_uri
from .verify import VerificationResult, verify_device_response
from .verify_qr import verify_presentation
from .wallet import Wallet, respond

__all__ = ["CITIES", "DemoSummary", "NextStep", "make_portrait", "next_steps", "run_demo"]

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
class NextStep:
    """A command to try after the demo: what it shows, its arguments, the exit code it gives."""

    what: str
    argv: tuple[str, ...]
    exit_code: int


@dataclass(frozen=True, slots=True)
class DemoSummary:
    folder: Path
    trust_list_sequence: int
    licences: tuple[LicenceRun, ...]
    mdoc: VerificationResult
    tampered: VerificationResult
    stale: VerificationResult
    files: tuple[str, ...] = field(default=())
    next_steps: tuple[NextStep, ...] = field(default=())
    """Run in order with ``EDL_KEYSTORE_PASSPHRASE`` set from ``private/passphrase``."""
    revoked: LicenceRun | None = None
    """A licence its city revoked in its status list, checked with the handheld's bundle: red."""
    revoked_status: tuple[int, int] | None = None
    """(list id, index) of the revoked licence."""

    @property
    def ok(self) -> bool:
        return (
            all(r.qr.verdict.value == "green" for r in self.licences)
            and self.mdoc.verdict.value == "green"
            and self.tampered.verdict.value == "red"
            and self.stale.verdict.value == "red"
            and (self.revoked is None or self.revoked.qr.verdict.value == "red")
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


def run_demo(folder: Path, *, now: _dt.datetime, at: str | None = None) -> DemoSummary:
    """Run the demo in ``folder`` (created; must be empty or absent). ``at``: the ``--at``
    the demo was given, repeated in the next steps it suggests."""
    from .qr import render_png

    if folder.exists() and not folder.is_dir():
        raise FileExistsError(f"{folder} is a file, not a folder; choose a new folder with --out")
    if folder.exists() and any(folder.iterdir()):
        raise FileExistsError(f"{folder} is not empty; choose a new folder with --out")
    folder.mkdir(parents=True, exist_ok=True)
    private = folder / "private"
    private.mkdir(mode=0o700)
    passphrase = secrets.token_urlsafe(24).encode()
    _write(private / "passphrase", passphrase + b"\n", private=True)
    keystore = FileKeyStore(private / "keys", passphrase)  # as `--keystore DIR/private` opens it

    # The operator and the cities share the key store, as one office would with the CLI.
    operator = Operator(private, keystore)
    operator.init("edl-demo", now=now, keys=3, threshold=2)
    admins = {}
    (folder / "exports").mkdir()
    for city_id, name, country, state in CITIES:
        admin = CityAdmin(private, keystore)
        admin.init(city_id, name=name, country=country, state=state, now=now, test=True)
        export = admin.export(city_id, now=now)
        _write(folder / "exports" / f"{city_id}.export", export)
        operator.add(export)
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
    (private / "phones").mkdir(mode=0o700)
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
        # The phone's key is kept (encrypted with the passphrase) so frames can be made again.
        _write(
            private / "phones" / f"{city_id}.key.pem",
            phone.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(passphrase),
            ),
            private=True,
        )
        _write(
            holder_dir / "phone.pub.pem",
            phone.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
        )
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
        last_phone, last_json = phone, lj

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

    # Revocation: the third city issued its holder a second licence (on the same phone) that
    # names a place in its status list, then revoked it; every city publishes its status list;
    # the handheld's bundle carries them with the trust list, and that licence is red.
    revoked_city = CITIES[2][0]
    rj = dict(last_json, document_number=f"{last_json['document_number']}-2")
    rlicence = Licence.from_json(rj)
    city_status = CityStatus(admins[revoked_city])
    list_id, idx, _ = city_status.allocate(revoked_city, rlicence.document_number)
    rissued = issue_licence(
        rlicence,
        city=revoked_city,
        device_key=last_phone.public_key(),
        signer=admins[revoked_city].document_signer(revoked_city),
        now=now,
        status=(list_id, idx),
        status_uri=status_uri(revoked_city, list_id),
    )
    rdir = folder / "holders" / revoked_city / "revoked"
    write_credential_dir(rdir / "credential", rissued)
    _write(rdir / "licence.json", json.dumps(rj, ensure_ascii=False, indent=2).encode())
    city_status.change(
        revoked_city, "revoke", now=now, document_number=rlicence.document_number, reason="demo: court order"
    )
    (folder / "status").mkdir()
    status_bytes = []
    for city_id, *_ in CITIES:
        for published in CityStatus(admins[city_id]).publish(city_id, now=now):
            _write(folder / "status" / f"{city_id}-{published.list_id}.status.cbor", published.data)
            status_bytes.append(published.data)
    bundle_bytes = build_bundle([list_bytes], status_bytes)
    _write(folder / "bundle.cbor", bundle_bytes)
    rwallet = Wallet(last_phone)
    rwallet.add(rissued.compact, rissued.thumbnail)
    rtexts = rwallet.frames("roadside", at=frames_time)
    (rdir / "frames").mkdir()
    for n, text in enumerate(rtexts):
        stem = "00-main" if n == 0 else f"{n:02d}-portrait-{n}-of-{len(rtexts) - 1}"
        _write(rdir / "frames" / f"{stem}.png", render_png(text))
        _write(rdir / "frames" / f"{stem}.txt", (text + "\n").encode())
    handheld = Pins(folder / "handhelds" / order[0])  # a handheld of another city loads the bundle
    loaded = handheld.load_bundle(bundle_bytes, now=now)
    rresult = verify_presentation(
        rtexts, trust=loaded.trust_lists, now=frames_time + _dt.timedelta(seconds=4), status=loaded
    )
    revoked_run = LicenceRun(
        city=revoked_city,
        holder=f"{rlicence.given_name} {rlicence.family_name} ({rlicence.document_number})",
        verified_by=order[0],
        qr=rresult,
        frames=tuple(rtexts),
        frame_bytes=len(decode_text(rtexts[0])),
    )

    files = tuple(sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()))
    first_kid = admins[order[0]].load(order[0]).current_signer()
    assert first_kid is not None
    return DemoSummary(
        folder=folder,
        trust_list_sequence=trust_list.sequence,
        licences=tuple(runs),
        mdoc=mdoc_result,
        tampered=tampered,
        stale=stale,
        files=files,
        next_steps=next_steps(folder, city=order[0], kid=first_kid["kid"], at=at, revoked_city=revoked_city),
        revoked=revoked_run,
        revoked_status=(list_id, idx),
    )


def next_steps(
    folder: Path, *, city: str, kid: str, at: str | None = None, revoked_city: str = CITIES[2][0]
) -> tuple[NextStep, ...]:
    """The commands that lead on from the demo, in order, with the exit code each gives: fresh
    frames for a holder, verified as a handheld would (and one of its PNGs alone); the
    handheld's bundle built from the trust list and the cities' status lists, and the revoked
    licence red with it; then the city revokes its signer, re-publishes, and the same licence
    is red."""
    d = str(folder)
    ks = f"{d}/private"
    holder = f"{d}/holders/{city}"
    fresh = f"{holder}/frames-now"
    root = ("--trust-root", f"{d}/operator-root.cbor")
    when = ("--at", at) if at else ()
    return (
        NextStep(
            "make fresh frames on the holder's phone (they expire after 90 s: make them again later)",
            (
                "wallet",
                "qr",
                f"{holder}/credential",
                "--device-key",
                f"{ks}/phones/{city}.key.pem",
                "--out",
                fresh,
                *when,
            ),
            0,
        ),
        NextStep(
            "verify them as a handheld does: green",
            ("verify", f"{fresh}/*.png", "--trust-list", f"{d}/trust-list.cbor", *root, *when),
            0,
        ),
        NextStep(
            "verify the main QR alone, as one PNG: amber, the portrait was not read",
            ("verify", f"{fresh}/00-main.png", "--trust-list", f"{d}/trust-list.cbor", *root, *when),
            3,
        ),
        NextStep(
            "build the handheld's bundle: the trust list and every city's status list (status/)",
            (
                "bundle",
                "build",
                "--trust-list",
                f"{d}/trust-list.cbor",
                "--status",
                f"{d}/status",
                "--out",
                f"{d}/bundle-now.cbor",
            ),
            0,
        ),
        NextStep(
            "verify the fresh frames with the bundle in place of the trust list: green",
            ("verify", f"{fresh}/*.png", "--bundle", f"{d}/bundle-now.cbor", *root, *when),
            0,
        ),
        NextStep(
            f"fresh frames of the licence {revoked_city} revoked in its status list",
            (
                "wallet",
                "qr",
                f"{d}/holders/{revoked_city}/revoked/credential",
                "--device-key",
                f"{ks}/phones/{revoked_city}.key.pem",
                "--out",
                f"{d}/holders/{revoked_city}/revoked/frames-now",
                *when,
            ),
            0,
        ),
        NextStep(
            "verify them with the bundle: red (status: revoked)",
            (
                "verify",
                f"{d}/holders/{revoked_city}/revoked/frames-now/*.png",
                "--bundle",
                f"{d}/bundle-now.cbor",
                *root,
                *when,
            ),
            1,
        ),
        NextStep(
            f"the city revokes its document signer {kid} (a leaked key)",
            ("city", "revoke-signer", city, kid, "--keystore", ks),
            0,
        ),
        NextStep(
            "the city exports its keys again and the operator takes them in",
            ("city", "export", city, "--keystore", ks, "--out", f"{d}/exports/{city}.2.export", *when),
            0,
        ),
        NextStep("", ("trust", "add", f"{d}/exports/{city}.2.export", "--keystore", ks), 0),
        NextStep(
            "the operator publishes the next trust list",
            ("trust", "publish", "--keystore", ks, "--out", f"{d}/trust-list-2.cbor", *when),
            0,
        ),
        NextStep(
            "the same licence is now red: signer_revoked",
            ("verify", f"{fresh}/*.png", "--trust-list", f"{d}/trust-list-2.cbor", *root, *when),
            1,
        ),
    )

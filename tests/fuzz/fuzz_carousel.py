"""Structure-aware atheris harness: multi-frame QR carousels as an attacker would assemble them
(``specs/presentation-qr.md``; ``edl.verify_qr.verify_presentation`` and the ``DL1:`` text
path of ``edl.presentation``).

    python tests/fuzz/fuzz_carousel.py [CORPUS_DIR | CRASH_FILE] [-atheris_runs=N] [-max_total_time=S]

The world (same keys every run): a trust list naming Qingdao (CN; one current document signer,
one revoked) and Ichikawa (JP). Credentials, each with its phone (device key) and thumbnail:

- ``A-*``: a Qingdao licence, profiles roadside / age-check / rental (trusted);
- ``B``: an Ichikawa licence (trusted, another city and country);
- ``R``: signed by Qingdao's revoked signer;
- ``C``: from an attacker city that is not in the list (its own root and DS; claims to be
  ``cn-qingdao``); ``C-kid``: the attacker DS signing A's claims with a changed name under the
  kid of Qingdao's real DS;
- ``A-flip``: A's credential with its issuer signature re-encoded ``(r, n−s)`` (same signed
  parts, other bytes, other carousel id);
- ``E-country``: Qingdao's real DS signing A's claims plus ``issuing_country: "JP"`` — a city
  vouching for another country's licence; ``E-city``: Qingdao's DS signing ``city:
  "jp-ichikawa"``; ``E-cn``: Qingdao's DS adding ``issuing_country: "CN"`` (consistent).

Each input is a program read with ``atheris.FuzzedDataProvider``: the verifier's challenge and
clock, then 1–6 carousel items, each a main frame (a credential of the catalogue, signed by its
own phone, an attacker device key or another holder's phone, at a chosen time, with a chosen
challenge; sometimes its COSE signature re-encoded or its bytes cut) or a portrait chunk (of
any credential; its data, index, count or carousel id swapped; duplicated) or garbage (another
``DLn:`` prefix, bad base45, raw bytes), each handed over as a ``DL1:`` text, as its payload
bytes, or as ASCII bytes of the text.

Oracle: every item through ``decode_text`` / ``parse_payload`` raises only ``EdlError``;
``verify_presentation`` raises nothing (today it raises ``MixedCarouselError``, a
``ValueError``, for frames of two licences: reported as a finding); a GREEN verdict needs the
newest frame to carry signed parts its holder's phone signed for its own credential, that
credential's signed parts to come from a trusted, unrevoked signer of the city it names, the
elements and portrait to be exactly what that city signed, a disclosed ``issuing_country`` to be
the city's country, the frame fresh and answering the challenge, and no main frame of another
credential in the carousel (a portrait chunk of another one may be ignored).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for edltest
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/fuzz, for _fuzzlib

with atheris.instrument_imports(include=["edl"]):
    from cryptography import x509 as _x509

    from edl import cbor, cose
    from edl.compact import decode_compact
    from edl.cose import KeySigner
    from edl.credentials import issue_licence
    from edl.demo import make_portrait
    from edl.errors import EdlError
    from edl.issue import DocumentSigner
    from edl.mdoc.namespaces import NAMESPACE_MDL
    from edl.model import Licence
    from edl.presentation import (
        Chunk,
        Frame,
        decode_text,
        encode_text,
        make_chunks,
        make_frame,
        parse_payload,
    )
    from edl.trust import (
        CityEntry,
        SignerEntry,
        TrustList,
        TrustRoot,
        operator_key_id,
        sign_root,
        sign_trust_list,
        verify_trust_list,
    )
    from edl.verify import Verdict
    from edl.verify_qr import DEFAULT_SKEW, DEFAULT_WINDOW, verify_presentation
    from edl.x509 import certificate_der, key_id, make_document_signer, make_iaca

from _fuzzlib import det_key, fail, flip_s_raw, harness, note, pick, revoked_signer, run, write_fdp_seeds

from edltest import NOW, licence_json

DAY = dt.timedelta(days=1)
CHALLENGE = b"K7Q2"


@dataclass(frozen=True)
class CityPKI:
    id: str
    country: str
    root: _x509.Certificate
    ds_key: Any
    ds: _x509.Certificate


def _pki(city_id: str, name: str, country: str, ds_label: str = "ds") -> CityPKI:
    root_key = det_key(f"qr.{city_id}.root")
    root = make_iaca(
        root_key,
        common_name=f"{name} IACA",
        country=country,
        not_before=NOW - 30 * DAY,
        not_after=NOW + 3650 * DAY,
    )
    ds_key = det_key(f"qr.{city_id}.{ds_label}")
    ds = make_document_signer(
        root_key,
        root,
        ds_key.public_key(),
        common_name=f"{name} DS",
        not_before=NOW - DAY,
        not_after=NOW + 400 * DAY,
    )
    return CityPKI(city_id, country, root, ds_key, ds)


QD = _pki("cn-qingdao", "Qingdao", "CN")
_qd_old_key = det_key("qr.cn-qingdao.ds-old")
QD_OLD = CityPKI(
    "cn-qingdao",
    "CN",
    QD.root,
    _qd_old_key,
    make_document_signer(
        det_key("qr.cn-qingdao.root"),
        QD.root,
        _qd_old_key.public_key(),
        common_name="Qingdao DS old",
        not_before=NOW - 2 * DAY,
        not_after=NOW + 300 * DAY,
    ),
)
JP = _pki("jp-ichikawa", "Ichikawa", "JP")
EVIL = _pki("cn-evil", "Qingdao", "CN")  # not in the list; same names as Qingdao

_op = KeySigner(det_key("qr.operator"))
_root = TrustRoot(
    name="QR-OPS",
    version=1,
    threshold=1,
    keys={operator_key_id(_op.public_key()): _op.public_key()},
    expires=NOW + 3650 * DAY,
)
_tl = TrustList(
    provider="QR-OPS",
    sequence=1,
    issued=NOW - DAY,
    next_update=NOW,
    expires=NOW + 6 * DAY,
    root_version=1,
    cities=(
        CityEntry(
            id="cn-qingdao",
            name="Qingdao",
            country="CN",
            roots=(certificate_der(QD.root),),
            signers=(
                SignerEntry(certificate=certificate_der(QD.ds)),
                SignerEntry(certificate=certificate_der(QD_OLD.ds), status="retired"),
            ),
            revoked=(revoked_signer(certificate_der(QD_OLD.ds)),),
        ),
        CityEntry(
            id="jp-ichikawa",
            name="Ichikawa",
            country="JP",
            roots=(certificate_der(JP.root),),
            signers=(SignerEntry(certificate=certificate_der(JP.ds)),),
        ),
    ),
)
TRUST = verify_trust_list(sign_trust_list(_tl, [_op], [sign_root(_root, [_op])]), [_root], now=NOW)
COUNTRY_OF = {"cn-qingdao": "CN", "jp-ichikawa": "JP"}


@dataclass
class Cred:
    name: str
    raw: bytes
    phone: KeySigner
    thumbnail: bytes
    trusted: bool  # signed by an unrevoked listed DS of the city it names
    country: str | None  # that city's country
    elements: dict[str, Any]


def _issue(
    pki: CityPKI, phone_label: str, country: str, portrait_seed: int, city_id: str
) -> tuple[Any, KeySigner]:
    phone = det_key(f"qr.phone.{phone_label}")
    lic = Licence.from_json(licence_json(country=country, portrait=make_portrait(seed=portrait_seed)))
    issued = issue_licence(
        lic,
        city=city_id,
        device_key=phone.public_key(),
        signer=DocumentSigner(KeySigner(pki.ds_key), pki.ds),
        now=NOW,
    )
    return issued, KeySigner(phone)


def _resign(raw: bytes, pki: CityPKI, changes: dict[int, Any], kid: bytes | None = None) -> bytes:
    """``raw``'s claims with ``changes``, signed by ``pki``'s DS (under ``kid`` when given)."""
    claims = dict(decode_compact(raw).claims)
    claims.update(changes)
    kid = key_id(certificate_der(pki.ds)) if kid is None else kid
    return cose.sign1(KeySigner(pki.ds_key), cbor.encode(claims), protected={3: 65001, 4: kid})


def _flip_sign1(raw: bytes) -> bytes:
    v = cbor.decode(raw)
    body = list(v.value if isinstance(v, cbor.CBORTag) else v)
    body[3] = flip_s_raw(body[3])
    return cbor.encode(body)


CATALOGUE: list[Cred] = []


def _add(
    name: str, raw: bytes, phone: KeySigner, thumbnail: bytes, trusted: bool, country: str | None
) -> None:
    CATALOGUE.append(Cred(name, raw, phone, thumbnail, trusted, country, decode_compact(raw).elements()))


_A, _PA = _issue(QD, "A", "CN", 4, "cn-qingdao")
_B, _PB = _issue(JP, "B", "JP", 5, "jp-ichikawa")
_R, _PR = _issue(QD_OLD, "R", "CN", 6, "cn-qingdao")
_C, _PC = _issue(EVIL, "C", "CN", 7, "cn-qingdao")
for _profile in ("roadside", "age-check", "rental"):
    _add(f"A-{_profile}", _A.compact[_profile], _PA, _A.thumbnail, True, "CN")
_add("B", _B.compact["roadside"], _PB, _B.thumbnail, True, "JP")
_add("R-revoked", _R.compact["roadside"], _PR, _R.thumbnail, False, None)
_add("C-attacker-city", _C.compact["roadside"], _PC, _C.thumbnail, False, None)
_add(
    "C-kid-of-qingdao",
    _resign(_A.compact["roadside"], EVIL, {10: "Attacker"}, kid=key_id(certificate_der(QD.ds))),
    _PA,
    _A.thumbnail,
    False,
    None,
)
_add("A-flip", _flip_sign1(_A.compact["roadside"]), _PA, _A.thumbnail, True, "CN")
_add("E-country", _resign(_A.compact["roadside"], QD, {19: "JP"}), _PA, _A.thumbnail, True, "CN")
_add("E-city", _resign(_A.compact["roadside"], QD, {1: "jp-ichikawa"}), _PA, _A.thumbnail, False, None)
_add("E-cn", _resign(_A.compact["roadside"], QD, {19: "CN"}), _PA, _A.thumbnail, True, "CN")

ATTACKER_DEVICE = KeySigner(det_key("qr.attacker.device"))
PHONES = [_PA, _PB, _PR, _PC, ATTACKER_DEVICE]


def _signed_parts(sign1: Any) -> tuple[bytes, bytes | None]:
    return (sign1.protected_bytes, sign1.payload)


# (protected, payload) of every frame a genuine phone signed for its own credential.
GENUINE_FRAMES: set[tuple[bytes, bytes | None]] = set()
BY_SIGNED_PARTS = {_signed_parts(decode_compact(c.raw).sign1): c for c in CATALOGUE}
TIMES = [
    dt.timedelta(0),
    dt.timedelta(seconds=-30),
    dt.timedelta(seconds=-95),
    dt.timedelta(seconds=50),
    dt.timedelta(seconds=70),
    dt.timedelta(minutes=-10),
    dt.timedelta(days=-2),
    dt.timedelta(days=500),
]
NOWS = [
    dt.timedelta(seconds=5),
    dt.timedelta(0),
    dt.timedelta(seconds=89),
    dt.timedelta(seconds=-59),
    dt.timedelta(days=401),
]


def _frame(fdp: Any, cred: Cred | None = None) -> bytes:
    cred = pick(fdp, CATALOGUE) if cred is None else cred
    device = cred.phone if fdp.ConsumeIntInRange(0, 3) else pick(fdp, PHONES)
    at = NOW + pick(fdp, TIMES)
    challenge = pick(fdp, [CHALLENGE, None, b"OTHER", b"", CHALLENGE + b"\x00"])
    data = make_frame(cred.raw, device=device, at=at, challenge=challenge)
    genuine = device is cred.phone
    if genuine:
        GENUINE_FRAMES.add(_signed_parts(cose.decode_sign1(data)))
    how = fdp.ConsumeIntInRange(0, 7)
    if how == 6:
        data = _flip_sign1(data)
    elif how == 7:
        cut = fdp.ConsumeIntInRange(0, len(data))
        data = data[:cut] + fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 4)) + data[cut + 1 :]
    note(
        f"frame of {cred.name} signed by {'its phone' if genuine else 'another device'} at "
        f"NOW{(at - NOW).total_seconds():+.0f}s, challenge {challenge!r}"
        + {6: ", signature (r, n-s)", 7: ", bytes cut"}.get(how, "")
    )
    return data


def _chunks(cred: Cred) -> list[bytes]:
    return make_chunks(cred.raw, cred.thumbnail)


def _chunk(fdp: Any) -> bytes:
    cred = pick(fdp, CATALOGUE)
    chunks = _chunks(cred)
    i = fdp.ConsumeIntInRange(0, len(chunks) - 1)
    value = cbor.decode(chunks[i])
    how = fdp.ConsumeIntInRange(0, 7)
    other = pick(fdp, CATALOGUE)
    if how == 4:
        other_chunks = _chunks(other)
        value[4] = cbor.decode(other_chunks[min(i, len(other_chunks) - 1)])[4]
    elif how == 5:
        value[1] = hashlib.sha256(other.raw).digest()[:8]
    elif how == 6:
        value[3] = pick(fdp, [1, 2, 3, 23, 24, 0])
    elif how == 7:
        value[2] = pick(fdp, [0, 1, 2, 22, 23])
    note(
        f"portrait chunk {i + 1}/{len(chunks)} of {cred.name}"
        + {
            4: f", data of {other.name}",
            5: f", id of {other.name}",
            6: f", count {value[3]}",
            7: f", index {value[2]}",
        }.get(how, "")
    )
    return cbor.encode(value)


def _garbage(fdp: Any) -> str | bytes:
    kind = fdp.ConsumeIntInRange(0, 3)
    body = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 64))
    note(f"garbage item kind {kind}: {body[:16]!r}")
    if kind == 0:
        return encode_text(body)
    if kind == 1:
        return "DL2:" + encode_text(body)[4:]
    if kind == 2:
        return "DL1:" + body.decode("latin-1")
    return body


def _as_item(fdp: Any, payload: bytes) -> str | bytes:
    how = fdp.ConsumeIntInRange(0, 4)
    if how <= 1:
        return encode_text(payload)
    if how == 2:
        return payload
    if how == 3:
        return encode_text(payload).encode("ascii")
    return "  " + encode_text(payload) + "\n"


def _parsed(items: list[str | bytes]) -> tuple[list[Frame], list[Chunk]]:
    frames, chunks = [], []
    for item in items:
        try:
            p = (
                parse_payload(decode_text(item))
                if isinstance(item, str) or item[:2] == b"DL"
                else parse_payload(item)
            )
        except EdlError:
            continue
        (frames if isinstance(p, Frame) else chunks).append(p)
    return frames, chunks


def _check_green(result: Any, items: list[str | bytes], now: dt.datetime, challenge: bytes | None) -> None:
    frames, chunks = _parsed(items)
    if not frames:
        fail("qr.green_without_frame", "green with no readable frame")
        return
    frame = max(frames, key=lambda f: f.signed_at)
    if _signed_parts(frame.sign1) not in GENUINE_FRAMES:
        fail("qr.green_frame_not_signed_by_holder", "green with a frame its holder's phone did not sign")
    cred = BY_SIGNED_PARTS.get(_signed_parts(frame.credential.sign1))
    if cred is None or not cred.trusted:
        fail(
            "qr.green_untrusted_credential",
            f"green for credential {cred.name if cred else '(unknown)'}, which no trusted, "
            "unrevoked signer signed",
        )
        return
    # Main frames of two licences are never green; a portrait chunk of another licence may be
    # ignored (the portrait shown is bound by the digest the credential signs, checked below).
    if len({f.credential.id for f in frames}) > 1:
        fail("qr.green_mixed_carousel", "green for a carousel holding main frames of several credentials")
    elements = dict(result.documents[0].elements.get(NAMESPACE_MDL, {}))
    portrait = elements.pop("portrait", None)
    if elements != cred.elements:
        fail("qr.green_wrong_elements", f"green with elements other than {cred.name}'s signed ones")
    if portrait is not None and portrait != cred.thumbnail:
        fail("qr.green_wrong_portrait", f"green showing a portrait that is not {cred.name}'s")
    country = elements.get("issuing_country")
    if country is not None and country != cred.country:
        fail(
            "qr.green_foreign_issuing_country",
            f"green for {cred.name}: issuing_country {country!r} from a city of {cred.country}",
        )
    if challenge is not None and frame.challenge != challenge:
        fail("qr.green_wrong_challenge", f"green with challenge {frame.challenge!r}, asked {challenge!r}")
    age = now - frame.signed_at
    if age > DEFAULT_WINDOW or -age > DEFAULT_SKEW:
        fail("qr.green_stale_frame", f"green with a frame {age} old")


@harness(budget_s=1.0)
def TestOneInput(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    challenge = pick(fdp, [CHALLENGE, None, b"OTHER"])
    now = NOW + pick(fdp, NOWS)
    note(f"verifier at NOW{(now - NOW).total_seconds():+.0f}s, challenge {challenge!r}")
    # The carousel one phone shows (main frame + portrait chunks), then edits by the attacker.
    main = pick(fdp, CATALOGUE)
    note(f"carousel of {main.name}")
    payloads: list[bytes] = [_frame(fdp, main), *_chunks(main)]
    for _ in range(fdp.ConsumeIntInRange(0, 4)):
        op = fdp.ConsumeIntInRange(0, 7)
        pos = fdp.ConsumeIntInRange(0, len(payloads))
        if op <= 1:
            payloads.insert(pos, _frame(fdp))
        elif op <= 3:
            payloads.insert(pos, _chunk(fdp))
        elif op == 4 and payloads:
            note(f"item {min(pos, len(payloads) - 1)} dropped")
            del payloads[min(pos, len(payloads) - 1)]
        elif op == 5 and payloads:
            note(f"item {min(pos, len(payloads) - 1)} shown twice")
            payloads.insert(pos, payloads[min(pos, len(payloads) - 1)])
        elif op == 6:
            note("items reversed")
            payloads.reverse()
        else:
            payloads.insert(pos, b"")  # replaced by garbage below
    items: list[str | bytes] = [_as_item(fdp, p) if p else _garbage(fdp) for p in payloads]
    if not items:
        items = [_garbage(fdp)]
    for item in items:  # the text path, item by item
        with contextlib.suppress(EdlError):
            parse_payload(decode_text(item) if isinstance(item, str) or item[:2] == b"DL" else item)
    result = verify_presentation(items, trust=TRUST, now=now, challenge=challenge)
    note(f"verdict {result.verdict.value}: " + ", ".join(f"{c.name}={c.code}" for c in result.checks))
    if result.verdict is Verdict.GREEN:
        _check_green(result, items, now, challenge)


def write_seeds(corpus: Path) -> None:
    seeds = {f"seed-{i}": hashlib.sha256(b"carousel%d" % i).digest() * (1 + i % 3) for i in range(12)}
    seeds["seed-zero"] = bytes(48)
    write_fdp_seeds(corpus, seeds)


if __name__ == "__main__":
    run(sys.argv, TestOneInput, write_seeds, "edl-fuzz-carousel-")
